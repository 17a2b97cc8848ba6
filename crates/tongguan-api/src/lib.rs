//! The HTTP API contract (接口): request and response bodies of `/api/v1`, shared by the
//! server and the typed client so both always agree.
#![forbid(unsafe_code)]

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tongguan_domain::Violation;
use tongguan_domain::identity::Role;
use tongguan_refdata::{DatasetId, RefEntry};
use uuid::Uuid;

use rust_decimal::Decimal;
use tongguan_domain::declaration::DeclarationContent;
use tongguan_domain::lifecycle::{Declaration, InspectionResult, Status};
use tongguan_risk::{ControlAction, ControlInstruction};

pub use tongguan_domain::audit::AuditRecord;
pub use tongguan_domain::enterprise::Enterprise;
pub use tongguan_domain::lifecycle::Event;
pub use tongguan_domain::manifest::{ArrivalReportInput, Bill, Manifest, ManifestInput};
pub use tongguan_refdata::VersionInfo;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub enterprise_id: Option<Uuid>,
    pub district: Option<String>,
    pub terminals: Vec<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Input of `POST /api/v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 3-64 characters: lower-case letters, digits, `.`, `_`, `-`.
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// enterprise_user, broker, officer, terminal_operator or admin.
    pub role: String,
    /// Required for enterprise_user and broker.
    #[serde(default)]
    pub enterprise_id: Option<Uuid>,
    /// Required for officer: a customs district code (关区代码), e.g. 5300.
    #[serde(default)]
    pub district: Option<String>,
    /// Required for terminal_operator: terminal codes, `<UN/LOCODE>` or `<UN/LOCODE>-<terminal>`.
    #[serde(default)]
    pub terminals: Vec<String>,
}

/// An API token or session as listed (without its secret).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new credential with its secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialCreated {
    #[serde(flatten)]
    pub credential: CredentialView,
    /// The bearer secret. `null` when an idempotent retry replays the answer: the secret is
    /// never stored and is shown only once.
    pub secret: Option<String>,
    pub user: UserView,
}

/// Input of `POST /api/v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// Days until the token expires; none for no expiry.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// Input of `POST /api/v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// Input of `POST /api/v1/enterprises`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnterpriseInput {
    /// 企业名称
    pub name: String,
    /// 统一社会信用代码, 18 characters with its GB 32100 check character.
    pub uscc: String,
    /// 海关注册编码, 10 characters.
    pub customs_code: String,
    /// advanced_certified, certified, routine (alias registered), dishonest, seriously_dishonest.
    pub credit_level: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
}

/// Input of `PATCH /api/v1/enterprises/{id}`: only the fields given change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterprisePatch {
    /// The version the change is based on; refused when the record has moved on.
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// Officers and admins only.
    #[serde(default)]
    pub credit_level: Option<String>,
    /// Officers and admins only.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Why; required when the credit level or tags change.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Input of `POST /api/v1/enterprises/{id}/broker-authorisations`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthorisation {
    /// The customs broker enterprise authorised to declare for this enterprise.
    pub broker_id: Uuid,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorisationView {
    pub id: Uuid,
    pub principal_id: Uuid,
    pub broker_id: Uuid,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub in_force: bool,
}

/// Why a change was made, required for decisions.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// Where a new version comes from (`POST /api/v1/reference/{dataset}/versions` query).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NewVersionParams {
    /// Version label, e.g. `2024` for the 2024 tariff list.
    pub label: String,
    /// First day the version is in force.
    pub valid_from: NaiveDate,
    /// Where the data comes from (publication, URL).
    pub source: String,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryPage {
    pub dataset: DatasetId,
    /// The version the answers come from.
    pub version: Option<String>,
    pub total: usize,
    pub entries: Vec<RefEntry>,
}

/// Result of walking the whole chain.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainReport {
    pub ok: bool,
    /// Rows verified before the first break (all rows when ok).
    pub checked: u64,
    /// The first broken link's sequence number.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

/// `application/problem+json` body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable URI of the problem type, e.g. `urn:tongguan:problem:validation`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every rule the request breaks, with the field path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

// --- Clearance core (issue 3) ---

/// What a terminal should do with a container (M3 智能分流).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateAction {
    /// Released: the container may leave.
    Proceed,
    /// Selected for inspection: to the inspection area.
    ToInspection,
    /// Not released: keep it.
    Hold,
    /// 船边直提: an import released before unloading may be picked up at the ship's side.
    ShipSidePickup,
    /// 抵港直装: an export cleared before arrival is loaded straight onto the vessel.
    DirectLoading,
}

/// The answer to a terminal's container query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateDecision {
    pub container_no: String,
    pub action: GateAction,
    pub reason: String,
    /// The declarations covering the container.
    pub declarations: Vec<Uuid>,
}

/// Input of `POST /api/v1/declarations`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeclaration {
    /// The enterprise declared for; required for brokers, defaults to the user's enterprise.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    pub content: DeclarationContent,
    /// Submit at once (otherwise a draft is saved, complete or not).
    #[serde(default)]
    pub submit: bool,
}

/// Input of `PUT /api/v1/declarations/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationEdit {
    /// The version the edit is based on.
    pub version: i64,
    pub content: DeclarationContent,
}

/// An officer's or enterprise's decision with its reason.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub approve: bool,
    pub reason: String,
}

/// An amendment request (修改申请).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentInput {
    pub content: DeclarationContent,
    pub reason: String,
}

/// An inspection result with the release decision.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionInput {
    #[serde(flatten)]
    pub result: InspectionResult,
    /// Release (true) or detain / refer (false).
    pub release: bool,
    pub reason: String,
}

/// Stage 2 of two-stage access: the destination check result.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketAdmissionInput {
    pub passed: bool,
    pub reason: String,
}

/// Two-step step 2: the complete declaration.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    pub content: DeclarationContent,
}

/// Input of instruction creation and change.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionInput {
    pub conditions: tongguan_risk::Conditions,
    pub action: ControlAction,
    /// 0..1.
    #[schema(value_type = String)]
    pub selection_rate: Decimal,
    pub valid_from: DateTime<Utc>,
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    pub reason: String,
    /// For changes: the version the change is based on.
    #[serde(default)]
    pub version: Option<i64>,
}

/// A control instruction as listed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstructionView {
    #[serde(flatten)]
    pub instruction: ControlInstruction,
    pub active: bool,
    pub district: String,
    pub created_by: String,
}

/// A declaration as its reader may see it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclarationView {
    #[serde(flatten)]
    pub declaration: Declaration,
    /// Two-step: days the complete declaration is overdue (0 when not).
    pub complete_overdue_days: i64,
    /// Two-step: the late-declaration fee accrued so far (滞报金) in CNY: 0.5‰ of the customs
    /// value a day overdue, whole yuan, not levied below CNY 50 (Order 273); none when the
    /// customs value in CNY is unknown (no exchange rate for the month).
    #[schema(value_type = Option<String>)]
    pub late_fee: Option<Decimal>,
}

/// Query of the declaration list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeclarationQuery {
    pub status: Option<String>,
    pub bill_no: Option<String>,
    pub container_no: Option<String>,
    /// Created on or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// 状态查询 (M15): the timeline of one declaration, bill of lading or container. Give
/// exactly one of the three.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    pub declaration: Option<Uuid>,
    /// Bill of lading number (提运单号).
    pub bill_no: Option<String>,
    /// ISO 6346 container number.
    pub container_no: Option<String>,
}

/// 查验状态 — whether customs selected the goods for inspection and how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InspectionStatus {
    /// No control instruction or random draw selected the goods.
    NotSelected,
    /// Selected; the goods wait for (or are under) inspection.
    Ordered,
    /// Inspection recorded by an officer.
    Inspected,
}

/// One declaration on a timeline, as it stands now.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineDeclaration {
    pub id: Uuid,
    /// 18-digit customs number (报关单号), once accepted.
    pub customs_no: Option<String>,
    /// Current status (snake_case, as in events).
    pub status: Status,
    pub inspection: InspectionStatus,
    pub released_at: Option<DateTime<Utc>>,
}

/// The full timeline of what was asked for: current status of every declaration the caller
/// may see on it, when the goods arrived, and every status change, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Timeline {
    /// What was asked for: `declaration/<id>`, `bill/<no>` or `container/<no>`.
    pub subject: String,
    /// When the terminal reported the goods arrived (运抵), if it has.
    pub arrived_at: Option<DateTime<Utc>>,
    pub declarations: Vec<TimelineDeclaration>,
    pub events: Vec<Event>,
}

/// The result of an arrival report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArrivalOutcome {
    pub report_id: Uuid,
    /// Declarations released by this report (秒放).
    pub released: Vec<Uuid>,
    /// Declarations that wait for inspection.
    pub to_inspection: Vec<Uuid>,
    /// Declarations whose arrival was recorded without a status change.
    pub recorded: Vec<Uuid>,
    /// Declarations on the bill or containers cleared at other ports: not this terminal's to
    /// report.
    pub other_ports: usize,
}

// --- Taxes, exchange rates and guarantees (issue 4) ---

/// Input of `PUT /api/v1/exchange-rates/{currency}/{month}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateInput {
    /// CNY per one unit of the currency (计征汇率), e.g. `7.1058` for USD.
    #[schema(value_type = String)]
    pub cny_per_unit: Decimal,
    /// Where the figure comes from (the GACC monthly notice).
    pub source: String,
}

/// A month's customs exchange rate.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExchangeRateView {
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    #[schema(value_type = String)]
    pub cny_per_unit: Decimal,
    pub source: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// Kinds of tax guarantee (税款担保).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuaranteeKind {
    /// 银行保函 — a bank's letter of guarantee (GACC Ann. 2017 No. 45).
    BankGuarantee,
    /// 关税保证保险 — tariff guarantee insurance (GACC Ann. 2018 No. 155).
    Insurance,
    /// 保证金 — a cash deposit (海关事务担保条例 Art. 5).
    CashDeposit,
}

/// Input of `POST /api/v1/enterprises/{id}/guarantees`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuaranteeInput {
    pub kind: GuaranteeKind,
    /// The bank or insurer.
    pub issuer: String,
    /// The guarantee's own number.
    pub number: String,
    /// The guaranteed amount in CNY.
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// Status of a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuaranteeStatus {
    Pending,
    Approved,
    Rejected,
}

impl GuaranteeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GuaranteeStatus::Pending => "pending",
            GuaranteeStatus::Approved => "approved",
            GuaranteeStatus::Rejected => "rejected",
        }
    }
}

/// A registered tax guarantee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuaranteeView {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    #[serde(flatten)]
    pub input: GuaranteeInput,
    pub status: GuaranteeStatus,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// A reservation of quota for an accepted, unreleased declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReservationView {
    /// `declaration/<id>`.
    pub reference: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub at: DateTime<Utc>,
}

/// Status of a monthly consolidated-tax statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    /// The month is still running or the due date has not passed.
    Open,
    Paid,
    /// Unpaid after the due date: late-payment surcharge accrues; the mode is suspended.
    Overdue,
}

/// A month's consolidated-tax statement (汇总征税 月度汇总).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementView {
    /// `YYYY-MM`: the month the goods were released.
    pub month: String,
    /// Taxes of the declarations released in the month.
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub paid: Decimal,
    #[schema(value_type = String)]
    pub unpaid: Decimal,
    /// End of the 5th working day of the next month (State Council calendar); none when
    /// that year's calendar is not loaded — then `due_date_note` says so.
    pub due_date: Option<NaiveDate>,
    /// Why `due_date` is not known (e.g. next year's holiday notice not published or not
    /// loaded); the statement cannot fall overdue until it is.
    #[serde(default)]
    pub due_date_note: Option<String>,
    pub status: StatementStatus,
    pub days_overdue: i64,
    /// Late-payment surcharge (滞纳金): 0.05 % a day of each unpaid amount from the day after
    /// the due date until it is paid (what a late payment accrued stays); not levied below
    /// CNY 50.
    #[schema(value_type = String)]
    pub late_fee: Decimal,
    /// Declarations released in the month.
    pub declarations: Vec<String>,
}

/// An enterprise's consolidated-tax quota and statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuotaView {
    pub enterprise_id: Uuid,
    /// Sum of the approved guarantees in force.
    #[schema(value_type = String)]
    pub quota: Decimal,
    #[schema(value_type = String)]
    pub available: Decimal,
    #[schema(value_type = String)]
    pub reserved: Decimal,
    /// Taxes of released goods not yet paid.
    #[schema(value_type = String)]
    pub owed: Decimal,
    pub reservations: Vec<ReservationView>,
    pub statements: Vec<StatementView>,
    /// Consolidated tax refused (dishonest credit, or an overdue statement).
    pub suspended: bool,
    pub suspension_reason: Option<String>,
}

/// A payment of a monthly statement.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementPaymentInput {
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// Bank transfer or receipt reference.
    pub reference: String,
}

/// A tax payment for a pay-before-release declaration.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// Bank transfer or receipt reference.
    pub reference: String,
}

// --- Ports and terminals (issue 5) ---

pub use tongguan_domain::manifest::{Terminal, TerminalEventKind, TerminalKind};

/// Input of `PUT /api/v1/terminals/{code}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminalInput {
    #[serde(flatten)]
    pub terminal: Terminal,
    /// The version the change is based on (none to create).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A registered terminal with its version.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TerminalView {
    #[serde(flatten)]
    pub terminal: Terminal,
    pub version: i64,
}

/// A combination port (组合港): the hub port and the feeder terminals sharing its code.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CombinationPort {
    pub hub_port: String,
    pub hub_terminals: Vec<String>,
    pub feeder_terminals: Vec<String>,
}

/// A gate or loading event (`POST /api/v1/terminal-events`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminalEventInput {
    pub terminal: String,
    pub container_no: String,
    pub kind: TerminalEventKind,
}

/// The system's answer to a gate or loading event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TerminalEventAnswer {
    pub kind: TerminalEventKind,
    /// May the container pass (gate out) or be loaded?
    pub allowed: bool,
    pub decision: GateDecision,
}

/// One container of an unloading list (理货/卸船清单), tagged before unloading.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnloadingEntry {
    pub bill_no: String,
    pub container_no: String,
    /// To the inspection area (查验) or not.
    pub inspect: bool,
    pub decision: GateDecision,
}

/// The result of a CUSCAR import: the manifests filed, with the parser's warnings.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CuscarImport {
    pub sender: String,
    pub control_ref: String,
    pub manifests: Vec<Manifest>,
    pub warnings: Vec<String>,
}

/// Query of `POST /api/v1/manifests/cuscar`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CuscarParams {
    /// The customs district supervising the port (CUSCAR does not carry it).
    pub customs: String,
}

/// Which messages a webhook subscription receives (M15): all of the owner's, or those of
/// one declaration, bill of lading or container; optionally only some message types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFilter {
    #[serde(default)]
    pub declaration_id: Option<Uuid>,
    /// Bill of lading number (提运单号).
    #[serde(default)]
    pub bill_no: Option<String>,
    /// ISO 6346 container number.
    #[serde(default)]
    pub container_no: Option<String>,
    /// Message types (`declaration.status`, `container.status`, `manifest.filed`,
    /// `arrival.reported`, `gate.decision`, `tax.transfer`, `guarantee.status`,
    /// `certificate.status`); empty: all.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// A new webhook subscription (订阅).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Where messages are POSTed: `http://` or `https://`.
    pub url: String,
    /// The signing secret, `whsec_` followed by base64 of 24 to 64 bytes (Standard
    /// Webhooks); one is generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub filter: SubscriptionFilter,
    /// Terminal operators: the terminal whose messages to send (default: their only one).
    #[serde(default)]
    pub terminal: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// A webhook subscription as its owner sees it. `secret` is shown only when it was just
/// created or rotated.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub filter: SubscriptionFilter,
    pub enterprise_id: Option<Uuid>,
    pub terminal: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub secret: Option<String>,
    /// Older secrets still signing (rotation), until these times.
    pub previous_secrets_expire: Vec<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A new signing secret; the old ones keep signing for the configured grace period.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    #[serde(default)]
    pub secret: Option<String>,
}

/// One attempt to deliver a message (the delivery log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryAttempt {
    pub attempt: i64,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; none when no answer came.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: f64,
}

/// One message owed to a subscription and how its delivery went.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    /// The `webhook-id` header: the same on every attempt and redelivery.
    pub message_id: Uuid,
    pub event_type: String,
    /// The outbox sequence (the SSE `id:`).
    pub sequence: i64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// When this delivery was scheduled (fanned out, redelivered or recovered): retries
    /// are given up three days (`give_up_after_ms`) after it.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The message body as sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Every attempt (only on a single delivery's page).
    #[serde(default)]
    pub log: Vec<DeliveryAttempt>,
}

/// Query of a subscription's delivery log.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<i64>,
}

/// Redeliver every failed message of a subscription from a time on (after re-enabling).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverInput {
    pub since: DateTime<Utc>,
}

/// How many failed deliveries were scheduled again.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recovered {
    pub scheduled: usize,
}

/// A network webhooks may reach although it is loopback, private or link-local
/// (admins only; refused by default against server-side request forgery).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowedNetwork {
    /// CIDR, e.g. `127.0.0.1/32` or `10.20.0.0/16`.
    pub cidr: String,
    pub reason: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

/// An admin's allowance (or removal) of a network for webhooks.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkInput {
    pub cidr: String,
    pub reason: String,
}

/// How the goods travel (运输信息) on a certificate of origin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginTransport {
    /// Vessel, flight or train.
    pub means: String,
    #[serde(default)]
    pub voyage: String,
    #[serde(default)]
    pub departure_date: Option<NaiveDate>,
    /// UN/LOCODE, e.g. `CNYTN`.
    pub port_of_loading: String,
    pub port_of_discharge: String,
}

/// An exporter's application for an RCEP certificate of origin (原产地证书申请, M11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateApplication {
    /// The importing party, ISO alpha-3 (an RCEP party in force on the day).
    pub importing_party: String,
    pub importer_name: String,
    #[serde(default)]
    pub importer_address: String,
    pub invoice_no: String,
    pub invoice_date: NaiveDate,
    /// The invoice's FOB total, when stated: must equal the items' sum.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub total_fob: Option<Decimal>,
    pub transport: OriginTransport,
    pub items: Vec<tongguan_origin::Item>,
}

/// A certificate of origin (or an application returned for its failed checks).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certificate {
    pub id: Uuid,
    /// `approved` (by the rules or an officer), `returned` (checks failed), `revoked`, or
    /// `received` (issued by a partner's authority and registered here).
    pub status: String,
    /// 证书编号, once approved.
    pub number: Option<String>,
    /// 核验码: with the number, anyone can verify the certificate. Shown to its holder.
    pub verification_code: Option<String>,
    pub exporter_id: Option<Uuid>,
    pub exporter_name: String,
    pub exporting_party: String,
    pub application: CertificateApplication,
    /// Every check with its stable code, English and Chinese message and the work shown.
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<serde_json::Value>,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    pub decision_reason: Option<String>,
    pub valid_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// An officer's decision over the rules' outcome (audited with the reason).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateOverride {
    /// True: approve a returned application; false: revoke an approved certificate.
    pub approve: bool,
    pub reason: String,
}

/// A certificate issued by a partner's authority, registered for import-side verification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedCertificate {
    pub number: String,
    pub verification_code: String,
    /// ISO alpha-3 of the issuing (exporting) party.
    pub exporting_party: String,
    pub exporter_name: String,
    pub importer_name: String,
    pub issued_on: NaiveDate,
    pub items: Vec<tongguan_origin::Item>,
}

/// The public verification of a certificate (原产地证书核查).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertificateVerification {
    pub valid: bool,
    /// Why not, or what was checked.
    pub reason: String,
    pub number: String,
    pub exporting_party: Option<String>,
    pub importing_party: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// HS codes and descriptions covered.
    pub items: Vec<VerifiedGood>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifiedGood {
    pub hs_code: String,
    pub description: String,
}

/// Query of the public verification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerificationQuery {
    pub number: String,
    pub code: String,
}

// --- The server's clock (issue 19) ---

/// Input of `PUT /api/v1/admin/clock` (development servers only): `fixed_at` stops the
/// clock at an instant, `offset_seconds` shifts it; neither puts it back to the system's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockInput {
    #[serde(default)]
    pub fixed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub offset_seconds: Option<i64>,
    /// Why (audited), e.g. "training: a statement falling overdue".
    #[serde(default)]
    pub reason: String,
}

/// The server's time and how it is set.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockView {
    /// The time every rule uses.
    pub now: DateTime<Utc>,
    /// The machine's clock.
    pub system_now: DateTime<Utc>,
    /// `system`, `fixed` or `offset`.
    pub setting: String,
    pub fixed_at: Option<DateTime<Utc>>,
    pub offset_seconds: i64,
    /// Whether an admin may set it (development mode).
    pub settable: bool,
}
