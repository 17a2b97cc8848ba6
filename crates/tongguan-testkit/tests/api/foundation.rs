//! The new user's first steps (issue 2 "done when").

use tongguan_client::NewEnterpriseInput;
use tongguan_refdata::DatasetId;
use tongguan_testkit::{Db, TestApp, on_both_databases, valid_uscc, wrong_check_uscc};

async fn first_steps(db: Db) {
    let t = TestApp::spawn(db).await;
    let admin = t.admin();

    // Look up HS 8471.30 (portable computers) as written on paper, with the dot.
    let hs = admin
        .reference(DatasetId::Hs, "8471.30")
        .await
        .expect("hs lookup");
    assert_eq!(hs.code, "847130");
    assert!(
        hs.name_en.as_deref().unwrap_or("").contains("portable"),
        "{hs:?}"
    );
    assert_eq!(hs.parent.as_deref(), Some("8471"));

    // The China tariff lines under it (2023 list in force today).
    let line = admin
        .reference(DatasetId::TariffLines, "8471.3090")
        .await
        .expect("tariff line");
    assert_eq!(line.parent.as_deref(), Some("847130"));

    // The Shenzhen customs districts: 5300 and its subordinate customs.
    let found = admin
        .reference_search(DatasetId::CustomsDistricts, "深圳", 20)
        .await
        .expect("search");
    assert!(found.entries.iter().any(|e| e.code == "5300"), "{found:?}");
    let subs = admin
        .reference_children(DatasetId::CustomsDistricts, "5300")
        .await
        .expect("children");
    let huanggang = subs
        .entries
        .iter()
        .find(|e| e.code == "5301")
        .expect("5301 under 5300");
    assert_eq!(huanggang.name_zh.as_deref(), Some("皇岗海关"));
    assert!(
        subs.total > 40,
        "Shenzhen Customs has over 40 subordinate codes, got {}",
        subs.total
    );

    // Creating an enterprise: a wrong check character is refused and nothing is stored.
    let before = admin.enterprises(None).await.expect("list").len();
    let mut input = NewEnterpriseInput {
        name: "深圳测试进出口有限公司".into(),
        uscc: wrong_check_uscc(1),
        customs_code: "4403960101".into(),
        credit_level: "advanced_certified".into(),
        tags: vec!["unicorn".into()],
        address: None,
        contact_phone: None,
    };
    let err = admin
        .create_enterprise(&input)
        .await
        .expect_err("wrong check character");
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.rules(), vec!["uscc.check_character"]);
    assert_eq!(
        err.problem().map(|p| p.violations[0].path.clone()),
        Some("uscc".into())
    );
    assert_eq!(admin.enterprises(None).await.expect("list").len(), before);

    // The right one is accepted.
    input.uscc = valid_uscc(1);
    let e = admin
        .create_enterprise(&input)
        .await
        .expect("valid enterprise");
    assert_eq!(e.uscc.as_str(), valid_uscc(1));
    assert_eq!(
        admin.enterprise(e.id).await.expect("read back").name,
        input.name
    );

    // A second enterprise with the same USCC is a conflict naming the field.
    input.customs_code = "4403960102".into();
    let dup = admin
        .create_enterprise(&input)
        .await
        .expect_err("duplicate uscc");
    assert_eq!(dup.status(), Some(409));
    assert_eq!(dup.rules(), vec!["uscc.unique"]);

    // Every change so far is in an intact audit chain.
    let report = admin.audit_verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
    let rows = admin.audit(0, 1000).await.expect("audit rows");
    assert!(rows.iter().any(|r| r.draft.action == "enterprise.create"
        && r.draft.object == format!("enterprise/{}", e.id)));
}

async fn health_and_metrics(db: Db) {
    let t = TestApp::spawn(db.clone()).await;
    let h = t.client.health().await.expect("healthz");
    let expected = if db == Db::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(h["database"], expected);
    t.admin().me().await.expect("me");
    let m = t
        .client
        .raw("GET", "/metrics", None, "")
        .await
        .expect("metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.body.contains("tongguan_http_requests_total"),
        "{}",
        &m.body[..m.body.len().min(500)]
    );
}

on_both_databases! {
    first_steps_of_a_new_user => first_steps,
    health_and_metrics_answer => health_and_metrics,
}
