//! The committed openapi.json is the one the code generates.

use tongguan_testkit::{Db, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_openapi_document_is_current() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let served = t
        .client
        .raw("GET", "/api/v1/openapi.json", None, "")
        .await
        .expect("openapi");
    assert_eq!(served.status, 200);
    let doc = served.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/enterprises"]["post"].is_object());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let generated = tongguan_server::http::openapi_json();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, format!("{generated}\n")).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p tongguan-testkit openapi` and commit it"
    );
    assert_eq!(served.body.trim_end(), generated.trim_end());
}
