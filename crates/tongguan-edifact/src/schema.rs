//! The CUSCAR D.96B segment table (CUSCAR_D.96B §4.3.1) as an `edifact-rs` ordered group
//! schema: positions, status (M/C) and repeats exactly as the table gives them. The
//! resolver places every segment of a message or reports it as unplaced (out of order, in
//! the wrong group, unknown), too frequent, or missing.

use std::sync::LazyLock;

use edifact_rs::group::{Entry, GroupDef, GroupSchema, SegmentPlace};

/// Names and D.96B positions of the segment groups, for messages.
pub(crate) const GROUPS: &[(&str, &str, &str)] = &[
    ("SG1", "0040", "RFF-DTM"),
    ("SG2", "0070", "NAD-SG3"),
    ("SG3", "0090", "CTA-COM"),
    ("SG4", "0130", "TDT-LOC-DTM"),
    ("SG5", "0180", "EQD-TSR-MEA-DIM-SEL-NAD-GIS-SG6"),
    ("SG6", "0260", "TMP-RNG"),
    ("SG7", "0300", "CNI-CNT-SG8"),
    (
        "SG8",
        "0330",
        "RFF-CNT-MOA-LOC-GIS-CUX-CPI-SG9-SG11-SG13-SG14",
    ),
    ("SG9", "0410", "TDT-LOC-DTM-MEA-SG10"),
    ("SG10", "0460", "RFF-TSR"),
    ("SG11", "0490", "NAD-DTM-RFF-SG12"),
    ("SG12", "0530", "CTA-COM"),
    ("SG13", "0560", "QTY-FTX"),
    (
        "SG14",
        "0590",
        "GID-PAC-HAN-FTX-MEA-MOA-SGP-DGS-PCI-CST-SG15-SG16",
    ),
    ("SG15", "0700", "GIS-DTM-DOC"),
    ("SG16", "0740", "QTY-FTX"),
    ("SG17", "0770", "AUT-DTM-RFF"),
];

/// `"SG8"` → `"segment group 8 (0330, RFF-CNT-…)"`.
pub(crate) fn describe_group(name: &str) -> String {
    GROUPS.iter().find(|(n, _, _)| *n == name).map_or_else(
        || name.to_string(),
        |(n, pos, shape)| format!("{n} ({pos} {shape})"),
    )
}

/// The compiled schema, built once. The table is a constant: that it compiles is checked
/// by a unit test, so the `expect` cannot fire on any input.
pub(crate) fn cuscar() -> &'static GroupSchema {
    static SCHEMA: LazyLock<GroupSchema> =
        LazyLock::new(|| build().expect("the CUSCAR D.96B segment table is well-formed"));
    &SCHEMA
}

/// A segment place: tag, D.96B position, status (`min` 1 for M) and repeats.
fn seg(tag: &'static str, pos: &'static str, min: u32, max: u32) -> Entry {
    Entry::Segment(place(tag, pos, min, max))
}

fn place(tag: &'static str, pos: &'static str, min: u32, max: u32) -> SegmentPlace {
    SegmentPlace::new(tag)
        .with_id(pos)
        .with_min(min)
        .with_max(max)
}

/// A segment group: name, D.96B position, trigger tag and position, status and repeats,
/// then its members after the trigger.
fn group(
    name: &'static str,
    pos: &'static str,
    (trigger, trigger_pos): (&'static str, &'static str),
    min: u32,
    max: u32,
    members: Vec<Entry>,
) -> Result<Entry, edifact_rs::EdifactError> {
    let mut builder = GroupDef::builder(name, place(trigger, trigger_pos, 1, 1))
        .id(pos)
        .min(min)
        .max(max)
        .ordered();
    for member in members {
        builder = match member {
            Entry::Segment(p) => builder.segment(p),
            Entry::Group(g) => builder.group(g),
            _ => builder,
        };
    }
    Ok(Entry::Group(builder.build()?))
}

/// CUSCAR D.96B §4.3.1, line by line (`Pos Tag Name S R`).
fn build() -> Result<GroupSchema, edifact_rs::EdifactError> {
    const M: u32 = 1;
    const C: u32 = 0;
    let sg1 = group(
        "SG1",
        "0040",
        ("RFF", "0050"),
        C,
        99,
        vec![seg("DTM", "0060", C, 9)],
    )?;
    let sg3 = group(
        "SG3",
        "0090",
        ("CTA", "0100"),
        C,
        9,
        vec![seg("COM", "0110", C, 9)],
    )?;
    let sg2 = group("SG2", "0070", ("NAD", "0080"), C, 99, vec![sg3])?;
    let sg4 = group(
        "SG4",
        "0130",
        ("TDT", "0140"),
        C,
        9,
        vec![seg("LOC", "0150", C, 99), seg("DTM", "0160", C, 99)],
    )?;
    let sg6 = group(
        "SG6",
        "0260",
        ("TMP", "0270"),
        C,
        9,
        vec![seg("RNG", "0280", C, 1)],
    )?;
    let sg5 = group(
        "SG5",
        "0180",
        ("EQD", "0190"),
        C,
        9999,
        vec![
            seg("TSR", "0200", C, 9),
            seg("MEA", "0210", C, 9),
            seg("DIM", "0220", C, 9),
            seg("SEL", "0230", C, 9),
            seg("NAD", "0240", C, 9),
            seg("GIS", "0250", C, 9),
            sg6,
        ],
    )?;
    let sg10 = group(
        "SG10",
        "0460",
        ("RFF", "0470"),
        C,
        9,
        vec![seg("TSR", "0480", C, 9)],
    )?;
    let sg9 = group(
        "SG9",
        "0410",
        ("TDT", "0420"),
        C,
        9,
        vec![
            seg("LOC", "0430", C, 9),
            seg("DTM", "0440", C, 9),
            seg("MEA", "0450", C, 9),
            sg10,
        ],
    )?;
    let sg12 = group(
        "SG12",
        "0530",
        ("CTA", "0540"),
        C,
        9,
        vec![seg("COM", "0550", C, 9)],
    )?;
    let sg11 = group(
        "SG11",
        "0490",
        ("NAD", "0500"),
        C,
        99,
        vec![seg("DTM", "0510", C, 9), seg("RFF", "0520", C, 9), sg12],
    )?;
    let sg13 = group(
        "SG13",
        "0560",
        ("QTY", "0570"),
        C,
        9,
        vec![seg("FTX", "0580", C, 9)],
    )?;
    let sg15 = group(
        "SG15",
        "0700",
        ("GIS", "0710"),
        C,
        9,
        vec![seg("DTM", "0720", C, 9), seg("DOC", "0730", C, 9)],
    )?;
    let sg16 = group(
        "SG16",
        "0740",
        ("QTY", "0750"),
        C,
        9,
        vec![seg("FTX", "0760", C, 1)],
    )?;
    let sg14 = group(
        "SG14",
        "0590",
        ("GID", "0600"),
        M,
        9999,
        vec![
            seg("PAC", "0610", C, 9),
            seg("HAN", "0620", C, 9),
            seg("FTX", "0630", C, 99),
            seg("MEA", "0640", C, 99),
            seg("MOA", "0650", C, 9),
            seg("SGP", "0660", C, 99),
            seg("DGS", "0670", C, 9),
            seg("PCI", "0680", C, 9),
            seg("CST", "0690", C, 1),
            sg15,
            sg16,
        ],
    )?;
    let sg8 = group(
        "SG8",
        "0330",
        ("RFF", "0340"),
        C,
        9999,
        vec![
            seg("CNT", "0350", C, 9),
            seg("MOA", "0360", C, 9),
            seg("LOC", "0370", C, 99),
            seg("GIS", "0380", C, 9),
            seg("CUX", "0390", C, 9),
            seg("CPI", "0400", C, 9),
            sg9,
            sg11,
            sg13,
            sg14,
        ],
    )?;
    let sg7 = group(
        "SG7",
        "0300",
        ("CNI", "0310"),
        C,
        9999,
        vec![seg("CNT", "0320", C, 9), sg8],
    )?;
    let sg17 = group(
        "SG17",
        "0770",
        ("AUT", "0780"),
        C,
        1,
        vec![seg("DTM", "0790", C, 9), seg("RFF", "0800", C, 9)],
    )?;
    GroupSchema::ordered(
        "CUSCAR",
        [
            seg("UNH", "0010", M, 1),
            seg("BGM", "0020", M, 1),
            seg("DTM", "0030", C, 9),
            sg1,
            sg2,
            seg("FTX", "0120", C, 9),
            sg4,
            seg("GIS", "0170", C, 9),
            sg5,
            seg("CNT", "0290", C, 9),
            sg7,
            sg17,
            seg("UNT", "0810", M, 1),
        ],
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_segment_table_compiles() {
        assert!(super::build().is_ok(), "{:?}", super::build().err());
    }
}
