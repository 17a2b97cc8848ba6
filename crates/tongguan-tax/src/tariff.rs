//! The import tariff (进口税则): tariff lines with their rate columns, validity dates, import
//! VAT rate and consumption tax, and the CSV format they are loaded from.
//!
//! # Rate columns (Customs Tariff Law 2024, Arts. 10–13)
//!
//! Import duty has most-favoured-nation (最惠国), agreement (协定), special preferential
//! (特惠) and general (普通) rates, and provisional rates (暂定) for a period (Art. 10). Which one
//! applies ([`mod@crate::compute`] decides it per item):
//! - goods originating in a WTO member applying MFN treatment with China, or in a country with
//!   a treaty granting mutual MFN treatment: the **MFN rate** (Art. 12 ¶1); where a
//!   **provisional rate** exists it applies instead (Art. 13 ¶1);
//! - goods originating in an agreement partner *and meeting the agreement's rules* (for us: a
//!   valid certificate or declaration of origin, M11): the **agreement rate** (Art. 12 ¶2); if a
//!   provisional rate also exists the lower applies, and if the MFN rate is lower than the
//!   agreement rate with no provisional rate, the MFN rate applies (Art. 13 ¶2);
//! - goods from any other country, and goods **of unknown origin**: the **general rate**
//!   (Art. 12 ¶4), never a provisional rate (Art. 13 ¶4).
//!
//! Source: 中华人民共和国关税法 (2024-04-26, in force 2024-12-01), text at
//! `https://github.com/LawRefBook/Laws/blob/2f4c5c23716267af9dbebbbbd6cbbf732b101981/经济法/关税法(2024-04-26).md`.
//! Special preferential rates (特惠) and tariff-quota rates (关税配额, Art. 14) are not modelled.
//!
//! The duty itself is ad valorem (从价: value × rate), specific (从量: quantity × amount) or
//! compound (复合: both added), Art. 23 — see [`Rate`].
//!
//! # CSV format (`data/tariff/rates.csv`)
//!
//! UTF-8, comma-separated, RFC 4180 quoting, one row per tariff line version. Lines starting
//! with `#` are comments. The first non-comment line is the header; columns are found by name
//! (any order); unknown columns are an error. Columns:
//!
//! | column | required | content |
//! |---|---|---|
//! | `code` | yes | 8-digit tariff line (税则号列) or 10-digit commodity code (8 + 2 national digits) |
//! | `description` | no | free text |
//! | `valid_from` | yes | `YYYY-MM-DD`, first day the row applies |
//! | `valid_until` | no | `YYYY-MM-DD`, last day the row applies; empty = until superseded |
//! | `mfn` | no | MFN rate (最惠国税率) |
//! | `provisional` | no | provisional rate (暂定税率), applies instead of MFN |
//! | `general` | no | general rate (普通税率) |
//! | `agreements` | no | agreement rates: `AGREEMENT:PARTNER=rate` joined by `;`, e.g. `RCEP:JPN=5%;RCEP:*=8%`. PARTNER is an ISO 3166 alpha-3 code or `*` (every partner of that agreement without its own entry) |
//! | `vat` | yes | import VAT rate (增值税), ad valorem, e.g. `13%` or `9%` |
//! | `consumption_tax` | no | consumption tax (消费税) rate; an ad valorem part must be below 100% |
//! | `consumption_tax_threshold` | no | `CNY amount/unit`: the consumption tax applies only when the customs value per statutory unit is at least this (e.g. high-end cosmetics, `CNY 10000/035` = 10 yuan per gram) |
//! | `consumption_tax_below_threshold` | no | the rate below the threshold (empty = no consumption tax below it) |
//! | `source` | yes | where the row's figures come from |
//! | `notes` | no | free text |
//!
//! Rate cells: empty = no such rate; `8%` ad valorem; `CNY 2.5/035` specific, CNY per unit of
//! the statutory unit with that 3-digit unit code (计量单位: 035 kilogram, 095 litre, 007
//! piece, …); `10% + CNY 1/007` compound. Every parse error names the line (1-based, physical,
//! comments included) and the column.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::compute::TaxError;

/// A duty or tax rate: ad valorem (从价), specific (从量, CNY per statutory unit), compound (复合).
///
/// `rate` is a fraction (`0.08` for 8 %); `per_unit` is CNY per one unit of the statutory
/// unit `unit` (a 3-digit customs unit code, e.g. `035` kilogram). Customs Tariff Law Art. 23:
/// ad valorem = value × rate; specific = quantity × per-unit amount; compound = the sum.
/// [`Rate`]'s `Display` writes the CSV syntax (`8%`, `CNY 2.5/035`, `10% + CNY 1/007`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rate {
    /// 从价: a fraction of the value.
    AdValorem {
        #[schema(value_type = String, example = "0.08")]
        rate: Decimal,
    },
    /// 从量: CNY per statutory unit.
    Specific {
        #[schema(value_type = String, example = "7.5")]
        per_unit: Decimal,
        /// 3-digit customs unit code (计量单位), e.g. `095` litre.
        unit: String,
    },
    /// 复合: ad valorem part plus specific part.
    Compound {
        #[schema(value_type = String, example = "0.2")]
        rate: Decimal,
        #[schema(value_type = String, example = "0.912")]
        per_unit: Decimal,
        unit: String,
    },
}

impl Rate {
    /// The ad valorem part (zero for a specific rate).
    pub fn ad_valorem_part(&self) -> Decimal {
        match self {
            Rate::AdValorem { rate } | Rate::Compound { rate, .. } => *rate,
            Rate::Specific { .. } => Decimal::ZERO,
        }
    }

    /// The specific part as (CNY per unit, unit code), if any.
    pub fn specific_part(&self) -> Option<(Decimal, &str)> {
        match self {
            Rate::AdValorem { .. } => None,
            Rate::Specific { per_unit, unit } | Rate::Compound { per_unit, unit, .. } => {
                Some((*per_unit, unit.as_str()))
            }
        }
    }

    /// The unrounded amount for a value (CNY) and a quantity in the statutory unit
    /// (Customs Tariff Law Art. 23).
    pub fn amount(&self, value: Decimal, quantity: Decimal) -> Decimal {
        let specific = self
            .specific_part()
            .map(|(p, _)| p * quantity)
            .unwrap_or_default();
        value * self.ad_valorem_part() + specific
    }
}

/// Writes a fraction as a percentage without trailing zeros: `0.08` → `8%`, `0.003` → `0.3%`.
pub(crate) fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::AdValorem { rate } => f.write_str(&percent(*rate)),
            Rate::Specific { per_unit, unit } => write!(f, "CNY {}/{unit}", per_unit.normalize()),
            Rate::Compound {
                rate,
                per_unit,
                unit,
            } => write!(
                f,
                "{} + CNY {}/{unit}",
                percent(*rate),
                per_unit.normalize()
            ),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    /// Parses the CSV syntax: `8%`, `CNY 2.5/035`, `10% + CNY 1/007`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once('+') {
            let rate = parse_percent(a.trim())?;
            let (per_unit, unit) = parse_specific(b.trim())?;
            return Ok(Rate::Compound {
                rate,
                per_unit,
                unit,
            });
        }
        if s.ends_with('%') {
            return Ok(Rate::AdValorem {
                rate: parse_percent(s)?,
            });
        }
        if s.starts_with("CNY") {
            let (per_unit, unit) = parse_specific(s)?;
            return Ok(Rate::Specific { per_unit, unit });
        }
        Err(format!(
            "`{s}` is not a rate: expected `8%`, `CNY 2.5/035` or `10% + CNY 1/007`"
        ))
    }
}

fn parse_number(s: &str) -> Result<Decimal, String> {
    let s = s.trim();
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("`{s}` is not a non-negative decimal number"));
    }
    Decimal::from_str(s).map_err(|e| format!("`{s}`: {e}"))
}

fn parse_percent(s: &str) -> Result<Decimal, String> {
    let n = s
        .strip_suffix('%')
        .ok_or_else(|| format!("`{s}` is not a percentage such as `8%`"))?;
    Ok(parse_number(n)? / Decimal::ONE_HUNDRED)
}

fn parse_specific(s: &str) -> Result<(Decimal, String), String> {
    let rest = s
        .strip_prefix("CNY")
        .ok_or_else(|| format!("`{s}` is not a specific rate such as `CNY 2.5/035`"))?;
    let (n, unit) = rest
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: missing `/unit` (3-digit customs unit code)"))?;
    let unit = unit.trim();
    if unit.len() != 3 || !unit.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{s}`: unit `{unit}` is not a 3-digit customs unit code"
        ));
    }
    Ok((parse_number(n)?, unit.to_string()))
}

/// One tariff line with its rate columns and validity.
///
/// A table may hold several versions of a code with non-overlapping validity (rates change,
/// usually on 1 January). The rate in force on the day the declaration is completed applies
/// (Customs Tariff Law Art. 20 ¶1; for a declaration filed before arrival, the day the means of
/// transport declared entry, Art. 20 ¶2 — the caller passes that date).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TariffLine {
    /// 8-digit tariff line (税则号列) or 10-digit commodity code.
    pub code: String,
    pub description: String,
    pub valid_from: NaiveDate,
    /// Last day in force; `None` = until superseded.
    pub valid_until: Option<NaiveDate>,
    /// 最惠国税率.
    pub mfn: Option<Rate>,
    /// 暂定税率: applies instead of MFN when present (Tariff Law Art. 13 ¶1).
    pub provisional: Option<Rate>,
    /// 普通税率.
    pub general: Option<Rate>,
    /// 协定税率: agreement (e.g. `RCEP`) → partner (ISO alpha-3, or `*` for every partner) → rate.
    pub agreements: BTreeMap<String, BTreeMap<String, Rate>>,
    /// Import VAT rate (0.13 or 0.09).
    #[schema(value_type = String, example = "0.13")]
    pub vat_rate: Decimal,
    /// 消费税 for taxable consumer goods.
    pub consumption_tax: Option<Rate>,
    /// When set (`Specific` form: CNY per statutory unit), `consumption_tax` applies only when the
    /// customs value per unit is at least this amount, e.g. high-end cosmetics (高档化妆品).
    pub consumption_tax_threshold: Option<Rate>,
    /// The consumption tax below the threshold (`None` = none is due below it).
    pub consumption_tax_below_threshold: Option<Rate>,
    /// Where the figures come from.
    pub source: String,
    /// Free-text notes (conditions, confidence).
    pub notes: String,
}

impl TariffLine {
    /// True when the line is in force on `on`.
    pub fn valid_on(&self, on: NaiveDate) -> bool {
        self.valid_from <= on && self.valid_until.is_none_or(|u| on <= u)
    }

    /// The agreement rate for `partner` (its own entry, else the agreement's `*` entry).
    pub fn agreement_rate(&self, agreement: &str, partner: &str) -> Option<&Rate> {
        let partners = self.agreements.get(agreement)?;
        partners.get(partner).or_else(|| partners.get("*"))
    }

    fn check(&self) -> Result<(), String> {
        if !is_code(&self.code) {
            return Err(format!("code `{}` is not 8 or 10 digits", self.code));
        }
        if let Some(u) = self.valid_until
            && u < self.valid_from
        {
            return Err(format!(
                "valid_until {u} is before valid_from {}",
                self.valid_from
            ));
        }
        if self.vat_rate < Decimal::ZERO || self.vat_rate >= Decimal::ONE {
            return Err(format!(
                "VAT rate {} is not in [0%, 100%)",
                percent(self.vat_rate)
            ));
        }
        if let Some(r) = &self.consumption_tax {
            check_consumption_rate(r)?;
        }
        if let Some(r) = &self.consumption_tax_below_threshold {
            check_consumption_rate(r)?;
            if self.consumption_tax_threshold.is_none() {
                return Err("consumption_tax_below_threshold needs a threshold".into());
            }
        }
        if let Some(t) = &self.consumption_tax_threshold
            && !matches!(t, Rate::Specific { .. })
        {
            return Err(format!(
                "consumption_tax_threshold `{t}` must be `CNY amount/unit`"
            ));
        }
        Ok(())
    }
}

/// The consumption tax base divides by (1 − rate), so the ad valorem part must be below 100 %.
fn check_consumption_rate(r: &Rate) -> Result<(), String> {
    if r.ad_valorem_part() >= Decimal::ONE {
        return Err(format!(
            "consumption tax `{r}`: the ad valorem part must be below 100%"
        ));
    }
    Ok(())
}

fn is_code(code: &str) -> bool {
    matches!(code.len(), 8 | 10) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The tariff table (税则): tariff lines by code, each with its versions in time order.
#[derive(Debug, Clone, Default)]
pub struct TariffTable {
    lines: BTreeMap<String, Vec<TariffLine>>,
}

impl TariffTable {
    /// Builds a table. Fails when a line is malformed (code not 8/10 digits, VAT or consumption
    /// rate out of range) or two versions of a code overlap in time.
    pub fn new(lines: Vec<TariffLine>) -> Result<Self, TaxError> {
        let mut by_code: BTreeMap<String, Vec<TariffLine>> = BTreeMap::new();
        for line in lines {
            line.check()
                .map_err(|message| TaxError::InvalidTariffLine {
                    code: line.code.clone(),
                    message,
                })?;
            by_code.entry(line.code.clone()).or_default().push(line);
        }
        for versions in by_code.values_mut() {
            versions.sort_by_key(|l| l.valid_from);
            for pair in versions.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if a.valid_until.is_none_or(|u| u >= b.valid_from) {
                    return Err(TaxError::InvalidTariffLine {
                        code: b.code.clone(),
                        message: format!(
                            "version valid from {} overlaps the version valid from {}",
                            b.valid_from, a.valid_from
                        ),
                    });
                }
            }
        }
        Ok(Self { lines: by_code })
    }

    /// The line for a commodity code valid on `on`: the exact 10-digit line first, else its
    /// 8-digit tariff line (税则号列). An 8-digit `code10` looks up the 8-digit line only.
    pub fn lookup(&self, code10: &str, on: NaiveDate) -> Option<&TariffLine> {
        let find = |code: &str| self.lines.get(code)?.iter().rev().find(|l| l.valid_on(on));
        if !is_code(code10) {
            return None;
        }
        find(code10).or_else(|| {
            if code10.len() == 10 {
                find(&code10[..8])
            } else {
                None
            }
        })
    }

    /// Number of line versions.
    pub fn len(&self) -> usize {
        self.lines.values().map(Vec::len).sum()
    }

    /// True when the table has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Every line version, by code then validity.
    pub fn lines(&self) -> impl Iterator<Item = &TariffLine> {
        self.lines.values().flatten()
    }
}

const COLUMNS: [&str; 14] = [
    "code",
    "description",
    "valid_from",
    "valid_until",
    "mfn",
    "provisional",
    "general",
    "agreements",
    "vat",
    "consumption_tax",
    "consumption_tax_threshold",
    "consumption_tax_below_threshold",
    "source",
    "notes",
];
const REQUIRED: [&str; 4] = ["code", "valid_from", "vat", "source"];

fn csv_error(line: u64, column: &str, message: impl Into<String>) -> TaxError {
    TaxError::Csv {
        what: "tariff",
        line,
        column: column.to_string(),
        message: message.into(),
    }
}

/// Parses the tariff CSV (format in the module documentation). Each error names the line and
/// column. Does not check for overlapping versions: [`TariffTable::new`] does.
pub fn parse_tariff_csv(text: &str) -> Result<Vec<TariffLine>, TaxError> {
    let lines = LineIndex::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(lines.line(e.position()), "", e.to_string()))?
        .clone();
    let hline = lines.line(headers.position());
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let Some(name) = COLUMNS.iter().find(|c| **c == h) else {
            return Err(csv_error(
                hline,
                h,
                format!("unknown column; expected some of {}", COLUMNS.join(",")),
            ));
        };
        if index.insert(name, i).is_some() {
            return Err(csv_error(hline, h, "column appears twice"));
        }
    }
    for r in REQUIRED {
        if !index.contains_key(r) {
            return Err(csv_error(hline, r, "required column missing"));
        }
    }

    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(lines.line(e.position()), "", e.to_string()))?;
        let line = lines.line(record.position());
        let cell = |name: &str| -> &str {
            index
                .get(name)
                .and_then(|&i| record.get(i))
                .unwrap_or_default()
        };
        let rate = |name: &str| -> Result<Option<Rate>, TaxError> {
            let c = cell(name);
            if c.is_empty() {
                return Ok(None);
            }
            c.parse::<Rate>()
                .map(Some)
                .map_err(|m| csv_error(line, name, m))
        };
        let date = |name: &str| -> Result<Option<NaiveDate>, TaxError> {
            let c = cell(name);
            if c.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(c, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| csv_error(line, name, format!("`{c}` is not a date YYYY-MM-DD")))
        };

        let code = cell("code").to_string();
        if !is_code(&code) {
            return Err(csv_error(
                line,
                "code",
                format!("`{code}` is not 8 or 10 digits"),
            ));
        }
        let valid_from =
            date("valid_from")?.ok_or_else(|| csv_error(line, "valid_from", "required"))?;
        let vat_rate = match rate("vat")? {
            Some(Rate::AdValorem { rate }) => rate,
            Some(other) => {
                return Err(csv_error(
                    line,
                    "vat",
                    format!("`{other}`: VAT must be ad valorem, e.g. `13%`"),
                ));
            }
            None => return Err(csv_error(line, "vat", "required, e.g. `13%` or `9%`")),
        };
        let agreements =
            parse_agreements(cell("agreements")).map_err(|m| csv_error(line, "agreements", m))?;
        let source = cell("source").to_string();
        if source.is_empty() {
            return Err(csv_error(line, "source", "required"));
        }
        let tl = TariffLine {
            code,
            description: cell("description").to_string(),
            valid_from,
            valid_until: date("valid_until")?,
            mfn: rate("mfn")?,
            provisional: rate("provisional")?,
            general: rate("general")?,
            agreements,
            vat_rate,
            consumption_tax: rate("consumption_tax")?,
            consumption_tax_threshold: rate("consumption_tax_threshold")?,
            consumption_tax_below_threshold: rate("consumption_tax_below_threshold")?,
            source,
            notes: cell("notes").to_string(),
        };
        if let Err(m) = tl.check() {
            let column = if m.starts_with("valid_until") {
                "valid_until"
            } else if m.starts_with("VAT") {
                "vat"
            } else {
                "consumption_tax"
            };
            return Err(csv_error(line, column, m));
        }
        out.push(tl);
    }
    Ok(out)
}

/// Physical line numbers (1-based, comment lines included). The csv reader's own line count
/// skips `#` comment lines, and a record's byte position points at the comment or blank lines
/// read before it, so those are skipped here.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let newlines = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Self { text, newlines }
    }

    /// The line of a position (1 when unknown).
    pub(crate) fn line(&self, pos: Option<&csv::Position>) -> u64 {
        let mut byte = pos.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        loop {
            let rest = self.text.get(byte..).unwrap_or_default();
            let skip = rest.starts_with('#') || rest.starts_with('\n') || rest.starts_with("\r\n");
            match rest.find('\n') {
                Some(nl) if skip => byte += nl + 1,
                _ => break,
            }
        }
        self.newlines.partition_point(|&nl| nl < byte) as u64 + 1
    }
}

/// Parses `RCEP:JPN=5%;RCEP:*=8%`.
fn parse_agreements(cell: &str) -> Result<BTreeMap<String, BTreeMap<String, Rate>>, String> {
    let mut out: BTreeMap<String, BTreeMap<String, Rate>> = BTreeMap::new();
    for entry in cell.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, rate) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}`: expected AGREEMENT:PARTNER=rate"))?;
        let (agreement, partner) = key
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("`{entry}`: expected AGREEMENT:PARTNER=rate"))?;
        let (agreement, partner) = (agreement.trim(), partner.trim());
        if agreement.is_empty()
            || !agreement
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "`{entry}`: agreement `{agreement}` must be upper-case letters/digits"
            ));
        }
        if partner != "*"
            && !(partner.len() == 3 && partner.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(format!(
                "`{entry}`: partner `{partner}` must be an ISO alpha-3 code or `*`"
            ));
        }
        let rate: Rate = rate.parse().map_err(|m| format!("`{entry}`: {m}"))?;
        if out
            .entry(agreement.to_string())
            .or_default()
            .insert(partner.to_string(), rate)
            .is_some()
        {
            return Err(format!("`{entry}`: {agreement}:{partner} given twice"));
        }
    }
    Ok(out)
}

/// The curated tariff sample shipped in the binary (`data/tariff/rates.csv`; provenance in
/// `data/SOURCES.md`). A sample of real lines with cited sources, **not the full tariff**.
pub fn shipped_tariff() -> Result<TariffTable, TaxError> {
    const TEXT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/tariff/rates.csv"
    ));
    TariffTable::new(parse_tariff_csv(TEXT)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_trip_through_display() {
        for s in [
            "8%",
            "0%",
            "0.3%",
            "CNY 2.5/035",
            "10% + CNY 1/007",
            "20% + CNY 0.912/095",
        ] {
            let r: Rate = s.parse().expect(s);
            assert_eq!(r.to_string(), s);
        }
        assert_eq!(
            "8%".parse::<Rate>(),
            Ok(Rate::AdValorem {
                rate: Decimal::new(8, 2)
            })
        );
    }

    #[test]
    fn bad_rates_are_refused() {
        for s in [
            "8",
            "-1%",
            "CNY 2.5",
            "CNY 2/35",
            "USD 1/035",
            "x%",
            "8% + 1%",
        ] {
            assert!(s.parse::<Rate>().is_err(), "{s}");
        }
    }

    #[test]
    fn agreements_parse() {
        let a = parse_agreements("RCEP:JPN=5%; RCEP:*=8%;ACFTA:*=0%").unwrap();
        assert_eq!(a["RCEP"].len(), 2);
        assert!(parse_agreements("RCEP:JPN=5%;RCEP:JPN=4%").is_err());
        assert!(parse_agreements("RCEP:Japan=5%").is_err());
        assert!(parse_agreements("RCEP=5%").is_err());
    }

    #[test]
    fn shipped_tariff_loads() {
        let t = shipped_tariff().unwrap();
        assert!(t.len() >= 19, "{}", t.len());
    }
}
