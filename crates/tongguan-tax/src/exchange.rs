//! Customs exchange rates (计征汇率): CNY per unit of a foreign currency, one rate per month.
//!
//! # Rule
//!
//! Prices and charges in a foreign currency are converted to CNY at the customs exchange rate
//! of the day the declaration is completed (完成申报之日); the customs exchange rate is the RMB
//! central parity (人民币汇率中间价) of the date GACC sets (Customs Tariff Law 2024 Art. 60,
//! `LRB:经济法/关税法(2024-04-26).md`). GACC Order No. 272 (征税管理办法, in force 2024-12-01)
//! Art. 13 sets that date: the **third Wednesday of the previous month**, the CFETS central
//! parity (中国外汇交易中心公布的人民币汇率中间价); if that day is not an interbank trading day,
//! the next trading day — so a rate holds for a whole calendar month (secondary source,
//! `RULES.md` §5, marked S2 there: <http://m.sinada.com.cn/wenda/detail/nofollow/xt/10260578>). Before that,
//! Order 124 Art. 16 had the same third-Wednesday rule with PBoC benchmark rates, and for
//! currencies without a central parity the Bank of China spot buy/sell midpoint, 4 decimals (secondary source).
//!
//! # Data
//!
//! These rates are **configuration data**: an administrator loads each month's rates (CSV:
//! `currency,month,cny_per_unit,source`, e.g. `USD,2025-01,7.1876,<where it was read>`; `#`
//! lines are comments). Tongguan ships none: we found no citable table of past monthly
//! customs rates, and invented ones would silently produce wrong taxes. CNY is always 1.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::compute::TaxError;
use crate::tariff::LineIndex;

/// One month's customs rate for a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonthlyRate {
    /// ISO 4217 alphabetic code, e.g. `USD`.
    pub currency: String,
    pub year: i32,
    /// 1–12.
    pub month: u32,
    /// CNY per one unit of the currency (as published; usually 4 decimals).
    #[schema(value_type = String, example = "7.1876")]
    pub cny_per_unit: Decimal,
    /// Where the figure comes from (empty when set by hand without a source).
    pub source: String,
}

impl MonthlyRate {
    /// `YYYY-MM`.
    pub fn month_label(&self) -> String {
        month_label(self.year, self.month)
    }
}

pub(crate) fn month_label(year: i32, month: u32) -> String {
    format!("{year:04}-{month:02}")
}

/// The customs exchange rates by (currency, year, month).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeRates {
    rates: BTreeMap<(String, i32, u32), (Decimal, String)>,
}

impl ExchangeRates {
    /// An empty set (only CNY converts).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or corrects) a month's rate. Refuses a currency that is not three upper-case
    /// letters or is `CNY` (always 1), a month outside 1–12, a year outside 1900–9999 and a
    /// rate that is not positive.
    pub fn set(
        &mut self,
        currency: &str,
        year: i32,
        month: u32,
        cny_per_unit: Decimal,
    ) -> Result<(), TaxError> {
        self.insert(MonthlyRate {
            currency: currency.to_string(),
            year,
            month,
            cny_per_unit,
            source: String::new(),
        })
    }

    /// Like [`ExchangeRates::set`], keeping the entry's source.
    pub fn insert(&mut self, rate: MonthlyRate) -> Result<(), TaxError> {
        check(&rate.currency, rate.year, rate.month, rate.cny_per_unit).map_err(
            |(_, message)| TaxError::InvalidExchangeRate {
                currency: rate.currency.clone(),
                month: month_label(rate.year, rate.month),
                message,
            },
        )?;
        self.rates.insert(
            (rate.currency, rate.year, rate.month),
            (rate.cny_per_unit, rate.source),
        );
        Ok(())
    }

    /// Builds a set from entries (e.g. [`ExchangeRates::parse_csv`]'s output).
    pub fn from_entries(entries: Vec<MonthlyRate>) -> Result<Self, TaxError> {
        let mut rates = Self::new();
        for e in entries {
            rates.insert(e)?;
        }
        Ok(rates)
    }

    /// The rate for `currency` in force on `date` (the rate of `date`'s month); `CNY` is 1.
    pub fn rate_on(&self, currency: &str, date: NaiveDate) -> Option<Decimal> {
        if currency == "CNY" {
            return Some(Decimal::ONE);
        }
        self.rates
            .get(&(currency.to_string(), date.year(), date.month()))
            .map(|(r, _)| *r)
    }

    /// Parses `currency,month,cny_per_unit,source` (header required, `#` comments allowed).
    /// Every error names the line and the column; a currency and month given twice is an error.
    pub fn parse_csv(text: &str) -> Result<Vec<MonthlyRate>, TaxError> {
        let err = |line: u64, column: &str, message: String| TaxError::Csv {
            what: "exchange rates",
            line,
            column: column.to_string(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let lines = LineIndex::new(text);
        let line_of = |e: &csv::Error| lines.line(e.position());
        let headers = reader
            .headers()
            .map_err(|e| err(line_of(&e), "", e.to_string()))?;
        let expected = ["currency", "month", "cny_per_unit", "source"];
        if headers.iter().ne(expected) {
            return Err(err(
                lines.line(headers.position()),
                "",
                format!(
                    "header must be `{}`, found `{}`",
                    expected.join(","),
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        }
        let mut out: Vec<MonthlyRate> = Vec::new();
        let mut seen: BTreeMap<(String, i32, u32), u64> = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| err(line_of(&e), "", e.to_string()))?;
            let line = lines.line(record.position());
            let cell = |i: usize| record.get(i).unwrap_or_default();
            let currency = cell(0).to_string();
            let month_cell = cell(1);
            let (year, month) = parse_month(month_cell).ok_or_else(|| {
                err(
                    line,
                    "month",
                    format!("`{month_cell}` is not a month YYYY-MM"),
                )
            })?;
            let rate_cell = cell(2);
            let cny_per_unit: Decimal = rate_cell.parse().map_err(|_| {
                err(
                    line,
                    "cny_per_unit",
                    format!("`{rate_cell}` is not a decimal number"),
                )
            })?;
            check(&currency, year, month, cny_per_unit)
                .map_err(|(column, m)| err(line, column, m))?;
            if let Some(first) = seen.insert((currency.clone(), year, month), line) {
                return Err(err(
                    line,
                    "month",
                    format!(
                        "{currency} {} given twice (first on line {first})",
                        month_label(year, month)
                    ),
                ));
            }
            out.push(MonthlyRate {
                currency,
                year,
                month,
                cny_per_unit,
                source: cell(3).to_string(),
            });
        }
        Ok(out)
    }

    /// Every rate held, by currency then month.
    pub fn entries(&self) -> Vec<MonthlyRate> {
        self.rates
            .iter()
            .map(|((currency, year, month), (rate, source))| MonthlyRate {
                currency: currency.clone(),
                year: *year,
                month: *month,
                cny_per_unit: *rate,
                source: source.clone(),
            })
            .collect()
    }
}

fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    Some((y.parse().ok()?, m.parse().ok()?))
}

/// Checks an entry; the error names the CSV column concerned.
fn check(
    currency: &str,
    year: i32,
    month: u32,
    rate: Decimal,
) -> Result<(), (&'static str, String)> {
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err((
            "currency",
            format!("`{currency}` is not an ISO 4217 alphabetic code"),
        ));
    }
    if currency == "CNY" {
        return Err(("currency", "CNY is always 1 and cannot be set".into()));
    }
    if !(1..=12).contains(&month) || !(1900..=9999).contains(&year) {
        return Err(("month", format!("{year}-{month} is not a valid month")));
    }
    if rate <= Decimal::ZERO {
        return Err(("cny_per_unit", format!("rate {rate} must be positive")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_rate_applies_all_month() {
        let mut r = ExchangeRates::new();
        r.set("USD", 2025, 3, Decimal::new(71234, 4)).unwrap();
        let d = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
        assert_eq!(r.rate_on("USD", d(3, 1)), Some(Decimal::new(71234, 4)));
        assert_eq!(r.rate_on("USD", d(3, 31)), Some(Decimal::new(71234, 4)));
        assert_eq!(r.rate_on("USD", d(4, 1)), None);
        assert_eq!(r.rate_on("CNY", d(4, 1)), Some(Decimal::ONE));
    }

    #[test]
    fn set_refuses_bad_values() {
        let mut r = ExchangeRates::new();
        assert!(r.set("usd", 2025, 1, Decimal::ONE).is_err());
        assert!(r.set("CNY", 2025, 1, Decimal::ONE).is_err());
        assert!(r.set("USD", 2025, 13, Decimal::ONE).is_err());
        assert!(r.set("USD", 2025, 1, Decimal::ZERO).is_err());
    }
}
