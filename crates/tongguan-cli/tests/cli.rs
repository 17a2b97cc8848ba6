//! The real binary, as a new user runs it: `tongguan serve --demo`, a printed token used to
//! look codes up and register enterprises, then `tongguan audit verify` — intact, and after
//! tampering, broken at the changed row.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use tongguan_client::{Client, NewEnterpriseInput};
use tongguan_refdata::DatasetId;

const BIN: &str = env!("CARGO_BIN_EXE_tongguan");

struct Server {
    child: Child,
    base: String,
    tokens: Vec<(String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_demo(data_dir: &std::path::Path) -> Server {
    serve(&["--demo"], data_dir)
}

fn serve(extra: &[&str], data_dir: &std::path::Path) -> Server {
    serve_env(extra, data_dir, &[])
}

fn serve_env(extra: &[&str], data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(extra)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        // Cheap password hashing for the test, set the way an operator would: by environment.
        .env("TONGGUAN_PASSWORD__MEMORY_KIB", "1024")
        .env("TONGGUAN_PASSWORD__ITERATIONS", "1")
        // No random selection at the base rate: the walkthrough expects a release.
        .env("TONGGUAN_CLEARANCE__RANDOM_SELECTION__BASE_RATE", "0")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tongguan serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut tokens = Vec::new();
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read line");
        if let Some(addr) = line.strip_prefix("Tongguan listening on ") {
            base = Some(addr.trim().to_string());
            break;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let (Some(user), Some(tok)) = (cols.first(), cols.last())
            && tok.starts_with("tgk_")
        {
            tokens.push((user.to_string(), tok.to_string()));
        }
    }
    Server {
        child,
        base: base.expect("server printed its address"),
        tokens,
    }
}

impl Server {
    fn client(&self, user: &str) -> Client {
        let token = self
            .tokens
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, t)| t.clone())
            .expect("demo user printed");
        Client::new(&self.base).with_token(&token)
    }
}

fn verify(data_dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run audit verify");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_then_lookup_then_register_then_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = serve_demo(&data);
    for who in [
        "admin",
        "importer",
        "exporter",
        "dishonest",
        "broker",
        "officer.5300",
        "terminal.yantian",
    ] {
        assert!(server.tokens.iter().any(|(u, _)| u == who), "{who} printed");
    }

    let importer = server.client("importer");
    let hs = importer
        .reference(DatasetId::Hs, "8471.30")
        .await
        .expect("HS 8471.30");
    assert_eq!(hs.code, "847130");
    let districts = importer
        .reference_children(DatasetId::CustomsDistricts, "5300")
        .await
        .expect("districts");
    assert!(
        districts
            .entries
            .iter()
            .any(|d| d.name_zh.as_deref() == Some("大鹏海关"))
    );

    // The demo cast: the importer sees only its own enterprise, which is AEO.
    let own = importer.enterprises(None).await.expect("own");
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].credit_level.as_str(), "advanced_certified");
    // The broker acts for the importer that authorised it.
    let broker_sees = server
        .client("broker")
        .enterprises(None)
        .await
        .expect("broker list");
    assert!(broker_sees.iter().any(|e| e.id == own[0].id));

    // The CLI's own reference commands go through the typed client.
    let importer_token = server
        .tokens
        .iter()
        .find(|(u, _)| u == "importer")
        .map(|(_, t)| t.clone())
        .expect("token");
    let out = Command::new(BIN)
        .args([
            "refdata",
            "get",
            "tariff_lines",
            "8471.3090",
            "--server",
            &server.base,
        ])
        .env("TONGGUAN_TOKEN", &importer_token)
        .output()
        .expect("refdata get");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"parent\": \"847130\""));
    let csv = dir.path().join("tariff-2024.csv");
    std::fs::write(
        &csv,
        "code,name_en,name_zh,parent\n84713090,Other portable computers,其他,847130\n",
    )
    .expect("csv");
    let admin_token = server
        .tokens
        .iter()
        .find(|(u, _)| u == "admin")
        .map(|(_, t)| t.clone())
        .expect("token");
    let load = |token: &str| {
        Command::new(BIN)
            .args(["refdata", "load", "tariff_lines"])
            .arg(&csv)
            .args([
                "--label",
                "2024",
                "--valid-from",
                "2024-01-01",
                "--source",
                "test",
                "--server",
                &server.base,
            ])
            .env("TONGGUAN_TOKEN", token)
            .output()
            .expect("refdata load")
    };
    let refused = load(&importer_token);
    assert!(
        !refused.status.success(),
        "an importer cannot load reference data"
    );
    let loaded = load(&admin_token);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("\"entries\": 1"));

    // The README walkthrough with the example files: manifest, advance declaration, arrival,
    // release, ship-side pickup.
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let manifest: tongguan_client::ManifestInput = serde_json::from_str(
        &std::fs::read_to_string(format!("{examples}/manifest.json")).expect("manifest file"),
    )
    .expect("manifest json");
    let declaration: tongguan_client::NewDeclaration = serde_json::from_str(
        &std::fs::read_to_string(format!("{examples}/declaration.json")).expect("declaration file"),
    )
    .expect("declaration json");
    importer
        .file_manifest(&manifest)
        .await
        .expect("file the example manifest");
    let d = importer
        .create_declaration(&declaration)
        .await
        .expect("declare the example");
    assert_eq!(d.declaration.status.as_str(), "awaiting_arrival");
    let terminal = server.client("terminal.yantian");
    assert_eq!(
        terminal.gate("CSQU3054383").await.expect("gate").action,
        tongguan_client::GateAction::Hold
    );
    let out = terminal
        .report_arrival(&tongguan_client::ArrivalReportInput {
            terminal: "CNYTN-YICT".into(),
            bill_no: Some("COSU6300000001".into()),
            containers: vec![],
        })
        .await
        .expect("arrival");
    assert_eq!(out.released, vec![d.declaration.id]);
    assert_eq!(
        terminal.gate("CSQU3054383").await.expect("gate").action,
        tongguan_client::GateAction::ShipSidePickup
    );

    let admin = server.client("admin");
    let mut input = NewEnterpriseInput {
        name: "深圳新注册进口有限公司".into(),
        uscc: "91440300MA5F000698".into(),
        customs_code: "4403960099".into(),
        credit_level: "routine".into(),
        tags: vec![],
        address: None,
        contact_phone: None,
    };
    let err = admin
        .create_enterprise(&input)
        .await
        .expect_err("wrong check character");
    assert_eq!(err.rules(), vec!["uscc.check_character"]);
    input.uscc = "91440300MA5F000699".into();
    admin
        .create_enterprise(&input)
        .await
        .expect("right check character");
    drop(server);

    let (ok, out) = verify(&data);
    assert!(ok, "{out}");
    assert!(out.contains("audit chain intact"), "{out}");

    // Restarting with --demo again reuses the data and prints fresh tokens.
    let again = serve_demo(&data);
    assert_eq!(
        again
            .client("importer")
            .enterprises(None)
            .await
            .expect("own")
            .len(),
        1
    );
    drop(again);

    // Tamper with a row behind the database's back.
    let db = rusqlite::Connection::open(data.join("tongguan.sqlite3")).expect("open db");
    db.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone else' WHERE seq = 5;")
        .expect("tamper");
    drop(db);
    let (ok, out) = verify(&data);
    assert!(!ok, "tampering must fail verification: {out}");
    assert!(out.contains("BROKEN at seq 5"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_annotated_example_configuration_is_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tongguan.example.toml");
    let server = serve(&["--config", example], &dir.path().join("data"));
    let health = Client::new(&server.base).health().await.expect("healthz");
    assert_eq!(health["database"], "sqlite");
}

#[test]
fn openapi_command_prints_the_document() {
    let out = Command::new(BIN).arg("openapi").output().expect("run");
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let out = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/tongguan.toml"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// At least once across a crash (M15): the server is killed (SIGKILL, no shutdown) while
/// webhook requests are in flight and started again on the same data; the receiver, after
/// de-duplicating by webhook-id, has every message exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_survive_a_kill_in_the_middle_of_delivery() {
    use tongguan_testkit::receiver::{Receiver, valid_signatures};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // Two requests at a time, each answered after 300 ms: a kill finds some delivered,
    // some in flight and some not yet sent.
    let env = [
        ("TONGGUAN_WEBHOOKS__MAX_IN_FLIGHT", "2"),
        ("TONGGUAN_WEBHOOKS__RETRY_INITIAL_MS", "50"),
        ("TONGGUAN_WEBHOOKS__RETRY_MAX_INTERVAL_MS", "200"),
    ];
    let server = serve_env(&["--demo"], &data, &env);
    let receiver = Receiver::start().await;
    receiver.delay(300);
    server
        .client("admin")
        .set_network("127.0.0.1/32", "the test receiver", true)
        .await
        .expect("allow loopback");
    let importer = server.client("importer");
    let sub = importer
        .create_subscription(&tongguan_client::NewSubscription {
            url: receiver.url.clone(),
            secret: None,
            filter: tongguan_client::SubscriptionFilter {
                event_types: vec!["declaration.status".into()],
                ..Default::default()
            },
            terminal: None,
            description: "kill test".into(),
        })
        .await
        .expect("subscribe");
    let secret = sub.secret.clone().expect("secret");

    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut declaration: tongguan_client::NewDeclaration = serde_json::from_str(
        &std::fs::read_to_string(format!("{examples}/declaration.json")).expect("declaration file"),
    )
    .expect("declaration json");
    declaration.submit = false;
    let mut drafts = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let d = importer
            .create_declaration(&declaration)
            .await
            .expect("draft");
        drafts.insert(d.declaration.id.to_string());
    }

    receiver.wait_until(20, |rs| rs.len() >= 3).await;
    drop(server); // SIGKILL
    let before = receiver.received().len();
    assert!(
        before < 10,
        "the kill came too late to test anything ({before} delivered)"
    );

    let again = serve_env(&["--demo"], &data, &env);
    let got = receiver
        .wait_until(30, |rs| {
            rs.iter()
                .filter(|r| r.answered < 300)
                .map(|r| r.webhook_id.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                >= 10
        })
        .await;
    let accepted = receiver.accepted();
    let delivered: std::collections::BTreeSet<String> = accepted
        .values()
        .map(|r| {
            r.json["data"]["declaration_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(delivered, drafts, "every message once after de-duplication");
    assert_eq!(accepted.len(), 10);
    assert!(got.iter().all(|r| valid_signatures(&secret, r) == 1));
    drop(again);
}

/// `tongguan loadgen` against the real binary: every operation succeeds and the JSON report
/// has throughput and latency percentiles per operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_drives_the_server_and_reports_per_operation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve_demo(&dir.path().join("data"));
    let admin = server
        .tokens
        .iter()
        .find(|(u, _)| u == "admin")
        .map(|(_, t)| t.clone())
        .expect("admin token");
    let report = dir.path().join("report.json");
    let base = server.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "loadgen",
                "--server",
                &base,
                "--declarations",
                "40",
                "--concurrency",
                "4",
            ])
            .args(["--enterprises", "5", "--json"])
            .arg(&report)
            .env("TONGGUAN_TOKEN", admin)
            .output()
    })
    .await
    .expect("join")
    .expect("run loadgen");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json")).expect("report"),
    )
    .expect("json");
    for op in ["manifest", "declare", "arrival", "gate", "status"] {
        let s = &json["operations"][op];
        assert_eq!(s["errors"], 0, "{op}: {text}");
        assert!(s["ok"].as_u64().unwrap_or(0) >= 40, "{op}: {text}");
        assert!(s["p99_ms"].as_f64().unwrap_or(0.0) >= s["p50_ms"].as_f64().unwrap_or(0.0));
    }
    assert!(text.contains("p99.9 ms"), "{text}");
}
