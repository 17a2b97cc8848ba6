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
    let first_difference = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .or((committed.lines().count() != generated.lines().count()).then_some(0));
    assert!(
        first_difference.is_none(),
        "openapi.json is stale from line {}: run `UPDATE_OPENAPI=1 cargo test -p tongguan-testkit openapi` and commit it",
        first_difference.unwrap_or(0) + 1
    );
    assert!(
        served.body.trim_end() == generated.trim_end(),
        "the served document differs from the generated one"
    );
    // Every schema reference resolves.
    let text = generated.as_str();
    let schemas = &doc["components"]["schemas"];
    for part in text.split("#/components/schemas/").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        assert!(
            schemas.get(&name).is_some(),
            "dangling schema reference {name}"
        );
    }
    // Query parameters are in the query.
    let params = doc["paths"]["/api/v1/declarations"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        params.iter().all(|p| p["in"] == "query"),
        "list filters are query parameters"
    );
}
