//! The tax computation (税费计算, M1) per item and per declaration: customs value, import
//! duty, consumption tax and import VAT, with the CNY 50 waiver.
//!
//! # Steps and their sources
//!
//! 1. **Customs value (计税价格/完税价格)** = the transaction price plus transport and related
//!    costs and insurance up to the place of import, i.e. CIF (Customs Tariff Law 2024 Art. 24;
//!    old Import and Export Duties Regulations Art. 18). Freight and insurance are added
//!    according to the transaction terms (成交方式): FOB both; C&F (CFR) insurance; C&I freight;
//!    CIF none. Insurance that is unknown or not incurred is 3 ‰ of (goods price + freight)
//!    (GACC Order No. 213, 审定进出口货物完税价格办法, Art. 36, as quoted at
//!    <https://yunmaotong.net/data/details/2034.html> (secondary source); [`TaxRules::insurance_rate_when_unknown`]).
//!    Freight that cannot be determined is set by customs from normal transport costs (same
//!    order), which this module cannot do: FOB and C&I declarations without freight are refused
//!    ([`TaxError::FreightRequired`]).
//! 2. **Currency**: every amount converts at the customs exchange rate of the declaration date
//!    (Tariff Law Art. 60; see [`crate::exchange`]). The customs value per item is rounded to
//!    fen, half up ([`round_fen`]; rounding to 分: `RULES.md` §5, marked S2 there).
//! 3. **Duty (关税)** by the column that applies (see [`crate::tariff`] and Tariff Law Arts. 12–13):
//!    ad valorem value × rate, specific quantity × amount, compound both (Art. 23).
//! 4. **Consumption tax (消费税)** on taxable goods, on the composite price (组成计税价格):
//!    ad valorem (value + duty) ÷ (1 − rate) × rate; specific quantity × amount; compound
//!    (value + duty + quantity × amount) ÷ (1 − rate) × rate + quantity × amount
//!    (消费税暂行条例 2008 Arts. 5 and 9, `LRB:行政法规/消费税暂行条例(2008-11-10).md`).
//! 5. **Import VAT (进口增值税)** = (value + duty + consumption tax) × VAT rate (增值税法 2024,
//!    in force 2026-01-01, Art. 14 ¶3, `LRB:经济法/增值税法(2024-12-25).md`; before 2026:
//!    增值税暂行条例 Art. 14).
//! 6. Each tax per item is rounded to fen (half up) and summed per declaration. A tax whose
//!    declaration total is CNY 50 or less is waived ([`TaxRules::waiver_cny`]).
//!
//! Tax amounts are rounded to fen as customs practice; the exact rounding point of each tax is
//! not stated in a source we found (`RULES.md` §5, marked M: from memory).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use tongguan_domain::declaration::{Charge, ChargeKind};

use crate::exchange::{ExchangeRates, month_label};
use crate::tariff::{Rate, TariffLine, TariffTable, percent};

/// Configurable rule figures for the computation (keep them as configuration, `MEASURES.md`).
/// Missing fields take their defaults when deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxRules {
    /// A tax of CNY 50 **or less** per declaration (一票货物) is waived. Old Import and Export
    /// Duties Regulations Art. 45(1): "关税税额在人民币50元以下的一票货物" (以下 includes 50),
    /// `LRB:行政法规/进出口关税条例(2017-03-01).md`; Customs Tariff Law 2024 Art. 32(1) leaves
    /// the amount to the State Council (current figure not found, default 50). The same
    /// threshold is applied to consumption tax and import VAT (`RULES.md` §5, marked M: from memory).
    pub waiver_cny: Decimal,
    /// Insurance when it is unknown or not incurred, as a fraction of (goods price + freight):
    /// 3 ‰ (GACC Order No. 213 Art. 36 [secondary source, see module docs]).
    pub insurance_rate_when_unknown: Decimal,
    /// Origins (ISO alpha-3) whose goods get the **general** rate because they are neither
    /// WTO members applying MFN treatment nor parties to an MFN treaty with China (Tariff Law
    /// Art. 12 ¶4). Empty by default: we found no citable list, so every declared origin gets
    /// MFN treatment unless an administrator lists it here. An empty origin ("unknown origin",
    /// 原产地不明) always gets the general rate (Art. 12 ¶4).
    pub general_rate_origins: BTreeSet<String>,
}

impl Default for TaxRules {
    fn default() -> Self {
        Self {
            waiver_cny: Decimal::new(50, 0),
            insurance_rate_when_unknown: Decimal::new(3, 3),
            general_rate_origins: BTreeSet::new(),
        }
    }
}

/// One declaration item (表体) as the computation needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxItem {
    /// 项号.
    pub item_no: u32,
    /// 商品编号: 10 digits (an 8-digit code looks up the 8-digit line).
    pub commodity_code: String,
    /// Quantity in the statutory first unit (法定第一数量), used by specific rates and thresholds.
    #[schema(value_type = String)]
    pub quantity: Decimal,
    /// Statutory first unit code (3 digits, e.g. `035` kilogram).
    pub unit: String,
    /// 总价 in `currency`, at the declared transaction terms.
    #[schema(value_type = String)]
    pub total_price: Decimal,
    /// ISO 4217.
    pub currency: String,
    /// 原产国 (ISO alpha-3); empty = unknown origin (general rate).
    pub origin_country: String,
}

/// A claim to a preferential (agreement) rate, checked by the origin module (M11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OriginClaim {
    /// e.g. `RCEP`.
    pub agreement: String,
    /// Exporting party, ISO alpha-3; applies to items of that origin.
    pub partner: String,
    /// Verified by the origin module; the computation trusts this flag.
    pub valid: bool,
    /// Certificate or declaration of origin number.
    pub reference: String,
}

/// What the computation needs from a declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxInput {
    /// The date whose tariff and exchange rates apply: the day the declaration is completed
    /// (Tariff Law Arts. 20 and 60); for a declaration filed before arrival, the day the means
    /// of transport declared entry (Art. 20 ¶2). The caller chooses it.
    pub declaration_date: NaiveDate,
    /// 成交方式: `1` CIF, `2` C&F, `3` FOB, `4` C&I, `5` market price, `6` 垫仓.
    pub transaction_terms: String,
    pub freight: Option<Charge>,
    pub insurance: Option<Charge>,
    /// 杂费: added for every transaction term; may be negative (a deduction).
    pub other_charges: Option<Charge>,
    pub items: Vec<TaxItem>,
    pub origin: Option<OriginClaim>,
}

/// Which duty column applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DutyColumn {
    /// 最惠国税率.
    Mfn,
    /// 暂定税率.
    Provisional,
    /// 协定税率.
    Agreement,
    /// 普通税率.
    General,
}

impl DutyColumn {
    fn name(self) -> &'static str {
        match self {
            DutyColumn::Mfn => "MFN",
            DutyColumn::Provisional => "provisional",
            DutyColumn::Agreement => "agreement",
            DutyColumn::General => "general",
        }
    }
}

/// The duty of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DutyLine {
    pub column: DutyColumn,
    /// For the agreement column: `AGREEMENT:PARTNER`, e.g. `RCEP:JPN`.
    pub agreement: Option<String>,
    pub rate: Rate,
    /// The rate as written in the tariff, e.g. `10%`.
    pub rate_text: String,
    /// e.g. `90,100.00 × 10% = 9,010.00`.
    pub formula: String,
    /// CNY, rounded to fen.
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// Consumption tax or VAT of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaxLine {
    pub rate: Rate,
    pub rate_text: String,
    pub formula: String,
    /// CNY, rounded to fen.
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// The taxes of one item (before the per-declaration waiver).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemTax {
    pub item_no: u32,
    /// The commodity code as declared.
    pub code: String,
    /// The tariff line used (10 or 8 digits).
    pub tariff_line: String,
    pub origin_country: String,
    /// Goods price in CNY (rounded to fen for display).
    #[schema(value_type = String)]
    pub goods_value_cny: Decimal,
    /// Freight added, CNY (display rounding).
    #[schema(value_type = String)]
    pub freight_cny: Decimal,
    /// Insurance added, CNY (display rounding).
    #[schema(value_type = String)]
    pub insurance_cny: Decimal,
    /// Other charges added (negative = deducted), CNY (display rounding).
    #[schema(value_type = String)]
    pub other_charges_cny: Decimal,
    /// 完税价格: the unrounded sum of the parts, rounded once to fen.
    #[schema(value_type = String)]
    pub customs_value_cny: Decimal,
    pub duty: DutyLine,
    pub consumption: Option<TaxLine>,
    pub vat: TaxLine,
}

/// Tax totals of a declaration, CNY.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaxTotals {
    #[schema(value_type = String)]
    pub duty: Decimal,
    #[schema(value_type = String)]
    pub consumption: Decimal,
    #[schema(value_type = String)]
    pub vat: Decimal,
    #[schema(value_type = String)]
    pub total: Decimal,
}

/// A kind of tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxKind {
    Duty,
    Consumption,
    Vat,
}

/// A tax waived because its declaration total is at or below the waiver amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WaivedTax {
    pub tax: TaxKind,
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub threshold: Decimal,
    pub reason: String,
}

/// An exchange rate used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RateUsed {
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    #[schema(value_type = String)]
    pub cny_per_unit: Decimal,
}

/// The result: per item and per declaration, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaxBreakdown {
    pub declaration_date: NaiveDate,
    pub transaction_terms: String,
    pub items: Vec<ItemTax>,
    /// Sum of the customs values of the items, CNY.
    #[schema(value_type = String)]
    pub customs_value_cny: Decimal,
    /// Sums of the item taxes.
    pub totals_before_waiver: TaxTotals,
    /// What is due: the sums with waived taxes set to zero.
    pub totals: TaxTotals,
    pub waived: Vec<WaivedTax>,
    pub exchange_rates: Vec<RateUsed>,
    /// Why a column, an addition or a rate was (not) applied.
    pub notes: Vec<String>,
}

/// Why a computation failed; each names the field (as a declaration path) and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    /// A tariff or exchange-rate CSV row is malformed.
    #[error("{what} CSV line {line}, column `{column}`: {message}")]
    Csv {
        /// `tariff` or `exchange rates`.
        what: &'static str,
        /// 1-based physical line.
        line: u64,
        column: String,
        message: String,
    },
    /// A tariff line is malformed or overlaps another version.
    #[error("tariff line {code}: {message}")]
    InvalidTariffLine { code: String, message: String },
    /// An exchange rate is malformed.
    #[error("exchange rate {currency} {month}: {message}")]
    InvalidExchangeRate {
        currency: String,
        month: String,
        message: String,
    },
    #[error("the declaration has no items")]
    NoItems,
    #[error("transaction terms `{terms}` are not one of 1 (CIF), 2 (C&F), 3 (FOB), 4 (C&I), 5, 6")]
    UnknownTransactionTerms { terms: String },
    /// FOB and C&I prices exclude freight; customs cannot be asked here to estimate it.
    #[error("freight is required for transaction terms {terms}: the price excludes freight")]
    FreightRequired { terms: String },
    #[error("{path}: {message}")]
    InvalidCharge { path: String, message: String },
    #[error("{path}: {message}")]
    InvalidItem { path: String, message: String },
    #[error("item {item_no}: no tariff line for {code} in force on {date}")]
    NoTariffLine {
        item_no: u32,
        index: usize,
        code: String,
        date: NaiveDate,
    },
    #[error("item {item_no}: tariff line {code} has no {column} rate")]
    NoRate {
        item_no: u32,
        index: usize,
        code: String,
        column: &'static str,
    },
    #[error(
        "item {item_no}: tariff line {code} is per unit {expected}, but the quantity is in unit {found}"
    )]
    UnitMismatch {
        item_no: u32,
        index: usize,
        code: String,
        expected: String,
        found: String,
    },
    #[error("no customs exchange rate for {currency} in {month}")]
    NoExchangeRate {
        currency: String,
        month: String,
        /// Where the currency was given, e.g. `items/0/currency`.
        path: String,
    },
}

impl TaxError {
    /// Stable machine-readable rule name, e.g. `tax.no_tariff_line`.
    pub fn rule(&self) -> &'static str {
        match self {
            TaxError::Csv { .. } => "tax.csv",
            TaxError::InvalidTariffLine { .. } => "tax.tariff_line",
            TaxError::InvalidExchangeRate { .. } => "tax.exchange_rate",
            TaxError::NoItems => "tax.no_items",
            TaxError::UnknownTransactionTerms { .. } => "tax.transaction_terms",
            TaxError::FreightRequired { .. } => "tax.freight_required",
            TaxError::InvalidCharge { .. } => "tax.charge",
            TaxError::InvalidItem { .. } => "tax.item",
            TaxError::NoTariffLine { .. } => "tax.no_tariff_line",
            TaxError::NoRate { .. } => "tax.no_rate",
            TaxError::UnitMismatch { .. } => "tax.unit_mismatch",
            TaxError::NoExchangeRate { .. } => "tax.no_exchange_rate",
        }
    }

    /// The field concerned, as a declaration path (`head/freight`, `items/0/commodity_code`;
    /// the index is the item's position) or, for data files, `lines/<line>/<column>`.
    pub fn path(&self) -> String {
        match self {
            TaxError::Csv { line, column, .. } => format!("lines/{line}/{column}"),
            TaxError::InvalidTariffLine { code, .. } => format!("tariff/{code}"),
            TaxError::InvalidExchangeRate {
                currency, month, ..
            } => format!("exchange_rates/{currency}/{month}"),
            TaxError::NoItems => "items".into(),
            TaxError::UnknownTransactionTerms { .. } => "head/transaction_terms".into(),
            TaxError::FreightRequired { .. } => "head/freight".into(),
            TaxError::InvalidCharge { path, .. }
            | TaxError::InvalidItem { path, .. }
            | TaxError::NoExchangeRate { path, .. } => path.clone(),
            TaxError::NoTariffLine { index, .. } | TaxError::NoRate { index, .. } => {
                format!("items/{index}/commodity_code")
            }
            TaxError::UnitMismatch { index, .. } => format!("items/{index}/unit"),
        }
    }
}

/// Rounds to fen (0.01), half up (away from zero), with exactly two decimals.
pub fn round_fen(amount: Decimal) -> Decimal {
    let mut r = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// 成交方式 and what must be added to reach CIF.
///
/// Codes 5 (market price, 市场价) and 6 (垫仓) are **treated like CIF**: nothing is added. The
/// code table names them but we found no source on how they are valued; a declarant using them
/// states a price that customs accepts as the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terms {
    Cif,
    Cfr,
    Fob,
    Ci,
    Market,
    Dunnage,
}

impl Terms {
    fn parse(code: &str) -> Result<Self, TaxError> {
        Ok(match code.trim() {
            "1" => Terms::Cif,
            "2" => Terms::Cfr,
            "3" => Terms::Fob,
            "4" => Terms::Ci,
            "5" => Terms::Market,
            "6" => Terms::Dunnage,
            other => {
                return Err(TaxError::UnknownTransactionTerms {
                    terms: other.to_string(),
                });
            }
        })
    }

    fn label(self) -> &'static str {
        match self {
            Terms::Cif => "1 (CIF)",
            Terms::Cfr => "2 (C&F)",
            Terms::Fob => "3 (FOB)",
            Terms::Ci => "4 (C&I)",
            Terms::Market => "5 (market price)",
            Terms::Dunnage => "6 (垫仓)",
        }
    }

    fn adds_freight(self) -> bool {
        matches!(self, Terms::Fob | Terms::Ci)
    }

    fn adds_insurance(self) -> bool {
        matches!(self, Terms::Fob | Terms::Cfr)
    }
}

impl fmt::Display for Terms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Converts currencies on the declaration date and records the rates used.
struct Converter<'a> {
    rates: &'a ExchangeRates,
    date: NaiveDate,
    used: BTreeMap<String, Decimal>,
}

impl Converter<'_> {
    fn rate(&mut self, currency: &str, path: impl FnOnce() -> String) -> Result<Decimal, TaxError> {
        let r =
            self.rates
                .rate_on(currency, self.date)
                .ok_or_else(|| TaxError::NoExchangeRate {
                    currency: currency.to_string(),
                    month: month_label(self.date.year(), self.date.month()),
                    path: path(),
                })?;
        if currency != "CNY" {
            self.used.insert(currency.to_string(), r);
        }
        Ok(r)
    }
}

/// Spreads a freight, insurance or other charge over the items, unrounded, in CNY.
///
/// `rate`: percent of `base` (goods value; for insurance goods + freight) per item; `unit`:
/// amount × the item's quantity (so it follows the quantities, not the values); `total`: spread
/// by goods value (equally when every item is free of charge).
fn spread_charge(
    charge: &Charge,
    path: &str,
    items: &[TaxItem],
    base: &[Decimal],
    goods: &[Decimal],
    allow_negative: bool,
    conv: &mut Converter<'_>,
) -> Result<Vec<Decimal>, TaxError> {
    if !allow_negative && charge.amount < Decimal::ZERO {
        return Err(TaxError::InvalidCharge {
            path: format!("{path}/amount"),
            message: "must not be negative".into(),
        });
    }
    let fx = |conv: &mut Converter<'_>| -> Result<Decimal, TaxError> {
        let currency = charge
            .currency
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| TaxError::InvalidCharge {
                path: format!("{path}/currency"),
                message: "a total or per-unit charge needs a currency".into(),
            })?;
        conv.rate(currency, || format!("{path}/currency"))
    };
    Ok(match charge.kind {
        ChargeKind::Rate => base
            .iter()
            .map(|b| *b * charge.amount / Decimal::ONE_HUNDRED)
            .collect(),
        ChargeKind::Unit => {
            let r = fx(conv)?;
            items
                .iter()
                .map(|it| it.quantity * charge.amount * r)
                .collect()
        }
        ChargeKind::Total => {
            let total = charge.amount * fx(conv)?;
            let goods_total: Decimal = goods.iter().sum();
            if goods_total.is_zero() {
                let n = Decimal::from(goods.len());
                goods.iter().map(|_| total / n).collect()
            } else {
                goods.iter().map(|g| total * *g / goods_total).collect()
            }
        }
    })
}

/// Formats CNY with thousands separators and two decimals: `90100` → `90,100.00`.
pub(crate) fn money(amount: Decimal) -> String {
    let s = round_fen(amount).abs().to_string();
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let sign = if amount < Decimal::ZERO && !round_fen(amount).is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}{}.{frac}", group(int))
}

/// Formats a quantity with thousands separators and no trailing zeros.
fn quantity(q: Decimal) -> String {
    let s = q.normalize().abs().to_string();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let sign = if q < Decimal::ZERO { "-" } else { "" };
    format!("{sign}{}{frac}", group(&int))
}

fn group(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn specific_text(q: Decimal, per_unit: Decimal, unit: &str) -> String {
    format!("{} × CNY {}/{unit}", quantity(q), per_unit.normalize())
}

/// The duty formula, e.g. `90,100.00 × 10% = 9,010.00`.
fn duty_formula(rate: &Rate, value: Decimal, q: Decimal, amount: Decimal) -> String {
    let lhs = match rate {
        Rate::AdValorem { rate } => format!("{} × {}", money(value), percent(*rate)),
        Rate::Specific { per_unit, unit } => specific_text(q, *per_unit, unit),
        Rate::Compound {
            rate,
            per_unit,
            unit,
        } => format!(
            "{} × {} + {}",
            money(value),
            percent(*rate),
            specific_text(q, *per_unit, unit)
        ),
    };
    format!("{lhs} = {}", money(amount))
}

/// Checks that a rate's specific part is per the item's unit.
fn check_unit(rate: &Rate, it: &TaxItem, index: usize, code: &str) -> Result<(), TaxError> {
    match rate.specific_part() {
        Some((_, unit)) if unit != it.unit => Err(TaxError::UnitMismatch {
            item_no: it.item_no,
            index,
            code: code.to_string(),
            expected: unit.to_string(),
            found: it.unit.clone(),
        }),
        _ => Ok(()),
    }
}

struct Choice<'a> {
    column: DutyColumn,
    agreement: Option<String>,
    rate: &'a Rate,
}

/// Picks the duty column (Tariff Law Arts. 12–13) and notes why.
fn choose_column<'a>(
    it: &TaxItem,
    index: usize,
    line: &'a TariffLine,
    value: Decimal,
    claim: Option<&OriginClaim>,
    rules: &TaxRules,
    notes: &mut Vec<String>,
) -> Result<Choice<'a>, TaxError> {
    let no_rate = |column| TaxError::NoRate {
        item_no: it.item_no,
        index,
        code: line.code.clone(),
        column,
    };
    let origin = it.origin_country.trim();
    let n = it.item_no;
    let base = if origin.is_empty() {
        notes.push(format!(
            "item {n}: origin unknown: general rate (Tariff Law Art. 12 ¶4)"
        ));
        Choice {
            column: DutyColumn::General,
            agreement: None,
            rate: line.general.as_ref().ok_or_else(|| no_rate("general"))?,
        }
    } else if rules.general_rate_origins.contains(origin) {
        notes.push(format!(
            "item {n}: origin {origin} has no MFN treatment: general rate, no provisional rate (Tariff Law Arts. 12 ¶4, 13 ¶4)"
        ));
        Choice {
            column: DutyColumn::General,
            agreement: None,
            rate: line.general.as_ref().ok_or_else(|| no_rate("general"))?,
        }
    } else if let Some(p) = &line.provisional {
        notes.push(format!(
            "item {n}: provisional rate {p} applies instead of MFN (Tariff Law Art. 13 ¶1)"
        ));
        Choice {
            column: DutyColumn::Provisional,
            agreement: None,
            rate: p,
        }
    } else {
        Choice {
            column: DutyColumn::Mfn,
            agreement: None,
            rate: line.mfn.as_ref().ok_or_else(|| no_rate("MFN"))?,
        }
    };
    check_unit(base.rate, it, index, &line.code)?;

    let Some(claim) = claim else {
        return Ok(base);
    };
    let agr = &claim.agreement;
    if claim.partner != origin {
        notes.push(format!(
            "item {n}: {agr} claim {} not applied: origin {} is not the claim's party {}",
            claim.reference,
            if origin.is_empty() { "unknown" } else { origin },
            claim.partner
        ));
        return Ok(base);
    }
    if !claim.valid {
        notes.push(format!(
            "item {n}: {agr} rate refused: no valid certificate of origin (claim {}); {} rate applies",
            claim.reference,
            base.column.name()
        ));
        return Ok(base);
    }
    let Some(ar) = line.agreement_rate(agr, &claim.partner) else {
        notes.push(format!(
            "item {n}: tariff line {} has no {agr} rate for {}; {} rate applies",
            line.code,
            claim.partner,
            base.column.name()
        ));
        return Ok(base);
    };
    check_unit(ar, it, index, &line.code)?;
    let (a, b) = (
        ar.amount(value, it.quantity),
        base.rate.amount(value, it.quantity),
    );
    if a <= b {
        notes.push(format!(
            "item {n}: {agr} rate {ar} for {} (claim {}, valid) (Tariff Law Arts. 12 ¶2, 13 ¶2)",
            claim.partner, claim.reference
        ));
        Ok(Choice {
            column: DutyColumn::Agreement,
            agreement: Some(format!("{agr}:{}", claim.partner)),
            rate: ar,
        })
    } else {
        notes.push(format!(
            "item {n}: {agr} rate {ar} is higher than the {} rate {}: the lower applies (Tariff Law Art. 13 ¶2)",
            base.column.name(),
            base.rate
        ));
        Ok(base)
    }
}

/// The consumption tax rate that applies to the item, testing a value threshold if any.
fn consumption_rate<'a>(
    it: &TaxItem,
    index: usize,
    line: &'a TariffLine,
    value: Decimal,
    notes: &mut Vec<String>,
) -> Result<Option<&'a Rate>, TaxError> {
    let Some(rate) = &line.consumption_tax else {
        return Ok(None);
    };
    let Some(Rate::Specific {
        per_unit: threshold,
        unit,
    }) = &line.consumption_tax_threshold
    else {
        return Ok(Some(rate));
    };
    if *unit != it.unit {
        return Err(TaxError::UnitMismatch {
            item_no: it.item_no,
            index,
            code: line.code.clone(),
            expected: unit.clone(),
            found: it.unit.clone(),
        });
    }
    if it.quantity <= Decimal::ZERO {
        return Err(TaxError::InvalidItem {
            path: format!("items/{index}/quantity"),
            message: format!(
                "a positive quantity is needed to test the consumption tax threshold of line {}",
                line.code
            ),
        });
    }
    let per_unit = value / it.quantity;
    let shown = per_unit
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    let threshold_text = format!("CNY {}/{unit}", threshold.normalize());
    if per_unit >= *threshold {
        notes.push(format!(
            "item {}: customs value CNY {shown} per unit {unit} is at least the consumption tax threshold {threshold_text}: {rate}",
            it.item_no,
        ));
        Ok(Some(rate))
    } else {
        let below = line.consumption_tax_below_threshold.as_ref();
        notes.push(format!(
            "item {}: customs value CNY {shown} per unit {unit} is below the consumption tax threshold {threshold_text}: {}",
            it.item_no,
            below.map_or("no consumption tax".to_string(), |r| r.to_string())
        ));
        Ok(below)
    }
}

/// Consumption tax on the composite price (消费税暂行条例 Arts. 5, 9).
fn consumption_tax(rate: &Rate, value: Decimal, duty: Decimal, q: Decimal) -> TaxLine {
    let a = rate.ad_valorem_part();
    let spec = rate.specific_part();
    let spec_amount = spec.map(|(p, _)| p * q).unwrap_or_default();
    let composite = (value + duty + spec_amount) / (Decimal::ONE - a);
    let amount = round_fen(composite * a + spec_amount);
    let formula = match spec {
        None => format!(
            "({} + {}) ÷ (1 − {p}) × {p} = {}",
            money(value),
            money(duty),
            money(amount),
            p = percent(a)
        ),
        Some((per_unit, unit)) if a.is_zero() => {
            format!("{} = {}", specific_text(q, per_unit, unit), money(amount))
        }
        Some((per_unit, unit)) => {
            let s = specific_text(q, per_unit, unit);
            format!(
                "({} + {} + {s}) ÷ (1 − {p}) × {p} + {s} = {}",
                money(value),
                money(duty),
                money(amount),
                p = percent(a)
            )
        }
    };
    TaxLine {
        rate_text: rate.to_string(),
        rate: rate.clone(),
        formula,
        amount,
    }
}

/// Computes the taxes of a declaration. See the module documentation for the rules.
pub fn compute(
    input: &TaxInput,
    tariff: &TariffTable,
    rates: &ExchangeRates,
    rules: &TaxRules,
) -> Result<TaxBreakdown, TaxError> {
    if input.items.is_empty() {
        return Err(TaxError::NoItems);
    }
    let terms = Terms::parse(&input.transaction_terms)?;
    let date = input.declaration_date;
    let items = &input.items;
    let mut notes = Vec::new();
    let mut conv = Converter {
        rates,
        date,
        used: BTreeMap::new(),
    };

    // Goods values in CNY (unrounded).
    let mut goods = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        if it.total_price < Decimal::ZERO {
            return Err(TaxError::InvalidItem {
                path: format!("items/{i}/total_price"),
                message: "must not be negative".into(),
            });
        }
        if it.quantity < Decimal::ZERO {
            return Err(TaxError::InvalidItem {
                path: format!("items/{i}/quantity"),
                message: "must not be negative".into(),
            });
        }
        let r = conv.rate(it.currency.trim(), || format!("items/{i}/currency"))?;
        goods.push(it.total_price * r);
    }
    let zeros = vec![Decimal::ZERO; items.len()];

    if matches!(terms, Terms::Market | Terms::Dunnage) {
        notes.push(format!(
            "transaction terms {terms}: treated like CIF, nothing added"
        ));
    }
    let freight = if terms.adds_freight() {
        let charge = input
            .freight
            .as_ref()
            .ok_or_else(|| TaxError::FreightRequired {
                terms: terms.label().to_string(),
            })?;
        spread_charge(
            charge,
            "head/freight",
            items,
            &goods,
            &goods,
            false,
            &mut conv,
        )?
    } else {
        if input.freight.is_some() {
            notes.push(format!(
                "freight declared but not added: the price under terms {terms} already includes it"
            ));
        }
        zeros.clone()
    };
    let goods_and_freight: Vec<Decimal> = goods.iter().zip(&freight).map(|(g, f)| g + f).collect();
    let insurance = if terms.adds_insurance() {
        match &input.insurance {
            Some(charge) => spread_charge(
                charge,
                "head/insurance",
                items,
                &goods_and_freight,
                &goods,
                false,
                &mut conv,
            )?,
            None => {
                notes.push(format!(
                    "insurance not declared: {} of goods price plus freight (GACC Order 213 Art. 36)",
                    percent(rules.insurance_rate_when_unknown)
                ));
                goods_and_freight
                    .iter()
                    .map(|b| *b * rules.insurance_rate_when_unknown)
                    .collect()
            }
        }
    } else {
        if input.insurance.is_some() {
            notes.push(format!(
                "insurance declared but not added: the price under terms {terms} already includes it"
            ));
        }
        zeros.clone()
    };
    let other = match &input.other_charges {
        Some(charge) => spread_charge(
            charge,
            "head/other_charges",
            items,
            &goods,
            &goods,
            true,
            &mut conv,
        )?,
        None => zeros,
    };

    let mut out_items = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let value = round_fen(goods[i] + freight[i] + insurance[i] + other[i]);
        if value < Decimal::ZERO {
            return Err(TaxError::InvalidCharge {
                path: "head/other_charges".into(),
                message: format!(
                    "deductions make the customs value of item {} negative",
                    it.item_no
                ),
            });
        }
        let line = tariff
            .lookup(it.commodity_code.trim(), date)
            .ok_or_else(|| TaxError::NoTariffLine {
                item_no: it.item_no,
                index: i,
                code: it.commodity_code.clone(),
                date,
            })?;
        let q = it.quantity;
        let choice = choose_column(it, i, line, value, input.origin.as_ref(), rules, &mut notes)?;
        let duty_amount = round_fen(choice.rate.amount(value, q));
        let duty = DutyLine {
            column: choice.column,
            agreement: choice.agreement,
            rate: choice.rate.clone(),
            rate_text: choice.rate.to_string(),
            formula: duty_formula(choice.rate, value, q, duty_amount),
            amount: duty_amount,
        };

        let consumption = match consumption_rate(it, i, line, value, &mut notes)? {
            Some(rate) => {
                check_unit(rate, it, i, &line.code)?;
                if rate.ad_valorem_part() >= Decimal::ONE {
                    return Err(TaxError::InvalidTariffLine {
                        code: line.code.clone(),
                        message: "consumption tax ad valorem part must be below 100%".into(),
                    });
                }
                Some(consumption_tax(rate, value, duty_amount, q))
            }
            None => None,
        };
        let ct_amount = consumption.as_ref().map_or(Decimal::ZERO, |c| c.amount);
        let vat_amount = round_fen((value + duty_amount + ct_amount) * line.vat_rate);
        let vat_formula = if consumption.is_some() {
            format!(
                "({} + {} + {}) × {} = {}",
                money(value),
                money(duty_amount),
                money(ct_amount),
                percent(line.vat_rate),
                money(vat_amount)
            )
        } else {
            format!(
                "({} + {}) × {} = {}",
                money(value),
                money(duty_amount),
                percent(line.vat_rate),
                money(vat_amount)
            )
        };
        let vat_rate = Rate::AdValorem {
            rate: line.vat_rate,
        };
        out_items.push(ItemTax {
            item_no: it.item_no,
            code: it.commodity_code.clone(),
            tariff_line: line.code.clone(),
            origin_country: it.origin_country.clone(),
            goods_value_cny: round_fen(goods[i]),
            freight_cny: round_fen(freight[i]),
            insurance_cny: round_fen(insurance[i]),
            other_charges_cny: round_fen(other[i]),
            customs_value_cny: value,
            duty,
            consumption,
            vat: TaxLine {
                rate_text: vat_rate.to_string(),
                rate: vat_rate,
                formula: vat_formula,
                amount: vat_amount,
            },
        });
    }

    let sum = |f: &dyn Fn(&ItemTax) -> Decimal| round_fen(out_items.iter().map(f).sum());
    let before = {
        let duty = sum(&|i| i.duty.amount);
        let consumption = sum(&|i| i.consumption.as_ref().map_or(Decimal::ZERO, |c| c.amount));
        let vat = sum(&|i| i.vat.amount);
        TaxTotals {
            duty,
            consumption,
            vat,
            total: round_fen(duty + consumption + vat),
        }
    };
    let mut totals = before.clone();
    let mut waived = Vec::new();
    let threshold = rules.waiver_cny;
    for (kind, name, amount) in [
        (TaxKind::Duty, "duty", &mut totals.duty),
        (
            TaxKind::Consumption,
            "consumption tax",
            &mut totals.consumption,
        ),
        (TaxKind::Vat, "import VAT", &mut totals.vat),
    ] {
        if *amount > Decimal::ZERO && *amount <= threshold {
            let basis = match kind {
                TaxKind::Duty => {
                    "Import and Export Duties Regulations Art. 45(1); Tariff Law Art. 32(1)"
                }
                _ => {
                    "the duty threshold of Regulations Art. 45(1), applied to this tax by configuration"
                }
            };
            let reason = format!(
                "{name} of CNY {} is at most CNY {} per declaration: waived ({basis})",
                money(*amount),
                money(threshold)
            );
            notes.push(reason.clone());
            waived.push(WaivedTax {
                tax: kind,
                amount: *amount,
                threshold: round_fen(threshold),
                reason,
            });
            *amount = round_fen(Decimal::ZERO);
        }
    }
    totals.total = round_fen(totals.duty + totals.consumption + totals.vat);

    let month = month_label(date.year(), date.month());
    Ok(TaxBreakdown {
        declaration_date: date,
        transaction_terms: input.transaction_terms.clone(),
        customs_value_cny: round_fen(out_items.iter().map(|i| i.customs_value_cny).sum()),
        items: out_items,
        totals_before_waiver: before,
        totals,
        waived,
        exchange_rates: conv
            .used
            .into_iter()
            .map(|(currency, cny_per_unit)| RateUsed {
                currency,
                month: month.clone(),
                cny_per_unit,
            })
            .collect(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_fen_is_half_up() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(round_fen(d("12.345")).to_string(), "12.35");
        assert_eq!(round_fen(d("12.344999")).to_string(), "12.34");
        assert_eq!(round_fen(d("0.005")).to_string(), "0.01");
        assert_eq!(round_fen(d("7")).to_string(), "7.00");
    }

    #[test]
    fn money_groups_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("90100")), "90,100.00");
        assert_eq!(money(d("1234567.891")), "1,234,567.89");
        assert_eq!(money(d("999.5")), "999.50");
        assert_eq!(money(d("-1000")), "-1,000.00");
        assert_eq!(quantity(d("1000.500")), "1,000.5");
    }
}
