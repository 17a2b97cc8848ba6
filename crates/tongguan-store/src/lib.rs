//! Tongguan storage (存储).
//!
//! One command interface over two backends: embedded SQLite (default) and PostgreSQL.
//! App services read through typed queries and write by handing a [`Changeset`] to
//! [`Store::commit`]. Every write goes through one writer task per store that commits
//! changesets in batches (group commit: one transaction and one fsync for many changesets,
//! each in its own savepoint so one failure does not fail its neighbours). The writer also
//! seals the audit chain, so the chain has no gaps or forks.
//!
//! SQL is shared between backends where the dialects agree; statements use `$1..$n` in
//! order, which SQLite binds positionally too. Each backend keeps its own migrations.
#![forbid(unsafe_code)]

mod changeset;
mod clearance;
mod outbox;
mod packed;
mod postgres;
mod queries;
mod rows;
mod sqlite;
mod taxes;
mod value;

pub use changeset::{
    ArrivalReportRow, BrokerAuthorisation, Changeset, CredentialKind, CredentialRecord, DocTable,
    DocumentRow, ExchangeRateRow, Guard, IdempotencyRecord, InstructionRow, LedgerTransferRow, Op,
    Receipt, StoredVersion, TariffVersionRow, TerminalEventRow, UserRecord,
};
pub use clearance::{BillState, DeclarationFilter, GateRow};
pub use outbox::{AllowlistRow, AttemptRow, DeliveryRow, DueDelivery, OutboxRow, SubscriptionRow};
pub use queries::EnterpriseFilter;
pub use rows::RowLike;
pub use value::Val;

use std::time::Duration;

use changeset::Statement;

/// Storage failures, mapped by the HTTP edge to problem+json.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; `constraint` is `table.column`, e.g.
    /// `enterprises.uscc`.
    #[error("duplicate value for {constraint}")]
    Duplicate { constraint: String },
    /// The row changed since it was read (optimistic concurrency).
    #[error("{what} was changed by someone else; reload and try again")]
    VersionMismatch { what: String },
    /// The row to change does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// A guard of the changeset failed: what it read has changed; decide again.
    #[error("precondition failed: {what}")]
    Precondition { what: String },
    /// The idempotency key was already used by this actor (the caller decides what to answer).
    #[error("idempotency key already used")]
    IdempotencyKeyUsed,
    /// Stored data that cannot be decoded (a bug or a manual edit).
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
    #[error("database error: {0}")]
    Backend(String),
    #[error("the store is shut down")]
    Closed,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Tuning of the write path.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most changesets committed in one transaction.
    pub max_batch: usize,
    /// SQLite `synchronous`: FULL fsyncs the WAL at every commit (durable), NORMAL only at
    /// checkpoints.
    pub sqlite_synchronous_full: bool,
    /// Reader connections (SQLite) or pool size (PostgreSQL).
    pub readers: usize,
    pub busy_timeout: Duration,
    /// SQLite: WAL size in bytes past which it is started over (the file keeps its size;
    /// it is truncated only past four times this). Smaller keeps reads fast (a reader looks
    /// pages up in the WAL's index first); each start over costs the writer a little.
    pub sqlite_wal_limit_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_batch: 1024,
            sqlite_synchronous_full: true,
            readers: 16,
            busy_timeout: Duration::from_secs(5),
            sqlite_wal_limit_bytes: 64 << 20,
        }
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Backend {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a
    /// bare path is SQLite.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(url.to_string())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Backend::Sqlite(path.into())
        }
    }
}

/// Hides the password of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A database handle. Cheap to clone.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating when needed) and migrates the database.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store> {
        match Backend::from_url(url) {
            Backend::Sqlite(path) => Ok(Store::Sqlite(
                sqlite::SqliteStore::open(&path, options).await?,
            )),
            Backend::Postgres(url) => Ok(Store::Postgres(
                postgres::PgStore::open(&url, None, options).await?,
            )),
        }
    }

    /// Opens PostgreSQL inside one schema (created when missing); tests use this to isolate.
    pub async fn open_postgres_schema(
        url: &str,
        schema: &str,
        options: StoreOptions,
    ) -> Result<Store> {
        Ok(Store::Postgres(
            postgres::PgStore::open(url, Some(schema), options).await?,
        ))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Commits one changeset through the group-commit writer. Either every op, the audit
    /// rows and the idempotency record are stored, or none.
    pub async fn commit(&self, changeset: Changeset) -> Result<Receipt> {
        match self {
            Store::Sqlite(s) => s.commit(changeset).await,
            Store::Postgres(s) => s.commit(changeset).await,
        }
    }

    /// A point lookup (a few rows by key): inline on SQLite, pooled on PostgreSQL.
    pub(crate) async fn lookup<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Val>,
        map: fn(&dyn RowLike) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Store::Sqlite(s) => s.query_inline(sql, params, map),
            Store::Postgres(s) => s.query(sql, params, map).await,
        }
    }

    /// Runs a read query (a scan) and maps each row. The text may be built per call (the
    /// declaration list writes only the conditions it has); both backends cache the
    /// prepared statement by its text.
    pub(crate) async fn query<T: Send + 'static>(
        &self,
        sql: impl Into<std::borrow::Cow<'static, str>>,
        params: Vec<Val>,
        map: fn(&dyn RowLike) -> Result<T>,
    ) -> Result<Vec<T>> {
        let sql = sql.into();
        match self {
            Store::Sqlite(s) => s.query(sql, params, map).await,
            Store::Postgres(s) => s.query(&sql, params, map).await,
        }
    }

    /// Stops the writer after the changesets already queued are committed.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }

    /// Test hook: runs raw SQL outside the writer (used to simulate tampering).
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.execute_raw(sql).await,
            Store::Postgres(s) => s.execute_raw(sql).await,
        }
    }
}

pub(crate) fn corrupt(table: &'static str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        message: message.to_string(),
    }
}

/// A changeset turned into statements on the caller's task, so the single writer only
/// executes: encoding (JSON bodies, parameters) runs in parallel across callers.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub(crate) statements: Vec<Statement>,
    pub(crate) audit: Vec<tongguan_domain::audit::AuditDraft>,
    pub(crate) urgent: bool,
}

impl Prepared {
    pub(crate) fn new(cs: Changeset) -> Prepared {
        let Changeset {
            ops,
            audit,
            idempotency,
            urgent,
        } = cs;
        Prepared {
            statements: statements(ops, idempotency),
            audit,
            urgent,
        }
    }
}

/// The urgent changesets of a batch that also holds others, taken out of it so the writer
/// commits them first, as a batch of their own: an arrival report then waits for one small
/// commit instead of a whole group of submissions (under 1,500 submissions/s on
/// PostgreSQL, the wait for the commit was the larger half of an arrival report's p99).
/// Any order of changesets queued together is a valid serialisation — each caller was
/// still waiting for its own.
pub(crate) fn urgent_first<R>(
    batch: &mut Vec<(Box<Prepared>, R)>,
) -> Option<Vec<(Box<Prepared>, R)>> {
    let urgent = batch.iter().filter(|(p, _)| p.urgent).count();
    if urgent == 0 || urgent == batch.len() {
        return None;
    }
    let (first, rest): (Vec<_>, Vec<_>) = batch.drain(..).partition(|(p, _)| p.urgent);
    *batch = rest;
    Some(first)
}

pub(crate) fn statements(ops: Vec<Op>, idempotency: Option<IdempotencyRecord>) -> Vec<Statement> {
    let mut out = Vec::with_capacity(ops.len() + 2);
    // The key first: a concurrent retry of the same call must fail on the key (and be
    // answered with the stored reply), not on a unique field of the record it repeats.
    if let Some(idem) = idempotency {
        out.push(idem.into_statement());
    }
    for op in ops {
        op.into_statements(&mut out);
    }
    // Guards look at the state after the changeset's own writes.
    out.sort_by_key(|s| matches!(s, Statement::Guard { .. }));
    out
}
