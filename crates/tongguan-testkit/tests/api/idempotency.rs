//! Every mutating call takes an Idempotency-Key: a retry gets the first answer again.

use tongguan_client::NewEnterpriseInput;
use tongguan_testkit::{Db, TestApp, on_both_databases, valid_uscc};

fn input(n: u32, name: &str) -> NewEnterpriseInput {
    NewEnterpriseInput {
        name: name.into(),
        uscc: valid_uscc(n),
        customs_code: format!("440396{n:04}"),
        credit_level: "routine".into(),
        tags: vec![],
        address: None,
        contact_phone: None,
    }
}

async fn retries_are_answered_once(db: Db) {
    let t = TestApp::spawn(db).await;
    let admin = t.admin();
    let keyed = admin.keyed("create-acme-1");
    let first = keyed
        .create_enterprise(&input(41, "Acme"))
        .await
        .expect("first");
    let again = keyed
        .create_enterprise(&input(41, "Acme"))
        .await
        .expect("retry");
    assert_eq!(first.id, again.id, "the retry returns the first answer");
    assert_eq!(
        admin.enterprises(Some("Acme")).await.expect("list").len(),
        1
    );

    let body = serde_json::to_string(&input(41, "Acme")).expect("json");
    let raw = keyed
        .raw(
            "POST",
            "/api/v1/enterprises",
            Some("application/json"),
            &body,
        )
        .await
        .expect("raw retry");
    assert_eq!(raw.status, 201);
    assert_eq!(
        raw.headers
            .get("idempotency-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );

    // Same key, other body: refused, nothing stored.
    let err = keyed
        .create_enterprise(&input(42, "Other"))
        .await
        .expect_err("other body");
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.rules(), vec!["idempotency_key.reused"]);
    assert!(
        admin
            .enterprises(Some("Other"))
            .await
            .expect("list")
            .is_empty()
    );

    // Keys belong to their actor: another user may use the same key.
    let officer = t
        .user("officer.k", "officer", None, Some("5300"), &[])
        .await;
    let by_officer = officer
        .keyed("create-acme-1")
        .create_enterprise(&input(43, "Officer's"))
        .await
        .expect("other actor");
    assert_ne!(by_officer.id, first.id);

    // No key: refused before anything happens.
    let raw = admin
        .raw("GET", "/healthz", None, "")
        .await
        .expect("sanity");
    assert_eq!(raw.status, 200);
    let client = reqwest_free_post(&t, &body).await;
    assert_eq!(client.0, 400);
    assert!(
        client.1.contains("idempotency_key.required"),
        "{}",
        client.1
    );
}

/// A POST without the Idempotency-Key header.
async fn reqwest_free_post(t: &TestApp, body: &str) -> (u16, String) {
    let token = t.admin_token_for_tests();
    t.raw_http(
        &format!(
            "POST /api/v1/enterprises HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ),
        body,
    )
    .await
}

async fn concurrent_retries_create_one_record(db: Db) {
    let t = TestApp::spawn(db).await;
    let keyed = t.admin().keyed("same-key-many-times");
    let calls = (0..12).map(|_| {
        let c = keyed.clone();
        async move { c.create_enterprise(&input(51, "Racer")).await }
    });
    let results = futures::future::join_all(calls).await;
    let ids: std::collections::BTreeSet<_> = results
        .into_iter()
        .map(|r| r.expect("each call answered").id)
        .collect();
    assert_eq!(ids.len(), 1, "all answers name the same enterprise");
    assert_eq!(
        t.admin()
            .enterprises(Some("Racer"))
            .await
            .expect("list")
            .len(),
        1
    );
}

on_both_databases! {
    a_retry_gets_the_first_answer => retries_are_answered_once,
    simultaneous_retries_store_one_record => concurrent_retries_create_one_record,
}
