//! Behaviour of the shipped reference data, the canonical CSV format and the catalog.

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::NaiveDate;
use tongguan_refdata::{
    Catalog, DatasetId, DatasetKind, DatasetVersion, RefEntry, parse_canonical_csv, shipped,
    to_canonical_csv,
};

fn all_shipped() -> &'static [DatasetVersion] {
    static SHIPPED: OnceLock<Vec<DatasetVersion>> = OnceLock::new();
    SHIPPED.get_or_init(|| shipped().expect("shipped data parses"))
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn catalog_on(today: &str) -> Catalog {
    Catalog::build(all_shipped().to_vec(), day(today))
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| catalog_on("2024-05-01"))
}

fn versions_of(dataset: DatasetId) -> Vec<&'static DatasetVersion> {
    all_shipped()
        .iter()
        .filter(|v| v.dataset == dataset)
        .collect()
}

fn only_version(dataset: DatasetId) -> &'static DatasetVersion {
    let v = versions_of(dataset);
    assert_eq!(v.len(), 1, "{dataset}");
    v[0]
}

#[test]
fn every_dataset_is_shipped_with_plausible_counts() {
    let count = |d| only_version(d).entries.len();
    assert_eq!(count(DatasetId::HsSections), 21);
    assert_eq!(count(DatasetId::Countries), 249);
    assert_eq!(count(DatasetId::CustomsCountries), 243);
    assert_eq!(count(DatasetId::Currencies), 178);
    assert_eq!(count(DatasetId::Ports), 9409);
    assert_eq!(count(DatasetId::CustomsDistricts), 996);
    assert_eq!(count(DatasetId::TradeModes), 100);
    assert_eq!(count(DatasetId::LevyNatures), 45);
    assert_eq!(count(DatasetId::LevyMethods), 9);
    assert_eq!(count(DatasetId::TransactionTerms), 6);
    assert_eq!(count(DatasetId::TransportModes), 19);
    assert_eq!(count(DatasetId::Units), 123);
    assert_eq!(count(DatasetId::PackagingTypes), 14);
    assert_eq!(count(DatasetId::LicenceCodes), 34);

    let hs = only_version(DatasetId::Hs);
    let level = |n: &str| {
        hs.entries
            .iter()
            .filter(|e| e.attr("level") == Some(n))
            .count()
    };
    assert_eq!(level("2"), 96, "chapters (without Comtrade's 99)");
    assert_eq!(level("4"), 1228, "headings");
    assert_eq!(level("6"), 5612, "subheadings");
    assert_eq!(hs.entries.len(), 96 + 1228 + 5612);
    assert!(hs.entries.iter().all(|e| !e.code.starts_with("99")));
    // Every heading and subheading hangs under an existing code.
    let codes: HashSet<&str> = hs.entries.iter().map(|e| e.code.as_str()).collect();
    for e in &hs.entries {
        match &e.parent {
            None => assert_eq!(e.code.len(), 2),
            Some(p) => assert!(codes.contains(p.as_str()) && e.code.starts_with(p.as_str())),
        }
    }

    let tariff: Vec<(&str, usize)> = versions_of(DatasetId::TariffLines)
        .iter()
        .map(|v| (v.label.as_str(), v.entries.len()))
        .collect();
    assert_eq!(tariff, [("2022", 8939), ("2023", 8957)]);

    let holidays: Vec<(&str, usize)> = versions_of(DatasetId::Holidays)
        .iter()
        .map(|v| (v.label.as_str(), v.entries.len()))
        .collect();
    assert_eq!(
        holidays,
        [
            ("2019", 31),
            ("2020", 37),
            ("2021", 38),
            ("2022", 38),
            ("2023", 34),
            ("2024", 36),
            ("2025", 33),
            ("2026", 39)
        ]
    );

    // Every dataset has at least one version, each version names its source commit.
    for d in DatasetId::ALL {
        assert!(!versions_of(d).is_empty(), "{d} shipped");
    }
    for v in all_shipped() {
        assert!(v.source.contains("data/"), "{}: {}", v.dataset, v.source);
        assert!(!v.entries.is_empty());
    }
}

#[test]
fn shipped_parsing_is_fast_enough() {
    // Runs at server start; the bar is "well under a second" in release builds. Debug
    // builds are several times slower, so only guard against pathological regressions.
    let start = std::time::Instant::now();
    let versions = shipped().unwrap();
    let catalog = Catalog::build(versions, day("2024-05-01"));
    let elapsed = start.elapsed();
    assert!(catalog.contains(DatasetId::Hs, "8471"));
    eprintln!("shipped() + Catalog::build: {elapsed:?}");
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
}

#[test]
fn hs_subheading_for_portable_computers() {
    let e = catalog().get(DatasetId::Hs, "847130").unwrap();
    assert!(e.name_en.as_deref().unwrap().contains("portable"));
    assert_eq!(e.parent.as_deref(), Some("8471"));
    assert_eq!(e.attr("section"), Some("XVI"));
    assert_eq!(e.attr("level"), Some("6"));
    let chapter = catalog().get(DatasetId::Hs, "84").unwrap();
    assert_eq!(chapter.parent, None);
    assert!(
        catalog()
            .children(DatasetId::Hs, "84")
            .iter()
            .any(|h| h.code == "8471")
    );
    let section = catalog().get(DatasetId::HsSections, "XVI").unwrap();
    assert!(section.name_en.as_deref().unwrap().starts_with("Machinery"));
}

#[test]
fn tariff_version_in_force_depends_on_the_date() {
    let c = catalog();
    assert_eq!(c.version_in_force(DatasetId::TariffLines), Some("2023"));
    // China splits HS 8471.30 into 8471.30.10 (tablets) and 8471.30.90 (other portable
    // computers); there is no line 84713000.
    assert!(!c.contains(DatasetId::TariffLines, "84713000"));
    let lines: Vec<&str> = c
        .children(DatasetId::TariffLines, "847130")
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(lines, ["84713010", "84713090"]);
    let line = c.get(DatasetId::TariffLines, "84713090").unwrap();
    assert_eq!(line.parent.as_deref(), Some("847130"));
    assert!(
        line.name_zh
            .as_deref()
            .unwrap()
            .contains("便携式自动数据处理设备")
    );
    assert!(line.name_en.is_some());
    assert_eq!(line.attr("unit1_code"), Some("01"));
    assert_eq!(line.attr("unit1_name_zh"), Some("台"));
    assert_eq!(line.attr("unit1_name_en"), Some("Number of item"));
    assert_eq!(line.attr("unit2_code"), Some("09"));
    assert_eq!(line.attr("unit2_name_zh"), Some("千克"));
    // A line with a second statistical unit.
    let horse = c.get(DatasetId::TariffLines, "01012100").unwrap();
    assert_eq!(horse.attr("unit1_name_zh"), Some("千克"));
    assert_eq!(horse.attr("unit2_code"), Some("01"));
    assert_eq!(horse.attr("unit2_name_zh"), Some("头"));
    assert_eq!(c.entries(DatasetId::TariffLines).len(), 8957);

    let c2022 = catalog_on("2022-06-01");
    assert_eq!(c2022.version_in_force(DatasetId::TariffLines), Some("2022"));
    assert_eq!(c2022.entries(DatasetId::TariffLines).len(), 8939);
    assert!(c2022.contains(DatasetId::TariffLines, "84713090"));
    // A line that only exists from 2023.
    let new_in_2023 = c
        .entries(DatasetId::TariffLines)
        .iter()
        .find(|e| !c2022.contains(DatasetId::TariffLines, &e.code))
        .expect("2023 adds lines");
    assert!(c.contains(DatasetId::TariffLines, &new_in_2023.code));
    let in_force: Vec<(String, bool)> = c2022
        .versions()
        .into_iter()
        .filter(|v| v.dataset == DatasetId::TariffLines)
        .map(|v| (v.label, v.in_force))
        .collect();
    assert_eq!(
        in_force,
        [("2022".to_owned(), true), ("2023".to_owned(), false)]
    );
    // Descriptions spread over several lines in the source are joined into one.
    assert!(c.entries(DatasetId::TariffLines).iter().all(|e| {
        [&e.name_en, &e.name_zh]
            .into_iter()
            .flatten()
            .all(|n| !n.contains(['\n', '\r']) && n.trim() == n)
    }));
    // Quotes inside descriptions survive (repaired in the English file).
    let tyre = c.get(DatasetId::TariffLines, "40119010").unwrap();
    assert_eq!(
        tyre.name_en.as_deref(),
        Some("New rubber pneumatic tyres with \"herring-bone\" or similar tread")
    );
}

#[test]
fn customs_districts_search_and_children() {
    let c = catalog();
    let (hits, total) = c.search(DatasetId::CustomsDistricts, "深圳", 50, 0);
    assert!(total >= 1);
    assert!(hits.iter().any(|e| e.code == "5300"));
    let children = c.children(DatasetId::CustomsDistricts, "5300");
    let huanggang = children.iter().find(|e| e.code == "5301").unwrap();
    assert_eq!(huanggang.name_zh.as_deref(), Some("皇岗海关"));
    assert!(children.len() > 40);
    assert!(children.windows(2).all(|w| w[0].code < w[1].code));
    // 2021 names win over the 2018/19 short names, which stay as an attribute.
    let futian = c.get(DatasetId::CustomsDistricts, "5321").unwrap();
    assert_eq!(futian.name_zh.as_deref(), Some("福田海关"));
    assert_eq!(futian.attr("short_name_zh"), Some("福保税关"));
    // Exact code first, then code prefixes.
    let (hits, _) = c.search(DatasetId::CustomsDistricts, "5301", 5, 0);
    assert_eq!(hits[0].code, "5301");
}

#[test]
fn ports_search_and_kinds() {
    let c = catalog();
    let (hits, total) = c.search(DatasetId::Ports, "shenzhen", 100, 0);
    assert!(total >= 2);
    assert!(hits.iter().any(|e| e.code == "CNSZP"));
    let szp = c.get(DatasetId::Ports, "CNSZP").unwrap();
    assert_eq!(szp.parent.as_deref(), Some("CN"));
    assert_eq!(szp.attr("kinds"), Some("port"));
    assert_eq!(szp.attr("subdivision"), Some("GD"));
    let szx = c.get(DatasetId::Ports, "CNSZX").unwrap();
    assert_eq!(szx.attr("kinds"), Some("airport,postal"));
    let hkg = c.get(DatasetId::Ports, "HKHKG").unwrap();
    assert_eq!(hkg.attr("kinds"), Some("port,airport,postal"));
    // A code listed twice upstream is kept once with the other spelling.
    let poipet = c.get(DatasetId::Ports, "KHPPT").unwrap();
    assert!(poipet.attr("alt_names").is_some());
    // Pages: the total does not depend on the page.
    let (page2, total2) = c.search(DatasetId::Ports, "shenzhen", 1, 1);
    assert_eq!((page2.len(), total2), (1, total));
    assert!(c.children(DatasetId::Ports, "HK").len() > 50);
}

#[test]
fn countries_and_customs_countries() {
    let c = catalog();
    let chn = c.get(DatasetId::Countries, "CHN").unwrap();
    assert_eq!(chn.attr("alpha2"), Some("CN"));
    assert_eq!(chn.attr("customs_code"), Some("142"));
    assert_eq!(chn.attr("numeric"), Some("156"));
    assert_eq!(chn.name_zh.as_deref(), Some("中国"));
    assert_eq!(
        c.get(DatasetId::Countries, "AFG").unwrap().attr("numeric"),
        Some("004")
    );
    assert_eq!(
        c.get(DatasetId::Countries, "HKG")
            .unwrap()
            .attr("customs_code"),
        Some("110")
    );
    assert!(
        c.get(DatasetId::Countries, "HKG")
            .unwrap()
            .name_zh
            .is_some()
    );
    // The non-ISO value NVM of the customs table gives Viet Nam no customs code.
    assert_eq!(
        c.get(DatasetId::Countries, "VNM")
            .unwrap()
            .attr("customs_code"),
        None
    );
    assert!(!c.contains(DatasetId::Countries, "NVM"));

    let cn = c.get(DatasetId::CustomsCountries, "142").unwrap();
    assert_eq!(cn.name_zh.as_deref(), Some("中国"));
    assert_eq!(cn.attr("alpha3"), Some("CHN"));
    let vn = c.get(DatasetId::CustomsCountries, "141").unwrap();
    assert_eq!(vn.attr("alpha3"), Some("NVM"));
    assert_eq!(vn.attr("iso_check"), Some("NOT_ISO3166"));
    let kr = c.get(DatasetId::CustomsCountries, "133").unwrap();
    assert_eq!(kr.name_en.as_deref(), Some("Korea, Rep."));
}

#[test]
fn currencies() {
    let c = catalog();
    let cny = c.get(DatasetId::Currencies, "CNY").unwrap();
    assert_eq!(cny.name_en.as_deref(), Some("Yuan Renminbi"));
    assert_eq!(cny.name_zh.as_deref(), Some("人民币"));
    assert_eq!(cny.attr("numeric"), Some("156"));
    assert_eq!(cny.attr("minor_unit"), Some("2"));
    assert_eq!(cny.attr("customs_code"), Some("142"));
    let eur = c.get(DatasetId::Currencies, "EUR").unwrap();
    assert!(eur.attr("entity_count").unwrap().parse::<usize>().unwrap() > 20);
    assert_eq!(
        c.get(DatasetId::Currencies, "USD")
            .unwrap()
            .name_zh
            .as_deref(),
        Some("美元")
    );
    // Withdrawn currencies are not current.
    assert!(!c.contains(DatasetId::Currencies, "DEM"));
}

#[test]
fn holidays_2025_spring_festival() {
    let c = catalog();
    let eve = c.get(DatasetId::Holidays, "2025-01-28").unwrap();
    assert_eq!(eve.attr("off_day"), Some("true"));
    assert_eq!(eve.name_zh.as_deref(), Some("春节"));
    assert!(
        eve.attr("paper")
            .unwrap()
            .starts_with("https://www.gov.cn/")
    );
    let makeup = c.get(DatasetId::Holidays, "2025-01-26").unwrap();
    assert_eq!(makeup.attr("off_day"), Some("false"));
    // All years are in force together, including the previous-December days of 2019.json.
    assert_eq!(c.version_in_force(DatasetId::Holidays), Some("2026"));
    assert!(c.contains(DatasetId::Holidays, "2018-12-30"));
    assert!(c.contains(DatasetId::Holidays, "2019-10-01"));
    assert!(c.contains(DatasetId::Holidays, "2026-10-01"));
    assert_eq!(DatasetId::Holidays.kind(), DatasetKind::PerYear);
    assert!(
        c.versions()
            .iter()
            .filter(|v| v.dataset == DatasetId::Holidays)
            .all(|v| v.in_force)
    );
}

#[test]
fn parameter_tables() {
    let c = catalog();
    assert_eq!(
        c.get(DatasetId::TradeModes, "0110")
            .unwrap()
            .name_zh
            .as_deref(),
        Some("一般贸易")
    );
    let cif = c.get(DatasetId::TransactionTerms, "1").unwrap();
    assert_eq!(
        (cif.name_en.as_deref(), cif.name_zh.as_deref()),
        (Some("CIF"), None)
    );
    let market = c.get(DatasetId::TransactionTerms, "5").unwrap();
    assert_eq!(market.name_zh.as_deref(), Some("市场价"));
    assert_eq!(
        c.get(DatasetId::Units, "035").unwrap().name_zh.as_deref(),
        Some("千克")
    );
    // Licence codes are case-sensitive.
    let upper = c.get(DatasetId::LicenceCodes, "B").unwrap();
    let lower = c.get(DatasetId::LicenceCodes, "b").unwrap();
    assert_ne!(upper.name_zh, lower.name_zh);
    assert_eq!(
        c.get(DatasetId::TransportModes, "2")
            .unwrap()
            .name_zh
            .as_deref(),
        Some("水路运输")
    );
    assert_eq!(
        c.get(DatasetId::LevyNatures, "101")
            .unwrap()
            .attr("short_name_zh"),
        Some("一般征税")
    );
}

#[test]
fn canonical_csv_rejects_bad_uploads() {
    let dup =
        "code,name_en,name_zh,parent\n84713000,a,,847130\n84714100,b,,847141\n84713000,c,,847130\n";
    let err = parse_canonical_csv(DatasetId::TariffLines, "2024", dup).unwrap_err();
    assert_eq!(err.rule(), "refdata.duplicate_code");
    assert_eq!(err.line(), Some(4));
    let msg = err.to_string();
    assert!(
        msg.contains("line 4") && msg.contains("line 2") && msg.contains("84713000"),
        "{msg}"
    );

    let err = parse_canonical_csv(
        DatasetId::TariffLines,
        "2024",
        "code,name,parent\n84713000,a,\n",
    )
    .unwrap_err();
    assert_eq!(err.rule(), "refdata.header");
    assert!(err.to_string().contains("code,name_en,name_zh,parent"));

    let err = parse_canonical_csv(
        DatasetId::TariffLines,
        "2024",
        "code,name_en,name_zh,parent,unit1_code\n84713000,a,,847130,01\n8471300,b,,847130,01\n",
    )
    .unwrap_err();
    assert_eq!((err.rule(), err.line()), ("refdata.bad_code", Some(3)));
    assert!(err.to_string().contains("8 digits"), "{err}");

    let err = parse_canonical_csv(
        DatasetId::Countries,
        "2026",
        "code,name_en,name_zh,parent\nchn,China,,\n",
    )
    .unwrap_err();
    assert_eq!(err.rule(), "refdata.bad_code");
    let err =
        parse_canonical_csv(DatasetId::Hs, "2028", "code,name_en,name_zh,parent\n").unwrap_err();
    assert_eq!(err.rule(), "refdata.empty");
}

#[test]
fn canonical_csv_round_trip_of_every_shipped_version() {
    for v in all_shipped() {
        let text = to_canonical_csv(&v.entries);
        assert!(text.starts_with("code,name_en,name_zh,parent"));
        let back = parse_canonical_csv(v.dataset, &v.label, &text)
            .unwrap_or_else(|e| panic!("{} {}: {e}", v.dataset, v.label));
        assert_eq!(back, v.entries, "{} {}", v.dataset, v.label);
    }
}

#[test]
fn newer_whole_version_replaces_the_old_once_in_force() {
    let text = "code,name_en,name_zh,parent,unit1_code\n84713090,Portable computers,便携式计算机,847130,01\n99999999,New line,新税目,999999,09\n";
    let entries = parse_canonical_csv(DatasetId::TariffLines, "2027", text).unwrap();
    let new = DatasetVersion {
        dataset: DatasetId::TariffLines,
        label: "2027".to_owned(),
        valid_from: day("2027-01-01"),
        source: "upload".to_owned(),
        entries,
    };
    let mut versions = all_shipped().to_vec();
    versions.push(new);

    let before = Catalog::build(versions.clone(), day("2026-12-31"));
    assert_eq!(
        before.version_in_force(DatasetId::TariffLines),
        Some("2023")
    );
    assert!(!before.contains(DatasetId::TariffLines, "99999999"));
    assert!(before.contains(DatasetId::TariffLines, "01012100"));

    let after = Catalog::build(versions, day("2027-01-01"));
    assert_eq!(after.version_in_force(DatasetId::TariffLines), Some("2027"));
    assert!(after.contains(DatasetId::TariffLines, "99999999"));
    assert!(!after.contains(DatasetId::TariffLines, "01012100"));
    assert_eq!(after.entries(DatasetId::TariffLines).len(), 2);
    // Other datasets are untouched.
    assert!(after.contains(DatasetId::Hs, "847130"));
    let infos = after.versions();
    let tariff: Vec<(&str, bool)> = infos
        .iter()
        .filter(|v| v.dataset == DatasetId::TariffLines)
        .map(|v| (v.label.as_str(), v.in_force))
        .collect();
    assert_eq!(tariff, [("2022", false), ("2023", false), ("2027", true)]);
}

#[test]
fn dataset_ids_round_trip() {
    for d in DatasetId::ALL {
        assert_eq!(DatasetId::parse(d.as_str()), Some(d));
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            format!("\"{}\"", d.as_str())
        );
        assert!(!d.title().is_empty());
    }
    assert_eq!(DatasetId::parse("TariffLines"), None);
    assert_eq!(DatasetId::TariffLines.kind(), DatasetKind::Whole);
}

#[test]
fn entry_serializes_as_documented() {
    let e = RefEntry::new("0101");
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"code": "0101", "name_en": null, "name_zh": null, "parent": null, "attributes": {}})
    );
}
