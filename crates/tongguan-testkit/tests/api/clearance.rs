//! The clearance core end to end (M1, M3, M16): each mode through the typed client.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use tongguan_client::{
    ArrivalReportInput, Bill, Client, CompleteInput, DeclarationQuery, GateAction, InspectionInput,
    InspectionStatus, InstructionInput, ManifestInput, NewDeclaration, TimelineQuery,
};
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::{
    DeclarationContent, DeclarationHead, DeclarationItem, OverseasParty,
};
use tongguan_domain::lifecycle::{InspectionResult, Status};
use tongguan_testkit::{Db, TestApp, on_both_databases, valid_uscc};

pub(crate) const CONTAINER: &str = "CSQU3054383";
pub(crate) const CONTAINER_2: &str = "MSKU9070323";

pub(crate) fn content(
    uscc: &str,
    bill: &str,
    containers: &[&str],
    direction: Direction,
) -> DeclarationContent {
    let import = direction == Direction::Import;
    DeclarationContent {
        direction,
        head: DeclarationHead {
            declaring_customs: "5316".into(),
            port_customs: "5316".into(),
            domestic_party_uscc: uscc.into(),
            overseas_party: OverseasParty {
                name: "Tokyo Trading K.K.".into(),
                aeo_code: None,
            },
            transport_mode: "2".into(),
            transport_means: "COSCO SHIPPING ARIES".into(),
            voyage: "042E".into(),
            bill_no: bill.into(),
            trade_mode: "0110".into(),
            levy_nature: "101".into(),
            departure_or_destination_country: "JPN".into(),
            trading_country: "JPN".into(),
            foreign_port: Some("JPTYO".into()),
            domestic_port: "CNYTN".into(),
            package_type: "22".into(),
            packages: 40,
            gross_weight_kg: Decimal::new(52000, 1),
            net_weight_kg: Decimal::new(48000, 1),
            transaction_terms: if import { "1" } else { "3" }.into(),
            containers: containers.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        },
        items: vec![DeclarationItem {
            commodity_code: "8471309000".into(),
            name: "笔记本电脑".into(),
            specification: "品牌:Example|型号:X1".into(),
            quantity: Decimal::new(200, 0),
            unit: "001".into(),
            unit_price: Decimal::new(45050, 2),
            total_price: Decimal::new(9010000, 2),
            currency: "USD".into(),
            origin_country: "JPN".into(),
            destination_country: if import { "CHN" } else { "JPN" }.into(),
            levy_method: "1".into(),
            ..Default::default()
        }],
    }
}

pub(crate) struct World {
    pub(crate) t: TestApp,
    pub(crate) uscc: String,
    pub(crate) importer: Client,
    pub(crate) terminal: Client,
    pub(crate) officer: Client,
    pub(crate) enterprise: uuid::Uuid,
}

/// A client with an API token that does not expire: some tests move the clock by weeks,
/// past any browser session.
async fn long_lived(t: &TestApp, session: Client) -> Client {
    let token = session
        .create_token(&tongguan_client::NewToken {
            name: "long-lived".into(),
            expires_in_days: None,
        })
        .await
        .expect("token");
    t.client
        .with_token(token.secret.as_deref().unwrap_or_default())
}

pub(crate) async fn world(db: Db, credit: &str) -> World {
    world_on(TestApp::spawn(db).await, credit).await
}

/// The world of [`world`] on a server already started (with its own configuration).
pub(crate) async fn world_on(t: TestApp, credit: &str) -> World {
    let e = t.enterprise("Shenzhen Importer", 101, credit, &[]).await;
    let importer = long_lived(
        &t,
        t.user("clerk.i", "enterprise_user", Some(e.id), None, &[])
            .await,
    )
    .await;
    let terminal = long_lived(
        &t,
        t.user(
            "gate.yict",
            "terminal_operator",
            None,
            None,
            &["CNYTN-YICT"],
        )
        .await,
    )
    .await;
    let officer = long_lived(
        &t,
        t.user("officer.dapeng", "officer", None, Some("5316"), &[])
            .await,
    )
    .await;
    World {
        uscc: valid_uscc(101),
        t,
        importer,
        terminal,
        officer,
        enterprise: e.id,
    }
}

pub(crate) async fn manifest(c: &Client, bill: &str, containers: &[&str]) {
    c.file_manifest(&ManifestInput {
        direction: Direction::Import,
        transport_mode: "2".into(),
        transport_means: "COSCO SHIPPING ARIES".into(),
        voyage: format!("042E-{bill}"),
        port: "CNYTN".into(),
        customs: "5316".into(),
        eta: None,
        leg: Default::default(),
        bills: vec![Bill {
            bill_no: bill.into(),
            consignee: "Shenzhen Importer".into(),
            packages: 40,
            gross_weight_kg: Decimal::new(52000, 1),
            containers: containers.iter().map(|c| c.to_string()).collect(),
            master_bill_no: None,
            wagons: vec![],
        }],
    })
    .await
    .expect("manifest");
}

pub(crate) fn arrival(bill: Option<&str>, containers: &[&str]) -> ArrivalReportInput {
    ArrivalReportInput {
        terminal: "CNYTN-YICT".into(),
        bill_no: bill.map(str::to_string),
        containers: containers.iter().map(|c| c.to_string()).collect(),
    }
}

pub(crate) fn submit(c: DeclarationContent) -> NewDeclaration {
    NewDeclaration {
        owner_id: None,
        content: c,
        submit: true,
    }
}

/// Advance declaration (提前申报): accepted before arrival, released by the arrival report.
async fn advance_import(db: Db) {
    let w = world(db, "routine").await;
    manifest(&w.importer, "COSU6100000001", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000001",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);
    let no = d.declaration.customs_no.clone().expect("customs number");
    assert_eq!(no.len(), 18);
    assert!(
        no.starts_with(&format!("5316{}1", chrono::Utc::now().format("%Y"))),
        "{no}"
    );
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::Hold
    );

    let outcome = w
        .terminal
        .report_arrival(&arrival(Some("COSU6100000001"), &[]))
        .await
        .expect("arrival");
    assert_eq!(outcome.released, vec![d.declaration.id]);
    let after = w
        .importer
        .declaration(d.declaration.id)
        .await
        .expect("read");
    assert_eq!(after.declaration.status, Status::Released);
    assert_eq!(
        after.declaration.released_at, after.declaration.arrived_at,
        "released in the arrival's transaction"
    );
    let gate = w.terminal.gate(CONTAINER).await.expect("gate");
    assert_eq!(gate.action, GateAction::ShipSidePickup, "{gate:?}");

    let kinds: Vec<String> = w
        .importer
        .declaration_events(d.declaration.id)
        .await
        .expect("events")
        .iter()
        .map(|e| e.kind.name().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "submitted",
            "accepted",
            "awaiting_arrival",
            "arrived",
            "released"
        ]
    );
    let events = w
        .importer
        .declaration_events(d.declaration.id)
        .await
        .expect("events");
    assert!(
        events
            .last()
            .expect("release")
            .actor
            .starts_with("gate.yict")
    );

    // A second report changes nothing; the queue and the filters find it.
    let again = w
        .terminal
        .report_arrival(&arrival(Some("COSU6100000001"), &[]))
        .await
        .expect("again");
    assert!(again.released.is_empty());
    let found = w
        .importer
        .declarations(&DeclarationQuery {
            container_no: Some(CONTAINER.into()),
            status: Some("released".into()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(found.len(), 1);
    let queue = w
        .officer
        .declarations(&DeclarationQuery::default())
        .await
        .expect("officer queue");
    assert!(queue.iter().any(|q| q.declaration.id == d.declaration.id));
}

/// Ordinary declaration after arrival: released at acceptance.
async fn ordinary_after_arrival(db: Db) {
    let w = world(db, "routine").await;
    manifest(&w.importer, "COSU6100000002", &[CONTAINER_2]).await;
    w.terminal
        .report_arrival(&arrival(None, &[CONTAINER_2]))
        .await
        .expect("arrival first");
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000002",
            &[CONTAINER_2],
            Direction::Import,
        )))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::Released);
    assert_eq!(
        w.terminal.gate(CONTAINER_2).await.expect("gate").action,
        GateAction::Proceed
    );
}

/// A control instruction selects the next matching declaration; it is released only after
/// the inspection result. Enterprises do not see the risk explanation; officers do.
async fn control_instruction_and_inspection(db: Db) {
    let w = world(db, "advanced_certified").await;
    let instr = w
        .officer
        .create_instruction(&InstructionInput {
            conditions: tongguan_risk::Conditions {
                commodity_prefixes: vec!["8471".into()],
                origin_countries: vec!["JPN".into()],
                ..Default::default()
            },
            action: tongguan_risk::ControlAction::PhysicalInspection,
            selection_rate: Decimal::ONE,
            valid_from: Utc::now() - Duration::days(1),
            valid_until: None,
            reason: "intelligence 2026-77: mis-declared laptops from JP".into(),
            version: None,
        })
        .await
        .expect("instruction");
    manifest(&w.importer, "COSU6100000003", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000003",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::InspectionOrdered);
    assert!(
        d.declaration.assessment.is_none(),
        "enterprises do not see the risk explanation"
    );
    let officer_view = w
        .officer
        .declaration(d.declaration.id)
        .await
        .expect("officer");
    let assessment = officer_view.declaration.assessment.expect("explained");
    assert_eq!(
        assessment["hits"][0]["instruction_id"],
        instr.instruction.id.to_string()
    );
    assert!(
        officer_view
            .declaration
            .control
            .expect("control")
            .reason
            .contains("commodity_prefix 8471")
    );

    let out = w
        .terminal
        .report_arrival(&arrival(Some("COSU6100000003"), &[]))
        .await
        .expect("arrival");
    assert_eq!(out.to_inspection, vec![d.declaration.id]);
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::ToInspection
    );

    // Only officers record results; a terminal cannot release.
    let input = InspectionInput {
        result: InspectionResult {
            passed: true,
            findings: String::new(),
            attachments: vec![],
        },
        release: true,
        reason: "goods match the declaration".into(),
    };
    assert_eq!(
        w.terminal
            .record_inspection(d.declaration.id, &input)
            .await
            .expect_err("terminal")
            .status(),
        Some(403)
    );
    assert_eq!(
        w.importer
            .record_inspection(d.declaration.id, &input)
            .await
            .expect_err("importer")
            .status(),
        Some(403)
    );
    let done = w
        .officer
        .record_inspection(d.declaration.id, &input)
        .await
        .expect("inspected");
    assert_eq!(done.declaration.status, Status::Released);
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::Proceed
    );

    // The importer's timeline by container: arrival, the inspection, the release, in order.
    let by_container = w
        .importer
        .timeline(&TimelineQuery {
            container_no: Some(CONTAINER.to_lowercase()),
            ..Default::default()
        })
        .await
        .expect("timeline by container");
    assert_eq!(by_container.subject, format!("container/{CONTAINER}"));
    assert!(by_container.arrived_at.is_some(), "arrival shown");
    let ours = by_container
        .declarations
        .iter()
        .find(|x| x.id == d.declaration.id)
        .expect("our declaration on the container");
    assert_eq!(ours.status, Status::Released);
    assert_eq!(ours.inspection, InspectionStatus::Inspected);
    let path: Vec<Status> = by_container
        .events
        .iter()
        .filter(|e| e.declaration_id == d.declaration.id)
        .map(|e| e.to)
        .collect();
    let ordered = path.iter().position(|s| *s == Status::InspectionOrdered);
    let released = path.iter().position(|s| *s == Status::Released);
    assert!(
        ordered.is_some() && released > ordered,
        "inspection before release: {path:?}"
    );
    let by_bill = w
        .officer
        .timeline(&TimelineQuery {
            bill_no: Some("COSU6100000003".into()),
            ..Default::default()
        })
        .await
        .expect("officer timeline by bill");
    assert_eq!(by_bill.declarations.len(), 1);
    assert_eq!(
        by_bill.declarations[0].customs_no,
        done.declaration.customs_no
    );
    // Terminals plan on the gate decision, not on declarations.
    assert_eq!(
        w.terminal
            .timeline(&TimelineQuery {
                container_no: Some(CONTAINER.into()),
                ..Default::default()
            })
            .await
            .expect_err("terminal")
            .status(),
        Some(403)
    );

    // Revoked: the next declaration is not selected by it.
    w.officer
        .revoke_instruction(instr.instruction.id, "case closed")
        .await
        .expect("revoke");
    manifest(&w.importer, "COSU6100000004", &[CONTAINER_2]).await;
    let next = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000004",
            &[CONTAINER_2],
            Direction::Import,
        )))
        .await
        .expect("declare");
    assert_eq!(next.declaration.status, Status::AwaitingArrival);
}

/// The next event of a stream, or a failure after 10 s instead of a hung test.
async fn next_event(s: &mut tongguan_client::EventStream) -> tongguan_client::StreamEvent {
    tokio::time::timeout(std::time::Duration::from_secs(10), s.next_event())
        .await
        .expect("an event within 10 s")
        .expect("stream readable")
        .expect("stream open")
}

/// Server-sent events (M15): every status change of one's own declarations, resumable
/// with Last-Event-ID after a dropped connection; nothing of other enterprises.
async fn status_stream(db: Db) {
    let w = world(db, "routine").await;
    let b = w.t.enterprise("Other Importer", 102, "routine", &[]).await;
    let ub =
        w.t.user("clerk.b", "enterprise_user", Some(b.id), None, &[])
            .await;
    let mut mine = w.importer.event_stream(None).await.expect("stream");
    let mut theirs = ub.event_stream(None).await.expect("B stream");

    manifest(&w.importer, "COSU6100000011", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000011",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);
    let mut last = String::new();
    let mut seen = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    while seen.last().map(String::as_str) != Some("awaiting_arrival") {
        let e = next_event(&mut mine).await;
        kinds.insert(e.event.clone());
        if e.event != "declaration.status" {
            continue;
        }
        assert_eq!(e.data["declaration_id"], d.declaration.id.to_string());
        last = e.id.clone();
        seen.push(e.data["to"].as_str().unwrap_or_default().to_string());
    }
    assert!(seen.contains(&"accepted".to_string()), "{seen:?}");
    assert!(kinds.contains("manifest.filed"), "{kinds:?}");

    // The connection drops; the goods arrive meanwhile; resuming misses nothing.
    drop(mine);
    w.terminal
        .report_arrival(&arrival(Some("COSU6100000011"), &[]))
        .await
        .expect("arrival");
    let mut resumed = w.importer.event_stream(Some(&last)).await.expect("resume");
    let mut after = Vec::new();
    loop {
        let e = next_event(&mut resumed).await;
        if e.event != "declaration.status" {
            continue;
        }
        assert!(
            e.id.parse::<i64>().unwrap_or(0) > last.parse::<i64>().unwrap_or(0),
            "resumed after {last}, got {}",
            e.id
        );
        after.push(e.data["kind"].as_str().unwrap_or_default().to_string());
        if after.last().map(String::as_str) == Some("released") {
            break;
        }
    }
    assert_eq!(
        after,
        ["arrived", "released"],
        "nothing missed, nothing twice"
    );

    // B's first event is its own draft, none of A's changes before it.
    let draft = ub
        .create_declaration(&NewDeclaration {
            owner_id: None,
            content: content(b.uscc.as_str(), "COSU6100000012", &[], Direction::Import),
            submit: false,
        })
        .await
        .expect("B draft");
    let first = next_event(&mut theirs).await;
    assert_eq!(
        first.data["declaration_id"],
        draft.declaration.id.to_string()
    );

    // Revoking the token ends a stream opened with it at the next change.
    let token = ub
        .create_token(&tongguan_client::NewToken {
            name: "dashboard".into(),
            expires_in_days: None,
        })
        .await
        .expect("token");
    let dashboard = ub.with_token(token.secret.as_deref().expect("secret"));
    let mut open = dashboard
        .event_stream(None)
        .await
        .expect("dashboard stream");
    ub.revoke_token(token.credential.id).await.expect("revoke");
    ub.create_declaration(&NewDeclaration {
        owner_id: None,
        content: content(b.uscc.as_str(), "COSU6100000013", &[], Direction::Import),
        submit: false,
    })
    .await
    .expect("B draft 2");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), open.next_event())
        .await
        .expect("ends within 10 s")
        .expect("readable");
    assert!(ended.is_none(), "revoked token still streaming: {ended:?}");

    // Terminals hear of their containers, not of declarations; a Last-Event-ID we never
    // sent is refused by name.
    let mut gate = w
        .terminal
        .event_stream(Some(&last))
        .await
        .expect("terminal stream");
    let two = [next_event(&mut gate).await, next_event(&mut gate).await];
    let names: std::collections::BTreeSet<&str> = two.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["arrival.reported", "container.status"].into());
    let e = two
        .iter()
        .find(|e| e.event == "container.status")
        .expect("container");
    assert_eq!(e.data["status"], "released");
    assert!(e.data.get("declaration_id").is_none(), "{e:?}");
    let err = w
        .importer
        .event_stream(Some("yesterday"))
        .await
        .err()
        .expect("bad id refused");
    assert!(err.to_string().contains("Last-Event-ID"), "{err}");
}

/// Two-step declaration: released on the summary; the complete declaration is due 14 days
/// after the transport means' arrival; overdue ones accrue the late-declaration fee.
async fn two_step(db: Db) {
    let w = world(db, "routine").await;
    manifest(&w.importer, "COSU6100000005", &[CONTAINER]).await;
    let arrived_at: DateTime<Utc> = Utc::now();
    w.terminal
        .report_arrival(&arrival(Some("COSU6100000005"), &[]))
        .await
        .expect("arrival");
    let mut summary = content(&w.uscc, "COSU6100000005", &[CONTAINER], Direction::Import);
    summary.head.modes.two_step = true;
    summary.items[0].commodity_code = "847130".into();
    summary.head.levy_nature = String::new();
    let err = w
        .importer
        .create_declaration(&submit(summary.clone()))
        .await
        .expect_err("no guarantee");
    assert_eq!(err.rules(), vec!["two_step.guarantee_required"]);
    summary.head.guarantee_reference = Some("G5316202600012".into());
    let d = w
        .importer
        .create_declaration(&submit(summary))
        .await
        .expect("summary");
    assert_eq!(d.declaration.status, Status::Released);
    let due = d
        .declaration
        .two_step
        .clone()
        .expect("two-step")
        .complete_due;
    let arrival_day = (arrived_at + Duration::hours(8)).date_naive();
    assert_eq!(due, arrival_day + Duration::days(14));

    // 17 days later: 3 days overdue. Without the month's exchange rate the fee in CNY is
    // unknown; with USD at 7.1000 the customs value is 639,710.00 and the fee
    // 639,710.00 × 0.05 % × 3 = 959.565 → CNY 959 (whole yuan, Order 273).
    w.t.clock.set(arrived_at + Duration::days(17));
    let late = w
        .importer
        .declaration(d.declaration.id)
        .await
        .expect("read");
    assert_eq!(late.complete_overdue_days, 3);
    assert_eq!(late.late_fee, None);
    let month = (d.declaration.accepted_at.expect("accepted") + Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    w.t.admin()
        .set_exchange_rate(
            "USD",
            &month,
            &tongguan_client::ExchangeRateInput {
                cny_per_unit: Decimal::new(71000, 4),
                source: "test fixture".into(),
            },
        )
        .await
        .expect("rate");
    let late = w
        .importer
        .declaration(d.declaration.id)
        .await
        .expect("read");
    assert_eq!(late.late_fee, Some(Decimal::new(959, 0)));

    let full = content(&w.uscc, "COSU6100000005", &[CONTAINER], Direction::Import);
    let done = w
        .importer
        .complete_declaration(d.declaration.id, &CompleteInput { content: full })
        .await
        .expect("complete");
    assert_eq!(done.complete_overdue_days, 0);
    assert!(
        done.declaration
            .two_step
            .expect("two-step")
            .completed_at
            .is_some()
    );
}

/// Two-stage access: admitted to territory at the port, to market after the destination check.
async fn two_stage(db: Db) {
    let w = world(db, "routine").await;
    manifest(&w.importer, "COSU6100000006", &[CONTAINER]).await;
    let mut c = content(&w.uscc, "COSU6100000006", &[CONTAINER], Direction::Import);
    c.head.modes.two_stage = true;
    let d = w
        .importer
        .create_declaration(&submit(c))
        .await
        .expect("declare");
    w.terminal
        .report_arrival(&arrival(None, &[CONTAINER]))
        .await
        .expect("arrival");
    let d = w
        .importer
        .declaration(d.declaration.id)
        .await
        .expect("read");
    assert_eq!(d.declaration.status, Status::AdmittedToTerritory);
    let gate = w.terminal.gate(CONTAINER).await.expect("gate");
    assert!(
        matches!(
            gate.action,
            GateAction::ShipSidePickup | GateAction::Proceed
        ),
        "{gate:?}"
    );
    let tasks = w
        .officer
        .declarations(&DeclarationQuery {
            status: Some("admitted_to_territory".into()),
            ..Default::default()
        })
        .await
        .expect("tasks");
    assert_eq!(
        tasks.len(),
        1,
        "the destination check is in the officer's queue"
    );
    let m = w
        .officer
        .admit_to_market(d.declaration.id, true, "conformity assessment passed")
        .await
        .expect("stage 2");
    assert_eq!(m.declaration.status, Status::AdmittedToMarket);
}

/// Export advance declaration: at most 3 days before arrival; direct loading at the gate.
async fn export_direct_loading(db: Db) {
    let w = world(db, "routine").await;
    let mut c = content(&w.uscc, "EXP0000001", &[CONTAINER], Direction::Export);
    c.head.goods_arrival_date = Some((Utc::now() + Duration::days(10)).date_naive());
    let err = w
        .importer
        .create_declaration(&submit(c.clone()))
        .await
        .expect_err("too early");
    assert_eq!(err.rules(), vec!["export.too_early"]);
    c.head.goods_arrival_date = Some((Utc::now() + Duration::days(2)).date_naive());
    let d = w
        .importer
        .create_declaration(&submit(c))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);
    assert!(
        d.declaration
            .customs_no
            .as_deref()
            .is_some_and(|n| n.chars().nth(8) == Some('0')),
        "export flag 0"
    );
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::DirectLoading
    );
    let out = w
        .terminal
        .report_arrival(&arrival(None, &[CONTAINER]))
        .await
        .expect("gate-in");
    assert_eq!(out.released, vec![d.declaration.id]);
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::DirectLoading
    );
}

/// Enterprise B never sees A's declarations; roles are enforced; bad input is named.
async fn declaration_security_and_bad_input(db: Db) {
    let w = world(db, "routine").await;
    manifest(&w.importer, "COSU6100000007", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000007",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    let b = w.t.enterprise("Other Importer", 102, "routine", &[]).await;
    let ub =
        w.t.user("clerk.b", "enterprise_user", Some(b.id), None, &[])
            .await;
    assert_eq!(
        ub.declaration(d.declaration.id)
            .await
            .expect_err("B reads A")
            .status(),
        Some(404)
    );
    assert_eq!(
        ub.declaration_events(d.declaration.id)
            .await
            .expect_err("B events")
            .status(),
        Some(404)
    );
    assert_eq!(
        ub.request_cancellation(d.declaration.id, "mine now")
            .await
            .expect_err("B cancels")
            .status(),
        Some(404)
    );
    assert!(
        ub.declarations(&DeclarationQuery::default())
            .await
            .expect("B list")
            .is_empty()
    );
    // Another enterprise's bill and container look like unknown ones, and a query names
    // the field it got wrong.
    for q in [
        TimelineQuery {
            bill_no: Some("COSU6100000007".into()),
            ..Default::default()
        },
        TimelineQuery {
            container_no: Some(CONTAINER.into()),
            ..Default::default()
        },
        TimelineQuery {
            declaration: Some(d.declaration.id),
            ..Default::default()
        },
    ] {
        assert_eq!(
            ub.timeline(&q).await.expect_err("B timeline").status(),
            Some(404)
        );
    }
    let mine = w
        .importer
        .timeline(&TimelineQuery {
            bill_no: Some("COSU6100000007".into()),
            ..Default::default()
        })
        .await
        .expect("own bill");
    assert_eq!(mine.declarations[0].id, d.declaration.id);
    assert_eq!(
        mine.declarations[0].inspection,
        InspectionStatus::NotSelected
    );
    assert_eq!(mine.arrived_at, None, "not arrived yet");
    let bad = w
        .importer
        .timeline(&TimelineQuery {
            container_no: Some("CSQU3054384".into()),
            ..Default::default()
        })
        .await
        .expect_err("bad check digit");
    assert_eq!(bad.status(), Some(422));
    assert!(bad.to_string().contains("container_no"), "{bad}");
    let both = w
        .importer
        .timeline(&TimelineQuery {
            bill_no: Some("COSU6100000007".into()),
            container_no: Some(CONTAINER.into()),
            ..Default::default()
        })
        .await
        .expect_err("two subjects");
    assert_eq!(both.status(), Some(422));
    assert!(
        ub.declarations(&DeclarationQuery {
            bill_no: Some("COSU6100000007".into()),
            ..Default::default()
        })
        .await
        .expect("B by bill")
        .is_empty()
    );
    // B cannot declare in A's name.
    let err = ub
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000007",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect_err("A's USCC");
    assert!(
        err.rules()
            .contains(&"domestic_party.not_owner".to_string()),
        "{:?}",
        err.rules()
    );
    // Terminals and enterprises have no business with instructions or declarations lists.
    assert_eq!(
        w.terminal
            .declarations(&DeclarationQuery::default())
            .await
            .expect_err("terminal list")
            .status(),
        Some(403)
    );
    assert_eq!(
        w.importer
            .instructions()
            .await
            .expect_err("importer")
            .status(),
        Some(403)
    );
    let other_terminal = w
        .terminal
        .report_arrival(&ArrivalReportInput {
            terminal: "CNSHK-SCT".into(),
            bill_no: Some("COSU6100000007".into()),
            containers: vec![],
        })
        .await
        .expect_err("not its terminal");
    assert_eq!(other_terminal.rules(), vec!["terminal.not_yours"]);

    // Bad input: every violation with its path; nothing stored.
    let mut bad = content(
        &w.uscc,
        "NOT-ON-ANY-MANIFEST",
        &["CSQU3054384"],
        Direction::Import,
    );
    bad.head.net_weight_kg = Decimal::new(99999, 0);
    bad.items[0].commodity_code = "8471300000".into();
    bad.items[0].total_price = Decimal::ONE;
    let before = w
        .importer
        .declarations(&DeclarationQuery::default())
        .await
        .expect("list")
        .len();
    let err = w
        .importer
        .create_declaration(&submit(bad.clone()))
        .await
        .expect_err("bad");
    let got: Vec<(String, String)> = err
        .problem()
        .expect("problem")
        .violations
        .iter()
        .map(|v| (v.path.clone(), v.rule.clone()))
        .collect();
    for want in [
        ("head/containers/0", "container.check_digit"),
        ("head/net_weight_kg", "weight.gross_at_least_net"),
        ("items/0/commodity_code", "commodity_code.tariff_line"),
        ("items/0/total_price", "total_price.mismatch"),
        ("head/bill_no", "import.bill_not_on_manifest"),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "missing {want:?} in {got:?}"
        );
    }
    assert_eq!(
        w.importer
            .declarations(&DeclarationQuery::default())
            .await
            .expect("list")
            .len(),
        before
    );
    // A draft may be incomplete; it is stored and submitted once fixed.
    let draft = w
        .importer
        .create_declaration(&NewDeclaration {
            owner_id: None,
            content: bad,
            submit: false,
        })
        .await
        .expect("draft");
    assert_eq!(draft.declaration.status, Status::Draft);
    assert_eq!(
        w.importer
            .submit_declaration(draft.declaration.id)
            .await
            .expect_err("still bad")
            .status(),
        Some(422)
    );
    let fixed = content(&w.uscc, "COSU6100000007", &[CONTAINER_2], Direction::Import);
    let edited = w
        .importer
        .edit_declaration(
            draft.declaration.id,
            &tongguan_client::DeclarationEdit {
                version: draft.declaration.version,
                content: fixed,
            },
        )
        .await
        .expect("edit");
    let submitted = w
        .importer
        .submit_declaration(edited.declaration.id)
        .await
        .expect("submit fixed");
    assert_eq!(submitted.declaration.status, Status::AwaitingArrival);
}

/// Cancellation once accepted needs an officer's approval.
async fn cancellation_with_approval(db: Db) {
    let w = world(db, "routine").await;
    manifest(&w.importer, "COSU6100000008", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000008",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    let asked = w
        .importer
        .request_cancellation(d.declaration.id, "buyer cancelled the order")
        .await
        .expect("request");
    assert_eq!(asked.declaration.status, Status::AwaitingArrival);
    assert!(asked.declaration.pending.is_some());
    assert_eq!(
        w.importer
            .decide_request(d.declaration.id, true, "self-approval")
            .await
            .expect_err("not an officer")
            .status(),
        Some(403)
    );
    let done = w
        .officer
        .decide_request(d.declaration.id, true, "contract cancellation verified")
        .await
        .expect("approve");
    assert_eq!(done.declaration.status, Status::Cancelled);
    let out = w
        .terminal
        .report_arrival(&arrival(Some("COSU6100000008"), &[]))
        .await
        .expect("arrival");
    assert!(
        out.released.is_empty(),
        "a cancelled declaration is not released"
    );
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::Hold
    );
}

/// Random selection by credit level (M16): a seriously dishonest enterprise is always
/// selected, and the explanation says it was the random draw at its level's rate.
async fn random_selection_by_credit_level(db: Db) {
    let w = world(db, "seriously_dishonest").await;
    manifest(&w.importer, "COSU6100000009", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000009",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::InspectionOrdered);
    let seen = w
        .officer
        .declaration(d.declaration.id)
        .await
        .expect("officer");
    let a = seen.declaration.assessment.expect("assessment");
    assert_eq!(a["random"]["selected"], true);
    assert_eq!(a["random"]["effective_rate"], "1");
    assert!(
        seen.declaration
            .control
            .expect("control")
            .reason
            .contains("random selection at 1 for credit level seriously_dishonest")
    );
}

/// Declarations and arrival reports racing each other: whichever commits first, no
/// declaration is left waiting for goods that have arrived.
async fn arrival_races_submission(db: Db) {
    let w = world(db, "routine").await;
    let n = 24;
    let bills: Vec<String> = (0..n).map(|i| format!("RACE{i:06}")).collect();
    for b in &bills {
        manifest(&w.importer, b, &[]).await;
    }
    let declare = bills.iter().map(|b| {
        let (c, uscc, b) = (w.importer.clone(), w.uscc.clone(), b.clone());
        async move {
            c.create_declaration(&submit(content(&uscc, &b, &[], Direction::Import)))
                .await
                .map(|d| d.declaration.id)
        }
    });
    let report = bills.iter().map(|b| {
        let (c, b) = (w.terminal.clone(), b.clone());
        async move { c.report_arrival(&arrival(Some(&b), &[])).await.map(|_| ()) }
    });
    let (ids, reports) = futures::future::join(
        futures::future::join_all(declare),
        futures::future::join_all(report),
    )
    .await;
    for r in reports {
        r.expect("arrival report");
    }
    for id in ids {
        let id = id.expect("declaration");
        let d = w.importer.declaration(id).await.expect("read");
        assert_eq!(
            d.declaration.status,
            Status::Released,
            "declaration {id} left {:?}",
            d.declaration.status
        );
    }
}

/// Officers return declarations for correction, approve amendments, and detain goods whose
/// inspection finds a mismatch; enterprises cannot write control instructions.
async fn officer_decisions(db: Db) {
    // Seriously dishonest: every declaration is selected (random selection floor 100 %).
    let w = world(db, "seriously_dishonest").await;
    let instruction = InstructionInput {
        conditions: tongguan_risk::Conditions {
            commodity_prefixes: vec!["84".into()],
            ..Default::default()
        },
        action: tongguan_risk::ControlAction::DocumentReview,
        selection_rate: Decimal::ONE,
        valid_from: Utc::now() - Duration::days(1),
        valid_until: None,
        reason: "self-service instruction".into(),
        version: None,
    };
    assert_eq!(
        w.importer
            .create_instruction(&instruction)
            .await
            .expect_err("enterprise")
            .status(),
        Some(403)
    );

    // Returned for correction, corrected, resubmitted; the customs number stays.
    manifest(&w.importer, "COSU6100000010", &[CONTAINER, CONTAINER_2]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6100000010",
            &[CONTAINER, CONTAINER_2],
            Direction::Import,
        )))
        .await
        .expect("declare");
    let no = d.declaration.customs_no.clone();
    let returned = w
        .officer
        .return_declaration(
            d.declaration.id,
            "specification lacks the model number (申报要素)",
        )
        .await
        .expect("return");
    assert_eq!(returned.declaration.status, Status::Returned);
    let mut fixed = content(&w.uscc, "COSU6100000010", &[CONTAINER], Direction::Import);
    fixed.items[0].specification = "品牌:Example|型号:X1-2026".into();
    let edited = w
        .importer
        .edit_declaration(
            d.declaration.id,
            &tongguan_client::DeclarationEdit {
                version: returned.declaration.version,
                content: fixed.clone(),
            },
        )
        .await
        .expect("edit");
    let again = w
        .importer
        .submit_declaration(edited.declaration.id)
        .await
        .expect("resubmit");
    assert_eq!(again.declaration.customs_no, no);
    // The correction dropped the second container: the gate no longer names this
    // declaration for it.
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").declarations,
        vec![d.declaration.id]
    );
    assert!(
        w.terminal
            .gate(CONTAINER_2)
            .await
            .expect("gate")
            .declarations
            .is_empty(),
        "a container removed by the correction is not held by it"
    );

    // An amendment waits for the officer, then replaces the content.
    fixed.head.marks_and_remarks = Some("N/M".into());
    let asked = w
        .importer
        .request_amendment(
            d.declaration.id,
            &tongguan_client::AmendmentInput {
                content: fixed,
                reason: "marks corrected".into(),
            },
        )
        .await
        .expect("amend");
    assert!(asked.declaration.pending.is_some());
    assert_eq!(
        asked.declaration.content.head.marks_and_remarks, None,
        "not before approval"
    );
    let approved = w
        .officer
        .decide_request(d.declaration.id, true, "supporting documents checked")
        .await
        .expect("approve");
    assert_eq!(
        approved
            .declaration
            .content
            .head
            .marks_and_remarks
            .as_deref(),
        Some("N/M")
    );

    // A mismatch found at inspection detains the goods.
    assert_eq!(approved.declaration.status, Status::InspectionOrdered);
    w.terminal
        .report_arrival(&arrival(Some("COSU6100000010"), &[]))
        .await
        .expect("arrival");
    let result = InspectionInput {
        result: InspectionResult {
            passed: false,
            findings: "200 units declared, 260 found".into(),
            attachments: vec!["photo-0001.jpg".into()],
        },
        release: false,
        reason: "quantity mismatch, referred to the anti-smuggling bureau".into(),
    };
    let detained = w
        .officer
        .record_inspection(d.declaration.id, &result)
        .await
        .expect("inspect");
    assert_eq!(detained.declaration.status, Status::Detained);
    assert_eq!(
        detained.declaration.inspection.expect("result").attachments,
        vec!["photo-0001.jpg"]
    );
    assert_eq!(
        w.terminal.gate(CONTAINER).await.expect("gate").action,
        GateAction::Hold
    );
}

/// The declaration list is one page of what the caller may see, newest first: a broker's
/// pages run over all its principals' declarations without gaps or repeats, a revoked
/// principal drops out of it, and an officer sees only its district's.
async fn declaration_list_pages(db: Db) {
    let t = TestApp::spawn(db).await;
    let broker_ent = t
        .enterprise("Broker K", 123, "certified", &["customs_broker"])
        .await;
    let broker = t
        .user("broker.k", "broker", Some(broker_ent.id), None, &[])
        .await;
    let mut principals = Vec::new();
    for (n, name) in [(121, "Importer P"), (122, "Importer Q")] {
        let e = t.enterprise(name, n, "routine", &[]).await;
        let clerk = t
            .user(
                &format!("clerk.{n}"),
                "enterprise_user",
                Some(e.id),
                None,
                &[],
            )
            .await;
        let auth = clerk
            .authorise_broker(
                e.id,
                &tongguan_client::NewAuthorisation {
                    broker_id: broker_ent.id,
                    valid_from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
                    valid_until: None,
                    reason: "agency contract".into(),
                },
            )
            .await
            .expect("authorise");
        principals.push((e.id, valid_uscc(n), clerk, auth.id));
    }
    let outsider = t.enterprise("Importer O", 124, "routine", &[]).await;
    let outsider_clerk = t
        .user("clerk.124", "enterprise_user", Some(outsider.id), None, &[])
        .await;
    let draft = |owner: Option<uuid::Uuid>, uscc: &str, i: usize| NewDeclaration {
        owner_id: owner,
        content: content(uscc, &format!("COSU62{i:08}"), &[], Direction::Import),
        submit: false,
    };
    // Filed by the broker for either principal, by a principal itself, and by an outsider.
    let mut visible = Vec::new();
    let mut of_q = Vec::new();
    for i in 0..9 {
        let (id, uscc, clerk, _) = &principals[i % 2];
        let d = if i % 3 == 2 {
            clerk.create_declaration(&draft(None, uscc, i)).await
        } else {
            broker.create_declaration(&draft(Some(*id), uscc, i)).await
        }
        .expect("draft");
        if i % 2 == 1 {
            of_q.push(d.declaration.id);
        }
        visible.push(d.declaration.id);
        outsider_clerk
            .create_declaration(&draft(None, &valid_uscc(124), 100 + i))
            .await
            .expect("outsider draft");
    }
    let list = |limit: i64, offset: i64| {
        let broker = &broker;
        async move {
            broker
                .declarations(&DeclarationQuery {
                    limit: Some(limit),
                    offset: Some(offset),
                    ..Default::default()
                })
                .await
                .expect("list")
        }
    };
    let all = list(50, 0).await;
    let mut got: Vec<_> = all.iter().map(|v| v.declaration.id).collect();
    got.sort();
    let mut want = visible.clone();
    want.sort();
    assert_eq!(got, want, "exactly the principals' declarations");
    assert!(
        all.windows(2).all(|w| {
            let (a, b) = (&w[0].declaration, &w[1].declaration);
            a.created_at > b.created_at || (a.created_at == b.created_at && a.id < b.id)
        }),
        "newest first, ties by id"
    );
    let mut paged = Vec::new();
    for offset in (0..10).step_by(2) {
        paged.extend(list(2, offset).await.into_iter().map(|v| v.declaration.id));
    }
    assert_eq!(
        paged,
        all.iter().map(|v| v.declaration.id).collect::<Vec<_>>(),
        "pages of two make up the whole list"
    );
    // Q ends the agency contract: its declarations leave the broker's list, including the
    // ones the broker filed.
    let (q, _, q_clerk, q_auth) = &principals[1];
    q_clerk
        .revoke_authorisation(*q, *q_auth, "contract ended")
        .await
        .expect("revoke");
    let after: Vec<_> = list(50, 0).await.iter().map(|v| v.declaration.id).collect();
    assert_eq!(after.len(), visible.len() - of_q.len());
    assert!(after.iter().all(|id| !of_q.contains(id)));
    // An officer's queue is its district's: Shanghai's does not hold Shenzhen's drafts, but
    // holds one declared at Shanghai's Pujiang customs (2201) for goods entering at Shenzhen
    // — the officer may open it, so it is in the queue.
    let shanghai = t
        .user("officer.sh", "officer", None, Some("2200"), &[])
        .await;
    let mut declared_in_shanghai = draft(None, &valid_uscc(124), 200);
    declared_in_shanghai.content.head.declaring_customs = "2201".into();
    let pujiang = outsider_clerk
        .create_declaration(&declared_in_shanghai)
        .await
        .expect("declared at Pujiang");
    let queue: Vec<_> = shanghai
        .declarations(&DeclarationQuery::default())
        .await
        .expect("officer list")
        .into_iter()
        .map(|v| v.declaration.id)
        .collect();
    assert_eq!(queue, vec![pujiang.declaration.id]);
    shanghai
        .declaration(pujiang.declaration.id)
        .await
        .expect("the officer opens what its queue shows");
}

/// Terminals get the same answers after a restart: the gate index is rebuilt from the
/// store (awaiting arrival, selected for inspection, released on arrival).
async fn gate_index_after_restart(db: Db) {
    const CONTAINER_3: &str = "TGHU1234567";
    let w = world(db, "routine").await;
    w.officer
        .create_instruction(&InstructionInput {
            conditions: tongguan_risk::Conditions {
                commodity_prefixes: vec!["8471".into()],
                origin_countries: vec!["USA".into()],
                ..Default::default()
            },
            action: tongguan_risk::ControlAction::PhysicalInspection,
            selection_rate: Decimal::ONE,
            valid_from: Utc::now() - Duration::days(1),
            valid_until: None,
            reason: "laptops of US origin".into(),
            version: None,
        })
        .await
        .expect("instruction");
    let bills = [
        ("COSU6100000021", CONTAINER),
        ("COSU6100000022", CONTAINER_2),
        ("COSU6100000023", CONTAINER_3),
    ];
    for (i, (bill, container)) in bills.into_iter().enumerate() {
        manifest(&w.importer, bill, &[container]).await;
        let mut c = content(&w.uscc, bill, &[container], Direction::Import);
        if i == 1 {
            c.items[0].origin_country = "USA".into();
        }
        w.importer
            .create_declaration(&submit(c))
            .await
            .expect("declare");
    }
    w.terminal
        .report_arrival(&arrival(Some("COSU6100000023"), &[]))
        .await
        .expect("arrival");
    let mut before = Vec::new();
    for (_, container) in bills {
        before.push(w.terminal.gate(container).await.expect("gate"));
    }
    let actions: std::collections::HashSet<String> =
        before.iter().map(|g| format!("{:?}", g.action)).collect();
    assert_eq!(actions.len(), 3, "three different answers: {before:?}");

    let t = w.t.reopen().await;
    let session = t
        .client
        .login("gate.yict", "gate.yict-password")
        .await
        .expect("login");
    let terminal = t
        .client
        .with_token(session.secret.as_deref().unwrap_or_default());
    for (g, (_, container)) in before.iter().zip(bills) {
        assert_eq!(
            &terminal.gate(container).await.expect("gate after restart"),
            g,
            "the same answer for {container} after a restart"
        );
    }
}

/// A terminal reports a vessel's containers at once: every declaration whose containers have
/// all arrived is released in that report; one still waiting for a container stays, and the
/// report of its last container releases it.
async fn vessel_container_report(db: Db) {
    let w = world(db, "routine").await;
    // ISO 6346 numbers with their check digit.
    let numbers: Vec<String> = (0..8)
        .map(|i| {
            let body = format!("TGHU{:06}", 710_000 + i);
            let check = tongguan_domain::codes::iso6346_check_digit(body.as_bytes())
                .expect("check digit")
                % 10;
            format!("{body}{check}")
        })
        .collect();
    let mut single = Vec::new();
    for (i, c) in numbers[..6].iter().enumerate() {
        let bill = format!("COSU62000000{i:02}");
        manifest(&w.importer, &bill, &[c]).await;
        let d = w
            .importer
            .create_declaration(&submit(content(&w.uscc, &bill, &[c], Direction::Import)))
            .await
            .expect("declare");
        single.push(d.declaration.id);
    }
    let (c7, c8) = (numbers[6].as_str(), numbers[7].as_str());
    manifest(&w.importer, "COSU6200000099", &[c7, c8]).await;
    let pair = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6200000099",
            &[c7, c8],
            Direction::Import,
        )))
        .await
        .expect("declare two containers")
        .declaration
        .id;

    let reported: Vec<&str> = numbers[..7].iter().map(String::as_str).collect();
    let outcome = w
        .terminal
        .report_arrival(&arrival(None, &reported))
        .await
        .expect("vessel report");
    let mut released = outcome.released.clone();
    released.sort();
    let mut expected = single.clone();
    expected.sort();
    assert_eq!(released, expected, "each single-container declaration");
    let waiting = w.importer.declaration(pair).await.expect("read");
    assert_eq!(waiting.declaration.status, Status::AwaitingArrival);

    let last = w
        .terminal
        .report_arrival(&arrival(None, &[c8]))
        .await
        .expect("last container");
    assert_eq!(last.released, vec![pair]);
}

on_both_databases! {
    a_vessel_report_releases_each_declaration_whose_containers_all_arrived => vessel_container_report,
    terminals_get_the_same_answers_after_a_restart => gate_index_after_restart,
    a_declaration_list_is_one_page_of_what_the_caller_may_see => declaration_list_pages,
    officers_return_amend_and_detain => officer_decisions,
    racing_arrivals_never_strand_a_declaration => arrival_races_submission,
    seriously_dishonest_enterprises_are_always_selected => random_selection_by_credit_level,
    advance_import_is_released_by_the_arrival_report => advance_import,
    ordinary_import_is_released_at_acceptance => ordinary_after_arrival,
    a_control_instruction_sends_goods_to_inspection => control_instruction_and_inspection,
    two_step_summary_then_complete_declaration => two_step,
    two_stage_territory_then_market => two_stage,
    export_advance_declaration_and_direct_loading => export_direct_loading,
    declarations_are_private_and_bad_input_is_named => declaration_security_and_bad_input,
    cancellation_after_acceptance_needs_an_officer => cancellation_with_approval,
    status_changes_stream_to_their_owner_and_resume => status_stream,
}
