//! `tongguan loadgen`: drives a running server over HTTP with generated clearance traffic
//! (issue 9) — enterprises of every credit level, manifests, five-item advance declarations
//! with real tariff lines, arrival reports and gate queries — flat out or at a set rate, and
//! reports throughput and p50/p99/p99.9 latency per operation as text and JSON.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rust_decimal::Decimal;
use tokio::sync::Mutex;
use tongguan_client::{
    ArrivalReportInput, Bill, Client, ManifestInput, NewDeclaration, NewEnterpriseInput, NewUser,
};
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::{
    DeclarationContent, DeclarationHead, DeclarationItem, OverseasParty,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub declarations: usize,
    pub concurrency: usize,
    /// Declarations started per second; 0: flat out.
    pub rate: f64,
    pub enterprises: usize,
    /// Gate queries per declaration (after its arrival report).
    pub gate_per_declaration: usize,
}

/// Real 8-digit tariff lines of the shipped tariff sample (data/tariff/rates.csv), as 10-digit
/// commodity codes.
fn commodity_codes() -> Vec<String> {
    include_str!("../../../data/tariff/rates.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("code,"))
        .filter_map(|l| l.split(',').next())
        .filter(|c| c.len() == 8 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(|c| format!("{c}00"))
        .collect()
}

const CREDIT_LEVELS: [&str; 5] = [
    "advanced_certified",
    "certified",
    "routine",
    "dishonest",
    "seriously_dishonest",
];
const ORIGINS: [&str; 6] = ["JPN", "KOR", "DEU", "USA", "AUS", "VNM"];

/// A valid unified social credit code (GB 32100 / GB 11714 check characters) from a run
/// number and an index.
fn uscc(run: u32, n: usize) -> String {
    let org_body = format!("L{:03}{:04}", run % 1000, n % 10_000);
    let org_check =
        tongguan_domain::codes::organisation_code_check(org_body.as_bytes()).unwrap_or('0');
    let body = format!("91440300{org_body}{org_check}");
    let check = tongguan_domain::codes::uscc_check_character(body.as_bytes()).unwrap_or('0');
    format!("{body}{check}")
}

fn container(run: u32, i: usize) -> String {
    // Owner code L + two letters from the run, category U (ISO 6346), serial from the index.
    let body = format!(
        "L{}{}U{:06}",
        char::from(b'A' + (run % 26) as u8),
        char::from(b'A' + ((run / 26) % 26) as u8),
        i % 1_000_000
    );
    let d = tongguan_domain::codes::iso6346_check_digit(body.as_bytes()).unwrap_or(0);
    format!("{body}{d}")
}

/// Latencies of one operation.
#[derive(Default)]
struct Samples {
    ok: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

type Stats = Arc<Mutex<BTreeMap<&'static str, Samples>>>;

async fn timed<T, E: std::fmt::Display>(
    stats: &Stats,
    op: &'static str,
    f: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> Option<T> {
    let t = Instant::now();
    let r = f.await;
    let el = t.elapsed();
    let mut g = stats.lock().await;
    let s = g.entry(op).or_default();
    match r {
        Ok(v) => {
            s.ok.push(el);
            Some(v)
        }
        Err(e) => {
            s.errors += 1;
            s.first_error.get_or_insert_with(|| e.to_string());
            None
        }
    }
}

struct Party {
    client: Client,
    uscc: String,
}

/// Sets up enterprises of every credit level with a user each, and a terminal operator.
async fn setup(admin: &Client, run: u32, n: usize) -> Result<(Vec<Party>, Client)> {
    let mut parties = Vec::new();
    for i in 0..n {
        let uscc = uscc(run, i);
        let e = admin
            .create_enterprise(&NewEnterpriseInput {
                name: format!("Loadgen importer {run}-{i}"),
                uscc: uscc.clone(),
                customs_code: format!(
                    "4403{:02}{:04}",
                    90 + (run % 10),
                    (run as usize * 97 + i) % 10_000
                ),
                credit_level: CREDIT_LEVELS[i % CREDIT_LEVELS.len()].into(),
                tags: vec![],
                address: None,
                contact_phone: None,
            })
            .await
            .with_context(|| format!("creating enterprise {i}"))?;
        let username = format!("lg{run}.{i}");
        let password = format!("loadgen-{run}-{i}-password");
        admin
            .create_user(&NewUser {
                username: username.clone(),
                display_name: username.clone(),
                password: password.clone(),
                role: "enterprise_user".into(),
                enterprise_id: Some(e.id),
                district: None,
                terminals: vec![],
            })
            .await
            .with_context(|| format!("creating user {username}"))?;
        let session = admin.login(&username, &password).await?;
        parties.push(Party {
            client: admin.with_token(session.secret.as_deref().unwrap_or_default()),
            uscc,
        });
    }
    let username = format!("lg{run}.gate");
    let password = format!("loadgen-{run}-gate-password");
    admin
        .create_user(&NewUser {
            username: username.clone(),
            display_name: username.clone(),
            password: password.clone(),
            role: "terminal_operator".into(),
            enterprise_id: None,
            district: None,
            terminals: vec!["CNYTN-YICT".into()],
        })
        .await
        .context("creating the terminal operator")?;
    let session = admin.login(&username, &password).await?;
    Ok((
        parties,
        admin.with_token(session.secret.as_deref().unwrap_or_default()),
    ))
}

fn declaration(uscc: &str, bill: &str, cn: &str, i: usize, codes: &[String]) -> DeclarationContent {
    let origin = ORIGINS[i % ORIGINS.len()];
    let items = (0..5)
        .map(|k| {
            let qty = Decimal::from(10 + (i + k) % 90);
            let price = Decimal::new(1_000 + ((i * 7 + k * 13) % 90_000) as i64, 2);
            DeclarationItem {
                commodity_code: codes[(i + k) % codes.len()].clone(),
                name: format!("goods {k}"),
                quantity: qty,
                unit: "001".into(),
                unit_price: price,
                total_price: qty * price,
                currency: "USD".into(),
                origin_country: origin.into(),
                destination_country: "CHN".into(),
                levy_method: "1".into(),
                ..Default::default()
            }
        })
        .collect();
    DeclarationContent {
        direction: Direction::Import,
        head: DeclarationHead {
            declaring_customs: "5316".into(),
            port_customs: "5316".into(),
            domestic_party_uscc: uscc.into(),
            overseas_party: OverseasParty {
                name: "Loadgen Exporter".into(),
                aeo_code: None,
            },
            transport_mode: "2".into(),
            transport_means: "LOADGEN EXPRESS".into(),
            voyage: "001E".into(),
            bill_no: bill.into(),
            trade_mode: "0110".into(),
            levy_nature: "101".into(),
            departure_or_destination_country: origin.into(),
            trading_country: origin.into(),
            domestic_port: "CNYTN".into(),
            package_type: "22".into(),
            packages: 10,
            gross_weight_kg: Decimal::new(1000, 0),
            net_weight_kg: Decimal::new(900, 0),
            transaction_terms: "1".into(),
            containers: vec![cn.into()],
            ..Default::default()
        },
        items,
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// Runs the plan against `server` with an admin token; returns the report as JSON.
pub async fn run(server: &str, admin_token: &str, plan: &Plan) -> Result<serde_json::Value> {
    if plan.declarations == 0 || plan.concurrency == 0 || plan.enterprises == 0 {
        bail!("declarations, concurrency and enterprises must be at least 1");
    }
    let admin = Client::new(server).with_token(admin_token);
    let run = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 1000) as u32;
    // Only the lines the server's tariff-line list in force has (the shipped sample has a few
    // newer national lines).
    let mut codes = Vec::new();
    for c in commodity_codes() {
        if admin
            .reference(tongguan_refdata::DatasetId::TariffLines, &c[..8])
            .await
            .is_ok()
        {
            codes.push(c);
        }
    }
    if codes.is_empty() {
        bail!("none of the sample's tariff lines is in the server's tariff-line list");
    }
    let (parties, terminal) = setup(&admin, run, plan.enterprises).await?;
    let parties = Arc::new(parties);
    let stats: Stats = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let interval = (plan.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / plan.rate));
    let mut workers = Vec::new();
    for _ in 0..plan.concurrency {
        let (parties, terminal, stats, next, codes) = (
            parties.clone(),
            terminal.clone(),
            stats.clone(),
            next.clone(),
            codes.clone(),
        );
        let plan = plan.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= plan.declarations {
                    return;
                }
                if let Some(iv) = interval {
                    // Open loop: declaration i starts at i × interval, whatever came before.
                    let due = started + iv * i as u32;
                    tokio::time::sleep_until(due.into()).await;
                }
                let p = &parties[i % parties.len()];
                let bill = format!("LG{run:03}{i:09}");
                let cn = container(run, i);
                let manifest = ManifestInput {
                    direction: Direction::Import,
                    transport_mode: "2".into(),
                    transport_means: "LOADGEN EXPRESS".into(),
                    voyage: format!("{run}-{i}"),
                    port: "CNYTN".into(),
                    customs: "5316".into(),
                    eta: None,
                    leg: Default::default(),
                    bills: vec![Bill {
                        bill_no: bill.clone(),
                        consignee: "Loadgen".into(),
                        packages: 10,
                        gross_weight_kg: Decimal::new(1000, 0),
                        containers: vec![cn.clone()],
                        master_bill_no: None,
                        wagons: vec![],
                    }],
                };
                if timed(&stats, "manifest", p.client.file_manifest(&manifest))
                    .await
                    .is_none()
                {
                    continue;
                }
                let content = declaration(&p.uscc, &bill, &cn, i, &codes);
                let declared = timed(
                    &stats,
                    "declare",
                    p.client.create_declaration(&NewDeclaration {
                        owner_id: None,
                        content,
                        submit: true,
                    }),
                )
                .await;
                if declared.is_none() {
                    continue;
                }
                let report = ArrivalReportInput {
                    terminal: "CNYTN-YICT".into(),
                    bill_no: Some(bill.clone()),
                    containers: vec![],
                };
                timed(&stats, "arrival", terminal.report_arrival(&report)).await;
                for _ in 0..plan.gate_per_declaration {
                    timed(&stats, "gate", terminal.gate(&cn)).await;
                }
                timed(
                    &stats,
                    "status",
                    p.client
                        .declaration(declared.map(|d| d.declaration.id).unwrap_or_default()),
                )
                .await;
            }
        }));
    }
    for w in workers {
        w.await.context("a worker panicked")?;
    }
    let wall = started.elapsed();
    let mut g = stats.lock().await;
    let mut ops = serde_json::Map::new();
    for (op, s) in g.iter_mut() {
        s.ok.sort();
        ops.insert(
            op.to_string(),
            serde_json::json!({
                "ok": s.ok.len(),
                "errors": s.errors,
                "first_error": s.first_error,
                "per_s": s.ok.len() as f64 / wall.as_secs_f64(),
                "p50_ms": pct(&s.ok, 0.5),
                "p99_ms": pct(&s.ok, 0.99),
                "p999_ms": pct(&s.ok, 0.999),
            }),
        );
    }
    Ok(serde_json::json!({
        "server": server,
        "declarations": plan.declarations,
        "concurrency": plan.concurrency,
        "rate": plan.rate,
        "enterprises": plan.enterprises,
        "wall_s": wall.as_secs_f64(),
        "operations": ops,
    }))
}

/// The report as a text table.
pub fn text(report: &serde_json::Value) -> String {
    let mut out = format!(
        "{} declarations, {} concurrent, {} in {:.2} s\n{:<10} {:>8} {:>7} {:>10} {:>9} {:>9} {:>9}\n",
        report["declarations"],
        report["concurrency"],
        if report["rate"].as_f64().unwrap_or(0.0) > 0.0 {
            format!("at {}/s", report["rate"])
        } else {
            "flat out".into()
        },
        report["wall_s"].as_f64().unwrap_or(0.0),
        "operation",
        "ok",
        "errors",
        "per s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms"
    );
    if let Some(ops) = report["operations"].as_object() {
        for (op, s) in ops {
            out.push_str(&format!(
                "{:<10} {:>8} {:>7} {:>10.1} {:>9.2} {:>9.2} {:>9.2}\n",
                op,
                s["ok"],
                s["errors"],
                s["per_s"].as_f64().unwrap_or(0.0),
                s["p50_ms"].as_f64().unwrap_or(0.0),
                s["p99_ms"].as_f64().unwrap_or(0.0),
                s["p999_ms"].as_f64().unwrap_or(0.0),
            ));
            if let Some(e) = s["first_error"].as_str() {
                out.push_str(&format!("           first error: {e}\n"));
            }
        }
    }
    out
}
