//! Embedded SQLite backend: one writer thread with group commit; reads on per-thread
//! connections (point lookups run inline on the calling thread: a prepared, indexed SQLite
//! read takes microseconds, less than handing it to another thread) or, for scans, on the
//! blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, params_from_iter};
use tokio::sync::{mpsc, oneshot};
use tongguan_domain::audit::{self, GENESIS_HASH};

use crate::changeset::{Expect, Statement, audit_statement};
use crate::{Changeset, Prepared, Receipt, Result, RowLike, StoreError, StoreOptions, Val};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "0002_clearance",
        include_str!("../migrations/sqlite/0002_clearance.sql"),
    ),
    (
        3,
        "0003_taxes",
        include_str!("../migrations/sqlite/0003_taxes.sql"),
    ),
    (
        4,
        "0004_ports",
        include_str!("../migrations/sqlite/0004_ports.sql"),
    ),
    (
        5,
        "0005_legs",
        include_str!("../migrations/sqlite/0005_legs.sql"),
    ),
    (
        6,
        "0006_declaration_port",
        include_str!("../migrations/sqlite/0006_declaration_port.sql"),
    ),
    (
        7,
        "0007_outbox",
        include_str!("../migrations/sqlite/0007_outbox.sql"),
    ),
    (
        8,
        "0008_origin",
        include_str!("../migrations/sqlite/0008_origin.sql"),
    ),
    (
        9,
        "0009_lz4",
        include_str!("../migrations/sqlite/0009_lz4.sql"),
    ),
    (
        10,
        "0010_declaration_indexes",
        include_str!("../migrations/sqlite/0010_declaration_indexes.sql"),
    ),
    (
        11,
        "0011_declaration_list",
        include_str!("../migrations/sqlite/0011_declaration_list.sql"),
    ),
];

/// The outcome, and the changeset handed back so that its caller frees it: the writer is the
/// one serial thread, and freeing a batch's statement values there (memory allocated on the
/// runtime's threads, so mimalloc's slower cross-thread free) took 7 % of its time.
type Reply = oneshot::Sender<(Result<Receipt>, Box<Prepared>)>;

enum Msg {
    Commit(Box<Prepared>, Reply),
    Close(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct SqliteStore {
    tx: mpsc::Sender<Msg>,
    readers: Arc<ReaderPool>,
}

struct ReaderPool {
    /// Distinguishes stores in one process for the per-thread connection cache.
    id: u64,
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    options: StoreOptions,
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Maps a constraint failure to the error the app layer understands.
fn map_write_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, Some(msg)) = &e
        && code.code == rusqlite::ErrorCode::ConstraintViolation
        && let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ")
    {
        if cols.starts_with("idempotency.") {
            return StoreError::IdempotencyKeyUsed;
        }
        let first = cols.split(',').next().unwrap_or(cols).trim();
        return StoreError::Duplicate {
            constraint: first.to_string(),
        };
    }
    backend(e)
}

/// Bytes of the database file read through a memory map instead of `read` system calls
/// (pages not in the WAL); reading overflow pages of declaration bodies was ~10 % of the
/// clearance benchmark's time in system calls.
const MMAP_BYTES: u64 = 1 << 30;

/// How often the checkpointer copies committed WAL frames into the database file. The
/// writer does not copy frames itself: a checkpoint with its fsync stalled the commit path
/// (8 % of the clearance benchmark's time, on the writer thread); it only starts the WAL
/// over when asked (`Writer::restart_wal`).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Longest the checkpointer tries to let the WAL start over by itself before it asks the
/// writer to start it over (`catch_up`).
const WAL_CATCH_UP: std::time::Duration = std::time::Duration::from_millis(100);

/// Longest the writer waits for readers of old WAL frames when it starts the WAL over.
const WAL_RESTART_PATIENCE: std::time::Duration = std::time::Duration::from_millis(100);

/// The WAL file is truncated (`journal_size_limit`) only past this many times its limit:
/// after an ordinary start over it keeps its size. A truncation fell on the first commit
/// after every start over and made it take 10–38 ms under 5,000 submissions/s (an ext4
/// journal commit freeing the blocks); with the file kept, arrival → release p99 under that
/// load went from 19.9 / 20.9 / 7.7 to 9.6 / 7.7 / 5.9 ms in three pairs. A reader holding
/// an old snapshot that lets the WAL grow far past its limit still gets it truncated.
const WAL_KEEP_FACTOR: u64 = 4;

/// WAL frames (of SQLite's default 4 KiB page) past which the WAL is started over
/// ([`StoreOptions::sqlite_wal_limit_bytes`]).
fn wal_restart_frames(options: &StoreOptions) -> i64 {
    i64::try_from(options.sqlite_wal_limit_bytes / 4096).unwrap_or(i64::MAX)
}

fn open_conn(path: &Path, options: &StoreOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend)?;
    conn.busy_timeout(options.busy_timeout).map_err(backend)?;
    let sync = if options.sqlite_synchronous_full {
        "FULL"
    } else {
        "NORMAL"
    };
    // temp_store: savepoint sub-journals (and sorts) in memory rather than temporary files,
    // which cost a write system call per page.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = {MMAP_BYTES}; PRAGMA journal_size_limit = {};",
        options.sqlite_wal_limit_bytes.saturating_mul(WAL_KEEP_FACTOR)
    ))
    .map_err(backend)?;
    // Query planner stability: plans do not depend on bound values, so a cached statement is
    // never re-prepared when its parameters change (profiling showed point lookups by bill
    // number re-prepared on every call, 7 % of the clearance benchmark's time).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .map_err(backend)?;
    for (version, name, sql) in MIGRATIONS {
        let tx = conn.transaction().map_err(backend)?;
        let done: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if done == 0 {
            tracing::info!(version, name, "applying sqlite migration");
            tx.execute_batch(sql).map_err(backend)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, datetime('now'))",
                rusqlite::params![version, name],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

fn audit_head(conn: &Connection) -> Result<(i64, String)> {
    let mut stmt = conn
        .prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(r) => Ok((r.get(0).map_err(backend)?, r.get(1).map_err(backend)?)),
        None => Ok((0, GENESIS_HASH.to_string())),
    }
}

impl SqliteStore {
    pub async fn open(path: &Path, options: StoreOptions) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let writer_path = path.to_path_buf();
        let opts = options.clone();
        let (conn, head) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut conn = open_conn(&writer_path, &opts)?;
            migrate(&mut conn)?;
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
                .map_err(backend)?;
            let head = audit_head(&conn)?;
            Ok((conn, head))
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))??;
        let (tx, rx) = mpsc::channel(options.max_batch * 8);
        let (max_batch, busy_timeout) = (options.max_batch, options.busy_timeout);
        let checkpoint_conn = open_conn(path, &options)?;
        let restart_frames = wal_restart_frames(&options);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let restart = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (writer_stop, writer_restart) = (stop.clone(), restart.clone());
        std::thread::Builder::new()
            .name("tongguan-sqlite-writer".into())
            .spawn(move || {
                Writer {
                    conn,
                    head,
                    max_batch,
                    bulk_sql: HashMap::new(),
                    restart: writer_restart,
                    busy_timeout,
                }
                .run(rx);
                writer_stop.store(true, std::sync::atomic::Ordering::Release);
            })
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        std::thread::Builder::new()
            .name("tongguan-sqlite-checkpoint".into())
            .spawn(move || checkpoint(checkpoint_conn, restart_frames, &stop, &restart))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let readers = Arc::new(ReaderPool {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            options,
        });
        Ok(Self { tx, readers })
    }

    pub async fn commit(&self, cs: Changeset) -> Result<Receipt> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Commit(Box::new(Prepared::new(cs)), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        let (result, prepared) = rx.await.map_err(|_| StoreError::Closed)?;
        drop(prepared);
        result
    }

    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Msg::Close(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// A point lookup on this thread's own connection.
    pub fn query_inline<T>(
        &self,
        sql: &'static str,
        params: Vec<Val>,
        map: fn(&dyn RowLike) -> Result<T>,
    ) -> Result<Vec<T>> {
        thread_local! {
            static READERS: std::cell::RefCell<std::collections::HashMap<u64, Connection>> =
                std::cell::RefCell::new(std::collections::HashMap::new());
        }
        READERS.with(|readers| {
            let mut readers = readers.borrow_mut();
            let conn = match readers.entry(self.readers.id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(open_conn(&self.readers.path, &self.readers.options)?)
                }
            };
            run_query(conn, sql, &params, map)
        })
    }

    /// A scan, on the blocking pool so it does not hold up other requests.
    pub async fn query<T: Send + 'static>(
        &self,
        sql: std::borrow::Cow<'static, str>,
        params: Vec<Val>,
        map: fn(&dyn RowLike) -> Result<T>,
    ) -> Result<Vec<T>> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let result = run_query(&conn, &sql, &params, map);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    pub async fn execute_raw(&self, sql: &str) -> Result<()> {
        let pool = self.readers.clone();
        let sql = sql.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = open_conn(&pool.path, &pool.options)?;
            conn.execute_batch(&sql).map_err(backend)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

/// Copies committed WAL frames into the database file every [`CHECKPOINT_EVERY`] until the
/// writer stops, then once more with the WAL truncated. Passive: it never waits and never
/// holds up the writer. Past `restart_frames` it first tries to let the WAL start over by
/// itself (`catch_up`), then asks the writer to start it over (`restart`): under continuous
/// reads a passive checkpoint every 200 ms alone never lets the WAL restart (it grew by 40 MB
/// a second in the clearance benchmark), and a restarting checkpoint run here held the write
/// lock while it waited for readers, so the writer slept in its busy handler: background
/// submissions at 2,000/s had a p99 of 860–890 ms with it here, 100–280 ms with the restart
/// on the writer.
fn checkpoint(
    conn: Connection,
    restart_frames: i64,
    stop: &std::sync::atomic::AtomicBool,
    restart: &std::sync::atomic::AtomicBool,
) {
    let mut last = 0;
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        std::thread::sleep(CHECKPOINT_EVERY);
        match passive_checkpoint(&conn) {
            // Nothing written since the last look and all of it copied: the writer is idle,
            // and its next write starts the WAL over by itself (or, if a reader holds an old
            // snapshot then, adds frames, and the next look catches up). Without this an
            // idle server past the limit caught up for 100 ms of every 300.
            Ok((frames, copied)) if frames == last && copied == frames => {}
            Ok((frames, _)) if frames > restart_frames => {
                if !catch_up(&conn, frames, stop) {
                    restart.store(true, std::sync::atomic::Ordering::Release)
                }
                last = frames;
            }
            Ok((frames, _)) => last = frames,
            Err(e) => tracing::warn!(error = %e, "sqlite checkpoint failed"),
        }
    }
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

/// One passive checkpoint: the WAL's frames and how many of them are now in the database
/// file.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Passive checkpoints back to back until the WAL has started over, for at most
/// [`WAL_CATCH_UP`]; `false` if it has not. SQLite starts a WAL over by itself, for free,
/// when a write transaction begins with every frame already in the database file (and no
/// reader on an older snapshot): a pass that lands between two batches gives the writer
/// that start. The writer's own restart (`Writer::restart_wal`) copies the last frames and
/// fsyncs the database file while holding the write lock — 15–38 ms under 5,000
/// submissions/s when it came after a checkpoint 200 ms old, every arrival report behind
/// it waiting; after these passes only a batch or two is left to copy (1–6 ms measured).
fn catch_up(conn: &Connection, mut frames: i64, stop: &std::sync::atomic::AtomicBool) -> bool {
    let deadline = std::time::Instant::now() + WAL_CATCH_UP;
    while std::time::Instant::now() < deadline && !stop.load(std::sync::atomic::Ordering::Acquire) {
        match passive_checkpoint(conn) {
            // The WAL holds fewer frames than before: the writer started it over.
            Ok((now, _)) if now < frames => {
                metrics::counter!("tongguan_store_wal_restarts", "backend" => "sqlite", "by" => "itself")
                    .increment(1);
                return true;
            }
            Ok((now, copied)) => {
                frames = now;
                if copied == now {
                    // All in the database file: give the writer its next batch.
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "sqlite checkpoint failed");
                return false;
            }
        }
    }
    false
}

/// Parameter names `$1..$64`, so binding does not format a name per parameter.
static PARAM_NAMES: [&str; 64] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24", "$25", "$26", "$27", "$28",
    "$29", "$30", "$31", "$32", "$33", "$34", "$35", "$36", "$37", "$38", "$39", "$40", "$41",
    "$42", "$43", "$44", "$45", "$46", "$47", "$48", "$49", "$50", "$51", "$52", "$53", "$54",
    "$55", "$56", "$57", "$58", "$59", "$60", "$61", "$62", "$63", "$64",
];

/// Binds `$1..$n` by name: SQLite numbers `$N` parameters in order of first appearance, so
/// positional binding would go wrong in statements that use `$1` after `$2`.
fn bind_numbered(stmt: &mut rusqlite::CachedStatement<'_>, params: &[Val]) -> Result<()> {
    for (i, v) in params.iter().enumerate() {
        let formatted;
        let name = match PARAM_NAMES.get(i) {
            Some(n) => *n,
            None => {
                formatted = format!("${}", i + 1);
                &formatted
            }
        };
        let idx = stmt
            .parameter_index(name)
            .map_err(backend)?
            .ok_or_else(|| StoreError::Backend(format!("statement has no parameter {name}")))?;
        stmt.raw_bind_parameter(idx, v).map_err(backend)?;
    }
    Ok(())
}

fn run_query<T>(
    conn: &Connection,
    sql: &str,
    params: &[Val],
    map: fn(&dyn RowLike) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    bind_numbered(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        out.push(map(r)?);
    }
    Ok(out)
}

impl ReaderPool {
    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(c) => Ok(c),
            None => open_conn(&self.path, &self.options),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut v) = self.idle.lock()
            && v.len() < self.options.readers
        {
            v.push(conn);
        }
    }
}

struct Writer {
    conn: Connection,
    /// Last sealed audit row: (seq, hash).
    head: (i64, String),
    max_batch: usize,
    /// The INSERT text of each bulk shape, built once (formatting it per statement cost 3 %
    /// of the writer thread).
    bulk_sql: HashMap<(&'static str, &'static [&'static str]), String>,
    /// Set by the checkpointer when the WAL has outgrown its limit.
    restart: Arc<std::sync::atomic::AtomicBool>,
    /// The connection's usual busy timeout, restored after a WAL restart.
    busy_timeout: std::time::Duration,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch: Vec<(Box<Prepared>, Reply)> = Vec::with_capacity(self.max_batch);
        while let Some(first) = rx.blocking_recv() {
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
                self.commit_batch(&mut first);
            }
            if !batch.is_empty() {
                self.commit_batch(&mut batch);
            }
            if self
                .restart
                .swap(false, std::sync::atomic::Ordering::AcqRel)
            {
                self.restart_wal();
            }
            if let Some(done) = close {
                let _ = done.send(());
                break;
            }
        }
    }

    /// Starts the WAL over between two batches, when it has not started over by itself
    /// (`catch_up`; 1–6 ms under 5,000 submissions/s, 15–38 ms without the catch-up). Here,
    /// on the writer, the checkpoint waits only for the frames the checkpointer has not
    /// copied yet and for readers of old frames, and no other connection holds the write
    /// lock meanwhile. A reader holding an old snapshot (a long scan) is not waited for
    /// longer than [`WAL_RESTART_PATIENCE`]: the WAL then grows until the next request.
    fn restart_wal(&mut self) {
        let started = std::time::Instant::now();
        let restarted = self
            .conn
            .busy_timeout(WAL_RESTART_PATIENCE)
            .and_then(|()| self.conn.execute_batch("PRAGMA wal_checkpoint(RESTART)"));
        // Restored whether or not the restart worked.
        let restored = self.conn.busy_timeout(self.busy_timeout);
        if let Err(e) = restarted.and(restored) {
            tracing::warn!(error = %e, "sqlite WAL restart failed");
        }
        metrics::histogram!("tongguan_store_wal_restart_seconds", "backend" => "sqlite")
            .record(started.elapsed().as_secs_f64());
    }

    /// Commits a batch in one transaction: first optimistically, every changeset without a
    /// savepoint; if any statement fails, the transaction is rolled back and the batch is
    /// applied again with a savepoint per changeset so that only the failing changesets fail.
    /// Failures are rare (a reused idempotency key, a version conflict, a guard), and a
    /// savepoint per changeset cost a sub-journal copy of every page it touched.
    fn commit_batch(&mut self, batch: &mut Vec<(Box<Prepared>, Reply)>) {
        let started = std::time::Instant::now();
        let saved = self.head.clone();
        let optimistic = (|| -> Result<Option<Vec<Result<Receipt>>>> {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(backend)?;
            let mut results = Vec::with_capacity(batch.len());
            for (prepared, _) in batch.iter() {
                match self.apply(prepared) {
                    Ok(receipt) => results.push(Ok(receipt)),
                    Err(_) => return Ok(None),
                }
            }
            self.conn.execute_batch("COMMIT").map_err(backend)?;
            Ok(Some(results))
        })();
        let outcome = match optimistic {
            Ok(Some(results)) => Ok(results),
            Ok(None) => {
                metrics::counter!("tongguan_store_batch_retries", "backend" => "sqlite")
                    .increment(1);
                self.head = saved;
                self.commit_with_savepoints(batch)
            }
            Err(e) => Err(e),
        };
        let results = match outcome {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, "sqlite batch commit failed");
                let _ = self.conn.execute_batch("ROLLBACK");
                match audit_head(&self.conn) {
                    Ok(h) => self.head = h,
                    Err(e2) => tracing::error!(error = %e2, "cannot re-read audit head"),
                }
                for (prepared, reply) in batch.drain(..) {
                    let _ = reply.send((Err(StoreError::Backend(e.to_string())), prepared));
                }
                return;
            }
        };
        metrics::histogram!("tongguan_store_batch_size", "backend" => "sqlite")
            .record(batch.len() as f64);
        metrics::histogram!("tongguan_store_batch_seconds", "backend" => "sqlite")
            .record(started.elapsed().as_secs_f64());
        for ((prepared, reply), result) in batch.drain(..).zip(results) {
            let _ = reply.send((result, prepared));
        }
    }

    /// The batch again after a failed optimistic attempt: each changeset in its savepoint.
    fn commit_with_savepoints(
        &mut self,
        batch: &[(Box<Prepared>, Reply)],
    ) -> Result<Vec<Result<Receipt>>> {
        self.conn.execute_batch("ROLLBACK").map_err(backend)?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(backend)?;
        let mut results = Vec::with_capacity(batch.len());
        for (prepared, _) in batch {
            let saved = self.head.clone();
            self.conn
                .prepare_cached("SAVEPOINT cs")
                .and_then(|mut st| st.execute([]))
                .map_err(backend)?;
            match self.apply(prepared) {
                Ok(receipt) => {
                    self.conn
                        .prepare_cached("RELEASE cs")
                        .and_then(|mut st| st.execute([]))
                        .map_err(backend)?;
                    results.push(Ok(receipt));
                }
                Err(e) => {
                    self.conn
                        .execute_batch("ROLLBACK TO cs; RELEASE cs")
                        .map_err(backend)?;
                    self.head = saved;
                    results.push(Err(e));
                }
            }
        }
        self.conn.execute_batch("COMMIT").map_err(backend)?;
        Ok(results)
    }

    fn apply(&mut self, prepared: &Prepared) -> Result<Receipt> {
        for st in &prepared.statements {
            self.exec(st)?;
        }
        let mut receipt = Receipt::default();
        for draft in &prepared.audit {
            let seq = self.head.0 + 1;
            let rec = audit::seal(seq, draft.clone(), &self.head.1);
            self.exec(&audit_statement(&rec))?;
            self.head = (seq, rec.hash);
            receipt.audit_seqs.push(seq);
        }
        Ok(receipt)
    }

    fn exec(&mut self, st: &Statement) -> Result<()> {
        match st {
            Statement::Exec {
                sql,
                params,
                expect,
            } => {
                let mut stmt = self.conn.prepare_cached(sql).map_err(backend)?;
                bind_numbered(&mut stmt, params)?;
                let n = stmt.raw_execute().map_err(map_write_error)?;
                if let Expect::One(err, what) = expect
                    && n != 1
                {
                    return Err(err(what));
                }
                Ok(())
            }
            Statement::Guard { sql, params, what } => {
                let mut stmt = self.conn.prepare_cached(sql).map_err(backend)?;
                bind_numbered(&mut stmt, params)?;
                let mut rows = stmt.raw_query();
                if rows.next().map_err(backend)?.is_some() {
                    return Err(StoreError::Precondition { what: what.clone() });
                }
                Ok(())
            }
            Statement::Bulk {
                table,
                columns,
                rows,
            } => {
                let sql = self.bulk_sql.entry((table, columns)).or_insert_with(|| {
                    let placeholders: Vec<String> =
                        (1..=columns.len()).map(|i| format!("?{i}")).collect();
                    format!(
                        "INSERT INTO {table} ({}) VALUES ({})",
                        columns.join(", "),
                        placeholders.join(", ")
                    )
                });
                let mut stmt = self.conn.prepare_cached(sql).map_err(backend)?;
                for row in rows {
                    stmt.execute(params_from_iter(row.iter()))
                        .map_err(map_write_error)?;
                }
                Ok(())
            }
        }
    }
}
