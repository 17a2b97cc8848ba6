//! Reference data for Tongguan: the code tables a Chinese customs declaration is checked against.
//!
//! The crate ships every table inside the binary (see [`shipped()`]), parses the canonical CSV that
//! administrators upload to load newer versions ([`parse_canonical_csv`], [`to_canonical_csv`]),
//! and offers an in-memory [`Catalog`] of the versions in force for lookups, text search and
//! validation.
//!
//! Datasets and their sources (full provenance, licences and row counts are in the workspace's
//! `data/SOURCES.md` and `data/LICENSES.md`):
//!
//! | dataset | source |
//! |---|---|
//! | [`DatasetId::HsSections`], [`DatasetId::Hs`] | HS 2022 nomenclature, github.com/datasets/harmonized-system (UN Comtrade H6), ODC-PDDL-1.0 |
//! | [`DatasetId::TariffLines`] | China 8-digit tariff lines 2022 and 2023 with statistical units, GACC statistics portal via github.com/turbanisch/chinautils (MIT) |
//! | [`DatasetId::Countries`] | ISO 3166-1, github.com/datasets/country-codes (ODC-PDDL-1.0), with China customs 3-digit codes from the CESP_WEB code table |
//! | [`DatasetId::CustomsCountries`] | China customs 3-digit country/region codes, GACC statistics portal via chinautils (MIT) |
//! | [`DatasetId::Currencies`] | ISO 4217, github.com/datasets/currency-codes (ODC-PDDL-1.0), Chinese names from the GACC currency table in CESP_WEB |
//! | [`DatasetId::Ports`] | UN/LOCODE for China, Hong Kong, Macao and the other RCEP parties, UNECE data via github.com/ophpl/unlocode (MIT) |
//! | customs parameter tables ([`DatasetId::CustomsDistricts`] … [`DatasetId::LicenceCodes`]) | GACC 报关单参数代码 tables, read from public GitHub files and web pages cited per row in `data/cn_customs_params/` |
//! | [`DatasetId::Holidays`] | State Council holiday notices 2019–2026, github.com/NateScarlet/holiday-cn (MIT) |
#![forbid(unsafe_code)]

mod canonical;
mod catalog;
mod csvfile;
mod error;
mod shipped;

use std::collections::BTreeMap;

pub use canonical::{CANONICAL_COLUMNS, parse_canonical_csv, to_canonical_csv};
pub use catalog::{Catalog, VersionInfo};
pub use error::RefDataError;
pub use shipped::shipped;

/// One entry of a reference code table.
///
/// `code` is the key (unique within a dataset version, compared case-sensitively: licence code
/// `B` is not `b`). Names are optional because several sources have only one language.
/// `parent` links hierarchical tables (HS chapter → heading → subheading, tariff line → HS
/// subheading, customs district → subordinate customs, port → country alpha-2). Everything
/// else a source provides goes into `attributes`; an attribute is present only when it has a
/// non-empty value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RefEntry {
    /// The code as written on a declaration, e.g. `847130`, `5301`, `CNSZP`, `2025-01-28`.
    pub code: String,
    /// English name, if the source has one.
    pub name_en: Option<String>,
    /// Chinese (simplified) name, if the source has one.
    pub name_zh: Option<String>,
    /// Code of the parent entry in the same dataset (for ports: the ISO alpha-2 country code).
    pub parent: Option<String>,
    /// Further source columns by name, e.g. `level`, `unit1_code`, `alpha2`, `off_day`.
    pub attributes: BTreeMap<String, String>,
}

impl RefEntry {
    /// An entry with only a code; fill the other fields with struct update syntax.
    pub fn new(code: impl Into<String>) -> RefEntry {
        RefEntry {
            code: code.into(),
            name_en: None,
            name_zh: None,
            parent: None,
            attributes: BTreeMap::new(),
        }
    }

    /// The value of attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// The reference datasets Tongguan knows. The serde and [`DatasetId::as_str`] name is the
/// snake_case variant name (`hs_sections`, `tariff_lines`, …).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DatasetId {
    /// The 21 HS sections (roman numerals), HS 2022.
    HsSections,
    /// HS 2022 chapters (2 digits), headings (4) and subheadings (6).
    Hs,
    /// China's 8-digit tariff lines (税则号列) with their statistical units.
    TariffLines,
    /// ISO 3166-1 countries, keyed by alpha-3.
    Countries,
    /// China customs 3-digit country/region codes (国别(地区)代码, statistics and pre-2018 declarations).
    CustomsCountries,
    /// ISO 4217 currencies in use.
    Currencies,
    /// UN/LOCODE locations (ports, airports, rail and road terminals …).
    Ports,
    /// China customs districts and subordinate customs (关区代码).
    CustomsDistricts,
    /// Supervision / trade modes (监管方式).
    TradeModes,
    /// Levy natures (征免性质).
    LevyNatures,
    /// Levy methods (征减免税方式).
    LevyMethods,
    /// Transaction terms (成交方式).
    TransactionTerms,
    /// Transport modes (运输方式).
    TransportModes,
    /// Declaration units of measure (计量单位).
    Units,
    /// Packaging types (包装种类).
    PackagingTypes,
    /// Licence / supervision certificate codes (监管证件代码).
    LicenceCodes,
    /// Chinese public holidays and make-up working days, one version per year.
    Holidays,
}

impl DatasetId {
    /// Every dataset, in declaration order.
    pub const ALL: [DatasetId; 17] = [
        DatasetId::HsSections,
        DatasetId::Hs,
        DatasetId::TariffLines,
        DatasetId::Countries,
        DatasetId::CustomsCountries,
        DatasetId::Currencies,
        DatasetId::Ports,
        DatasetId::CustomsDistricts,
        DatasetId::TradeModes,
        DatasetId::LevyNatures,
        DatasetId::LevyMethods,
        DatasetId::TransactionTerms,
        DatasetId::TransportModes,
        DatasetId::Units,
        DatasetId::PackagingTypes,
        DatasetId::LicenceCodes,
        DatasetId::Holidays,
    ];

    /// The snake_case name, identical to the serde representation.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetId::HsSections => "hs_sections",
            DatasetId::Hs => "hs",
            DatasetId::TariffLines => "tariff_lines",
            DatasetId::Countries => "countries",
            DatasetId::CustomsCountries => "customs_countries",
            DatasetId::Currencies => "currencies",
            DatasetId::Ports => "ports",
            DatasetId::CustomsDistricts => "customs_districts",
            DatasetId::TradeModes => "trade_modes",
            DatasetId::LevyNatures => "levy_natures",
            DatasetId::LevyMethods => "levy_methods",
            DatasetId::TransactionTerms => "transaction_terms",
            DatasetId::TransportModes => "transport_modes",
            DatasetId::Units => "units",
            DatasetId::PackagingTypes => "packaging_types",
            DatasetId::LicenceCodes => "licence_codes",
            DatasetId::Holidays => "holidays",
        }
    }

    /// Inverse of [`DatasetId::as_str`] (exact, case-sensitive match).
    pub fn parse(s: &str) -> Option<DatasetId> {
        DatasetId::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// How versions of this dataset combine.
    pub fn kind(self) -> DatasetKind {
        match self {
            DatasetId::Holidays => DatasetKind::PerYear,
            _ => DatasetKind::Whole,
        }
    }

    /// A short English title for listings.
    pub fn title(self) -> &'static str {
        match self {
            DatasetId::HsSections => "HS sections",
            DatasetId::Hs => "Harmonized System codes",
            DatasetId::TariffLines => "China tariff lines",
            DatasetId::Countries => "Countries (ISO 3166)",
            DatasetId::CustomsCountries => "China customs country codes",
            DatasetId::Currencies => "Currencies (ISO 4217)",
            DatasetId::Ports => "Locations (UN/LOCODE)",
            DatasetId::CustomsDistricts => "Customs districts",
            DatasetId::TradeModes => "Trade modes",
            DatasetId::LevyNatures => "Levy natures",
            DatasetId::LevyMethods => "Levy methods",
            DatasetId::TransactionTerms => "Transaction terms",
            DatasetId::TransportModes => "Transport modes",
            DatasetId::Units => "Units of measure",
            DatasetId::PackagingTypes => "Packaging types",
            DatasetId::LicenceCodes => "Licence codes",
            DatasetId::Holidays => "Public holidays (China)",
        }
    }

    /// Position in [`DatasetId::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How versions of a dataset combine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    /// The version in force replaces everything (e.g. tariff list 2023 replaces 2022).
    Whole,
    /// Each version holds one calendar year (label = the year) and all years are in force
    /// together, the latest loaded per year winning (holidays).
    PerYear,
}

/// One version of a dataset: what an admin uploads or what the binary ships.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DatasetVersion {
    /// Which dataset this version belongs to.
    pub dataset: DatasetId,
    /// Version label, e.g. `2023`; for [`DatasetKind::PerYear`] datasets the year.
    pub label: String,
    /// First day this version applies (for [`DatasetKind::Whole`] datasets).
    pub valid_from: chrono::NaiveDate,
    /// Where the data comes from (file, origin repository and commit, licence).
    pub source: String,
    /// The entries, in source order.
    pub entries: Vec<RefEntry>,
}
