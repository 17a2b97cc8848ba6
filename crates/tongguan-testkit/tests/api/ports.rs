//! Ports and terminals (M2, M3, M8): combination port, gate events, loading, unloading
//! lists, rail and air arrivals, terminal scoping.

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use tongguan_client::{
    ArrivalReportInput, Bill, Client, GateAction, ManifestInput, Terminal, TerminalEventInput,
    TerminalEventKind, TerminalInput, TerminalKind,
};
use tongguan_domain::codes::Direction;
use tongguan_domain::lifecycle::Status;
use tongguan_testkit::{Db, TestApp, on_both_databases};

use crate::clearance::{CONTAINER, CONTAINER_2, content, submit, world};

async fn register(
    t: &TestApp,
    code: &str,
    port: &str,
    customs: &str,
    kind: TerminalKind,
    hub: Option<&str>,
) {
    t.admin()
        .put_terminal(&TerminalInput {
            terminal: Terminal {
                code: code.into(),
                name: format!("{code} terminal"),
                port: port.into(),
                customs: customs.into(),
                kinds: vec![kind],
                hub_port: hub.map(str::to_string),
            },
            version: None,
        })
        .await
        .expect("register terminal");
}

fn event(terminal: &str, container: &str, kind: TerminalEventKind) -> TerminalEventInput {
    TerminalEventInput {
        terminal: terminal.into(),
        container_no: container.into(),
        kind,
    }
}

async fn manifest(
    c: &Client,
    mode: &str,
    port: &str,
    customs: &str,
    bills: Vec<Bill>,
) -> uuid::Uuid {
    c.file_manifest(&ManifestInput {
        direction: Direction::Import,
        transport_mode: mode.into(),
        transport_means: "MEANS".into(),
        voyage: format!("V-{}", bills[0].bill_no),
        port: port.into(),
        customs: customs.into(),
        eta: None,
        leg: Default::default(),
        bills,
    })
    .await
    .expect("manifest")
    .id
}

fn bill(no: &str, containers: &[&str]) -> Bill {
    Bill {
        bill_no: no.into(),
        consignee: "Shenzhen Importer".into(),
        packages: 40,
        gross_weight_kg: Decimal::new(5200, 0),
        containers: containers.iter().map(|c| c.to_string()).collect(),
        master_bill_no: None,
        wagons: vec![],
    }
}

/// Greater Bay Area combination port: an export cleared at the Dongguan feeder is loaded at
/// the Shekou hub without a second declaration.
async fn feeder_to_hub_export(db: Db) {
    let w = world(db, "routine").await;
    register(&w.t, "CNSHK-SCT", "CNSHK", "5304", TerminalKind::Sea, None).await;
    register(
        &w.t,
        "CNDGG-XG",
        "CNDGG",
        "5304",
        TerminalKind::Sea,
        Some("CNSHK"),
    )
    .await;
    let groups = w.importer.combination_ports().await.expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].hub_port, "CNSHK");
    assert_eq!(groups[0].feeder_terminals, vec!["CNDGG-XG"]);
    let feeder =
        w.t.user(
            "gate.dongguan",
            "terminal_operator",
            None,
            None,
            &["CNDGG-XG"],
        )
        .await;
    let hub =
        w.t.user(
            "gate.shekou",
            "terminal_operator",
            None,
            None,
            &["CNSHK-SCT"],
        )
        .await;

    let mut c = content(&w.uscc, "EXPGBA0001", &[CONTAINER], Direction::Export);
    c.head.domestic_port = "CNSHK".into();
    c.head.goods_arrival_date = Some((Utc::now() + Duration::days(1)).date_naive());
    let d = w
        .importer
        .create_declaration(&submit(c))
        .await
        .expect("declare");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);

    // Loading before release is refused, with the reason.
    let early = hub
        .terminal_event(&event("CNSHK-SCT", CONTAINER, TerminalEventKind::Loaded))
        .await
        .expect("loading attempt");
    assert!(!early.allowed);
    assert!(
        early.decision.reason.contains("not released"),
        "{}",
        early.decision.reason
    );

    // Gate-in at the feeder is the arrival: released there.
    let gate_in = feeder
        .terminal_event(&event("CNDGG-XG", CONTAINER, TerminalEventKind::GateIn))
        .await
        .expect("gate in");
    assert!(gate_in.allowed);
    assert_eq!(
        w.importer
            .declaration(d.declaration.id)
            .await
            .expect("read")
            .declaration
            .status,
        Status::Released
    );

    // The hub loads it straight onto the mainline vessel (抵港直装): no second declaration.
    let loaded = hub
        .terminal_event(&event("CNSHK-SCT", CONTAINER, TerminalEventKind::Loaded))
        .await
        .expect("loading");
    assert!(loaded.allowed, "{:?}", loaded.decision);
    assert_eq!(loaded.decision.action, GateAction::DirectLoading);
    assert_eq!(
        w.importer
            .declarations(&Default::default())
            .await
            .expect("list")
            .len(),
        1,
        "declared once"
    );
}

/// An import released before unloading is picked up at the ship's side; the unloading list
/// tags it "no inspection"; a terminal elsewhere cannot see it.
async fn import_ship_side_pickup(db: Db) {
    let w = world(db, "routine").await;
    register(&w.t, "CNYTN-YICT", "CNYTN", "5316", TerminalKind::Sea, None).await;
    register(&w.t, "CNSHK-SCT", "CNSHK", "5304", TerminalKind::Sea, None).await;
    let m = manifest(
        &w.importer,
        "2",
        "CNYTN",
        "5316",
        vec![bill("PORT0000001", &[CONTAINER])],
    )
    .await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "PORT0000001",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    let list = w
        .terminal
        .unloading_list("CNYTN-YICT", m)
        .await
        .expect("unloading list");
    assert_eq!(list.len(), 1);
    assert!(!list[0].inspect);
    // Not released yet: gate-out refused.
    let out = w
        .terminal
        .terminal_event(&event("CNYTN-YICT", CONTAINER, TerminalEventKind::GateOut))
        .await
        .expect("gate out");
    assert!(!out.allowed);
    w.terminal
        .report_arrival(&ArrivalReportInput {
            terminal: "CNYTN-YICT".into(),
            bill_no: Some("PORT0000001".into()),
            containers: vec![],
        })
        .await
        .expect("arrival");
    let out = w
        .terminal
        .terminal_event(&event("CNYTN-YICT", CONTAINER, TerminalEventKind::GateOut))
        .await
        .expect("gate out");
    assert!(out.allowed);
    assert_eq!(out.decision.action, GateAction::ShipSidePickup);
    assert_eq!(
        w.importer
            .declaration(d.declaration.id)
            .await
            .expect("read")
            .declaration
            .status,
        Status::Released
    );

    // Another terminal's operator neither sees the container nor acts for Yantian.
    let shekou =
        w.t.user("gate.sk", "terminal_operator", None, None, &["CNSHK-SCT"])
            .await;
    assert_eq!(
        shekou
            .gate(CONTAINER)
            .await
            .expect_err("not at Shekou")
            .status(),
        Some(404)
    );
    assert_eq!(
        shekou
            .unloading_list("CNYTN-YICT", m)
            .await
            .expect_err("not its terminal")
            .rules(),
        vec!["terminal.not_yours"]
    );
    let refused = shekou
        .terminal_event(&event("CNYTN-YICT", CONTAINER, TerminalEventKind::GateOut))
        .await
        .expect_err("not its terminal");
    assert_eq!(refused.rules(), vec!["terminal.not_yours"]);
}

/// Rail (M8) and air arrivals feed the same release path: a rail waybill reported by the rail
/// terminal, an air master waybill covering its house waybills.
async fn rail_and_air(db: Db) {
    let w = world(db, "routine").await;
    register(
        &w.t,
        "CNDGG-RAIL",
        "CNDGG",
        "5304",
        TerminalKind::Rail,
        None,
    )
    .await;
    register(&w.t, "CNSZX-AIR", "CNSZX", "5317", TerminalKind::Air, None).await;
    let mut rail_bill = bill("RWB20261127001", &[CONTAINER_2]);
    rail_bill.wagons = vec!["C70-1234567".into()];
    manifest(&w.importer, "3", "CNDGG", "5304", vec![rail_bill]).await;
    let mut c = content(&w.uscc, "RWB20261127001", &[CONTAINER_2], Direction::Import);
    c.head.transport_mode = "3".into();
    c.head.domestic_port = "CNDGG".into();
    let d = w
        .importer
        .create_declaration(&submit(c))
        .await
        .expect("rail declaration");
    let rail =
        w.t.user(
            "gate.rail",
            "terminal_operator",
            None,
            None,
            &["CNDGG-RAIL"],
        )
        .await;
    let out = rail
        .report_arrival(&ArrivalReportInput {
            terminal: "CNDGG-RAIL".into(),
            bill_no: Some("RWB20261127001".into()),
            containers: vec![],
        })
        .await
        .expect("rail arrival");
    assert_eq!(out.released, vec![d.declaration.id]);

    let mut house = bill("HAWB0001", &[]);
    house.master_bill_no = Some("MAWB-784-12345675".into());
    manifest(
        &w.importer,
        "5",
        "CNSZX",
        "5317",
        vec![bill("MAWB-784-12345675", &[]), house],
    )
    .await;
    let mut c = content(&w.uscc, "HAWB0001", &[], Direction::Import);
    c.head.transport_mode = "5".into();
    c.head.domestic_port = "CNSZX".into();
    c.head.declaring_customs = "5317".into();
    c.head.port_customs = "5317".into();
    let d = w
        .importer
        .create_declaration(&submit(c))
        .await
        .expect("air declaration");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);
    let air =
        w.t.user("gate.air", "terminal_operator", None, None, &["CNSZX-AIR"])
            .await;
    let out = air
        .report_arrival(&ArrivalReportInput {
            terminal: "CNSZX-AIR".into(),
            bill_no: Some("MAWB-784-12345675".into()),
            containers: vec![],
        })
        .await
        .expect("air arrival");
    assert_eq!(
        out.released,
        vec![d.declaration.id],
        "the master's arrival covers its houses"
    );
}

/// Registry rules: codes, ports and districts are checked; changes need the version.
async fn registry_rules(db: Db) {
    let t = TestApp::spawn(db).await;
    let bad = t
        .admin()
        .put_terminal(&TerminalInput {
            terminal: Terminal {
                code: "cnxxx-1".into(),
                name: "".into(),
                port: "CNXXX".into(),
                customs: "9999".into(),
                kinds: vec![],
                hub_port: Some("CNXXX".into()),
            },
            version: None,
        })
        .await
        .expect_err("bad terminal");
    let rules = bad.rules();
    for r in [
        "terminal.code_format",
        "required",
        "terminal.kinds",
        "terminal.hub_is_self",
        "port.unknown",
        "customs_district.unknown",
    ] {
        assert!(rules.iter().any(|x| x == r), "{r} in {rules:?}");
    }
    register(&t, "CNSHK-SCT", "CNSHK", "5304", TerminalKind::Sea, None).await;
    let again = t
        .admin()
        .put_terminal(&TerminalInput {
            terminal: Terminal {
                code: "CNSHK-SCT".into(),
                name: "Renamed".into(),
                port: "CNSHK".into(),
                customs: "5304".into(),
                kinds: vec![TerminalKind::Sea],
                hub_port: None,
            },
            version: None,
        })
        .await
        .expect_err("exists");
    assert_eq!(again.rules(), vec!["terminal.exists"]);
    let e = t.enterprise("X", 111, "routine", &[]).await;
    let clerk = t
        .user("clerk.x", "enterprise_user", Some(e.id), None, &[])
        .await;
    assert_eq!(
        clerk
            .put_terminal(&TerminalInput {
                terminal: Terminal {
                    code: "CNSHK-X".into(),
                    name: "x".into(),
                    port: "CNSHK".into(),
                    customs: "5304".into(),
                    kinds: vec![TerminalKind::Sea],
                    hub_port: None
                },
                version: None,
            })
            .await
            .expect_err("not admin")
            .status(),
        Some(403)
    );
}

/// CUSCAR (UN/EDIFACT D.96B) manifests are filed from an interchange; a malformed one is
/// refused naming the segment, and nothing is stored.
async fn cuscar_import(db: Db) {
    let w = world(db, "routine").await;
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tongguan-edifact/tests/fixtures"
    );
    let good =
        std::fs::read_to_string(format!("{fixtures}/maritime_two_bills.edi")).expect("fixture");
    // A wrong check digit on the first container: refused at its segment.
    let first_eqd = good
        .split('\'')
        .find(|s| s.trim_start().starts_with("EQD+CN+"))
        .expect("an EQD segment")
        .trim()
        .to_string();
    let container = first_eqd
        .split('+')
        .nth(2)
        .and_then(|c| c.split(':').next())
        .expect("container")
        .to_string();
    let mut broken_no = container.clone();
    let last = broken_no
        .pop()
        .and_then(|c| c.to_digit(10))
        .expect("check digit");
    broken_no.push(char::from_digit((last + 1) % 10, 10).expect("digit"));
    let bad = good.replace(&container, &broken_no);
    let err = w
        .importer
        .import_cuscar("5316", &bad)
        .await
        .expect_err("bad check digit");
    assert_eq!(err.rules(), vec!["edifact.bad_container"]);
    assert!(
        err.problem().expect("problem").violations[0]
            .path
            .starts_with("body/segment/")
    );
    let err = w
        .importer
        .import_cuscar("5316", "UNB+UNOC:3+X+Y+260101:0000+1'GARBAGE")
        .await
        .expect_err("truncated");
    assert_eq!(err.status(), Some(422));

    let imported = w
        .importer
        .import_cuscar("5316", &good)
        .await
        .expect("import");
    assert_eq!(imported.manifests.len(), 1);
    let m = &imported.manifests[0];
    assert_eq!(m.input.bills.len(), 2);
    assert_eq!(m.input.customs, "5316");
    let again = w
        .importer
        .import_cuscar("5316", &good)
        .await
        .expect_err("bills already filed");
    assert!(
        again.rules().iter().all(|r| r == "bill_no.unique"),
        "{:?}",
        again.rules()
    );
    assert_eq!(
        w.importer
            .manifest(m.id)
            .await
            .expect("stored")
            .input
            .bills
            .len(),
        2
    );
}

/// One bill end to end (一单到底): the same bill on the feeder barge's and the mainline
/// vessel's manifests; the arrival at the feeder counts as arrival at the hub, and the hub
/// sees the goods released without a second declaration.
async fn one_bill_end_to_end(db: Db) {
    let w = world(db, "routine").await;
    register(&w.t, "CNSHK-SCT", "CNSHK", "5304", TerminalKind::Sea, None).await;
    register(
        &w.t,
        "CNDGG-XG",
        "CNDGG",
        "5304",
        TerminalKind::Sea,
        Some("CNSHK"),
    )
    .await;
    let leg = |leg: tongguan_domain::manifest::Leg, port: &str, means: &str| ManifestInput {
        direction: Direction::Import,
        transport_mode: "2".into(),
        transport_means: means.into(),
        voyage: "L1".into(),
        port: port.into(),
        customs: "5304".into(),
        eta: None,
        leg,
        bills: vec![bill("GBA0000001", &[CONTAINER])],
    };
    w.importer
        .file_manifest(&leg(
            tongguan_domain::manifest::Leg::Mainline,
            "CNSHK",
            "MAINLINE VESSEL",
        ))
        .await
        .expect("mainline leg");
    w.importer
        .file_manifest(&leg(
            tongguan_domain::manifest::Leg::Feeder,
            "CNDGG",
            "FEEDER BARGE",
        ))
        .await
        .expect("feeder leg");
    let twice = w
        .importer
        .file_manifest(&leg(
            tongguan_domain::manifest::Leg::Feeder,
            "CNDGG",
            "OTHER BARGE",
        ))
        .await
        .expect_err("same leg twice");
    assert_eq!(twice.rules(), vec!["bill_no.unique"]);
    let direct = w
        .importer
        .file_manifest(&leg(
            tongguan_domain::manifest::Leg::Direct,
            "CNSHK",
            "ANOTHER",
        ))
        .await
        .expect_err("direct beside legs");
    assert_eq!(direct.rules(), vec!["bill_no.unique"]);

    let mut c = content(&w.uscc, "GBA0000001", &[CONTAINER], Direction::Import);
    c.head.domestic_port = "CNSHK".into();
    c.head.declaring_customs = "5304".into();
    c.head.port_customs = "5304".into();
    let d = w
        .importer
        .create_declaration(&submit(c))
        .await
        .expect("declare once");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);
    // A terminal of another port cannot release it by reporting its bill.
    let elsewhere = w
        .terminal
        .report_arrival(&ArrivalReportInput {
            terminal: "CNYTN-YICT".into(),
            bill_no: Some("GBA0000001".into()),
            containers: vec![],
        })
        .await
        .expect("report recorded");
    assert!(elsewhere.released.is_empty());
    assert_eq!(elsewhere.other_ports, 1);
    assert_eq!(
        w.importer
            .declaration(d.declaration.id)
            .await
            .expect("read")
            .declaration
            .status,
        Status::AwaitingArrival
    );
    let feeder =
        w.t.user("gate.dg", "terminal_operator", None, None, &["CNDGG-XG"])
            .await;
    let out = feeder
        .report_arrival(&ArrivalReportInput {
            terminal: "CNDGG-XG".into(),
            bill_no: Some("GBA0000001".into()),
            containers: vec![],
        })
        .await
        .expect("arrival at the feeder");
    assert_eq!(out.released, vec![d.declaration.id]);
    let hub =
        w.t.user("gate.sk2", "terminal_operator", None, None, &["CNSHK-SCT"])
            .await;
    let at_hub = hub.gate(CONTAINER).await.expect("hub sees it");
    assert!(
        matches!(
            at_hub.action,
            GateAction::ShipSidePickup | GateAction::Proceed
        ),
        "{at_hub:?}"
    );
}

on_both_databases! {
    one_bill_follows_the_goods_across_legs => one_bill_end_to_end,
    cuscar_manifests_are_imported_and_checked => cuscar_import,
    combination_port_feeder_to_hub_export => feeder_to_hub_export,
    import_released_before_unloading_is_picked_up_ship_side => import_ship_side_pickup,
    rail_and_air_arrivals_release_like_sea => rail_and_air,
    terminal_registry_is_checked => registry_rules,
}
