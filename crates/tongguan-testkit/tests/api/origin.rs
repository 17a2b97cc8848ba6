//! Certificates of origin (M11) end to end: approved in a second when the rules hold,
//! returned with every failed check otherwise, officers' overrides, public verification,
//! the printable certificate, and the import side granting the RCEP rate only on a verified
//! certificate.

use rust_decimal::Decimal;
use tongguan_client::{
    CertificateApplication, CertificateOverride, Client, OriginTransport, ReceivedCertificate,
};
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::OriginCertificateRef;
use tongguan_origin::{Criterion, Item, Material, MaterialRole, RvcMethod};
use tongguan_testkit::{Db, on_both_databases};

use crate::clearance::{CONTAINER, World, content, manifest, submit, world};
use crate::taxes::{today, usd_rate};

on_both_databases! {
    certificates_are_reviewed_verified_and_overridden => certificates,
    the_rcep_rate_needs_a_verified_certificate => import_side,
    admins_load_a_fuller_rule_table => rule_table,
}

fn mat(hs: &str, origin: &str, value: i64) -> Material {
    Material {
        hs_code: hs.into(),
        description: "part".into(),
        origin: origin.into(),
        value: Decimal::new(value, 0),
        weight_kg: None,
        role: MaterialRole::Material,
    }
}

/// Amplifiers of 8518.40 ("CTSH or RVC40"), made from US parts of 8518.90.
fn amplifier(materials: Vec<Material>) -> Item {
    Item {
        hs_code: "8518.40".into(),
        description: "Audio amplifier <AMP-1>".into(),
        quantity: Decimal::new(100, 0),
        unit: "台".into(),
        fob: Decimal::new(10_000, 0),
        criterion: Criterion::ProductSpecific,
        materials,
        processes: vec!["assembling".into(), "testing".into()],
        rvc_method: RvcMethod::BuildDown,
        build_up: None,
        weight_kg: None,
    }
}

fn application(items: Vec<Item>) -> CertificateApplication {
    CertificateApplication {
        importing_party: "JPN".into(),
        importer_name: "Osaka Audio KK".into(),
        importer_address: "Osaka".into(),
        invoice_no: "INV-AMP-1".into(),
        invoice_date: today(),
        total_fob: None,
        transport: OriginTransport {
            means: "COSCO SHIPPING ARIES".into(),
            voyage: "042E".into(),
            departure_date: Some(today()),
            port_of_loading: "CNYTN".into(),
            port_of_discharge: "JPTYO".into(),
        },
        items,
    }
}

async fn exporter(w: &World, name: &str, n: u32, credit: &str) -> Client {
    let e = w.t.enterprise(name, n, credit, &[]).await;
    w.t.user(
        &format!("clerk.{n}"),
        "enterprise_user",
        Some(e.id),
        None,
        &[],
    )
    .await
}

async fn certificates(db: Db) {
    let w = world(db, "routine").await;
    let ex = exporter(&w, "Shenzhen Audio Exporter", 201, "advanced_certified").await;
    let mut feed = ex.event_stream(None).await.expect("stream");

    // Passes: CTSH (8518.90 → 8518.40). Approved at once with a number and a code.
    let ok = ex
        .apply_certificate(&application(vec![amplifier(vec![mat(
            "8518.90", "USA", 6_000,
        )])]))
        .await
        .expect("apply");
    assert_eq!(ok.status, "approved", "{:?}", ok.checks);
    let number = ok.number.clone().expect("number");
    let code = ok.verification_code.clone().expect("code");
    assert!(
        ok.checks
            .iter()
            .any(|c| c["code"] == "ORIGIN.PSR_MET" && c["passed"] == true)
    );
    assert!(
        ok.checks
            .iter()
            .any(|c| c["code"] == "EXPORTER.ELIGIBLE" && c["passed"] == true)
    );

    // The decision is pushed to the exporter, without the verification code.
    let e = tokio::time::timeout(std::time::Duration::from_secs(10), feed.next_event())
        .await
        .expect("pushed within 10 s")
        .expect("readable")
        .expect("open");
    assert_eq!(e.event, "certificate.status");
    assert_eq!(e.data["number"], number.as_str());
    assert!(!e.data.to_string().contains(&code));

    // Anyone with number and code verifies, without logging in; a wrong code and an unknown
    // number answer alike.
    let v =
        w.t.client
            .verify_certificate(&number, &code)
            .await
            .expect("verify");
    assert!(v.valid, "{v:?}");
    assert_eq!(v.items[0].hs_code, "8518.40");
    let wrong =
        w.t.client
            .verify_certificate(&number, "WRONGCODE1")
            .await
            .expect("verify");
    let unknown =
        w.t.client
            .verify_certificate("R-NOPE", &code)
            .await
            .expect("verify");
    assert!(!wrong.valid && !unknown.valid);
    assert_eq!(wrong.reason, unknown.reason);

    // The printable certificate names it and escapes what the exporter typed.
    let html = ex.certificate_html(ok.id).await.expect("print");
    assert!(html.contains(&number) && html.contains("区域全面经济伙伴关系协定"));
    assert!(html.contains("&lt;AMP-1&gt;") && !html.contains("<AMP-1>"));

    // Fails: the module is of 8518.40 itself and 80 % of FOB: returned, the whole list named.
    let mut bad = application(vec![amplifier(vec![mat("8518.40", "USA", 8_000)])]);
    bad.importing_party = "USA".into();
    let returned = ex.apply_certificate(&bad).await.expect("apply");
    assert_eq!(returned.status, "returned");
    assert!(returned.number.is_none() && returned.verification_code.is_none());
    let failed: Vec<&str> = returned
        .checks
        .iter()
        .filter(|c| c["passed"] == false)
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(failed, ["PARTY.IMPORTING", "ORIGIN.PSR_MET"]);
    let psr = returned
        .checks
        .iter()
        .find(|c| c["code"] == "ORIGIN.PSR_MET")
        .expect("psr");
    assert!(
        psr["message_zh"]
            .as_str()
            .unwrap_or_default()
            .contains("不满足"),
        "{psr}"
    );
    assert_eq!(
        psr["work"]["alternatives"][1]["terms"][0]["percent"],
        "20.00"
    );

    // Others cannot see it; terminals and officers do not apply; only officers override.
    let other = exporter(&w, "Another Exporter", 202, "routine").await;
    assert_eq!(
        other
            .certificate(ok.id)
            .await
            .err()
            .and_then(|e| e.status()),
        Some(404)
    );
    assert_eq!(
        w.terminal
            .apply_certificate(&application(vec![]))
            .await
            .err()
            .and_then(|e| e.status()),
        Some(403)
    );
    let approve = CertificateOverride {
        approve: true,
        reason: "verified the factory's records on site".into(),
    };
    assert_eq!(
        ex.override_certificate(returned.id, &approve)
            .await
            .err()
            .and_then(|e| e.status()),
        Some(403)
    );
    let err = w
        .officer
        .override_certificate(
            returned.id,
            &CertificateOverride {
                approve: true,
                reason: " ".into(),
            },
        )
        .await
        .expect_err("no reason");
    assert_eq!(err.rules(), ["required"]);
    let overridden = w
        .officer
        .override_certificate(returned.id, &approve)
        .await
        .expect("override");
    assert_eq!(overridden.status, "approved");
    assert!(overridden.number.is_some());
    assert!(overridden.decided_by.contains("officer.dapeng"));
    assert_eq!(
        overridden.decision_reason.as_deref(),
        Some("verified the factory's records on site")
    );
    let again = w
        .officer
        .override_certificate(returned.id, &approve)
        .await
        .expect_err("twice");
    assert_eq!(again.status(), Some(409));
    // Revoked: verification says so.
    w.officer
        .override_certificate(
            ok.id,
            &CertificateOverride {
                approve: false,
                reason: "false invoice".into(),
            },
        )
        .await
        .expect("revoke");
    let v =
        w.t.client
            .verify_certificate(&number, &code)
            .await
            .expect("verify");
    assert!(!v.valid && v.reason.contains("revoked"), "{v:?}");

    // A dishonest exporter is not certified automatically, whatever its goods.
    let shady = exporter(&w, "Shady Exporter", 203, "dishonest").await;
    let r = shady
        .apply_certificate(&application(vec![amplifier(vec![mat(
            "8518.90", "USA", 6_000,
        )])]))
        .await
        .expect("apply");
    assert_eq!(r.status, "returned");
    assert!(
        r.checks
            .iter()
            .any(|c| c["code"] == "EXPORTER.ELIGIBLE" && c["passed"] == false)
    );
    assert_eq!(ex.certificates().await.expect("list").len(), 2);

    // Malformed input is refused by field, and nothing is stored.
    let err = ex
        .apply_certificate(&application(vec![]))
        .await
        .expect_err("no goods");
    assert_eq!(err.rules(), ["required"]);
    let mut raw = serde_json::to_value(application(vec![amplifier(vec![])])).expect("json");
    raw["items"][0]["criterion"] = "XX".into();
    let err = ex
        .raw(
            "POST",
            "/api/v1/origin/certificates",
            Some("application/json"),
            &raw.to_string(),
        )
        .await
        .expect("answer");
    assert_eq!(err.status, 400, "{}", err.body);
    assert!(err.body.contains("items[0]/criterion"), "{}", err.body);
    assert_eq!(ex.certificates().await.expect("list").len(), 2);
}

/// The agreement rate is granted on a verified certificate and refused, with the reason,
/// otherwise.
async fn import_side(db: Db) {
    let w = world(db, "routine").await;
    usd_rate(&w).await;
    // A test tariff: laptops MFN 5 %, RCEP (Japan) 2 % (fictitious rates, not the tariff).
    let csv = format!(
        "code,description,valid_from,valid_until,mfn,provisional,general,agreements,vat,consumption_tax,consumption_tax_threshold,consumption_tax_below_threshold,source,notes\n84713090,Laptops (test table),{},,5%,,70%,RCEP:JPN=2%,13%,,,,test,\n",
        today() - chrono::Duration::days(1)
    );
    w.t.admin()
        .load_tariff(
            &tongguan_client::NewVersionParams {
                label: "origin-test".into(),
                valid_from: today() - chrono::Duration::days(1),
                source: "test fixture".into(),
            },
            &csv,
        )
        .await
        .expect("tariff");
    let laptop = Item {
        hs_code: "8471.30".into(),
        description: "Laptops".into(),
        quantity: Decimal::new(200, 0),
        unit: "台".into(),
        fob: Decimal::new(90_000, 0),
        criterion: Criterion::ProductSpecific,
        materials: vec![],
        processes: vec![],
        rvc_method: RvcMethod::BuildDown,
        build_up: None,
        weight_kg: None,
    };
    let received = ReceivedCertificate {
        number: "JP-RCEP-2026-000123".into(),
        verification_code: "K7Q2M9XW4P".into(),
        exporting_party: "JPN".into(),
        exporter_name: "Tokyo Trading K.K.".into(),
        importer_name: "Shenzhen Importer".into(),
        issued_on: today(),
        items: vec![laptop],
    };
    assert_eq!(
        w.importer
            .register_received_certificate(&received)
            .await
            .err()
            .and_then(|e| e.status()),
        Some(403)
    );
    w.officer
        .register_received_certificate(&received)
        .await
        .expect("register");

    let declare = |bill: &'static str, code: Option<&'static str>| {
        let importer = w.importer.clone();
        let uscc = w.uscc.clone();
        async move {
            manifest(&importer, bill, &[CONTAINER]).await;
            let mut c = content(&uscc, bill, &[CONTAINER], Direction::Import);
            c.head.origin_certificate = Some(OriginCertificateRef {
                agreement: "RCEP".into(),
                exporting_party: "JPN".into(),
                number: "JP-RCEP-2026-000123".into(),
                verification_code: code.map(str::to_string),
            });
            importer
                .create_declaration(&submit(c))
                .await
                .expect("declare")
                .declaration
                .tax
                .expect("tax")
                .breakdown
                .expect("breakdown")
        }
    };
    // Verified: 639,710.00 × 2 % = 12,794.20.
    let b = declare("ORIG0000001", Some("K7Q2M9XW4P")).await;
    assert_eq!(b["totals"]["duty"], "12794.20", "{b}");
    // A wrong code: MFN 5 % and the reason in the notes.
    let b = declare("ORIG0000002", Some("AAAAAAAAAA")).await;
    assert_eq!(b["totals"]["duty"], "31985.50", "{b}");
    assert!(
        b.to_string()
            .contains("no certificate with this number and verification code"),
        "{b}"
    );
    // No code at all: refused, said so.
    let b = declare("ORIG0000003", None).await;
    assert!(b.to_string().contains("has no verification code"), "{b}");
}

/// The shipped table is a sample; admins load a fuller one (e.g. GACC 2022 No. 129), which
/// reviews use from its date on, also after a restart; a broken table names every bad row.
async fn rule_table(db: Db) {
    let w = world(db, "routine").await;
    let ex = exporter(&w, "Shenzhen Laptop Exporter", 204, "routine").await;
    let laptop = Item {
        hs_code: "8471.30".into(),
        description: "Laptops".into(),
        quantity: Decimal::new(10, 0),
        unit: "台".into(),
        fob: Decimal::new(5_000, 0),
        criterion: Criterion::ProductSpecific,
        materials: vec![mat("8473.30", "USA", 2_000)],
        processes: vec!["assembling".into()],
        rvc_method: RvcMethod::BuildDown,
        build_up: None,
        weight_kg: None,
    };
    let before = ex
        .apply_certificate(&application(vec![laptop.clone()]))
        .await
        .expect("apply");
    assert_eq!(before.status, "returned");
    assert!(
        before
            .checks
            .iter()
            .any(|c| c["code"] == "PSR.FOUND" && c["passed"] == false)
    );

    let params = tongguan_client::NewVersionParams {
        label: "test-hs2022".into(),
        valid_from: today() - chrono::Duration::days(1),
        source: "test fixture (not the Annex)".into(),
    };
    let broken =
        "hs_code,hs_version,description,rule_text\n8471.3,HS2022,x,CTH\n8471.30,HS2022,x,CTQ\n";
    let err =
        w.t.admin()
            .load_origin_rules(&params, broken)
            .await
            .expect_err("broken");
    let paths: Vec<String> = err
        .problem()
        .map(|p| p.violations.iter().map(|v| v.path.clone()).collect())
        .unwrap_or_default();
    assert_eq!(paths, ["csv.line[2].hs_code", "csv.line[3].rule_text"]);
    assert_eq!(
        ex.load_origin_rules(&params, broken)
            .await
            .err()
            .and_then(|e| e.status()),
        Some(403)
    );
    let csv = "hs_code,hs_version,description,rule_text,source_url,source_page,notes\n8471.30,HS2022,Portable computers,CTH or RVC40,test,,\n";
    w.t.admin()
        .load_origin_rules(&params, csv)
        .await
        .expect("load");
    let after = ex
        .apply_certificate(&application(vec![laptop.clone()]))
        .await
        .expect("apply");
    assert_eq!(after.status, "approved", "{:?}", after.checks);

    let t = w.t.reopen().await;
    let session = t
        .client
        .login("clerk.204", "clerk.204-password")
        .await
        .expect("login");
    let ex = t
        .client
        .with_token(session.secret.as_deref().unwrap_or_default());
    let again = ex
        .apply_certificate(&application(vec![laptop]))
        .await
        .expect("apply");
    assert_eq!(
        again.status, "approved",
        "the loaded table survives a restart"
    );
}
