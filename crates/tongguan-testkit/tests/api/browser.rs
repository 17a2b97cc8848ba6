//! The web interface in real headless Chromium (issue 8): enterprise, terminal and officer
//! pages, driven by playwright-core (`crates/tongguan-testkit/browser/flow.mjs`). Needs
//! Node.js and Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it); the test
//! runs `npm ci` itself when playwright-core is missing. Without Chromium it says so and
//! passes, unless `TONGGUAN_BROWSER_TESTS=required` (CI sets it), when it fails.

use std::path::Path;
use std::process::Command;

use tongguan_testkit::Db;

use crate::clearance::{CONTAINER, CONTAINER_2, manifest, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_importer_files_and_sees_the_release_live_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    // playwright-core comes from the npm registry at the version package-lock.json pins.
    if !dir.join("node_modules/playwright-core").exists() && Path::new(&chromium).exists() {
        let _ = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status();
    }
    let ready = dir.join("node_modules/playwright-core").exists() && Path::new(&chromium).exists();
    if !ready {
        let required = std::env::var("TONGGUAN_BROWSER_TESTS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "browser tests required but playwright-core or {chromium} is missing"
        );
        eprintln!(
            "browser test skipped: run `npm ci` in {} and install chromium",
            dir.display()
        );
        return;
    }
    let w = world(Db::Sqlite, "routine").await;
    let bill = "WEB0000000001";
    manifest(&w.importer, bill, &[CONTAINER]).await;
    let bill2 = "WEB0000000002";
    manifest(&w.importer, bill2, &[CONTAINER_2]).await;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/browser");
    let base = w.t.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("flow.mjs")
            .current_dir(&dir)
            .env("BASE", base)
            .env("IMPORTER", "clerk.i")
            .env("TERMINAL", "gate.yict")
            .env("BILL", bill)
            .env("BILL2", bill2)
            .env("CONTAINER2", CONTAINER_2)
            .env("OFFICER", "officer.dapeng")
            .env("CHROMIUM", chromium)
            .env("ARTIFACTS", &artifacts)
            .output()
    })
    .await
    .expect("join")
    .expect("run node");
    assert!(
        out.status.success(),
        "browser flow failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
