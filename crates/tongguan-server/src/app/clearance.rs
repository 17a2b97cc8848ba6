//! The clearance core (通关): declarations, manifests, arrival reports, risk control,
//! inspection, gate decisions (M1, M3, M16).
//!
//! Hot lookups live in memory: the compiled control-instruction set (swapped atomically when
//! an officer changes an instruction; evaluation never touches the database) and the gate
//! index of containers (updated after each commit).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use tongguan_domain::Violations;
use tongguan_domain::codes::{ContainerNumber, Direction};
use tongguan_domain::declaration::{
    CodeLookup, CodeTable, DeclarationContent, validate, validate_summary,
};
use tongguan_domain::identity::{EnterpriseScope, Role};
use tongguan_domain::lifecycle::{
    Command, ControlDecision, Declaration, Event, Status, customs_number,
};
use tongguan_domain::manifest::{ArrivalReportInput, Manifest, ManifestInput, validate_manifest};
use tongguan_refdata::{Catalog, DatasetId};
use tongguan_risk::{Assessment, ControlInstruction, RuleSet, Subject, SubjectItem};
use tongguan_store::{ArrivalReportRow, Changeset, DeclarationFilter, Guard, InstructionRow, Op};
use uuid::Uuid;

pub use tongguan_api::{
    AmendmentInput, ArrivalOutcome, CompleteInput, DecisionInput, DeclarationEdit,
    DeclarationQuery, DeclarationView, GateAction, GateDecision, InspectionInput, InstructionInput,
    InstructionView, MarketAdmissionInput, NewDeclaration, Timeline, TimelineDeclaration,
    TimelineQuery,
};

use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, china_date, invalid, new_id, security_denied};

/// Reference tables for declaration validation, answered by the catalog in force.
pub struct CatalogCodes<'a>(pub &'a Catalog);

impl CodeLookup for CatalogCodes<'_> {
    fn exists(&self, table: CodeTable, code: &str) -> bool {
        let ds = match table {
            CodeTable::TariffLine => DatasetId::TariffLines,
            CodeTable::HsSubheading => {
                return code.len() == 6 && self.0.contains(DatasetId::Hs, code);
            }
            CodeTable::CustomsDistrict => DatasetId::CustomsDistricts,
            CodeTable::Country => DatasetId::Countries,
            CodeTable::Currency => DatasetId::Currencies,
            CodeTable::Port => DatasetId::Ports,
            CodeTable::TradeMode => DatasetId::TradeModes,
            CodeTable::LevyNature => DatasetId::LevyNatures,
            CodeTable::LevyMethod => DatasetId::LevyMethods,
            CodeTable::TransactionTerms => DatasetId::TransactionTerms,
            CodeTable::TransportMode => DatasetId::TransportModes,
            CodeTable::Unit => DatasetId::Units,
            CodeTable::PackagingType => DatasetId::PackagingTypes,
            CodeTable::LicenceCode => DatasetId::LicenceCodes,
        };
        self.0.contains(ds, code)
    }
}

/// The gate index entry of one declaration.
#[derive(Debug, Clone)]
pub(super) struct GateEntry {
    pub(super) declaration_id: Uuid,
    pub(super) direction: Direction,
    pub(super) status: Status,
    control: Option<String>,
    released_at: Option<DateTime<Utc>>,
    arrived_at: Option<DateTime<Utc>>,
    /// The declaration's domestic port (入境/离境口岸): which terminals may ask about it.
    port: String,
}

/// In-memory state of the clearance core.
pub struct Clearance {
    /// The terminal registry (code → version and terminal).
    pub(super) terminals:
        RwLock<Arc<std::collections::BTreeMap<String, (i64, tongguan_domain::manifest::Terminal)>>>,
    rules: RwLock<Arc<RuleSet>>,
    gate: RwLock<HashMap<String, Vec<GateEntry>>>,
    numbers: tokio::sync::Mutex<HashMap<String, u64>>,
}

impl Clearance {
    pub fn new(policy: tongguan_risk::RandomPolicy) -> Clearance {
        Clearance {
            terminals: RwLock::new(Arc::new(Default::default())),
            rules: RwLock::new(Arc::new(RuleSet::compile(Vec::new(), policy))),
            gate: RwLock::new(HashMap::new()),
            numbers: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        match self.rules.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_rules(&self, r: RuleSet) {
        let r = Arc::new(r);
        match self.rules.write() {
            Ok(mut g) => *g = r,
            Err(p) => *p.into_inner() = r,
        }
    }

    fn apply_gate(&self, updates: impl IntoIterator<Item = GateUpdate>) {
        let mut gate = match self.gate.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for u in updates {
            for c in &u.departed {
                if let Some(list) = gate.get_mut(c) {
                    list.retain(|e| e.declaration_id != u.declaration_id);
                    if list.is_empty() {
                        gate.remove(c);
                    }
                }
            }
            for c in u.containers {
                let list = gate.entry(c).or_default();
                list.retain(|e| e.declaration_id != u.declaration_id);
                if let Some(entry) = &u.entry {
                    list.push(entry.clone());
                }
            }
        }
    }
}

/// What a declaration changes in the gate index, taken before the declaration moves into
/// its write and applied once that is committed (so the write need not copy it).
struct GateUpdate {
    declaration_id: Uuid,
    containers: Vec<String>,
    /// Containers the declaration no longer covers (removed by an edit, an approved
    /// amendment or the complete declaration): terminals must stop hearing of it for them.
    departed: Vec<String>,
    /// None for a draft: terminals learn nothing of it.
    entry: Option<GateEntry>,
}

impl GateUpdate {
    /// A stored declaration's entry, as the index is rebuilt at start (never a draft).
    fn from_row(r: tongguan_store::GateRow) -> GateUpdate {
        GateUpdate {
            declaration_id: r.declaration_id,
            containers: r.containers,
            departed: Vec::new(),
            entry: Some(GateEntry {
                declaration_id: r.declaration_id,
                direction: r.direction,
                status: r.status,
                control: r.control_action,
                released_at: r.released_at,
                arrived_at: r.arrived_at,
                port: r.port,
            }),
        }
    }

    fn of(d: &Declaration) -> GateUpdate {
        GateUpdate {
            declaration_id: d.id,
            containers: d.content.containers(),
            departed: Vec::new(),
            entry: (d.status != Status::Draft).then(|| GateEntry {
                declaration_id: d.id,
                direction: d.content.direction,
                status: d.status,
                control: d.control.as_ref().map(|c| c.action.clone()),
                released_at: d.released_at,
                arrived_at: d.arrived_at,
                port: d.content.head.domestic_port.trim().to_ascii_uppercase(),
            }),
        }
    }
}

/// What the store knows about the arrival of a declaration's goods.
struct ArrivalFacts {
    /// The bill, or every container, was reported in the supervised area.
    arrived_at: Option<DateTime<Utc>>,
    /// The transport means' arrival (manifest), for the two-step due date.
    transport_arrival: Option<DateTime<Utc>>,
    eta: Option<DateTime<Utc>>,
    bill_on_manifest: bool,
}

/// The conflict rule of a failed arrival guard: what was read changed; decide again.
const ARRIVAL_CHANGED: &str = "arrival.changed";

/// Attempts at a decision whose inputs changed before its commit (an arrival report, or the
/// quota ledger moved by a concurrent reservation). Each attempt reads afresh.
const MAX_ATTEMPTS: u32 = 12;

/// Containers of one arrival report whose reads run together (two reads each, each on a
/// pooled connection on PostgreSQL).
const CONTAINER_READS_AT_ONCE: usize = 4;

/// Conflicts that mean "read again and decide again", not "refuse".
fn retryable(rule: &str) -> bool {
    rule == ARRIVAL_CHANGED || rule == "version.stale"
}

/// How a declaration change is committed.
struct Record<'a> {
    expected_version: i64,
    events: Vec<Event>,
    before: Status,
    action: &'static str,
    reason: &'a str,
    /// The containers before a change that may rewrite them (an edit, an approved
    /// amendment, the complete declaration); `None` when they stay.
    containers_before: Option<Vec<String>>,
    /// Further ops committed with the change (guards, ledger postings).
    extra: Vec<Op>,
}

/// One lifecycle step: who may take it, the command, and how it is recorded.
struct Step<'a> {
    roles: &'a [Role],
    cmd: Command,
    reason: &'a str,
    action: &'static str,
    replace_containers: bool,
}

fn refusal(r: tongguan_domain::lifecycle::Refusal) -> AppError {
    invalid("status", r.rule, r.message)
}

fn require_reason(reason: &str) -> AppResult<String> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(invalid(
            "reason",
            "reason.required",
            "give the reason for this decision",
        ));
    }
    Ok(r.to_string())
}

impl App {
    /// Loads control instructions and the gate index at start.
    pub(super) async fn start_clearance(&self) -> AppResult<()> {
        self.recompile_rules().await?;
        let rows = self.store.gate_index_rows().await?;
        self.clearance
            .apply_gate(rows.into_iter().map(GateUpdate::from_row));
        Ok(())
    }

    async fn recompile_rules(&self) -> AppResult<()> {
        let mut instructions = Vec::new();
        for row in self.store.instructions(true).await? {
            match serde_json::from_str::<ControlInstruction>(&row.body) {
                Ok(i) => instructions.push(i),
                Err(e) => {
                    tracing::error!(id = %row.id, error = %e, "unreadable control instruction skipped")
                }
            }
        }
        let rules = RuleSet::compile(instructions, self.config.clearance.random_selection.clone());
        for s in rules.skipped() {
            tracing::warn!(id = %s.instruction_id, "control instruction skipped: {:?}", s.because);
        }
        self.clearance.set_rules(rules);
        Ok(())
    }

    /// The next customs (or pre-entry) number for a customs code, year and direction.
    async fn next_number(
        &self,
        customs: &str,
        year: i32,
        direction: Direction,
        pre_entry: bool,
    ) -> AppResult<String> {
        let prefix = customs_number(customs, year, direction, 0)[..9].to_string();
        let key = format!("{}{prefix}", if pre_entry { "p" } else { "c" });
        let mut numbers = self.clearance.numbers.lock().await;
        if !numbers.contains_key(&key) {
            let max = self.store.max_number(&prefix, pre_entry).await?;
            let seed = max
                .as_deref()
                .and_then(|n| n.get(9..))
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            numbers.insert(key.clone(), seed);
        }
        let n = numbers.entry(key).or_insert(0);
        *n += 1;
        Ok(customs_number(customs, year, direction, *n))
    }

    fn can_see(&self, ctx: &Ctx, scope: &EnterpriseScope, d: &Declaration) -> bool {
        match ctx.actor.role {
            Role::Admin => true,
            Role::Officer => ctx.actor.district.as_ref().is_some_and(|dist| {
                [
                    &d.content.head.port_customs,
                    &d.content.head.declaring_customs,
                ]
                .iter()
                .any(|c| {
                    tongguan_domain::codes::CustomsDistrictCode::parse(c)
                        .is_ok_and(|c| dist.covers(&c))
                })
            }),
            // The owner, and a broker while the owner's authorisation is in force.
            Role::EnterpriseUser | Role::Broker => scope.allows(d.owner_id),
            Role::TerminalOperator => false,
        }
    }

    async fn visible_declaration(&self, ctx: &Ctx, id: Uuid) -> AppResult<Declaration> {
        let scope = self.scope(ctx).await?;
        match self.store.declaration(id).await? {
            Some(d) if self.can_see(ctx, &scope, &d) => Ok(d),
            Some(_) => {
                security_denied(ctx, &format!("declaration/{id}"));
                Err(AppError::NotFound(format!("declaration {id}")))
            }
            None => Err(AppError::NotFound(format!("declaration {id}"))),
        }
    }

    /// The customs value in CNY: from the tax breakdown, else the item totals converted at
    /// the customs rate of the month of acceptance; none without a rate.
    fn customs_value_cny(&self, d: &Declaration) -> Option<Decimal> {
        let from_breakdown = d
            .tax
            .as_ref()
            .and_then(|t| t.breakdown.as_ref())
            .and_then(|b| b.get("customs_value_cny"))
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<Decimal>().ok());
        from_breakdown.or_else(|| {
            let on = china_date(d.accepted_at.unwrap_or(d.created_at));
            let rates = self.taxes.rates();
            d.content
                .items
                .iter()
                .map(|i| rates.rate_on(&i.currency, on).map(|r| i.total_price * r))
                .sum::<Option<Decimal>>()
        })
    }

    pub fn declaration_view(&self, ctx: &Ctx, mut d: Declaration) -> DeclarationView {
        if !matches!(ctx.actor.role, Role::Officer | Role::Admin) {
            // Risk explanations are customs' own: enterprises see the action, not the rules.
            d.assessment = None;
            if let Some(c) = d.control.as_mut() {
                c.reason = "selected by customs risk control".into();
            }
        }
        let overdue = d.complete_overdue_days(self.today());
        let late_fee = (overdue > 0)
            .then(|| self.customs_value_cny(&d))
            .flatten()
            .map(|value| {
                // Order 273: 0.5‰ of the customs value a day, fractions of a yuan dropped, not
                // levied below the threshold.
                let fee = (value
                    * self.config.clearance.late_declaration_fee_per_day
                    * Decimal::from(overdue))
                .floor();
                if fee < self.config.clearance.late_declaration_fee_minimum_cny {
                    Decimal::ZERO
                } else {
                    fee
                }
            });
        DeclarationView {
            declaration: d,
            complete_overdue_days: overdue,
            late_fee,
        }
    }

    /// The owner enterprise of a new declaration and the declarant acting for it.
    async fn parties(
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
    fn validate_complete(
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
    async fn arrival_facts(&self, c: &DeclarationContent) -> AppResult<ArrivalFacts> {
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
    async fn submit_events(
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
            let no = super::container_no(raw)?;
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
            .map(super::container_no)
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

    /// Runs one lifecycle command on a declaration the actor may act on, and commits it.
    async fn transition(&self, ctx: &Ctx, id: Uuid, step: Step<'_>) -> AppResult<Reply> {
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

    async fn commit_declaration(
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

    /// The payment step of pay-before-release (see `App::record_payment`).
    pub(super) async fn transition_payment(
        &self,
        ctx: &Ctx,
        id: Uuid,
        reference: &str,
    ) -> AppResult<Reply> {
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::RecordPayment {
                    reference: reference.to_string(),
                },
                reason: "taxes paid",
                action: "declaration.tax_paid",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn request_cancellation(
        &self,
        ctx: &Ctx,
        id: Uuid,
        reason: &str,
    ) -> AppResult<Reply> {
        let reason = require_reason(reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::RequestCancellation,
                reason: &reason,
                action: "declaration.cancel_request",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn request_amendment(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &AmendmentInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        let d = self.visible_declaration(ctx, id).await?;
        let owner = self
            .store
            .enterprise(d.owner_id)
            .await?
            .ok_or_else(|| AppError::NotFound("owner".into()))?;
        self.validate_complete(&input.content, &owner)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::RequestAmendment {
                    content: Box::new(input.content.clone()),
                },
                reason: &reason,
                action: "declaration.amend_request",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn decide_request(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &DecisionInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::DecideRequest {
                    approve: input.approve,
                },
                reason: &reason,
                action: "declaration.decide_request",
                replace_containers: input.approve,
            },
        )
        .await
    }

    pub async fn return_declaration(&self, ctx: &Ctx, id: Uuid, reason: &str) -> AppResult<Reply> {
        let reason = require_reason(reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::ReturnForCorrection,
                reason: &reason,
                action: "declaration.return",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn record_inspection(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &InspectionInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        let cmd = Command::RecordInspection {
            result: input.result.clone(),
            release: input.release,
        };
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd,
                reason: &reason,
                action: "declaration.inspection",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn admit_to_market(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &MarketAdmissionInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::AdmitToMarket {
                    passed: input.passed,
                },
                reason: &reason,
                action: "declaration.market_admission",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn complete_declaration(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &CompleteInput,
    ) -> AppResult<Reply> {
        let d = self.visible_declaration(ctx, id).await?;
        let owner = self
            .store
            .enterprise(d.owner_id)
            .await?
            .ok_or_else(|| AppError::NotFound("owner".into()))?;
        let mut content = input.content.clone();
        // The complete declaration keeps the summary's modes and bill.
        content.head.modes = d.content.head.modes;
        self.validate_complete(&content, &owner)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::CompleteDeclaration {
                    content: Box::new(content),
                },
                reason: "complete declaration (完整申报)",
                action: "declaration.complete",
                replace_containers: true,
            },
        )
        .await
    }

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
    pub(super) async fn prepare_manifest(
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

    async fn report_arrival_once(&self, ctx: &Ctx, input: &ArrivalReportInput) -> AppResult<Reply> {
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

    /// The gate index entries of a container.
    pub(super) fn clearance_gate_entries(&self, cn: &str) -> Vec<GateEntry> {
        let gate = match self.clearance.gate.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        gate.get(cn).cloned().unwrap_or_default()
    }

    /// What a terminal does with a container, answered from memory (M3).
    pub fn gate_decision(&self, ctx: &Ctx, container: &str) -> AppResult<GateDecision> {
        require_role(ctx, &[Role::TerminalOperator, Role::Officer, Role::Admin])?;
        let cn = super::container_no(container)?;
        let gate = match self.clearance.gate.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let entries = gate.get(&cn).cloned().unwrap_or_default();
        drop(gate);
        if ctx.actor.role == Role::TerminalOperator && !entries.is_empty() {
            let ports = self.operator_ports(&ctx.actor);
            if !entries.iter().any(|e| ports.contains(&e.port)) {
                security_denied(ctx, &format!("container/{cn}"));
                return Err(AppError::NotFound(format!(
                    "container {cn} at your terminals"
                )));
            }
        }
        Ok(decide_gate(cn, &entries))
    }

    pub fn instruction_view(row: &InstructionRow) -> AppResult<InstructionView> {
        Ok(InstructionView {
            instruction: serde_json::from_str(&row.body)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            active: row.active,
            district: row.district.clone(),
            created_by: row.created_by.clone(),
        })
    }

    pub async fn list_instructions(&self, ctx: &Ctx) -> AppResult<Vec<InstructionView>> {
        require_role(ctx, &[Role::Officer, Role::Admin])?;
        self.store
            .instructions(false)
            .await?
            .iter()
            .map(Self::instruction_view)
            .collect()
    }

    /// Officers create control instructions; the compiled set is swapped after commit.
    pub async fn create_instruction(
        &self,
        ctx: &Ctx,
        input: &InstructionInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let now = self.now();
        let instr = ControlInstruction {
            id: new_id(),
            conditions: input.conditions.clone(),
            action: input.action,
            selection_rate: input.selection_rate,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            reason: input.reason.trim().to_string(),
            version: 1,
        };
        tongguan_risk::validate(&instr)?;
        let row = InstructionRow {
            id: instr.id,
            version: 1,
            active: true,
            district: ctx
                .actor
                .district
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            created_by: ctx.actor_label(),
            created_at: now,
            updated_at: now,
            body: serde_json::to_string(&instr).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let view = Self::instruction_view(&row)?;
        let audit = self.audit_draft(
            ctx,
            "instruction.create",
            &format!("instruction/{}", instr.id),
            &instr.reason,
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(vec![Op::InsertInstruction(row)], audit),
                201,
                &view,
                None,
            )
            .await?;
        self.recompile_rules().await?;
        Ok(reply)
    }

    /// Changes (when `input` is given) or revokes an instruction.
    pub async fn change_instruction(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: Option<&InstructionInput>,
        revoke_reason: Option<&str>,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let row = self
            .store
            .instruction(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("control instruction {id}")))?;
        let mut instr: ControlInstruction =
            serde_json::from_str(&row.body).map_err(|e| AppError::Internal(e.to_string()))?;
        if !row.active {
            return Err(invalid(
                "id",
                "instruction.revoked",
                "this instruction was revoked",
            ));
        }
        let (action, reason) = match (input, revoke_reason) {
            (Some(i), _) => {
                if let Some(v) = i.version
                    && v != row.version
                {
                    return Err(invalid(
                        "version",
                        "version.stale",
                        format!("the instruction is at version {}", row.version),
                    ));
                }
                instr.conditions = i.conditions.clone();
                instr.action = i.action;
                instr.selection_rate = i.selection_rate;
                instr.valid_from = i.valid_from;
                instr.valid_until = i.valid_until;
                instr.reason = i.reason.trim().to_string();
                instr.version = row.version + 1;
                tongguan_risk::validate(&instr)?;
                ("instruction.change", instr.reason.clone())
            }
            (None, Some(r)) => ("instruction.revoke", require_reason(r)?),
            (None, None) => return Err(invalid("reason", "reason.required", "give the reason")),
        };
        let next = InstructionRow {
            version: row.version + 1,
            active: input.is_some(),
            updated_at: self.now(),
            body: serde_json::to_string(&instr).map_err(|e| AppError::Internal(e.to_string()))?,
            ..row.clone()
        };
        let view = Self::instruction_view(&next)?;
        let audit = self.audit_draft(ctx, action, &format!("instruction/{id}"), &reason);
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(
                    vec![Op::UpdateInstruction {
                        row: next,
                        expected_version: row.version,
                    }],
                    audit,
                ),
                200,
                &view,
                None,
            )
            .await?;
        self.recompile_rules().await?;
        Ok(reply)
    }

    /// Evaluates the current instruction set on a stored declaration (officers), to see why
    /// it would be selected now.
    pub fn rules_in_force(&self) -> Arc<RuleSet> {
        self.clearance.rules()
    }
}

/// A one-line summary of why a declaration was selected.
fn explain(a: &Assessment) -> String {
    let mut parts: Vec<String> = a
        .selected_hits()
        .map(|h| {
            format!(
                "instruction {} ({}): {}",
                h.instruction_id,
                h.reason,
                h.matched.join("; ")
            )
        })
        .collect();
    if a.random.selected {
        parts.push(format!(
            "random selection at {} for credit level {} (draw {})",
            a.random.effective_rate,
            a.random.credit_level.as_str(),
            a.random.draw
        ));
    }
    parts.join(" | ")
}

/// The gate rule (M3): hold anything not released; send selected goods to inspection;
/// an import released by its arrival report may be picked up at the ship's side; an export
/// accepted before arrival with nothing selected is loaded straight onto the vessel.
pub(super) fn decide_gate(container_no: String, entries: &[GateEntry]) -> GateDecision {
    let declarations: Vec<Uuid> = entries.iter().map(|e| e.declaration_id).collect();
    let answer = |action, reason: String| GateDecision {
        container_no: container_no.clone(),
        action,
        reason,
        declarations: declarations.clone(),
    };
    if entries.is_empty() {
        return answer(
            GateAction::Hold,
            "no accepted declaration covers this container".into(),
        );
    }
    if let Some(e) = entries
        .iter()
        .find(|e| matches!(e.status, Status::InspectionOrdered | Status::Inspected))
    {
        return answer(
            GateAction::ToInspection,
            format!(
                "declaration {} is selected for {}",
                e.declaration_id,
                e.control.as_deref().unwrap_or("inspection")
            ),
        );
    }
    let direct_export = entries.iter().all(|e| {
        e.direction == Direction::Export
            && (e.status == Status::AwaitingArrival
                || (e.status.is_released() && e.released_at == e.arrived_at))
    });
    if direct_export {
        return answer(
            GateAction::DirectLoading,
            "export cleared before arrival with no control instruction: load directly (抵港直装)"
                .into(),
        );
    }
    if let Some(e) = entries.iter().find(|e| !e.status.is_released()) {
        return answer(
            GateAction::Hold,
            format!(
                "declaration {} is {}, not released",
                e.declaration_id,
                e.status.as_str()
            ),
        );
    }
    let before_unloading = entries.iter().all(|e| {
        e.direction == Direction::Import && e.released_at.is_some() && e.released_at == e.arrived_at
    });
    if before_unloading {
        return answer(
            GateAction::ShipSidePickup,
            "released on arrival before unloading: ship-side pickup allowed (船边直提)".into(),
        );
    }
    let conditional = entries
        .iter()
        .any(|e| e.status == Status::AdmittedToTerritory);
    answer(
        GateAction::Proceed,
        if conditional {
            "admitted to territory: may leave the port under conditions, not be sold or used (附条件提离)".into()
        } else {
            "released".into()
        },
    )
}

/// The due date of a two-step complete declaration given the transport arrival date.
/// Who reads declaration timelines and the status feed: terminals plan on the gate decision
/// instead (their feed comes with the subscriptions of issue 6).
const STATUS_READERS: &[Role] = &[
    Role::EnterpriseUser,
    Role::Broker,
    Role::Officer,
    Role::Admin,
];

/// Inspection status from the events: the last selection or inspection decides, so an
/// amended and re-selected declaration shows the new order.
fn inspection_status(events: &[Event]) -> tongguan_api::InspectionStatus {
    use tongguan_api::InspectionStatus;
    use tongguan_domain::lifecycle::EventKind;
    events
        .iter()
        .rev()
        .find_map(|e| match e.kind {
            EventKind::InspectionOrdered { .. } => Some(InspectionStatus::Ordered),
            EventKind::Inspected { .. } => Some(InspectionStatus::Inspected),
            _ => None,
        })
        .unwrap_or(InspectionStatus::NotSelected)
}

pub fn complete_due(arrival: NaiveDate, days: i64) -> NaiveDate {
    arrival + Duration::days(days)
}
