//! Tax computation benchmark (divan): one five-item import declaration per iteration against
//! the shipped tariff sample. `cargo bench -p tongguan-tax`; numbers in BENCHMARKS.md
//! ("Tax computation (issue 4)"). Exchange rates are fixtures, not real customs rates.

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::NaiveDate;
use divan::{Bencher, counter::ItemsCount};
use rust_decimal::Decimal;
use tongguan_domain::declaration::{Charge, ChargeKind};
use tongguan_tax::{
    ExchangeRates, OriginClaim, TariffTable, TaxInput, TaxItem, TaxRules, compute, shipped_tariff,
};

static TARIFF: LazyLock<TariffTable> =
    LazyLock::new(|| shipped_tariff().expect("shipped tariff parses"));

fn main() {
    divan::main();
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn rates() -> ExchangeRates {
    let mut r = ExchangeRates::new();
    r.set("USD", 2025, 3, d("7.1000")).expect("fixture rate");
    r.set("EUR", 2025, 3, d("7.8000")).expect("fixture rate");
    r
}

/// FOB in USD/EUR, freight total, insurance unknown (3 ‰), an RCEP claim (no RCEP rates in
/// the sample, so it is noted and MFN applies); ad valorem, specific, compound and
/// threshold consumption taxes.
fn declaration() -> TaxInput {
    let item =
        |no, code: &str, qty: &str, unit: &str, price: &str, cur: &str, origin: &str| TaxItem {
            item_no: no,
            commodity_code: code.into(),
            quantity: d(qty),
            unit: unit.into(),
            total_price: d(price),
            currency: cur.into(),
            origin_country: origin.into(),
        };
    TaxInput {
        declaration_date: NaiveDate::from_ymd_opt(2025, 3, 18).expect("date"),
        transaction_terms: "3".into(),
        freight: Some(Charge {
            kind: ChargeKind::Total,
            amount: d("1200"),
            currency: Some("USD".into()),
        }),
        insurance: None,
        other_charges: None,
        items: vec![
            item(1, "8415101000", "100", "001", "10000", "USD", "JPN"),
            item(2, "3304990029", "10", "035", "15000", "EUR", "FRA"),
            item(3, "8703703100", "1", "003", "40000", "USD", "DEU"),
            item(4, "2208909099", "1000", "095", "20000", "EUR", "GBR"),
            item(5, "2203000000", "10000", "095", "5000", "USD", "DEU"),
        ],
        origin: Some(OriginClaim {
            agreement: "RCEP".into(),
            partner: "JPN".into(),
            valid: true,
            reference: "RCEP-CO-0001".into(),
        }),
    }
}

/// One five-item declaration: customs value, duty, consumption tax, VAT, waiver, notes.
#[divan::bench(sample_count = 1000, sample_size = 100)]
fn compute_five_items(bencher: Bencher) {
    let tariff = &*TARIFF;
    let rates = rates();
    let rules = TaxRules::default();
    let input = declaration();
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(|| compute(divan::black_box(&input), tariff, &rates, &rules));
}

/// Parsing the shipped tariff CSV and building the table (done once at start-up).
#[divan::bench(sample_count = 100, sample_size = 10)]
fn load_shipped_tariff() -> TariffTable {
    shipped_tariff().expect("shipped tariff parses")
}
