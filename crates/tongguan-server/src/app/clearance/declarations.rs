//! Declarations (报关单): creation, validation and submission, edits, and the commit of a lifecycle step.

use super::*;

impl App {
    /// The owner enterprise of a new declaration and the declarant acting for it.
    pub(super) async fn parties(
        &self,
        ctx: &Ctx,
        owner: Option<Uuid>,
    ) -> AppResult<(tongguan_domain::enterprise::Enterprise, Uuid)> {
        require_role(ctx, &[Role::EnterpriseUser, Role::Broker])?;
        let own = ctx
            .actor
            .enterprise_id
            .ok_or(AppError::Forbidden("no enterprise".into()))?;
        let owner = match (ctx.actor.role, owner) {
            (Role::EnterpriseUser, None) => own,
            (Role::EnterpriseUser, Some(o)) if o == own => own,
            (Role::EnterpriseUser, Some(_)) => {
                return Err(invalid(
                    "owner_id",
                    "owner.not_yours",
                    "enterprise users declare for their own enterprise",
                ));
            }
            (_, None) => {
                return Err(invalid(
                    "owner_id",
                    "owner.required",
                    "a broker names the enterprise it declares for",
                ));
            }
            (_, Some(o)) => o,
        };
        let enterprise = self.visible_enterprise(ctx, owner).await?;
        Ok((enterprise, own))
    }

    pub async fn create_declaration(&self, ctx: &Ctx, input: &NewDeclaration) -> AppResult<Reply> {
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let (owner, declarant) = self.parties(ctx, input.owner_id).await?;
        let now = self.now();
        let customs = &input.content.head.declaring_customs;
        let customs = if customs.len() == 4 && customs.bytes().all(|b| b.is_ascii_digit()) {
            customs.as_str()
        } else {
            "0000"
        };
        let pre_entry_no = self
            .next_number(
                customs,
                china_date(now).year(),
                input.content.direction,
                true,
            )
            .await?;
        let id = new_id();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut d = Declaration::draft(
                id,
                pre_entry_no.clone(),
                owner.id,
                declarant,
                input.content.clone(),
                now,
            );
            let mut events = vec![Event {
                declaration_id: d.id,
                at: now,
                actor: ctx.actor_label(),
                reason: "draft saved".into(),
                from: Status::Draft,
                to: Status::Draft,
                kind: tongguan_domain::lifecycle::EventKind::Created,
            }];
            let mut action = "declaration.create";
            let mut extra = Vec::new();
            if input.submit {
                let (submitted, ops) = self.submit_events(ctx, &mut d, &owner).await?;
                events.extend(submitted);
                extra = ops;
                action = "declaration.submit";
            }
            let audit = self.audit_draft(
                ctx,
                action,
                &format!("declaration/{}", d.id),
                &format!("{} -> {}", Status::Draft.as_str(), d.status.as_str()),
            );
            let view = self.declaration_view(ctx, d.clone());
            let gate = GateUpdate::of(&d);
            let mut ops = vec![Op::InsertDeclaration(Box::new(d)), Op::InsertEvents(events)];
            ops.extend(extra);
            match self
                .commit_reply(ctx, Changeset::new(ops, audit), 201, &view, None)
                .await
            {
                Err(AppError::Conflict(v)) if retryable(&v.rule) && attempt < MAX_ATTEMPTS => {
                    continue;
                }
                Err(e) => return Err(e),
                Ok(reply) => {
                    if !reply.replayed {
                        self.clearance.apply_gate([gate]);
                    }
                    return Ok(reply);
                }
            }
        }
    }

    /// Full validation of a declaration's content against the catalog in force.
    pub(super) fn validate_complete(
        &self,
        content: &DeclarationContent,
        owner: &tongguan_domain::enterprise::Enterprise,
    ) -> AppResult<()> {
        let catalog = self.catalog();
        let v = validate(
            content,
            owner.uscc.as_str(),
            &CatalogCodes(&catalog),
            &self.config.clearance.declaration,
        );
        if v.is_empty() { Ok(()) } else { Err(v.into()) }
    }

    /// Arrival of the goods of `c`: its bill's arrival report, or one for every container.
    pub(super) async fn arrival_facts(&self, c: &DeclarationContent) -> AppResult<ArrivalFacts> {
        let mut facts = ArrivalFacts {
            arrived_at: None,
            transport_arrival: None,
            eta: None,
            bill_on_manifest: false,
        };
        let bill_no = c.head.bill_no.trim();
        if !bill_no.is_empty()
            && let Some(bill) = self.store.bill(bill_no).await?
        {
            facts.bill_on_manifest = true;
            facts.arrived_at = bill.arrived_at;
            facts.transport_arrival = bill.manifest_arrived_at;
            facts.eta = bill.eta;
        }
        let containers = c.containers();
        if facts.arrived_at.is_none() && !containers.is_empty() {
            let mut last = None;
            let port = c.head.domestic_port.trim();
            for cn in &containers {
                match self.store.container_arrival_at(cn).await? {
                    // Arrived at a terminal of the port it is cleared at (or its combination port).
                    Some((t, terminal))
                        if port.is_empty() || self.ports_of_terminal(&terminal).contains(port) =>
                    {
                        last = last.max(Some(t))
                    }
                    _ => return Ok(facts),
                }
            }
            facts.arrived_at = last;
        }
        Ok(facts)
    }

    /// Validates, checks the mode rules, assesses the risk and turns `d` into its accepted
    /// state, returning the events.
    pub(super) async fn submit_events(
        &self,
        ctx: &Ctx,
        d: &mut Declaration,
        owner: &tongguan_domain::enterprise::Enterprise,
    ) -> AppResult<(Vec<Event>, Vec<Op>)> {
        let catalog = self.catalog();
        let codes = CatalogCodes(&catalog);
        let rules = &self.config.clearance.declaration;
        let c = &d.content;
        let mut v: Violations = if c.head.modes.two_step {
            validate_summary(c, owner.uscc.as_str(), &codes, rules)
        } else {
            validate(c, owner.uscc.as_str(), &codes, rules)
        };
        if c.direction == Direction::Export && (c.head.modes.two_step || c.head.modes.two_stage) {
            v.push(
                "head/modes",
                "modes.import_only",
                "two-step declaration and two-stage access apply to imports",
            );
        }
        let now = self.now();
        let today = china_date(now);
        let facts = self.arrival_facts(c).await?;
        let arrived_at = d.arrived_at.or(facts.arrived_at);
        let (transport_arrival, eta) = (facts.transport_arrival, facts.eta);
        if !facts.bill_on_manifest && c.direction == Direction::Import {
            v.push(
                "head/bill_no",
                "import.bill_not_on_manifest",
                format!(
                    "bill {} is on no manifest: an import is declared once its manifest (舱单) is filed (GACC Ann. 2014 No. 74)",
                    c.head.bill_no.trim()
                ),
            );
        }
        if c.direction == Direction::Export && arrived_at.is_none() {
            match c.head.goods_arrival_date {
                None => v.push(
                    "head/goods_arrival_date",
                    "export.arrival_date_required",
                    "an export declared before the goods arrive names the day they will reach the supervised area",
                ),
                Some(day) if (day - today).num_days() > self.config.clearance.export_advance_days => v.push(
                    "head/goods_arrival_date",
                    "export.too_early",
                    format!(
                        "exports are declared at most {} days before the goods reach the supervised area (GACC Ann. 2014 No. 74); {day} is {} days away",
                        self.config.clearance.export_advance_days,
                        (day - today).num_days()
                    ),
                ),
                Some(_) => {}
            }
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        // Risk control (布控): deterministic for the declaration and the configured seed.
        let items: Vec<SubjectItem<'_>> = c
            .items
            .iter()
            .map(|i| SubjectItem {
                commodity_code: &i.commodity_code,
                origin_country: &i.origin_country,
                quantity: i.quantity,
                unit_price: i.unit_price,
                total_value: i.total_price,
            })
            .collect();
        let subject = Subject {
            declaration_id: d.id,
            enterprise_id: owner.id,
            credit_level: owner.credit_level,
            direction: c.direction,
            trade_mode: &c.head.trade_mode,
            transport_mode: &c.head.transport_mode,
            port: &c.head.port_customs,
            departure_country: &c.head.departure_or_destination_country,
            items: &items,
        };
        let assessment: Assessment =
            self.clearance
                .rules()
                .evaluate(&subject, self.config.clearance.risk_seed, now);
        let control = assessment.action.map(|a| ControlDecision {
            action: a.as_str().to_string(),
            reason: explain(&assessment),
        });
        let customs_no = match &d.customs_no {
            Some(n) => n.clone(),
            None => {
                self.next_number(&c.head.declaring_customs, today.year(), c.direction, false)
                    .await?
            }
        };
        let base = transport_arrival.or(eta).map(china_date).unwrap_or(today);
        let complete_due = base + Duration::days(self.config.clearance.complete_declaration_days);
        let (tax, mut ledger) = self.assess_taxes(d, owner, now).await?;
        let cmd = Command::Submit {
            customs_no,
            arrived_at,
            control,
            assessment: serde_json::to_value(&assessment).ok(),
            complete_due: Some(complete_due),
            tax: Some(tax),
        };
        // Decided "not arrived" on a read: the commit must fail if an arrival report commits
        // in between, so the decision is made again (an arrival report committing later
        // sees this declaration itself).
        let mut extra = Vec::new();
        if arrived_at.is_none() {
            if facts.bill_on_manifest {
                extra.push(Op::Guard(Guard::BillNotArrived(
                    d.content.head.bill_no.trim().to_string(),
                )));
            }
            extra.extend(
                d.content
                    .containers()
                    .into_iter()
                    .map(|c| Op::Guard(Guard::ContainerNotArrived(c))),
            );
        }
        let events = d
            .handle(&cmd, &ctx.actor_label(), "submitted by the declarant", now)
            .map_err(refusal)?;
        // Released at acceptance under consolidated tax: the reservation is posted at once.
        if let (Some(l), Some(t)) = (ledger.as_mut(), d.tax.as_ref())
            && d.status.is_released()
            && let Some(reservation) = t.reservation
        {
            l.apply(tongguan_tax::ledger::Transfer::post(
                new_id(),
                d.owner_id,
                reservation,
                t.total_fen,
                format!("declaration/{}", d.id),
                now,
            ))?;
        }
        if let Some(l) = &ledger {
            extra.extend(l.ops()?);
        }
        Ok((events, extra))
    }

    pub async fn get_declaration(&self, ctx: &Ctx, id: Uuid) -> AppResult<DeclarationView> {
        let d = self.visible_declaration(ctx, id).await?;
        Ok(self.declaration_view(ctx, d))
    }

    pub async fn declaration_events(&self, ctx: &Ctx, id: Uuid) -> AppResult<Vec<Event>> {
        self.visible_declaration(ctx, id).await?;
        Ok(self
            .store
            .declaration_events(id)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// Runs one lifecycle command on a declaration the actor may act on, and commits it.
    pub(super) async fn transition(&self, ctx: &Ctx, id: Uuid, step: Step<'_>) -> AppResult<Reply> {
        require_role(ctx, step.roles)?;
        let mut d = self.visible_declaration(ctx, id).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let before = d.status;
        let expected = d.version;
        let containers_before = step.replace_containers.then(|| d.content.containers());
        let events = d
            .handle(&step.cmd, &ctx.actor_label(), step.reason, self.now())
            .map_err(refusal)?;
        let settlement = self.settle_reservations(&[(before, &d)]).await?;
        self.commit_declaration(
            ctx,
            d,
            Record {
                expected_version: expected,
                events,
                before,
                action: step.action,
                reason: step.reason,
                containers_before,
                extra: settlement,
            },
        )
        .await
    }

    pub(super) async fn commit_declaration(
        &self,
        ctx: &Ctx,
        d: Declaration,
        r: Record<'_>,
    ) -> AppResult<Reply> {
        let Record {
            expected_version,
            events,
            before,
            action,
            reason,
            containers_before,
            extra,
        } = r;
        let audit = self.audit_draft(
            ctx,
            action,
            &format!("declaration/{}", d.id),
            &format!("{reason} ({} -> {})", before.as_str(), d.status.as_str()),
        );
        let view = self.declaration_view(ctx, d.clone());
        let mut gate = GateUpdate::of(&d);
        let replace_containers = containers_before.is_some();
        gate.departed = containers_before
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !gate.containers.contains(c))
            .collect();
        let mut ops = vec![Op::UpdateDeclaration {
            declaration: Box::new(d),
            expected_version,
            replace_containers,
        }];
        if !events.is_empty() {
            ops.push(Op::InsertEvents(events));
        }
        ops.extend(extra);
        let reply = self
            .commit_reply(ctx, Changeset::new(ops, audit), 200, &view, None)
            .await?;
        if !reply.replayed {
            self.clearance.apply_gate([gate]);
        }
        Ok(reply)
    }

    pub async fn edit_declaration(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &DeclarationEdit,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::EnterpriseUser, Role::Broker])?;
        let d = self.visible_declaration(ctx, id).await?;
        if d.version != input.version {
            return Err(invalid(
                "version",
                "version.stale",
                format!(
                    "the declaration is at version {}, not {}",
                    d.version, input.version
                ),
            ));
        }
        if input.content.direction != d.content.direction {
            return Err(invalid(
                "content/direction",
                "direction.immutable",
                "import/export does not change; start a new declaration",
            ));
        }
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::Edit {
                    content: Box::new(input.content.clone()),
                },
                reason: "edited by the declarant",
                action: "declaration.edit",
                replace_containers: true,
            },
        )
        .await
    }

    pub async fn submit_declaration(&self, ctx: &Ctx, id: Uuid) -> AppResult<Reply> {
        require_role(ctx, &[Role::EnterpriseUser, Role::Broker])?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut d = self.visible_declaration(ctx, id).await?;
            if let Some(r) = self.replay(ctx).await? {
                return Ok(r);
            }
            let owner = self
                .store
                .enterprise(d.owner_id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("enterprise {}", d.owner_id)))?;
            let before = d.status;
            let expected = d.version;
            let (events, extra) = self.submit_events(ctx, &mut d, &owner).await?;
            let result = self
                .commit_declaration(
                    ctx,
                    d,
                    Record {
                        expected_version: expected,
                        events,
                        before,
                        action: "declaration.submit",
                        reason: "submitted by the declarant",
                        containers_before: None,
                        extra,
                    },
                )
                .await;
            match result {
                Err(AppError::Conflict(v)) if retryable(&v.rule) && attempt < MAX_ATTEMPTS => {
                    continue;
                }
                other => return other,
            }
        }
    }
}
