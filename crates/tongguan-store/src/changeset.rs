//! What a write consists of: typed ops (turned into SQL statements shared by both backends),
//! audit drafts the writer seals into the chain, and the idempotency record of the call.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tongguan_domain::audit::AuditDraft;
use tongguan_domain::codes::CustomsDistrictCode;
use tongguan_domain::enterprise::Enterprise;
use tongguan_domain::identity::Role;
use tongguan_domain::lifecycle::{Declaration, Event};
use tongguan_domain::manifest::Manifest;
use tongguan_refdata::DatasetVersion;
use uuid::Uuid;

use crate::Val;

/// A user account (用户).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub enterprise_id: Option<Uuid>,
    pub district: Option<CustomsDistrictCode>,
    pub terminals: Vec<String>,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A bearer token for programs, created by its user, revocable.
    ApiToken,
    /// A browser session cookie.
    Session,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiToken => "api_token",
            CredentialKind::Session => "session",
        }
    }
}

/// An API token or session; only the SHA-256 of the secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: CredentialKind,
    pub name: String,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An enterprise's authorisation of a customs broker to declare for it (委托报关).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAuthorisation {
    pub id: Uuid,
    /// The authorising enterprise (委托方).
    pub principal_id: Uuid,
    /// The broker enterprise (报关企业).
    pub broker_id: Uuid,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub reason: String,
}

impl BrokerAuthorisation {
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.revoked_at.is_none()
            && self.valid_from <= on
            && self.valid_until.is_none_or(|u| on <= u)
    }
}

/// The stored answer to a mutating call, replayed when the same key comes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub actor_id: Uuid,
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A reference data version as stored.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub id: Uuid,
    /// Load order.
    pub seq: i64,
    pub version: DatasetVersion,
    /// Shipped inside the binary (vs. loaded by an admin).
    pub shipped: bool,
    pub loaded_at: DateTime<Utc>,
    pub loaded_by: String,
}

/// One write operation.
#[derive(Debug, Clone)]
pub enum Op {
    InsertEnterprise(Enterprise),
    /// Replace an enterprise whose stored version is `expected_version`.
    UpdateEnterprise {
        enterprise: Enterprise,
        expected_version: i64,
    },
    InsertUser(UserRecord),
    UpdateUser {
        user: UserRecord,
        expected_version: i64,
    },
    InsertCredential(CredentialRecord),
    RevokeCredential {
        id: Uuid,
        at: DateTime<Utc>,
    },
    InsertBrokerAuthorisation(BrokerAuthorisation),
    RevokeBrokerAuthorisation {
        id: Uuid,
        at: DateTime<Utc>,
    },
    InsertRefVersion(Box<StoredVersion>),
    InsertDeclaration(Box<Declaration>),
    /// Replace a declaration stored at `expected_version`; `replace_containers` rewrites its
    /// container index (after an edit or amendment).
    UpdateDeclaration {
        declaration: Box<Declaration>,
        expected_version: i64,
        replace_containers: bool,
    },
    InsertEvents(Vec<Event>),
    InsertManifest(Box<Manifest>),
    /// The transport means arrived (first arrival report on its bills).
    MarkManifestArrived {
        id: Uuid,
        at: DateTime<Utc>,
    },
    /// The bill arrived on the leg of this manifest.
    MarkBillArrived {
        bill_no: String,
        manifest_id: Uuid,
        at: DateTime<Utc>,
    },
    /// A container reported in the supervised area; the first report counts.
    InsertContainerArrival {
        container_no: String,
        terminal: String,
        at: DateTime<Utc>,
    },
    InsertArrivalReport(ArrivalReportRow),
    InsertInstruction(InstructionRow),
    UpdateInstruction {
        row: InstructionRow,
        expected_version: i64,
    },
    /// A condition checked inside the transaction, after the other ops: if it fails, the
    /// changeset fails with [`crate::StoreError::Precondition`] and the caller decides again.
    Guard(Guard),
    InsertTariffVersion(Box<TariffVersionRow>),
    /// Sets (or replaces) a month's customs exchange rate.
    UpsertExchangeRate(ExchangeRateRow),
    /// Inserts (`expected_version` none) or replaces a JSON document row of one of the tax
    /// tables at its expected version.
    PutDocument {
        table: DocTable,
        row: DocumentRow,
        expected_version: Option<i64>,
    },
    /// Inserts or replaces an enterprise's ledger state at its expected version (none: new).
    PutLedger {
        enterprise_id: Uuid,
        version: i64,
        expected_version: Option<i64>,
        state: String,
    },
    InsertLedgerTransfers(Vec<LedgerTransferRow>),
    /// Inserts (`expected_version` none) or replaces a terminal (JSON body).
    PutTerminal {
        code: String,
        version: i64,
        expected_version: Option<i64>,
        body: String,
    },
    InsertTerminalEvents(Vec<TerminalEventRow>),
    /// Status events for the outbox (M15), in the transaction of the change they report.
    InsertOutbox(Vec<crate::OutboxRow>),
    /// Moves a reader's position in the outbox.
    SetOutboxCursor {
        name: String,
        seq: i64,
    },
    /// Inserts (`expected_version` none) or replaces a webhook subscription.
    PutSubscription {
        row: crate::SubscriptionRow,
        expected_version: Option<i64>,
    },
    InsertDeliveries(Vec<crate::DeliveryRow>),
    UpdateDeliveries(Vec<crate::DeliveryRow>),
    InsertAttempts(Vec<crate::AttemptRow>),
    PutAllowlist(crate::AllowlistRow),
    DeleteAllowlist(String),
}

/// A gate, loading or unloading event reported by a terminal, with the system's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalEventRow {
    pub id: Uuid,
    pub terminal: String,
    pub container_no: String,
    pub kind: String,
    pub allowed: bool,
    pub reason: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// A stored tariff table version (the documented CSV, parsed at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffVersionRow {
    pub id: Uuid,
    pub seq: i64,
    pub label: String,
    pub valid_from: NaiveDate,
    pub source: String,
    pub shipped: bool,
    pub loaded_at: DateTime<Utc>,
    pub loaded_by: String,
    pub csv: String,
}

/// A month's customs exchange rate (计征汇率).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRateRow {
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    /// CNY per unit, as a decimal string.
    pub cny_per_unit: String,
    pub source: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// Tables holding JSON documents with an enterprise, a status and a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocTable {
    Guarantees,
    /// Certificates of origin; `key` is the certificate number (unique when set).
    OriginCertificates,
    /// Product-specific rule tables loaded by admins; `key` is the label.
    OriginRuleTables,
}

/// A JSON document row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub key: String,
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub body: String,
}

/// One ledger transfer as stored (its JSON), in application order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTransferRow {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub body: String,
}

/// Conditions that close races between decisions made on reads and the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The bill has no arrival report yet.
    BillNotArrived(String),
    /// The container has no arrival report yet.
    ContainerNotArrived(String),
    /// No declaration on this bill cleared at this port still awaits arrival (after this
    /// changeset's updates).
    NoneAwaitingOnBill { bill_no: String, port: String },
    /// No declaration with this container, all of whose containers have arrived, still
    /// awaits arrival (after this changeset's updates).
    NoneAwaitingOnContainer { container_no: String, port: String },
}

/// A stored arrival report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivalReportRow {
    pub id: Uuid,
    pub terminal: String,
    pub bill_no: Option<String>,
    pub containers: Vec<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// A stored control instruction (布控指令); `body` is its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionRow {
    pub id: Uuid,
    pub version: i64,
    pub active: bool,
    /// The customs district of the officer who owns it.
    pub district: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub body: String,
}

/// Everything one call writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct Changeset {
    pub ops: Vec<Op>,
    pub audit: Vec<AuditDraft>,
    pub idempotency: Option<IdempotencyRecord>,
    /// Someone is waiting at a gate for it (an arrival report — 秒放 is timed from the
    /// report — or a gate-in, gate-out or loading event): the writer commits it ahead of
    /// the changesets queued with it.
    pub urgent: bool,
}

impl Changeset {
    pub fn new(ops: Vec<Op>, audit: AuditDraft) -> Self {
        Self {
            ops,
            audit: vec![audit],
            idempotency: None,
            urgent: false,
        }
    }

    /// Commit ahead of the changesets queued with it ([`Changeset::urgent`]).
    pub fn urgent(mut self) -> Self {
        self.urgent = true;
        self
    }

    pub fn with_idempotency(mut self, record: Option<IdempotencyRecord>) -> Self {
        self.idempotency = record;
        self
    }
}

/// What the writer assigned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Audit sequence numbers of this changeset's audit rows.
    pub audit_seqs: Vec<i64>,
}

/// How many rows a statement must touch.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    Any,
    /// Exactly one row, else the error.
    One(fn(&str) -> crate::StoreError, String),
}

#[derive(Debug, Clone)]
pub(crate) enum Statement {
    Exec {
        sql: &'static str,
        params: Vec<Val>,
        expect: Expect,
    },
    /// Many rows into one table; backends batch them.
    Bulk {
        table: &'static str,
        columns: &'static [&'static str],
        rows: Vec<Vec<Val>>,
    },
    /// A query that must return no row, checked after the changeset's other statements.
    Guard {
        sql: &'static str,
        params: Vec<Val>,
        what: String,
    },
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn json<T: Serialize>(v: &T) -> String {
    // Serialising our own plain data types cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

fn version_mismatch(what: &str) -> crate::StoreError {
    crate::StoreError::VersionMismatch {
        what: what.to_string(),
    }
}

fn not_found(what: &str) -> crate::StoreError {
    crate::StoreError::NotFound {
        what: what.to_string(),
    }
}

fn exec(sql: &'static str, params: Vec<Val>) -> Statement {
    Statement::Exec {
        sql,
        params,
        expect: Expect::Any,
    }
}

fn exec_one(
    sql: &'static str,
    params: Vec<Val>,
    err: fn(&str) -> crate::StoreError,
    what: String,
) -> Statement {
    Statement::Exec {
        sql,
        params,
        expect: Expect::One(err, what),
    }
}

fn enterprise_params(e: &Enterprise) -> Vec<Val> {
    vec![
        e.id.to_string().into(),
        e.name.clone().into(),
        e.uscc.to_string().into(),
        e.customs_code.to_string().into(),
        e.credit_level.as_str().into(),
        json(&e.tags).into(),
        e.address.clone().into(),
        e.contact_phone.clone().into(),
        micros(e.created_at).into(),
        micros(e.updated_at).into(),
        e.version.into(),
    ]
}

fn user_params(u: &UserRecord) -> Vec<Val> {
    vec![
        u.id.to_string().into(),
        u.username.clone().into(),
        u.display_name.clone().into(),
        u.role.as_str().into(),
        u.enterprise_id.map(|i| i.to_string()).into(),
        u.district.as_ref().map(|d| d.to_string()).into(),
        json(&u.terminals).into(),
        u.password_hash.clone().into(),
        i64::from(u.disabled).into(),
        micros(u.created_at).into(),
        u.version.into(),
    ]
}

fn declaration_params(d: &Declaration) -> Vec<Val> {
    vec![
        d.id.to_string().into(),
        d.pre_entry_no.clone().into(),
        d.customs_no.clone().into(),
        d.owner_id.to_string().into(),
        d.declarant_id.to_string().into(),
        d.content.direction.as_str().into(),
        d.status.as_str().into(),
        d.content.head.bill_no.trim().to_string().into(),
        d.content.head.declaring_customs.clone().into(),
        d.content.head.port_customs.clone().into(),
        micros(d.created_at).into(),
        micros(d.updated_at).into(),
        d.version.into(),
        crate::packed::pack(&json(d)).into(),
        d.content
            .head
            .domestic_port
            .trim()
            .to_ascii_uppercase()
            .into(),
    ]
}

fn container_rows(d: &Declaration) -> Statement {
    let id = d.id.to_string();
    let mut containers = d.content.containers();
    containers.sort();
    containers.dedup();
    Statement::Bulk {
        table: "declaration_containers",
        columns: &["declaration_id", "container_no"],
        rows: containers
            .into_iter()
            .map(|c| vec![id.clone().into(), c.into()])
            .collect(),
    }
}

fn instruction_params(r: &InstructionRow) -> Vec<Val> {
    vec![
        r.id.to_string().into(),
        r.version.into(),
        i64::from(r.active).into(),
        r.district.clone().into(),
        r.created_by.clone().into(),
        micros(r.created_at).into(),
        micros(r.updated_at).into(),
        r.body.clone().into(),
    ]
}

impl Op {
    /// The statements of this op, moving the large strings of the ops every submission
    /// carries instead of copying them.
    pub(crate) fn into_statements(self, out: &mut Vec<Statement>) {
        match self {
            Op::InsertOutbox(rows) => out.push(crate::outbox::outbox_rows(rows)),
            op => op.statements(out),
        }
    }

    /// The borrowed form behind [`Op::into_statements`] for the ops it does not move (its
    /// `InsertOutbox` arm is there for completeness; `into_statements` moves those rows).
    fn statements(&self, out: &mut Vec<Statement>) {
        match self {
            Op::InsertDeclaration(d) => {
                out.push(exec(
                    "INSERT INTO declarations (id, pre_entry_no, customs_no, owner_id, declarant_id, direction, status, bill_no, declaring_customs, port_customs, created_at, updated_at, version, body, domestic_port) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    declaration_params(d),
                ));
                out.push(container_rows(d));
            }
            Op::UpdateDeclaration {
                declaration,
                expected_version,
                replace_containers,
            } => {
                let mut p = declaration_params(declaration);
                p.push((*expected_version).into());
                out.push(exec_one(
                    "UPDATE declarations SET id = $1, pre_entry_no = $2, customs_no = $3, owner_id = $4, declarant_id = $5, direction = $6, status = $7, bill_no = $8, declaring_customs = $9, port_customs = $10, created_at = $11, updated_at = $12, version = $13, body = $14, domestic_port = $15 WHERE id = $1 AND version = $16",
                    p,
                    version_mismatch,
                    format!("declaration {}", declaration.id),
                ));
                if *replace_containers {
                    out.push(exec(
                        "DELETE FROM declaration_containers WHERE declaration_id = $1",
                        vec![declaration.id.to_string().into()],
                    ));
                    out.push(container_rows(declaration));
                }
            }
            Op::InsertEvents(events) => out.push(Statement::Bulk {
                table: "declaration_events",
                columns: &["declaration_id", "at", "actor", "reason", "from_status", "to_status", "kind", "data"],
                rows: events
                    .iter()
                    .map(|e| {
                        vec![
                            e.declaration_id.to_string().into(),
                            micros(e.at).into(),
                            e.actor.clone().into(),
                            e.reason.clone().into(),
                            e.from.as_str().into(),
                            e.to.as_str().into(),
                            e.kind.name().into(),
                            json(&e.kind).into(),
                        ]
                    })
                    .collect(),
            }),
            Op::InsertManifest(m) => {
                out.push(exec(
                    "INSERT INTO manifests (id, direction, transport_means, voyage, filed_by, eta, arrived_at, created_at, body, port) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    vec![
                        m.id.to_string().into(),
                        m.input.direction.as_str().into(),
                        m.input.transport_means.clone().into(),
                        m.input.voyage.clone().into(),
                        m.filed_by.to_string().into(),
                        m.input.eta.map(micros).into(),
                        m.arrived_at.map(micros).into(),
                        micros(m.created_at).into(),
                        json(m).into(),
                        m.input.port.trim().to_ascii_uppercase().into(),
                    ],
                ));
                let id = m.id.to_string();
                out.push(Statement::Bulk {
                    table: "bills",
                    columns: &["bill_no", "manifest_id", "master_bill_no", "leg"],
                    rows: m
                        .input
                        .bills
                        .iter()
                        .map(|b| {
                            vec![
                                b.bill_no.trim().to_string().into(),
                                id.clone().into(),
                                b.master_bill_no.as_deref().map(str::trim).map(str::to_string).into(),
                                m.input.leg.as_str().into(),
                            ]
                        })
                        .collect(),
                });
                out.push(Statement::Bulk {
                    table: "bill_containers",
                    columns: &["bill_no", "manifest_id", "container_no"],
                    rows: m
                        .input
                        .bills
                        .iter()
                        .flat_map(|b| {
                            b.containers.iter().filter_map(|c| {
                                tongguan_domain::codes::ContainerNumber::parse(c)
                                    .ok()
                                    .map(|c| vec![b.bill_no.trim().to_string().into(), id.clone().into(), String::from(c).into()])
                            })
                        })
                        .collect(),
                });
            }
            Op::MarkManifestArrived { id, at } => out.push(exec(
                "UPDATE manifests SET arrived_at = $1 WHERE id = $2 AND arrived_at IS NULL",
                vec![micros(*at).into(), id.to_string().into()],
            )),
            Op::MarkBillArrived {
                bill_no,
                manifest_id,
                at,
            } => out.push(exec(
                "UPDATE bills SET arrived_at = $1 WHERE bill_no = $2 AND manifest_id = $3 AND arrived_at IS NULL",
                vec![micros(*at).into(), bill_no.clone().into(), manifest_id.to_string().into()],
            )),
            Op::InsertContainerArrival {
                container_no,
                terminal,
                at,
            } => out.push(exec(
                "INSERT INTO container_arrivals (container_no, terminal, at) VALUES ($1, $2, $3) ON CONFLICT (container_no) DO NOTHING",
                vec![container_no.clone().into(), terminal.clone().into(), micros(*at).into()],
            )),
            Op::InsertArrivalReport(r) => out.push(exec(
                "INSERT INTO arrival_reports (id, terminal, bill_no, containers, actor, at) VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    r.id.to_string().into(),
                    r.terminal.clone().into(),
                    r.bill_no.clone().into(),
                    json(&r.containers).into(),
                    r.actor.clone().into(),
                    micros(r.at).into(),
                ],
            )),
            Op::InsertInstruction(r) => out.push(exec(
                "INSERT INTO control_instructions (id, version, active, district, created_by, created_at, updated_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                instruction_params(r),
            )),
            Op::Guard(g) => out.push(match g {
                Guard::BillNotArrived(b) => Statement::Guard {
                    sql: "SELECT 1 FROM bills WHERE bill_no = $1 AND arrived_at IS NOT NULL LIMIT 1",
                    params: vec![b.clone().into()],
                    what: format!("bill {b} arrived meanwhile"),
                },
                Guard::ContainerNotArrived(c) => Statement::Guard {
                    sql: "SELECT 1 FROM container_arrivals WHERE container_no = $1",
                    params: vec![c.clone().into()],
                    what: format!("container {c} arrived meanwhile"),
                },
                Guard::NoneAwaitingOnBill { bill_no, port } => Statement::Guard {
                    sql: "SELECT 1 FROM declarations WHERE bill_no = $1 AND domestic_port = $2 AND status = 'awaiting_arrival' LIMIT 1",
                    params: vec![bill_no.clone().into(), port.clone().into()],
                    what: format!("a declaration on bill {bill_no} was accepted meanwhile"),
                },
                Guard::NoneAwaitingOnContainer { container_no, port } => Statement::Guard {
                    sql: "SELECT 1 FROM declaration_containers c JOIN declarations d ON d.id = c.declaration_id WHERE c.container_no = $1 AND d.domestic_port = $2 AND d.status = 'awaiting_arrival' AND NOT EXISTS (SELECT 1 FROM declaration_containers c2 WHERE c2.declaration_id = d.id AND c2.container_no NOT IN (SELECT container_no FROM container_arrivals)) LIMIT 1",
                    params: vec![container_no.clone().into(), port.clone().into()],
                    what: format!("a declaration with container {container_no} was accepted meanwhile"),
                },
            }),
            Op::InsertTariffVersion(v) => out.push(exec(
                "INSERT INTO tariff_versions (id, seq, label, valid_from, source, shipped, loaded_at, loaded_by, csv) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                vec![
                    v.id.to_string().into(),
                    v.seq.into(),
                    v.label.clone().into(),
                    v.valid_from.to_string().into(),
                    v.source.clone().into(),
                    i64::from(v.shipped).into(),
                    micros(v.loaded_at).into(),
                    v.loaded_by.clone().into(),
                    v.csv.clone().into(),
                ],
            )),
            Op::UpsertExchangeRate(r) => out.push(exec(
                "INSERT INTO exchange_rates (currency, month, cny_per_unit, source, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (currency, month) DO UPDATE SET cny_per_unit = excluded.cny_per_unit, source = excluded.source, set_by = excluded.set_by, set_at = excluded.set_at",
                vec![
                    r.currency.clone().into(),
                    r.month.clone().into(),
                    r.cny_per_unit.clone().into(),
                    r.source.clone().into(),
                    r.set_by.clone().into(),
                    micros(r.set_at).into(),
                ],
            )),
            Op::PutDocument { table, row, expected_version } => {
                let (insert, update) = match table {
                    DocTable::Guarantees => (
                        "INSERT INTO guarantees (id, enterprise_id, status, version, created_at, updated_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        "UPDATE guarantees SET enterprise_id = $2, status = $3, version = $4, created_at = $5, updated_at = $6, body = $7 WHERE id = $1 AND version = $8",
                    ),
                    DocTable::OriginCertificates => (
                        "INSERT INTO origin_certificates (id, enterprise_id, status, version, created_at, updated_at, body, key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        "UPDATE origin_certificates SET enterprise_id = $2, status = $3, version = $4, created_at = $5, updated_at = $6, body = $7, key = $8 WHERE id = $1 AND version = $9",
                    ),
                    DocTable::OriginRuleTables => (
                        "INSERT INTO origin_rule_tables (id, enterprise_id, status, version, created_at, updated_at, body, key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        "UPDATE origin_rule_tables SET enterprise_id = $2, status = $3, version = $4, created_at = $5, updated_at = $6, body = $7, key = $8 WHERE id = $1 AND version = $9",
                    ),
                };
                let mut p: Vec<Val> = vec![
                    row.id.to_string().into(),
                    row.enterprise_id.to_string().into(),
                    row.status.clone().into(),
                    row.version.into(),
                ];
                p.push(micros(row.created_at).into());
                p.push(micros(row.updated_at).into());
                p.push(row.body.clone().into());
                if matches!(table, DocTable::OriginCertificates | DocTable::OriginRuleTables) {
                    p.push((!row.key.is_empty()).then(|| row.key.clone()).into());
                }
                match expected_version {
                    None => out.push(exec(insert, p)),
                    Some(v) => {
                        p.push((*v).into());
                        out.push(exec_one(update, p, version_mismatch, format!("record {}", row.id)));
                    }
                }
            }
            Op::PutLedger { enterprise_id, version, expected_version, state } => match expected_version {
                None => out.push(exec(
                    "INSERT INTO ledgers (enterprise_id, version, state) VALUES ($1, $2, $3)",
                    vec![enterprise_id.to_string().into(), (*version).into(), state.clone().into()],
                )),
                Some(v) => out.push(exec_one(
                    "UPDATE ledgers SET version = $2, state = $3 WHERE enterprise_id = $1 AND version = $4",
                    vec![enterprise_id.to_string().into(), (*version).into(), state.clone().into(), (*v).into()],
                    version_mismatch,
                    format!("guarantee quota ledger of enterprise {enterprise_id}"),
                )),
            },
            Op::InsertLedgerTransfers(rows) => out.push(Statement::Bulk {
                table: "ledger_transfers",
                columns: &["id", "enterprise_id", "seq", "at", "body"],
                rows: rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string().into(),
                            r.enterprise_id.to_string().into(),
                            r.seq.into(),
                            micros(r.at).into(),
                            r.body.clone().into(),
                        ]
                    })
                    .collect(),
            }),
            Op::PutTerminal { code, version, expected_version, body } => match expected_version {
                None => out.push(exec(
                    "INSERT INTO terminals (code, version, body) VALUES ($1, $2, $3)",
                    vec![code.clone().into(), (*version).into(), body.clone().into()],
                )),
                Some(v) => out.push(exec_one(
                    "UPDATE terminals SET code = $1, version = $2, body = $3 WHERE code = $1 AND version = $4",
                    vec![code.clone().into(), (*version).into(), body.clone().into(), (*v).into()],
                    version_mismatch,
                    format!("terminal {code}"),
                )),
            },
            Op::InsertTerminalEvents(rows) => out.push(Statement::Bulk {
                table: "terminal_events",
                columns: &["id", "terminal", "container_no", "kind", "allowed", "reason", "actor", "at"],
                rows: rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string().into(),
                            r.terminal.clone().into(),
                            r.container_no.clone().into(),
                            r.kind.clone().into(),
                            i64::from(r.allowed).into(),
                            r.reason.clone().into(),
                            r.actor.clone().into(),
                            micros(r.at).into(),
                        ]
                    })
                    .collect(),
            }),
            Op::InsertOutbox(rows) => out.push(crate::outbox::outbox_rows(rows.clone())),
            Op::SetOutboxCursor { name, seq } => out.push(crate::outbox::set_cursor(name, *seq)),
            Op::PutSubscription { row, expected_version } => {
                out.push(crate::outbox::put_subscription(row, *expected_version))
            }
            Op::InsertDeliveries(rows) => out.push(crate::outbox::insert_deliveries(rows)),
            Op::UpdateDeliveries(rows) => out.extend(rows.iter().map(crate::outbox::update_delivery)),
            Op::InsertAttempts(rows) => out.push(crate::outbox::insert_attempts(rows)),
            Op::PutAllowlist(r) => out.push(crate::outbox::put_allowlist(r)),
            Op::DeleteAllowlist(cidr) => out.push(crate::outbox::delete_allowlist(cidr)),
            Op::UpdateInstruction { row, expected_version } => {
                let mut p = instruction_params(row);
                p.push((*expected_version).into());
                out.push(exec_one(
                    "UPDATE control_instructions SET id = $1, version = $2, active = $3, district = $4, created_by = $5, created_at = $6, updated_at = $7, body = $8 WHERE id = $1 AND version = $9",
                    p,
                    version_mismatch,
                    format!("control instruction {}", row.id),
                ));
            }
            Op::InsertEnterprise(e) => out.push(exec(
                "INSERT INTO enterprises (id, name, uscc, customs_code, credit_level, tags, address, contact_phone, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                enterprise_params(e),
            )),
            Op::UpdateEnterprise {
                enterprise,
                expected_version,
            } => {
                let mut p = enterprise_params(enterprise);
                p.push((*expected_version).into());
                out.push(exec_one(
                    "UPDATE enterprises SET id = $1, name = $2, uscc = $3, customs_code = $4, credit_level = $5, tags = $6, address = $7, contact_phone = $8, created_at = $9, updated_at = $10, version = $11 WHERE id = $1 AND version = $12",
                    p,
                    version_mismatch,
                    format!("enterprise {}", enterprise.id),
                ));
            }
            Op::InsertUser(u) => out.push(exec(
                "INSERT INTO users (id, username, display_name, role, enterprise_id, district, terminals, password_hash, disabled, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                user_params(u),
            )),
            Op::UpdateUser {
                user,
                expected_version,
            } => {
                let mut p = user_params(user);
                p.push((*expected_version).into());
                out.push(exec_one(
                    "UPDATE users SET id = $1, username = $2, display_name = $3, role = $4, enterprise_id = $5, district = $6, terminals = $7, password_hash = $8, disabled = $9, created_at = $10, version = $11 WHERE id = $1 AND version = $12",
                    p,
                    version_mismatch,
                    format!("user {}", user.id),
                ));
            }
            Op::InsertCredential(c) => out.push(exec(
                "INSERT INTO credentials (id, user_id, kind, name, token_hash, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    c.id.to_string().into(),
                    c.user_id.to_string().into(),
                    c.kind.as_str().into(),
                    c.name.clone().into(),
                    c.token_hash.clone().into(),
                    micros(c.created_at).into(),
                    c.expires_at.map(micros).into(),
                    c.revoked_at.map(micros).into(),
                ],
            )),
            Op::RevokeCredential { id, at } => out.push(exec_one(
                "UPDATE credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                vec![micros(*at).into(), id.to_string().into()],
                not_found,
                format!("active credential {id}"),
            )),
            Op::InsertBrokerAuthorisation(a) => out.push(exec(
                "INSERT INTO broker_authorisations (id, principal_id, broker_id, valid_from, valid_until, created_at, revoked_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    a.id.to_string().into(),
                    a.principal_id.to_string().into(),
                    a.broker_id.to_string().into(),
                    a.valid_from.to_string().into(),
                    a.valid_until.map(|d| d.to_string()).into(),
                    micros(a.created_at).into(),
                    a.revoked_at.map(micros).into(),
                    a.reason.clone().into(),
                ],
            )),
            Op::RevokeBrokerAuthorisation { id, at } => out.push(exec_one(
                "UPDATE broker_authorisations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                vec![micros(*at).into(), id.to_string().into()],
                not_found,
                format!("active broker authorisation {id}"),
            )),
            Op::InsertRefVersion(v) => {
                out.push(exec(
                    "INSERT INTO ref_versions (id, seq, dataset, label, valid_from, source, shipped, loaded_at, loaded_by, entries) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    vec![
                        v.id.to_string().into(),
                        v.seq.into(),
                        v.version.dataset.as_str().into(),
                        v.version.label.clone().into(),
                        v.version.valid_from.to_string().into(),
                        v.version.source.clone().into(),
                        i64::from(v.shipped).into(),
                        micros(v.loaded_at).into(),
                        v.loaded_by.clone().into(),
                        (v.version.entries.len() as i64).into(),
                    ],
                ));
                let id = v.id.to_string();
                out.push(Statement::Bulk {
                    table: "ref_entries",
                    columns: &["version_id", "code", "name_en", "name_zh", "parent", "attributes"],
                    rows: v
                        .version
                        .entries
                        .iter()
                        .map(|e| {
                            vec![
                                id.clone().into(),
                                e.code.clone().into(),
                                e.name_en.clone().into(),
                                e.name_zh.clone().into(),
                                e.parent.clone().into(),
                                json(&e.attributes).into(),
                            ]
                        })
                        .collect(),
                });
            }
        }
    }
}

impl IdempotencyRecord {
    pub(crate) fn into_statement(self) -> Statement {
        exec(
            "INSERT INTO idempotency (actor_id, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                self.actor_id.to_string().into(),
                self.key.into(),
                self.request_hash.into(),
                i64::from(self.status).into(),
                crate::packed::pack(&self.body).into(),
                micros(self.created_at).into(),
            ],
        )
    }
}

/// The statement inserting a sealed audit row.
pub(crate) fn audit_statement(r: &tongguan_domain::audit::AuditRecord) -> Statement {
    exec(
        "INSERT INTO audit_log (seq, at, actor, action, object, reason, request_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            r.seq.into(),
            micros(r.draft.at).into(),
            r.draft.actor.clone().into(),
            r.draft.action.clone().into(),
            r.draft.object.clone().into(),
            r.draft.reason.clone().into(),
            r.draft.request_id.clone().into(),
            r.prev_hash.clone().into(),
            r.hash.clone().into(),
        ],
    )
}
