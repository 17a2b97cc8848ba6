//! One CUSCAR D.96B message → one manifest. The mapping is documented in the crate root.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use edifact_rs::group::{GroupResolution, SegmentGroupIndexed};
use edifact_rs::{FindingKind, Segment};
use rust_decimal::Decimal;
use tongguan_domain::codes::{ContainerNumber, Direction};
use tongguan_domain::manifest::{Bill, ManifestInput};

use crate::CuscarManifest;
use crate::error::{EdifactError, Location};
use crate::schema::{cuscar, describe_group};
use crate::syntax::{at, opt, value};
use crate::values::{
    DATE_FORMATS, DateProblem, china_transport_mode, is_locode, parse_count, parse_date_time,
    parse_decimal,
};

/// BGM 1001 codes (UNCL 1001) read as a manifest without a warning.
const MANIFEST_CODES: &[&str] = &["85", "785", "786", "787", "788"];
/// LOC 3227 qualifiers naming where the transport means arrives, in order of preference:
/// 60 place of arrival, 24 port of entry, 11 place/port of discharge, 12 port of discharge,
/// 8 place of destination.
const ARRIVAL: &[&str] = &["60", "24", "11", "12", "8"];
/// LOC 3227 qualifiers naming where it departs: 5 place of departure, 9 place/port of loading.
const DEPARTURE: &[&str] = &["5", "9"];
/// DTM 2005 qualifiers read as the arrival, in order of preference: 132 arrival date/time
/// estimated, 232 arrival date/time scheduled, 178 arrival date/time actual.
const ARRIVAL_DATES: &[&str] = &["132", "232", "178"];
/// RFF 1153 qualifiers naming a master or straight transport document (UNCL 1153): BM bill
/// of lading, MB master bill of lading, MWB master air waybill, AWB air waybill, AEX sea
/// waybill, RCN railway consignment note, CMR road consignment note, AAM waybill, AAS
/// transport document number.
const BILL_REFERENCES: &[&str] = &["BM", "MB", "MWB", "AWB", "AEX", "RCN", "CMR", "AAM", "AAS"];
/// RFF 1153 qualifiers naming a house bill (UNCL 1153): BH house bill of lading, HWB house
/// waybill, ABH sub-house bill of lading.
const HOUSE_REFERENCES: &[&str] = &["BH", "HWB", "ABH"];
/// MEA 6311 measurement application qualifiers that carry a weight: AAE measurement, WT
/// weights, AAF customs line item measurement, AAX consignment measurement.
const WEIGHT_APPLICATIONS: &[&str] = &["AAE", "WT", "AAF", "AAX"];
/// MEA 6313 measurement dimensions that are a gross weight: G gross weight, AAD total gross
/// weight.
const GROSS_WEIGHT: &[&str] = &["G", "AAD"];

/// A message being read: its segments, where it starts in the interchange, the warnings.
struct Cx<'m, 'a> {
    msg: &'m [Segment<'a>],
    /// Index of its `UNH` in the interchange.
    base: usize,
    warnings: Vec<String>,
}

impl<'m, 'a> Cx<'m, 'a> {
    /// Position in the interchange (from 1) of the message's `i`-th segment (from 0).
    fn pos(&self, i: usize) -> usize {
        self.base + i + 1
    }

    fn seg(&self, i: usize) -> &'m Segment<'a> {
        &self.msg[i]
    }

    fn here(&self, i: usize) -> Location {
        Location::segment(self.pos(i), self.seg(i).tag())
    }

    fn at(&self, i: usize, element: u16, component: Option<u16>, de: &'static str) -> Location {
        at(self.pos(i), self.seg(i), element, component, de)
    }

    fn warn(&mut self, i: usize, text: impl std::fmt::Display) {
        let line = format!("segment {} ({}): {text}", self.pos(i), self.seg(i).tag());
        self.warnings.push(line);
    }

    /// Indices of the segments directly in `node` (not in its child groups) tagged `tag`.
    fn direct<'t>(
        &self,
        node: &'t SegmentGroupIndexed<'_>,
        tag: &'t str,
    ) -> impl Iterator<Item = usize> + 't
    where
        'm: 't,
    {
        let msg = self.msg;
        node.direct_segment_indices()
            .filter(move |&i| msg.get(i).is_some_and(|s| s.tag() == tag))
    }
}

/// The instances of child group `name` of `node`.
fn groups<'t, 's>(
    node: &'t SegmentGroupIndexed<'s>,
    name: &'t str,
) -> impl Iterator<Item = &'t SegmentGroupIndexed<'s>> + 't {
    node.children.iter().filter(move |c| c.definition == name)
}

/// Maps the message `range` (indices of its `UNH` … `UNT`) of `all`.
pub(crate) fn map_message(
    all: &[Segment<'_>],
    range: Range<usize>,
) -> Result<CuscarManifest, EdifactError> {
    let base = range.start;
    let msg = &all[range];
    let resolution = cuscar().resolve(msg);
    check_structure(&resolution, msg, base)?;
    let root = resolution.tree();
    let mut cx = Cx {
        msg,
        base,
        warnings: Vec::new(),
    };

    let message_ref = value(cx.seg(0), 0, 0).to_string();
    let (function, document_no) = read_bgm(&mut cx, root)?;
    let transport = read_transport(&mut cx, root)?;
    let equipment = read_equipment(&mut cx, root)?;
    let mut read = Vec::new();
    for sg7 in groups(root, "SG7") {
        read.extend(read_sg7(&mut cx, sg7, &equipment)?);
    }
    let bills = attribute_equipment(&mut cx, &equipment, read);

    Ok(CuscarManifest {
        message_ref,
        function,
        document_no,
        manifest: ManifestInput {
            direction: transport.direction,
            transport_mode: transport.mode,
            transport_means: transport.means,
            voyage: transport.voyage,
            port: transport.port,
            customs: String::new(),
            eta: transport.eta,
            leg: Default::default(),
            bills,
        },
        warnings: cx.warnings,
    })
}

/// The first fault the segment table finds. A segment out of place or repeated too often
/// is reported before a missing one (a misplaced segment often is the missing one: a BGM
/// after an FTX is both out of order and absent from its place); among each kind, the
/// first in segment order.
fn check_structure(
    resolution: &GroupResolution<'_>,
    msg: &[Segment<'_>],
    base: usize,
) -> Result<(), EdifactError> {
    let tag_of = |i: usize| msg.get(i).map_or("?", |s| s.tag());
    // (missing?, index): placement and count findings sort first.
    let mut first: Option<((bool, usize), EdifactError)> = None;
    for issue in resolution.findings(msg) {
        let within = issue.group_path().map_or_else(
            || "the message".to_string(),
            |p| {
                let steps: Vec<String> = p
                    .steps()
                    .iter()
                    .map(|s| format!("{} #{}", s.name, u64::from(s.occurrence) + 1))
                    .collect();
                format!("{}, {}", steps.join(" / "), describe_group(&p.last().name))
            },
        );
        let (key, error) = if issue.kind() == Some(FindingKind::Missing) {
            let index = issue
                .group_path()
                .and_then(|p| {
                    let mut node = resolution.tree();
                    for step in p.steps() {
                        node = node.children.iter().find(|c| {
                            c.definition == &*step.name
                                && c.occurrence_index == step.occurrence as usize
                        })?;
                    }
                    Some(node.total_span.start)
                })
                .unwrap_or(0);
            let missing = issue.segment_tag().unwrap_or("?").to_string();
            let place = issue.context_get("place").unwrap_or("?");
            let error = EdifactError::MissingSegment {
                at: Location::segment(base + index + 1, tag_of(index)),
                detail: format!(
                    "{missing} ({place}) is mandatory in {within}, which begins here (CUSCAR D.96B segment table)"
                ),
                missing,
            };
            ((true, index), error)
        } else {
            let Some(index) = issue
                .segment_position()
                .and_then(|p| (p as usize).checked_sub(1))
            else {
                continue;
            };
            let error = EdifactError::UnexpectedSegment {
                at: Location::segment(base + index + 1, tag_of(index)),
                detail: format!(
                    "not allowed here by the CUSCAR D.96B segment table: {} (in {within})",
                    issue.message
                ),
            };
            ((false, index), error)
        };
        if first.as_ref().is_none_or(|(k, _)| key < *k) {
            first = Some((key, error));
        }
    }
    match first {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

/// BGM (0020): C002 1001 document name code, C106 1004 document number, 1225 function.
fn read_bgm(
    cx: &mut Cx<'_, '_>,
    root: &SegmentGroupIndexed<'_>,
) -> Result<(String, String), EdifactError> {
    let Some(i) = cx.direct(root, "BGM").next() else {
        return Err(EdifactError::MissingSegment {
            at: cx.here(0),
            missing: "BGM".into(),
            detail: "BGM (0020) is mandatory".into(),
        });
    };
    let bgm = cx.seg(i);
    match opt(bgm, 0, 0) {
        None => cx.warn(i, "BGM 1001 (document name code) is empty; read as a cargo manifest"),
        Some(code) if !MANIFEST_CODES.contains(&code) => cx.warn(
            i,
            format!(
                "BGM 1001 '{code}' is not a manifest code (85 customs manifest, 785 cargo manifest, 786, 787, 788); read as a cargo manifest all the same"
            ),
        ),
        Some(_) => {}
    }
    let document_no = value(bgm, 1, 0).to_string();
    if document_no.is_empty() {
        cx.warn(i, "BGM 1004 (document number) is empty");
    }
    let function = match opt(bgm, 2, 0) {
        None => {
            cx.warn(
                i,
                "BGM 1225 (message function) is empty; taken as 9 (original)",
            );
            "9".to_string()
        }
        Some(f) => {
            // UNCL 1225 (D.96B): codes 1 to 54.
            if !parse_count(f).is_some_and(|n| (1..=54).contains(&n)) || f.starts_with('0') {
                return Err(EdifactError::BadCode {
                    at: cx.at(i, 3, None, "1225"),
                    value: f.into(),
                    detail: "not a message function code of UNCL 1225 (D.96B: 1-54; 9 original, 5 replace, 1 cancellation, 4 change)".into(),
                });
            }
            f.to_string()
        }
    };
    Ok((function, document_no))
}

struct Transport {
    direction: Direction,
    mode: String,
    means: String,
    voyage: String,
    port: String,
    eta: Option<chrono::DateTime<chrono::Utc>>,
}

/// SG4 (0130) TDT-LOC-DTM of the main carriage, and GIS (0170) for the direction.
fn read_transport(
    cx: &mut Cx<'_, '_>,
    root: &SegmentGroupIndexed<'_>,
) -> Result<Transport, EdifactError> {
    let sg4s: Vec<_> = groups(root, "SG4").collect();
    let main = sg4s
        .iter()
        .find(|g| value(cx.seg(g.total_span.start), 0, 0) == "20")
        .copied();
    let sg4 = match (main, sg4s.as_slice()) {
        (Some(g), _) => g,
        (None, [only]) => {
            let t = only.total_span.start;
            cx.warn(
                t,
                format!(
                    "TDT 8051 is '{}', not 20 (main-carriage transport); the only transport stage is taken as the main carriage",
                    value(cx.seg(t), 0, 0)
                ),
            );
            only
        }
        (None, _) => {
            let i = sg4s
                .first()
                .map_or(cx.msg.len() - 1, |g| g.total_span.start);
            return Err(EdifactError::MissingSegment {
                at: cx.here(i),
                missing: "TDT".into(),
                detail: "a manifest needs the main-carriage transport: SG4 (0130) with TDT 8051 = 20 (transport means, voyage and mode)".into(),
            });
        }
    };
    let t = sg4.total_span.start;
    let tdt = cx.seg(t);

    let voyage = opt(tdt, 1, 0)
        .ok_or_else(|| EdifactError::MissingElement {
            at: cx.at(t, 2, None, "8028"),
            detail: "the conveyance reference number (voyage, flight or train number) is empty"
                .into(),
        })?
        .to_string();
    let rec19 = opt(tdt, 2, 0).ok_or_else(|| EdifactError::MissingElement {
        at: cx.at(t, 3, Some(1), "8067"),
        detail: "the mode of transport (UN/ECE Rec. 19) is empty".into(),
    })?;
    let mode = china_transport_mode(rec19)
        .ok_or_else(|| EdifactError::BadCode {
            at: cx.at(t, 3, Some(1), "8067"),
            value: rec19.into(),
            detail: "not a mode of transport of UN/ECE Rec. 19 that a manifest can be filed under (1 maritime, 2 rail, 3 road, 4 air, 5 mail, 7 fixed installation, 8 inland water)".into(),
        })?
        .to_string();
    let means = opt(tdt, 7, 3)
        .or_else(|| opt(tdt, 7, 0))
        .ok_or_else(|| EdifactError::MissingElement {
            at: cx.at(t, 8, Some(4), "8212"),
            detail: "the transport means is not named: C222 8212 (name) and 8213 (identification) are both empty".into(),
        })?
        .to_string();

    let locs: Vec<(usize, &str, &str)> = cx
        .direct(sg4, "LOC")
        .map(|i| (i, value(cx.seg(i), 0, 0), value(cx.seg(i), 1, 0)))
        .collect();
    let chinese = |quals: &[&str]| {
        locs.iter()
            .any(|(_, q, code)| quals.contains(q) && code.starts_with("CN"))
    };
    let gis = cx
        .direct(root, "GIS")
        .map(|i| (i, value(cx.seg(i), 0, 0)))
        .find(|(_, code)| matches!(*code, "22" | "23"));
    let direction = match gis {
        Some((_, "22")) => Direction::Export,
        Some(_) => Direction::Import,
        None if chinese(ARRIVAL) => Direction::Import,
        None if chinese(DEPARTURE) => Direction::Export,
        None => {
            cx.warn(
                t,
                "no GIS 7365 22 (export) / 23 (import) at message level and no Chinese place of arrival or departure in LOC: taken as import",
            );
            Direction::Import
        }
    };

    let (quals, what) = match direction {
        Direction::Import => (ARRIVAL, "arrival (LOC 60, 24, 11, 12 or 8)"),
        Direction::Export => (DEPARTURE, "departure (LOC 5 or 9)"),
    };
    let Some(&(l, _, code)) = quals
        .iter()
        .find_map(|q| locs.iter().find(|(_, lq, _)| lq == q))
    else {
        return Err(EdifactError::MissingSegment {
            at: cx.here(t),
            missing: "LOC".into(),
            detail: format!(
                "the main-carriage SG4 has no place of {what}, which gives the manifest's port"
            ),
        });
    };
    if code.is_empty() {
        return Err(EdifactError::MissingElement {
            at: cx.at(l, 2, Some(1), "3225"),
            detail: "the place/location identification (UN/LOCODE) is empty".into(),
        });
    }
    if !is_locode(code) {
        return Err(EdifactError::BadCode {
            at: cx.at(l, 2, Some(1), "3225"),
            value: code.into(),
            detail: "not a UN/LOCODE (2-letter country code and 3 letters or digits 2-9)".into(),
        });
    }
    if !code.starts_with("CN") {
        cx.warn(l, format!("the port {code} is not in China"));
    }
    let port = code.to_string();

    let eta = read_eta(cx, sg4)?;
    Ok(Transport {
        direction,
        mode,
        means,
        voyage,
        port,
        eta,
    })
}

/// DTM (0160) 132, else 232, else 178: C507 2380 in format 2379.
fn read_eta(
    cx: &mut Cx<'_, '_>,
    sg4: &SegmentGroupIndexed<'_>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, EdifactError> {
    let dtms: Vec<usize> = cx.direct(sg4, "DTM").collect();
    let Some(d) = ARRIVAL_DATES
        .iter()
        .find_map(|q| dtms.iter().copied().find(|&i| value(cx.seg(i), 0, 0) == *q))
    else {
        cx.warn(
            sg4.total_span.start,
            "no arrival date/time (DTM 132, 232 or 178) for the main carriage: eta left empty",
        );
        return Ok(None);
    };
    let dtm = cx.seg(d);
    let text = opt(dtm, 0, 1).ok_or_else(|| EdifactError::MissingElement {
        at: cx.at(d, 1, Some(2), "2380"),
        detail: "the date/time is empty".into(),
    })?;
    let format = match opt(dtm, 0, 2) {
        Some(f) => f,
        None => {
            let Some(&(f, _, shape)) = DATE_FORMATS.iter().find(|(_, len, _)| *len == text.len())
            else {
                return Err(EdifactError::MissingElement {
                    at: cx.at(d, 1, Some(3), "2379"),
                    detail: "the date/time format qualifier is empty and the value's length names none (102, 203, 204)".into(),
                });
            };
            cx.warn(
                d,
                format!("DTM 2379 (format) is empty; read as {f} ({shape}) by the value's length"),
            );
            f
        }
    };
    match parse_date_time(text, format) {
        Ok(t) => Ok(Some(t)),
        Err(DateProblem::Format) => Err(EdifactError::BadCode {
            at: cx.at(d, 1, Some(3), "2379"),
            value: format.into(),
            detail: "an arrival date/time is read in format 102 (CCYYMMDD), 203 (CCYYMMDDHHMM) or 204 (CCYYMMDDHHMMSS)".into(),
        }),
        Err(DateProblem::Value(why)) => Err(EdifactError::BadDate {
            at: cx.at(d, 1, Some(2), "2380"),
            value: text.into(),
            detail: format!("not a date/time in format {format}: {why}"),
        }),
    }
}

/// What kind of equipment an SG5 EQD lists (8053).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// CN container: 8260 is an ISO 6346 container number.
    Container,
    /// RR rail car: 8260 is the wagon number (车皮号).
    Wagon,
}

/// A unit of equipment on the list (SG5).
struct Equipment {
    kind: Kind,
    number: String,
    index: usize,
    empty: bool,
}

/// The equipment list, with an index by number.
#[derive(Default)]
struct EquipmentList {
    units: Vec<Equipment>,
    by_number: HashMap<String, usize>,
}

impl EquipmentList {
    fn get(&self, number: &str) -> Option<&Equipment> {
        self.by_number.get(number).and_then(|&i| self.units.get(i))
    }
}

/// SG5 (0180) EQD: 8053 CN (container) or RR (rail car) with C237 8260, 8169 full/empty.
/// Other equipment (trailers, pallets, …) is not mapped.
fn read_equipment(
    cx: &mut Cx<'_, '_>,
    root: &SegmentGroupIndexed<'_>,
) -> Result<EquipmentList, EdifactError> {
    let mut out = EquipmentList::default();
    for sg5 in groups(root, "SG5") {
        let e = sg5.total_span.start;
        let eqd = cx.seg(e);
        let kind = match value(eqd, 0, 0) {
            "CN" => Kind::Container,
            "RR" => Kind::Wagon,
            _ => continue,
        };
        let number = match kind {
            Kind::Container => container(cx, e, 2, "8260")?,
            Kind::Wagon => wagon(cx, e, 2)?,
        };
        if let Some(first) = out.get(&number) {
            let line = format!(
                "equipment {number} is listed again (first EQD at segment {})",
                cx.pos(first.index)
            );
            cx.warn(e, line);
            continue;
        }
        out.by_number.insert(number.clone(), out.units.len());
        out.units.push(Equipment {
            kind,
            number,
            index: e,
            empty: value(eqd, 5, 0) == "4",
        });
    }
    Ok(out)
}

/// Reads and checks the container number in C237 (element `element`, component 1).
fn container(
    cx: &Cx<'_, '_>,
    i: usize,
    element: u16,
    de: &'static str,
) -> Result<String, EdifactError> {
    let raw = opt(cx.seg(i), usize::from(element) - 1, 0).ok_or_else(|| {
        EdifactError::MissingElement {
            at: cx.at(i, element, Some(1), de),
            detail: "the equipment identification number (container number) is empty".into(),
        }
    })?;
    ContainerNumber::parse(raw)
        .map(|n| n.as_str().to_string())
        .map_err(|v| EdifactError::BadContainer {
            at: cx.at(i, element, Some(1), de),
            value: raw.into(),
            detail: format!("{} ({})", v.message, v.rule),
        })
}

/// Reads a wagon number in C237 8260 (no check: wagon numbering differs by railway).
fn wagon(cx: &Cx<'_, '_>, i: usize, element: u16) -> Result<String, EdifactError> {
    opt(cx.seg(i), usize::from(element) - 1, 0)
        .map(str::to_string)
        .ok_or_else(|| EdifactError::MissingElement {
            at: cx.at(i, element, Some(1), "8260"),
            detail: "the equipment identification number (wagon number) is empty".into(),
        })
}

/// What one or more SG8 consignments add up to.
#[derive(Default)]
struct Acc {
    consignee: Option<String>,
    gid_packages: Option<u32>,
    gid_weight: Option<Decimal>,
    cnt_packages: Option<u32>,
    cnt_weight: Option<Decimal>,
    /// Equipment named by SGP.
    placed: Placed,
}

/// Equipment named by SGP: (segment index, number), in order, without repeats.
#[derive(Default)]
struct Placed {
    list: Vec<(usize, String)>,
    seen: HashSet<String>,
}

impl Placed {
    fn add(&mut self, segment: usize, number: String) {
        if self.seen.insert(number.clone()) {
            self.list.push((segment, number));
        }
    }
}

/// A bill and the equipment its goods items name (SGP), for cross-checks.
pub(crate) struct ReadBill {
    bill: Bill,
    placed: Vec<(usize, String)>,
}

/// One SG7 (0300, CNI-CNT-SG8) → its bills.
///
/// The SG8 (0330) consignments whose RFF 1153 is a house bill (BH house bill of lading, HWB
/// house waybill, ABH sub-house bill of lading) become bills of their own, with the master
/// number (CNI C503 1004, else that of the SG7's other SG8) as `master_bill_no`. The other
/// SG8 of the group — the master or straight bill — are added up into one bill numbered
/// CNI 1004, else by their RFF 1154 with 1153 BM, MB, MWB, AWB, AEX, RCN, CMR, AAM or AAS.
fn read_sg7(
    cx: &mut Cx<'_, '_>,
    sg7: &SegmentGroupIndexed<'_>,
    equipment: &EquipmentList,
) -> Result<Vec<ReadBill>, EdifactError> {
    let c = sg7.total_span.start;
    let cni_no = opt(cx.seg(c), 1, 0).map(str::to_string);
    let mut master = Acc::default();
    let mut master_sg8s = 0;
    let mut master_no = cni_no.clone();
    let mut houses = Vec::new();
    for sg8 in groups(sg7, "SG8") {
        let r = sg8.total_span.start;
        let rff = cx.seg(r);
        let (qualifier, number) = (value(rff, 0, 0), opt(rff, 0, 1));
        let acc = read_consignment(cx, sg8, equipment)?;
        match number {
            Some(n) if HOUSE_REFERENCES.contains(&qualifier) => {
                houses.push((r, n.to_string(), acc))
            }
            _ => {
                if master_no.is_none() && BILL_REFERENCES.contains(&qualifier) {
                    master_no = number.map(str::to_string);
                }
                master_sg8s += 1;
                merge(cx, r, &mut master, acc)?;
            }
        }
    }

    let mut out = Vec::new();
    if master_sg8s > 0 || houses.is_empty() {
        let Some(bill_no) = master_no.clone() else {
            return Err(EdifactError::MissingElement {
                at: cx.at(c, 2, Some(1), "1004"),
                detail: "no bill number: CNI C503 1004 is empty and no SG8 RFF carries one (1153 BM, MB, MWB, AWB, AEX, RCN, CMR, AAM, AAS, or a house bill BH, HWB, ABH)".into(),
            });
        };
        if master_sg8s > 1 {
            cx.warn(
                c,
                format!(
                    "bill {bill_no} holds {master_sg8s} consignments (SG8); their packages, weights and equipment are added up"
                ),
            );
        }
        out.push(finish(cx, c, bill_no, None, master));
    }
    for (r, bill_no, acc) in houses {
        if master_no.is_none() {
            cx.warn(
                r,
                format!("house bill {bill_no}: its master bill number is not given (CNI 1004)"),
            );
        }
        out.push(finish(cx, r, bill_no, master_no.clone(), acc));
    }
    Ok(out)
}

/// One SG8 (0330): SG11 NAD CN, CNT (0350), and its SG14 goods items (GID, MEA, SGP).
fn read_consignment(
    cx: &mut Cx<'_, '_>,
    sg8: &SegmentGroupIndexed<'_>,
    equipment: &EquipmentList,
) -> Result<Acc, EdifactError> {
    let mut acc = Acc {
        consignee: groups(sg8, "SG11")
            .map(|g| cx.seg(g.total_span.start))
            .find(|nad| value(nad, 0, 0) == "CN")
            .and_then(party_name),
        ..Acc::default()
    };
    let cnts: Vec<usize> = cx.direct(sg8, "CNT").collect();
    for n in cnts {
        read_cnt(cx, n, &mut acc)?;
    }
    for sg14 in groups(sg8, "SG14") {
        let g = sg14.total_span.start;
        match opt(cx.seg(g), 1, 0) {
            Some(p) => {
                let p = parse_count(p).ok_or_else(|| EdifactError::BadNumber {
                    at: cx.at(g, 2, Some(1), "7224"),
                    value: p.into(),
                    detail: "the number of packages is n..8".into(),
                })?;
                acc.gid_packages = Some(add_count(cx, g, acc.gid_packages, p)?);
            }
            None => cx.warn(g, "GID C213 7224 (number of packages) is empty"),
        }
        let meas: Vec<usize> = cx.direct(sg14, "MEA").collect();
        match gross_weight(cx, &meas)? {
            Some(w) => acc.gid_weight = Some(add_weight(cx, g, acc.gid_weight, w)?),
            None => cx.warn(
                g,
                "the goods item has no gross weight (MEA AAE/WT/AAF/AAX with G or AAD)",
            ),
        }
        let sgps: Vec<usize> = cx.direct(sg14, "SGP").collect();
        for s in sgps {
            let raw = value(cx.seg(s), 0, 0);
            let number = match equipment.get(raw) {
                Some(e) if e.kind == Kind::Wagon => raw.to_string(),
                _ => container(cx, s, 1, "8260")?,
            };
            acc.placed.add(s, number);
        }
    }
    Ok(acc)
}

/// Adds `other` into `into` (a master bill's SG8s).
fn merge(cx: &Cx<'_, '_>, i: usize, into: &mut Acc, other: Acc) -> Result<(), EdifactError> {
    if into.consignee.is_none() {
        into.consignee = other.consignee;
    }
    for (sum, add) in [
        (&mut into.gid_packages, other.gid_packages),
        (&mut into.cnt_packages, other.cnt_packages),
    ] {
        if let Some(n) = add {
            *sum = Some(add_count(cx, i, *sum, n)?);
        }
    }
    for (sum, add) in [
        (&mut into.gid_weight, other.gid_weight),
        (&mut into.cnt_weight, other.cnt_weight),
    ] {
        if let Some(w) = add {
            *sum = Some(add_weight(cx, i, *sum, w)?);
        }
    }
    for (s, n) in other.placed.list {
        into.placed.add(s, n);
    }
    Ok(())
}

/// The bill from what its consignments add up to; `i` is the segment warnings point at.
fn finish(
    cx: &mut Cx<'_, '_>,
    i: usize,
    bill_no: String,
    master_bill_no: Option<String>,
    acc: Acc,
) -> ReadBill {
    let consignee = acc.consignee.unwrap_or_else(|| {
        cx.warn(
            i,
            format!("bill {bill_no} names no consignee (SG11 NAD CN)"),
        );
        String::new()
    });
    let packages = match (acc.gid_packages, acc.cnt_packages) {
        (Some(g), Some(t)) if g != t => {
            cx.warn(
                i,
                format!(
                    "bill {bill_no}: its goods items count {g} packages, CNT 11 says {t}; {g} taken"
                ),
            );
            g
        }
        (Some(g), _) => g,
        (None, Some(t)) => t,
        (None, None) => {
            cx.warn(i, format!("bill {bill_no} gives no number of packages"));
            0
        }
    };
    let gross_weight_kg = match (acc.gid_weight, acc.cnt_weight) {
        (Some(g), Some(t)) if g != t => {
            cx.warn(
                i,
                format!(
                    "bill {bill_no}: its goods items weigh {g} kg, CNT 7 says {t} kg; {g} taken"
                ),
            );
            g
        }
        (Some(g), _) => g,
        (None, Some(t)) => t,
        (None, None) => {
            cx.warn(i, format!("bill {bill_no} gives no gross weight"));
            Decimal::ZERO
        }
    };
    ReadBill {
        bill: Bill {
            bill_no,
            consignee,
            packages,
            gross_weight_kg,
            containers: Vec::new(),
            master_bill_no,
            wagons: Vec::new(),
        },
        placed: acc.placed.list,
    }
}

/// NAD party name: C080 3036 (lines joined by a space), else C058 3124, else C082 3039.
fn party_name(nad: &Segment<'_>) -> Option<String> {
    let joined = |element: usize, parts: usize| {
        let lines: Vec<&str> = (0..parts).filter_map(|c| opt(nad, element, c)).collect();
        (!lines.is_empty()).then(|| lines.join(" "))
    };
    joined(3, 5)
        .or_else(|| joined(2, 5))
        .or_else(|| opt(nad, 1, 0).map(str::to_string))
}

/// CNT (0350) C270: 6069 11 total packages, 7 total gross weight (6066 value, 6411 unit).
fn read_cnt(cx: &Cx<'_, '_>, n: usize, acc: &mut Acc) -> Result<(), EdifactError> {
    let cnt = cx.seg(n);
    let raw = value(cnt, 0, 1);
    match value(cnt, 0, 0) {
        "11" => {
            let p = parse_count(raw).ok_or_else(|| EdifactError::BadNumber {
                at: cx.at(n, 1, Some(2), "6066"),
                value: raw.into(),
                detail: "the total number of packages is a whole number".into(),
            })?;
            acc.cnt_packages = Some(add_count(cx, n, acc.cnt_packages, p)?);
        }
        "7" => {
            let w = parse_decimal(raw).ok_or_else(|| EdifactError::BadNumber {
                at: cx.at(n, 1, Some(2), "6066"),
                value: raw.into(),
                detail: "the total gross weight is a non-negative decimal number".into(),
            })?;
            let unit = opt(cnt, 0, 2).unwrap_or("KGM");
            let kg = to_kg(cx, n, 1, 3, unit, w)?;
            acc.cnt_weight = Some(add_weight(cx, n, acc.cnt_weight, kg)?);
        }
        _ => {}
    }
    Ok(())
}

/// The first gross weight among a goods item's MEA (0640): 6311 AAE/WT/AAF/AAX, C502 6313
/// G/AAD, C174 6411 unit and 6314 value.
fn gross_weight(cx: &Cx<'_, '_>, meas: &[usize]) -> Result<Option<Decimal>, EdifactError> {
    let Some(&m) = meas.iter().find(|&&m| {
        let mea = cx.seg(m);
        WEIGHT_APPLICATIONS.contains(&value(mea, 0, 0)) && GROSS_WEIGHT.contains(&value(mea, 1, 0))
    }) else {
        return Ok(None);
    };
    let mea = cx.seg(m);
    let raw = opt(mea, 2, 1).ok_or_else(|| EdifactError::MissingElement {
        at: cx.at(m, 3, Some(2), "6314"),
        detail: "the measurement value (gross weight) is empty".into(),
    })?;
    let w = parse_decimal(raw).ok_or_else(|| EdifactError::BadNumber {
        at: cx.at(m, 3, Some(2), "6314"),
        value: raw.into(),
        detail: "the gross weight is a non-negative decimal number (digits, one decimal mark)"
            .into(),
    })?;
    let unit = opt(mea, 2, 0).ok_or_else(|| EdifactError::MissingElement {
        at: cx.at(m, 3, Some(1), "6411"),
        detail: "the measure unit qualifier (mandatory in C174) is empty".into(),
    })?;
    to_kg(cx, m, 3, 1, unit, w).map(Some)
}

/// A weight in `unit` (UN/ECE Rec. 20: KGM kilogram, TNE tonne) in kilograms.
fn to_kg(
    cx: &Cx<'_, '_>,
    i: usize,
    element: u16,
    component: u16,
    unit: &str,
    w: Decimal,
) -> Result<Decimal, EdifactError> {
    let factor = match unit {
        "KGM" => Decimal::ONE,
        "TNE" => Decimal::from(1000),
        _ => {
            return Err(EdifactError::BadCode {
                at: cx.at(i, element, Some(component), "6411"),
                value: unit.into(),
                detail: "a weight is read in KGM (kilogram) or TNE (tonne), UN/ECE Rec. 20".into(),
            });
        }
    };
    w.checked_mul(factor)
        .ok_or_else(|| too_large(cx, i, element, component, "6411", w))
}

fn add_count(cx: &Cx<'_, '_>, i: usize, sum: Option<u32>, n: u32) -> Result<u32, EdifactError> {
    sum.unwrap_or(0)
        .checked_add(n)
        .ok_or_else(|| EdifactError::BadNumber {
            at: cx.here(i),
            value: n.to_string(),
            detail: "the bill's total number of packages is too large".into(),
        })
}

fn add_weight(
    cx: &Cx<'_, '_>,
    i: usize,
    sum: Option<Decimal>,
    w: Decimal,
) -> Result<Decimal, EdifactError> {
    sum.unwrap_or(Decimal::ZERO)
        .checked_add(w)
        .ok_or_else(|| EdifactError::BadNumber {
            at: cx.here(i),
            value: w.to_string(),
            detail: "the bill's total gross weight is too large".into(),
        })
}

fn too_large(
    cx: &Cx<'_, '_>,
    i: usize,
    element: u16,
    component: u16,
    de: &'static str,
    w: Decimal,
) -> EdifactError {
    EdifactError::BadNumber {
        at: cx.at(i, element, Some(component), de),
        value: w.to_string(),
        detail: "the weight is too large".into(),
    }
}

/// Gives each bill the containers and wagons its goods items are placed in (SGP), checked
/// against the equipment list (SG5); when no goods item has an SGP, the whole list (less
/// the units marked empty) goes to the only bill.
fn attribute_equipment(
    cx: &mut Cx<'_, '_>,
    equipment: &EquipmentList,
    read: Vec<ReadBill>,
) -> Vec<Bill> {
    let any_sgp = read.iter().any(|r| !r.placed.is_empty());
    if any_sgp {
        let mut used = HashSet::new();
        for (s, number) in read.iter().flat_map(|r| &r.placed) {
            used.insert(number.as_str());
            if !equipment.units.is_empty() && equipment.get(number).is_none() {
                cx.warn(
                    *s,
                    format!("equipment {number} is not on the equipment list (SG5 EQD)"),
                );
            }
        }
        for e in &equipment.units {
            if !e.empty && !used.contains(e.number.as_str()) {
                cx.warn(
                    e.index,
                    format!(
                        "equipment {} carries no goods item (no SGP names it) and is not marked empty (8169 = 4)",
                        e.number
                    ),
                );
            }
        }
    } else if let Some(first) = equipment.units.first() {
        if read.len() == 1 {
            let line = format!(
                "no goods item names its equipment (SGP); the {} unit(s) of SG5 not marked empty go to the only bill",
                equipment.units.iter().filter(|e| !e.empty).count()
            );
            cx.warn(first.index, line);
        } else {
            cx.warn(
                first.index,
                "no goods item names its equipment (SGP) and the message holds several bills: the SG5 containers and wagons go to none",
            );
        }
    }
    let single = read.len() == 1 && !any_sgp;
    read.into_iter()
        .map(|r| {
            let mut bill = r.bill;
            let numbers: Vec<&String> = if single {
                equipment
                    .units
                    .iter()
                    .filter(|e| !e.empty)
                    .map(|e| &e.number)
                    .collect()
            } else {
                r.placed.iter().map(|(_, n)| n).collect()
            };
            for n in numbers {
                match equipment.get(n).map_or(Kind::Container, |e| e.kind) {
                    Kind::Container => bill.containers.push(n.clone()),
                    Kind::Wagon => bill.wagons.push(n.clone()),
                }
            }
            bill
        })
        .collect()
}
