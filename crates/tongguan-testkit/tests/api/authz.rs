//! Enterprise A never sees or changes enterprise B's records; roles are enforced.

use chrono::NaiveDate;
use tongguan_client::{EnterprisePatch, NewAuthorisation, NewEnterpriseInput};
use tongguan_testkit::{Db, TestApp, on_both_databases, valid_uscc};

async fn enterprise_isolation(db: Db) {
    let t = TestApp::spawn(db).await;
    let a = t.enterprise("Enterprise A", 11, "routine", &[]).await;
    let b = t.enterprise("Enterprise B", 12, "routine", &[]).await;
    let ua = t
        .user("clerk.a", "enterprise_user", Some(a.id), None, &[])
        .await;

    // List: only its own.
    let listed = ua.enterprises(None).await.expect("list");
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(
        ua.enterprises(Some("Enterprise B"))
            .await
            .expect("search")
            .is_empty()
    );

    // Read: B does not exist for A.
    assert_eq!(
        ua.enterprise(b.id).await.expect_err("read B").status(),
        Some(404)
    );
    assert_eq!(
        ua.authorisations(b.id)
            .await
            .expect_err("B's brokers")
            .status(),
        Some(404)
    );

    // Change: refused as not found, and B is unchanged.
    let patch = EnterprisePatch {
        address: Some("taken over".into()),
        ..Default::default()
    };
    assert_eq!(
        ua.update_enterprise(b.id, &patch)
            .await
            .expect_err("change B")
            .status(),
        Some(404)
    );
    assert_eq!(t.admin().enterprise(b.id).await.expect("B").address, None);

    // Its own record it may read and change (contact data only).
    assert_eq!(
        ua.update_enterprise(a.id, &patch)
            .await
            .expect("own")
            .address
            .as_deref(),
        Some("taken over")
    );
    let credit = EnterprisePatch {
        credit_level: Some("advanced_certified".into()),
        reason: Some("we deserve it".into()),
        ..Default::default()
    };
    let err = ua
        .update_enterprise(a.id, &credit)
        .await
        .expect_err("own credit level");
    assert_eq!(err.rules(), vec!["credit_level.customs_only"]);

    // Registering enterprises and users is customs' and the admin's job.
    let input = NewEnterpriseInput {
        name: "Shadow".into(),
        uscc: valid_uscc(13),
        customs_code: "4403960013".into(),
        credit_level: "routine".into(),
        tags: vec![],
        address: None,
        contact_phone: None,
    };
    assert_eq!(
        ua.create_enterprise(&input)
            .await
            .expect_err("create")
            .status(),
        Some(403)
    );
    assert_eq!(ua.users().await.expect_err("users").status(), Some(403));
    assert_eq!(
        ua.audit(0, 10).await.expect_err("audit").status(),
        Some(403)
    );
}

async fn broker_acts_only_when_authorised(db: Db) {
    let t = TestApp::spawn(db).await;
    let principal = t
        .enterprise("Importer P", 21, "advanced_certified", &[])
        .await;
    let other = t.enterprise("Importer O", 22, "routine", &[]).await;
    let broker_ent = t
        .enterprise("Broker K", 23, "certified", &["customs_broker"])
        .await;
    let broker = t
        .user("broker.k", "broker", Some(broker_ent.id), None, &[])
        .await;
    let clerk = t
        .user("clerk.p", "enterprise_user", Some(principal.id), None, &[])
        .await;

    assert_eq!(
        broker
            .enterprise(principal.id)
            .await
            .expect_err("before")
            .status(),
        Some(404)
    );

    // Only a registered customs broker can be authorised.
    let not_broker = NewAuthorisation {
        broker_id: other.id,
        valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
        valid_until: None,
        reason: "agency contract 2026-01".into(),
    };
    assert_eq!(
        clerk
            .authorise_broker(principal.id, &not_broker)
            .await
            .expect_err("not a broker")
            .rules(),
        vec!["broker.not_a_broker"]
    );

    let auth = clerk
        .authorise_broker(
            principal.id,
            &NewAuthorisation {
                broker_id: broker_ent.id,
                ..not_broker.clone()
            },
        )
        .await
        .expect("authorise");
    assert!(auth.in_force);
    assert_eq!(
        broker.enterprise(principal.id).await.expect("after").id,
        principal.id
    );
    assert_eq!(
        broker
            .enterprise(other.id)
            .await
            .expect_err("other")
            .status(),
        Some(404)
    );
    let mut seen: Vec<_> = broker
        .enterprises(None)
        .await
        .expect("list")
        .iter()
        .map(|e| e.id)
        .collect();
    seen.sort();
    let mut expected = vec![principal.id, broker_ent.id];
    expected.sort();
    assert_eq!(seen, expected);

    // The broker cannot authorise itself for someone else.
    assert_eq!(
        broker
            .authorise_broker(
                other.id,
                &NewAuthorisation {
                    broker_id: broker_ent.id,
                    ..not_broker.clone()
                }
            )
            .await
            .expect_err("self-service")
            .status(),
        Some(403)
    );

    clerk
        .revoke_authorisation(principal.id, auth.id, "contract ended")
        .await
        .expect("revoke");
    assert_eq!(
        broker
            .enterprise(principal.id)
            .await
            .expect_err("after revoke")
            .status(),
        Some(404)
    );
}

async fn roles_without_registry_access(db: Db) {
    let t = TestApp::spawn(db).await;
    let terminal = t
        .user(
            "gate.yantian",
            "terminal_operator",
            None,
            None,
            &["CNYTN-YICT"],
        )
        .await;
    assert_eq!(
        terminal
            .enterprises(None)
            .await
            .expect_err("terminal")
            .status(),
        Some(403)
    );
    let officer = t
        .user("officer.x", "officer", None, Some("5316"), &[])
        .await;
    let e = t.enterprise("Seen by customs", 31, "routine", &[]).await;
    assert_eq!(
        officer.enterprise(e.id).await.expect("officer reads").id,
        e.id
    );
    // Officers decide credit levels, with a reason that lands in the audit log.
    let changed = officer
        .update_enterprise(
            e.id,
            &EnterprisePatch {
                credit_level: Some("dishonest".into()),
                reason: Some("smuggling penalty decision 2026-118".into()),
                ..Default::default()
            },
        )
        .await
        .expect("officer decides");
    assert_eq!(changed.credit_level.as_str(), "dishonest");
    let rows = t.admin().audit(0, 1000).await.expect("audit");
    let row = rows
        .iter()
        .rev()
        .find(|r| r.draft.action == "enterprise.decide")
        .expect("decision audited");
    assert!(
        row.draft
            .reason
            .contains("smuggling penalty decision 2026-118")
    );
    assert!(row.draft.actor.starts_with("officer.x"));
    // Without a reason the decision is refused.
    let err = officer
        .update_enterprise(
            e.id,
            &EnterprisePatch {
                credit_level: Some("routine".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("no reason");
    assert_eq!(err.rules(), vec!["reason.required"]);
}

on_both_databases! {
    enterprise_a_cannot_touch_enterprise_b => enterprise_isolation,
    broker_acts_only_for_its_principals => broker_acts_only_when_authorised,
    terminal_and_officer_roles => roles_without_registry_access,
}
