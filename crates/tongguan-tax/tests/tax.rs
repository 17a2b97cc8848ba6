//! Worked examples of the tax computation (M1), each figure computed by hand in its comment.
//!
//! Legal sources of the formulas (full citations in `src/compute.rs`):
//! - customs value = CIF: Customs Tariff Law 2024 Art. 24; insurance unknown = 3 ‰ of
//!   (goods + freight): GACC Order 213 Art. 36;
//! - duty: ad valorem / specific / compound, Tariff Law Art. 23; columns Arts. 12–13;
//! - consumption tax on (value + duty) ÷ (1 − rate): 消费税暂行条例 Art. 9 (compound: the
//!   quantity × amount joins the base, Arts. 5 and 9);
//! - import VAT on value + duty + consumption tax: 增值税法 Art. 14 ¶3;
//! - CNY 50 waiver ("50元以下" includes 50): Import and Export Duties Regulations Art. 45(1).
//!
//! Exchange rates here are **test fixtures**, not real customs rates. Tariff figures come from
//! the shipped sample (`data/tariff/rates.csv`, cited per row) unless a test builds a fixture
//! line (codes `9999xxxx`, which are not real tariff lines).

use std::str::FromStr;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use tongguan_domain::declaration::{Charge, ChargeKind};
use tongguan_tax::{
    DutyColumn, ExchangeRates, OriginClaim, Rate, TariffTable, TaxBreakdown, TaxError, TaxInput,
    TaxItem, TaxKind, TaxRules, compute, parse_tariff_csv, round_fen, shipped_tariff,
};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// 2025-03-18: a day in the fixture month.
fn march() -> NaiveDate {
    date(2025, 3, 18)
}

/// Fixture customs rates for March 2025 (not real figures).
fn rates() -> ExchangeRates {
    let mut r = ExchangeRates::new();
    r.set("USD", 2025, 3, d("7.1000")).unwrap();
    r.set("EUR", 2025, 3, d("7.8000")).unwrap();
    r.set("JPY", 2025, 3, d("0.0480")).unwrap();
    r.set("USD", 2024, 6, d("7.1000")).unwrap();
    r.set("USD", 2025, 4, d("7.1245")).unwrap();
    r
}

fn tariff() -> TariffTable {
    shipped_tariff().expect("shipped tariff parses")
}

fn item(
    no: u32,
    code: &str,
    qty: &str,
    unit: &str,
    price: &str,
    cur: &str,
    origin: &str,
) -> TaxItem {
    TaxItem {
        item_no: no,
        commodity_code: code.into(),
        quantity: d(qty),
        unit: unit.into(),
        total_price: d(price),
        currency: cur.into(),
        origin_country: origin.into(),
    }
}

fn input(terms: &str, items: Vec<TaxItem>) -> TaxInput {
    TaxInput {
        declaration_date: march(),
        transaction_terms: terms.into(),
        freight: None,
        insurance: None,
        other_charges: None,
        items,
        origin: None,
    }
}

fn charge(kind: ChargeKind, amount: &str, cur: Option<&str>) -> Option<Charge> {
    Some(Charge {
        kind,
        amount: d(amount),
        currency: cur.map(str::to_string),
    })
}

fn run(input: &TaxInput) -> TaxBreakdown {
    compute(input, &tariff(), &rates(), &TaxRules::default()).expect("computes")
}

// ---------------------------------------------------------------------------------------------
// Worked examples
// ---------------------------------------------------------------------------------------------

/// FOB import in USD, freight total declared, insurance unknown → 3 ‰ (Order 213 Art. 36).
/// Air conditioners 84151010: MFN 8 %, VAT 13 % (htshub 2024, shipped row).
///
/// goods      10,000.00 USD × 7.1 = 71,000.00
/// freight       500.00 USD × 7.1 =  3,550.00
/// insurance  (71,000.00 + 3,550.00) × 0.003 = 223.65
/// value      71,000.00 + 3,550.00 + 223.65 = 74,773.65
/// duty       74,773.65 × 8 % = 5,981.892 → 5,981.89
/// VAT        (74,773.65 + 5,981.89) × 13 % = 80,755.54 × 0.13 = 10,498.2202 → 10,498.22
/// total      5,981.89 + 10,498.22 = 16,480.11
#[test]
fn fob_in_usd_with_freight_total_and_unknown_insurance() {
    let mut inp = input(
        "3",
        vec![item(
            1,
            "8415101000",
            "100",
            "001",
            "10000.00",
            "USD",
            "DEU",
        )],
    );
    inp.freight = charge(ChargeKind::Total, "500", Some("USD"));
    let b = run(&inp);
    let it = &b.items[0];
    assert_eq!(it.goods_value_cny, d("71000.00"));
    assert_eq!(it.freight_cny, d("3550.00"));
    assert_eq!(it.insurance_cny, d("223.65"));
    assert_eq!(it.customs_value_cny.to_string(), "74773.65");
    assert_eq!(it.duty.column, DutyColumn::Mfn);
    assert_eq!(it.duty.rate_text, "8%");
    assert_eq!(it.duty.formula, "74,773.65 × 8% = 5,981.89");
    assert_eq!(it.duty.amount.to_string(), "5981.89");
    assert!(it.consumption.as_ref().is_some_and(|c| c.amount.is_zero()));
    assert_eq!(it.vat.amount.to_string(), "10498.22");
    assert_eq!(
        it.vat.formula,
        "(74,773.65 + 5,981.89 + 0.00) × 13% = 10,498.22"
    );
    assert_eq!(b.totals.total.to_string(), "16480.11");
    assert_eq!(b.totals, b.totals_before_waiver);
    assert!(b.waived.is_empty());
    assert_eq!(b.exchange_rates.len(), 1);
    assert_eq!(b.exchange_rates[0].currency, "USD");
    assert_eq!(b.exchange_rates[0].month, "2025-03");
    assert_eq!(b.exchange_rates[0].cny_per_unit, d("7.1000"));
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("insurance not declared: 0.3%"))
    );
}

/// CIF import in EUR: seabass 03028400 (MFN 7 %, **VAT 9 %**) and toys 95030089 (MFN 0 %,
/// VAT 13 %); a freight amount declared on CIF terms is not added (it is in the price).
///
/// seabass  20,000 EUR × 7.8 = 156,000.00; duty × 7 % = 10,920.00;
///          VAT (156,000.00 + 10,920.00) × 9 % = 166,920 × 0.09 = 15,022.80
/// toys      1,000 EUR × 7.8 =   7,800.00; duty 0.00; VAT 7,800.00 × 13 % = 1,014.00
/// totals   duty 10,920.00, VAT 16,036.80, total 26,956.80
#[test]
fn cif_with_a_nine_percent_vat_line() {
    let mut inp = input(
        "1",
        vec![
            item(1, "0302840000", "2000", "035", "20000", "EUR", "GRC"),
            item(2, "9503008900", "500", "007", "1000", "EUR", "DEU"),
        ],
    );
    inp.freight = charge(ChargeKind::Total, "800", Some("EUR"));
    let b = run(&inp);
    assert_eq!(b.items[0].customs_value_cny, d("156000.00"));
    assert_eq!(b.items[0].freight_cny, d("0.00"));
    assert_eq!(b.items[0].duty.amount, d("10920.00"));
    assert_eq!(b.items[0].vat.rate_text, "9%");
    assert_eq!(b.items[0].vat.amount, d("15022.80"));
    assert_eq!(b.items[1].duty.amount, d("0.00"));
    assert_eq!(b.items[1].vat.amount, d("1014.00"));
    assert_eq!(b.totals.duty, d("10920.00"));
    assert_eq!(b.totals.vat, d("16036.80"));
    assert_eq!(b.totals.total, d("26956.80"));
    assert_eq!(b.customs_value_cny, d("163800.00"));
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("freight declared but not added"))
    );
}

/// High-end cosmetics 33049900: MFN 1 %, consumption tax 15 % when the customs value is at
/// least CNY 10,000 per kg (10 yuan/g; htshub 2024 row), VAT 13 %. CIF.
///
/// value  15,000 USD × 7.1 = 106,500.00 for 10 kg → 10,650.00/kg ≥ 10,000 → taxable
/// duty   106,500.00 × 1 % = 1,065.00
/// CT     (106,500.00 + 1,065.00) ÷ (1 − 15 %) × 15 % = 107,565 ÷ 0.85 × 0.15
///        = 126,547.0588… × 0.15 = 18,982.0588… → 18,982.06
/// VAT    (106,500.00 + 1,065.00 + 18,982.06) × 13 % = 126,547.06 × 0.13 = 16,451.1178 → 16,451.12
#[test]
fn cosmetics_with_ad_valorem_consumption_tax() {
    let b = run(&input(
        "1",
        vec![item(1, "3304990029", "10", "035", "15000", "USD", "FRA")],
    ));
    let it = &b.items[0];
    assert_eq!(it.tariff_line, "33049900");
    assert_eq!(it.duty.amount, d("1065.00"));
    let ct = it.consumption.as_ref().expect("consumption tax");
    assert_eq!(ct.rate_text, "15%");
    assert_eq!(ct.amount, d("18982.06"));
    assert_eq!(
        ct.formula,
        "(106,500.00 + 1,065.00) ÷ (1 − 15%) × 15% = 18,982.06"
    );
    assert_eq!(it.vat.amount, d("16451.12"));
    assert_eq!(b.totals.total, d("36498.18"));

    // Below the threshold: 1,000 USD → 7,100.00 for 10 kg = 710.00/kg → no consumption tax.
    // duty 71.00; VAT (7,100 + 71) × 13 % = 932.23.
    let b = run(&input(
        "1",
        vec![item(1, "3304990029", "10", "035", "1000", "USD", "FRA")],
    ));
    assert!(b.items[0].consumption.is_none());
    assert_eq!(b.items[0].duty.amount, d("71.00"));
    assert_eq!(b.items[0].vat.amount, d("932.23"));
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("below the consumption tax threshold"))
    );
}

/// Plug-in hybrid car 87037031 (diesel, 1.5–2.0 l): MFN 15 %, consumption tax 5 %, VAT 13 %
/// (htshub 2024 row). CIF.
///
/// value  40,000 USD × 7.1 = 284,000.00
/// duty   284,000.00 × 15 % = 42,600.00
/// CT     (284,000 + 42,600) ÷ 0.95 × 0.05 = 343,789.4736… × 0.05 = 17,189.4736… → 17,189.47
/// VAT    (284,000 + 42,600 + 17,189.47) × 13 % = 343,789.47 × 0.13 = 44,692.6311 → 44,692.63
/// total  42,600.00 + 17,189.47 + 44,692.63 = 104,482.10
#[test]
fn car_with_consumption_tax() {
    let b = run(&input(
        "1",
        vec![item(1, "8703703100", "1", "003", "40000", "USD", "DEU")],
    ));
    let it = &b.items[0];
    assert_eq!(it.duty.amount, d("42600.00"));
    assert_eq!(it.consumption.as_ref().unwrap().amount, d("17189.47"));
    assert_eq!(it.vat.amount, d("44692.63"));
    assert_eq!(b.totals.total, d("104482.10"));
}

/// Beer 22030000: a sourced **specific** duty (MFN CNY 0/l, general CNY 7.5/l) and a specific
/// consumption tax of CNY 0.253/l at or above CNY 2.6576767/l customs value, else CNY 0.2227/l
/// (htshub 2024 row). 10,000 l CIF 5,000 USD = 35,500.00 → 3.55/l ≥ 2.6577.
///
/// MFN:     duty 10,000 × 0 = 0.00; CT 10,000 × 0.253 = 2,530.00;
///          VAT (35,500 + 0 + 2,530) × 13 % = 38,030 × 0.13 = 4,943.90
/// general: duty 10,000 × 7.5 = 75,000.00; CT 2,530.00;
///          VAT (35,500 + 75,000 + 2,530) × 13 % = 113,030 × 0.13 = 14,693.90
/// cheap:   3,000 USD = 21,300.00 → 2.13/l < threshold → CT 10,000 × 0.2227 = 2,227.00
#[test]
fn beer_with_specific_duty_and_specific_consumption_tax() {
    let beer = |price: &str, origin: &str| {
        input(
            "1",
            vec![item(1, "2203000000", "10000", "095", price, "USD", origin)],
        )
    };
    let b = run(&beer("5000", "DEU"));
    let it = &b.items[0];
    assert_eq!(it.duty.column, DutyColumn::Mfn);
    assert_eq!(it.duty.formula, "10,000 × CNY 0/095 = 0.00");
    let ct = it.consumption.as_ref().unwrap();
    assert_eq!(ct.formula, "10,000 × CNY 0.253/095 = 2,530.00");
    assert_eq!(it.vat.amount, d("4943.90"));
    // A duty of zero is not "waived": nothing to waive.
    assert!(b.waived.is_empty());

    // The general column, for an origin an administrator listed as without MFN treatment.
    // `ZZZ` is a user-assigned code: a fixture, not a claim about any real country.
    let rules = TaxRules {
        general_rate_origins: ["ZZZ".to_string()].into(),
        ..TaxRules::default()
    };
    let b = compute(&beer("5000", "ZZZ"), &tariff(), &rates(), &rules).unwrap();
    let it = &b.items[0];
    assert_eq!(it.duty.column, DutyColumn::General);
    assert_eq!(it.duty.formula, "10,000 × CNY 7.5/095 = 75,000.00");
    assert_eq!(it.vat.amount, d("14693.90"));

    let b = run(&beer("3000", "DEU"));
    assert_eq!(
        b.items[0].consumption.as_ref().unwrap().amount,
        d("2227.00")
    );

    // Unknown origin → general rate (Tariff Law Art. 12 ¶4).
    let b = run(&beer("5000", ""));
    assert_eq!(b.items[0].duty.column, DutyColumn::General);
}

/// Spirits 22089090: MFN 10 %, **compound** consumption tax 20 % + CNY 0.912/l (htshub 2024).
/// 1,000 l CIF 20,000 USD = 142,000.00.
///
/// duty  142,000.00 × 10 % = 14,200.00
/// CT    specific part 1,000 × 0.912 = 912.00;
///       (142,000 + 14,200 + 912) ÷ (1 − 20 %) × 20 % + 912 = 157,112 ÷ 0.8 × 0.2 + 912
///       = 196,390 × 0.2 + 912 = 39,278 + 912 = 40,190.00
/// VAT   (142,000 + 14,200 + 40,190) × 13 % = 196,390 × 0.13 = 25,530.70
#[test]
fn spirits_with_compound_consumption_tax() {
    let b = run(&input(
        "1",
        vec![item(1, "2208909099", "1000", "095", "20000", "USD", "GBR")],
    ));
    let it = &b.items[0];
    assert_eq!(it.duty.amount, d("14200.00"));
    let ct = it.consumption.as_ref().unwrap();
    assert_eq!(ct.rate_text, "20% + CNY 0.912/095");
    assert_eq!(ct.amount, d("40190.00"));
    assert_eq!(
        ct.formula,
        "(142,000.00 + 14,200.00 + 1,000 × CNY 0.912/095) ÷ (1 − 20%) × 20% + 1,000 × CNY 0.912/095 = 40,190.00"
    );
    assert_eq!(it.vat.amount, d("25530.70"));
}

/// Provisional rate (Tariff Law Art. 13 ¶1): line 8507600030 had a 1 % provisional rate in
/// 2024 (htshub 2024), instead of MFN 10 %. In 2025 the shipped row has ended, so the 8-digit
/// line 85076000 (MFN 10 %) applies.
///
/// 2024: 1,000 USD × 7.1 = 7,100.00 × 1 % = 71.00
/// 2025: 7,100.00 × 10 % = 710.00
#[test]
fn provisional_rate_replaces_mfn_while_in_force() {
    let mut inp = input(
        "1",
        vec![item(1, "8507600030", "10", "007", "1000", "USD", "KOR")],
    );
    inp.declaration_date = date(2024, 6, 3);
    let b = run(&inp);
    assert_eq!(b.items[0].duty.column, DutyColumn::Provisional);
    assert_eq!(b.items[0].tariff_line, "8507600030");
    assert_eq!(b.items[0].duty.amount, d("71.00"));

    inp.declaration_date = march();
    let b = run(&inp);
    assert_eq!(b.items[0].duty.column, DutyColumn::Mfn);
    assert_eq!(b.items[0].tariff_line, "85076000");
    assert_eq!(b.items[0].duty.amount, d("710.00"));
}

/// The CNY 50 waiver includes 50 ("50元以下", Regulations Art. 45(1)). Line 85076000, MFN 10 %.
///
/// 500.00 CNY → duty 50.00 → waived; VAT (500.00 + 50.00) × 13 % = 71.50 → due.
/// 500.10 CNY → duty 50.01 → due; VAT (500.10 + 50.01) × 13 % = 550.11 × 0.13 = 71.5143 → 71.51.
/// Toys 100.00 CNY: duty 0; VAT 13.00 → waived.
#[test]
fn fifty_yuan_waiver_includes_fifty() {
    let b = run(&input(
        "1",
        vec![item(1, "8507600010", "1", "007", "500.00", "CNY", "KOR")],
    ));
    assert_eq!(b.totals_before_waiver.duty, d("50.00"));
    assert_eq!(b.totals.duty, d("0.00"));
    assert_eq!(b.totals.vat, d("71.50"));
    assert_eq!(b.totals.total, d("71.50"));
    assert_eq!(b.waived.len(), 1);
    assert_eq!(b.waived[0].tax, TaxKind::Duty);
    assert_eq!(b.waived[0].amount, d("50.00"));
    assert!(b.waived[0].reason.contains("waived"));
    assert!(b.exchange_rates.is_empty(), "CNY needs no rate");

    let b = run(&input(
        "1",
        vec![item(1, "8507600010", "1", "007", "500.10", "CNY", "KOR")],
    ));
    assert_eq!(b.totals.duty, d("50.01"));
    assert_eq!(b.totals.vat, d("71.51"));
    assert!(b.waived.is_empty());

    let b = run(&input(
        "1",
        vec![item(1, "9503008900", "1", "007", "100.00", "CNY", "DEU")],
    ));
    assert_eq!(b.totals_before_waiver.vat, d("13.00"));
    assert_eq!(b.totals.total, d("0.00"));
    assert_eq!(b.waived[0].tax, TaxKind::Vat);
}

/// Half-up rounding to fen, not banker's rounding.
///
/// duty: 100.05 CNY × 10 % = 10.005 → 10.01 (banker's would give 10.00);
///       VAT (100.05 + 10.01) × 13 % = 110.06 × 0.13 = 14.3078 → 14.31
/// value: 10 USD × 7.1245 (April fixture) = 71.245 → 71.25 (banker's: 71.24)
#[test]
fn rounding_is_half_up_to_fen() {
    let b = run(&input(
        "1",
        vec![item(1, "8507600010", "1", "007", "100.05", "CNY", "KOR")],
    ));
    assert_eq!(b.items[0].duty.amount.to_string(), "10.01");
    assert_eq!(b.items[0].vat.amount.to_string(), "14.31");

    let mut inp = input(
        "1",
        vec![item(1, "9503008900", "1", "007", "10", "USD", "DEU")],
    );
    inp.declaration_date = date(2025, 4, 2);
    let b = run(&inp);
    assert_eq!(b.items[0].customs_value_cny.to_string(), "71.25");
    assert_eq!(round_fen(d("71.245")).to_string(), "71.25");
    assert_eq!(round_fen(d("2")).to_string(), "2.00");
}

/// Freight and insurance spread over two FOB items by value; insurance as a declared rate
/// (0.3 %, of goods + freight, the same base as Order 213's 3 ‰ default).
///
/// goods      6,000 USD → 42,600.00;  4,000 USD → 28,400.00 (total 71,000.00)
/// freight    500 USD = 3,550.00 → 3,550 × 0.6 = 2,130.00; × 0.4 = 1,420.00
/// insurance  (42,600 + 2,130) × 0.3 % = 134.19; (28,400 + 1,420) × 0.3 % = 89.46
/// values     44,864.19 and 29,909.46
/// duty       44,864.19 × 8 % = 3,589.1352 → 3,589.14; toys 0.00
/// VAT        (44,864.19 + 3,589.14) × 13 % = 48,453.33 × 0.13 = 6,298.9329 → 6,298.93;
///            29,909.46 × 13 % = 3,888.2298 → 3,888.23
#[test]
fn freight_and_insurance_are_prorated_by_value() {
    let mut inp = input(
        "3",
        vec![
            item(1, "8415101000", "60", "001", "6000", "USD", "THA"),
            item(2, "9503008900", "400", "007", "4000", "USD", "THA"),
        ],
    );
    inp.freight = charge(ChargeKind::Total, "500", Some("USD"));
    inp.insurance = charge(ChargeKind::Rate, "0.3", None);
    let b = run(&inp);
    assert_eq!(b.items[0].freight_cny, d("2130.00"));
    assert_eq!(b.items[1].freight_cny, d("1420.00"));
    assert_eq!(b.items[0].insurance_cny, d("134.19"));
    assert_eq!(b.items[1].insurance_cny, d("89.46"));
    assert_eq!(b.items[0].customs_value_cny, d("44864.19"));
    assert_eq!(b.items[1].customs_value_cny, d("29909.46"));
    assert_eq!(b.items[0].duty.amount, d("3589.14"));
    assert_eq!(b.items[0].vat.amount, d("6298.93"));
    assert_eq!(b.items[1].vat.amount, d("3888.23"));
    assert!(!b.notes.iter().any(|n| n.contains("insurance not declared")));
}

/// Per-unit freight follows the quantities: 2 USD per unit, 60 and 400 units
/// → 120 USD = 852.00 and 800 USD = 5,680.00. C&I adds freight but not insurance.
#[test]
fn per_unit_freight_and_c_and_i_terms() {
    let mut inp = input(
        "4",
        vec![
            item(1, "8415101000", "60", "001", "6000", "USD", "THA"),
            item(2, "9503008900", "400", "007", "4000", "USD", "THA"),
        ],
    );
    inp.freight = charge(ChargeKind::Unit, "2", Some("USD"));
    let b = run(&inp);
    assert_eq!(b.items[0].freight_cny, d("852.00"));
    assert_eq!(b.items[1].freight_cny, d("5680.00"));
    assert_eq!(b.items[0].insurance_cny, d("0.00"));

    // C&F adds insurance only: 3 ‰ of the C&F price (freight already in it).
    // 6,000 USD = 42,600.00 × 0.003 = 127.80.
    let mut inp = input(
        "2",
        vec![item(1, "8415101000", "60", "001", "6000", "USD", "THA")],
    );
    inp.freight = charge(ChargeKind::Total, "100", Some("USD"));
    let b = run(&inp);
    assert_eq!(b.items[0].freight_cny, d("0.00"));
    assert_eq!(b.items[0].insurance_cny, d("127.80"));
    assert_eq!(b.items[0].customs_value_cny, d("42727.80"));
}

/// Codes 5 and 6 are treated like CIF (documented choice), other charges may deduct.
/// 1,000 CNY − 10 % other charges (rate −10) = 900.00.
#[test]
fn market_price_terms_and_negative_other_charges() {
    let mut inp = input(
        "5",
        vec![item(1, "9503008900", "1", "007", "1000", "CNY", "DEU")],
    );
    inp.other_charges = charge(ChargeKind::Rate, "-10", None);
    let b = run(&inp);
    assert_eq!(b.items[0].other_charges_cny, d("-100.00"));
    assert_eq!(b.items[0].customs_value_cny, d("900.00"));
    assert!(b.notes.iter().any(|n| n.contains("treated like CIF")));
}

const FIXTURE: &str = "\
code,description,valid_from,valid_until,mfn,provisional,general,agreements,vat,consumption_tax,source
99990001,fixture: RCEP 5% for Japan and 8% for other parties,2024-01-01,,10%,,50%,RCEP:JPN=5%;RCEP:*=8%,13%,,test fixture
99990002,fixture: RCEP rate above MFN,2024-01-01,,3%,,50%,RCEP:*=5%,13%,,test fixture
99990003,fixture: provisional below the RCEP rate,2024-01-01,,10%,4%,50%,RCEP:JPN=5%,13%,,test fixture
99990004,fixture: specific duty per kg,2024-01-01,,CNY 2.5/035,,CNY 10/035,,13%,,test fixture
99990005,fixture: compound duty per piece,2024-01-01,,10% + CNY 1/007,,50%,,13%,,test fixture
";

fn fixture() -> TariffTable {
    TariffTable::new(parse_tariff_csv(FIXTURE).unwrap()).unwrap()
}

fn claim(partner: &str, valid: bool) -> Option<OriginClaim> {
    Some(OriginClaim {
        agreement: "RCEP".into(),
        partner: partner.into(),
        valid,
        reference: "RCEP-CO-0001".into(),
    })
}

/// RCEP (fixture line 99990001: MFN 10 %, RCEP:JPN 5 %, RCEP:* 8 %), 10,000.00 CNY CIF.
/// valid claim, origin JPN → 5 % = 500.00 (Tariff Law Art. 12 ¶2);
/// no valid certificate → MFN 1,000.00 and the refusal is stated;
/// Korea (no own entry) → `*` 8 % = 800.00; origin not the claim's party → MFN.
#[test]
fn rcep_rate_used_with_valid_claim_and_refused_without() {
    let t = fixture();
    let one = |origin: &str, claim: Option<OriginClaim>| {
        let mut inp = input(
            "1",
            vec![item(1, "9999000100", "1", "007", "10000", "CNY", origin)],
        );
        inp.origin = claim;
        compute(&inp, &t, &rates(), &TaxRules::default()).unwrap()
    };
    let b = one("JPN", claim("JPN", true));
    assert_eq!(b.items[0].duty.column, DutyColumn::Agreement);
    assert_eq!(b.items[0].duty.agreement.as_deref(), Some("RCEP:JPN"));
    assert_eq!(b.items[0].duty.amount, d("500.00"));

    let b = one("JPN", claim("JPN", false));
    assert_eq!(b.items[0].duty.column, DutyColumn::Mfn);
    assert_eq!(b.items[0].duty.amount, d("1000.00"));
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("RCEP rate refused: no valid certificate of origin")),
        "{:?}",
        b.notes
    );

    let b = one("KOR", claim("KOR", true));
    assert_eq!(b.items[0].duty.agreement.as_deref(), Some("RCEP:KOR"));
    assert_eq!(b.items[0].duty.amount, d("800.00"));

    let b = one("USA", claim("JPN", true));
    assert_eq!(b.items[0].duty.column, DutyColumn::Mfn);
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("is not the claim's party"))
    );
}

/// Art. 13 ¶2: an agreement rate above MFN (no provisional) gives way to MFN; with a
/// provisional rate, the lower of the two applies.
/// 99990002: MFN 3 % vs RCEP 5 % → MFN 300.00. 99990003: provisional 4 % vs RCEP 5 % → 400.00.
#[test]
fn agreement_rate_only_when_lower() {
    let t = fixture();
    let one = |code: &str| {
        let mut inp = input("1", vec![item(1, code, "1", "007", "10000", "CNY", "JPN")]);
        inp.origin = claim("JPN", true);
        compute(&inp, &t, &rates(), &TaxRules::default()).unwrap()
    };
    let b = one("99990002");
    assert_eq!(b.items[0].duty.column, DutyColumn::Mfn);
    assert_eq!(b.items[0].duty.amount, d("300.00"));
    assert!(b.notes.iter().any(|n| n.contains("the lower applies")));
    let b = one("99990003");
    assert_eq!(b.items[0].duty.column, DutyColumn::Provisional);
    assert_eq!(b.items[0].duty.amount, d("400.00"));
}

/// Fixture specific and compound duties.
/// 99990004: 200 kg × CNY 2.5 = 500.00.
/// 99990005: 1,000.00 × 10 % + 20 × CNY 1 = 120.00; a quantity in kg instead of pieces is an error.
#[test]
fn specific_and_compound_duty() {
    let t = fixture();
    let b = compute(
        &input(
            "1",
            vec![
                item(1, "99990004", "200", "035", "3000", "CNY", "DEU"),
                item(2, "99990005", "20", "007", "1000", "CNY", "DEU"),
            ],
        ),
        &t,
        &rates(),
        &TaxRules::default(),
    )
    .unwrap();
    assert_eq!(b.items[0].duty.formula, "200 × CNY 2.5/035 = 500.00");
    assert_eq!(
        b.items[1].duty.formula,
        "1,000.00 × 10% + 20 × CNY 1/007 = 120.00"
    );
    assert_eq!(
        b.items[1].duty.rate,
        "10% + CNY 1/007".parse::<Rate>().unwrap()
    );

    let e = compute(
        &input(
            "1",
            vec![item(1, "99990005", "20", "035", "1000", "CNY", "DEU")],
        ),
        &t,
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert!(matches!(e, TaxError::UnitMismatch { .. }), "{e}");
    assert_eq!(e.path(), "items/0/unit");
    assert_eq!(e.rule(), "tax.unit_mismatch");
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_exchange_rate_names_currency_and_month() {
    let mut inp = input(
        "1",
        vec![item(1, "9503008900", "1", "007", "10", "USD", "DEU")],
    );
    inp.declaration_date = date(2025, 5, 10);
    let e = compute(&inp, &tariff(), &rates(), &TaxRules::default()).unwrap_err();
    assert_eq!(
        e,
        TaxError::NoExchangeRate {
            currency: "USD".into(),
            month: "2025-05".into(),
            path: "items/0/currency".into()
        }
    );
    assert_eq!(e.rule(), "tax.no_exchange_rate");
    assert_eq!(e.to_string(), "no customs exchange rate for USD in 2025-05");

    // A freight currency without a rate points at the freight.
    let mut inp = input(
        "3",
        vec![item(1, "9503008900", "1", "007", "10", "USD", "DEU")],
    );
    inp.freight = charge(ChargeKind::Total, "5", Some("GBP"));
    let e = compute(&inp, &tariff(), &rates(), &TaxRules::default()).unwrap_err();
    assert_eq!(e.path(), "head/freight/currency");
}

#[test]
fn missing_tariff_line_names_the_item() {
    let e = compute(
        &input(
            "1",
            vec![
                item(1, "9503008900", "1", "007", "10", "CNY", "DEU"),
                item(2, "0101210010", "1", "007", "10", "CNY", "DEU"),
            ],
        ),
        &tariff(),
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, TaxError::NoTariffLine { item_no: 2, code, .. } if code == "0101210010"),
        "{e}"
    );
    assert_eq!(e.path(), "items/1/commodity_code");
    assert_eq!(e.rule(), "tax.no_tariff_line");

    // A line not yet in force: 87038010 starts 2025-01-01.
    let mut inp = input(
        "1",
        vec![item(1, "8703801090", "1", "003", "10", "USD", "DEU")],
    );
    inp.declaration_date = date(2024, 6, 3);
    let e = compute(&inp, &tariff(), &rates(), &TaxRules::default()).unwrap_err();
    assert!(matches!(e, TaxError::NoTariffLine { .. }), "{e}");

    // A shipped line without an MFN rate (only the general rate was sourced).
    let e = compute(
        &input(
            "1",
            vec![item(1, "8517130000", "1", "007", "10", "CNY", "DEU")],
        ),
        &tariff(),
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert!(matches!(e, TaxError::NoRate { column: "MFN", .. }), "{e}");
}

#[test]
fn terms_and_freight_errors() {
    let e = compute(
        &input(
            "3",
            vec![item(1, "9503008900", "1", "007", "10", "USD", "DEU")],
        ),
        &tariff(),
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        TaxError::FreightRequired {
            terms: "3 (FOB)".into()
        }
    );
    assert_eq!(
        (e.path().as_str(), e.rule()),
        ("head/freight", "tax.freight_required")
    );

    let e = compute(
        &input(
            "9",
            vec![item(1, "9503008900", "1", "007", "10", "USD", "DEU")],
        ),
        &tariff(),
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert_eq!(e.path(), "head/transaction_terms");

    let mut inp = input(
        "3",
        vec![item(1, "9503008900", "1", "007", "10", "USD", "DEU")],
    );
    inp.freight = charge(ChargeKind::Total, "5", None);
    let e = compute(&inp, &tariff(), &rates(), &TaxRules::default()).unwrap_err();
    assert_eq!(e.path(), "head/freight/currency");

    let e = compute(
        &input("1", vec![]),
        &tariff(),
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert_eq!(e, TaxError::NoItems);

    let e = compute(
        &input(
            "1",
            vec![item(1, "9503008900", "1", "007", "-10", "USD", "DEU")],
        ),
        &tariff(),
        &rates(),
        &TaxRules::default(),
    )
    .unwrap_err();
    assert_eq!(e.path(), "items/0/total_price");
}

#[test]
fn tariff_csv_errors_name_line_and_column() {
    let header = "code,valid_from,mfn,vat,source\n";
    // Line 3 (header on 1) has a bad MFN cell.
    let text =
        format!("{header}99990001,2024-01-01,8%,13%,x\n99990002,2024-01-01,8 percent,13%,x\n");
    let e = parse_tariff_csv(&text).unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { line: 3, column, .. } if column == "mfn"),
        "{e}"
    );
    assert_eq!(e.rule(), "tax.csv");
    assert_eq!(e.path(), "lines/3/mfn");
    assert!(
        e.to_string().starts_with("tariff CSV line 3, column `mfn`"),
        "{e}"
    );

    // Comment lines count: the bad date is on physical line 4.
    let text = format!("# comment\n{header}# another\n99990001,2024-13-01,8%,13%,x\n");
    let e = parse_tariff_csv(&text).unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { line: 4, column, .. } if column == "valid_from"),
        "{e}"
    );

    // Wrong number of fields.
    let text = format!("{header}99990001,2024-01-01,8%,13%\n");
    assert!(matches!(
        parse_tariff_csv(&text).unwrap_err(),
        TaxError::Csv { line: 2, .. }
    ));
    // Missing required column, unknown column, bad code, bad agreement, VAT not ad valorem.
    let e = parse_tariff_csv("code,valid_from,source\n").unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { line: 1, column, .. } if column == "vat"),
        "{e}"
    );
    let e = parse_tariff_csv("code,valid_from,vat,source,colour\n").unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { column, .. } if column == "colour"),
        "{e}"
    );
    let e = parse_tariff_csv(&format!("{header}9999001,2024-01-01,8%,13%,x\n")).unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { line: 2, column, .. } if column == "code"),
        "{e}"
    );
    let e = parse_tariff_csv(
        "code,valid_from,agreements,vat,source\n99990001,2024-01-01,RCEP:Japan=5%,13%,x\n",
    )
    .unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { column, .. } if column == "agreements"),
        "{e}"
    );
    let e = parse_tariff_csv(&format!("{header}99990001,2024-01-01,8%,CNY 1/035,x\n")).unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { column, .. } if column == "vat"),
        "{e}"
    );
    let e = parse_tariff_csv(
        "code,valid_from,vat,consumption_tax,source\n99990001,2024-01-01,13%,100%,x\n",
    )
    .unwrap_err();
    assert!(
        matches!(&e, TaxError::Csv { column, .. } if column == "consumption_tax"),
        "{e}"
    );
}

#[test]
fn overlapping_versions_are_refused() {
    let text = "code,valid_from,valid_until,mfn,vat,source\n\
                99990001,2024-01-01,2024-12-31,8%,13%,x\n\
                99990001,2024-06-01,,6%,13%,x\n";
    let e = TariffTable::new(parse_tariff_csv(text).unwrap()).unwrap_err();
    assert_eq!(e.rule(), "tax.tariff_line");
    // Consecutive versions are fine and picked by date.
    let text = "code,valid_from,valid_until,mfn,vat,source\n\
                99990001,2024-01-01,2024-12-31,8%,13%,x\n\
                99990001,2025-01-01,,6%,13%,x\n";
    let t = TariffTable::new(parse_tariff_csv(text).unwrap()).unwrap();
    let mfn = |on| {
        t.lookup("9999000100", on)
            .unwrap()
            .mfn
            .clone()
            .unwrap()
            .to_string()
    };
    assert_eq!(mfn(date(2024, 12, 31)), "8%");
    assert_eq!(mfn(date(2025, 1, 1)), "6%");
    assert!(t.lookup("9999000100", date(2023, 12, 31)).is_none());
}

#[test]
fn exchange_rate_csv() {
    let text = "# fixture\ncurrency,month,cny_per_unit,source\nUSD,2025-03,7.1000,fixture\nEUR,2025-03,7.8,fixture\n";
    let entries = ExchangeRates::parse_csv(text).unwrap();
    assert_eq!(entries.len(), 2);
    let r = ExchangeRates::from_entries(entries).unwrap();
    assert_eq!(r.rate_on("EUR", march()), Some(d("7.8")));
    assert_eq!(r.entries()[1].source, "fixture");
    assert_eq!(r.entries()[1].month_label(), "2025-03");

    let bad = |text: &str| ExchangeRates::parse_csv(text).unwrap_err();
    let e = bad("currency,month,cny_per_unit,source\nUSD,2025-3,7.1,x\n");
    assert!(
        matches!(&e, TaxError::Csv { line: 2, column, .. } if column == "month"),
        "{e}"
    );
    let e = bad("currency,month,cny_per_unit,source\nUSD,2025-03,7.1,x\nUSD,2025-03,7.2,x\n");
    assert!(matches!(&e, TaxError::Csv { line: 3, .. }), "{e}");
    assert!(e.to_string().contains("first on line 2"), "{e}");
    let e = bad("currency,month,cny_per_unit,source\nUSD,2025-03,-7,x\n");
    assert!(
        matches!(&e, TaxError::Csv { column, .. } if column == "cny_per_unit"),
        "{e}"
    );
    let e = bad("currency,month,cny_per_unit,source\nCNY,2025-03,1,x\n");
    assert!(
        matches!(&e, TaxError::Csv { column, .. } if column == "currency"),
        "{e}"
    );
    let e = bad("currency,month,rate\n");
    assert!(matches!(&e, TaxError::Csv { line: 1, .. }), "{e}");
}

/// The shipped table keeps the 19 lines of the curated sample plus the consumption-tax goods.
#[test]
fn shipped_table_holds_the_sample() {
    let t = tariff();
    for code in [
        "84713010", "84713090", "84714140", "84715040", "84716090", "84151010", "85171300",
        "85171800", "85183000", "85076000", "85163100", "85235120", "33049900", "87038010",
        "87038000", "87036013", "87037071", "95030089", "03028400", "22030000", "22089090",
        "24029000", "87037031",
    ] {
        let line = t.lookup(code, march()).unwrap_or_else(|| panic!("{code}"));
        assert!(line.source.starts_with("http"), "{code}");
    }
    assert!(
        t.lines()
            .all(|l| l.vat_rate == d("0.13") || l.vat_rate == d("0.09"))
    );
}

/// The breakdown serialises with fen amounts as strings and snake_case enums.
#[test]
fn breakdown_serialises() {
    let mut inp = input(
        "3",
        vec![item(
            1,
            "8415101000",
            "100",
            "001",
            "10000.00",
            "USD",
            "DEU",
        )],
    );
    inp.freight = charge(ChargeKind::Total, "500", Some("USD"));
    let json = serde_json::to_value(run(&inp)).unwrap();
    assert_eq!(json["items"][0]["duty"]["column"], "mfn");
    assert_eq!(json["items"][0]["duty"]["amount"], "5981.89");
    assert_eq!(json["items"][0]["duty"]["rate"]["kind"], "ad_valorem");
    assert_eq!(json["totals"]["total"], "16480.11");
    assert_eq!(json["exchange_rates"][0]["month"], "2025-03");
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const PROP_TABLE: &str = "\
code,valid_from,mfn,general,vat,consumption_tax,consumption_tax_threshold,source
99990001,2024-01-01,10%,50%,13%,,,fixture
99990002,2024-01-01,CNY 2.5/035,CNY 9/035,9%,,,fixture
99990003,2024-01-01,5% + CNY 1/035,30%,13%,15%,,fixture
99990004,2024-01-01,0%,20%,13%,20% + CNY 0.912/035,,fixture
99990005,2024-01-01,1%,150%,13%,15%,CNY 100/035,fixture
99990006,2024-01-01,15%,270%,13%,CNY 0.25/035,,fixture
";

fn arb_item() -> impl Strategy<Value = TaxItem> {
    (
        1u32..=6,
        0i64..100_000_000,
        0i64..10_000_000,
        prop_oneof![Just("CNY"), Just("USD"), Just("JPY")],
        prop_oneof![Just("DEU"), Just("JPN"), Just("")],
    )
        .prop_map(|(line, cents, milli_qty, cur, origin)| TaxItem {
            item_no: 0,
            commodity_code: format!("9999000{line}"),
            quantity: Decimal::new(milli_qty, 3),
            unit: "035".into(),
            total_price: Decimal::new(cents, 2),
            currency: cur.into(),
            origin_country: origin.into(),
        })
}

fn arb_charge() -> impl Strategy<Value = Option<Charge>> {
    prop_oneof![
        Just(None),
        (0i64..5_000).prop_map(|a| Some(Charge {
            kind: ChargeKind::Rate,
            amount: Decimal::new(a, 2),
            currency: None
        })),
        (0i64..10_000_000).prop_map(|a| Some(Charge {
            kind: ChargeKind::Total,
            amount: Decimal::new(a, 2),
            currency: Some("USD".into())
        })),
        (0i64..10_000).prop_map(|a| Some(Charge {
            kind: ChargeKind::Unit,
            amount: Decimal::new(a, 2),
            currency: Some("CNY".into())
        })),
    ]
}

fn arb_input() -> impl Strategy<Value = TaxInput> {
    (
        prop::collection::vec(arb_item(), 1..6),
        1u8..=6,
        arb_charge(),
        arb_charge(),
        prop::bool::ANY,
    )
        .prop_map(|(mut items, terms, freight, insurance, claim)| {
            for (i, it) in items.iter_mut().enumerate() {
                it.item_no = i as u32 + 1;
            }
            TaxInput {
                declaration_date: march(),
                transaction_terms: terms.to_string(),
                // FOB and C&I need freight.
                freight: freight.or(Some(Charge {
                    kind: ChargeKind::Rate,
                    amount: Decimal::ONE,
                    currency: None,
                })),
                insurance,
                other_charges: None,
                items,
                origin: claim.then(|| OriginClaim {
                    agreement: "RCEP".into(),
                    partner: "JPN".into(),
                    valid: true,
                    reference: "x".into(),
                }),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn taxes_are_never_negative_and_totals_add_up(inp in arb_input()) {
        let t = TariffTable::new(parse_tariff_csv(PROP_TABLE).unwrap()).unwrap();
        let b = compute(&inp, &t, &rates(), &TaxRules::default()).unwrap();
        let zero = Decimal::ZERO;
        let (mut duty, mut ct, mut vat) = (zero, zero, zero);
        for it in &b.items {
            prop_assert!(it.customs_value_cny >= zero);
            prop_assert!(it.duty.amount >= zero);
            prop_assert!(it.vat.amount >= zero);
            prop_assert_eq!(it.duty.amount.scale(), 2);
            prop_assert_eq!(it.vat.amount.scale(), 2);
            duty += it.duty.amount;
            vat += it.vat.amount;
            if let Some(c) = &it.consumption {
                prop_assert!(c.amount >= zero);
                ct += c.amount;
            }
        }
        let before = &b.totals_before_waiver;
        prop_assert_eq!(before.duty, duty);
        prop_assert_eq!(before.consumption, ct);
        prop_assert_eq!(before.vat, vat);
        prop_assert_eq!(before.total, duty + ct + vat);
        // After the waiver each total is either unchanged or zero with a waived entry.
        for (kind, after, pre) in [
            (TaxKind::Duty, b.totals.duty, before.duty),
            (TaxKind::Consumption, b.totals.consumption, before.consumption),
            (TaxKind::Vat, b.totals.vat, before.vat),
        ] {
            let waived = b.waived.iter().any(|w| w.tax == kind);
            prop_assert!(after >= zero);
            if waived {
                prop_assert!(after.is_zero() && pre > zero && pre <= Decimal::new(50, 0));
            } else {
                prop_assert_eq!(after, pre);
                prop_assert!(pre.is_zero() || pre > Decimal::new(50, 0));
            }
        }
        prop_assert_eq!(b.totals.total, b.totals.duty + b.totals.consumption + b.totals.vat);
    }

    #[test]
    fn rounding_is_stable(mantissa in any::<i64>(), scale in 0u32..10) {
        let x = Decimal::new(mantissa, scale);
        let r = round_fen(x);
        prop_assert_eq!(round_fen(r), r);
        prop_assert_eq!(r.scale(), 2);
        prop_assert!((r - x).abs() <= Decimal::new(5, 3));
    }
}
