//! Behaviour of the risk-control engine (布控) as an officer or a declarant notices it:
//! DECLARATION.md "Control instruction", M16 / RULES.md §6 random selection by credit level.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tongguan_domain::{codes::Direction, enterprise::CreditLevel};
use tongguan_risk::{
    Assessment, Conditions, ControlAction, ControlInstruction, RandomPolicy, RuleSet,
    SkippedBecause, Subject, SubjectItem, validate,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    t(2026, 5, 1)
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const ENTERPRISE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const OTHER_ENTERPRISE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

fn instruction(n: u128, conditions: Conditions) -> ControlInstruction {
    ControlInstruction {
        id: Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0000 + n),
        conditions,
        action: ControlAction::PhysicalInspection,
        selection_rate: Decimal::ONE,
        valid_from: t(2026, 1, 1),
        valid_until: None,
        reason: "intelligence report 2026-17".into(),
        version: 1,
    }
}

#[derive(Debug, Clone)]
struct Item {
    code: String,
    origin: String,
    quantity: Decimal,
    unit_price: Decimal,
    total: Decimal,
}

fn item(code: &str, origin: &str) -> Item {
    Item {
        code: code.into(),
        origin: origin.into(),
        quantity: dec("10"),
        unit_price: dec("100"),
        total: dec("1000"),
    }
}

#[derive(Debug, Clone)]
struct Decl {
    id: Uuid,
    enterprise: Uuid,
    level: CreditLevel,
    direction: Direction,
    trade_mode: String,
    transport_mode: String,
    port: String,
    departure: String,
    items: Vec<Item>,
}

fn decl(items: Vec<Item>) -> Decl {
    Decl {
        id: Uuid::from_u128(0x0196_1111_0000_7000_8000_0000_0000_0001),
        enterprise: ENTERPRISE,
        level: CreditLevel::Routine,
        direction: Direction::Import,
        trade_mode: "0110".into(),
        transport_mode: "2".into(),
        port: "5301".into(),
        departure: "JPN".into(),
        items,
    }
}

impl Decl {
    fn with<R>(&self, f: impl FnOnce(&Subject<'_>) -> R) -> R {
        let items: Vec<SubjectItem<'_>> = self
            .items
            .iter()
            .map(|i| SubjectItem {
                commodity_code: &i.code,
                origin_country: &i.origin,
                quantity: i.quantity,
                unit_price: i.unit_price,
                total_value: i.total,
            })
            .collect();
        let subject = Subject {
            declaration_id: self.id,
            enterprise_id: self.enterprise,
            credit_level: self.level,
            direction: self.direction,
            trade_mode: &self.trade_mode,
            transport_mode: &self.transport_mode,
            port: &self.port,
            departure_country: &self.departure,
            items: &items,
        };
        f(&subject)
    }

    fn eval(&self, rs: &RuleSet, seed: u64, at: DateTime<Utc>) -> Assessment {
        self.with(|s| rs.evaluate(s, seed, at))
    }
}

/// No random selection, so only instructions select.
fn quiet_policy() -> RandomPolicy {
    RandomPolicy {
        base_rate: Decimal::ZERO,
        levels: Default::default(),
        ..RandomPolicy::default()
    }
}

fn rules(instructions: Vec<ControlInstruction>) -> RuleSet {
    let rs = RuleSet::compile(instructions, quiet_policy());
    assert!(rs.skipped().is_empty(), "{:?}", rs.skipped());
    rs
}

fn hit_ids(a: &Assessment) -> Vec<Uuid> {
    a.hits.iter().map(|h| h.instruction_id).collect()
}

// ---------------------------------------------------------------------------------------------
// Matching

#[test]
fn prefix_and_origin_must_hold_on_the_same_item() {
    let i = instruction(
        1,
        Conditions {
            commodity_prefixes: vec!["8471".into()],
            origin_countries: vec!["JPN".into()],
            ..Default::default()
        },
    );
    let rs = rules(vec![i.clone()]);

    // The computer is from China, the phone from Japan: no single item has both.
    let split = decl(vec![item("8471309000", "CHN"), item("8517130000", "JPN")]);
    let a = split.eval(&rs, 1, now());
    assert!(a.hits.is_empty(), "{a:?}");
    assert!(!a.selected);
    assert_eq!(a.action, None);

    // Item 2 is a Japanese computer.
    let both = decl(vec![item("8517130000", "CHN"), item("8471309000", "JPN")]);
    let a = both.eval(&rs, 1, now());
    assert_eq!(hit_ids(&a), vec![i.id]);
    let hit = &a.hits[0];
    assert_eq!(hit.item, Some(2));
    assert_eq!(
        hit.matched,
        vec![
            "commodity_prefix 8471 matched item 2 (8471309000)".to_string(),
            "origin_country JPN matched item 2".to_string(),
        ]
    );
    assert_eq!(hit.reason, "intelligence report 2026-17");
    assert!(hit.selected);
    assert!(a.selected);
    assert_eq!(a.action, Some(ControlAction::PhysicalInspection));
}

#[test]
fn the_first_item_meeting_every_item_condition_is_named() {
    let i = instruction(
        1,
        Conditions {
            commodity_prefixes: vec!["0302".into(), "03".into()],
            min_item_value: Some(dec("5000")),
            ..Default::default()
        },
    );
    let rs = rules(vec![i]);
    let mut small_fish = item("0302130000", "NOR");
    small_fish.total = dec("10");
    let mut big_fish = item("0303420000", "NOR");
    big_fish.total = dec("5000");
    let d = decl(vec![small_fish, item("8471300000", "CHN"), big_fish]);
    let a = d.eval(&rs, 7, now());
    assert_eq!(
        a.hits.len(),
        1,
        "one hit even though two items and two prefixes match"
    );
    assert_eq!(a.hits[0].item, Some(3));
    assert_eq!(
        a.hits[0].matched,
        vec![
            "commodity_prefix 03 matched item 3 (0303420000)".to_string(),
            "item_value 5000 >= 5000 matched item 3".to_string(),
        ]
    );
}

#[test]
fn head_level_conditions_each_filter() {
    type Set = fn(&mut Conditions);
    type Change = fn(&mut Decl);
    let cases: Vec<(&str, Set, Change, &str)> = vec![
        (
            "enterprise",
            |c| c.enterprises = vec![ENTERPRISE],
            |d| d.enterprise = OTHER_ENTERPRISE,
            "enterprise 01900000-0000-7000-8000-000000000001",
        ),
        (
            "trade_mode",
            |c| c.trade_modes = vec!["9610".into(), "0110".into()],
            |d| d.trade_mode = "1210".into(),
            "trade_mode 0110",
        ),
        (
            "port",
            |c| c.ports = vec!["5301".into()],
            |d| d.port = "5316".into(),
            "port 5301",
        ),
        (
            "transport_mode",
            |c| c.transport_modes = vec!["2".into()],
            |d| d.transport_mode = "5".into(),
            "transport_mode 2",
        ),
        (
            "direction",
            |c| c.directions = vec![Direction::Import],
            |d| d.direction = Direction::Export,
            "direction import",
        ),
        (
            "departure_country",
            |c| c.departure_countries = vec!["KOR".into(), "JPN".into()],
            |d| d.departure = "USA".into(),
            "departure_country JPN",
        ),
    ];
    for (name, set, change, explanation) in cases {
        // Alone (head-level only: matches the declaration as a whole) …
        let mut alone = Conditions::default();
        set(&mut alone);
        // … and with an item condition beside it.
        let mut with_item = Conditions {
            commodity_prefixes: vec!["8471".into()],
            ..Default::default()
        };
        set(&mut with_item);
        let rs = rules(vec![instruction(1, alone), instruction(2, with_item)]);

        let d = decl(vec![item("8471300000", "CHN")]);
        let a = d.eval(&rs, 3, now());
        assert_eq!(a.hits.len(), 2, "{name}: {a:?}");
        let head_only = &a.hits[0];
        assert_eq!(head_only.item, None, "{name}");
        assert_eq!(head_only.matched, vec![explanation.to_string()], "{name}");
        assert_eq!(a.hits[1].item, Some(1), "{name}");
        assert!(
            a.hits[1].matched.contains(&explanation.to_string()),
            "{name}"
        );

        let mut other = d.clone();
        change(&mut other);
        let a = other.eval(&rs, 3, now());
        assert!(a.hits.is_empty(), "{name} does not filter: {a:?}");
    }
}

#[test]
fn value_price_and_quantity_bounds_are_inclusive() {
    type Set = fn(&mut Conditions, Decimal, Decimal);
    type Put = fn(&mut Item, Decimal);
    let cases: Vec<(&str, Set, Put)> = vec![
        (
            "item_value",
            |c, lo, hi| {
                c.min_item_value = Some(lo);
                c.max_item_value = Some(hi);
            },
            |i, v| i.total = v,
        ),
        (
            "unit_price",
            |c, lo, hi| {
                c.min_unit_price = Some(lo);
                c.max_unit_price = Some(hi);
            },
            |i, v| i.unit_price = v,
        ),
        (
            "quantity",
            |c, lo, hi| {
                c.min_quantity = Some(lo);
                c.max_quantity = Some(hi);
            },
            |i, v| i.quantity = v,
        ),
    ];
    for (name, set, put) in cases {
        // Both bounds; the lower alone; the upper alone.
        let mut both = Conditions::default();
        set(&mut both, dec("1000"), dec("5000.00"));
        let at_least = Conditions {
            max_item_value: None,
            max_unit_price: None,
            max_quantity: None,
            ..both.clone()
        };
        let at_most = Conditions {
            min_item_value: None,
            min_unit_price: None,
            min_quantity: None,
            ..both.clone()
        };
        let (b, lo, hi) = (
            instruction(1, both),
            instruction(2, at_least),
            instruction(3, at_most),
        );
        let rs = rules(vec![b.clone(), lo.clone(), hi.clone()]);
        for (v, in_both, in_lo, in_hi) in [
            ("0", false, false, true),
            ("999.99", false, false, true),
            ("1000", true, true, true),
            ("1000.000", true, true, true),
            ("3000", true, true, true),
            ("5000", true, true, true),
            ("5000.01", false, true, false),
        ] {
            let mut it = item("9503000090", "CHN");
            put(&mut it, dec(v));
            let a = decl(vec![it]).eval(&rs, 0, now());
            let ids = hit_ids(&a);
            assert_eq!(
                [&b, &lo, &hi].map(|i| ids.contains(&i.id)),
                [in_both, in_lo, in_hi],
                "{name} {v}"
            );
            if in_both {
                let hit = a.hits.iter().find(|h| h.instruction_id == b.id).unwrap();
                assert_eq!(hit.item, Some(1));
                assert_eq!(
                    hit.matched,
                    vec![format!("{name} {v} within [1000, 5000.00] matched item 1")]
                );
            }
        }
    }
}

#[test]
fn expired_and_not_yet_valid_instructions_never_hit() {
    let mut i = instruction(
        1,
        Conditions {
            commodity_prefixes: vec!["8703".into()],
            ..Default::default()
        },
    );
    let from = t(2026, 3, 1);
    let until = t(2026, 6, 1);
    i.valid_from = from;
    i.valid_until = Some(until);
    let rs = rules(vec![i]);
    let d = decl(vec![item("8703239000", "DEU")]);
    let second = Duration::seconds(1);
    for (at, hits) in [
        (from - second, false),
        (from, true),
        (until - second, true),
        (until, false),
        (until + Duration::days(365), false),
    ] {
        let a = d.eval(&rs, 0, at);
        assert_eq!(!a.hits.is_empty(), hits, "at {at}");
        let linear = d.with(|s| rs.evaluate_linear(s, 0, at));
        assert_eq!(a, linear);
    }
}

#[test]
fn rate_one_always_selects_and_rate_zero_never() {
    let mut always = instruction(
        1,
        Conditions {
            commodity_prefixes: vec!["33".into()],
            ..Default::default()
        },
    );
    always.action = ControlAction::DocumentReview;
    let mut never = instruction(
        2,
        Conditions {
            commodity_prefixes: vec!["3304".into()],
            ..Default::default()
        },
    );
    never.selection_rate = Decimal::ZERO;
    let mut half = instruction(
        3,
        Conditions {
            commodity_prefixes: vec!["330499".into()],
            ..Default::default()
        },
    );
    half.selection_rate = dec("0.5");
    let rs = rules(vec![always.clone(), never.clone(), half.clone()]);
    let mut d = decl(vec![item("3304990099", "FRA")]);
    let mut half_selected = 0;
    for seed in 0..2_000u64 {
        d.id = Uuid::from_u128(u128::from(seed) << 64 | 0x7000);
        let a = d.eval(&rs, seed, now());
        assert_eq!(a.hits.len(), 3);
        for h in &a.hits {
            assert_eq!(h.selected, h.draw < h.rate);
            assert!(h.draw >= Decimal::ZERO && h.draw < Decimal::ONE && h.draw.scale() == 6);
            if h.instruction_id == always.id {
                assert!(h.selected);
            } else if h.instruction_id == never.id {
                assert!(!h.selected, "rate 0 selected");
            } else if h.selected {
                half_selected += 1;
            }
        }
        assert!(a.selected);
        // A matched but unselected instruction is reported, never ordered.
        assert!(matches!(
            a.action,
            Some(ControlAction::DocumentReview | ControlAction::PhysicalInspection)
        ));
    }
    assert!((900..=1100).contains(&half_selected), "{half_selected}");
}

#[test]
fn the_most_severe_selected_action_wins() {
    let conditions = || Conditions {
        commodity_prefixes: vec!["6109".into()],
        ..Default::default()
    };
    let with = |n: u128, action: ControlAction, rate: &str| {
        let mut i = instruction(n, conditions());
        i.action = action;
        i.selection_rate = dec(rate);
        i
    };
    let d = decl(vec![item("6109100021", "BGD")]);

    let rs = rules(vec![
        with(1, ControlAction::DocumentReview, "1"),
        with(2, ControlAction::Sampling, "1"),
        with(3, ControlAction::MachineScan, "1"),
        with(4, ControlAction::PhysicalInspection, "0"),
    ]);
    let a = d.eval(&rs, 9, now());
    assert_eq!(a.action, Some(ControlAction::Sampling));
    let order: Vec<_> = a.hits.iter().map(|h| (h.selected, h.action)).collect();
    assert_eq!(
        order,
        vec![
            (true, ControlAction::Sampling),
            (true, ControlAction::MachineScan),
            (true, ControlAction::DocumentReview),
            (false, ControlAction::PhysicalInspection),
        ]
    );

    // Random selection orders its own action, and it counts too.
    let policy = RandomPolicy {
        action: ControlAction::PhysicalInspection,
        ..RandomPolicy::default()
    };
    let rs = RuleSet::compile(vec![with(1, ControlAction::MachineScan, "1")], policy);
    let mut bad = d.clone();
    bad.level = CreditLevel::SeriouslyDishonest;
    let a = bad.eval(&rs, 9, now());
    assert!(a.random.selected);
    assert_eq!(a.random.effective_rate, Decimal::ONE);
    assert_eq!(a.action, Some(ControlAction::PhysicalInspection));

    assert!(ControlAction::PhysicalInspection > ControlAction::Sampling);
    assert!(ControlAction::Sampling > ControlAction::MachineScan);
    assert!(ControlAction::MachineScan > ControlAction::DocumentReview);
}

// ---------------------------------------------------------------------------------------------
// Random selection by credit level (M16)

/// Selection frequency of random selection over `n` seeded declarations with no instruction.
fn random_frequency(level: CreditLevel, n: u64, seed: u64) -> f64 {
    let rs = RuleSet::compile(Vec::new(), RandomPolicy::default());
    let mut rng = Rng(seed);
    let mut d = decl(vec![item("8471300000", "CHN")]);
    d.level = level;
    let mut selected = 0u64;
    for _ in 0..n {
        d.id = Uuid::from_u128(rng.u128());
        let a = d.eval(&rs, rng.next(), now());
        assert_eq!(a.random.credit_level, level);
        assert_eq!(a.random.selected, a.random.draw < a.random.effective_rate);
        assert_eq!(a.selected, a.random.selected);
        if a.random.selected {
            selected += 1;
        }
    }
    selected as f64 / n as f64
}

#[test]
fn random_selection_follows_credit_levels() {
    const N: u64 = 100_000;
    let p = RandomPolicy::default();
    let base = 0.02;
    assert_eq!(p.base_rate, dec("0.02"));

    // Tolerances are 4 standard deviations of a binomial frequency over N draws; the seeds
    // are fixed, so the test is deterministic.
    let tolerance = |rate: f64| 4.0 * (rate * (1.0 - rate) / N as f64).sqrt();

    let routine = random_frequency(CreditLevel::Routine, N, 1);
    assert!(
        (routine - base).abs() <= tolerance(base),
        "routine {routine}"
    );

    let aeo_rate = 0.19 * base;
    assert_eq!(
        p.effective_rate(CreditLevel::AdvancedCertified),
        dec("0.0038")
    );
    let aeo = random_frequency(CreditLevel::AdvancedCertified, N, 2);
    assert!(
        (aeo - aeo_rate).abs() <= tolerance(aeo_rate),
        "advanced certified {aeo}, expected {aeo_rate}"
    );
    // M16: an AEO's rate is below 20 % of a routine enterprise's.
    assert!(aeo < 0.2 * routine, "{aeo} vs {routine}");

    let certified = random_frequency(CreditLevel::Certified, N, 3);
    assert!(
        (certified - 0.01).abs() <= tolerance(0.01),
        "certified {certified}"
    );

    // M16: dishonest enterprises at least 80 %: the rate is exactly the floor, and the observed
    // frequency is within sampling error of it.
    assert_eq!(p.effective_rate(CreditLevel::Dishonest), dec("0.8"));
    let dishonest = random_frequency(CreditLevel::Dishonest, N, 4);
    assert!(dishonest >= 0.8 - tolerance(0.8), "dishonest {dishonest}");
    assert!(dishonest <= 0.8 + tolerance(0.8), "dishonest {dishonest}");

    let seriously = random_frequency(CreditLevel::SeriouslyDishonest, 10_000, 5);
    assert_eq!(seriously, 1.0);
    println!(
        "random selection over {N}: routine {routine}, advanced certified {aeo}, certified {certified}, dishonest {dishonest}, seriously dishonest {seriously}"
    );
}

#[test]
fn random_draw_is_explained() {
    let rs = RuleSet::compile(Vec::new(), RandomPolicy::default());
    let mut d = decl(vec![item("8471300000", "CHN")]);
    d.level = CreditLevel::AdvancedCertified;
    let a = d.eval(&rs, 2026, now());
    assert_eq!(a.random.base_rate, dec("0.02"));
    assert_eq!(a.random.effective_rate, dec("0.0038"));
    assert_eq!(a.random.action, ControlAction::PhysicalInspection);
    assert_eq!(
        a.random.draw,
        tongguan_risk::draw(2026, d.id, tongguan_risk::RANDOM_SELECTION_SALT)
    );
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["random"]["credit_level"], "advanced_certified");
    assert_eq!(json["random"]["effective_rate"], "0.0038");
    assert_eq!(json["random"]["action"], "physical_inspection");
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn validate_reports_every_violation_with_paths() {
    let mut i = instruction(
        1,
        Conditions {
            commodity_prefixes: vec![
                "8471".into(),
                "8".into(),
                "84a1".into(),
                "12345678901".into(),
            ],
            origin_countries: vec!["JPN".into(), "jp".into()],
            departure_countries: vec!["JAPAN".into()],
            enterprises: vec![Uuid::nil()],
            trade_modes: vec!["0110".into(), "110".into()],
            transport_modes: vec!["2".into(), "22".into()],
            ports: vec!["53011".into()],
            directions: vec![],
            min_item_value: Some(dec("10")),
            max_item_value: Some(dec("5")),
            min_unit_price: Some(dec("-1")),
            max_unit_price: None,
            min_quantity: Some(dec("3")),
            max_quantity: Some(dec("3")),
        },
    );
    i.selection_rate = dec("1.5");
    i.valid_until = Some(i.valid_from);
    i.reason = "  ".into();
    let v = validate(&i).unwrap_err();
    let got: Vec<(&str, &str)> =
        v.0.iter()
            .map(|v| (v.path.as_str(), v.rule.as_str()))
            .collect();
    assert_eq!(
        got,
        vec![
            (
                "conditions/commodity_prefixes/1",
                "instruction.prefix_digits"
            ),
            (
                "conditions/commodity_prefixes/2",
                "instruction.prefix_digits"
            ),
            (
                "conditions/commodity_prefixes/3",
                "instruction.prefix_digits"
            ),
            (
                "conditions/origin_countries/1",
                "instruction.country_alpha3"
            ),
            (
                "conditions/departure_countries/0",
                "instruction.country_alpha3"
            ),
            ("conditions/enterprises/0", "instruction.enterprise_nil"),
            ("conditions/trade_modes/1", "instruction.trade_mode_digits"),
            (
                "conditions/transport_modes/1",
                "instruction.transport_mode_code"
            ),
            ("conditions/ports/0", "instruction.port_digits"),
            ("conditions/min_item_value", "instruction.bound_order"),
            ("conditions/min_unit_price", "instruction.bound_negative"),
            ("selection_rate", "instruction.rate_range"),
            ("valid_until", "instruction.validity_window"),
            ("reason", "instruction.reason_required"),
        ]
    );

    let empty = instruction(2, Conditions::default());
    let v = validate(&empty).unwrap_err();
    assert_eq!(v.0.len(), 1);
    assert_eq!(v.0[0].path, "conditions");
    assert_eq!(v.0[0].rule, "instruction.no_condition");

    let ok = instruction(
        3,
        Conditions {
            commodity_prefixes: vec!["84".into(), "8471300000".into()],
            min_quantity: Some(Decimal::ZERO),
            ..Default::default()
        },
    );
    assert!(validate(&ok).is_ok());
}

#[test]
fn compile_leaves_out_invalid_and_superseded_instructions() {
    let c = || Conditions {
        commodity_prefixes: vec!["9503".into()],
        ..Default::default()
    };
    let mut v1 = instruction(1, c());
    v1.reason = "version 1".into();
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.reason = "version 2".into();
    let invalid = instruction(2, Conditions::default());
    let rs = RuleSet::compile(
        vec![v2.clone(), invalid.clone(), v1.clone()],
        quiet_policy(),
    );
    assert_eq!(rs.len(), 1);
    assert_eq!(rs.instructions()[0].reason, "version 2");
    assert_eq!(rs.skipped().len(), 2);
    assert!(
        rs.skipped()
            .iter()
            .any(|s| s.instruction_id == invalid.id
                && matches!(s.because, SkippedBecause::Invalid(_)))
    );
    assert!(rs.skipped().iter().any(|s| s.instruction_id == v1.id
        && s.version == 1
        && s.because == SkippedBecause::Superseded { by_version: 2 }));
    let a = decl(vec![item("9503000090", "CHN")]).eval(&rs, 0, now());
    assert_eq!(a.hits[0].reason, "version 2");
}

#[test]
fn instructions_and_assessments_speak_json() {
    let json = r#"{
        "id": "0196a000-0000-7000-8000-000000000001",
        "conditions": {"commodity_prefixes": ["8471"], "origin_countries": ["JPN"], "max_unit_price": "12.50"},
        "action": "machine_scan",
        "selection_rate": "0.3",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": null,
        "reason": "undervaluation",
        "version": 1
    }"#;
    let i: ControlInstruction = serde_json::from_str(json).unwrap();
    assert_eq!(i.conditions.max_unit_price, Some(dec("12.50")));
    assert_eq!(i.action, ControlAction::MachineScan);
    assert!(validate(&i).is_ok());
    let unknown = json.replace("max_unit_price", "max_price");
    assert!(serde_json::from_str::<ControlInstruction>(&unknown).is_err());
}

// ---------------------------------------------------------------------------------------------
// The index against a naive scan

/// SplitMix64, for reproducible workloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const HEADINGS: &[&str] = &[
    "8471", "8517", "0302", "3304", "8703", "9503", "6109", "8542", "8528", "6204", "9403", "3004",
    "2204", "0306", "8708",
];
const COUNTRIES: &[&str] = &["CHN", "JPN", "KOR", "USA", "DEU", "VNM", "FRA", "ITA"];
const TRADE_MODES: &[&str] = &["0110", "9610", "1210", "0615"];
const TRANSPORT: &[&str] = &["2", "4", "5"];
const PORTS: &[&str] = &["5301", "5304", "5316", "5320"];

fn enterprises() -> Vec<Uuid> {
    (1..=12u128)
        .map(|n| Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n))
        .collect()
}

/// A code sharing a heading with the instruction pool, sometimes with digits drawn from a
/// tiny alphabet so that longer prefixes match too.
fn random_code(rng: &mut Rng) -> String {
    let head = rng.pick(HEADINGS);
    let tail: String = (0..6)
        .map(|_| if rng.chance(70) { '0' } else { '1' })
        .collect();
    format!("{head}{tail}")
}

fn random_instruction(rng: &mut Rng, n: u128, ents: &[Uuid]) -> ControlInstruction {
    let mut c = Conditions::default();
    let list = |rng: &mut Rng, pool: &[&str], max: usize| -> Vec<String> {
        (0..1 + rng.below(max))
            .map(|_| rng.pick(pool).to_string())
            .collect()
    };
    if rng.chance(70) {
        c.commodity_prefixes = (0..1 + rng.below(3))
            .map(|_| {
                let code = random_code(rng);
                let len = *rng.pick(&[2, 4, 4, 5, 6, 8, 10]);
                code[..len].to_string()
            })
            .collect();
    }
    if rng.chance(30) {
        c.origin_countries = list(rng, COUNTRIES, 3);
    }
    if rng.chance(15) {
        c.departure_countries = list(rng, COUNTRIES, 2);
    }
    if rng.chance(20) {
        c.enterprises = (0..1 + rng.below(2)).map(|_| *rng.pick(ents)).collect();
    }
    if rng.chance(20) {
        c.trade_modes = list(rng, TRADE_MODES, 2);
    }
    if rng.chance(10) {
        c.transport_modes = list(rng, TRANSPORT, 2);
    }
    if rng.chance(15) {
        c.ports = list(rng, PORTS, 2);
    }
    if rng.chance(10) {
        c.directions = vec![*rng.pick(&[Direction::Import, Direction::Export])];
    }
    if rng.chance(15) {
        c.min_item_value = Some(Decimal::from(rng.below(5) * 1000));
    }
    if rng.chance(10) {
        c.max_item_value = Some(Decimal::from(5000 + rng.below(5) * 1000));
    }
    if rng.chance(10) {
        c.max_unit_price = Some(Decimal::from(50 + rng.below(100)));
    }
    if rng.chance(5) {
        c.min_quantity = Some(Decimal::from(rng.below(20)));
    }
    if c.is_empty() {
        c.directions = vec![Direction::Export];
    }
    let mut i = instruction(n, c);
    i.action = *rng.pick(&ControlAction::ALL);
    i.selection_rate = *rng.pick(&[Decimal::ONE, dec("0.5"), dec("0.05"), Decimal::ZERO]);
    // Some expired, some in the future, most in force.
    i.valid_from = now() - Duration::days(rng.below(400) as i64) + Duration::days(30);
    if rng.chance(30) {
        i.valid_until = Some(i.valid_from + Duration::days(1 + rng.below(200) as i64));
    }
    i
}

fn random_decl(rng: &mut Rng, ents: &[Uuid]) -> Decl {
    let items = (0..rng.below(7))
        .map(|_| Item {
            code: random_code(rng),
            origin: rng.pick(COUNTRIES).to_string(),
            quantity: Decimal::from(rng.below(40)),
            unit_price: Decimal::new(rng.below(30_000) as i64, 2),
            total: Decimal::from(rng.below(12_000)),
        })
        .collect();
    Decl {
        id: Uuid::from_u128(rng.u128()),
        enterprise: *rng.pick(ents),
        level: *rng.pick(&CreditLevel::ALL),
        direction: *rng.pick(&[Direction::Import, Direction::Export]),
        trade_mode: rng.pick(TRADE_MODES).to_string(),
        transport_mode: rng.pick(TRANSPORT).to_string(),
        port: rng.pick(PORTS).to_string(),
        departure: rng.pick(COUNTRIES).to_string(),
        items,
    }
}

/// The rules of DECLARATION.md "Control instruction" written the obvious way over the
/// uncompiled instruction, independent of the engine's packing and index: `Some(item)` when
/// the instruction matches (item 1-based, `None` for head-level only).
fn oracle(i: &ControlInstruction, d: &Decl, at: DateTime<Utc>) -> Option<Option<usize>> {
    let c = &i.conditions;
    let in_force = i.valid_from <= at && i.valid_until.is_none_or(|u| at < u);
    let list = |l: &[String], v: &str| l.is_empty() || l.iter().any(|x| x == v);
    let head = in_force
        && (c.enterprises.is_empty() || c.enterprises.contains(&d.enterprise))
        && (c.directions.is_empty() || c.directions.contains(&d.direction))
        && list(&c.trade_modes, &d.trade_mode)
        && list(&c.transport_modes, &d.transport_mode)
        && list(&c.ports, &d.port)
        && list(&c.departure_countries, &d.departure);
    if !head {
        return None;
    }
    if !c.has_item_conditions() {
        return Some(None);
    }
    let bound = |x: Decimal, lo: Option<Decimal>, hi: Option<Decimal>| {
        lo.is_none_or(|lo| x >= lo) && hi.is_none_or(|hi| x <= hi)
    };
    d.items
        .iter()
        .position(|it| {
            (c.commodity_prefixes.is_empty()
                || c.commodity_prefixes.iter().any(|p| it.code.starts_with(p)))
                && list(&c.origin_countries, &it.origin)
                && bound(it.total, c.min_item_value, c.max_item_value)
                && bound(it.unit_price, c.min_unit_price, c.max_unit_price)
                && bound(it.quantity, c.min_quantity, c.max_quantity)
        })
        .map(|n| Some(n + 1))
}

fn check_against_naive(rs: &RuleSet, d: &Decl, seed: u64, at: DateTime<Utc>) -> usize {
    let indexed = d.eval(rs, seed, at);
    let linear = d.with(|s| rs.evaluate_linear(s, seed, at));
    assert_eq!(indexed, linear, "index and linear scan differ for {d:?}");
    let expected: BTreeSet<(Uuid, Option<usize>)> = rs
        .instructions()
        .iter()
        .filter_map(|i| oracle(i, d, at).map(|item| (i.id, item)))
        .collect();
    let got: BTreeSet<(Uuid, Option<usize>)> = indexed
        .hits
        .iter()
        .map(|h| (h.instruction_id, h.item))
        .collect();
    assert_eq!(
        got.len(),
        indexed.hits.len(),
        "an instruction was reported twice"
    );
    assert_eq!(got, expected, "engine and oracle differ for {d:?}");
    indexed.hits.len()
}

#[test]
fn ten_thousand_instructions_indexed_match_a_naive_scan() {
    let mut rng = Rng(0x7467_2026);
    let ents = enterprises();
    let instructions: Vec<_> = (0..10_000u128)
        .map(|n| random_instruction(&mut rng, n, &ents))
        .collect();
    let rs = rules(instructions);
    assert_eq!(rs.len(), 10_000);
    let mut total_hits = 0;
    let mut declarations_hit = 0;
    for _ in 0..1_500 {
        let d = random_decl(&mut rng, &ents);
        let hits = check_against_naive(&rs, &d, rng.next(), now());
        total_hits += hits;
        declarations_hit += usize::from(hits > 0);
    }
    // The workload must exercise matching, not only misses.
    assert!(total_hits > 10_000, "{total_hits}");
    assert!(declarations_hit > 1_000, "{declarations_hit}");
}

fn small_rule_set() -> &'static RuleSet {
    use std::sync::OnceLock;
    static RS: OnceLock<RuleSet> = OnceLock::new();
    RS.get_or_init(|| {
        let mut rng = Rng(17);
        let ents = enterprises();
        let instructions = (0..800u128)
            .map(|n| random_instruction(&mut rng, n, &ents))
            .collect();
        RuleSet::compile(instructions, RandomPolicy::default())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn evaluation_is_deterministic_and_agrees_with_the_naive_scan(
        workload in any::<u64>(),
        seed in any::<u64>(),
        days in -500i64..500,
    ) {
        let rs = small_rule_set();
        let mut rng = Rng(workload);
        let d = random_decl(&mut rng, &enterprises());
        let at = now() + Duration::days(days);
        let a = d.eval(rs, seed, at);
        let b = d.eval(rs, seed, at);
        prop_assert_eq!(&a, &b);
        // The draw depends only on (seed, declaration, instruction).
        for h in &a.hits {
            prop_assert_eq!(h.draw, tongguan_risk::draw(seed, d.id, h.instruction_id));
        }
        check_against_naive(rs, &d, seed, at);
    }

    #[test]
    fn odd_inputs_never_panic_and_still_agree(
        code in "[0-9A-Z]{0,14}",
        origin in "[A-Za-z]{0,5}",
        port in "[0-9]{0,9}",
        seed in any::<u64>(),
    ) {
        let rs = small_rule_set();
        let mut d = random_decl(&mut Rng(seed), &enterprises());
        d.port = port;
        d.items.push(Item { code, origin, ..item("8471300000", "JPN") });
        check_against_naive(rs, &d, seed, now());
    }
}
