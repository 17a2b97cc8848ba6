//! Guarantee-quota ledger postings per second through the app's ledger path (load the
//! enterprise's ledger, apply with invariants checked, commit the transfer and the version
//! guard in one changeset), on SQLite and, when `TONGGUAN_BENCH_DATABASE_URL` (or
//! `TONGGUAN_TEST_DATABASE_URL`) is set, PostgreSQL.
//!
//! 100 enterprises with a quota each; 256 concurrent callers each reserve and then post
//! (two postings per declaration), retrying on a concurrent version change as the server
//! does. `cargo bench -p tongguan-server --bench ledger`.

/// The `tongguan` binary's allocator, so the numbers are those of what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tongguan_domain::identity::system_actor;
use tongguan_server::app::{App, Ctx, SystemClock};
use tongguan_server::config::Config;
use tongguan_store::{Changeset, Op, Store, StoreError, StoreOptions};
use tongguan_tax::ledger::Transfer;
use uuid::Uuid;

/// Defaults; `TONGGUAN_BENCH_LEDGER_ENTERPRISES`, `…_DECLARATIONS` and `…_CONCURRENCY`
/// override them (e.g. the same callers over a longer history per enterprise).
const ENTERPRISES: usize = 100;
const DECLARATIONS: usize = 10_000;
const CONCURRENCY: usize = 256;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(format!("TONGGUAN_BENCH_LEDGER_{name}"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn uscc(n: u32) -> String {
    let org = format!("MA5K{n:04}");
    let body = format!(
        "91440300{org}{}",
        tongguan_domain::codes::organisation_code_check(org.as_bytes()).unwrap_or('0')
    );
    let check = tongguan_domain::codes::uscc_check_character(body.as_bytes()).unwrap_or('0');
    format!("{body}{check}")
}

async fn commit_transfer(
    app: &App,
    sys: &Ctx,
    enterprise: Uuid,
    make: impl Fn() -> Transfer,
) -> u32 {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut ledger = app.load_ledger(enterprise).await.expect("ledger");
        ledger.apply(make()).expect("apply");
        let ops = ledger.ops().expect("ops");
        let audit = app.audit_draft(sys, "ledger.bench", "bench", "bench");
        match app.store.commit(Changeset::new(ops, audit)).await {
            Ok(_) => return attempts,
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    }
}

async fn run(label: &str, store: Store) {
    let (enterprise_count, declarations, concurrency) = (
        setting("ENTERPRISES", ENTERPRISES),
        setting("DECLARATIONS", DECLARATIONS),
        setting("CONCURRENCY", CONCURRENCY),
    );
    let app = App::start(store, Config::default(), Arc::new(SystemClock))
        .await
        .expect("start");
    let sys = Ctx {
        actor: system_actor(),
        request_id: "bench".into(),
        idempotency: None,
    };
    let mut enterprises = Vec::new();
    for i in 0..enterprise_count as u32 {
        let u = uscc(i);
        let e = tongguan_domain::enterprise::NewEnterprise::parse(
            &tongguan_domain::enterprise::EnterpriseInput {
                name: "Bench",
                uscc: &u,
                customs_code: &format!("440397{i:04}"),
                credit_level: "routine",
                tags: &[],
                address: None,
                contact_phone: None,
            },
            app.today(),
        )
        .expect("enterprise")
        .register(Uuid::now_v7(), app.now());
        let id = e.id;
        app.store
            .commit(Changeset::new(
                vec![Op::InsertEnterprise(e)],
                app.audit_draft(&sys, "bench", "bench", "seed"),
            ))
            .await
            .expect("seed");
        let now = app.now();
        commit_transfer(&app, &sys, id, || {
            Transfer::increase_quota(Uuid::now_v7(), id, 100_000_000_000, "guarantee/bench", now)
        })
        .await;
        enterprises.push(id);
    }
    let enterprises = Arc::new(enterprises);
    let app = Arc::new(app);
    let next = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (app, sys, next, enterprises, retries) = (
            app.clone(),
            sys.clone(),
            next.clone(),
            enterprises.clone(),
            retries.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= declarations {
                    break;
                }
                let e = enterprises[i % enterprises.len()];
                let reservation = Uuid::now_v7();
                let now = app.now();
                let a = commit_transfer(&app, &sys, e, || {
                    Transfer::reserve(reservation, e, 8_316_230, format!("declaration/{i}"), now)
                })
                .await;
                let post = Uuid::now_v7();
                let b = commit_transfer(&app, &sys, e, || {
                    Transfer::post(
                        post,
                        e,
                        reservation,
                        8_316_230,
                        format!("declaration/{i}"),
                        now,
                    )
                })
                .await;
                retries.fetch_add((a + b - 2) as usize, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    let postings = declarations * 2;
    println!(
        "{label}: {postings} ledger postings (reserve + post for {declarations} declarations over {enterprise_count} enterprises, {concurrency} concurrent): {:.0} postings/s, {} retries after concurrent changes",
        postings as f64 / secs,
        retries.load(Ordering::Relaxed)
    );
    app.store.close().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("ledger.sqlite3").display());
        run(
            "sqlite",
            Store::open(&url, StoreOptions::default())
                .await
                .expect("sqlite"),
        )
        .await;
        match std::env::var("TONGGUAN_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("TONGGUAN_TEST_DATABASE_URL"))
        {
            Ok(url) => {
                let schema = format!("ledger_{}", Uuid::now_v7().simple());
                run(
                    "postgres",
                    Store::open_postgres_schema(&url, &schema, StoreOptions::default())
                        .await
                        .expect("pg"),
                )
                .await;
            }
            Err(_) => println!("postgres: skipped (set TONGGUAN_BENCH_DATABASE_URL)"),
        }
    });
}
