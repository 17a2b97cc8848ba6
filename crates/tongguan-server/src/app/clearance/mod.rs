//! The clearance core (通关): declarations, manifests, arrival reports, risk control,
//! inspection, gate decisions (M1, M3, M16).
//!
//! Hot lookups live in memory: the compiled control-instruction set (swapped atomically when
//! an officer changes an instruction; evaluation never touches the database) and the gate
//! index of containers (updated after each commit).

mod arrivals;
mod decisions;
mod declarations;
mod gate;
mod queries;

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
