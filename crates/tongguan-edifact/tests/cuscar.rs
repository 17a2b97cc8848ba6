//! CUSCAR D.96B import: the fixtures in `tests/fixtures` were written by hand from the
//! D.96B message, segment and code directories (no sample was copied from elsewhere).
//! Segment positions in the assertions count from `UNB` = 1.

use std::str::FromStr;

use proptest::prelude::*;
use rust_decimal::Decimal;
use tongguan_domain::codes::Direction;
use tongguan_domain::manifest::validate_manifest;
use tongguan_edifact::{EdifactError, Interchange, parse_cuscar, parse_cuscar_bytes};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.edi", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn maritime() -> String {
    fixture("maritime_two_bills")
}

/// The maritime fixture with `from` (which must occur exactly once) replaced by `to`.
fn maritime_with(from: &str, to: &str) -> String {
    let text = maritime();
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

fn ok(text: &str) -> Interchange {
    parse_cuscar(text).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> EdifactError {
    match parse_cuscar(text) {
        Ok(i) => panic!("expected an error, got {i:#?}"),
        Err(e) => e,
    }
}

/// Asserts the rule, the segment position and the tag, and that the message says them.
fn assert_error(e: &EdifactError, rule: &str, segment: usize, tag: &str) {
    assert_eq!(e.rule(), rule, "{e}");
    assert_eq!(e.segment(), Some(segment), "{e}");
    assert_eq!(e.tag(), tag, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("segment {segment} ({tag})")),
        "{text}"
    );
    assert!(text.ends_with(&format!("[{rule}]")), "{text}");
}

fn kg(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

// ── valid interchanges ──────────────────────────────────────────────────────────────

#[test]
fn maritime_interchange_with_two_bills_and_three_containers() {
    let i = ok(&maritime());
    assert_eq!(i.sender, "COSCOAGENT");
    assert_eq!(i.recipient, "CNSZCUSTOMS");
    assert_eq!(i.control_ref, "IC20260315001");
    assert_eq!(i.prepared, "260315:0830");
    assert_eq!(i.manifests.len(), 1);

    let m = &i.manifests[0];
    assert_eq!(m.message_ref, "CC0001");
    assert_eq!(m.function, "9");
    assert_eq!(m.document_no, "MF0421E-YTN");
    assert_eq!(m.warnings, Vec::<String>::new());

    let mf = &m.manifest;
    assert_eq!(mf.direction, Direction::Import, "GIS 23");
    assert_eq!(mf.transport_mode, "2", "Rec. 19 maritime → 水路运输");
    assert_eq!(mf.transport_means, "XIN NING BO");
    assert_eq!(mf.voyage, "0421E");
    assert_eq!(mf.port, "CNYTN", "LOC 60 place of arrival");
    assert_eq!(mf.customs, "", "not in CUSCAR");
    // DTM 132 202603201400 (203) is 14:00 China Standard Time.
    assert_eq!(
        mf.eta.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-03-20T06:00:00+00:00")
    );

    assert_eq!(mf.bills.len(), 2);
    let b1 = &mf.bills[0];
    assert_eq!(b1.bill_no, "COSU6123456780");
    assert_eq!(b1.consignee, "SHENZHEN HUAQIANG TRADING CO LTD");
    assert_eq!(b1.packages, 1200, "GID 800 + 400");
    assert_eq!(b1.gross_weight_kg, kg("30250.5"), "MEA 20150.5 + 10100");
    assert_eq!(b1.containers, ["CSQU3054383", "COSU8012349"]);
    assert_eq!(b1.master_bill_no, None);
    let b2 = &mf.bills[1];
    assert_eq!(b2.bill_no, "COSU6123456791");
    assert_eq!(
        b2.consignee, "GUANGZHOU LIGHT INDUSTRY IMPORT + EXPORT",
        "?+ is a released element separator"
    );
    assert_eq!(b2.packages, 50);
    assert_eq!(b2.gross_weight_kg, kg("18200"), "18.2 TNE");
    assert_eq!(b2.containers, ["TGHU6123458"]);

    // Complete but for the customs district, which the caller fills in.
    let mut filled = mf.clone();
    filled.customs = "5316".into();
    assert!(validate_manifest(&filled).is_empty());
}

#[test]
fn una_with_other_separators_and_release_character() {
    // UNA;*,! ~ : component ';', element '*', decimal ',', release '!', terminator '~'.
    let i = ok(&fixture("air_una_release"));
    assert_eq!(i.sender, "CAAGENT");
    assert_eq!(i.prepared, "260402:2215");
    let m = &i.manifests[0];
    assert_eq!(m.warnings, Vec::<String>::new());
    let mf = &m.manifest;
    assert_eq!(mf.transport_mode, "5", "Rec. 19 air → 航空运输");
    assert_eq!(
        mf.transport_means, "B-2447",
        "C222 8213 when 8212 is absent"
    );
    assert_eq!(mf.voyage, "CA1041");
    assert_eq!(mf.port, "CNSZX");
    assert_eq!(
        mf.eta.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-04-02T21:45:00+00:00")
    );
    // Two house air waybills under one master: each a bill with the master's number.
    let bills: Vec<_> = mf
        .bills
        .iter()
        .map(|b| {
            (
                b.bill_no.as_str(),
                b.master_bill_no.as_deref(),
                b.consignee.as_str(),
                b.packages,
                b.gross_weight_kg,
            )
        })
        .collect();
    assert_eq!(
        bills,
        [
            (
                "SZXH0001",
                Some("784-12345675"),
                "EAST*WEST TRADING;CO LTD",
                12,
                kg("245.5")
            ),
            (
                "SZXH0002",
                Some("784-12345675"),
                "SHENZHEN A~B LOGISTICS",
                3,
                kg("80")
            ),
        ]
    );
}

#[test]
fn rail_without_una() {
    let i = ok(&fixture("rail_no_una"));
    let m = &i.manifests[0];
    assert_eq!(m.warnings, Vec::<String>::new());
    let mf = &m.manifest;
    assert_eq!(mf.transport_mode, "3", "Rec. 19 rail (8067 = 2) → 铁路运输");
    assert_eq!(mf.transport_means, "X8021 CHONGQING-DUISBURG");
    assert_eq!(mf.voyage, "X8021");
    // No GIS: LOC 5 (departure) is Chinese, LOC 8 (destination) is not → export.
    assert_eq!(mf.direction, Direction::Export);
    assert_eq!(mf.port, "CNCKG");
    // DTM 132 20260416 (102) is midnight China Standard Time.
    assert_eq!(
        mf.eta.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-04-15T16:00:00+00:00")
    );
    let b = &mf.bills[0];
    assert_eq!(
        b.bill_no, "CQ2026040100017",
        "RFF RCN when CNI 1004 is empty"
    );
    assert_eq!(b.packages, 66);
    assert_eq!(b.gross_weight_kg, kg("30800"));
    assert_eq!(b.containers, ["TCLU1234568", "CBHU5566775"]);
    assert_eq!(b.wagons, ["3021188"], "EQD RR named by SGP");
}

#[test]
fn two_messages_in_one_interchange() {
    let text = maritime();
    let start = text.find("UNH+").unwrap();
    let end = text.find("UNZ+").unwrap();
    let second = text[start..end].replace("CC0001", "CC0002");
    let both = format!("{}{}{}", &text[..end], second, &text[end..]).replace("UNZ+1+", "UNZ+2+");
    let i = ok(&both);
    let refs: Vec<_> = i.manifests.iter().map(|m| m.message_ref.as_str()).collect();
    assert_eq!(refs, ["CC0001", "CC0002"]);
}

#[test]
fn bytes_are_decoded_by_the_unb_character_set() {
    // UNOC is ISO 8859-1: 0xDC is Ü.
    let mut bytes = fixture("rail_no_una").into_bytes();
    let at = bytes
        .windows(19)
        .position(|w| w == b"DUISBURG INTERMODAL")
        .unwrap();
    bytes.splice(at..at + 8, b"M\xdcLHEIM".iter().copied());
    let i = parse_cuscar_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        i.manifests[0].manifest.bills[0].consignee,
        "MÜLHEIM INTERMODAL GMBH"
    );
}

#[test]
fn direction_defaults_to_import_with_a_warning() {
    let text = maritime_with("GIS+23'\r\nEQD", "EQD")
        .replace("LOC+11+CNYTN'\r\n", "")
        .replace("LOC+60+CNYTN", "LOC+60+HKHKG")
        .replace("UNT+48", "UNT+46");
    let m = &ok(&text).manifests[0];
    assert_eq!(m.manifest.direction, Direction::Import);
    assert_eq!(m.manifest.port, "HKHKG");
    assert!(
        m.warnings.iter().any(|w| w.contains("taken as import")),
        "{:?}",
        m.warnings
    );
    assert!(
        m.warnings.iter().any(|w| w.contains("not in China")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn control_total_disagreement_is_a_warning() {
    let m = &ok(&maritime_with("CNT+11:1200'", "CNT+11:1300'")).manifests[0];
    assert_eq!(m.manifest.bills[0].packages, 1200);
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("segment 24 (CNI):"),
        "{:?}",
        m.warnings
    );
}

#[test]
fn equipment_without_goods_placement_goes_to_the_only_bill() {
    let text = fixture("rail_no_una");
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("SGP+")).collect();
    let text = kept.join("\n").replace("UNT+21+", "UNT+17+").replace(
        "EQD+CN+CBHU5566775+45G1:6:5+++5'",
        "EQD+CN+CBHU5566775+45G1:6:5+++4'",
    );
    let m = &ok(&text).manifests[0];
    let b = &m.manifest.bills[0];
    assert_eq!(
        b.containers,
        ["TCLU1234568"],
        "the empty CBHU5566775 (8169 = 4) is left out"
    );
    assert_eq!(b.wagons, ["3021188"]);
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("segment 8 (EQD):"),
        "{:?}",
        m.warnings
    );
}

/// ISO 6346 check digit, to build valid container numbers.
fn check_digit(prefix: &str) -> u32 {
    let value = |c: char| -> u32 {
        if let Some(d) = c.to_digit(10) {
            return d;
        }
        // A=10, skipping multiples of 11.
        let mut v = 10;
        for l in 'A'..=c {
            if v % 11 == 0 {
                v += 1;
            }
            if l == c {
                break;
            }
            v += 1;
        }
        v
    };
    let sum: u32 = prefix.chars().enumerate().map(|(i, c)| value(c) << i).sum();
    sum % 11 % 10
}

#[test]
fn large_manifest() {
    const N: usize = 3000;
    let mut body = vec![
        "UNH+BIG+CUSCAR:D:96B:UN'".to_string(),
        "BGM+785+BIG+9'".into(),
        "TDT+20+001W+1+++++:::BIG SHIP'".into(),
        "LOC+60+CNSHK'".into(),
        "DTM+132:20260101:102'".into(),
    ];
    let containers: Vec<String> = (0..N)
        .map(|i| {
            let prefix = format!("TGHU{i:06}");
            format!("{prefix}{}", check_digit(&prefix))
        })
        .collect();
    for c in &containers {
        body.push(format!("EQD+CN+{c}'"));
    }
    for (i, c) in containers.iter().enumerate() {
        body.push(format!("CNI+{}+BL{i:06}'", i + 1));
        body.push(format!("RFF+BM:BL{i:06}'"));
        body.push("NAD+CN+++CONSIGNEE'".into());
        body.push("GID+1+10:CT'".into());
        body.push("MEA+AAE+G+KGM:1000.25'".into());
        body.push(format!("SGP+{c}+10'"));
    }
    body.push(format!("UNT+{}+BIG'", body.len() + 1));
    let text = format!("UNB+UNOC:3+A+B+260101:0000+1'{}UNZ+1+1'", body.join(""));
    let started = std::time::Instant::now();
    let i = ok(&text);
    let elapsed = started.elapsed();
    let bills = &i.manifests[0].manifest.bills;
    assert_eq!(bills.len(), N);
    assert_eq!(bills[N - 1].containers, [containers[N - 1].clone()]);
    assert!(
        i.manifests[0].warnings.is_empty(),
        "{:?}",
        &i.manifests[0].warnings[..1]
    );
    assert!(elapsed.as_secs() < 30, "{elapsed:?} for {N} bills");
}

#[test]
fn unknown_segment_in_a_message() {
    let e = err(
        &maritime_with("GIS+23'\r\nNAD+CZ", "GIS+23'\r\nXYZ+1'\r\nNAD+CZ")
            .replace("UNT+48", "UNT+49"),
    );
    assert_error(&e, "edifact.unexpected_segment", 30, "XYZ");
}

// ── errors ──────────────────────────────────────────────────────────────────────────

#[test]
fn truncated_interchange_without_unz() {
    let e = err(&maritime_with("UNZ+1+IC20260315001'\r\n", ""));
    assert_error(&e, "edifact.missing_segment", 50, "UNZ");
}

#[test]
fn truncated_inside_a_segment() {
    let text = maritime();
    let cut = text.find("SINGAPORE COMPONENTS").unwrap();
    let e = err(&text[..cut]);
    assert_error(&e, "edifact.syntax", 30, "NAD");
}

#[test]
fn truncated_inside_a_message() {
    let text = maritime();
    let cut = text.find("CNI+2+").unwrap();
    let e = err(&text[..cut]);
    assert_error(&e, "edifact.missing_segment", 42, "UNT");
}

#[test]
fn unt_segment_count_wrong() {
    let e = err(&maritime_with("UNT+48+", "UNT+47+"));
    assert_error(&e, "edifact.count_mismatch", 49, "UNT");
    assert!(matches!(
        e,
        EdifactError::CountMismatch {
            declared: 47,
            counted: 48,
            ..
        }
    ));
    assert_eq!(e.element().map(|x| x.data_element), Some("0074"));
}

#[test]
fn unh_unt_reference_mismatch() {
    let e = err(&maritime_with("UNT+48+CC0001", "UNT+48+CC0009"));
    assert_error(&e, "edifact.control_ref_mismatch", 49, "UNT");
    assert!(e.to_string().contains("at segment 2"), "{e}");
}

#[test]
fn unz_message_count_wrong() {
    let e = err(&maritime_with("UNZ+1+", "UNZ+2+"));
    assert_error(&e, "edifact.count_mismatch", 50, "UNZ");
    assert!(matches!(
        e,
        EdifactError::CountMismatch {
            declared: 2,
            counted: 1,
            ..
        }
    ));
}

#[test]
fn unb_unz_reference_mismatch() {
    let e = err(&maritime_with("UNZ+1+IC20260315001", "UNZ+1+IC20260315002"));
    assert_error(&e, "edifact.control_ref_mismatch", 50, "UNZ");
}

#[test]
fn non_cuscar_message() {
    let e = err(&maritime_with("CUSCAR:D:96B:UN", "CUSDEC:D:96B:UN"));
    assert_error(&e, "edifact.not_cuscar", 2, "UNH");
    assert!(e.to_string().contains("CUSDEC"), "{e}");
}

#[test]
fn cuscar_of_another_directory() {
    let e = err(&maritime_with("CUSCAR:D:96B:UN", "CUSCAR:D:01B:UN"));
    assert_error(&e, "edifact.unsupported_version", 2, "UNH");
}

#[test]
fn bad_container_check_digit_on_the_equipment_list() {
    let e = err(&maritime_with("EQD+CN+CSQU3054383", "EQD+CN+CSQU3054384"));
    assert_error(&e, "edifact.bad_container", 16, "EQD");
    let at = e.element().unwrap();
    assert_eq!(
        (at.element, at.component, at.data_element),
        (2, Some(1), "8260")
    );
    assert!(e.to_string().contains("container.check_digit"), "{e}");
}

#[test]
fn bad_container_check_digit_in_a_goods_placement() {
    let e = err(&maritime_with("SGP+TGHU6123458", "SGP+TGHU6123459"));
    assert_error(&e, "edifact.bad_container", 48, "SGP");
}

#[test]
fn unparseable_date() {
    let e = err(&maritime_with(
        "DTM+132:202603201400",
        "DTM+132:202603321400",
    ));
    assert_error(&e, "edifact.bad_date", 14, "DTM");
    assert_eq!(e.element().map(|x| x.data_element), Some("2380"));
    let e = err(&maritime_with("DTM+132:202603201400", "DTM+132:2026-03-20"));
    assert_error(&e, "edifact.bad_date", 14, "DTM");
}

#[test]
fn weight_that_is_not_a_number() {
    let e = err(&maritime_with("KGM:20150.5", "KGM:2O150.5"));
    assert_error(&e, "edifact.bad_number", 35, "MEA");
    assert_eq!(e.element().map(|x| x.data_element), Some("6314"));
    let e = err(&maritime_with("CNT+7:30250.5", "CNT+7:-30250.5"));
    assert_error(&e, "edifact.bad_number", 27, "CNT");
}

#[test]
fn garbage_bytes() {
    for junk in [
        "\u{0}\u{1}\u{7f}garbage",
        "ÿþ\u{fffd} not edifact at all",
        "%%%%%'''''",
        "UNA",
        "lorem ipsum dolor sit amet",
    ] {
        let e = err(junk);
        assert_eq!(e.rule(), "edifact.syntax", "{junk:?}: {e}");
        assert_eq!(e.segment(), Some(1), "{junk:?}: {e}");
    }
    let e = parse_cuscar_bytes(b"\xff\xfe\x00\x81\x82'").unwrap_err();
    assert_eq!(e.rule(), "edifact.syntax", "{e}");
    assert_eq!(e.segment(), Some(1), "{e}");
}

#[test]
fn empty_input() {
    let e = err("  \r\n");
    assert_error(&e, "edifact.missing_segment", 1, "UNB");
}

#[test]
fn garbage_after_good_segments() {
    let e = err(&maritime_with("GIS+23'\r\nNAD+CZ", "GIS+23'\r\nn@d+CZ"));
    assert_error(&e, "edifact.syntax", 30, "n@d");
}

#[test]
fn segment_out_of_the_segment_table() {
    // An EQD (SG5, 0180) after the consignments (SG7, 0300).
    let e = err(
        &maritime_with("GID+1+50:PX'", "EQD+CN+TGHU6123458'\r\nGID+1+50:PX'")
            .replace("UNT+48", "UNT+49"),
    );
    assert_error(&e, "edifact.unexpected_segment", 45, "EQD");
}

#[test]
fn consignment_without_goods_item() {
    // SG14 (GID, 0590) is mandatory in SG8.
    let text = maritime();
    let start = text.find("GID+1+50:PX'").unwrap();
    let end = text.find("UNT+").unwrap();
    let text = format!("{}{}", &text[..start], &text[end..]).replace("UNT+48", "UNT+44");
    let e = err(&text);
    assert_error(&e, "edifact.missing_segment", 43, "RFF");
    assert!(matches!(&e, EdifactError::MissingSegment { missing, .. } if missing == "GID"));
}

#[test]
fn unknown_transport_mode() {
    let e = err(&maritime_with("TDT+20+0421E+1+", "TDT+20+0421E+6+"));
    assert_error(&e, "edifact.bad_code", 9, "TDT");
    assert_eq!(e.element().map(|x| x.data_element), Some("8067"));
}

#[test]
fn port_that_is_not_a_locode() {
    let e = err(&maritime_with("LOC+60+CNYTN", "LOC+60+YANTIAN"));
    assert_error(&e, "edifact.bad_code", 12, "LOC");
}

#[test]
fn no_main_carriage() {
    let text = maritime();
    let start = text.find("TDT+").unwrap();
    let end = text.find("GIS+23'").unwrap();
    let text = format!("{}{}", &text[..start], &text[end..]).replace("UNT+48", "UNT+42");
    let e = err(&text);
    assert_error(&e, "edifact.missing_segment", 43, "UNT");
}

#[test]
fn bill_without_number() {
    let e = err(&maritime_with("CNI+2+COSU6123456791'", "CNI+2'")
        .replace("RFF+BM:COSU6123456791", "RFF+CN:X1"));
    assert_error(&e, "edifact.missing_element", 42, "CNI");
}

#[test]
fn unknown_weight_unit() {
    let e = err(&maritime_with("TNE:18.2", "LBR:18.2"));
    assert_error(&e, "edifact.bad_code", 47, "MEA");
}

#[test]
fn bad_message_function() {
    let e = err(&maritime_with(
        "BGM+785+MF0421E-YTN+9",
        "BGM+785+MF0421E-YTN+99",
    ));
    assert_error(&e, "edifact.bad_code", 3, "BGM");
}

#[test]
fn segment_after_unz() {
    let e = err(&format!("{}UNH+X'", maritime()));
    assert_error(&e, "edifact.unexpected_segment", 51, "UNH");
}

// ── robustness ──────────────────────────────────────────────────────────────────────

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_cuscar(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_cuscar_bytes(&bytes);
    }

    #[test]
    fn edifact_like_text_never_panics(
        text in proptest::string::string_regex("(UN[ABHTZ]|BGM|TDT|LOC|DTM|EQD|CNI|RFF|NAD|GID|MEA|SGP|CNT|[+:?' 0-9A-Z]){0,80}").unwrap()
    ) {
        let _ = parse_cuscar(&text);
    }

    #[test]
    fn damaged_fixture_never_panics(
        cut in 0usize..2000,
        len in 0usize..40,
        insert in "[+:?'A-Z0-9]{0,6}",
    ) {
        let text = maritime();
        let start = cut.min(text.len());
        let end = (start + len).min(text.len());
        if text.is_char_boundary(start) && text.is_char_boundary(end) {
            let damaged = format!("{}{}{}", &text[..start], insert, &text[end..]);
            if let Err(e) = parse_cuscar(&damaged) {
                prop_assert!(e.segment().is_some_and(|s| s >= 1));
                prop_assert!(e.rule().starts_with("edifact."));
            }
        }
    }
}
