//! The audit log is append-only and hash-chained: tampering is found at the changed row.

use tongguan_testkit::{Db, TestApp, on_both_databases};

async fn tampering_is_caught(db: Db) {
    let t = TestApp::spawn(db.clone()).await;
    for (i, n) in [81u32, 82, 83].iter().enumerate() {
        t.enterprise(&format!("Audited {i}"), *n, "routine", &[])
            .await;
    }
    let admin = t.admin();
    assert!(admin.audit_verify().await.expect("verify").ok);
    let rows = admin.audit(0, 1000).await.expect("rows");
    let target = rows
        .iter()
        .find(|r| r.draft.action == "enterprise.create")
        .expect("a row")
        .seq;

    // The database refuses changes to written rows.
    let refused = t
        .app
        .store
        .execute_raw_for_tests(&format!(
            "UPDATE audit_log SET reason = 'nothing happened' WHERE seq = {target}"
        ))
        .await;
    assert!(refused.is_err(), "append-only trigger must refuse updates");
    let refused = t
        .app
        .store
        .execute_raw_for_tests(&format!("DELETE FROM audit_log WHERE seq = {target}"))
        .await;
    assert!(refused.is_err(), "append-only trigger must refuse deletes");

    // Someone with file access disables the guard and rewrites history.
    let disable = match db {
        Db::Sqlite => "DROP TRIGGER audit_log_no_update;",
        Db::Postgres(_) => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;",
    };
    t.app
        .store
        .execute_raw_for_tests(&format!(
            "{disable} UPDATE audit_log SET reason = 'nothing happened' WHERE seq = {target}"
        ))
        .await
        .expect("tamper");
    let report = admin.audit_verify().await.expect("verify");
    assert!(!report.ok);
    assert_eq!(report.broken_at, Some(target), "{report:?}");
    assert_eq!(report.checked, u64::try_from(target - 1).expect("seq"));
}

on_both_databases! {
    audit_chain_names_the_tampered_row => tampering_is_caught,
}
