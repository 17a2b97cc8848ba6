//! PostgreSQL backend: the same group-commit writer as SQLite (one connection, one
//! transaction per batch, a savepoint per changeset) and a pool for reads. An advisory
//! lock per batch keeps the audit chain linear even with several server instances.

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tongguan_domain::audit::{self, GENESIS_HASH};

use crate::changeset::{Expect, Statement, audit_statement};
use crate::{Changeset, Prepared, Receipt, Result, RowLike, StoreError, StoreOptions, Val};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "0002_clearance",
        include_str!("../migrations/postgres/0002_clearance.sql"),
    ),
    (
        3,
        "0003_taxes",
        include_str!("../migrations/postgres/0003_taxes.sql"),
    ),
    (
        4,
        "0004_ports",
        include_str!("../migrations/postgres/0004_ports.sql"),
    ),
    (
        5,
        "0005_legs",
        include_str!("../migrations/postgres/0005_legs.sql"),
    ),
    (
        6,
        "0006_declaration_port",
        include_str!("../migrations/postgres/0006_declaration_port.sql"),
    ),
    (
        7,
        "0007_outbox",
        include_str!("../migrations/postgres/0007_outbox.sql"),
    ),
    (
        8,
        "0008_origin",
        include_str!("../migrations/postgres/0008_origin.sql"),
    ),
    (
        9,
        "0009_lz4",
        include_str!("../migrations/postgres/0009_lz4.sql"),
    ),
    (
        10,
        "0010_declaration_indexes",
        include_str!("../migrations/postgres/0010_declaration_indexes.sql"),
    ),
    (
        11,
        "0011_declaration_list",
        include_str!("../migrations/postgres/0011_declaration_list.sql"),
    ),
    (
        12,
        "0012_packed_documents",
        include_str!("../migrations/postgres/0012_packed_documents.sql"),
    ),
];

/// The row-count expectation of inserts generated here (bulk and merged rows).
static ANY_ROWS: Expect = Expect::Any;

/// Rows per multi-row INSERT (PostgreSQL allows 65,535 parameters per statement).
const BULK_ROWS: usize = 1000;

type Reply = oneshot::Sender<Result<Receipt>>;

enum Msg {
    Commit(Box<Prepared>, Reply),
    Close(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct PgStore {
    tx: mpsc::Sender<Msg>,
    pool: Pool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn map_write_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && *db.code() == SqlState::UNIQUE_VIOLATION
    {
        let table = db.table().unwrap_or("");
        if table == "idempotency" {
            return StoreError::IdempotencyKeyUsed;
        }
        let constraint = db.constraint().unwrap_or("");
        let column = constraint
            .strip_prefix(table)
            .and_then(|c| c.strip_prefix('_'))
            .map(|c| c.strip_suffix("_key").unwrap_or(c))
            .unwrap_or(constraint);
        return StoreError::Duplicate {
            constraint: format!("{table}.{column}"),
        };
    }
    backend(e)
}

fn params(p: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// A stable advisory lock key for a schema's audit chain.
fn lock_key(schema: &str) -> i64 {
    schema.bytes().fold(0x7467_7561_6e00_i64, |h, b| {
        h.wrapping_mul(31).wrapping_add(i64::from(b))
    })
}

impl PgStore {
    pub async fn open(url: &str, schema: Option<&str>, options: StoreOptions) -> Result<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(backend)?;
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Backend(format!("bad schema name {schema}")));
            }
            let (client, conn) = config.connect(NoTls).await.map_err(backend)?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(backend)?;
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.readers + 1)
            .build()
            .map_err(backend)?;
        let mut writer_conn = pool.get().await.map_err(backend)?;
        migrate(&mut writer_conn).await?;
        let (tx, rx) = mpsc::channel(options.max_batch * 8);
        let writer = Writer {
            pool: pool.clone(),
            conn: Some(writer_conn),
            max_batch: options.max_batch,
            lock: lock_key(schema.unwrap_or("public")),
            head: None,
        };
        tokio::spawn(writer.run(rx));
        Ok(Self { tx, pool })
    }

    pub async fn commit(&self, cs: Changeset) -> Result<Receipt> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Commit(Box::new(Prepared::new(cs)), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Msg::Close(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn query<T: Send + 'static>(
        &self,
        sql: &str,
        p: Vec<Val>,
        map: fn(&dyn RowLike) -> Result<T>,
    ) -> Result<Vec<T>> {
        let client = self.pool.get().await.map_err(backend)?;
        let stmt = client.prepare_cached(sql).await.map_err(backend)?;
        let rows = client.query(&stmt, &params(&p)).await.map_err(backend)?;
        rows.iter().map(|r| map(r)).collect()
    }

    pub async fn execute_raw(&self, sql: &str) -> Result<()> {
        let client = self.pool.get().await.map_err(backend)?;
        client.batch_execute(sql).await.map_err(backend)
    }
}

async fn migrate(client: &mut Object) -> Result<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await
        .map_err(backend)?;
    for (version, name, sql) in MIGRATIONS {
        let tx = client.transaction().await.map_err(backend)?;
        // Serialise concurrent migrators of the same schema.
        tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE", &[])
            .await
            .map_err(backend)?;
        let done: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await
            .map_err(backend)?
            .get(0);
        if done == 0 {
            tracing::info!(version, name, "applying postgres migration");
            tx.batch_execute(sql).await.map_err(backend)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
    }
    Ok(())
}

struct Writer {
    pool: Pool,
    conn: Option<Object>,
    max_batch: usize,
    lock: i64,
    /// The audit chain's head `(seq, hash)` after this writer's last commit, when known.
    /// With it `BEGIN` and the lock go in the batch's round trip (then `COMMIT`: two);
    /// without it (at start, after any failure) the head is read under the lock first.
    /// Another instance appending to the chain meanwhile makes our first audit row collide
    /// with its `seq` (the primary key): the batch is then rolled back and applied again
    /// from the head read under the lock, so the chain stays linear.
    head: Option<(i64, String)>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch: Vec<(Box<Prepared>, Reply)> = Vec::with_capacity(self.max_batch);
        while let Some(first) = rx.recv().await {
            let mut close = None;
            match first {
                Msg::Commit(cs, reply) => batch.push((cs, reply)),
                Msg::Close(done) => close = Some(done),
            }
            while close.is_none() && batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(Msg::Commit(cs, reply)) => batch.push((cs, reply)),
                    Ok(Msg::Close(done)) => close = Some(done),
                    Err(_) => break,
                }
            }
            if let Some(mut first) = crate::urgent_first(&mut batch) {
                self.commit_batch(&mut first).await;
            }
            if !batch.is_empty() {
                self.commit_batch(&mut batch).await;
            }
            if let Some(done) = close {
                let _ = done.send(());
                break;
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut Object> {
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = Some(self.pool.get().await.map_err(backend)?);
        }
        self.conn.as_mut().ok_or(StoreError::Closed)
    }

    /// Commits a batch: first optimistically, every changeset's statements (and guards, in
    /// order) pipelined in one transaction without savepoints — one round trip for the whole
    /// batch and no subtransactions; if anything fails, the transaction is rolled back and
    /// the batch is applied again with a savepoint per changeset, so only the failing
    /// changesets fail.
    ///
    /// Why: PostgreSQL throughput was bounded by two round trips and a subtransaction per
    /// changeset (savepoints past 64 in one transaction also overflow the subtransaction
    /// cache every concurrent reader consults). Failures (a reused idempotency key, a
    /// version conflict, a guard) are rare, so the retry costs little.
    async fn commit_batch(&mut self, batch: &mut Vec<(Box<Prepared>, Reply)>) {
        let started = std::time::Instant::now();
        let lock = self.lock;
        let known = self.head.take();
        let optimistic = async {
            let conn = self.connection().await?;
            apply_all(conn, lock, known, batch).await
        }
        .await;
        let outcome = match optimistic {
            Ok(Some(done)) => Ok(done),
            Ok(None) => {
                metrics::counter!("tongguan_store_batch_retries", "backend" => "postgres")
                    .increment(1);
                self.commit_with_savepoints(batch).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok((results, head)) => {
                self.head = Some(head);
                metrics::histogram!("tongguan_store_batch_size", "backend" => "postgres")
                    .record(batch.len() as f64);
                metrics::histogram!("tongguan_store_batch_seconds", "backend" => "postgres")
                    .record(started.elapsed().as_secs_f64());
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "postgres batch commit failed");
                if let Some(c) = self.conn.as_ref() {
                    let _ = c.batch_execute("ROLLBACK").await;
                }
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Backend(e.to_string())));
                }
            }
        }
    }

    /// The batch again, after a failed optimistic attempt: each changeset in its savepoint.
    /// Returns each changeset's result and the chain's head after the commit.
    async fn commit_with_savepoints(
        &mut self,
        batch: &[(Box<Prepared>, Reply)],
    ) -> Result<(Vec<Result<Receipt>>, (i64, String))> {
        let lock = self.lock;
        let conn = self.connection().await?;
        conn.batch_execute("ROLLBACK").await.map_err(backend)?;
        let mut head = begin(conn, lock).await?;
        let mut results = Vec::with_capacity(batch.len());
        for (prepared, _) in batch {
            results.push(apply(conn, prepared, &mut head).await);
        }
        conn.batch_execute("COMMIT").await.map_err(backend)?;
        Ok((results, head))
    }
}

/// Takes the audit chain's lock for the rest of the transaction.
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1)";

/// `BEGIN`, the audit chain's lock, and its head `(seq, hash)`, pipelined: one round trip
/// (the server runs them in order, so the head is read under the lock). Sent one after the
/// other, with the two queries prepared each time, these were five round trips per batch —
/// each a wake-up of the server and of the writer on a busy machine, ahead of every batch's
/// statements.
async fn begin(conn: &Object, lock: i64) -> Result<(i64, String)> {
    let lock_stmt = conn.prepare_cached(LOCK_SQL).await.map_err(backend)?;
    let head_stmt = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .await
        .map_err(backend)?;
    let lock_param: [&(dyn ToSql + Sync); 1] = [&lock];
    let (_, _, head) = futures::try_join!(
        conn.batch_execute("BEGIN"),
        conn.execute(&lock_stmt, &lock_param),
        conn.query_opt(&head_stmt, &[]),
    )
    .map_err(backend)?;
    Ok(match head {
        Some(r) => (r.get::<_, i64>(0), r.get::<_, String>(1)),
        None => (0, GENESIS_HASH.to_string()),
    })
}

/// The audit records of a changeset sealed onto `head` (advanced), as statements.
fn seal_audit(
    prepared: &Prepared,
    head: &mut (i64, String),
    receipt: &mut Receipt,
) -> Vec<Statement> {
    let mut out = Vec::with_capacity(prepared.audit.len());
    for draft in &prepared.audit {
        let seq = head.0 + 1;
        let rec = audit::seal(seq, draft.clone(), &head.1);
        out.push(audit_statement(&rec));
        *head = (seq, rec.hash);
        receipt.audit_seqs.push(seq);
    }
    out
}

/// Every changeset of the batch in one transaction without savepoints, then `COMMIT`: two
/// round trips when the chain's head is `known` (`BEGIN` and the lock go with the batch's
/// statements), else three (`begin` first). `Ok(None)`: something failed; the transaction
/// must be rolled back and the batch applied again.
///
/// Why: every round trip is a wake-up of the server and of the writer on a busy two-core
/// machine, and the writer is sequential — a batch's round trips are the wait of every
/// caller queued behind it (an arrival report's commit wait was the larger half of its p99
/// under load). `COMMIT` cannot join the pipeline: a version or guard failure is found by
/// the writer from the answers (a row count, a returned row), not by the server, so the
/// server would commit it.
async fn apply_all(
    conn: &Object,
    lock: i64,
    known: Option<(i64, String)>,
    batch: &[(Box<Prepared>, Reply)],
) -> Result<Option<(Vec<Result<Receipt>>, (i64, String))>> {
    let mut jobs = Vec::new();
    let head = match known {
        Some(head) => {
            jobs.push(Job {
                params: Vec::new().into(),
                kind: JobKind::Simple("BEGIN"),
            });
            jobs.push(Job {
                params: vec![Val::I64(lock)].into(),
                kind: JobKind::Exec(
                    conn.prepare_cached(LOCK_SQL).await.map_err(backend)?,
                    &ANY_ROWS,
                ),
            });
            head
        }
        None => begin(conn, lock).await?,
    };
    let mut next_head = head;
    let mut receipts = Vec::with_capacity(batch.len());
    let mut audits = Vec::with_capacity(batch.len());
    for (prepared, _) in batch {
        let mut receipt = Receipt::default();
        audits.push(seal_audit(prepared, &mut next_head, &mut receipt));
        receipts.push(Ok(receipt));
    }
    let sequences: Vec<Vec<&Statement>> = batch
        .iter()
        .zip(&audits)
        .map(|((prepared, _), audit)| prepared.statements.iter().chain(audit).collect())
        .collect();
    let mut k = 0;
    while k < sequences.len() {
        // A run of changesets of the same shape made only of inserts (a burst of
        // submissions, say) goes as one multi-row INSERT per statement of the shape.
        let mut end = k + 1;
        if insert_only(&sequences[k]) {
            while end < sequences.len() && same_shape(&sequences[k], &sequences[end]) {
                end += 1;
            }
        }
        if end - k > 1 {
            for position in 0..sequences[k].len() {
                let column = sequences[k..end].iter().map(|seq| seq[position]);
                merged_insert_jobs(conn, column, &mut jobs).await?;
            }
        } else {
            push_jobs(conn, sequences[k].iter().copied(), &mut jobs).await?;
        }
        k = end;
    }
    if run_jobs(conn, &jobs).await.is_some() {
        return Ok(None);
    }
    conn.batch_execute("COMMIT").await.map_err(backend)?;
    Ok(Some((receipts, next_head)))
}

/// `INSERT INTO t (a, b) VALUES ($1, $2)`: the part before `VALUES` when the values are
/// exactly the parameters in order (so rows can be appended), else `None`.
fn plain_insert(sql: &str, width: usize) -> Option<&str> {
    if !sql.starts_with("INSERT INTO ") || width == 0 {
        return None;
    }
    let (head, values) = sql.split_once(" VALUES (")?;
    // `$1, $2, …, $width)`, checked without building the expected text: this runs for every
    // statement of every batch on the writer.
    let mut rest = values.strip_suffix(')')?;
    for i in 1..=width {
        rest = rest.strip_prefix('$')?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if rest[..digits].parse::<usize>().ok()? != i {
            return None;
        }
        rest = &rest[digits..];
        if i < width {
            rest = rest.strip_prefix(", ")?;
        }
    }
    rest.is_empty().then_some(head)
}

/// Only inserts that cannot fail on a row count (no update, upsert or returning), and
/// guards. In a merged run a guard sees the inserts of the whole run, not only those of
/// its changeset: inserts only add rows, so that can fail a guard that would have held
/// (then the batch is retried with savepoints) but never pass one that would have failed.
fn insert_only(seq: &[&Statement]) -> bool {
    seq.iter().all(|st| match st {
        Statement::Bulk { .. } | Statement::Guard { .. } => true,
        Statement::Exec {
            sql,
            params,
            expect: Expect::Any,
        } => plain_insert(sql, params.len()).is_some(),
        _ => false,
    })
}

/// Same statements in the same order (a bulk insert into the same table and columns counts
/// as the same, whatever its number of rows).
fn same_shape(a: &[&Statement], b: &[&Statement]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (
                Statement::Exec {
                    sql: s1,
                    params: p1,
                    expect: Expect::Any,
                },
                Statement::Exec {
                    sql: s2,
                    params: p2,
                    expect: Expect::Any,
                },
            ) => s1 == s2 && p1.len() == p2.len(),
            (
                Statement::Bulk {
                    table: t1,
                    columns: c1,
                    ..
                },
                Statement::Bulk {
                    table: t2,
                    columns: c2,
                    ..
                },
            ) => t1 == t2 && c1 == c2,
            (Statement::Guard { sql: s1, .. }, Statement::Guard { sql: s2, .. }) => s1 == s2,
            _ => false,
        })
}

/// One statement position of a run of same-shape changesets as multi-row INSERTs, rows in
/// changeset order (so outbox sequence numbers follow commit order as before).
async fn merged_insert_jobs<'a>(
    conn: &Object,
    column: impl Iterator<Item = &'a Statement>,
    jobs: &mut Vec<Job<'a>>,
) -> Result<()> {
    let mut head = String::new();
    let mut width = 0;
    let mut rows: Vec<&[Val]> = Vec::new();
    let column: Vec<&Statement> = column.collect();
    if column
        .iter()
        .all(|st| matches!(st, Statement::Guard { .. }))
    {
        // Guards are queries: each goes as it is, after the run's inserts before it.
        return push_jobs(conn, column.into_iter(), jobs).await;
    }
    for st in column {
        match st {
            Statement::Exec { sql, params, .. } => {
                if head.is_empty() {
                    head = plain_insert(sql, params.len())
                        .unwrap_or_default()
                        .to_string();
                    width = params.len();
                }
                rows.push(params);
            }
            Statement::Bulk {
                table,
                columns,
                rows: r,
            } => {
                if head.is_empty() {
                    head = format!("INSERT INTO {table} ({})", columns.join(", "));
                    width = columns.len();
                }
                rows.extend(r.iter().map(Vec::as_slice));
            }
            Statement::Guard { .. } => {}
        }
    }
    if head.is_empty() || width == 0 {
        return Ok(());
    }
    // PostgreSQL takes at most 65,535 parameters per statement. Chunks of a power of two
    // rows keep the prepared statements cached per connection to a few per table.
    let most = (u16::MAX as usize / width).clamp(1, BULK_ROWS);
    let most = 1 << most.ilog2();
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let size = if rest.len() >= most {
            most
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let sql = multi_row_insert(&head, width, chunk.len());
        jobs.push(Job {
            params: chunk
                .iter()
                .flat_map(|r| r.iter())
                .cloned()
                .collect::<Vec<_>>()
                .into(),
            kind: JobKind::Exec(conn.prepare_cached(&sql).await.map_err(backend)?, &ANY_ROWS),
        });
    }
    Ok(())
}

/// `head VALUES ($1, $2), ($3, $4), …`: `rows` rows of `width` parameters.
fn multi_row_insert(head: &str, width: usize, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    format!("{head} VALUES {}", values.join(", "))
}

/// One statement ready to send: a write or a guard (must return no row).
struct Job<'a> {
    params: std::borrow::Cow<'a, [Val]>,
    kind: JobKind<'a>,
}

enum JobKind<'a> {
    Exec(tokio_postgres::Statement, &'a Expect),
    Guard(tokio_postgres::Statement, &'a str),
    /// A simple-protocol command (`BEGIN`).
    Simple(&'static str),
}

/// Prepares (cached) the statements of a changeset; guards come last in a changeset's
/// statements, so they see its writes.
async fn push_jobs<'a>(
    conn: &Object,
    stmts: impl Iterator<Item = &'a Statement>,
    jobs: &mut Vec<Job<'a>>,
) -> Result<()> {
    for st in stmts {
        match st {
            Statement::Guard { sql, params, what } => jobs.push(Job {
                params: params.as_slice().into(),
                kind: JobKind::Guard(conn.prepare_cached(sql).await.map_err(backend)?, what),
            }),
            Statement::Exec {
                sql,
                params,
                expect,
            } => jobs.push(Job {
                params: params.as_slice().into(),
                kind: JobKind::Exec(conn.prepare_cached(sql).await.map_err(backend)?, expect),
            }),
            Statement::Bulk {
                table,
                columns,
                rows,
            } => {
                for chunk in rows.chunks(BULK_ROWS) {
                    let sql = multi_row_insert(
                        &format!("INSERT INTO {table} ({})", columns.join(", ")),
                        columns.len(),
                        chunk.len(),
                    );
                    jobs.push(Job {
                        params: chunk.iter().flatten().cloned().collect::<Vec<_>>().into(),
                        kind: JobKind::Exec(
                            conn.prepare_cached(&sql).await.map_err(backend)?,
                            &ANY_ROWS,
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Sends every job before awaiting the first answer (tokio-postgres pipelines the
/// requests of one connection in the order they are first polled); returns the first
/// failure in job order.
async fn run_jobs(conn: &Object, jobs: &[Job<'_>]) -> Option<StoreError> {
    let sent = jobs.iter().map(|j| async move {
        let p = params(&j.params);
        match &j.kind {
            JobKind::Simple(sql) => conn.batch_execute(sql).await.err().map(backend),
            JobKind::Exec(stmt, expect) => match conn.execute(stmt, &p).await {
                Ok(n) => match expect {
                    Expect::One(err, what) if n != 1 => Some(err(what)),
                    _ => None,
                },
                Err(e) => Some(map_write_error(e)),
            },
            JobKind::Guard(stmt, what) => match conn.query_opt(stmt, &p).await {
                Ok(None) => None,
                Ok(Some(_)) => Some(StoreError::Precondition {
                    what: what.to_string(),
                }),
                Err(e) => Some(backend(e)),
            },
        }
    });
    futures::future::join_all(sent)
        .await
        .into_iter()
        .flatten()
        .next()
}

/// Applies one changeset inside its own savepoint, pipelined (statements, then release or
/// rollback: two round trips). On failure the savepoint is rolled back and `head` is left
/// unchanged.
async fn apply(conn: &Object, prepared: &Prepared, head: &mut (i64, String)) -> Result<Receipt> {
    let mut receipt = Receipt::default();
    let mut next_head = head.clone();
    let audit = seal_audit(prepared, &mut next_head, &mut receipt);
    let savepoint = Statement::Exec {
        sql: "SAVEPOINT cs",
        params: vec![],
        expect: Expect::Any,
    };
    let mut jobs = Vec::new();
    push_jobs(
        conn,
        std::iter::once(&savepoint)
            .chain(prepared.statements.iter())
            .chain(&audit),
        &mut jobs,
    )
    .await?;
    match run_jobs(conn, &jobs).await {
        None => {
            conn.batch_execute("RELEASE cs").await.map_err(backend)?;
            *head = next_head;
            Ok(receipt)
        }
        Some(e) => {
            conn.batch_execute("ROLLBACK TO cs; RELEASE cs")
                .await
                .map_err(backend)?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain_insert;

    #[test]
    fn only_inserts_of_parameters_in_order_can_take_more_rows() {
        let sql = "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)";
        assert_eq!(plain_insert(sql, 3), Some("INSERT INTO t (a, b, c)"));
        assert_eq!(plain_insert(sql, 2), None, "a parameter left over");
        assert_eq!(plain_insert(sql, 4), None, "a parameter missing");
        assert_eq!(
            plain_insert("INSERT INTO t (a, b) VALUES ($2, $1)", 2),
            None,
            "parameters out of order"
        );
        assert_eq!(
            plain_insert("INSERT INTO t (a, b) VALUES ($1, now())", 1),
            None,
            "an expression"
        );
        assert_eq!(
            plain_insert("INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING", 1),
            None,
            "an upsert"
        );
        assert_eq!(plain_insert("UPDATE t SET a = $1", 1), None);
        let wide = format!(
            "INSERT INTO t VALUES ({})",
            (1..=12)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert_eq!(plain_insert(&wide, 12), Some("INSERT INTO t"));
    }
}
