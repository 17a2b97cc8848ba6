//! Gate decision latency (M3: which container goes to inspection): in-process from the
//! in-memory gate index, and over HTTP on loopback through the real server and the typed
//! client (keep-alive, one request at a time). 20,000 declarations with one container each;
//! 100,000 in-process queries and 5,000 HTTP queries on random containers.
//!
//! `cargo bench -p tongguan-server --bench gate`

/// The `tongguan` binary's allocator, so the numbers are those of what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::{
    DeclarationContent, DeclarationHead, DeclarationItem, OverseasParty,
};
use tongguan_domain::identity::{Actor, Role, system_actor};
use tongguan_domain::manifest::{Bill, ManifestInput};
use tongguan_server::Application;
use tongguan_server::app::clearance::NewDeclaration;
use tongguan_server::app::{Ctx, IdempotencyKey, SystemClock};
use tongguan_server::config::Config;
use tongguan_store::{Store, StoreOptions};
use uuid::Uuid;

const N: usize = 20_000;

fn container(i: usize) -> String {
    let body = format!("TGBU{:06}", i % 1_000_000);
    let d = tongguan_domain::codes::iso6346_check_digit(body.as_bytes()).unwrap_or(0);
    format!("{body}{d}")
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("gate.sqlite3").display());
        let store = Store::open(&url, StoreOptions::default()).await.expect("store");
        let config = Config { listen: "127.0.0.1:0".into(), ..Config::default() };
        let application = Application::build_with(config, store, Arc::new(SystemClock)).await.expect("build");
        let app = application.app.clone();
        let addr = application.addr();
        let sys = Ctx { actor: system_actor(), request_id: "bench".into(), idempotency: None };
        let logins = app.seed_demo().await.expect("demo");
        let token = logins.iter().find(|l| l.username == "terminal.yantian").map(|l| l.token.clone()).expect("terminal token");
        let importer = app.store.user_by_username("importer").await.expect("read").expect("importer");
        let owner = app.store.enterprise(importer.enterprise_id.expect("bound")).await.expect("read").expect("enterprise");
        let clerk = Ctx {
            actor: Actor { user_id: importer.id, username: "importer".into(), role: Role::EnterpriseUser, enterprise_id: Some(owner.id), district: None, terminals: vec![] },
            request_id: "bench".into(),
            idempotency: None,
        };
        let _ = sys;
        for chunk in (0..N).collect::<Vec<_>>().chunks(10_000) {
            let input = ManifestInput {
                direction: Direction::Import,
                transport_mode: "2".into(),
                transport_means: "GATE BENCH".into(),
                voyage: format!("G{}", chunk[0]),
                port: "CNYTN".into(),
                customs: "5316".into(),
                eta: None,
                leg: Default::default(),
                bills: chunk
                    .iter()
                    .map(|i| Bill { bill_no: format!("GATE{i:08}"), consignee: "x".into(), packages: 1, gross_weight_kg: Decimal::ONE, containers: vec![container(*i)], master_bill_no: None, wagons: vec![] })
                    .collect(),
            };
            app.file_manifest(&Ctx { idempotency: Some(IdempotencyKey { key: Uuid::now_v7().to_string(), request_hash: "m".into() }), ..clerk.clone() }, &input).await.expect("manifest");
        }
        for i in 0..N {
            let content = DeclarationContent {
                direction: Direction::Import,
                head: DeclarationHead {
                    declaring_customs: "5316".into(),
                    port_customs: "5316".into(),
                    domestic_party_uscc: owner.uscc.to_string(),
                    overseas_party: OverseasParty { name: "x".into(), aeo_code: None },
                    transport_mode: "2".into(),
                    transport_means: "GATE BENCH".into(),
                    voyage: "G".into(),
                    bill_no: format!("GATE{i:08}"),
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
                    containers: vec![container(i)],
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
            };
            let ctx = Ctx { idempotency: Some(IdempotencyKey { key: format!("g{i}"), request_hash: "h".into() }), ..clerk.clone() };
            app.create_declaration(&ctx, &NewDeclaration { owner_id: None, content, submit: true }).await.expect("declare");
        }
        let terminal = Ctx {
            actor: Actor { user_id: Uuid::now_v7(), username: "bench.gate".into(), role: Role::TerminalOperator, enterprise_id: None, district: None, terminals: vec!["CNYTN-YICT".into()] },
            request_id: "bench".into(),
            idempotency: None,
        };
        // In-process.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % N as u64) as usize
        };
        let mut lat = Vec::with_capacity(100_000);
        let started = Instant::now();
        for _ in 0..100_000 {
            let c = container(next());
            let t = Instant::now();
            let d = app.gate_decision(&terminal, &c).expect("decision");
            lat.push(t.elapsed());
            std::hint::black_box(d);
        }
        let wall = started.elapsed();
        lat.sort();
        println!(
            "gate decision in-process: {} queries, p50 {:.4} ms, p99 {:.4} ms, p99.9 {:.4} ms, {:.0} decisions/s on one core",
            lat.len(),
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 0.999),
            lat.len() as f64 / wall.as_secs_f64()
        );
        // Over HTTP on loopback.
        let server = tokio::spawn(application.run_until(std::future::pending()));
        let client = tongguan_client::Client::new(&format!("http://{addr}")).with_token(&token);
        let mut lat = Vec::with_capacity(5_000);
        for _ in 0..5_000 {
            let c = container(next());
            let t = Instant::now();
            let d = client.gate(&c).await.expect("http decision");
            lat.push(t.elapsed());
            std::hint::black_box(d);
        }
        lat.sort();
        println!(
            "gate decision over HTTP (loopback, keep-alive, sequential): {} queries, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms",
            lat.len(),
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 0.999)
        );
        server.abort();
    });
}
