//! The canonical CSV format in which administrators upload new dataset versions, and the
//! per-dataset code rules that uploads and shipped data must both satisfy.
//!
//! Format: UTF-8 (an optional BOM is ignored), comma-separated, RFC 4180 quoting, one header
//! row. The header starts with `code,name_en,name_zh,parent`; every further column is an
//! attribute (`unit1_code`, `off_day`, …). Cells are trimmed; empty name/parent cells mean
//! "none" and empty attribute cells are omitted.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};

use crate::csvfile;
use crate::{DatasetId, RefDataError, RefEntry};

/// The columns every canonical CSV starts with, in this order.
pub const CANONICAL_COLUMNS: [&str; 4] = ["code", "name_en", "name_zh", "parent"];

/// Parse the documented canonical CSV that admins upload to load a new version of `dataset`.
///
/// The header must start with `code,name_en,name_zh,parent`; further columns become attributes
/// (empty cells omitted). Rejected with the line number: a missing or wrong header, malformed
/// CSV (wrong number of fields), an empty code, a duplicate code (naming both lines), a code
/// of the wrong shape for the dataset (see below), zero rows.
///
/// Code rules: `hs` 2, 4 or 6 digits; `tariff_lines` 8 digits; `countries` and `currencies`
/// 3 upper-case letters; `customs_countries` and `units` 3 digits; `customs_districts` and
/// `trade_modes` 4 digits; `levy_natures` 3 digits; `packaging_types` 2 digits;
/// `levy_methods` and `transaction_terms` 1 digit; `transport_modes` 1 digit or upper-case
/// letter; `licence_codes` 1 letter or digit (case matters); `ports` a 5-character UN/LOCODE
/// (2 letters + 3 letters or digits 2-9); `hs_sections` a roman numeral. For `holidays` the
/// label must be a year, every code a date `YYYY-MM-DD` in that year (or in December of the
/// year before, as State Council notices for New Year sometimes start there), and every row
/// needs an `off_day` attribute of `true` or `false`.
pub fn parse_canonical_csv(
    dataset: DatasetId,
    label: &str,
    text: &str,
) -> Result<Vec<RefEntry>, RefDataError> {
    let rules = Rules::for_version(dataset, label)?;
    let file = csvfile::read(text, true)?;
    let header = &file.header;
    let bad_header = || RefDataError::Header {
        expected: format!(
            "`{}` followed by optional attribute columns",
            CANONICAL_COLUMNS.join(",")
        ),
        found: header.join(","),
    };
    if header.len() < CANONICAL_COLUMNS.len()
        || header.iter().zip(CANONICAL_COLUMNS).any(|(h, c)| h != c)
    {
        return Err(bad_header());
    }
    let attribute_names = &header[CANONICAL_COLUMNS.len()..];
    let mut seen_names = BTreeSet::new();
    for name in attribute_names {
        if name.is_empty() || CANONICAL_COLUMNS.contains(&name.as_str()) {
            return Err(bad_header());
        }
        if !seen_names.insert(name.as_str()) {
            return Err(RefDataError::Header {
                expected: "unique attribute column names".to_owned(),
                found: header.join(","),
            });
        }
    }

    let mut entries = Vec::with_capacity(file.rows.len());
    let mut first_line: HashMap<String, usize> = HashMap::with_capacity(file.rows.len());
    for row in &file.rows {
        let code = row.raw(0).trim().to_owned();
        if code.is_empty() {
            return Err(RefDataError::EmptyCode { line: row.line });
        }
        let mut entry = RefEntry {
            code,
            name_en: trimmed(row.raw(1)),
            name_zh: trimmed(row.raw(2)),
            parent: trimmed(row.raw(3)),
            attributes: Default::default(),
        };
        for (i, name) in attribute_names.iter().enumerate() {
            if let Some(value) = trimmed(row.raw(CANONICAL_COLUMNS.len() + i)) {
                entry.attributes.insert(name.clone(), value);
            }
        }
        rules.check(row.line, &entry)?;
        if let Some(&first) = first_line.get(&entry.code) {
            return Err(RefDataError::DuplicateCode {
                code: entry.code,
                first_line: first,
                line: row.line,
            });
        }
        first_line.insert(entry.code.clone(), row.line);
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(RefDataError::Empty);
    }
    Ok(entries)
}

/// A trimmed cell, `None` if empty. Unlike the shipped-data loaders, uploads keep line breaks
/// inside a cell.
fn trimmed(cell: &str) -> Option<String> {
    let cell = cell.trim();
    (!cell.is_empty()).then(|| cell.to_owned())
}

/// Write entries as canonical CSV (inverse of [`parse_canonical_csv`]): the four canonical
/// columns, then one column per attribute name used by any entry, in name order. Lines end
/// with `\n`; cells are quoted only where needed.
pub fn to_canonical_csv(entries: &[RefEntry]) -> String {
    let attribute_names: BTreeSet<&str> = entries
        .iter()
        .flat_map(|e| e.attributes.keys().map(String::as_str))
        .collect();
    let mut out = String::with_capacity(entries.len() * 64);
    let mut first = true;
    for name in CANONICAL_COLUMNS.iter().chain(attribute_names.iter()) {
        if !first {
            out.push(',');
        }
        first = false;
        push_cell(&mut out, name);
    }
    out.push('\n');
    for entry in entries {
        push_cell(&mut out, &entry.code);
        for cell in [&entry.name_en, &entry.name_zh, &entry.parent] {
            out.push(',');
            push_cell(&mut out, cell.as_deref().unwrap_or(""));
        }
        for name in &attribute_names {
            out.push(',');
            push_cell(&mut out, entry.attr(name).unwrap_or(""));
        }
        out.push('\n');
    }
    out
}

fn push_cell(out: &mut String, cell: &str) {
    if cell.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

/// The checks an entry must pass for a given dataset version.
pub(crate) struct Rules {
    dataset: DatasetId,
    /// For per-year datasets: the year of the version.
    year: Option<i32>,
}

impl Rules {
    /// Rules for version `label` of `dataset`; fails if the label does not fit.
    pub(crate) fn for_version(dataset: DatasetId, label: &str) -> Result<Rules, RefDataError> {
        let bad = |message: &str| RefDataError::BadLabel {
            label: label.to_owned(),
            message: message.to_owned(),
        };
        if label.trim().is_empty() || label.trim() != label {
            return Err(bad("must be non-empty without surrounding spaces"));
        }
        if label.len() > 64 || label.chars().any(char::is_control) {
            return Err(bad(
                "must be at most 64 characters without control characters",
            ));
        }
        let year = match dataset {
            DatasetId::Holidays => {
                let year = (label.len() == 4 && label.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| label.parse::<i32>().ok())
                    .flatten()
                    .filter(|y| (1900..=2200).contains(y))
                    .ok_or_else(|| {
                        bad("holiday versions are labelled with their year, e.g. 2026")
                    })?;
                Some(year)
            }
            _ => None,
        };
        Ok(Rules { dataset, year })
    }

    /// Check one entry (found on `line`).
    pub(crate) fn check(&self, line: usize, entry: &RefEntry) -> Result<(), RefDataError> {
        let code = entry.code.as_str();
        let bad_code = |rule: &'static str| RefDataError::BadCode {
            line,
            code: code.to_owned(),
            rule,
        };
        if let Some(year) = self.year {
            let date = parse_date(code).ok_or_else(|| bad_code("a date YYYY-MM-DD"))?;
            let in_year = date.year() == year || (date.year() == year - 1 && date.month() == 12);
            if !in_year {
                return Err(bad_code(
                    "a date in the version's year (or in December of the year before)",
                ));
            }
            return match entry.attr("off_day") {
                Some("true" | "false") => Ok(()),
                Some(other) => Err(RefDataError::BadField {
                    line,
                    field: "off_day".to_owned(),
                    message: format!("`{other}` is not `true` or `false`"),
                }),
                None => Err(RefDataError::BadField {
                    line,
                    field: "off_day".to_owned(),
                    message: "missing; every holiday row needs `true` (day off) or `false` (make-up working day)".to_owned(),
                }),
            };
        }
        let (ok, rule) = code_rule(self.dataset, code);
        if ok { Ok(()) } else { Err(bad_code(rule)) }
    }
}

/// Whether `code` has the right shape for `dataset`, and the rule as text.
fn code_rule(dataset: DatasetId, code: &str) -> (bool, &'static str) {
    let digits = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_digit());
    let upper = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_uppercase());
    match dataset {
        DatasetId::HsSections => (
            !code.is_empty() && code.len() <= 5 && code.bytes().all(|b| b"IVXL".contains(&b)),
            "a roman numeral (I to XXI)",
        ),
        DatasetId::Hs => (digits(2) || digits(4) || digits(6), "2, 4 or 6 digits"),
        DatasetId::TariffLines => (digits(8), "8 digits"),
        DatasetId::Countries => (upper(3), "3 upper-case letters (ISO 3166-1 alpha-3)"),
        DatasetId::CustomsCountries => (digits(3), "3 digits"),
        DatasetId::Currencies => (upper(3), "3 upper-case letters (ISO 4217)"),
        DatasetId::Ports => {
            let b = code.as_bytes();
            (
                b.len() == 5
                    && b[..2].iter().all(u8::is_ascii_uppercase)
                    && b[2..]
                        .iter()
                        .all(|c| c.is_ascii_uppercase() || (b'2'..=b'9').contains(c)),
                "a UN/LOCODE: 2 upper-case letters then 3 upper-case letters or digits 2-9",
            )
        }
        DatasetId::CustomsDistricts => (digits(4), "4 digits"),
        DatasetId::TradeModes => (digits(4), "4 digits"),
        DatasetId::LevyNatures => (digits(3), "3 digits"),
        DatasetId::LevyMethods => (digits(1), "1 digit"),
        DatasetId::TransactionTerms => (digits(1), "1 digit"),
        DatasetId::TransportModes => (
            code.len() == 1
                && code
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "1 digit or upper-case letter",
        ),
        DatasetId::Units => (digits(3), "3 digits"),
        DatasetId::PackagingTypes => (digits(2), "2 digits"),
        DatasetId::LicenceCodes => (
            code.len() == 1 && code.bytes().all(|b| b.is_ascii_alphanumeric()),
            "1 letter or digit",
        ),
        DatasetId::Holidays => (parse_date(code).is_some(), "a date YYYY-MM-DD"),
    }
}

/// Parse a strict `YYYY-MM-DD` date.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_rules() {
        assert!(code_rule(DatasetId::Hs, "8471").0);
        assert!(!code_rule(DatasetId::Hs, "847").0);
        assert!(code_rule(DatasetId::Ports, "CNSZP").0);
        assert!(code_rule(DatasetId::Ports, "JPA2B").0);
        assert!(!code_rule(DatasetId::Ports, "CNSZ1").0);
        assert!(code_rule(DatasetId::LicenceCodes, "b").0);
        assert!(code_rule(DatasetId::HsSections, "XXI").0);
        assert!(parse_date("2025-01-28").is_some());
        assert!(parse_date("2025-1-28").is_none());
        assert!(parse_date("2025-02-30").is_none());
    }

    #[test]
    fn holiday_label_must_be_a_year() {
        let e = Rules::for_version(DatasetId::Holidays, "current")
            .err()
            .unwrap();
        assert_eq!(e.rule(), "refdata.bad_label");
        assert!(Rules::for_version(DatasetId::Holidays, "2026").is_ok());
        assert!(Rules::for_version(DatasetId::Hs, " 2022").is_err());
    }

    #[test]
    fn holiday_rows() {
        let ok = "code,name_en,name_zh,parent,off_day\n2018-12-30,,元旦,,true\n2019-02-02,,春节,,false\n";
        assert_eq!(
            parse_canonical_csv(DatasetId::Holidays, "2019", ok)
                .unwrap()
                .len(),
            2
        );
        let other_year = "code,name_en,name_zh,parent,off_day\n2020-01-01,,元旦,,true\n";
        let e = parse_canonical_csv(DatasetId::Holidays, "2019", other_year)
            .err()
            .unwrap();
        assert_eq!((e.rule(), e.line()), ("refdata.bad_code", Some(2)));
        let no_flag = "code,name_en,name_zh,parent,off_day\n2019-01-01,,元旦,,\n";
        let e = parse_canonical_csv(DatasetId::Holidays, "2019", no_flag)
            .err()
            .unwrap();
        assert_eq!((e.rule(), e.line()), ("refdata.bad_field", Some(2)));
        assert!(e.to_string().contains("off_day"));
    }

    #[test]
    fn quoting_round_trip() {
        let mut e = RefEntry::new("0101");
        e.name_en = Some("Horses, \"live\"\nsecond line".to_owned());
        e.attributes.insert("note".to_owned(), "a,b".to_owned());
        let text = to_canonical_csv(std::slice::from_ref(&e));
        let back = parse_canonical_csv(DatasetId::Hs, "x", &text).unwrap();
        assert_eq!(back, vec![e]);
    }

    #[test]
    fn header_checks() {
        for text in [
            "",
            "code,name_zh,name_en,parent\n01,a,b,\n",
            "code,name_en,name_zh\n01,a,b\n",
            "code,name_en,name_zh,parent,x,x\n01,a,b,,1,2\n",
            "code,name_en,name_zh,parent,,\n01,a,b,,1,2\n",
        ] {
            let e = parse_canonical_csv(DatasetId::Hs, "2022", text)
                .err()
                .unwrap();
            assert_eq!(e.rule(), "refdata.header", "{text:?}");
        }
        let e = parse_canonical_csv(DatasetId::Hs, "2022", "code,name_en,name_zh,parent\n")
            .err()
            .unwrap();
        assert_eq!(e.rule(), "refdata.empty");
        let e = parse_canonical_csv(DatasetId::Hs, "2022", "code,name_en,name_zh,parent\n01,a\n")
            .err()
            .unwrap();
        assert_eq!((e.rule(), e.line()), ("refdata.csv", Some(2)));
        let e = parse_canonical_csv(
            DatasetId::Hs,
            "2022",
            "code,name_en,name_zh,parent\n01,a,,\n ,b,,\n",
        )
        .err()
        .unwrap();
        assert_eq!((e.rule(), e.line()), ("refdata.empty_code", Some(3)));
    }
}
