//! Storage behaviour on SQLite and, when TONGGUAN_TEST_DATABASE_URL is set, PostgreSQL:
//! group commit isolates failures per changeset, optimistic concurrency, the audit chain
//! continues across restarts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use tongguan_domain::audit::AuditDraft;
use tongguan_domain::codes::{
    CustomsRegistrationCode, Uscc, organisation_code_check, uscc_check_character,
};
use tongguan_domain::enterprise::{CreditLevel, Enterprise};
use tongguan_store::{Changeset, IdempotencyRecord, Op, Store, StoreError, StoreOptions};
use uuid::Uuid;

fn uscc(n: u32) -> Uscc {
    let org = format!("MA5H{n:04}");
    let body = format!(
        "91440300{org}{}",
        organisation_code_check(org.as_bytes()).expect("org")
    );
    let check = uscc_check_character(body.as_bytes()).expect("check");
    Uscc::parse(&format!("{body}{check}")).expect("valid uscc")
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).expect("time")
}

fn enterprise(n: u32) -> Enterprise {
    Enterprise {
        id: Uuid::now_v7(),
        name: format!("Enterprise {n}"),
        uscc: uscc(n),
        customs_code: CustomsRegistrationCode::parse(&format!("440396{n:04}")).expect("code"),
        credit_level: CreditLevel::Routine,
        tags: vec![],
        address: None,
        contact_phone: None,
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

fn draft(what: &str) -> AuditDraft {
    AuditDraft {
        at: now(),
        actor: "test".into(),
        action: "enterprise.create".into(),
        object: what.into(),
        reason: "store test".into(),
        request_id: "t".into(),
    }
}

enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String, String),
}

impl Db {
    async fn open(&self) -> Store {
        match self {
            Db::Sqlite(dir) => Store::open(
                &format!("sqlite://{}", dir.path().join("s.sqlite3").display()),
                StoreOptions::default(),
            )
            .await
            .expect("sqlite"),
            Db::Postgres(url, schema) => {
                Store::open_postgres_schema(url, schema, StoreOptions::default())
                    .await
                    .expect("postgres")
            }
        }
    }
}

fn databases() -> Vec<Db> {
    let mut out = vec![Db::Sqlite(tempfile::tempdir().expect("tempdir"))];
    match std::env::var("TONGGUAN_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            out.push(Db::Postgres(url, format!("s_{}", Uuid::now_v7().simple())))
        }
        _ => eprintln!("TONGGUAN_TEST_DATABASE_URL not set: PostgreSQL run skipped"),
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_keeps_each_changeset_on_its_own() {
    for db in databases() {
        let store = db.open().await;
        // 300 concurrent commits; every 10th repeats an earlier USCC and must fail alone.
        let calls = (0..300u32).map(|i| {
            let store = store.clone();
            async move {
                let n = if i % 10 == 9 { i - 1 } else { i };
                let mut e = enterprise(n);
                if i % 10 == 9 {
                    e.customs_code =
                        CustomsRegistrationCode::parse(&format!("440397{i:04}")).expect("code");
                }
                let id = e.id;
                (
                    i,
                    id,
                    store
                        .commit(Changeset::new(
                            vec![Op::InsertEnterprise(e)],
                            draft(&format!("enterprise/{id}")),
                        ))
                        .await,
                )
            }
        });
        let results = futures::future::join_all(calls).await;
        let mut ok = 0;
        let mut failed_pairs = Vec::new();
        for (i, id, r) in &results {
            match r {
                Ok(receipt) => {
                    assert_eq!(receipt.audit_seqs.len(), 1);
                    assert!(store.enterprise(*id).await.expect("read").is_some());
                    ok += 1;
                }
                Err(StoreError::Duplicate { constraint }) => {
                    // Either one of a pair sharing a USCC may commit first; the other fails.
                    assert!(i % 10 >= 8, "only a USCC pair can collide, not #{i}");
                    failed_pairs.push(i / 10);
                    assert_eq!(constraint, "enterprises.uscc");
                    assert!(
                        store.enterprise(*id).await.expect("read").is_none(),
                        "nothing half-written"
                    );
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, 270);
        failed_pairs.sort();
        assert_eq!(
            failed_pairs,
            (0..30).collect::<Vec<_>>(),
            "exactly one of each pair failed"
        );
        // The chain has exactly one row per successful changeset, in order, unbroken.
        assert_eq!(store.verify_audit_chain().await.expect("walk"), Ok(270));
        let seqs: Vec<i64> = store
            .audit_page(0, 1000)
            .await
            .expect("page")
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, (1..=270).collect::<Vec<_>>());
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_updates_are_refused_and_chain_survives_restart() {
    for db in databases() {
        let store = db.open().await;
        let e = enterprise(1);
        store
            .commit(Changeset::new(
                vec![Op::InsertEnterprise(e.clone())],
                draft("a"),
            ))
            .await
            .expect("insert");
        let mut first = e.clone();
        first.name = "First writer".into();
        first.version = 2;
        store
            .commit(Changeset::new(
                vec![Op::UpdateEnterprise {
                    enterprise: first,
                    expected_version: 1,
                }],
                draft("b"),
            ))
            .await
            .expect("first update");
        let mut second = e.clone();
        second.name = "Second writer, stale".into();
        second.version = 2;
        let err = store
            .commit(Changeset::new(
                vec![Op::UpdateEnterprise {
                    enterprise: second,
                    expected_version: 1,
                }],
                draft("c"),
            ))
            .await
            .expect_err("stale");
        assert!(matches!(err, StoreError::VersionMismatch { .. }), "{err}");
        assert_eq!(
            store
                .enterprise(e.id)
                .await
                .expect("read")
                .expect("row")
                .name,
            "First writer"
        );
        store.close().await;

        // A new process continues the same chain.
        let store = db.open().await;
        store
            .commit(Changeset::new(vec![], draft("after restart")))
            .await
            .expect("commit");
        assert_eq!(store.verify_audit_chain().await.expect("walk"), Ok(3));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_replies_read_back_whether_compressed_or_written_before() {
    for db in databases() {
        let store = db.open().await;
        let actor = Uuid::now_v7();
        let reply = serde_json::json!({
            "id": Uuid::now_v7(),
            "status": "accepted",
            "name": "深圳通关测试",
            "items": (1..=5).map(|i| serde_json::json!({"seq": i, "hs_code": "8471300000"})).collect::<Vec<_>>(),
        })
        .to_string();
        let e = enterprise(1);
        let id = e.id;
        store
            .commit(
                Changeset::new(
                    vec![Op::InsertEnterprise(e)],
                    draft(&format!("enterprise/{id}")),
                )
                .with_idempotency(Some(IdempotencyRecord {
                    actor_id: actor,
                    key: "k-1".into(),
                    request_hash: "h".into(),
                    status: 201,
                    body: reply.clone(),
                    created_at: now(),
                })),
            )
            .await
            .expect("commit");
        let stored = store
            .idempotency(actor, "k-1")
            .await
            .expect("read")
            .expect("record");
        assert_eq!((stored.status, stored.body.as_str()), (201, reply.as_str()));

        // A row written before replies were compressed holds the plain JSON.
        let plain = reply.replace("accepted", "released").replace('\'', "''");
        let value = match db {
            Db::Sqlite(_) => format!("'{plain}'"),
            Db::Postgres(..) => format!("convert_to('{plain}', 'UTF8')"),
        };
        store
            .execute_raw_for_tests(&format!(
                "UPDATE idempotency SET body = {value} WHERE key = 'k-1'"
            ))
            .await
            .expect("old row");
        let old = store
            .idempotency(actor, "k-1")
            .await
            .expect("read")
            .expect("record");
        assert_eq!(old.body, reply.replace("accepted", "released"));

        // A damaged compressed reply is reported as corruption of its table and column, not
        // a panic.
        let damaged = match db {
            Db::Sqlite(_) => "x'00ffffff7f0102'",
            Db::Postgres(..) => "'\\x00ffffff7f0102'::bytea",
        };
        store
            .execute_raw_for_tests(&format!(
                "UPDATE idempotency SET body = {damaged} WHERE key = 'k-1'"
            ))
            .await
            .expect("damage");
        let err = store.idempotency(actor, "k-1").await.expect_err("damaged");
        assert!(
            matches!(&err, StoreError::Corrupt { table, .. } if *table == "idempotency"),
            "{err:?}"
        );
        assert!(err.to_string().contains("column 4"), "{err}");
        store.close().await;
    }
}

/// Two servers on one PostgreSQL schema: each writer takes the chain's advisory lock and
/// reads the head under it, so their batches interleave into one unbroken chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_schema_keep_one_audit_chain() {
    for db in databases() {
        if let Db::Sqlite(_) = db {
            continue; // one process owns a SQLite file
        }
        let (a, b) = (db.open().await, db.open().await);
        // Instance `i % 2` registers enterprise `i`, audited.
        let register = |i: u32| {
            let store = if i.is_multiple_of(2) {
                a.clone()
            } else {
                b.clone()
            };
            async move {
                let e = enterprise(i);
                let id = e.id;
                store
                    .commit(Changeset::new(
                        vec![Op::InsertEnterprise(e)],
                        draft(&format!("enterprise/{id}")),
                    ))
                    .await
            }
        };
        // One after the other: each instance's last known head of the chain is stale by
        // the time it commits again, so it must notice and read the head afresh.
        for i in 1000..1004u32 {
            register(i).await.expect("alternating commit");
        }
        assert_eq!(a.verify_audit_chain().await.expect("walk"), Ok(4));
        for r in futures::future::join_all((0..200u32).map(register)).await {
            r.expect("commit");
        }
        assert_eq!(a.verify_audit_chain().await.expect("walk"), Ok(204));
        a.close().await;
        b.close().await;
    }
}

/// Another session holding what the writer needs, so changesets queue up behind it.
enum Blocker {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl Blocker {
    async fn hold(db: &Db) -> Blocker {
        match db {
            Db::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.path().join("s.sqlite3")).expect("open");
                c.execute_batch("BEGIN IMMEDIATE").expect("write lock");
                Blocker::Sqlite(c)
            }
            Db::Postgres(url, schema) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                client
                    .batch_execute(&format!(
                        "BEGIN; LOCK TABLE {schema}.audit_log IN ACCESS EXCLUSIVE MODE"
                    ))
                    .await
                    .expect("lock");
                Blocker::Postgres(client)
            }
        }
    }

    async fn release(self) {
        match self {
            Blocker::Sqlite(c) => c.execute_batch("COMMIT").expect("commit"),
            Blocker::Postgres(c) => c.batch_execute("COMMIT").await.expect("commit"),
        }
    }
}

/// An urgent changeset (an arrival report) queued behind submissions is committed first,
/// as soon as the writer is free, not after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_changesets_are_committed_ahead_of_the_queue() {
    for db in databases() {
        let store = db.open().await;
        let commit = |n: u32, urgent: bool| {
            let store = store.clone();
            tokio::spawn(async move {
                let e = enterprise(n);
                let id = e.id;
                let cs = Changeset::new(
                    vec![Op::InsertEnterprise(e)],
                    draft(&format!("enterprise/{id}")),
                );
                let cs = if urgent { cs.urgent() } else { cs };
                store.commit(cs).await.expect("commit").audit_seqs[0]
            })
        };
        let blocker = Blocker::hold(&db).await;
        // The writer takes the first changeset and waits for the lock with it...
        let first = commit(0, false);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // ...while twenty submissions and then an arrival report queue up.
        let queued: Vec<_> = (1..=20).map(|n| commit(n, false)).collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let urgent = commit(21, true);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        blocker.release().await;
        let first = first.await.expect("first");
        let urgent = urgent.await.expect("urgent");
        assert_eq!(urgent, first + 1, "the arrival report is committed next");
        for q in queued {
            assert!(q.await.expect("queued") > urgent);
        }
        assert_eq!(store.verify_audit_chain().await.expect("walk"), Ok(22));
        store.close().await;
    }
}

/// SQLite's WAL is started over once it passes its limit, though the store is written and
/// read without pause: without that it would hold every page ever written, and every read
/// would look pages up in an ever larger WAL index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_wal_starts_over_while_written_and_read() {
    const LIMIT: u64 = 256 << 10;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("s.sqlite3");
    let wal = dir.path().join("s.sqlite3-wal");
    let store = Store::open(
        &format!("sqlite://{}", file.display()),
        StoreOptions {
            sqlite_wal_limit_bytes: LIMIT,
            sqlite_synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .expect("sqlite");
    let actor = Uuid::now_v7();
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    // Stored replies of ~16 KB that do not compress: four pages each.
    let commit = |i: usize| {
        let store = store.clone();
        async move {
            let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ (i as u64 + 1);
            let body: String = (0..1000)
                .map(|_| {
                    // xorshift: noise LZ4 finds nothing to repeat in
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("{x:016x}")
                })
                .collect();
            store
                .commit(
                    Changeset::new(vec![], draft(&format!("call/{i}"))).with_idempotency(Some(
                        IdempotencyRecord {
                            actor_id: actor,
                            key: format!("k-{i}"),
                            request_hash: "h".into(),
                            status: 200,
                            body,
                            created_at: now(),
                        },
                    )),
                )
                .await
                .expect("commit");
        }
    };
    // Readers all the time, as under traffic.
    let reading = Arc::new(AtomicBool::new(true));
    let reader = tokio::spawn({
        let (store, reading) = (store.clone(), reading.clone());
        async move {
            let mut i = 0;
            while reading.load(Ordering::Relaxed) {
                store
                    .idempotency(actor, &format!("k-{i}"))
                    .await
                    .expect("read");
                i = (i + 1) % 64;
                tokio::task::yield_now().await;
            }
        }
    });
    let mut largest = 0;
    for round in 0..150 {
        futures::future::join_all((0..20).map(|k| commit(round * 20 + k))).await;
        if round >= 100 {
            largest = largest.max(size(&wal));
        }
    }
    // About 48 MB were stored (110 MB of pages went through the WAL); while that went on,
    // the WAL was started over again and again, so it never held as much as the database
    // (≈ 20 MB at most here; 110 MB when it is never started over).
    let stored = size(&file);
    assert!(stored > 30 << 20, "{stored} bytes stored");
    assert!(
        largest < stored,
        "the WAL grew to {largest} bytes ({stored} stored)"
    );
    reading.store(false, Ordering::Relaxed);
    reader.await.expect("reader");
    store.close().await;
}
