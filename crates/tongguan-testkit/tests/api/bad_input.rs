//! Bad input gets a clear problem+json naming the field and rule, and nothing is stored.

use tongguan_testkit::{Db, TestApp, valid_uscc};

async fn count(t: &TestApp) -> usize {
    t.admin().enterprises(None).await.expect("list").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_and_nothing_is_stored() {
    // A small body limit, so an oversized body still fits the socket buffers and the client
    // reliably reads the 413 (with megabytes, the server may close while the client writes).
    let config = tongguan_server::config::Config {
        max_body_bytes: 8 * 1024,
        ..tongguan_testkit::test_config()
    };
    let t = TestApp::spawn_with(Db::Sqlite, config).await;
    let admin = t.admin();
    let before = count(&t).await;
    let json = "application/json";

    let r = admin
        .raw(
            "POST",
            "/api/v1/enterprises",
            Some(json),
            "{\"name\": \"x\",",
        )
        .await
        .expect("send");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert_eq!(r.json()["violations"][0]["rule"], "json.syntax");

    let body = format!(
        "{{\"name\":\"x\",\"uscc\":\"{}\",\"customs_code\":\"4403960071\",\"credit_level\":\"routine\",\"colour\":\"red\"}}",
        valid_uscc(71)
    );
    let r = admin
        .raw("POST", "/api/v1/enterprises", Some(json), &body)
        .await
        .expect("send");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["violations"][0]["rule"], "json.unknown_field");
    assert_eq!(r.json()["violations"][0]["path"], "colour");

    let r = admin
        .raw(
            "POST",
            "/api/v1/enterprises",
            Some(json),
            "{\"name\":\"x\",\"uscc\":5}",
        )
        .await
        .expect("send");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["violations"][0]["path"], "uscc");

    let r = admin
        .raw("POST", "/api/v1/enterprises", Some("text/plain"), &body)
        .await
        .expect("send");
    assert_eq!(r.status, 415);

    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(20 * 1024));
    let r = admin
        .raw("POST", "/api/v1/enterprises", Some(json), &huge)
        .await
        .expect("send");
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["type"], "urn:tongguan:problem:payload-too-large");

    // Every wrong code at once, each with its path.
    let body = serde_json::json!({
        "name": "  ",
        "uscc": "91440300MA5G0071",
        "customs_code": "44O3-96",
        "credit_level": "platinum",
        "tags": ["unicorn", "dragon"],
        "contact_phone": "call me",
    });
    let r = admin
        .raw("POST", "/api/v1/enterprises", Some(json), &body.to_string())
        .await
        .expect("send");
    assert_eq!(r.status, 422);
    let paths: Vec<String> = r.json()["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            format!(
                "{}={}",
                v["path"].as_str().unwrap_or(""),
                v["rule"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            "name=text.required",
            "uscc=uscc.length",
            "customs_code=customs_code.format",
            "credit_level=credit_level.unknown",
            "tags/1=tag.unknown",
            "contact_phone=phone.format",
        ]
    );

    // Not authenticated.
    let r = t
        .client
        .raw("GET", "/api/v1/enterprises", None, "")
        .await
        .expect("send");
    assert_eq!(r.status, 401);
    let r = t
        .client
        .with_token("tgk_forged")
        .raw("GET", "/api/v1/me", None, "")
        .await
        .expect("send");
    assert_eq!(r.status, 401);

    // Bad query parameters and unknown things.
    let r = admin
        .raw("GET", "/api/v1/enterprises?limit=100000", None, "")
        .await
        .expect("send");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["violations"][0]["rule"], "page.limit");
    let r = admin
        .raw("GET", "/api/v1/reference/planets/earth", None, "")
        .await
        .expect("send");
    assert_eq!(r.status, 404);
    let r = admin
        .raw("GET", "/api/v1/enterprises/not-a-uuid", None, "")
        .await
        .expect("send");
    assert_eq!(r.status, 400);
    let r = admin
        .raw("GET", "/api/v1/nothing-here", None, "")
        .await
        .expect("send");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["type"], "urn:tongguan:problem:not-found");

    assert_eq!(count(&t).await, before, "no bad request stored anything");
}
