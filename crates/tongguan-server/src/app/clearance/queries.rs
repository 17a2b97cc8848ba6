//! Status queries (M15): a declaration's, bill's or container's timeline, and the declaration list over what the caller may see.

use super::*;

impl App {
    /// 状态查询 (M15): the timeline of a declaration, a bill of lading or a container, made
    /// of the declarations the caller may see on it. A bill or container with none of them
    /// is "not found", so its existence does not leak to other enterprises.
    pub async fn timeline(&self, ctx: &Ctx, q: &TimelineQuery) -> AppResult<Timeline> {
        require_role(ctx, STATUS_READERS)?;
        let given = [
            q.declaration.is_some(),
            q.bill_no.is_some(),
            q.container_no.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(invalid(
                "declaration",
                "timeline.subject",
                "give exactly one of declaration, bill_no or container_no",
            ));
        }
        let scope = self.scope(ctx).await?;
        let (subject, found, arrived_at) = if let Some(id) = q.declaration {
            let d = self.visible_declaration(ctx, id).await?;
            let at = d.arrived_at;
            (format!("declaration/{id}"), vec![d], at)
        } else if let Some(bill) = &q.bill_no {
            let bill = bill.trim();
            if bill.is_empty() {
                return Err(invalid("bill_no", "timeline.bill_no", "bill_no is empty"));
            }
            let found = self.store.declarations_of_bill(bill).await?;
            let at = self.store.bill(bill).await?.and_then(|b| b.arrived_at);
            (format!("bill/{bill}"), found, at)
        } else {
            let raw = q.container_no.as_deref().unwrap_or_default();
            let no = crate::app::container_no(raw)?;
            let found = self.store.declarations_of_container(&no).await?;
            // A bill reported arrived brings all its containers with it.
            let at = match self.store.container_arrival(&no).await? {
                Some(at) => Some(at),
                None => match self.store.bill_of_container(&no).await? {
                    Some(bill) => self.store.bill(&bill).await?.and_then(|b| b.arrived_at),
                    None => None,
                },
            };
            (format!("container/{no}"), found, at)
        };
        let any = !found.is_empty();
        let visible: Vec<Declaration> = found
            .into_iter()
            .filter(|d| self.can_see(ctx, &scope, d))
            .collect();
        if visible.is_empty() {
            if any {
                security_denied(ctx, &subject);
            }
            return Err(AppError::NotFound(subject));
        }
        let mut events = Vec::new();
        let mut declarations = Vec::with_capacity(visible.len());
        for d in &visible {
            let mine: Vec<Event> = self
                .store
                .declaration_events(d.id)
                .await?
                .into_iter()
                .map(|(_, e)| e)
                .collect();
            declarations.push(TimelineDeclaration {
                id: d.id,
                customs_no: d.customs_no.clone(),
                status: d.status,
                inspection: inspection_status(&mine),
                released_at: d.released_at,
            });
            events.extend(mine);
        }
        // Stable: events of one declaration keep their stored order at equal times.
        events.sort_by_key(|e| e.at);
        Ok(Timeline {
            subject,
            arrived_at,
            declarations,
            events,
        })
    }

    pub async fn list_declarations(
        &self,
        ctx: &Ctx,
        q: &DeclarationQuery,
    ) -> AppResult<Vec<DeclarationView>> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(invalid("limit", "page.limit", "limit is between 1 and 500"));
        }
        let status = match q.status.as_deref() {
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                invalid(
                    "status",
                    "status.unknown",
                    format!("'{s}' is not a declaration status"),
                )
            })?),
            None => None,
        };
        let container_no = q
            .container_no
            .as_deref()
            .map(crate::app::container_no)
            .transpose()?;
        let base = DeclarationFilter {
            status,
            bill_no: q.bill_no.clone(),
            container_no,
            created_from: q.from,
            created_to: q.to,
            limit,
            offset: q.offset.unwrap_or(0).max(0),
            ..Default::default()
        };
        let found = match ctx.actor.role {
            Role::Admin => self.store.list_declarations(&base).await?,
            Role::Officer => {
                // An officer's queue is what it may open (`can_see`): declarations at its
                // district's ports (口岸海关: inspection, release) or declared there
                // (申报地海关: documentary review). Officers are bound to a district when
                // created; one without any could see no declaration, so its queue would be
                // empty, never everyone's.
                let Some(district) = ctx.actor.district.as_ref() else {
                    return Ok(Vec::new());
                };
                let s = district.as_str();
                let prefix = Some(if s.ends_with("00") {
                    s[..2].to_string()
                } else {
                    s.to_string()
                });
                self.store
                    .list_declarations(&DeclarationFilter {
                        district_prefix: prefix,
                        ..base
                    })
                    .await?
            }
            // What an enterprise user or a broker may see is exactly the declarations owned
            // by an enterprise of its scope (`can_see`), so the store reads by owner.
            Role::EnterpriseUser | Role::Broker => {
                let scope = self.scope(ctx).await?;
                let mut owners = match &scope {
                    EnterpriseScope::Only(ids) => ids.clone(),
                    _ => vec![],
                };
                owners.sort_unstable();
                owners.dedup();
                self.store
                    .list_declarations(&DeclarationFilter {
                        owners: Some(owners),
                        ..base
                    })
                    .await?
                    .into_iter()
                    .filter(|d| self.can_see(ctx, &scope, d))
                    .collect()
            }
            Role::TerminalOperator => {
                return Err(AppError::Forbidden(
                    "terminals query containers at the gate".into(),
                ));
            }
        };
        Ok(found
            .into_iter()
            .map(|d| self.declaration_view(ctx, d))
            .collect())
    }
}
