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
];

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
        sql: &'static str,
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

    async fn commit_batch(&mut self, batch: &mut Vec<(Box<Prepared>, Reply)>) {
        let started = std::time::Instant::now();
        let lock = self.lock;
        let outcome = async {
            let conn = self.connection().await?;
            conn.batch_execute("BEGIN").await.map_err(backend)?;
            conn.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
                .await
                .map_err(backend)?;
            let mut head = match conn
                .query_opt(
                    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                    &[],
                )
                .await
                .map_err(backend)?
            {
                Some(r) => (r.get::<_, i64>(0), r.get::<_, String>(1)),
                None => (0, GENESIS_HASH.to_string()),
            };
            let mut results = Vec::with_capacity(batch.len());
            for (prepared, _) in batch.iter_mut() {
                results.push(apply(conn, std::mem::take(&mut **prepared), &mut head).await);
            }
            conn.batch_execute("COMMIT").await.map_err(backend)?;
            Ok::<_, StoreError>(results)
        }
        .await;
        match outcome {
            Ok(results) => {
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
}

/// One statement ready to send.
struct Job {
    stmt: tokio_postgres::Statement,
    params: Vec<Val>,
    expect: Expect,
}

/// Applies one changeset inside its own savepoint, pipelined: every statement is sent
/// before the first answer is awaited, so a changeset costs two round trips (statements,
/// then release or rollback), not one per statement. On failure the savepoint is rolled back and `head` is left unchanged.
async fn apply(conn: &Object, prepared: Prepared, head: &mut (i64, String)) -> Result<Receipt> {
    let mut stmts = prepared.statements;
    let mut receipt = Receipt::default();
    let mut next_head = head.clone();
    for draft in prepared.audit {
        let seq = next_head.0 + 1;
        let rec = audit::seal(seq, draft, &next_head.1);
        stmts.push(audit_statement(&rec));
        next_head = (seq, rec.hash);
        receipt.audit_seqs.push(seq);
    }
    let mut jobs = vec![Job {
        stmt: conn.prepare_cached("SAVEPOINT cs").await.map_err(backend)?,
        params: vec![],
        expect: Expect::Any,
    }];
    let mut guards = Vec::new();
    for st in stmts {
        match st {
            Statement::Guard { sql, params, what } => guards.push((
                conn.prepare_cached(sql).await.map_err(backend)?,
                params,
                what,
            )),
            Statement::Exec {
                sql,
                params,
                expect,
            } => jobs.push(Job {
                stmt: conn.prepare_cached(sql).await.map_err(backend)?,
                params,
                expect,
            }),
            Statement::Bulk {
                table,
                columns,
                rows,
            } => {
                for chunk in rows.chunks(BULK_ROWS) {
                    let width = columns.len();
                    let values: Vec<String> = (0..chunk.len())
                        .map(|r| {
                            let cells: Vec<String> =
                                (1..=width).map(|c| format!("${}", r * width + c)).collect();
                            format!("({})", cells.join(", "))
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        columns.join(", "),
                        values.join(", ")
                    );
                    jobs.push(Job {
                        stmt: conn.prepare_cached(&sql).await.map_err(backend)?,
                        params: chunk.iter().flatten().cloned().collect(),
                        expect: Expect::Any,
                    });
                }
            }
        }
    }
    let bound: Vec<Vec<&(dyn ToSql + Sync)>> = jobs.iter().map(|j| params(&j.params)).collect();
    let sent = jobs
        .iter()
        .zip(&bound)
        .map(|(j, p)| conn.execute(&j.stmt, p));
    let results = futures::future::join_all(sent).await;
    let mut failure = None;
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(n) => {
                if let Expect::One(err, what) = &job.expect
                    && n != 1
                    && failure.is_none()
                {
                    failure = Some(err(what));
                }
            }
            Err(e) => {
                if failure.is_none() {
                    failure = Some(map_write_error(e));
                }
            }
        }
    }
    if failure.is_none() && !guards.is_empty() {
        let bound: Vec<Vec<&(dyn ToSql + Sync)>> = guards.iter().map(|g| params(&g.1)).collect();
        let checks = guards
            .iter()
            .zip(&bound)
            .map(|(g, p)| conn.query_opt(&g.0, p));
        for (g, r) in guards.iter().zip(futures::future::join_all(checks).await) {
            match r {
                Ok(None) => {}
                Ok(Some(_)) => {
                    failure = Some(StoreError::Precondition { what: g.2.clone() });
                    break;
                }
                Err(e) => {
                    failure = Some(backend(e));
                    break;
                }
            }
        }
    }
    match failure {
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
