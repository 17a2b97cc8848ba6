//! A realistic synthetic workload for the risk benchmark (`benches/risk.rs`) and the latency
//! example (`examples/risk_latency.rs`): 10,000 control instructions in the proportions a
//! port's risk office might keep, and 5-item declarations drawn from the same code space.
//! Reproducible: everything comes from a fixed SplitMix64 seed.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use tongguan_domain::{codes::Direction, enterprise::CreditLevel};
use tongguan_risk::{
    Conditions, ControlAction, ControlInstruction, RandomPolicy, RuleSet, Subject, SubjectItem,
};
use uuid::Uuid;

/// Real HS headings (4 digits) across chapters: electronics, vehicles, toys, apparel, fish,
/// meat, dairy, cereals, wine, medicines, cosmetics, plastics, metals, machinery, furniture.
pub const HEADINGS: &[&str] = &[
    "8471", "8517", "8542", "8528", "8541", "8473", "8504", "8516", "8703", "8708", "8711", "9503",
    "9504", "9018", "9021", "9102", "9101", "6109", "6110", "6203", "6204", "6403", "6404", "4202",
    "0302", "0303", "0304", "0306", "0307", "0201", "0202", "0203", "0207", "0401", "0402", "0406",
    "1001", "1005", "1201", "1507", "1511", "1701", "2204", "2208", "2402", "3004", "3002", "3304",
    "3305", "3401", "3923", "3926", "4011", "4403", "4407", "7108", "7113", "7403", "7601", "8411",
    "8413", "8414", "8415", "8418", "8421", "8443", "8450", "8479", "8481", "8501", "8507", "8523",
    "8525", "8536", "8544", "9013", "9027", "9401", "9403", "9405",
];
/// Digits 5–6, 7–8 and 9–10 as they tend to occur (…10, …90 "other", …00).
const SUB6: &[&str] = &[
    "10", "20", "30", "90", "00", "11", "19", "21", "29", "41", "49", "50",
];
const SUB8: &[&str] = &["00", "10", "90", "19", "99", "11", "20", "30", "40", "91"];
const SUB10: &[&str] = &["00", "10", "90", "99", "01", "11", "20", "30", "40", "91"];
/// ISO 3166 alpha-3, roughly by weight in China's trade (the first ones are drawn more).
pub const COUNTRIES: &[&str] = &[
    "CHN", "JPN", "KOR", "USA", "DEU", "VNM", "THA", "MYS", "IDN", "IND", "FRA", "ITA", "GBR",
    "AUS", "BRA", "NOR", "CHL", "NZL", "CAN", "MEX", "SGP", "NLD", "ESP", "RUS",
];
/// 监管方式: general trade, cross-border e-commerce (retail, bonded), processing with imported
/// materials. Weighted towards 0110.
pub const TRADE_MODES: &[&str] = &[
    "0110", "0110", "0110", "0110", "0110", "0110", "9610", "1210", "0615", "0110",
];
/// 运输方式: waterway, air, road.
pub const TRANSPORT: &[&str] = &["2", "2", "2", "5", "5", "4"];
/// Shenzhen Customs districts (53xx).
pub const PORTS: &[&str] = &[
    "5301", "5304", "5316", "5320", "5330", "5345", "5349", "5305", "5310", "5338",
];

pub const ENTERPRISES: u128 = 20_000;
pub const INSTRUCTIONS: usize = 10_000;

pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 30, 0).unwrap()
}

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Skewed pick: the front of the slice is drawn more often.
    pub fn pick_skewed<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        let a = self.below(xs.len());
        let b = self.below(xs.len());
        &xs[a.min(b)]
    }
    pub fn pick_str(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn enterprise(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)
}

pub fn code(rng: &mut Rng) -> String {
    format!(
        "{}{}{}{}",
        rng.pick(HEADINGS),
        rng.pick(SUB6),
        rng.pick(SUB8),
        rng.pick(SUB10)
    )
}

fn prefix(rng: &mut Rng) -> String {
    let c = code(rng);
    // Mostly subheadings and national codes; a few headings and chapters.
    let len = match rng.below(100) {
        0..2 => 2,
        2..15 => 4,
        15..45 => 6,
        45..70 => 8,
        _ => 10,
    };
    c[..len].to_string()
}

fn countries(rng: &mut Rng, max: usize) -> Vec<String> {
    (0..1 + rng.below(max))
        .map(|_| rng.pick_skewed(COUNTRIES).to_string())
        .collect()
}

fn instruction(rng: &mut Rng, n: usize) -> ControlInstruction {
    let mut c = Conditions::default();
    match rng.below(100) {
        // Commodity-led: a code prefix, narrowed by origin, trade mode, port, direction or
        // bounds (undervaluation: a unit price at or below a floor).
        0..62 => {
            c.commodity_prefixes = (0..1 + usize::from(rng.chance(20)))
                .map(|_| prefix(rng))
                .collect();
            // A heading or chapter alone would hit a large share of declarations: narrow it.
            let broad = c.commodity_prefixes.iter().any(|p| p.len() <= 4);
            if broad || rng.chance(60) {
                c.origin_countries = countries(rng, 2);
            }
            if broad && rng.chance(50) {
                c.min_item_value = Some(Decimal::from(10_000 * (1 + rng.below(10))));
            }
            if rng.chance(25) {
                c.trade_modes = vec![rng.pick(&["0110", "9610", "1210", "0615"]).to_string()];
            }
            if rng.chance(20) {
                c.min_item_value = Some(Decimal::from(10_000 * (1 + rng.below(10))));
            }
            if rng.chance(15) {
                c.max_unit_price = Some(Decimal::new(100 + rng.below(5_000) as i64, 2));
            }
            if rng.chance(20) {
                c.ports = vec![rng.pick(PORTS).to_string()];
            }
            if rng.chance(30) {
                c.directions = vec![*rng.pick(&[Direction::Import, Direction::Export])];
            }
        }
        // Enterprise-led: one enterprise, sometimes narrowed to goods or a trade mode.
        62..82 => {
            c.enterprises = vec![enterprise(rng.below(ENTERPRISES as usize) as u128)];
            if rng.chance(50) {
                c.commodity_prefixes = vec![prefix(rng)];
            }
            if rng.chance(20) {
                c.trade_modes = vec![rng.pick(TRADE_MODES).to_string()];
            }
        }
        // Origin-led: a country with a special trade mode, a port or a price floor.
        82..86 => {
            c.origin_countries = countries(rng, 1);
            c.trade_modes = vec![rng.pick(&["9610", "1210", "0615"]).to_string()];
            c.ports = vec![rng.pick(PORTS).to_string()];
            if rng.chance(70) {
                c.min_unit_price = Some(Decimal::from(1_000 * (1 + rng.below(20))));
            }
        }
        // Port and trade mode, e.g. e-commerce parcels from one country at one district.
        86..95 => {
            c.ports = vec![rng.pick(PORTS).to_string()];
            c.trade_modes = vec![rng.pick(&["9610", "1210", "0615"]).to_string()];
            c.departure_countries = countries(rng, 1);
            if rng.chance(50) {
                c.min_item_value = Some(Decimal::from(1_000 * (1 + rng.below(50))));
            }
        }
        // Departure-country-led, by transport mode and quantity.
        95..97 => {
            c.departure_countries = countries(rng, 1);
            c.transport_modes = vec![rng.pick(TRANSPORT).to_string()];
            c.ports = vec![rng.pick(PORTS).to_string()];
            c.min_quantity = Some(Decimal::from(10_000 * (1 + rng.below(10))));
        }
        // No indexable condition: a direction with bounds (checked on every declaration).
        _ => {
            c.directions = vec![*rng.pick(&[Direction::Import, Direction::Export])];
            c.min_unit_price = Some(Decimal::from(50_000 + 10_000 * rng.below(10)));
        }
    }
    let valid_from = match rng.below(100) {
        0..5 => at() + Duration::days(1 + rng.below(30) as i64), // not yet valid
        _ => at() - Duration::days(1 + rng.below(365) as i64),
    };
    let valid_until = match rng.below(100) {
        0..5 => Some(at() - Duration::hours(1)).filter(|u| *u > valid_from), // expired
        5..40 => Some(valid_from.max(at()) + Duration::days(1 + rng.below(180) as i64)),
        _ => None,
    };
    // Targeted instructions (an enterprise, a national code) select every match; broader
    // ones sample.
    let targeted = !c.enterprises.is_empty()
        || (!c.commodity_prefixes.is_empty() && c.commodity_prefixes.iter().all(|p| p.len() >= 8));
    let selection_rate = if targeted {
        Decimal::ONE
    } else {
        *rng.pick(&[
            Decimal::new(1, 1),
            Decimal::new(5, 2),
            Decimal::new(2, 2),
            Decimal::new(1, 2),
        ])
    };
    ControlInstruction {
        id: Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0000 + n as u128),
        conditions: c,
        action: *rng.pick(&[
            ControlAction::PhysicalInspection,
            ControlAction::PhysicalInspection,
            ControlAction::MachineScan,
            ControlAction::MachineScan,
            ControlAction::MachineScan,
            ControlAction::DocumentReview,
            ControlAction::Sampling,
        ]),
        selection_rate,
        valid_from,
        valid_until,
        reason: format!("risk office instruction {n}"),
        version: 1,
    }
}

pub fn instructions(n: usize) -> Vec<ControlInstruction> {
    let mut rng = Rng(0x7467_6775_616e);
    (0..n).map(|i| instruction(&mut rng, i)).collect()
}

pub fn rule_set() -> RuleSet {
    let rs = RuleSet::compile(instructions(INSTRUCTIONS), RandomPolicy::default());
    assert!(rs.skipped().is_empty(), "{:?}", rs.skipped().first());
    rs
}

/// An owned declaration; [`Decl::subject`] borrows it for evaluation.
pub struct Decl {
    pub id: Uuid,
    pub enterprise: Uuid,
    pub level: CreditLevel,
    pub direction: Direction,
    pub trade_mode: &'static str,
    pub transport_mode: &'static str,
    pub port: &'static str,
    pub departure: &'static str,
    pub items: Vec<SubjectItem<'static>>,
}

impl Decl {
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            declaration_id: self.id,
            enterprise_id: self.enterprise,
            credit_level: self.level,
            direction: self.direction,
            trade_mode: self.trade_mode,
            transport_mode: self.transport_mode,
            port: self.port,
            departure_country: self.departure,
            items: &self.items,
        }
    }
}

/// `n` declarations of `items` items each; commodity codes are leaked (`&'static str`), which
/// is fine for a benchmark process.
pub fn declarations(n: usize, items: usize, seed: u64) -> Vec<Decl> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let departure = *rng.pick_skewed(COUNTRIES);
            let items = (0..items)
                .map(|_| {
                    let code: &'static str = code(&mut rng).leak();
                    // 1 to 90,000, spread over orders of magnitude.
                    let quantity =
                        Decimal::from((1 + rng.below(9)) * 10usize.pow(rng.below(5) as u32));
                    let unit_price = Decimal::new(50 + rng.below(2_000_000) as i64, 2);
                    SubjectItem {
                        commodity_code: code,
                        origin_country: if rng.chance(70) {
                            departure
                        } else {
                            let skewed: &&'static str = rng.pick_skewed(COUNTRIES);
                            skewed
                        },
                        quantity,
                        unit_price,
                        total_value: (quantity * unit_price).round_dp(2),
                    }
                })
                .collect();
            Decl {
                id: Uuid::from_u128((u128::from(rng.next()) << 64) | u128::from(rng.next())),
                enterprise: enterprise(rng.below(ENTERPRISES as usize) as u128),
                level: match rng.below(100) {
                    0..10 => CreditLevel::AdvancedCertified,
                    10..20 => CreditLevel::Certified,
                    20..98 => CreditLevel::Routine,
                    _ => CreditLevel::Dishonest,
                },
                direction: if rng.chance(65) {
                    Direction::Import
                } else {
                    Direction::Export
                },
                trade_mode: rng.pick_str(TRADE_MODES),
                transport_mode: rng.pick_str(TRANSPORT),
                port: rng.pick_str(PORTS),
                departure,
                items,
            }
        })
        .collect()
}
