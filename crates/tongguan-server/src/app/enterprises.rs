//! Enterprise registry (企业管理) and broker authorisations (委托报关).

pub use tongguan_api::{
    AuthorisationView, EnterprisePatch, NewAuthorisation, NewEnterpriseInput, Reason,
};
use tongguan_domain::Violations;
use tongguan_domain::enterprise::{
    CreditLevel, Enterprise, EnterpriseInput, EnterpriseTag, MAX_ADDRESS_CHARS, MAX_NAME_CHARS,
    NewEnterprise, level_in_force, phone, text_field,
};
use tongguan_domain::identity::{EnterpriseScope, Role, enterprise_scope};
use tongguan_store::{BrokerAuthorisation, Changeset, EnterpriseFilter, Op};
use uuid::Uuid;

use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, invalid, new_id, security_denied};

impl App {
    /// The enterprises `ctx` may see.
    pub async fn scope(&self, ctx: &Ctx) -> AppResult<EnterpriseScope> {
        let principals = match (ctx.actor.role, ctx.actor.enterprise_id) {
            (Role::Broker, Some(own)) => {
                let today = self.today();
                self.store
                    .authorisations_of(own)
                    .await?
                    .into_iter()
                    .filter(|a| a.broker_id == own && a.in_force(today))
                    .map(|a| a.principal_id)
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(enterprise_scope(&ctx.actor, &principals))
    }

    /// Loads an enterprise the actor may see; anything else is "not found" (and logged),
    /// so a caller cannot learn that another enterprise's record exists.
    pub async fn visible_enterprise(&self, ctx: &Ctx, id: Uuid) -> AppResult<Enterprise> {
        let scope = self.scope(ctx).await?;
        if !scope.allows(id) {
            security_denied(ctx, &format!("enterprise/{id}"));
            return Err(AppError::NotFound(format!("enterprise {id}")));
        }
        self.store
            .enterprise(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("enterprise {id}")))
    }

    pub async fn create_enterprise(
        &self,
        ctx: &Ctx,
        input: &NewEnterpriseInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin, Role::Officer])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let parsed = NewEnterprise::parse(
            &EnterpriseInput {
                name: &input.name,
                uscc: &input.uscc,
                customs_code: &input.customs_code,
                credit_level: &input.credit_level,
                tags: &input.tags,
                address: input.address.as_deref(),
                contact_phone: input.contact_phone.as_deref(),
            },
            self.today(),
        )?;
        let e = parsed.register(new_id(), self.now());
        let audit = self.audit_draft(
            ctx,
            "enterprise.create",
            &format!("enterprise/{}", e.id),
            &format!(
                "registered {} ({}) with credit level {}",
                e.name,
                e.uscc,
                e.credit_level.as_str()
            ),
        );
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::InsertEnterprise(e.clone())], audit),
            201,
            &e,
            None,
        )
        .await
    }

    pub async fn get_enterprise(&self, ctx: &Ctx, id: Uuid) -> AppResult<Enterprise> {
        self.visible_enterprise(ctx, id).await
    }

    pub async fn list_enterprises(
        &self,
        ctx: &Ctx,
        q: Option<String>,
        limit: i64,
        offset: i64,
    ) -> AppResult<Vec<Enterprise>> {
        match self.scope(ctx).await? {
            EnterpriseScope::All => Ok(self
                .store
                .list_enterprises(&EnterpriseFilter { q, limit, offset })
                .await?),
            EnterpriseScope::Only(ids) => {
                let needle = q.map(|q| q.to_lowercase());
                let mut out = Vec::new();
                for id in ids {
                    if let Some(e) = self.store.enterprise(id).await?
                        && needle.as_ref().is_none_or(|n| {
                            e.name.to_lowercase().contains(n)
                                || e.uscc.as_str().to_lowercase().contains(n)
                                || e.customs_code.as_str().to_lowercase().contains(n)
                        })
                    {
                        out.push(e);
                    }
                }
                out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                Ok(out
                    .into_iter()
                    .skip(usize::try_from(offset).unwrap_or(0))
                    .take(usize::try_from(limit).unwrap_or(0))
                    .collect())
            }
            EnterpriseScope::None => Err(AppError::Forbidden(
                "this role has no access to the enterprise registry".into(),
            )),
        }
    }

    /// Changes an enterprise. Enterprise users change their own contact data; officers and
    /// admins also the name, credit level and tags, with a reason.
    pub async fn update_enterprise(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: &EnterprisePatch,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin, Role::Officer, Role::EnterpriseUser])?;
        let current = self.visible_enterprise(ctx, id).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let customs_side = matches!(ctx.actor.role, Role::Admin | Role::Officer);
        let mut v = Violations::new();
        let mut next = current.clone();
        if let Some(expected) = patch.version
            && expected != current.version
        {
            v.push(
                "version",
                "version.stale",
                format!(
                    "the record is at version {}, not {expected}; reload and try again",
                    current.version
                ),
            );
        }
        if let Some(name) = &patch.name {
            if customs_side {
                next.name = v
                    .check("name", text_field(name, MAX_NAME_CHARS))
                    .unwrap_or_default();
            } else {
                v.push(
                    "name",
                    "enterprise.name_customs_only",
                    "the registered name is changed by customs",
                );
            }
        }
        if let Some(a) = &patch.address {
            next.address = if a.trim().is_empty() {
                None
            } else {
                v.check("address", text_field(a, MAX_ADDRESS_CHARS))
            };
        }
        if let Some(p) = &patch.contact_phone {
            next.contact_phone = if p.trim().is_empty() {
                None
            } else {
                v.check("contact_phone", phone(p))
            };
        }
        let mut decision = false;
        if let Some(level) = &patch.credit_level {
            if !customs_side {
                v.push(
                    "credit_level",
                    "credit_level.customs_only",
                    "credit levels are decided by customs",
                );
            } else if let Some(l) = v.check("credit_level", CreditLevel::parse(level)) {
                if !level_in_force(l, self.today()) {
                    v.push(
                        "credit_level",
                        "credit_level.not_in_force",
                        "this level is not in force today",
                    );
                }
                decision |= l != current.credit_level;
                next.credit_level = l;
            }
        }
        if let Some(tags) = &patch.tags {
            if !customs_side {
                v.push(
                    "tags",
                    "tags.customs_only",
                    "key-enterprise tags are assigned by customs",
                );
            } else {
                let mut parsed: Vec<EnterpriseTag> = Vec::new();
                for (i, t) in tags.iter().enumerate() {
                    if let Some(t) = v.check(&format!("tags/{i}"), EnterpriseTag::parse(t))
                        && !parsed.contains(&t)
                    {
                        parsed.push(t);
                    }
                }
                parsed.sort();
                decision |= parsed != current.tags;
                next.tags = parsed;
            }
        }
        let reason = patch.reason.as_deref().map(str::trim).unwrap_or("");
        if decision && reason.is_empty() {
            v.push(
                "reason",
                "reason.required",
                "a reason is required to change a credit level or tags",
            );
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        next.version = current.version + 1;
        next.updated_at = self.now();
        let what = if decision {
            "enterprise.decide"
        } else {
            "enterprise.update"
        };
        let reason = if reason.is_empty() {
            "contact details updated"
        } else {
            reason
        };
        let mut audit_reason = reason.to_string();
        if next.credit_level != current.credit_level {
            audit_reason = format!(
                "{reason} (credit level {} -> {})",
                current.credit_level.as_str(),
                next.credit_level.as_str()
            );
        }
        let audit = self.audit_draft(ctx, what, &format!("enterprise/{id}"), &audit_reason);
        self.commit_reply(
            ctx,
            Changeset::new(
                vec![Op::UpdateEnterprise {
                    enterprise: next.clone(),
                    expected_version: current.version,
                }],
                audit,
            ),
            200,
            &next,
            None,
        )
        .await
    }

    fn authorisation_view(&self, a: &BrokerAuthorisation) -> AuthorisationView {
        AuthorisationView {
            id: a.id,
            principal_id: a.principal_id,
            broker_id: a.broker_id,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
            revoked_at: a.revoked_at,
            reason: a.reason.clone(),
            in_force: a.in_force(self.today()),
        }
    }

    /// The enterprise itself (its own users) or customs grants a broker authority to declare.
    pub async fn authorise_broker(
        &self,
        ctx: &Ctx,
        principal: Uuid,
        input: &NewAuthorisation,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin, Role::EnterpriseUser])?;
        self.visible_enterprise(ctx, principal).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let mut v = Violations::new();
        match self.store.enterprise(input.broker_id).await? {
            None => v.push(
                "broker_id",
                "broker.unknown",
                format!("no enterprise {}", input.broker_id),
            ),
            Some(b) if !b.tags.contains(&EnterpriseTag::CustomsBroker) => v.push(
                "broker_id",
                "broker.not_a_broker",
                format!(
                    "{} is not registered as a customs broker (报关企业)",
                    b.name
                ),
            ),
            Some(_) if input.broker_id == principal => v.push(
                "broker_id",
                "broker.self",
                "an enterprise cannot authorise itself",
            ),
            Some(_) => {}
        }
        if input.valid_until.is_some_and(|u| u < input.valid_from) {
            v.push(
                "valid_until",
                "authorisation.dates",
                "valid_until is before valid_from",
            );
        }
        if input.reason.trim().is_empty() {
            v.push(
                "reason",
                "reason.required",
                "say why the broker is authorised (e.g. the agency contract)",
            );
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let a = BrokerAuthorisation {
            id: new_id(),
            principal_id: principal,
            broker_id: input.broker_id,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            created_at: self.now(),
            revoked_at: None,
            reason: input.reason.trim().to_string(),
        };
        let audit = self.audit_draft(
            ctx,
            "broker_authorisation.create",
            &format!("enterprise/{principal}"),
            &format!("broker {} authorised: {}", a.broker_id, a.reason),
        );
        let view = self.authorisation_view(&a);
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::InsertBrokerAuthorisation(a)], audit),
            201,
            &view,
            None,
        )
        .await
    }

    pub async fn list_authorisations(
        &self,
        ctx: &Ctx,
        enterprise: Uuid,
    ) -> AppResult<Vec<AuthorisationView>> {
        self.visible_enterprise(ctx, enterprise).await?;
        Ok(self
            .store
            .authorisations_of(enterprise)
            .await?
            .iter()
            .map(|a| self.authorisation_view(a))
            .collect())
    }

    pub async fn revoke_authorisation(
        &self,
        ctx: &Ctx,
        enterprise: Uuid,
        id: Uuid,
        reason: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin, Role::EnterpriseUser])?;
        self.visible_enterprise(ctx, enterprise).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let a = match self.store.authorisation(id).await? {
            Some(a) if a.principal_id == enterprise => a,
            _ => return Err(AppError::NotFound(format!("broker authorisation {id}"))),
        };
        if reason.trim().is_empty() {
            return Err(invalid(
                "reason",
                "reason.required",
                "say why the authorisation ends",
            ));
        }
        let now = self.now();
        let audit = self.audit_draft(
            ctx,
            "broker_authorisation.revoke",
            &format!("enterprise/{enterprise}"),
            reason.trim(),
        );
        let mut revoked = a.clone();
        revoked.revoked_at = Some(now);
        let view = self.authorisation_view(&revoked);
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::RevokeBrokerAuthorisation { id, at: now }], audit),
            200,
            &view,
            None,
        )
        .await
    }
}
