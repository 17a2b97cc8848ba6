//! Clearance throughput and latency through the app service (no HTTP), on SQLite and, when
//! `TONGGUAN_BENCH_DATABASE_URL` (or `TONGGUAN_TEST_DATABASE_URL`) is set, PostgreSQL.
//!
//! 1. Five-item import declarations submitted and accepted (validated, risk-assessed with
//!    10,000 active control instructions, numbered, stored with events, audit and
//!    idempotency record) per second, from 256 concurrent callers.
//! 2. Arrival report → release committed latency: one report at a time (p50/p99/p99.9).
//!
//! `cargo bench -p tongguan-server --bench clearance` (set TONGGUAN_BENCH_N to change the
//! number of declarations, default 20,000).

/// The `tongguan` binary's allocator, so the numbers are those of what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rust_decimal::Decimal;
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::{
    DeclarationContent, DeclarationHead, DeclarationItem, OverseasParty,
};
use tongguan_domain::identity::{Actor, Role, system_actor};
use tongguan_domain::manifest::{ArrivalReportInput, Bill, ManifestInput};
use tongguan_refdata::DatasetId;
use tongguan_server::app::clearance::NewDeclaration;
use tongguan_server::app::{App, Ctx, IdempotencyKey, SystemClock};
use tongguan_server::config::Config;
use tongguan_store::{Changeset, InstructionRow, Op, Store, StoreOptions};
use uuid::Uuid;

const CONCURRENCY: usize = 256;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn uscc() -> String {
    let org = "MA5J0001";
    let body = format!(
        "91440300{org}{}",
        tongguan_domain::codes::organisation_code_check(org.as_bytes()).unwrap_or('0')
    );
    let check = tongguan_domain::codes::uscc_check_character(body.as_bytes()).unwrap_or('0');
    format!("{body}{check}")
}

/// 10,000 realistic instructions that rarely hit these declarations (like a real set: most
/// instructions target other goods), with a rate of 1 so a hit is visible.
fn instructions(n: usize, codes: &[String]) -> Vec<InstructionRow> {
    let origins = ["USA", "KOR", "VNM", "DEU", "THA", "MYS"];
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let code = &codes[(i * 7919) % codes.len()];
            let instr = tongguan_risk::ControlInstruction {
                id: Uuid::now_v7(),
                conditions: tongguan_risk::Conditions {
                    commodity_prefixes: vec![code[..4 + (i % 3) * 2].to_string()],
                    origin_countries: vec![origins[i % origins.len()].to_string()],
                    ..Default::default()
                },
                action: tongguan_risk::ControlAction::MachineScan,
                selection_rate: Decimal::new(1, 1),
                valid_from: now - chrono::Duration::days(1),
                valid_until: None,
                reason: format!("bench instruction {i}"),
                version: 1,
            };
            InstructionRow {
                id: instr.id,
                version: 1,
                active: true,
                district: "5316".into(),
                created_by: "bench".into(),
                created_at: now,
                updated_at: now,
                body: serde_json::to_string(&instr).unwrap_or_default(),
            }
        })
        .collect()
}

fn content(
    uscc: &str,
    bill: &str,
    container: &str,
    codes: &[String],
    k: usize,
) -> DeclarationContent {
    DeclarationContent {
        direction: Direction::Import,
        head: DeclarationHead {
            declaring_customs: "5316".into(),
            port_customs: "5316".into(),
            domestic_party_uscc: uscc.into(),
            overseas_party: OverseasParty {
                name: "Tokyo Trading K.K.".into(),
                aeo_code: None,
            },
            transport_mode: "2".into(),
            transport_means: "BENCH VESSEL".into(),
            voyage: "001E".into(),
            bill_no: bill.into(),
            trade_mode: "0110".into(),
            levy_nature: "101".into(),
            departure_or_destination_country: "JPN".into(),
            trading_country: "JPN".into(),
            domestic_port: "CNYTN".into(),
            package_type: "22".into(),
            packages: 10,
            gross_weight_kg: Decimal::new(1000, 0),
            net_weight_kg: Decimal::new(900, 0),
            transaction_terms: "1".into(),
            containers: vec![container.into()],
            ..Default::default()
        },
        items: (0..5)
            .map(|j| DeclarationItem {
                commodity_code: format!("{}00", codes[(k * 5 + j) % codes.len()]),
                name: "goods".into(),
                specification: "brand|model".into(),
                quantity: Decimal::new(10, 0),
                unit: "007".into(),
                unit_price: Decimal::new(1250, 2),
                total_price: Decimal::new(12500, 2),
                currency: "USD".into(),
                origin_country: "JPN".into(),
                destination_country: "CHN".into(),
                levy_method: "1".into(),
                ..Default::default()
            })
            .collect(),
    }
}

fn container(i: usize) -> String {
    let body = format!("TGBU{:06}", i % 1_000_000);
    let d = tongguan_domain::codes::iso6346_check_digit(body.as_bytes()).unwrap_or(0);
    format!("{body}{d}")
}

async fn run(label: &str, store: Store, n: usize) {
    let mut config = Config::default();
    config.store.max_batch = 1024;
    let app = App::start(store, config, Arc::new(SystemClock))
        .await
        .expect("start");
    let sys = Ctx {
        actor: system_actor(),
        request_id: "bench".into(),
        idempotency: None,
    };
    let catalog = app.catalog();
    let codes: Vec<String> = catalog
        .search(DatasetId::TariffLines, "", 20_000, 0)
        .0
        .into_iter()
        .map(|e| e.code.clone())
        .filter(|c| catalog.contains(DatasetId::Hs, &c[..6]))
        .take(2000)
        .collect();
    // The enterprise, its clerk, and the manifests.
    let uscc = uscc();
    let e = tongguan_domain::enterprise::NewEnterprise::parse(
        &tongguan_domain::enterprise::EnterpriseInput {
            name: "Bench Importer",
            uscc: &uscc,
            customs_code: "4403960900",
            credit_level: "routine",
            tags: &[],
            address: None,
            contact_phone: None,
        },
        app.today(),
    )
    .expect("enterprise")
    .register(Uuid::now_v7(), app.now());
    let eid = e.id;
    app.store
        .commit(Changeset::new(
            vec![Op::InsertEnterprise(e)],
            app.audit_draft(&sys, "bench", "bench", "seed"),
        ))
        .await
        .expect("seed");
    let clerk = Ctx {
        actor: Actor {
            user_id: Uuid::now_v7(),
            username: "bench.clerk".into(),
            role: Role::EnterpriseUser,
            enterprise_id: Some(eid),
            district: None,
            terminals: vec![],
        },
        request_id: "bench".into(),
        idempotency: None,
    };
    let terminal = Ctx {
        actor: Actor {
            user_id: Uuid::now_v7(),
            username: "bench.gate".into(),
            role: Role::TerminalOperator,
            enterprise_id: None,
            district: None,
            terminals: vec!["CNYTN-YICT".into()],
        },
        request_id: "bench".into(),
        idempotency: None,
    };
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let input = ManifestInput {
            direction: Direction::Import,
            transport_mode: "2".into(),
            transport_means: "BENCH VESSEL".into(),
            voyage: format!("V{}", chunk[0]),
            port: "CNYTN".into(),
            customs: "5316".into(),
            eta: None,
            leg: Default::default(),
            bills: chunk
                .iter()
                .map(|i| Bill {
                    bill_no: format!("BENCH{i:08}"),
                    consignee: "Bench".into(),
                    packages: 10,
                    gross_weight_kg: Decimal::new(1000, 0),
                    containers: vec![container(*i)],
                    master_bill_no: None,
                    wagons: vec![],
                })
                .collect(),
        };
        app.file_manifest(
            &Ctx {
                idempotency: Some(IdempotencyKey {
                    key: Uuid::now_v7().to_string(),
                    request_hash: "m".into(),
                }),
                ..clerk.clone()
            },
            &input,
        )
        .await
        .expect("manifest");
    }
    let rows = instructions(10_000, &codes);
    for chunk in rows.chunks(1000) {
        app.store
            .commit(Changeset::new(
                chunk.iter().cloned().map(Op::InsertInstruction).collect(),
                app.audit_draft(&sys, "instruction.create", "bench", "seed"),
            ))
            .await
            .expect("instructions");
    }
    // Restart the app so the instruction set compiles from the store, as at server start.
    let store = app.store.clone();
    let app = App::start(store, app.config.clone(), Arc::new(SystemClock))
        .await
        .expect("restart");
    assert_eq!(app.rules_in_force().len(), 10_000);

    // 1. Throughput of submit-and-accept.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let codes = Arc::new(codes);
    for _ in 0..CONCURRENCY {
        let (app, clerk, next, codes, uscc) = (
            app.clone(),
            clerk.clone(),
            next.clone(),
            codes.clone(),
            uscc.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let ctx = Ctx {
                    idempotency: Some(IdempotencyKey {
                        key: format!("d{i}"),
                        request_hash: format!("h{i}"),
                    }),
                    ..clerk.clone()
                };
                let input = NewDeclaration {
                    owner_id: None,
                    content: content(&uscc, &format!("BENCH{i:08}"), &container(i), &codes, i),
                    submit: true,
                };
                let t = Instant::now();
                let r = app.create_declaration(&ctx, &input).await;
                lat.push(t.elapsed());
                if let Err(e) = r {
                    panic!("declaration {i}: {e:?}");
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed();
    lat.sort();
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "{label}: submit+accept {n} five-item declarations, {CONCURRENCY} concurrent: {rate:.0}/s; latency p50 {:.2} ms p99 {:.2} ms",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    // 2. Arrival report -> release committed, one at a time.
    let reports = n.min(2000);
    let mut lat = Vec::with_capacity(reports);
    let mut released = 0;
    for i in 0..reports {
        let ctx = Ctx {
            idempotency: Some(IdempotencyKey {
                key: format!("a{i}"),
                request_hash: format!("a{i}"),
            }),
            ..terminal.clone()
        };
        let input = ArrivalReportInput {
            terminal: "CNYTN-YICT".into(),
            bill_no: Some(format!("BENCH{i:08}")),
            containers: vec![],
        };
        let t = Instant::now();
        let r = app.report_arrival(&ctx, &input).await.expect("arrival");
        lat.push(t.elapsed());
        released += usize::from(r.body.contains("\"released\":[\""));
    }
    lat.sort();
    println!(
        "{label}: arrival report -> release committed, {reports} sequential reports ({released} released, the rest selected for inspection): p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(percentile(&lat, 0.999))
    );
    println!(
        "{{\"backend\":\"{label}\",\"declarations\":{n},\"submit_per_s\":{rate:.0},\"arrival_release_p50_ms\":{:.3},\"arrival_release_p99_ms\":{:.3}}}",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    app.store.close().await;
}

fn main() {
    let n: usize = std::env::var("TONGGUAN_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("bench.sqlite3").display());
        let store = Store::open(&url, StoreOptions::default())
            .await
            .expect("sqlite");
        run("sqlite", store, n).await;
        let pg = std::env::var("TONGGUAN_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("TONGGUAN_TEST_DATABASE_URL"));
        if let Ok(url) = pg {
            let schema = format!("bench_{}", Uuid::now_v7().simple());
            let store = Store::open_postgres_schema(&url, &schema, StoreOptions::default())
                .await
                .expect("postgres");
            run("postgres", store, n).await;
        } else {
            println!("postgres: skipped (set TONGGUAN_BENCH_DATABASE_URL)");
        }
    });
}
