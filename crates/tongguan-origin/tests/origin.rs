//! Worked examples of the RCEP origin rules on the curated Annex 3A rows shipped in
//! data/rcep: each rule type passing and failing, de minimis, accumulation, minimal
//! operations, WO/PE, parties in force, HS edition changes, bad data.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tongguan_origin::review::TermWork;
use tongguan_origin::{
    Application, BuildUpCosts, Criterion, Item, Lookup, Material, MaterialRole, Nomenclature,
    OriginRules, PsrTable, Review, RvcMethod, Term, parse_rule, review,
};

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn mat(hs: &str, origin: &str, value: &str) -> Material {
    Material {
        hs_code: hs.into(),
        description: String::new(),
        origin: origin.into(),
        value: d(value),
        weight_kg: None,
        role: MaterialRole::Material,
    }
}

fn item(hs: &str, criterion: Criterion, materials: Vec<Material>) -> Item {
    Item {
        hs_code: hs.into(),
        description: "goods".into(),
        quantity: d("1"),
        unit: "007".into(),
        fob: d("100"),
        criterion,
        materials,
        processes: vec!["assembling".into()],
        rvc_method: RvcMethod::BuildDown,
        build_up: None,
        weight_kg: None,
    }
}

fn app(items: Vec<Item>) -> Application {
    Application {
        exporting_party: "CHN".into(),
        importing_party: "JPN".into(),
        importer_name: "Osaka Trading KK".into(),
        invoice_no: "INV-2026-001".into(),
        invoice_date: day("2026-11-20"),
        date: day("2026-11-27"),
        total_fob: None,
        items,
    }
}

fn rules() -> OriginRules {
    OriginRules::shipped()
}

fn run(items: Vec<Item>) -> Review {
    review(&app(items), &rules())
}

fn failed(r: &Review) -> Vec<&'static str> {
    r.failed().map(|c| c.code).collect()
}

/// The PSR check of item 1.
fn psr(r: &Review) -> &tongguan_origin::Check {
    r.checks
        .iter()
        .find(|c| c.code == "ORIGIN.PSR_MET")
        .expect("a PSR check")
}

#[test]
fn the_shipped_rule_table_reads_completely() {
    let text = include_str!("../../../data/rcep/psr_annex3a.csv");
    let table = PsrTable::from_csv(text, Nomenclature::shipped()).expect("every row reads");
    assert_eq!(table.len(), 67);
    let r = rules();
    assert_eq!(r.parties.len(), 15);
    assert!(r.nomenclature.len() > 5_000);
}

#[test]
fn rule_texts_parse_into_alternatives_and_exclusions() {
    let r = parse_rule("CC except from Chapter 01").expect("parse");
    assert_eq!(r.alternatives.len(), 1);
    match &r.alternatives[0][0] {
        Term::Ctc { except, .. } => assert_eq!(except[0].digits, "01"),
        t => panic!("{t:?}"),
    }
    let r = parse_rule("CC except from subheading 1211.20").expect("parse");
    match &r.alternatives[0][0] {
        Term::Ctc { except, .. } => assert_eq!(except[0].digits, "121120"),
        t => panic!("{t:?}"),
    }
    let r = parse_rule("CTH or RVC40").expect("parse");
    assert_eq!(r.alternatives.len(), 2);
    let r = parse_rule("CTSH and RVC40 or WO").expect("parse");
    assert_eq!(r.alternatives[0].len(), 2);
    for bad in [
        "",
        "CTH or",
        "CTX",
        "CC except Chapter 01",
        "RVC40 except from Chapter 01",
        "CC except from Chapter 1",
    ] {
        assert!(parse_rule(bad).is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn a_broken_rule_table_names_every_bad_row() {
    let csv = "hs_code,hs_version,description,rule_text\n\
               85.18,HS2012,ok,CTH\n\
               8518.4,HS2012,five digits,CTH\n\
               8518.40,HS1996,old,CTH\n\
               8518.50,HS2012,bad rule,CTQ\n";
    let errs = PsrTable::from_csv(csv, Nomenclature::shipped()).expect_err("bad rows");
    let at: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(at, [(3, "hs_code"), (4, "hs_version"), (5, "rule_text")]);
}

#[test]
fn cc_with_an_exclusion_passes_and_fails() {
    // 0504.00 guts: "CC except from Chapter 01". From meat offal (ch. 02): a change of chapter.
    let r = run(vec![item(
        "0504.00",
        Criterion::ProductSpecific,
        vec![mat("0206.10", "USA", "40")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    // From live animals (ch. 01): excluded, even though the chapter changed.
    let r = run(vec![item(
        "0504.00",
        Criterion::ProductSpecific,
        vec![mat("0102.29", "USA", "40")],
    )]);
    assert_eq!(failed(&r), ["ORIGIN.PSR_MET"]);
    let msg = &psr(&r).message_en;
    assert!(msg.contains("CC not met"), "{msg}");
    match &psr(&r).work.as_ref().expect("work").alternatives[0].terms[0] {
        TermWork::Ctc { unchanged, .. } => assert!(
            unchanged[0].contains("excluded chapter 01"),
            "{unchanged:?}"
        ),
        t => panic!("{t:?}"),
    }
}

#[test]
fn cth_passes_and_rvc_rescues_or_not() {
    // 2710.19 "CTH or RVC40": crude oil (27.09) → heading changed.
    let r = run(vec![item(
        "2710.19",
        Criterion::ProductSpecific,
        vec![mat("2709.00", "SAU", "70")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    // Same heading, 60 % of FOB: CTH fails, RVC = 40 % meets RVC40 exactly.
    let r = run(vec![item(
        "2710.19",
        Criterion::ProductSpecific,
        vec![mat("2710.12", "SAU", "60")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    assert!(
        psr(&r).message_en.contains("RVC40 met (RVC 40.00 %)"),
        "{}",
        psr(&r).message_en
    );
    // 70 %: neither.
    let r = run(vec![item(
        "2710.19",
        Criterion::ProductSpecific,
        vec![mat("2710.12", "SAU", "70")],
    )]);
    assert_eq!(failed(&r), ["ORIGIN.PSR_MET"]);
    assert!(
        psr(&r).message_zh.contains("不满足"),
        "{}",
        psr(&r).message_zh
    );
}

#[test]
fn ctsh_passes_and_fails() {
    // 8518.40 amplifiers "CTSH or RVC40": parts of 8518.90 change subheading.
    let r = run(vec![item(
        "8518.40",
        Criterion::ProductSpecific,
        vec![mat("8518.90", "USA", "80")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    // An amplifier module of 8518.40 itself, 80 %: no change, RVC 20 %.
    let r = run(vec![item(
        "8518.40",
        Criterion::ProductSpecific,
        vec![mat("8518.40", "USA", "80")],
    )]);
    assert_eq!(failed(&r), ["ORIGIN.PSR_MET"]);
    let msg = &psr(&r).message_en;
    assert!(
        msg.contains("CTSH not met") && msg.contains("RVC 20.00 %"),
        "{msg}"
    );
}

#[test]
fn rvc40_by_both_formulas() {
    // 8509.80 (an HS 2022 row) "CTSH or RVC40": a motor unit of the same subheading.
    let mut i = item(
        "8509.80",
        Criterion::ProductSpecific,
        vec![mat("8509.80", "USA", "50"), mat("8509.90", "CHN", "20")],
    );
    // Build-down: (100 − 50) / 100 = 50 %.
    let r = run(vec![i.clone()]);
    assert!(r.approved, "{:?}", failed(&r));
    match &psr(&r).work.as_ref().expect("work").alternatives[1].terms[0] {
        TermWork::Rvc {
            formula, percent, ..
        } => {
            assert_eq!(*percent, d("50"));
            assert!(formula.starts_with("(FOB 100 − VNM 50)"), "{formula}");
        }
        t => panic!("{t:?}"),
    }
    // Build-up: (VOM 20 + 10 + 5 + 8 + 0) / 100 = 43 %.
    i.rvc_method = RvcMethod::BuildUp;
    i.build_up = Some(BuildUpCosts {
        direct_labour: d("10"),
        direct_overhead: d("5"),
        profit: d("8"),
        other: d("0"),
    });
    let r = run(vec![i.clone()]);
    assert!(r.approved, "{:?}", failed(&r));
    assert!(
        psr(&r).message_en.contains("RVC 43.00 %"),
        "{}",
        psr(&r).message_en
    );
    // Build-up with a thin profit: 37 % < 40 %.
    i.build_up = Some(BuildUpCosts {
        direct_labour: d("10"),
        direct_overhead: d("5"),
        profit: d("2"),
        other: d("0"),
    });
    let r = run(vec![i.clone()]);
    assert_eq!(failed(&r), ["ORIGIN.PSR_MET"]);
    // Build-up without its costs is not met.
    i.build_up = None;
    assert_eq!(failed(&run(vec![i])), ["ORIGIN.PSR_MET"]);
}

#[test]
fn de_minimis_rescues_a_small_unchanged_material_only() {
    // 1302.20 pectin "CC": fruit (ch. 08) changes chapter; 8 % of another ch. 13 extract does not.
    let r = run(vec![item(
        "1302.20",
        Criterion::ProductSpecific,
        vec![mat("0810.90", "USA", "50"), mat("1302.19", "USA", "8")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    assert!(
        psr(&r)
            .message_en
            .contains("de minimis: 8.00 % of FOB ≤ 10.00 %"),
        "{}",
        psr(&r).message_en
    );
    // 12 %: too much.
    let r = run(vec![item(
        "1302.20",
        Criterion::ProductSpecific,
        vec![mat("0810.90", "USA", "50"), mat("1302.19", "USA", "12")],
    )]);
    assert_eq!(failed(&r), ["ORIGIN.PSR_MET"]);
    assert!(
        psr(&r).message_zh.contains("占 FOB 12.00% > 10.00%"),
        "{}",
        psr(&r).message_zh
    );
}

#[test]
fn materials_of_other_parties_accumulate() {
    // 8518.40: the same-subheading module from Japan (a party in force) counts as originating.
    let r = run(vec![item(
        "8518.40",
        Criterion::ProductSpecific,
        vec![mat("8518.40", "JPN", "80")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    // From Myanmar (no entry-into-force date) or of undetermined origin: non-originating.
    for origin in ["MMR", ""] {
        let r = run(vec![item(
            "8518.40",
            Criterion::ProductSpecific,
            vec![mat("8518.40", origin, "80")],
        )]);
        assert_eq!(failed(&r), ["ORIGIN.PSR_MET"], "{origin:?}");
    }
    // Produced exclusively from Chinese and Japanese materials: PE; one US part: not PE.
    let r = run(vec![item(
        "8518.40",
        Criterion::ProducedExclusively,
        vec![mat("8518.90", "CHN", "30"), mat("8518.29", "JPN", "30")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    let r = run(vec![item(
        "8518.40",
        Criterion::ProducedExclusively,
        vec![mat("8518.90", "CHN", "30"), mat("8518.29", "USA", "30")],
    )]);
    assert_eq!(failed(&r), ["ORIGIN.PE"]);
}

#[test]
fn minimal_operations_never_confer_origin() {
    let mut i = item(
        "0504.00",
        Criterion::ProductSpecific,
        vec![mat("0206.10", "USA", "40")],
    );
    i.processes = vec!["packaging".into(), "sorting".into()];
    let r = run(vec![i.clone()]);
    assert_eq!(failed(&r), ["ORIGIN.MINIMAL_OPERATION"]);
    let c = r.failed().next().expect("check");
    assert!(
        c.message_en.contains("Art. 3.6") && c.message_zh.contains("第3.6条"),
        "{c:?}"
    );
    i.processes = vec!["cleaning".into(), "salting".into()];
    assert!(run(vec![i]).approved);
}

#[test]
fn packing_and_accessories_are_ignored_for_the_change_of_classification() {
    let mut box_ = mat("4819.10", "USA", "5");
    box_.role = MaterialRole::Packing;
    let mut cable = mat("8518.40", "USA", "5");
    cable.role = MaterialRole::Accessory;
    let r = run(vec![item(
        "8518.40",
        Criterion::ProductSpecific,
        vec![mat("8518.90", "USA", "50"), box_, cable],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
}

#[test]
fn wholly_obtained_is_for_products_of_nature() {
    let r = run(vec![item("0701.90", Criterion::WhollyObtained, vec![])]);
    assert!(r.approved, "{:?}", failed(&r));
    let r = run(vec![item(
        "8518.40",
        Criterion::WhollyObtained,
        vec![mat("8518.90", "CHN", "30")],
    )]);
    assert_eq!(failed(&r), ["ORIGIN.WO"]);
}

#[test]
fn parties_must_be_in_force_on_the_date() {
    let mut a = app(vec![item("0701.90", Criterion::WhollyObtained, vec![])]);
    a.importing_party = "USA".into();
    assert_eq!(failed(&review(&a, &rules())), ["PARTY.IMPORTING"]);
    // The Philippines: in force from 2023-06-02.
    a.importing_party = "PHL".into();
    a.date = day("2023-06-01");
    a.invoice_date = day("2023-05-30");
    assert_eq!(failed(&review(&a, &rules())), ["PARTY.IMPORTING"]);
    a.date = day("2023-06-02");
    assert!(review(&a, &rules()).approved);
    a.importing_party = "CHN".into();
    assert_eq!(failed(&review(&a, &rules())), ["PARTY.IMPORTING"]);
}

#[test]
fn a_subheading_changed_since_hs2012_is_flagged_not_matched() {
    // 8517.12 (HS 2012) became 8517.13/8517.14 in HS 2022: the 2012 row is not applied.
    let rules = rules();
    match rules.table.lookup("851713") {
        Lookup::VersionChanged { heading, gone, .. } => {
            assert_eq!(heading, "8517");
            assert_eq!(gone, ["851712"]);
        }
        other => panic!("{other:?}"),
    }
    let r = run(vec![item(
        "8517.13",
        Criterion::ProductSpecific,
        vec![mat("8517.79", "USA", "50")],
    )]);
    assert_eq!(failed(&r), ["HS.VERSION_CHANGED"]);
    // 8517.18 kept its code: matched, and the work says through which edition.
    let r = run(vec![item(
        "8517.18",
        Criterion::ProductSpecific,
        vec![mat("8517.79", "USA", "50")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
    let note = psr(&r)
        .work
        .as_ref()
        .and_then(|w| w.hs_note.clone())
        .unwrap_or_default();
    assert!(note.contains("HS2012"), "{note}");
    // A chapter-level rule (ch. 94 "CTH or RVC40") covers its subheadings.
    let r = run(vec![item(
        "9403.60",
        Criterion::ProductSpecific,
        vec![mat("4407.11", "RUS", "50")],
    )]);
    assert!(r.approved, "{:?}", failed(&r));
}

#[test]
fn bad_data_is_named_all_at_once() {
    let mut a = app(vec![
        item("8599.99", Criterion::ProductSpecific, vec![]),
        item(
            "8518.40",
            Criterion::ProductSpecific,
            vec![mat("8518.90", "USA", "150")],
        ),
    ]);
    a.invoice_date = day("2026-12-01");
    a.total_fob = Some(d("150"));
    a.importer_name = " ".into();
    let r = review(&a, &rules());
    let mut f = failed(&r);
    f.sort();
    assert_eq!(
        f,
        [
            "DATA.DATES",
            "DATA.MATERIALS_VALUE",
            "DATA.PARTIES",
            "DATA.TOTALS",
            "HS.EXISTS"
        ]
    );
    assert!(
        r.checks
            .iter()
            .all(|c| !c.message_zh.is_empty() && !c.message_en.is_empty())
    );
    // No rule in the loaded table: named, not guessed.
    let r = run(vec![item(
        "8471.30",
        Criterion::ProductSpecific,
        vec![mat("8473.30", "USA", "50")],
    )]);
    assert_eq!(failed(&r), ["PSR.FOUND"]);
}
