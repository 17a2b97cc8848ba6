//! Reference data: shipped versions at first start, admin loads of newer versions.

use chrono::NaiveDate;
use tongguan_client::NewVersionParams;
use tongguan_refdata::DatasetId;
use tongguan_testkit::{Db, TestApp, on_both_databases};

fn params(label: &str, from: (i32, u32, u32)) -> NewVersionParams {
    NewVersionParams {
        label: label.into(),
        valid_from: NaiveDate::from_ymd_opt(from.0, from.1, from.2).expect("date"),
        source: "test fixture".into(),
    }
}

async fn admin_loads_a_newer_version(db: Db) {
    let mut t = TestApp::spawn(db).await;
    let admin = t.admin();
    let versions = admin.reference_versions().await.expect("versions");
    let tariff: Vec<_> = versions
        .iter()
        .filter(|v| v.dataset == DatasetId::TariffLines)
        .collect();
    assert_eq!(tariff.len(), 2, "2022 and 2023 tariff lists ship");
    assert!(tariff.iter().any(|v| v.label == "2023" && v.in_force));
    let shipped_count = versions.len();

    // Bad CSV: the line is named and nothing is stored.
    let bad = "code,name_en,name_zh,parent\n847130,Laptops,,\n847130,Again,,\n";
    let err = admin
        .load_reference(DatasetId::Hs, &params("2027", (2027, 1, 1)), bad)
        .await
        .expect_err("duplicate code");
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.rules(), vec!["refdata.duplicate_code"]);
    assert_eq!(
        admin.reference_versions().await.expect("versions").len(),
        shipped_count
    );

    // Non-admins may read but not load.
    let officer = t
        .user("officer.r", "officer", None, Some("5300"), &[])
        .await;
    let csv = "code,name_en,name_zh,parent,unit1_code\n84713090,Other portable computers,其他便携式计算机,847130,07\n99999999,Test line,测试,999999,07\n";
    assert_eq!(
        officer
            .load_reference(DatasetId::TariffLines, &params("2024", (2024, 1, 1)), csv)
            .await
            .expect_err("officer")
            .status(),
        Some(403)
    );

    // A version already in force replaces the older one at once.
    admin
        .load_reference(DatasetId::TariffLines, &params("2024", (2024, 1, 1)), csv)
        .await
        .expect("load");
    let line = officer
        .reference(DatasetId::TariffLines, "99999999")
        .await
        .expect("new line");
    assert_eq!(line.name_zh.as_deref(), Some("测试"));
    assert_eq!(
        officer
            .reference(DatasetId::TariffLines, "01012100")
            .await
            .expect_err("gone in 2024 fixture")
            .status(),
        Some(404)
    );

    // One that starts in the future is stored but not yet in force.
    admin
        .load_reference(
            DatasetId::TariffLines,
            &params("2099", (2099, 1, 1)),
            "code,name_en,name_zh,parent\n12345678,Future,,123456\n",
        )
        .await
        .expect("future");
    let versions = admin.reference_versions().await.expect("versions");
    assert!(versions.iter().any(|v| v.label == "2099" && !v.in_force));
    assert!(versions.iter().any(|v| v.label == "2024" && v.in_force));

    // Restart on the same database: loaded versions persist, shipped ones are not stored twice.
    let n = versions.len();
    t.stop().await;
    let t2 = t.reopen().await;
    let after = t2
        .admin()
        .reference_versions()
        .await
        .expect("versions after restart");
    assert_eq!(after.len(), n);
    assert!(
        t2.admin()
            .reference(DatasetId::TariffLines, "99999999")
            .await
            .is_ok()
    );
}

async fn holidays_and_codes_are_queryable(db: Db) {
    let t = TestApp::spawn(db).await;
    let c = t.admin();
    let day = c
        .reference(DatasetId::Holidays, "2025-01-28")
        .await
        .expect("spring festival eve 2025");
    assert_eq!(
        day.attributes.get("off_day").map(String::as_str),
        Some("true")
    );
    let makeup = c
        .reference(DatasetId::Holidays, "2025-01-26")
        .await
        .expect("make-up day");
    assert_eq!(
        makeup.attributes.get("off_day").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        c.reference(DatasetId::Countries, "chn")
            .await
            .expect("CHN")
            .attributes
            .get("alpha2")
            .map(String::as_str),
        Some("CN")
    );
    assert!(c.reference(DatasetId::Currencies, "CNY").await.is_ok());
    assert!(c.reference(DatasetId::Ports, "CN SZP").await.is_ok());
    assert!(c.reference(DatasetId::TradeModes, "0110").await.is_ok());
    let ports = c
        .reference_search(DatasetId::Ports, "yantian", 10)
        .await
        .expect("search");
    assert!(ports.entries.iter().any(|p| p.code == "CNYTN"));
}

on_both_databases! {
    an_admin_loads_a_newer_reference_version => admin_loads_a_newer_version,
    holidays_countries_ports_are_queryable => holidays_and_codes_are_queryable,
}
