//! The dataset versions shipped inside the binary, parsed from the files in the workspace
//! `data/` folder (embedded at compile time; nothing is read at run time).
//!
//! Provenance of every file: `data/SOURCES.md`.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::canonical::Rules;
use crate::csvfile::{self, CsvFile, clean, opt};
use crate::{DatasetId, DatasetVersion, RefDataError, RefEntry};

/// An embedded data file: its path below `data/` and its text.
type DataFile = (&'static str, &'static str);

macro_rules! data_file {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $path)),
        )
    };
}

const HS_SECTIONS: DataFile = data_file!("hs/sections.csv");
const HS: DataFile = data_file!("hs/harmonized-system.csv");
const TARIFF: [(&str, DataFile, DataFile); 2] = [
    (
        "2022",
        data_file!("tariff/cn_customs_stats/zh-hs8-2022.csv"),
        data_file!("tariff/cn_customs_stats/en-hs8-2022.csv"),
    ),
    (
        "2023",
        data_file!("tariff/cn_customs_stats/zh-hs8-2023.csv"),
        data_file!("tariff/cn_customs_stats/en-hs8-2023.csv"),
    ),
];
const ISO_COUNTRIES: DataFile = data_file!("iso/country-codes.csv");
const ISO_CURRENCIES: DataFile = data_file!("iso/currency-codes.csv");
const GACC_CURRENCIES: DataFile = data_file!("cn_customs_params/currencies.csv");
const CUSTOMS_COUNTRY_MAP: DataFile = data_file!("cn_customs_params/countries.csv");
const TRADING_PARTNER_ZH: DataFile = data_file!("cn_customs_stats/zh-TradingPartner.csv");
const TRADING_PARTNER_EN: DataFile = data_file!("cn_customs_stats/en-TradingPartner.csv");
const UNLOCODE: [DataFile; 2] = [
    data_file!("unlocode/unlocode_cn_hk_mo.csv"),
    data_file!("unlocode/unlocode_rcep_partners.csv"),
];
const UNLOCODE_FUNCTIONS: DataFile = data_file!("unlocode/function-classifiers.csv");
const CUSTOMS_DISTRICTS: DataFile = data_file!("cn_customs_params/customs_districts.csv");
const TRADE_MODES: DataFile = data_file!("cn_customs_params/trade_modes.csv");
const LEVY_NATURES: DataFile = data_file!("cn_customs_params/levy_natures.csv");
const LEVY_METHODS: DataFile = data_file!("cn_customs_params/levy_methods.csv");
const TRANSACTION_TERMS: DataFile = data_file!("cn_customs_params/transaction_terms.csv");
const TRANSPORT_MODES: DataFile = data_file!("cn_customs_params/transport_modes.csv");
const UNITS: DataFile = data_file!("cn_customs_params/units.csv");
const PACKAGING_TYPES: DataFile = data_file!("cn_customs_params/packaging_types.csv");
const LICENCE_CODES: DataFile = data_file!("cn_customs_params/licence_codes.csv");
const HOLIDAYS: [(i32, DataFile); 8] = [
    (2019, data_file!("holidays-cn/2019.json")),
    (2020, data_file!("holidays-cn/2020.json")),
    (2021, data_file!("holidays-cn/2021.json")),
    (2022, data_file!("holidays-cn/2022.json")),
    (2023, data_file!("holidays-cn/2023.json")),
    (2024, data_file!("holidays-cn/2024.json")),
    (2025, data_file!("holidays-cn/2025.json")),
    (2026, data_file!("holidays-cn/2026.json")),
];

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

const JAN_2019: NaiveDate = date(2019, 1, 1);
const JAN_2022: NaiveDate = date(2022, 1, 1);

const SRC_HS: &str = "github.com/datasets/harmonized-system@905e5a0fa29f5700d62cb3cc1265f21bc8a92329 (UN Comtrade H6 = HS 2022; ODC-PDDL-1.0)";
const SRC_CHINAUTILS: &str = "github.com/turbanisch/chinautils@bad4d68cbeb461474245ab6c2f02b1dea0aeb966 data-raw/china-customs-codes (GACC statistics portal stats.customs.gov.cn; MIT)";
const SRC_CESP: &str = "github.com/bellmit/CESP_WEB@96d37e8cbe1365494631a8ee3e30f5893d56d9d3 src/main/resources/sql/base_table_values (GACC code table, government data)";
const SRC_PARAMS: &str = "GACC declaration parameter tables; sources cited per row, see data/cn_customs_params/README.md";

/// Every dataset version shipped inside the binary, parsed: HS 2022 sections and codes, China
/// tariff lines 2022 and 2023, ISO countries and currencies, China customs country codes,
/// UN/LOCODE locations, the customs parameter tables and the holiday calendars 2019–2026.
///
/// The files are embedded with `include_str!` from the workspace `data/` folder (provenance in
/// `data/SOURCES.md`). Errors only if an embedded file is broken; the error names the file and
/// line. The crate's tests prove the shipped files parse.
pub fn shipped() -> Result<Vec<DatasetVersion>, RefDataError> {
    let mut out = vec![hs_sections()?, hs()?];
    for (label, zh, en) in TARIFF {
        out.push(tariff_lines(label, zh, en)?);
    }
    let customs_map = customs_country_map()?;
    out.push(countries(&customs_map)?);
    out.push(customs_countries(&customs_map)?);
    out.push(currencies()?);
    out.push(ports()?);
    out.push(customs_districts()?);
    out.push(trade_modes()?);
    out.push(levy_natures()?);
    out.push(levy_methods()?);
    out.push(transaction_terms()?);
    out.push(transport_modes()?);
    out.push(simple_table(DatasetId::Units, UNITS, &[])?);
    out.push(simple_table(
        DatasetId::PackagingTypes,
        PACKAGING_TYPES,
        &["welogix_old_code_mapping"],
    )?);
    out.push(simple_table(
        DatasetId::LicenceCodes,
        LICENCE_CODES,
        &["note"],
    )?);
    for (year, file) in HOLIDAYS {
        out.push(holidays(year, file)?);
    }
    Ok(out)
}

/// Read an embedded CSV file; errors carry the file name.
fn read(file: DataFile, strict: bool) -> Result<CsvFile, RefDataError> {
    csvfile::read(file.1, strict).map_err(|e| e.in_file(file.0))
}

/// Look up several columns at once.
fn cols<const N: usize>(csv: &CsvFile, names: [&str; N]) -> Result<[usize; N], RefDataError> {
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = csv.col(name)?;
    }
    Ok(out)
}

/// Check codes and uniqueness of `rows` (found in `file`) with the same rules as uploads.
fn check_rows(
    dataset: DatasetId,
    label: &str,
    file: &'static str,
    rows: &[(usize, RefEntry)],
) -> Result<(), RefDataError> {
    let check = || -> Result<(), RefDataError> {
        let rules = Rules::for_version(dataset, label)?;
        let mut first_line: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (line, entry) in rows {
            rules.check(*line, entry)?;
            if let Some(&first) = first_line.get(entry.code.as_str()) {
                return Err(RefDataError::DuplicateCode {
                    code: entry.code.clone(),
                    first_line: first,
                    line: *line,
                });
            }
            first_line.insert(&entry.code, *line);
        }
        if rows.is_empty() {
            return Err(RefDataError::Empty);
        }
        Ok(())
    };
    check().map_err(|e| e.in_file(file))
}

/// [`check_rows`], then build the version.
fn finish(
    dataset: DatasetId,
    label: &str,
    valid_from: NaiveDate,
    source: String,
    file: &'static str,
    rows: Vec<(usize, RefEntry)>,
) -> Result<DatasetVersion, RefDataError> {
    check_rows(dataset, label, file, &rows)?;
    Ok(DatasetVersion {
        dataset,
        label: label.to_owned(),
        valid_from,
        source,
        entries: rows.into_iter().map(|(_, e)| e).collect(),
    })
}

fn insert_opt(entry: &mut RefEntry, key: &str, value: Option<String>) {
    if let Some(v) = value {
        entry.attributes.insert(key.to_owned(), v);
    }
}

/// HS sections: `hs/sections.csv` (`section,name`, with a UTF-8 BOM).
fn hs_sections() -> Result<DatasetVersion, RefDataError> {
    let csv = read(HS_SECTIONS, true)?;
    let [c_section, c_name] =
        cols(&csv, ["section", "name"]).map_err(|e| e.in_file(HS_SECTIONS.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_section));
            e.name_en = r.opt(c_name);
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::HsSections,
        "2022",
        JAN_2022,
        format!("data/{} from {SRC_HS}", HS_SECTIONS.0),
        HS_SECTIONS.0,
        rows,
    )
}

/// HS codes: `hs/harmonized-system.csv` rows of level 2, 4 and 6; the TOTAL row and the
/// Comtrade "not specified" codes 99/9999/999999 (section `TOTAL`) are not WCO HS and dropped.
fn hs() -> Result<DatasetVersion, RefDataError> {
    let file = HS.0;
    let csv = read(HS, true)?;
    let [c_section, c_code, c_desc, c_parent, c_level] = cols(
        &csv,
        ["section", "hscode", "description", "parent", "level"],
    )
    .map_err(|e| e.in_file(file))?;
    let mut rows = Vec::with_capacity(csv.rows.len());
    for r in &csv.rows {
        let section = r.text(c_section);
        let level = r.text(c_level);
        if section == "TOTAL" || !matches!(level.as_str(), "2" | "4" | "6") {
            continue;
        }
        let code = r.text(c_code);
        if level.parse::<usize>().ok() != Some(code.len()) {
            return Err(RefDataError::BadField {
                line: r.line,
                field: "level".to_owned(),
                message: format!("level {level} does not match code `{code}`"),
            }
            .in_file(file));
        }
        let mut e = RefEntry::new(code);
        e.name_en = r.opt(c_desc);
        e.parent = if level == "2" { None } else { r.opt(c_parent) };
        e.attributes.insert("level".to_owned(), level);
        e.attributes.insert("section".to_owned(), section);
        rows.push((r.line, e));
    }
    finish(
        DatasetId::Hs,
        "2022",
        JAN_2022,
        format!("data/{file} from {SRC_HS}"),
        file,
        rows,
    )
}

/// One tariff-line file (zh or en): code → (line, description, unit1 code, unit1 name, unit2
/// code, unit2 name), in file order. The files have 7 columns plus a trailing comma; a unit
/// code `?` means "no second unit".
struct TariffRow {
    line: usize,
    code: String,
    description: Option<String>,
    unit1: Option<(String, Option<String>)>,
    unit2: Option<(String, Option<String>)>,
}

fn read_tariff_file(file: DataFile, year: &str) -> Result<Vec<TariffRow>, RefDataError> {
    let csv = read(file, true)?;
    let wrap = |e: RefDataError| e.in_file(file.0);
    if csv.header.len() != 8 {
        return Err(wrap(RefDataError::Header {
            expected: "7 columns (code, description, year, unit 1 code and name, unit 2 code and name) and a trailing comma".to_owned(),
            found: csv.header.join(","),
        }));
    }
    let unit = |code: String, name: Option<String>| {
        (!code.is_empty() && code != "?").then(|| (code, name.filter(|n| n != "?")))
    };
    let mut out = Vec::with_capacity(csv.rows.len());
    for r in &csv.rows {
        if r.text(2) != year {
            return Err(wrap(RefDataError::BadField {
                line: r.line,
                field: "year".to_owned(),
                message: format!("`{}` is not {year}", r.text(2)),
            }));
        }
        out.push(TariffRow {
            line: r.line,
            code: r.text(0),
            description: r.opt(1),
            unit1: unit(r.text(3), r.opt(4)),
            unit2: unit(r.text(5), r.opt(6)),
        });
    }
    Ok(out)
}

/// Tariff lines of one year: the zh and en files joined by code.
fn tariff_lines(label: &str, zh: DataFile, en: DataFile) -> Result<DatasetVersion, RefDataError> {
    let zh_rows = read_tariff_file(zh, label)?;
    let en_rows = read_tariff_file(en, label)?;
    let mut en_by_code: HashMap<&str, &TariffRow> =
        en_rows.iter().map(|r| (r.code.as_str(), r)).collect();
    let mut rows = Vec::with_capacity(zh_rows.len());
    for z in &zh_rows {
        let mut e = RefEntry::new(z.code.clone());
        e.name_zh = z.description.clone();
        e.parent = z.code.get(..6).map(str::to_owned);
        if let Some((code, name)) = &z.unit1 {
            e.attributes.insert("unit1_code".to_owned(), code.clone());
            insert_opt(&mut e, "unit1_name_zh", name.clone());
        }
        if let Some((code, name)) = &z.unit2 {
            e.attributes.insert("unit2_code".to_owned(), code.clone());
            insert_opt(&mut e, "unit2_name_zh", name.clone());
        }
        if let Some(en) = en_by_code.remove(z.code.as_str()) {
            e.name_en = en.description.clone();
            if z.unit1.is_some() {
                insert_opt(
                    &mut e,
                    "unit1_name_en",
                    en.unit1.as_ref().and_then(|u| u.1.clone()),
                );
            }
            if z.unit2.is_some() {
                insert_opt(
                    &mut e,
                    "unit2_name_en",
                    en.unit2.as_ref().and_then(|u| u.1.clone()),
                );
            }
        }
        rows.push((z.line, e));
    }
    if let Some(extra) = en_by_code.values().min_by_key(|r| r.line) {
        return Err(RefDataError::BadField {
            line: extra.line,
            field: "code".to_owned(),
            message: format!("`{}` is not in {}", extra.code, zh.0),
        }
        .in_file(en.0));
    }
    finish(
        DatasetId::TariffLines,
        label,
        date_of_year(label).map_err(|e| e.in_file(zh.0))?,
        format!("data/{} and data/{} from {SRC_CHINAUTILS}", zh.0, en.0),
        zh.0,
        rows,
    )
}

/// 1 January of the year `label`.
fn date_of_year(label: &str) -> Result<NaiveDate, RefDataError> {
    label
        .parse::<i32>()
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
        .ok_or_else(|| RefDataError::BadLabel {
            label: label.to_owned(),
            message: "not a year".to_owned(),
        })
}

/// `cn_customs_params/countries.csv`: old 3-digit customs code ↔ 3-letter code.
struct CustomsCountryMap {
    /// ISO alpha-3 → customs 3-digit code (only rows whose `iso_check` is `iso3166_alpha3`).
    customs_by_alpha3: HashMap<String, String>,
    /// customs 3-digit code → (3-letter code, iso_check) for every row with a 3-letter code.
    alpha3_by_customs: HashMap<String, (String, String)>,
}

fn customs_country_map() -> Result<CustomsCountryMap, RefDataError> {
    let file = CUSTOMS_COUNTRY_MAP;
    let csv = read(file, true)?;
    let [c_a3, c_num, c_check] = cols(&csv, ["code_alpha3", "code_old_numeric", "iso_check"])
        .map_err(|e| e.in_file(file.0))?;
    let mut map = CustomsCountryMap {
        customs_by_alpha3: HashMap::new(),
        alpha3_by_customs: HashMap::new(),
    };
    for r in &csv.rows {
        let (a3, num, check) = (r.text(c_a3), r.text(c_num), r.text(c_check));
        if a3.is_empty() {
            continue;
        }
        if check == "iso3166_alpha3" {
            map.customs_by_alpha3.insert(a3.clone(), num.clone());
        }
        map.alpha3_by_customs.insert(num, (a3, check));
    }
    Ok(map)
}

/// Countries: ISO 3166-1 from `iso/country-codes.csv`.
///
/// name_en = `official_name_en` (the UN M49 English name; `CLDR display name` is shorter but
/// colloquial, e.g. "UK"); name_zh = `UNTERM Chinese Short`, falling back to
/// `official_name_cn` where UNTERM has none (Hong Kong, Macao, Taiwan, dependent territories,
/// Türkiye), with UNTERM's footnote asterisks removed. `numeric` is zero-padded to 3 digits.
fn countries(map: &CustomsCountryMap) -> Result<DatasetVersion, RefDataError> {
    let file = ISO_COUNTRIES;
    let csv = read(file, true)?;
    let [c_a3, c_a2, c_num, c_en, c_zh, c_zh_official] = cols(
        &csv,
        [
            "ISO3166-1-Alpha-3",
            "ISO3166-1-Alpha-2",
            "ISO3166-1-numeric",
            "official_name_en",
            "UNTERM Chinese Short",
            "official_name_cn",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let mut rows = Vec::with_capacity(csv.rows.len());
    for r in &csv.rows {
        let a3 = r.text(c_a3);
        if a3.is_empty() {
            continue;
        }
        let mut e = RefEntry::new(a3);
        e.name_en = r.opt(c_en);
        e.name_zh = opt(r.raw(c_zh).trim().trim_end_matches('*'))
            .or_else(|| opt(r.raw(c_zh_official).trim().trim_end_matches('*')));
        insert_opt(&mut e, "alpha2", r.opt(c_a2));
        let numeric = r.text(c_num);
        if !numeric.is_empty() {
            e.attributes
                .insert("numeric".to_owned(), format!("{numeric:0>3}"));
        }
        if let Some(customs) = map.customs_by_alpha3.get(&e.code) {
            e.attributes
                .insert("customs_code".to_owned(), customs.clone());
        }
        rows.push((r.line, e));
    }
    finish(
        DatasetId::Countries,
        "2025",
        JAN_2019,
        format!(
            "data/{} from github.com/datasets/country-codes@caa72d1e0e5af8876c170bb36a9e4d64a01bba88 (ODC-PDDL-1.0); customs_code from data/{} ({SRC_CESP} base_country_info.sql)",
            file.0, CUSTOMS_COUNTRY_MAP.0
        ),
        file.0,
        rows,
    )
}

/// One TradingPartner file: code → name. Names may contain unquoted commas (`109,Korea,DPR,`),
/// so everything between the code and the trailing empty field is the name.
fn trading_partners(file: DataFile) -> Result<Vec<(usize, String, Option<String>)>, RefDataError> {
    let csv = read(file, false)?;
    let mut out = Vec::with_capacity(csv.rows.len());
    for r in &csv.rows {
        let fields: Vec<&str> = r.record.iter().collect();
        let mut name_fields = fields.get(1..).unwrap_or(&[]);
        if let Some((last, rest)) = name_fields.split_last()
            && last.trim().is_empty()
        {
            name_fields = rest;
        }
        out.push((r.line, r.text(0), opt(&name_fields.join(","))));
    }
    Ok(out)
}

/// China customs 3-digit country codes from the zh and en TradingPartner files, with the
/// 3-letter code of `cn_customs_params/countries.csv` as attribute `alpha3` (and `iso_check`
/// for the three codes that are not ISO 3166-1).
fn customs_countries(map: &CustomsCountryMap) -> Result<DatasetVersion, RefDataError> {
    let zh = trading_partners(TRADING_PARTNER_ZH)?;
    let en: HashMap<String, Option<String>> = trading_partners(TRADING_PARTNER_EN)?
        .into_iter()
        .map(|(_, code, name)| (code, name))
        .collect();
    let mut rows = Vec::with_capacity(zh.len());
    for (line, code, name_zh) in zh {
        let mut e = RefEntry::new(code);
        e.name_zh = name_zh;
        e.name_en = en.get(&e.code).cloned().flatten();
        if let Some((a3, check)) = map.alpha3_by_customs.get(&e.code) {
            e.attributes.insert("alpha3".to_owned(), a3.clone());
            if check != "iso3166_alpha3" {
                e.attributes.insert("iso_check".to_owned(), check.clone());
            }
        }
        rows.push((line, e));
    }
    finish(
        DatasetId::CustomsCountries,
        "2019",
        JAN_2019,
        format!(
            "data/{} and data/{} from {SRC_CHINAUTILS}; alpha3 from data/{} ({SRC_CESP} base_country_info.sql)",
            TRADING_PARTNER_ZH.0, TRADING_PARTNER_EN.0, CUSTOMS_COUNTRY_MAP.0
        ),
        TRADING_PARTNER_ZH.0,
        rows,
    )
}

/// Currencies: ISO 4217 codes in use (no withdrawal date) from `iso/currency-codes.csv`, one
/// entry per alphabetic code with the first entity and the number of entities using it.
/// Chinese names and the old customs 3-digit currency code come from the GACC currency table
/// (`cn_customs_params/currencies.csv`, 22 currencies). A minor unit of `-` (ISO "N.A.") is
/// omitted.
fn currencies() -> Result<DatasetVersion, RefDataError> {
    let gacc_csv = read(GACC_CURRENCIES, true)?;
    let [g_code, g_customs, g_zh] = cols(&gacc_csv, ["code", "customs_code", "name_zh"])
        .map_err(|e| e.in_file(GACC_CURRENCIES.0))?;
    let gacc: HashMap<String, (String, Option<String>)> = gacc_csv
        .rows
        .iter()
        .map(|r| (r.text(g_code), (r.text(g_customs), r.opt(g_zh))))
        .collect();

    let file = ISO_CURRENCIES;
    let csv = read(file, true)?;
    let [c_entity, c_name, c_code, c_num, c_minor, c_withdrawn] = cols(
        &csv,
        [
            "Entity",
            "Currency",
            "AlphabeticCode",
            "NumericCode",
            "MinorUnit",
            "WithdrawalDate",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let mut rows: Vec<(usize, RefEntry)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut entity_count: Vec<usize> = Vec::new();
    for r in &csv.rows {
        let code = r.text(c_code);
        if code.is_empty() || !r.text(c_withdrawn).is_empty() {
            continue;
        }
        if let Some(&i) = index.get(&code) {
            entity_count[i] += 1;
            continue;
        }
        let mut e = RefEntry::new(code.clone());
        e.name_en = r.opt(c_name);
        insert_opt(&mut e, "numeric", r.opt(c_num));
        insert_opt(&mut e, "minor_unit", r.opt(c_minor).filter(|m| m != "-"));
        insert_opt(&mut e, "entity", r.opt(c_entity));
        if let Some((customs, zh)) = gacc.get(&code) {
            e.name_zh = zh.clone();
            e.attributes
                .insert("customs_code".to_owned(), customs.clone());
        }
        index.insert(code, rows.len());
        entity_count.push(1);
        rows.push((r.line, e));
    }
    for ((_, e), n) in rows.iter_mut().zip(entity_count) {
        e.attributes
            .insert("entity_count".to_owned(), n.to_string());
    }
    finish(
        DatasetId::Currencies,
        "current",
        JAN_2019,
        format!(
            "data/{} from github.com/datasets/currency-codes@ab9b0ae88e8bffd4ac1c468ce9c784738d3376ba (ODC-PDDL-1.0); name_zh and customs_code from data/{} ({SRC_CESP} base_currency_info.sql)",
            file.0, GACC_CURRENCIES.0
        ),
        file.0,
        rows,
    )
}

/// Kind names for UN/LOCODE function codes.
const FUNCTION_KINDS: [(char, &str); 10] = [
    ('1', "port"),
    ('2', "rail"),
    ('3', "road"),
    ('4', "airport"),
    ('5', "postal"),
    ('6', "icd"),
    ('7', "fixed"),
    ('8', "inland_water"),
    ('A', "sez"),
    ('B', "border"),
];

/// Ports: UN/LOCODE rows of the two files. Rows without a location code (the `=` cross
/// references such as "Peking = Beijing") are skipped. A code listed twice (KHPPT under two
/// spellings) is kept once, the other names in attribute `alt_names`. `kinds` decodes the
/// function string with the codes of `unlocode/function-classifiers.csv` (0 = not officially
/// functional adds no kind).
fn ports() -> Result<DatasetVersion, RefDataError> {
    let fc = read(UNLOCODE_FUNCTIONS, true)?;
    let c_fc = fc
        .col("FunctionCode")
        .map_err(|e| e.in_file(UNLOCODE_FUNCTIONS.0))?;
    let known: Vec<char> = fc
        .rows
        .iter()
        .filter_map(|r| r.text(c_fc).chars().next())
        .collect();

    let mut rows: Vec<(usize, RefEntry)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut files = Vec::new();
    for file in UNLOCODE {
        files.push(format!("data/{}", file.0));
        let first_row_of_file = rows.len();
        let csv = read(file, true)?;
        let wrap = |e: RefDataError| e.in_file(file.0);
        let [
            c_country,
            c_loc,
            c_name,
            c_name_ascii,
            c_sub,
            c_fun,
            c_status,
            c_iata,
            c_coord,
        ] = cols(
            &csv,
            [
                "Country",
                "Location",
                "Name",
                "NameWoDiacritics",
                "Subdivision",
                "Function",
                "Status",
                "IATA",
                "Coordinates",
            ],
        )
        .map_err(wrap)?;
        for r in &csv.rows {
            let location = r.text(c_loc);
            if location.is_empty() {
                continue;
            }
            let country = r.text(c_country);
            let code = format!("{country}{location}");
            let name = r.opt(c_name);
            if let Some(&i) = index.get(&code) {
                if let Some(name) = name {
                    let e = &mut rows[i].1;
                    if e.name_en.as_deref() != Some(name.as_str()) {
                        let alt = e.attributes.entry("alt_names".to_owned()).or_default();
                        if !alt.is_empty() {
                            alt.push_str("; ");
                        }
                        alt.push_str(&name);
                    }
                }
                continue;
            }
            let function = r.text(c_fun);
            let mut kinds: Vec<&str> = Vec::new();
            for c in function.chars().filter(|&c| c != '-') {
                if !known.contains(&c) {
                    return Err(wrap(RefDataError::BadField {
                        line: r.line,
                        field: "Function".to_owned(),
                        message: format!(
                            "`{c}` is not a function code of {}",
                            UNLOCODE_FUNCTIONS.0
                        ),
                    }));
                }
                if let Some((_, kind)) = FUNCTION_KINDS.iter().find(|(k, _)| *k == c)
                    && !kinds.contains(kind)
                {
                    kinds.push(kind);
                }
            }
            let mut e = RefEntry::new(code.clone());
            e.name_en = name;
            e.parent = opt(&country);
            if let Some(ascii) = r.opt(c_name_ascii)
                && e.name_en.as_deref() != Some(ascii.as_str())
            {
                e.attributes.insert("name_ascii".to_owned(), ascii);
            }
            insert_opt(&mut e, "subdivision", r.opt(c_sub));
            insert_opt(&mut e, "function", opt(&function));
            insert_opt(&mut e, "status", r.opt(c_status));
            insert_opt(&mut e, "iata", r.opt(c_iata));
            insert_opt(&mut e, "coordinates", r.opt(c_coord));
            if !kinds.is_empty() {
                e.attributes.insert("kinds".to_owned(), kinds.join(","));
            }
            index.insert(code, rows.len());
            rows.push((r.line, e));
        }
        check_rows(
            DatasetId::Ports,
            PORTS_LABEL,
            file.0,
            &rows[first_row_of_file..],
        )?;
    }
    Ok(DatasetVersion {
        dataset: DatasetId::Ports,
        label: PORTS_LABEL.to_owned(),
        valid_from: JAN_2019,
        source: format!(
            "{} from github.com/ophpl/unlocode@4055d030f37e4723112e3af14eeb65afd97e139d (UNECE UN/LOCODE as refreshed 2022-08-31; repo MIT, content UNECE); function codes data/{} from github.com/datasets/un-locode@b1309b37edea63334a819a78c22b8967f61c37ad (ODC-PDDL-1.0)",
            files.join(" and "),
            UNLOCODE_FUNCTIONS.0
        ),
        entries: rows.into_iter().map(|(_, e)| e).collect(),
    })
}

const PORTS_LABEL: &str = "2022-08-31";

/// Customs districts (关区代码): name_zh = the 2021 name where known, else the table's short
/// name (kept as attribute `short_name_zh`); parent, level, location_2021, note as given.
fn customs_districts() -> Result<DatasetVersion, RefDataError> {
    let file = CUSTOMS_DISTRICTS;
    let csv = read(file, true)?;
    let [c_code, c_zh, c_zh21, c_en, c_parent, c_level, c_loc, c_note] = cols(
        &csv,
        [
            "code",
            "name_zh",
            "name_zh_2021",
            "name_en",
            "parent_code",
            "level",
            "location_2021",
            "note",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            e.name_zh = r.opt(c_zh21).or_else(|| r.opt(c_zh));
            e.name_en = r.opt(c_en);
            e.parent = r.opt(c_parent);
            insert_opt(&mut e, "short_name_zh", r.opt(c_zh));
            insert_opt(&mut e, "level", r.opt(c_level));
            insert_opt(&mut e, "location_2021", r.opt(c_loc));
            insert_opt(&mut e, "note", r.opt(c_note));
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::CustomsDistricts,
        "2021",
        JAN_2019,
        format!(
            "data/{} ({SRC_CESP} base_customs_info.sql; 2021 Shenzhen names from github.com/2247407869/my-code-library@43f63e7e1bdc195cc3b47a562131a09383a1ad09)",
            file.0
        ),
        file.0,
        rows,
    )
}

/// Trade modes (监管方式): name_zh = full name (short name where the full one is unknown).
fn trade_modes() -> Result<DatasetVersion, RefDataError> {
    let file = TRADE_MODES;
    let csv = read(file, true)?;
    let [c_code, c_short, c_full, c_en, c_short17, c_note] = cols(
        &csv,
        [
            "code",
            "short_name_zh",
            "full_name_zh",
            "name_en",
            "short_name_zh_2017",
            "note",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            e.name_zh = r.opt(c_full).or_else(|| r.opt(c_short));
            e.name_en = r.opt(c_en);
            insert_opt(&mut e, "short_name_zh", r.opt(c_short));
            insert_opt(&mut e, "short_name_zh_2017", r.opt(c_short17));
            insert_opt(&mut e, "note", r.opt(c_note));
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::TradeModes,
        "2019",
        JAN_2019,
        format!(
            "data/{} ({SRC_PARAMS}; mainly {SRC_CESP} base_trade_mode.sql)",
            file.0
        ),
        file.0,
        rows,
    )
}

/// Levy natures (征免性质): name_zh = full name (short name where the full one is empty).
fn levy_natures() -> Result<DatasetVersion, RefDataError> {
    let file = LEVY_NATURES;
    let csv = read(file, true)?;
    let [c_code, c_short, c_full, c_short10, c_full10] = cols(
        &csv,
        [
            "code",
            "short_name_zh",
            "full_name_zh",
            "short_name_zh_2010",
            "full_name_zh_2010",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            e.name_zh = r.opt(c_full).or_else(|| r.opt(c_short));
            insert_opt(&mut e, "short_name_zh", r.opt(c_short));
            insert_opt(&mut e, "short_name_zh_2010", r.opt(c_short10));
            insert_opt(&mut e, "full_name_zh_2010", r.opt(c_full10));
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::LevyNatures,
        "2019",
        JAN_2019,
        format!(
            "data/{} (github.com/rhj-python/customs_edi@19daa20a9e68a8d63b0745d2933d0c6829c83583 customs_edi.sql, 2017; 2010 names from old.hscode.net)",
            file.0
        ),
        file.0,
        rows,
    )
}

/// Levy methods (征减免税方式): code, name_zh; the other sources' wording kept as attributes
/// where it differs.
fn levy_methods() -> Result<DatasetVersion, RefDataError> {
    let file = LEVY_METHODS;
    let csv = read(file, true)?;
    let [c_code, c_zh, c_v17, c_vw] = cols(
        &csv,
        [
            "code",
            "name_zh",
            "name_zh_variant_2017",
            "name_zh_variant_welogix",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            e.name_zh = r.opt(c_zh);
            for (key, col) in [
                ("name_zh_variant_2017", c_v17),
                ("name_zh_variant_welogix", c_vw),
            ] {
                let variant = r.opt(col).filter(|v| Some(v) != e.name_zh.as_ref());
                insert_opt(&mut e, key, variant);
            }
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::LevyMethods,
        "2019",
        JAN_2019,
        format!("data/{} ({SRC_CESP} base_tax_exemption_method.sql)", file.0),
        file.0,
        rows,
    )
}

/// Transaction terms (成交方式): the Incoterm-style names (CIF, C&F, FOB, C&I) are name_en, the
/// Chinese ones (5 市场价, 6 垫仓) name_zh.
fn transaction_terms() -> Result<DatasetVersion, RefDataError> {
    let file = TRANSACTION_TERMS;
    let csv = read(file, true)?;
    let [c_code, c_name] = cols(&csv, ["code", "name"]).map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            let name = r.opt(c_name);
            if name.as_deref().is_some_and(|n| n.is_ascii()) {
                e.name_en = name;
            } else {
                e.name_zh = name;
            }
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::TransactionTerms,
        "2019",
        JAN_2019,
        format!("data/{} ({SRC_CESP} base_transaction_mode.sql)", file.0),
        file.0,
        rows,
    )
}

/// Transport modes (运输方式): the 18 current codes plus legacy `A` (no current name).
fn transport_modes() -> Result<DatasetVersion, RefDataError> {
    let file = TRANSPORT_MODES;
    let csv = read(file, true)?;
    let [c_code, c_zh, c_ciq, c_ciq_zh, c_cesp, c_desc] = cols(
        &csv,
        [
            "code",
            "name_zh",
            "former_ciq_code",
            "former_ciq_name_zh",
            "name_zh_cesp_web",
            "description_zh",
        ],
    )
    .map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            e.name_zh = r.opt(c_zh);
            insert_opt(&mut e, "former_ciq_code", r.opt(c_ciq));
            insert_opt(&mut e, "former_ciq_name_zh", r.opt(c_ciq_zh));
            insert_opt(&mut e, "name_zh_cesp_web", r.opt(c_cesp));
            insert_opt(&mut e, "description_zh", r.opt(c_desc));
            (r.line, e)
        })
        .collect();
    finish(
        DatasetId::TransportModes,
        "2019",
        JAN_2019,
        format!(
            "data/{} ({SRC_PARAMS}; sz-qihai.com and hs.likelic.com pages, WeLogix cms.js, CESP_WEB base_transport_info.sql)",
            file.0
        ),
        file.0,
        rows,
    )
}

/// A table with `code`, `name_zh` and optional attribute columns (units, packaging types,
/// licence codes).
fn simple_table(
    dataset: DatasetId,
    file: DataFile,
    attributes: &[&str],
) -> Result<DatasetVersion, RefDataError> {
    let csv = read(file, true)?;
    let [c_code, c_zh] = cols(&csv, ["code", "name_zh"]).map_err(|e| e.in_file(file.0))?;
    let attr_cols = attributes
        .iter()
        .map(|a| csv.col(a).map(|c| (*a, c)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.in_file(file.0))?;
    let rows = csv
        .rows
        .iter()
        .map(|r| {
            let mut e = RefEntry::new(r.text(c_code));
            e.name_zh = r.opt(c_zh);
            for (key, col) in &attr_cols {
                insert_opt(&mut e, key, r.opt(*col));
            }
            (r.line, e)
        })
        .collect();
    let origin = match dataset {
        DatasetId::Units => format!("{SRC_CESP} base_unit_info.sql; checked against github.com/honan-wang/vvvv-custom@8285d32d3f77413cb25d2d3952d7f6be567b5062"),
        DatasetId::PackagingTypes => "github.com/WeLogix/welogix-saas-web@94715b3f56a4787350a6ca470b77bd447441448b common/constants/sof.js (MIT)".to_owned(),
        _ => format!("{SRC_PARAMS}; partial"),
    };
    finish(
        dataset,
        "2019",
        JAN_2019,
        format!("data/{} ({origin})", file.0),
        file.0,
        rows,
    )
}

#[derive(serde::Deserialize)]
struct HolidayFile {
    year: i32,
    #[serde(default)]
    papers: Vec<String>,
    days: Vec<HolidayDay>,
}

#[derive(serde::Deserialize)]
struct HolidayDay {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// One holiday-cn year file. A file can hold dates of the previous December (2019.json starts
/// 2018-12-29, 2023.json has 2022-12-31): they are kept in that year's version, as published.
fn holidays(year: i32, file: DataFile) -> Result<DatasetVersion, RefDataError> {
    let wrap = |e: RefDataError| e.in_file(file.0);
    let parsed: HolidayFile = serde_json::from_str(file.1).map_err(|e| {
        wrap(RefDataError::Json {
            line: e.line(),
            message: e.to_string(),
        })
    })?;
    if parsed.year != year {
        return Err(wrap(RefDataError::BadField {
            line: 1,
            field: "year".to_owned(),
            message: format!("{} does not match the file name {year}", parsed.year),
        }));
    }
    let papers = parsed.papers.join(" ");
    // serde gives no positions for values: find the line of each `"date"` key in the text
    // (the days are the only objects with that key), falling back to the position in `days`.
    let date_lines = json_key_lines(file.1, "\"date\"");
    let rows = parsed
        .days
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let mut e = RefEntry::new(clean(&d.date));
            e.name_zh = opt(&d.name);
            e.attributes
                .insert("off_day".to_owned(), d.is_off_day.to_string());
            if !papers.is_empty() {
                e.attributes.insert("paper".to_owned(), papers.clone());
            }
            (date_lines.get(i).copied().unwrap_or(i + 1), e)
        })
        .collect::<Vec<_>>();
    let label = year.to_string();
    finish(
        DatasetId::Holidays,
        &label,
        date_of_year(&label).map_err(wrap)?,
        format!(
            "data/{} from github.com/NateScarlet/holiday-cn@d4e53bf2143de9a85bbd0a916c6c4adac32b075f (MIT)",
            file.0
        ),
        file.0,
        rows,
    )
}

/// 1-based line numbers of every occurrence of `key` in `text`, in one pass.
fn json_key_lines(text: &str, key: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut line = 1;
    let mut pos = 0;
    for (at, _) in text.match_indices(key) {
        line += text.as_bytes()[pos..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        pos = at;
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holiday_rows_know_their_lines() {
        let text = "{\n \"days\": [\n  {\"date\": \"2019-01-01\"},\n\n  {\"date\": \"x\"}\n ]\n}";
        assert_eq!(json_key_lines(text, "\"date\""), [3, 5]);
    }

    #[test]
    fn trading_partner_names_with_commas() {
        let rows = trading_partners(TRADING_PARTNER_EN).unwrap();
        let korea = rows.iter().find(|r| r.1 == "133").unwrap();
        assert_eq!(korea.2.as_deref(), Some("Korea, Rep."));
    }
}
