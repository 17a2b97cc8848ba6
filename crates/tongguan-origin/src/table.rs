//! The data the engine decides on: the product-specific rule table (by HS version), the
//! RCEP parties with their entry-into-force dates, and the HS 2022 nomenclature.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::rule::{Level, Rule, digits, parse_rule};

/// The HS edition a rule is written in. Annex 3A uses HS 2012 (headnote 9); the Parties
/// transposed it to HS 2022 (RCEP Joint Committee, 30 June 2022; China: GACC Announcement
/// 2022 No. 129, from 1 January 2023).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HsVersion {
    #[serde(rename = "HS2012")]
    Hs2012,
    #[serde(rename = "HS2017")]
    Hs2017,
    #[serde(rename = "HS2022")]
    Hs2022,
}

impl HsVersion {
    pub fn parse(s: &str) -> Option<HsVersion> {
        match s
            .trim()
            .to_ascii_uppercase()
            .replace([' ', '_'], "")
            .as_str()
        {
            "HS2012" => Some(HsVersion::Hs2012),
            "HS2017" => Some(HsVersion::Hs2017),
            "HS2022" => Some(HsVersion::Hs2022),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HsVersion::Hs2012 => "HS2012",
            HsVersion::Hs2017 => "HS2017",
            HsVersion::Hs2022 => "HS2022",
        }
    }
}

/// One row of the rule table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsrEntry {
    /// The chapter, heading or subheading as printed (`14`, `05.02`, `0504.00`).
    pub code: String,
    pub level: Level,
    pub hs_version: HsVersion,
    pub description: String,
    pub rule: Rule,
    /// Where the row was read.
    pub source: String,
}

/// A row that could not be read: its line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, {column}: {message}")]
pub struct TableError {
    pub line: usize,
    pub column: String,
    pub message: String,
}

/// The HS 2022 nomenclature: which chapters, headings and subheadings exist.
#[derive(Debug, Clone, Default)]
pub struct Nomenclature {
    codes: HashSet<String>,
}

impl Nomenclature {
    pub fn new(codes: impl IntoIterator<Item = String>) -> Nomenclature {
        Nomenclature {
            codes: codes
                .into_iter()
                .map(|c| digits(&c))
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }

    /// The HS 2022 nomenclature shipped in `data/hs` (WCO HS 2022 via the UN Comtrade
    /// classification file; see data/SOURCES.md).
    pub fn shipped() -> Nomenclature {
        let text = include_str!("../../../data/hs/harmonized-system.csv");
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        Nomenclature::new(
            rdr.records()
                .filter_map(Result::ok)
                .filter_map(|r| r.get(1).map(str::to_string))
                .filter(|c| c.len() <= 6 && !c.starts_with("99")),
        )
    }

    /// Whether the 6-digit subheading (or any level) exists.
    pub fn contains(&self, code: &str) -> bool {
        if code.bytes().all(|b| b.is_ascii_digit()) {
            self.codes.contains(code)
        } else {
            self.codes.contains(&digits(code))
        }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// How a good's subheading found its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Lookup<'a> {
    /// A rule applies; `note` says when it was matched through an older HS edition.
    Found {
        entry: &'a PsrEntry,
        note: Option<String>,
    },
    /// The good's subheading is not in the rule table's edition and its heading was
    /// restructured between the editions: matching by code would be wrong.
    VersionChanged {
        heading: String,
        rule_version: HsVersion,
        /// Subheadings of the rule table's edition that no longer exist in HS 2022.
        gone: Vec<String>,
    },
    NotFound,
}

/// Product-specific rules (Annex 3A) by HS edition and code.
#[derive(Debug, Clone, Default)]
pub struct PsrTable {
    entries: HashMap<(HsVersion, String), PsrEntry>,
    /// Per edition and heading: the subheadings it lists.
    subheadings: BTreeMap<(HsVersion, String), Vec<String>>,
    /// The HS 2022 nomenclature, to tell unchanged codes from restructured ones.
    hs2022: Nomenclature,
}

impl PsrTable {
    /// Reads the documented CSV (`hs_code, hs_version, description, rule_text, source_url,
    /// source_page, notes`), every bad row reported.
    pub fn from_csv(text: &str, hs2022: Nomenclature) -> Result<PsrTable, Vec<TableError>> {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| {
                vec![TableError {
                    line: 1,
                    column: "header".into(),
                    message: e.to_string(),
                }]
            })?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let (Some(c_code), Some(c_ver), Some(c_rule)) =
            (col("hs_code"), col("hs_version"), col("rule_text"))
        else {
            return Err(vec![TableError {
                line: 1,
                column: "header".into(),
                message: "needs the columns hs_code, hs_version, rule_text".into(),
            }]);
        };
        let (c_desc, c_url, c_page) = (col("description"), col("source_url"), col("source_page"));
        let mut table = PsrTable {
            hs2022,
            ..Default::default()
        };
        let mut errors = Vec::new();
        for (n, rec) in rdr.records().enumerate() {
            let line = n + 2;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    errors.push(TableError {
                        line,
                        column: "row".into(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let get =
                |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim().to_string();
            let code = get(Some(c_code));
            let d = digits(&code);
            let Some(level) = Level::of_digits(d.len()) else {
                errors.push(TableError {
                    line,
                    column: "hs_code".into(),
                    message: format!(
                        "`{code}` is not a chapter (2 digits), heading (4) or subheading (6)"
                    ),
                });
                continue;
            };
            let Some(version) = HsVersion::parse(&get(Some(c_ver))) else {
                errors.push(TableError {
                    line,
                    column: "hs_version".into(),
                    message: format!("`{}` is not HS2012, HS2017 or HS2022", get(Some(c_ver))),
                });
                continue;
            };
            let rule = match parse_rule(&get(Some(c_rule))) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(TableError {
                        line,
                        column: "rule_text".into(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if level == Level::Subheading {
                table
                    .subheadings
                    .entry((version, d[..4].to_string()))
                    .or_default()
                    .push(d.clone());
            }
            let source = [get(c_url), get(c_page)]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            table.entries.insert(
                (version, d),
                PsrEntry {
                    code,
                    level,
                    hs_version: version,
                    description: get(c_desc),
                    rule,
                    source,
                },
            );
        }
        if errors.is_empty() {
            Ok(table)
        } else {
            Err(errors)
        }
    }

    /// The curated sample shipped in `data/rcep/psr_annex3a.csv` (see data/SOURCES.md).
    pub fn shipped() -> PsrTable {
        // The shipped file is checked by the crate's tests; a broken build would fail them.
        PsrTable::from_csv(
            include_str!("../../../data/rcep/psr_annex3a.csv"),
            Nomenclature::shipped(),
        )
        .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rule of a good classified in HS 2022 subheading `hs6`: the HS 2022 rows first
    /// (subheading, heading, chapter), then the older editions' rows — but only where the
    /// code did not move: a subheading absent from the older edition's heading, whose heading
    /// lists subheadings that HS 2022 no longer has, is flagged instead of matched.
    pub fn lookup(&self, hs6: &str) -> Lookup<'_> {
        let d = digits(hs6);
        if d.len() < 6 {
            return Lookup::NotFound;
        }
        let levels = [&d[..6], &d[..4], &d[..2]];
        for code in levels {
            if let Some(e) = self.entries.get(&(HsVersion::Hs2022, code.to_string())) {
                return Lookup::Found {
                    entry: e,
                    note: None,
                };
            }
        }
        for version in [HsVersion::Hs2017, HsVersion::Hs2012] {
            if let Some(e) = self.entries.get(&(version, d[..6].to_string())) {
                return Lookup::Found {
                    entry: e,
                    note: Some(format!(
                        "matched through the {} row of subheading {}, a code HS 2022 still has",
                        version.as_str(),
                        e.code
                    )),
                };
            }
            let heading = d[..4].to_string();
            if let Some(listed) = self.subheadings.get(&(version, heading.clone())) {
                let gone: Vec<String> = listed
                    .iter()
                    .filter(|s| !self.hs2022.contains(s))
                    .cloned()
                    .collect();
                if !gone.is_empty() {
                    return Lookup::VersionChanged {
                        heading,
                        rule_version: version,
                        gone,
                    };
                }
            }
            for code in [&d[..4], &d[..2]] {
                if let Some(e) = self.entries.get(&(version, code.to_string())) {
                    return Lookup::Found {
                        entry: e,
                        note: Some(format!(
                            "matched through the {} {} rule {}",
                            version.as_str(),
                            e.level.name(),
                            e.code
                        )),
                    };
                }
            }
        }
        Lookup::NotFound
    }
}

/// An RCEP party and the day the agreement entered into force for it (Art. 20.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// ISO 3166 alpha-3.
    pub iso3: String,
    pub name: String,
    /// None: not in force (e.g. no date found).
    pub in_force_from: Option<NaiveDate>,
}

/// The RCEP parties.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    by_iso3: BTreeMap<String, Party>,
}

impl Parties {
    /// Reads `iso3, iso2, name, in_force_from, source_url`.
    pub fn from_csv(text: &str) -> Result<Parties, Vec<TableError>> {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let mut out = Parties::default();
        let mut errors = Vec::new();
        for (n, rec) in rdr.records().enumerate() {
            let line = n + 2;
            let Ok(rec) = rec else {
                errors.push(TableError {
                    line,
                    column: "row".into(),
                    message: "unreadable".into(),
                });
                continue;
            };
            let iso3 = rec.get(0).unwrap_or("").trim().to_ascii_uppercase();
            let date = rec.get(3).unwrap_or("").trim();
            let in_force_from = if date.is_empty() {
                None
            } else {
                match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                    Ok(d) => Some(d),
                    Err(_) => {
                        errors.push(TableError {
                            line,
                            column: "in_force_from".into(),
                            message: format!("`{date}` is not a date (YYYY-MM-DD)"),
                        });
                        continue;
                    }
                }
            };
            if iso3.len() != 3 {
                errors.push(TableError {
                    line,
                    column: "iso3".into(),
                    message: format!("`{iso3}` is not ISO alpha-3"),
                });
                continue;
            }
            out.by_iso3.insert(
                iso3.clone(),
                Party {
                    iso3,
                    name: rec.get(2).unwrap_or("").trim().to_string(),
                    in_force_from,
                },
            );
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The shipped list, `data/rcep/parties.csv`.
    pub fn shipped() -> Parties {
        Parties::from_csv(include_str!("../../../data/rcep/parties.csv")).unwrap_or_default()
    }

    pub fn get(&self, iso3: &str) -> Option<&Party> {
        // The hot path passes canonical codes: look them up without allocating.
        match self.by_iso3.get(iso3) {
            Some(p) => Some(p),
            None => self.by_iso3.get(&iso3.trim().to_ascii_uppercase()),
        }
    }

    /// Whether the agreement is in force for `iso3` on `date`.
    pub fn in_force(&self, iso3: &str, date: NaiveDate) -> bool {
        self.get(iso3)
            .and_then(|p| p.in_force_from)
            .is_some_and(|d| d <= date)
    }

    pub fn len(&self) -> usize {
        self.by_iso3.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_iso3.is_empty()
    }
}
