//! Webhook delivery (M15) through the real server's delivery worker to a receiver on
//! loopback that answers 204 at once, on SQLite and, when `TONGGUAN_BENCH_DATABASE_URL`
//! (or `TONGGUAN_TEST_DATABASE_URL`) is set, PostgreSQL.
//!
//! 1. Arrival report → first delivery attempt of the `released` message at the receiver:
//!    one report at a time, p50/p99/p99.9 (target p99 <= 10 ms on loopback).
//! 2. Deliveries per second: 5,000 messages written while the endpoint was disabled, then
//!    recovered at once; time until the receiver has them all (each attempt signed, sent,
//!    answered and its result committed with the attempt log).
//!
//! `cargo bench -p tongguan-server --bench webhooks`

/// The `tongguan` binary's allocator, so the numbers are those of what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use rust_decimal::Decimal;
use tongguan_api::{NetworkInput, NewSubscription, RecoverInput, SubscriptionFilter};
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::{
    DeclarationContent, DeclarationHead, DeclarationItem, OverseasParty,
};
use tongguan_domain::identity::{Actor, Role, system_actor};
use tongguan_domain::manifest::{ArrivalReportInput, Bill, ManifestInput};
use tongguan_server::Application;
use tongguan_server::app::clearance::NewDeclaration;
use tongguan_server::app::{App, Ctx, IdempotencyKey, SystemClock};
use tongguan_server::config::Config;
use tongguan_store::{Store, StoreOptions};
use uuid::Uuid;

const LATENCY_REPORTS: usize = 500;
const THROUGHPUT_MESSAGES: usize = 5_000;

fn container(i: usize) -> String {
    let body = format!("WHKU{:06}", i % 1_000_000);
    let d = tongguan_domain::codes::iso6346_check_digit(body.as_bytes()).unwrap_or(0);
    format!("{body}{d}")
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn keyed(ctx: &Ctx) -> Ctx {
    Ctx {
        idempotency: Some(IdempotencyKey {
            key: Uuid::now_v7().to_string(),
            request_hash: "bench".into(),
        }),
        ..ctx.clone()
    }
}

/// (declaration id, to-status, when received) per request.
type Seen = tokio::sync::mpsc::UnboundedSender<(String, String, Instant)>;

async fn receive(
    axum::extract::State(tx): axum::extract::State<Seen>,
    body: Bytes,
) -> axum::http::StatusCode {
    let at = Instant::now();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
        let id = v["data"]["declaration_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let to = v["data"]["to"].as_str().unwrap_or_default().to_string();
        let _ = tx.send((id, to, at));
    }
    axum::http::StatusCode::NO_CONTENT
}

fn content(uscc: &str, bill: &str, containers: Vec<String>) -> DeclarationContent {
    DeclarationContent {
        direction: Direction::Import,
        head: DeclarationHead {
            declaring_customs: "5316".into(),
            port_customs: "5316".into(),
            domestic_party_uscc: uscc.into(),
            overseas_party: OverseasParty {
                name: "x".into(),
                aeo_code: None,
            },
            transport_mode: "2".into(),
            transport_means: "HOOK BENCH".into(),
            voyage: "H".into(),
            bill_no: bill.into(),
            trade_mode: "0110".into(),
            levy_nature: "101".into(),
            departure_or_destination_country: "JPN".into(),
            trading_country: "JPN".into(),
            domestic_port: "CNYTN".into(),
            package_type: "22".into(),
            packages: 1,
            gross_weight_kg: Decimal::new(10, 0),
            net_weight_kg: Decimal::new(9, 0),
            transaction_terms: "1".into(),
            containers,
            ..Default::default()
        },
        items: vec![DeclarationItem {
            commodity_code: "8471309000".into(),
            name: "laptops".into(),
            quantity: Decimal::ONE,
            unit: "001".into(),
            unit_price: Decimal::new(100, 0),
            total_price: Decimal::new(100, 0),
            currency: "USD".into(),
            origin_country: "JPN".into(),
            destination_country: "CHN".into(),
            levy_method: "1".into(),
            ..Default::default()
        }],
    }
}

async fn run(label: &str, store: Store) {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    let application = Application::build_with(config, store, Arc::new(SystemClock))
        .await
        .expect("build");
    let app: Arc<App> = application.app.clone();
    let _server = tokio::spawn(application.run_until(std::future::pending()));
    app.seed_demo().await.expect("demo");
    let admin = Ctx {
        actor: system_actor(),
        request_id: "bench".into(),
        idempotency: None,
    };
    let importer = app
        .store
        .user_by_username("importer")
        .await
        .expect("read")
        .expect("importer");
    let owner = app
        .store
        .enterprise(importer.enterprise_id.expect("bound"))
        .await
        .expect("read")
        .expect("enterprise");
    let clerk = Ctx {
        actor: Actor {
            user_id: importer.id,
            username: "importer".into(),
            role: Role::EnterpriseUser,
            enterprise_id: Some(owner.id),
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

    // The receiver.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(tx);
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.set_network(
        &keyed(&admin),
        &NetworkInput {
            cidr: "127.0.0.1/32".into(),
            reason: "bench receiver".into(),
        },
        true,
    )
    .await
    .expect("allow loopback");
    let reply = app
        .create_subscription(
            &keyed(&clerk),
            &NewSubscription {
                url,
                secret: None,
                filter: SubscriptionFilter {
                    event_types: vec!["declaration.status".into()],
                    ..Default::default()
                },
                terminal: None,
                description: "bench".into(),
            },
        )
        .await
        .expect("subscribe");
    let sub: tongguan_api::Subscription = serde_json::from_str(&reply.body).expect("subscription");

    // 1. Arrival report -> first delivery attempt of the release message.
    let manifest = ManifestInput {
        direction: Direction::Import,
        transport_mode: "2".into(),
        transport_means: "HOOK BENCH".into(),
        voyage: "H1".into(),
        port: "CNYTN".into(),
        customs: "5316".into(),
        eta: None,
        leg: Default::default(),
        bills: (0..LATENCY_REPORTS)
            .map(|i| Bill {
                bill_no: format!("HOOK{i:08}"),
                consignee: "x".into(),
                packages: 1,
                gross_weight_kg: Decimal::ONE,
                containers: vec![container(i)],
                master_bill_no: None,
                wagons: vec![],
            })
            .collect(),
    };
    app.file_manifest(&keyed(&clerk), &manifest)
        .await
        .expect("manifest");
    let mut ids = Vec::with_capacity(LATENCY_REPORTS);
    for i in 0..LATENCY_REPORTS {
        let r = app
            .create_declaration(
                &keyed(&clerk),
                &NewDeclaration {
                    owner_id: None,
                    content: content(
                        owner.uscc.as_str(),
                        &format!("HOOK{i:08}"),
                        vec![container(i)],
                    ),
                    submit: true,
                },
            )
            .await
            .expect("declare");
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("view");
        // Random selection may send a few to inspection: those are not released on arrival.
        if v["status"] == "awaiting_arrival" {
            ids.push((i, v["id"].as_str().unwrap_or_default().to_string()));
        }
    }
    // Let the submissions' own messages drain first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while rx.try_recv().is_ok() {}
    let mut lat = Vec::with_capacity(LATENCY_REPORTS);
    // Baseline in the same run: the arrival report's own answer (release committed).
    let mut committed = Vec::with_capacity(LATENCY_REPORTS);
    for (i, id) in &ids {
        let input = ArrivalReportInput {
            terminal: "CNYTN-YICT".into(),
            bill_no: Some(format!("HOOK{i:08}")),
            containers: vec![],
        };
        let t = Instant::now();
        app.report_arrival(&keyed(&terminal), &input)
            .await
            .expect("arrival");
        committed.push(t.elapsed());
        loop {
            let (d, to, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("delivered within 10 s")
                .expect("open");
            if d == *id && to == "released" {
                lat.push(at - t);
                break;
            }
        }
    }
    lat.sort();
    committed.sort();
    println!(
        "{label}: arrival report -> first webhook attempt at the receiver, {} sequential reports: p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 0.999)
    );
    println!(
        "{label}: baseline, arrival report -> release committed (same reports): p50 {:.2} ms p99 {:.2} ms; first attempt / committed: {:.2} at p50, {:.2} at p99",
        pct(&committed, 0.5),
        pct(&committed, 0.99),
        pct(&lat, 0.5) / pct(&committed, 0.5),
        pct(&lat, 0.99) / pct(&committed, 0.99)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    while rx.try_recv().is_ok() {}

    // 2. Deliveries per second.
    app.set_subscription_active(&keyed(&clerk), sub.id, false, "bench: collect a backlog")
        .await
        .expect("disable");
    let since = chrono::Utc::now();
    for i in 0..THROUGHPUT_MESSAGES {
        app.create_declaration(
            &keyed(&clerk),
            &NewDeclaration {
                owner_id: None,
                content: content(owner.uscc.as_str(), &format!("DRAFT{i:08}"), vec![]),
                submit: false,
            },
        )
        .await
        .expect("draft");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.set_subscription_active(&keyed(&clerk), sub.id, true, "bench: deliver the backlog")
        .await
        .expect("enable");
    let t = Instant::now();
    let r = app
        .recover(&keyed(&clerk), sub.id, &RecoverInput { since })
        .await
        .expect("recover");
    let scheduled: serde_json::Value = serde_json::from_str(&r.body).expect("recovered");
    let want = scheduled["scheduled"].as_u64().unwrap_or(0) as usize;
    let mut got: HashMap<String, Instant> = HashMap::new();
    while got.len() < want {
        let (d, _, at) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("deliveries continue")
            .expect("open");
        got.entry(d).or_insert(at);
    }
    let wall = t.elapsed();
    println!(
        "{label}: {want} recovered messages at the receiver in {:.2} s: {:.0} deliveries/s (signed, sent, answered; 64 in flight)",
        wall.as_secs_f64(),
        want as f64 / wall.as_secs_f64()
    );
    println!(
        "{{\"backend\":\"{label}\",\"arrival_first_attempt_p50_ms\":{:.3},\"arrival_first_attempt_p99_ms\":{:.3},\"deliveries_per_s\":{:.0}}}",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        want as f64 / wall.as_secs_f64()
    );
    app.stop_feeds();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("hooks.sqlite3").display());
        let store = Store::open(&url, StoreOptions::default())
            .await
            .expect("store");
        run("sqlite", store).await;
        let pg = std::env::var("TONGGUAN_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("TONGGUAN_TEST_DATABASE_URL"));
        if let Ok(url) = pg {
            let schema = format!("bench_{}", Uuid::now_v7().simple());
            let store = Store::open_postgres_schema(&url, &schema, StoreOptions::default())
                .await
                .expect("postgres");
            run("postgres", store).await;
        } else {
            println!("postgres: skipped (set TONGGUAN_BENCH_DATABASE_URL)");
        }
    });
}
