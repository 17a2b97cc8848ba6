//! Ports and terminals (M2, M3, M8, M10): the terminal registry with combination-port
//! groups, terminals' gate and loading events, unloading lists.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use tongguan_api::{
    CombinationPort, TerminalEventAnswer, TerminalEventInput, TerminalInput, TerminalView,
    UnloadingEntry,
};
use tongguan_domain::codes::Direction;
use tongguan_domain::identity::{Actor, Role};
use tongguan_domain::manifest::{
    ArrivalReportInput, Terminal, TerminalEventKind, validate_terminal,
};
use tongguan_refdata::DatasetId;
use tongguan_store::{Changeset, Op, TerminalEventRow};
use uuid::Uuid;

use super::clearance::GateAction;
use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, invalid, new_id, security_denied};

fn parse_terminal(body: &str) -> AppResult<Terminal> {
    serde_json::from_str(body).map_err(|e| AppError::Internal(format!("stored terminal: {e}")))
}

impl App {
    pub(super) async fn load_terminals(&self) -> AppResult<()> {
        let mut map = BTreeMap::new();
        for (code, version, body) in self.store.terminals().await? {
            map.insert(code, (version, parse_terminal(&body)?));
        }
        let map = Arc::new(map);
        match self.clearance.terminals.write() {
            Ok(mut g) => *g = map,
            Err(p) => *p.into_inner() = map,
        }
        Ok(())
    }

    fn terminal_map(&self) -> Arc<BTreeMap<String, (i64, Terminal)>> {
        match self.clearance.terminals.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The ports whose goods a terminal operator handles: its terminals' ports and the hub
    /// ports they clear under, and for a hub, its feeders' ports (组合港).
    pub fn operator_ports(&self, actor: &Actor) -> BTreeSet<String> {
        let map = self.terminal_map();
        let mut ports = BTreeSet::new();
        for code in &actor.terminals {
            match map.get(code) {
                Some((_, t)) => {
                    ports.insert(t.port.clone());
                    ports.insert(t.clearance_port().to_string());
                }
                None => {
                    ports.insert(code.split('-').next().unwrap_or("").to_string());
                }
            }
        }
        let feeders: Vec<String> = map
            .values()
            .filter(|(_, t)| t.hub_port.as_ref().is_some_and(|h| ports.contains(h)))
            .map(|(_, t)| t.port.clone())
            .collect();
        ports.extend(feeders);
        ports
    }

    /// The ports goods at a terminal belong to (its own, its hub's, or its feeders').
    pub fn ports_of_terminal(&self, code: &str) -> BTreeSet<String> {
        let actor = Actor {
            user_id: Uuid::nil(),
            username: String::new(),
            role: Role::TerminalOperator,
            enterprise_id: None,
            district: None,
            terminals: vec![code.to_string()],
        };
        self.operator_ports(&actor)
    }

    /// Admin: registers or changes a terminal.
    pub async fn put_terminal(
        &self,
        ctx: &Ctx,
        code: &str,
        input: &TerminalInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let t = &input.terminal;
        let mut v = validate_terminal(t);
        if t.code != code {
            v.push(
                "code",
                "terminal.code_path",
                "the code in the body is the code in the path",
            );
        }
        let catalog = self.catalog();
        if !catalog.contains(DatasetId::Ports, &t.port) {
            v.push(
                "port",
                "port.unknown",
                format!("{} is not a UN/LOCODE in the port table", t.port),
            );
        }
        if let Some(h) = &t.hub_port
            && !catalog.contains(DatasetId::Ports, h)
        {
            v.push(
                "hub_port",
                "port.unknown",
                format!("{h} is not a UN/LOCODE in the port table"),
            );
        }
        if !catalog.contains(DatasetId::CustomsDistricts, &t.customs) {
            v.push(
                "customs",
                "customs_district.unknown",
                format!("{} is not a customs district", t.customs),
            );
        }
        let current = self.terminal_map().get(code).map(|(v, _)| *v);
        match (current, input.version) {
            (Some(cur), Some(exp)) if cur != exp => v.push(
                "version",
                "version.stale",
                format!("the terminal is at version {cur}"),
            ),
            (Some(_), None) => v.push(
                "version",
                "terminal.exists",
                "the terminal exists: send its version to change it",
            ),
            (None, Some(_)) => v.push("version", "terminal.unknown", "no such terminal to change"),
            _ => {}
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let version = current.unwrap_or(0) + 1;
        let view = TerminalView {
            terminal: t.clone(),
            version,
        };
        let audit = self.audit_draft(
            ctx,
            "terminal.put",
            &format!("terminal/{code}"),
            &format!(
                "{} at {} (clears under {})",
                t.name,
                t.port,
                t.clearance_port()
            ),
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(
                    vec![Op::PutTerminal {
                        code: code.to_string(),
                        version,
                        expected_version: current,
                        body: serde_json::to_string(t)
                            .map_err(|e| AppError::Internal(e.to_string()))?,
                    }],
                    audit,
                ),
                if current.is_some() { 200 } else { 201 },
                &view,
                None,
            )
            .await?;
        self.load_terminals().await?;
        Ok(reply)
    }

    pub fn terminals(&self) -> Vec<TerminalView> {
        self.terminal_map()
            .values()
            .map(|(v, t)| TerminalView {
                terminal: t.clone(),
                version: *v,
            })
            .collect()
    }

    pub fn combination_ports(&self) -> Vec<CombinationPort> {
        let map = self.terminal_map();
        let mut hubs: BTreeMap<String, CombinationPort> = BTreeMap::new();
        for (_, t) in map.values() {
            if let Some(h) = &t.hub_port {
                hubs.entry(h.clone())
                    .or_insert_with(|| CombinationPort {
                        hub_port: h.clone(),
                        hub_terminals: vec![],
                        feeder_terminals: vec![],
                    })
                    .feeder_terminals
                    .push(t.code.clone());
            }
        }
        for (_, t) in map.values() {
            if let Some(c) = hubs.get_mut(&t.port) {
                c.hub_terminals.push(t.code.clone());
            }
        }
        hubs.into_values().collect()
    }

    fn require_own_terminal(&self, ctx: &Ctx, terminal: &str) -> AppResult<String> {
        let t = terminal.trim().to_ascii_uppercase();
        if ctx.actor.role == Role::TerminalOperator && !ctx.actor.terminals.contains(&t) {
            security_denied(ctx, &format!("terminal/{t}"));
            return Err(invalid(
                "terminal",
                "terminal.not_yours",
                format!("you do not act for terminal {t}"),
            ));
        }
        Ok(t)
    }

    /// A terminal reports a gate or loading event and is told what to do (M3): gate-in of an
    /// export is its arrival in the supervised area (and may release it); gate-out passes only
    /// released goods; loading only released exports.
    pub async fn terminal_event(&self, ctx: &Ctx, input: &TerminalEventInput) -> AppResult<Reply> {
        require_role(ctx, &[Role::TerminalOperator])?;
        let terminal = self.require_own_terminal(ctx, &input.terminal)?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let cn = super::container_no(&input.container_no)?;
        if input.kind == TerminalEventKind::GateIn {
            let before = self.gate_decision(ctx, &cn)?;
            if before.action == GateAction::DirectLoading || before.action == GateAction::Hold {
                // The gate-in is the export's arrival report (运抵).
                let arrival_ctx = Ctx {
                    idempotency: None,
                    ..ctx.clone()
                };
                self.report_arrival(
                    &arrival_ctx,
                    &ArrivalReportInput {
                        terminal: terminal.clone(),
                        bill_no: None,
                        containers: vec![cn.clone()],
                    },
                )
                .await?;
            }
        }
        let decision = self.gate_decision(ctx, &cn)?;
        let entries_released = self.container_released(&cn);
        let allowed = match input.kind {
            TerminalEventKind::GateIn => {
                decision.action != GateAction::Hold || decision.declarations.is_empty()
            }
            TerminalEventKind::GateOut => matches!(
                decision.action,
                GateAction::Proceed | GateAction::ShipSidePickup
            ),
            TerminalEventKind::Loaded => entries_released == Some(Direction::Export),
        };
        let mut decision = decision;
        if input.kind == TerminalEventKind::Loaded && !allowed {
            decision.reason = format!(
                "loading refused: the export is not released ({})",
                decision.reason
            );
        }
        let answer = TerminalEventAnswer {
            kind: input.kind,
            allowed,
            decision: decision.clone(),
        };
        let row = TerminalEventRow {
            id: new_id(),
            terminal: terminal.clone(),
            container_no: cn.clone(),
            kind: input.kind.as_str().into(),
            allowed,
            reason: decision.reason.clone(),
            actor: ctx.actor_label(),
            at: self.now(),
        };
        let audit = self.audit_draft(
            ctx,
            &format!("terminal.{}", input.kind.as_str()),
            &format!("container/{cn}"),
            &format!(
                "{terminal}: {} — {}",
                if allowed { "allowed" } else { "refused" },
                decision.reason
            ),
        );
        self.commit_reply(
            ctx,
            // The truck or the crane is waiting for this answer.
            Changeset::new(vec![Op::InsertTerminalEvents(vec![row])], audit).urgent(),
            200,
            &answer,
            None,
        )
        .await
    }

    /// The direction when every declaration covering the container is released.
    fn container_released(&self, cn: &str) -> Option<Direction> {
        let entries = self.clearance_gate_entries(cn);
        let first = entries.first()?;
        entries
            .iter()
            .all(|e| e.status.is_released())
            .then_some(first.direction)
    }

    /// The unloading list of a manifest for a terminal: each container tagged inspect / no
    /// inspection before unloading (M3 智能标识).
    pub async fn unloading_list(
        &self,
        ctx: &Ctx,
        terminal: &str,
        manifest: Uuid,
    ) -> AppResult<Vec<UnloadingEntry>> {
        require_role(ctx, &[Role::TerminalOperator, Role::Officer, Role::Admin])?;
        self.require_own_terminal(ctx, terminal)?;
        let m = self.get_manifest(ctx, manifest).await?;
        if ctx.actor.role == Role::TerminalOperator
            && !self.operator_ports(&ctx.actor).contains(&m.input.port)
        {
            security_denied(ctx, &format!("manifest/{manifest}"));
            return Err(AppError::NotFound(format!(
                "manifest {manifest} at your terminals"
            )));
        }
        let mut out = Vec::new();
        for (bill_no, container_no) in self.store.manifest_containers(manifest).await? {
            let decision = super::clearance::decide_gate(
                container_no.clone(),
                &self.clearance_gate_entries(&container_no),
            );
            out.push(UnloadingEntry {
                bill_no,
                inspect: decision.action == GateAction::ToInspection,
                container_no,
                decision,
            });
        }
        Ok(out)
    }
}

pub use tongguan_api::{CuscarImport, CuscarParams};

impl App {
    /// Files the manifests of an UN/EDIFACT CUSCAR D.96B interchange (M2/M8 data exchange);
    /// every malformed segment is refused with its position, and nothing is stored unless the
    /// whole interchange is good.
    pub async fn import_cuscar(
        &self,
        ctx: &Ctx,
        params: &CuscarParams,
        text: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::EnterpriseUser, Role::Broker])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let interchange = tongguan_edifact::parse_cuscar(text).map_err(|e| {
            let path = e
                .segment()
                .map_or("body".to_string(), |n| format!("body/segment/{n}"));
            invalid(&path, e.rule(), e.to_string())
        })?;
        let mut v = tongguan_domain::Violations::new();
        let mut manifests = Vec::new();
        let mut warnings = Vec::new();
        for (i, m) in interchange.manifests.into_iter().enumerate() {
            let mut input = m.manifest;
            input.customs = params.customs.trim().to_string();
            manifests.push(
                self.prepare_manifest(ctx, &input, &format!("manifests/{i}"), &mut v)
                    .await?,
            );
            warnings.extend(
                m.warnings
                    .into_iter()
                    .map(|w| format!("message {}: {w}", m.message_ref)),
            );
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let answer = CuscarImport {
            sender: interchange.sender.clone(),
            control_ref: interchange.control_ref.clone(),
            manifests: manifests.clone(),
            warnings,
        };
        let audit = self.audit_draft(
            ctx,
            "manifest.import_cuscar",
            &format!(
                "interchange/{}/{}",
                interchange.sender, interchange.control_ref
            ),
            &format!("{} manifest(s) from CUSCAR", manifests.len()),
        );
        let ops = manifests
            .into_iter()
            .map(|m| Op::InsertManifest(Box::new(m)))
            .collect();
        self.commit_reply(ctx, Changeset::new(ops, audit), 201, &answer, None)
            .await
    }
}
