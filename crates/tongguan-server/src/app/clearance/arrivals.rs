//! Manifests (舱单) and arrival reports (运抵报告): the arrival releases what waits for it (秒放).

use super::*;

impl App {
    /// A carrier's agent files a manifest (舱单).
    pub async fn file_manifest(&self, ctx: &Ctx, input: &ManifestInput) -> AppResult<Reply> {
        require_role(ctx, &[Role::EnterpriseUser, Role::Broker])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let mut v = Violations::new();
        let m = self.prepare_manifest(ctx, input, "", &mut v).await?;
        if !v.is_empty() {
            return Err(v.into());
        }
        let audit = self.audit_draft(
            ctx,
            "manifest.file",
            &format!("manifest/{}", m.id),
            &format!(
                "{} {} with {} bill(s)",
                m.input.transport_means,
                m.input.voyage,
                m.input.bills.len()
            ),
        );
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::InsertManifest(Box::new(m.clone()))], audit),
            201,
            &m,
            None,
        )
        .await
    }

    /// Checks a manifest filing (violations under `prefix`) and builds the stored manifest.
    pub(in crate::app) async fn prepare_manifest(
        &self,
        ctx: &Ctx,
        input: &ManifestInput,
        prefix: &str,
        v: &mut Violations,
    ) -> AppResult<Manifest> {
        let filed_by = ctx
            .actor
            .enterprise_id
            .ok_or(AppError::Forbidden("no enterprise".into()))?;
        let path = |p: &str| {
            if prefix.is_empty() {
                p.to_string()
            } else {
                format!("{prefix}/{p}")
            }
        };
        for x in validate_manifest(input).0 {
            v.push(path(&x.path), &x.rule, x.message);
        }
        let catalog = self.catalog();
        let codes = CatalogCodes(&catalog);
        for (field, table, value) in [
            (
                "transport_mode",
                CodeTable::TransportMode,
                &input.transport_mode,
            ),
            ("port", CodeTable::Port, &input.port),
            ("customs", CodeTable::CustomsDistrict, &input.customs),
        ] {
            if !value.is_empty() && !codes.exists(table, value) {
                v.push(
                    path(field),
                    "code.unknown",
                    format!("'{value}' is not in the reference table in force"),
                );
            }
        }
        // One bill end to end (一单到底): a bill may be on one manifest per leg, and a direct
        // manifest is its only leg.
        let leg = input.leg.as_str();
        for (i, b) in input.bills.iter().enumerate() {
            let legs = self.store.bill_legs(b.bill_no.trim()).await?;
            let taken = legs.iter().any(|l| l == leg || l == "direct")
                || (leg == "direct" && !legs.is_empty());
            if taken {
                v.push(
                    path(&format!("bills/{i}/bill_no")),
                    "bill_no.unique",
                    format!(
                        "bill {} is already on a manifest for this leg ({})",
                        b.bill_no,
                        legs.join(", ")
                    ),
                );
            }
        }
        Ok(Manifest {
            id: new_id(),
            input: input.clone(),
            filed_by,
            arrived_at: None,
            created_at: self.now(),
        })
    }

    pub async fn get_manifest(&self, ctx: &Ctx, id: Uuid) -> AppResult<Manifest> {
        let m = self
            .store
            .manifest(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("manifest {id}")))?;
        let allowed = match ctx.actor.role {
            Role::Admin | Role::Officer | Role::TerminalOperator => true,
            _ => self.scope(ctx).await?.allows(m.filed_by),
        };
        if !allowed {
            security_denied(ctx, &format!("manifest/{id}"));
            return Err(AppError::NotFound(format!("manifest {id}")));
        }
        Ok(m)
    }

    /// A terminal reports goods in the supervised area (运抵报告). Every declaration waiting
    /// for them with no control instruction is released in the same transaction (秒放).
    pub async fn report_arrival(&self, ctx: &Ctx, input: &ArrivalReportInput) -> AppResult<Reply> {
        // A declaration changed by someone else between our read and our commit fails the
        // whole changeset; read again and retry (the idempotency key makes this safe).
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.report_arrival_once(ctx, input).await {
                Err(AppError::Conflict(v)) if retryable(&v.rule) && attempt < MAX_ATTEMPTS => {
                    continue;
                }
                other => return other,
            }
        }
    }

    pub(super) async fn report_arrival_once(
        &self,
        ctx: &Ctx,
        input: &ArrivalReportInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::TerminalOperator])?;
        let bill_no = input
            .bill_no
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        // The stored reply and what the reported bill concerns are read at once: on
        // PostgreSQL each read is a round trip, and one after the other they were the
        // larger part of a report's time before its commit.
        let bill_reads = async {
            match &bill_no {
                Some(b) => tokio::try_join!(
                    self.store.bills_of_master(b),
                    self.store.bill_manifests(b),
                    self.store.declarations_of_bill(b),
                )
                .map(Some)
                .map_err(AppError::from),
                None => Ok(None),
            }
        };
        let (replayed, mut bill_reads) = tokio::try_join!(self.replay(ctx), bill_reads)?;
        if let Some(r) = replayed {
            return Ok(r);
        }
        let terminal = input.terminal.trim().to_ascii_uppercase();
        if !ctx.actor.terminals.contains(&terminal) {
            return Err(invalid(
                "terminal",
                "terminal.not_yours",
                format!("you do not report for terminal {terminal}"),
            ));
        }
        let mut v = Violations::new();
        let mut containers = Vec::new();
        for (i, c) in input.containers.iter().enumerate() {
            if let Some(n) = v.check(&format!("containers/{i}"), ContainerNumber::parse(c)) {
                containers.push(String::from(n));
            }
        }
        if bill_no.is_none() && containers.is_empty() {
            v.push(
                "bill_no",
                "arrival.what",
                "report a bill of lading or containers",
            );
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let now = self.now();
        let mut ops = Vec::new();
        // Which declarations may be affected.
        let mut candidates: Vec<Declaration> = Vec::new();
        let push = |d: Declaration, list: &mut Vec<Declaration>| {
            if !list.iter().any(|x| x.id == d.id) {
                list.push(d);
            }
        };
        // The reported bill, and for an air master bill (主运单) its house bills (分运单).
        let mut arrived_bills: Vec<String> = Vec::new();
        if let (Some(b), Some((house, _, _))) = (&bill_no, &mut bill_reads) {
            arrived_bills.push(b.clone());
            arrived_bills.append(house);
        }
        // A terminal reports only for its own ports (and its combination port's): the legs
        // and declarations of other ports are left alone.
        let ports = self.ports_of_terminal(&terminal);
        for (i, b) in arrived_bills.iter().enumerate() {
            // The reported bill's were read above; a house bill's are read now.
            let (legs, declarations) = match bill_reads.as_mut() {
                Some((_, legs, declarations)) if i == 0 => {
                    (std::mem::take(legs), std::mem::take(declarations))
                }
                _ => tokio::try_join!(
                    self.store.bill_manifests(b),
                    self.store.declarations_of_bill(b)
                )?,
            };
            for (manifest_id, port) in legs {
                if ports.contains(&port) {
                    ops.push(Op::MarkBillArrived {
                        bill_no: b.clone(),
                        manifest_id,
                        at: now,
                    });
                    ops.push(Op::MarkManifestArrived {
                        id: manifest_id,
                        at: now,
                    });
                }
            }
            for d in declarations {
                push(d, &mut candidates);
            }
        }
        // Each container's manifest and declarations, a few containers at a time (a
        // vessel's report lists hundreds; the reads of other calls share the pool).
        let reads: Vec<_> = containers
            .iter()
            .map(|c| async move {
                let manifest = async {
                    match self.store.bill_of_container(c).await? {
                        Some(b) => self.store.bill(&b).await.map(|s| s.map(|s| s.manifest_id)),
                        None => Ok(None),
                    }
                };
                tokio::try_join!(manifest, self.store.declarations_of_container(c))
            })
            .collect();
        let container_reads: Vec<_> = futures_util::stream::iter(reads)
            .buffered(CONTAINER_READS_AT_ONCE)
            .try_collect()
            .await?;
        for (c, (manifest, declarations)) in containers.iter().zip(container_reads) {
            ops.push(Op::InsertContainerArrival {
                container_no: c.clone(),
                terminal: terminal.clone(),
                at: now,
            });
            if let Some(id) = manifest {
                ops.push(Op::MarkManifestArrived { id, at: now });
            }
            for d in declarations {
                push(d, &mut candidates);
            }
        }
        let mut outcome = ArrivalOutcome {
            report_id: new_id(),
            released: vec![],
            to_inspection: vec![],
            recorded: vec![],
            other_ports: 0,
        };
        let mut changed = Vec::new();
        let mut befores = Vec::new();
        for mut d in candidates {
            if d.arrived_at.is_some() || d.status.is_final() {
                continue;
            }
            if !ports.contains(d.content.head.domestic_port.trim()) {
                outcome.other_ports += 1;
                continue;
            }
            // A declaration's goods have arrived when its bill did, or all its containers.
            let mut all_in = arrived_bills
                .iter()
                .any(|b| b == d.content.head.bill_no.trim());
            if !all_in {
                let own = d.content.containers();
                let mut ok = !own.is_empty();
                for c in &own {
                    if !containers.contains(c) && self.store.container_arrival(c).await?.is_none() {
                        ok = false;
                        break;
                    }
                }
                all_in = ok;
            }
            if !all_in {
                continue;
            }
            let before = d.status;
            let expected = d.version;
            let events = d
                .handle(
                    &Command::ReportArrival,
                    &ctx.actor_label(),
                    &format!("arrival report by {terminal}"),
                    now,
                )
                .map_err(refusal)?;
            if events.is_empty() {
                continue;
            }
            if d.status.is_released() {
                outcome.released.push(d.id);
            } else if d.status == Status::InspectionOrdered {
                outcome.to_inspection.push(d.id);
            } else {
                outcome.recorded.push(d.id);
            }
            ops.push(Op::UpdateDeclaration {
                declaration: Box::new(d.clone()),
                expected_version: expected,
                replace_containers: false,
            });
            ops.push(Op::InsertEvents(events));
            befores.push(before);
            changed.push(d);
        }
        // Declarations accepted between our read and our commit would be missed: refuse to
        // commit then, and read again.
        for b in &arrived_bills {
            for port in &ports {
                ops.push(Op::Guard(Guard::NoneAwaitingOnBill {
                    bill_no: b.clone(),
                    port: port.clone(),
                }));
            }
        }
        for c in &containers {
            for port in &ports {
                ops.push(Op::Guard(Guard::NoneAwaitingOnContainer {
                    container_no: c.clone(),
                    port: port.clone(),
                }));
            }
        }
        // Consolidated taxes of what was released are posted to the month's statement.
        let pairs: Vec<(Status, &Declaration)> =
            befores.iter().copied().zip(changed.iter()).collect();
        ops.extend(self.settle_reservations(&pairs).await?);
        ops.push(Op::InsertArrivalReport(ArrivalReportRow {
            id: outcome.report_id,
            terminal: terminal.clone(),
            bill_no: bill_no.clone(),
            containers: containers.clone(),
            actor: ctx.actor_label(),
            at: now,
        }));
        let audit = self.audit_draft(
            ctx,
            "arrival.report",
            &format!("arrival_report/{}", outcome.report_id),
            &format!(
                "{terminal}: bill {} containers {}; released {}",
                bill_no.as_deref().unwrap_or("-"),
                containers.join(" "),
                outcome.released.len()
            ),
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(ops, audit).urgent(),
                201,
                &outcome,
                None,
            )
            .await?;
        if !reply.replayed {
            self.clearance
                .apply_gate(changed.iter().map(GateUpdate::of));
        }
        Ok(reply)
    }
}
