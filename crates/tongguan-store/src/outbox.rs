//! The transactional outbox (发件箱) and webhook delivery state (M15): rows, the statements
//! writing them and the reads of the dispatcher and of subscription owners.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::changeset::{Expect, Statement, micros};
use crate::{Result, RowLike, Store, Val, corrupt};

/// One status event in the outbox, written in the transaction of the change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Assigned by the store at commit; commit order on both backends (one writer).
    pub seq: i64,
    /// The message id: `webhook-id` of every delivery, SSE and NATS de-duplication key.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `declaration.status`, `container.status`, `manifest.arrived`, `gate.decision`, …
    pub kind: String,
    /// The enterprise whose affair it is (owner of the declaration, filer of the manifest).
    pub enterprise_id: Option<Uuid>,
    /// The terminal that reported it or whose gate it concerns.
    pub terminal: Option<String>,
    /// The domestic port (UN/LOCODE) it happened at: terminals of the port see it.
    pub port: Option<String>,
    /// Customs districts concerned (port and declaring customs): officers of these see it.
    pub customs: Vec<String>,
    pub declaration_id: Option<Uuid>,
    pub bill_no: Option<String>,
    pub containers: Vec<String>,
    /// The event's JSON (`data` of the Standard Webhooks payload).
    pub data: String,
}

/// A webhook subscription as stored; `body` is its JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub enterprise_id: Option<Uuid>,
    pub terminal: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub body: String,
}

/// One message owed to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub message_seq: i64,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery with the message it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub delivery: DeliveryRow,
    pub message: OutboxRow,
}

/// One attempt of a delivery (the delivery log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub attempt: i64,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, none when no answer came.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_us: i64,
}

/// A network an admin allowed webhooks to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistRow {
    pub cidr: String,
    pub reason: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

fn exec(sql: &'static str, params: Vec<Val>) -> Statement {
    Statement::Exec {
        sql,
        params,
        expect: Expect::Any,
    }
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string())
}

pub(crate) fn outbox_rows(rows: Vec<OutboxRow>) -> Statement {
    Statement::Bulk {
        table: "outbox",
        columns: &[
            "id",
            "at",
            "kind",
            "enterprise_id",
            "terminal",
            "port",
            "customs",
            "declaration_id",
            "bill_no",
            "containers",
            "data",
        ],
        rows: rows
            .into_iter()
            .map(|r| {
                vec![
                    r.id.to_string().into(),
                    micros(r.at).into(),
                    r.kind.into(),
                    r.enterprise_id.map(|i| i.to_string()).into(),
                    r.terminal.into(),
                    r.port.into(),
                    json(&r.customs).into(),
                    r.declaration_id.map(|i| i.to_string()).into(),
                    r.bill_no.into(),
                    json(&r.containers).into(),
                    r.data.into(),
                ]
            })
            .collect(),
    }
}

pub(crate) fn put_subscription(row: &SubscriptionRow, expected: Option<i64>) -> Statement {
    let p: Vec<Val> = vec![
        row.id.to_string().into(),
        row.enterprise_id.map(|i| i.to_string()).into(),
        row.terminal.clone().into(),
        row.status.clone().into(),
        row.version.into(),
        micros(row.created_at).into(),
        row.body.clone().into(),
    ];
    match expected {
        None => exec(
            "INSERT INTO webhook_subscriptions (id, enterprise_id, terminal, status, version, created_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            p,
        ),
        Some(v) => {
            let mut p = p;
            p.push(v.into());
            Statement::Exec {
                sql: "UPDATE webhook_subscriptions SET enterprise_id = $2, terminal = $3, status = $4, version = $5, created_at = $6, body = $7 WHERE id = $1 AND version = $8",
                params: p,
                expect: Expect::One(
                    |w| crate::StoreError::VersionMismatch {
                        what: w.to_string(),
                    },
                    format!("webhook subscription {}", row.id),
                ),
            }
        }
    }
}

fn delivery_params(d: &DeliveryRow) -> Vec<Val> {
    vec![
        d.id.to_string().into(),
        d.subscription_id.to_string().into(),
        d.message_seq.into(),
        d.status.clone().into(),
        d.attempts.into(),
        d.next_attempt_at.map(micros).into(),
        d.last_status.into(),
        d.last_error.clone().into(),
        micros(d.created_at).into(),
        micros(d.updated_at).into(),
    ]
}

pub(crate) fn insert_deliveries(rows: &[DeliveryRow]) -> Statement {
    Statement::Bulk {
        table: "webhook_deliveries",
        columns: &[
            "id",
            "subscription_id",
            "message_seq",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status",
            "last_error",
            "created_at",
            "updated_at",
        ],
        rows: rows.iter().map(delivery_params).collect(),
    }
}

pub(crate) fn update_delivery(d: &DeliveryRow) -> Statement {
    exec(
        "UPDATE webhook_deliveries SET subscription_id = $2, message_seq = $3, status = $4, attempts = $5, next_attempt_at = $6, last_status = $7, last_error = $8, created_at = $9, updated_at = $10 WHERE id = $1",
        delivery_params(d),
    )
}

pub(crate) fn insert_attempts(rows: &[AttemptRow]) -> Statement {
    Statement::Bulk {
        table: "webhook_attempts",
        columns: &[
            "delivery_id",
            "attempt",
            "at",
            "status_code",
            "error",
            "duration_us",
        ],
        rows: rows
            .iter()
            .map(|a| {
                vec![
                    a.delivery_id.to_string().into(),
                    a.attempt.into(),
                    micros(a.at).into(),
                    a.status_code.into(),
                    a.error.clone().into(),
                    a.duration_us.into(),
                ]
            })
            .collect(),
    }
}

pub(crate) fn set_cursor(name: &str, seq: i64) -> Statement {
    exec(
        "INSERT INTO outbox_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
        vec![name.into(), seq.into()],
    )
}

pub(crate) fn put_allowlist(r: &AllowlistRow) -> Statement {
    exec(
        "INSERT INTO webhook_allowlist (cidr, reason, added_by, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT (cidr) DO UPDATE SET reason = excluded.reason, added_by = excluded.added_by, added_at = excluded.added_at",
        vec![
            r.cidr.clone().into(),
            r.reason.clone().into(),
            r.added_by.clone().into(),
            micros(r.added_at).into(),
        ],
    )
}

pub(crate) fn delete_allowlist(cidr: &str) -> Statement {
    Statement::Exec {
        sql: "DELETE FROM webhook_allowlist WHERE cidr = $1",
        params: vec![cidr.into()],
        expect: Expect::One(
            |w| crate::StoreError::NotFound {
                what: w.to_string(),
            },
            format!("allowed network {cidr}"),
        ),
    }
}

fn time(r: &dyn RowLike, i: usize, table: &'static str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(r.i64(i)?).ok_or_else(|| corrupt(table, "time"))
}

fn uuid(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Uuid> {
    Uuid::parse_str(&r.text(i)?).map_err(|e| corrupt(table, e))
}

fn opt_uuid(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Option<Uuid>> {
    r.opt_text(i)?
        .map(|s| Uuid::parse_str(&s).map_err(|e| corrupt(table, e)))
        .transpose()
}

fn list(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Vec<String>> {
    serde_json::from_str(&r.text(i)?).map_err(|e| corrupt(table, e))
}

fn map_outbox_at(r: &dyn RowLike, o: usize) -> Result<OutboxRow> {
    const T: &str = "outbox";
    Ok(OutboxRow {
        seq: r.i64(o)?,
        id: uuid(r, o + 1, T)?,
        at: time(r, o + 2, T)?,
        kind: r.text(o + 3)?,
        enterprise_id: opt_uuid(r, o + 4, T)?,
        terminal: r.opt_text(o + 5)?,
        port: r.opt_text(o + 6)?,
        customs: list(r, o + 7, T)?,
        declaration_id: opt_uuid(r, o + 8, T)?,
        bill_no: r.opt_text(o + 9)?,
        containers: list(r, o + 10, T)?,
        data: r.text(o + 11)?,
    })
}

fn map_outbox(r: &dyn RowLike) -> Result<OutboxRow> {
    map_outbox_at(r, 0)
}

fn map_subscription(r: &dyn RowLike) -> Result<SubscriptionRow> {
    const T: &str = "webhook_subscriptions";
    Ok(SubscriptionRow {
        id: uuid(r, 0, T)?,
        enterprise_id: opt_uuid(r, 1, T)?,
        terminal: r.opt_text(2)?,
        status: r.text(3)?,
        version: r.i64(4)?,
        created_at: time(r, 5, T)?,
        body: r.text(6)?,
    })
}

fn map_delivery(r: &dyn RowLike) -> Result<DeliveryRow> {
    const T: &str = "webhook_deliveries";
    Ok(DeliveryRow {
        id: uuid(r, 0, T)?,
        subscription_id: uuid(r, 1, T)?,
        message_seq: r.i64(2)?,
        status: r.text(3)?,
        attempts: r.i64(4)?,
        next_attempt_at: r
            .opt_i64(5)?
            .map(|us| DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(T, "time")))
            .transpose()?,
        last_status: r.opt_i64(6)?,
        last_error: r.opt_text(7)?,
        created_at: time(r, 8, T)?,
        updated_at: time(r, 9, T)?,
    })
}

fn map_due(r: &dyn RowLike) -> Result<DueDelivery> {
    Ok(DueDelivery {
        delivery: map_delivery(r)?,
        message: map_outbox_at(r, 10)?,
    })
}

fn map_attempt(r: &dyn RowLike) -> Result<AttemptRow> {
    const T: &str = "webhook_attempts";
    Ok(AttemptRow {
        delivery_id: uuid(r, 0, T)?,
        attempt: r.i64(1)?,
        at: time(r, 2, T)?,
        status_code: r.opt_i64(3)?,
        error: r.opt_text(4)?,
        duration_us: r.i64(5)?,
    })
}

impl Store {
    /// Outbox messages after a sequence number, oldest first. Sequence order is commit
    /// order because one writer commits on either backend, so a reader that remembers the
    /// last sequence it handled misses nothing.
    pub async fn outbox_after(&self, after: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        self.query(
            "SELECT seq, id, at, kind, enterprise_id, terminal, port, customs, declaration_id, bill_no, containers, data FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            vec![after.into(), limit.into()],
            map_outbox,
        )
        .await
    }

    /// The newest outbox sequence number (0 when empty).
    pub async fn last_outbox_seq(&self) -> Result<i64> {
        Ok(self
            .query("SELECT max(seq) FROM outbox", vec![], |r| r.opt_i64(0))
            .await?
            .pop()
            .flatten()
            .unwrap_or(0))
    }

    /// A reader's stored position (none before its first run).
    pub async fn outbox_cursor(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .lookup(
                "SELECT seq FROM outbox_cursors WHERE name = $1",
                vec![name.into()],
                |r| r.i64(0),
            )
            .await?
            .pop())
    }

    pub async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        self.query(
            "SELECT id, enterprise_id, terminal, status, version, created_at, body FROM webhook_subscriptions ORDER BY created_at, id",
            vec![],
            map_subscription,
        )
        .await
    }

    pub async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRow>> {
        Ok(self
            .lookup(
                "SELECT id, enterprise_id, terminal, status, version, created_at, body FROM webhook_subscriptions WHERE id = $1",
                vec![id.to_string().into()],
                map_subscription,
            )
            .await?
            .pop())
    }

    /// Pending deliveries due at `now`, oldest due first, with their messages.
    pub async fn due_deliveries(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
        self.query(
            "SELECT d.id, d.subscription_id, d.message_seq, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.updated_at, o.seq, o.id, o.at, o.kind, o.enterprise_id, o.terminal, o.port, o.customs, o.declaration_id, o.bill_no, o.containers, o.data FROM webhook_deliveries d JOIN outbox o ON o.seq = d.message_seq WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at, d.message_seq LIMIT $2",
            vec![micros(now).into(), limit.into()],
            map_due,
        )
        .await
    }

    /// The earliest time a pending delivery falls due after `after` (any time when none).
    pub async fn next_due(&self, after: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .query(
                "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending' AND (CAST($1 AS BIGINT) IS NULL OR next_attempt_at > $1)",
                vec![after.map(micros).into()],
                |r| r.opt_i64(0),
            )
            .await?
            .pop()
            .flatten()
            .and_then(DateTime::from_timestamp_micros))
    }

    /// A subscription's deliveries, newest message first, optionally only one status.
    pub async fn deliveries_of(
        &self,
        subscription: Uuid,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>> {
        self.query(
            "SELECT d.id, d.subscription_id, d.message_seq, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.updated_at, o.seq, o.id, o.at, o.kind, o.enterprise_id, o.terminal, o.port, o.customs, o.declaration_id, o.bill_no, o.containers, o.data FROM webhook_deliveries d JOIN outbox o ON o.seq = d.message_seq WHERE d.subscription_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.status = $2) ORDER BY d.message_seq DESC LIMIT $3",
            vec![subscription.to_string().into(), status.map(str::to_string).into(), limit.into()],
            map_due,
        )
        .await
    }

    pub async fn delivery(&self, id: Uuid) -> Result<Option<DeliveryRow>> {
        let sql = "SELECT d.id, d.subscription_id, d.message_seq, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.updated_at FROM webhook_deliveries d WHERE d.id = $1";
        Ok(self
            .lookup(sql, vec![id.to_string().into()], map_delivery)
            .await?
            .pop())
    }

    /// The attempts of a delivery in order.
    pub async fn attempts_of(&self, delivery: Uuid) -> Result<Vec<AttemptRow>> {
        self.lookup(
            "SELECT delivery_id, attempt, at, status_code, error, duration_us FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
            vec![delivery.to_string().into()],
            map_attempt,
        )
        .await
    }

    pub async fn webhook_allowlist(&self) -> Result<Vec<AllowlistRow>> {
        self.query(
            "SELECT cidr, reason, added_by, added_at FROM webhook_allowlist ORDER BY cidr",
            vec![],
            |r| {
                Ok(AllowlistRow {
                    cidr: r.text(0)?,
                    reason: r.text(1)?,
                    added_by: r.text(2)?,
                    added_at: time(r, 3, "webhook_allowlist")?,
                })
            },
        )
        .await
    }
}
