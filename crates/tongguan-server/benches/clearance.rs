//! Clearance throughput and latency through the app service (no HTTP), on SQLite and, when
//! `TONGGUAN_BENCH_DATABASE_URL` (or `TONGGUAN_TEST_DATABASE_URL`) is set, PostgreSQL.
//!
//! For each stored volume (`TONGGUAN_BENCH_VOLUMES`, e.g. `1000,100000,1000000`; default: an
//! empty store), after filling the store up to it and starting the app again on it (timed):
//! 1. Five-item import declarations submitted and accepted (validated, risk-assessed with
//!    10,000 active control instructions, taxed, numbered, stored with events, outbox
//!    messages, audit and idempotency record) per second, from 256 concurrent callers,
//!    over a window of `TONGGUAN_BENCH_N` declarations (default 20,000).
//! 2. Arrival report → release committed latency: one report at a time (p50/p99/p99.9),
//!    nothing else running.
//! 3. The same while declarations are submitted in the background at half the issue's
//!    throughput target (`TONGGUAN_BENCH_LOAD_SQLITE`, default 5,000/s;
//!    `TONGGUAN_BENCH_LOAD_POSTGRES`, default 1,500/s).
//! 4. The declaration list's first page as the enterprise's clerk and as an administrator
//!    (how a list page changes with the stored volume).
//!
//! `cargo bench -p tongguan-server --bench clearance`; each measurement also prints a JSON
//! line. Numbers in BENCHMARKS.md.

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
use tongguan_server::app::clearance::{DeclarationQuery, NewDeclaration};
use tongguan_server::app::{App, Ctx, IdempotencyKey, SystemClock};
use tongguan_server::config::Config;
use tongguan_store::{Changeset, InstructionRow, Op, Store, StoreOptions};
use uuid::Uuid;

const CONCURRENCY: usize = 256;
/// Calls of each declaration list measured per volume.
const LIST_CALLS: usize = 20;

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

async fn run(label: &str, store: Store, plan: Plan) {
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
    let bench = Bench {
        app,
        clerk,
        terminal,
        codes: Arc::new(codes),
        uscc,
        manifests_upto: 0,
        next: 0,
    };
    bench.measure(label, plan).await;
}

/// What one run measures.
struct Plan {
    /// Declarations stored before each measurement (the stored-volume series).
    volumes: Vec<usize>,
    /// Declarations submitted flat out in each measurement window.
    window: usize,
    /// Background submissions per second during the arrival → release measurement under load.
    load_per_s: f64,
}

struct Bench {
    app: Arc<App>,
    clerk: Ctx,
    terminal: Ctx,
    codes: Arc<Vec<String>>,
    uscc: String,
    /// Bills 0..manifests_upto are on a manifest.
    manifests_upto: usize,
    /// The next declaration number.
    next: usize,
}

impl Bench {
    /// Files manifests (10,000 bills each) so that bills `0..upto` exist.
    async fn ensure_manifests(&mut self, upto: usize) {
        while self.manifests_upto < upto {
            let first = self.manifests_upto;
            let input = ManifestInput {
                direction: Direction::Import,
                transport_mode: "2".into(),
                transport_means: "BENCH VESSEL".into(),
                voyage: format!("V{first}"),
                port: "CNYTN".into(),
                customs: "5316".into(),
                eta: None,
                leg: Default::default(),
                bills: (first..first + 10_000)
                    .map(|i| Bill {
                        bill_no: format!("BENCH{i:08}"),
                        consignee: "Bench".into(),
                        packages: 10,
                        gross_weight_kg: Decimal::new(1000, 0),
                        containers: vec![container(i)],
                        master_bill_no: None,
                        wagons: vec![],
                    })
                    .collect(),
            };
            self.app
                .file_manifest(
                    &Ctx {
                        idempotency: Some(IdempotencyKey {
                            key: Uuid::now_v7().to_string(),
                            request_hash: "m".into(),
                        }),
                        ..self.clerk.clone()
                    },
                    &input,
                )
                .await
                .expect("manifest");
            self.manifests_upto += 10_000;
        }
    }

    /// Submits declarations `range` from `CONCURRENCY` callers flat out, or paced at `rate`
    /// per second (open loop: each has its start time), and returns each latency.
    async fn submit(&self, range: std::ops::Range<usize>, rate: Option<f64>) -> Vec<Duration> {
        let started = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(range.start));
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENCY {
            let (app, clerk, next, codes, uscc) = (
                self.app.clone(),
                self.clerk.clone(),
                next.clone(),
                self.codes.clone(),
                self.uscc.clone(),
            );
            let (first, end) = (range.start, range.end);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= end {
                        break;
                    }
                    if let Some(rate) = rate {
                        let due = started + Duration::from_secs_f64((i - first) as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
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
        lat
    }

    /// Reports the arrival of the bills of declarations `range`, one at a time; returns each
    /// latency (report → release committed) and how many were released at once.
    async fn arrivals(&self, range: std::ops::Range<usize>) -> (Vec<Duration>, usize) {
        let mut lat = Vec::with_capacity(range.len());
        let mut released = 0;
        for i in range {
            let ctx = Ctx {
                idempotency: Some(IdempotencyKey {
                    key: format!("a{i}"),
                    request_hash: format!("a{i}"),
                }),
                ..self.terminal.clone()
            };
            let input = ArrivalReportInput {
                terminal: "CNYTN-YICT".into(),
                bill_no: Some(format!("BENCH{i:08}")),
                containers: vec![],
            };
            let t = Instant::now();
            let r = self
                .app
                .report_arrival(&ctx, &input)
                .await
                .expect("arrival");
            lat.push(t.elapsed());
            released += usize::from(r.body.contains("\"released\":[\""));
        }
        (lat, released)
    }

    async fn measure(mut self, label: &str, plan: Plan) {
        let reports = (plan.window / 2).min(2000);
        for &volume in &plan.volumes {
            // Fill up to the volume (declarations stored before this measurement).
            if self.next < volume {
                let fill = self.next..volume;
                self.ensure_manifests(volume).await;
                let t = Instant::now();
                self.submit(fill.clone(), None).await;
                println!(
                    "{label}: filled to {volume} declarations ({:.0}/s)",
                    fill.len() as f64 / t.elapsed().as_secs_f64()
                );
                self.next = volume;
            }
            // 0. A restart at this volume: what a server start costs as the store grows
            // (reference data, control instructions, sequences, the gate index).
            let t = Instant::now();
            self.app = App::start(
                self.app.store.clone(),
                self.app.config.clone(),
                Arc::new(SystemClock),
            )
            .await
            .expect("restart");
            let start_s = t.elapsed().as_secs_f64();
            println!("{label} @{volume}: app start on the filled store {start_s:.2} s");
            // 1. Submit-and-accept flat out.
            let window = self.next..self.next + plan.window;
            self.ensure_manifests(window.end + plan.window).await;
            let t = Instant::now();
            let cpu = process_cpu_seconds();
            let mut lat = self.submit(window.clone(), None).await;
            let rate = window.len() as f64 / t.elapsed().as_secs_f64();
            let cpu_us = (process_cpu_seconds() - cpu) * 1e6 / window.len() as f64;
            lat.sort();
            println!(
                "{label} @{volume}: submit+accept {} five-item declarations, {CONCURRENCY} concurrent: {rate:.0}/s; latency p50 {:.2} ms p99 {:.2} ms; CPU {cpu_us:.0} µs per declaration (all threads, the bench's own generation included)",
                window.len(),
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99))
            );
            self.next = window.end;
            // 2. Arrival report -> release committed, one at a time, nothing else running.
            let (mut idle, released) = self.arrivals(window.start..window.start + reports).await;
            idle.sort();
            println!(
                "{label} @{volume}: arrival report -> release committed, {reports} sequential reports, idle ({released} released, the rest selected for inspection): p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms",
                ms(percentile(&idle, 0.5)),
                ms(percentile(&idle, 0.99)),
                ms(percentile(&idle, 0.999))
            );
            // 3. The same while declarations are submitted at `load_per_s` in the background.
            let load = self.next..self.next + plan.window;
            let background = {
                let me = Bench {
                    app: self.app.clone(),
                    clerk: self.clerk.clone(),
                    terminal: self.terminal.clone(),
                    codes: self.codes.clone(),
                    uscc: self.uscc.clone(),
                    manifests_upto: self.manifests_upto,
                    next: load.start,
                };
                let load = load.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let lat = me.submit(load.clone(), Some(plan.load_per_s)).await;
                    (lat, load.len() as f64 / t.elapsed().as_secs_f64())
                })
            };
            // Start once the load runs, stop before it ends.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let under = window.start + reports..window.start + 2 * reports;
            let budget = Duration::from_secs_f64(plan.window as f64 / plan.load_per_s * 0.8);
            let t = Instant::now();
            let mut loaded = Vec::new();
            for i in under {
                if t.elapsed() > budget {
                    break;
                }
                loaded.extend(self.arrivals(i..i + 1).await.0);
            }
            let (mut load_lat, achieved) = background.await.expect("load");
            self.next = load.end;
            loaded.sort();
            load_lat.sort();
            println!(
                "{label} @{volume}: arrival report -> release committed under {:.0} submissions/s (achieved {achieved:.0}/s, their p99 {:.2} ms), {} sequential reports: p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms",
                plan.load_per_s,
                ms(percentile(&load_lat, 0.99)),
                loaded.len(),
                ms(percentile(&loaded, 0.5)),
                ms(percentile(&loaded, 0.99)),
                ms(percentile(&loaded, 0.999))
            );
            // 4. The declaration list's first page (50), as the enterprise's clerk (every
            // stored declaration is its own) and as an administrator, nothing else running.
            let admin = Ctx {
                actor: Actor {
                    user_id: Uuid::now_v7(),
                    username: "bench.admin".into(),
                    role: Role::Admin,
                    enterprise_id: None,
                    district: None,
                    terminals: vec![],
                },
                ..self.clerk.clone()
            };
            let mut pages = Vec::new();
            for who in [&self.clerk, &admin] {
                let mut lat = Vec::new();
                for _ in 0..LIST_CALLS {
                    let t = Instant::now();
                    let page = self
                        .app
                        .list_declarations(who, &DeclarationQuery::default())
                        .await
                        .expect("list");
                    lat.push(t.elapsed());
                    assert_eq!(page.len(), 50, "a full first page");
                }
                lat.sort();
                pages.push(lat);
            }
            println!(
                "{label} @{volume}: declaration list, first page of 50, {LIST_CALLS} calls each: enterprise clerk p50 {:.2} ms max {:.2} ms; administrator p50 {:.2} ms max {:.2} ms",
                ms(percentile(&pages[0], 0.5)),
                ms(percentile(&pages[0], 1.0)),
                ms(percentile(&pages[1], 0.5)),
                ms(percentile(&pages[1], 1.0)),
            );
            println!(
                "{{\"backend\":\"{label}\",\"stored\":{volume},\"list_page_clerk_p50_ms\":{:.3},\"list_page_admin_p50_ms\":{:.3},\"start_s\":{start_s:.3},\"window\":{},\"submit_per_s\":{rate:.0},\"submit_p99_ms\":{:.3},\"arrival_release_idle_p50_ms\":{:.3},\"arrival_release_idle_p99_ms\":{:.3},\"load_per_s\":{achieved:.0},\"arrival_release_loaded_p50_ms\":{:.3},\"arrival_release_loaded_p99_ms\":{:.3}}}",
                ms(percentile(&pages[0], 0.5)),
                ms(percentile(&pages[1], 0.5)),
                window.len(),
                ms(percentile(&lat, 0.99)),
                ms(percentile(&idle, 0.5)),
                ms(percentile(&idle, 0.99)),
                ms(percentile(&loaded, 0.5)),
                ms(percentile(&loaded, 0.99)),
            );
        }
        self.app.store.close().await;
    }
}

/// CPU time of this process (all threads; user + system) from `/proc/self/stat`, in
/// seconds: steadier than throughput on a shared VM for comparing two builds. 0 where
/// there is no procfs.
fn process_cpu_seconds() -> f64 {
    // Ticks of USER_HZ, which Linux fixes at 100 for /proc.
    const TICKS_PER_SECOND: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name may contain spaces; the fields after its closing parenthesis do not.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
}

fn plan(backend: &str, n: usize) -> Plan {
    let volumes = std::env::var("TONGGUAN_BENCH_VOLUMES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|x| x.trim().replace('_', "").parse().ok())
                .collect::<Vec<usize>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![0]);
    // Half the throughput targets (10,000/s SQLite, 3,000/s PostgreSQL).
    let load_per_s = match backend {
        "sqlite" => env_usize("TONGGUAN_BENCH_LOAD_SQLITE").unwrap_or(5_000),
        _ => env_usize("TONGGUAN_BENCH_LOAD_POSTGRES").unwrap_or(1_500),
    } as f64;
    Plan {
        volumes,
        window: n,
        load_per_s,
    }
}

fn main() {
    let n = env_usize("TONGGUAN_BENCH_N").unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // TONGGUAN_BENCH_SQLITE_DIR keeps the database for inspection after the run.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = match std::env::var("TONGGUAN_BENCH_SQLITE_DIR") {
            Ok(d) => std::path::PathBuf::from(d).join("bench.sqlite3"),
            Err(_) => dir.path().join("bench.sqlite3"),
        };
        let url = format!("sqlite://{}", path.display());
        // TONGGUAN_BENCH_BACKENDS=postgres measures PostgreSQL alone (the SQLite run leaves
        // a gigabyte of dirty pages that the kernel writes back during the next run).
        let backends = std::env::var("TONGGUAN_BENCH_BACKENDS").unwrap_or_default();
        if backends.is_empty() || backends.contains("sqlite") {
            let store = Store::open(&url, StoreOptions::default())
                .await
                .expect("sqlite");
            run("sqlite", store, plan("sqlite", n)).await;
        }
        let pg = std::env::var("TONGGUAN_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("TONGGUAN_TEST_DATABASE_URL"));
        if backends.is_empty() || backends.contains("postgres") {
            if let Ok(url) = pg {
                let schema = format!("bench_{}", Uuid::now_v7().simple());
                let store = Store::open_postgres_schema(&url, &schema, StoreOptions::default())
                    .await
                    .expect("postgres");
                run("postgres", store, plan("postgres", n)).await;
            } else {
                println!("postgres: skipped (set TONGGUAN_BENCH_DATABASE_URL)");
            }
        }
    });
}
