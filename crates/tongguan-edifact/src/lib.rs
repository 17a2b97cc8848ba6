//! UN/EDIFACT import of cargo reports (舱单): CUSCAR D.96B interchanges into
//! [`ManifestInput`]s. Pure: no IO, clock or randomness.
//!
//! Carriers and their agents send their manifests as CUSCAR (Customs cargo report message,
//! UN/EDIFACT directory D.96B). This crate reads a whole interchange — `UNA` optional,
//! `UNB … UNZ` around one or more `UNH … UNT` CUSCAR messages — and gives one
//! [`CuscarManifest`] per message: the manifest in the domain's shape, ready for
//! `tongguan_domain::manifest::validate_manifest`, and the warnings met on the way. Rail
//! manifests (M8, 铁路数据交互) arrive the same way as sea and air ones; the manifests feed
//! advance declaration and 秒放 (M1), the combination port (M2) and port flow (M3).
//!
//! # Layers
//!
//! 1. **Syntax** (ISO 9735) — [`edifact-rs`](https://docs.rs/edifact-rs) 0.18: the `UNA`
//!    service string advice (or the default separators `:+.? '` when there is none),
//!    the release character, segments, data elements, components. A lexical fault is
//!    `edifact.syntax` at the segment that could not be read.
//! 2. **Envelope** — `UNB`, `UNH`/`UNT` pairs, `UNZ`: order, `UNT` 0074 segment counts,
//!    `UNZ` 0036 message count, control references (`UNH`/`UNT` 0062, `UNB`/`UNZ` 0020),
//!    message type `CUSCAR:D:96B:UN`. Checked for the whole interchange before any message
//!    is mapped, so a broken envelope is reported before a fault inside a message.
//! 3. **Segment table** — the CUSCAR D.96B segment table (§4.3.1), written out as an
//!    `edifact-rs` ordered group schema: every segment must fit its place, group and
//!    repeat count, mandatory segments must be there.
//! 4. **Mapping** — below.
//!
//! Text: [`parse_cuscar`] takes decoded text. [`parse_cuscar_bytes`] decodes raw bytes by
//! the character set named in `UNB` S001 0001 (`UNOA`/`UNOB` ASCII, `UNOC` ISO 8859-1, …,
//! `UNOY` UTF-8) first.
//!
//! # Mapping (CUSCAR D.96B → [`ManifestInput`])
//!
//! Positions are those of the CUSCAR D.96B segment table; element numbers those of the
//! segment directory TRSD.96B; code values those of UNCL D.96B unless said otherwise.
//!
//! | field | from | notes |
//! |---|---|---|
//! | [`CuscarManifest::message_ref`] | `UNH` 0062 | |
//! | [`CuscarManifest::function`] | `BGM` (0020) 1225 | UNCL 1225: 9 original, 5 replace, 1 cancellation, 4 change…; must be a D.96B code (1-54); absent → `9` with a warning |
//! | [`CuscarManifest::document_no`] | `BGM` C106 1004 | absent → empty, with a warning |
//! | (document name) | `BGM` C002 1001 | 85 customs manifest, 785 cargo manifest, 786, 787, 788 are read silently; any other code with a warning. D.96B has no import/export manifest codes, so 1001 does not decide the direction |
//! | `direction` | `GIS` (0170) C529 7365 | 23 import, 22 export (UNCL 7365). Without it: import if a `LOC` of the main carriage with qualifier 60/24/11/12/8 (arrival, entry, discharge, destination) is in China (UN/LOCODE `CN…`), else export if one with 5/9 (departure, loading) is; otherwise **import, with a warning** |
//! | `transport_mode` | `TDT` (0140) C220 8067 | UN/ECE Rec. 19 → China customs 运输方式: 1 maritime and 8 inland water → `2`, 2 rail → `3`, 3 road → `4`, 4 air → `5`, 5 mail → `6`, 7 fixed installation → `G`. **A mapping made here** (see [`china_transport_mode`]); 0, 6, 9 and others are `edifact.bad_code` |
//! | `transport_means` | `TDT` C222 8212 (name), else 8213 (identification) | vessel, train or flight |
//! | `voyage` | `TDT` 8028 conveyance reference number | |
//! | `port` | `LOC` (0150) C517 3225 in the main carriage's SG4 | import: first of qualifier 60 place of arrival, 24 port of entry, 11 place/port of discharge, 12 port of discharge, 8 place of destination; export: 5 place of departure, else 9 place/port of loading. Must be UN/LOCODE-shaped (`edifact.bad_code`); a port outside China is a warning |
//! | `customs` | — | not in CUSCAR: **left empty** for the caller to fill from its port registry |
//! | `eta` | `DTM` (0160) C507 in the main carriage's SG4 | 2005 132 arrival estimated, else 232 scheduled, else 178 actual; 2379 102 `CCYYMMDD` (00:00), 203 `CCYYMMDDHHMM`, 204 `CCYYMMDDHHMMSS`, read as **China Standard Time (UTC+8)** since CUSCAR times carry no zone; 2379 absent → inferred from the length with a warning; none → `None` with a warning |
//! | `bills` | per SG7 (0300, CNI-CNT-SG8): one bill for its master or straight consignment(s), plus one per house bill | an SG8 (0330) whose `RFF` (0340) 1153 is a house bill — BH house bill of lading, HWB house waybill, ABH sub-house bill of lading — is a bill of its own; the SG7's other SG8 (the master or straight bill) are added up into one bill (warning when more than one). An SG7 holding only house bills gives no bill for the master |
//! | `bill_no` | master/straight: `CNI` (0310) C503 1004, else the first SG8 `RFF` C506 1154 with 1153 BM, MB, MWB, AWB, AEX, RCN, CMR, AAM or AAS; house: its `RFF` 1154 | none → `edifact.missing_element` |
//! | `master_bill_no` | house bills: `CNI` 1004, else the master SG8's `RFF` number | `None` for master/straight bills; a house bill without a master number gets `None` and a warning |
//! | `consignee` | SG11 `NAD` (0500) with 3035 CN: C080 3036 party name (lines joined by a space), else C058 3124, else C082 3039 | none → empty, with a warning |
//! | `packages` | sum of `GID` (0600) first C213 7224 over the bill's goods items (SG14) | else SG8 `CNT` (0350) C270 6069 11 total packages; both and different → the goods items, with a warning |
//! | `gross_weight_kg` | sum over goods items of the first `MEA` (0640) with 6311 AAE/WT/AAF/AAX and C502 6313 G or AAD: C174 6314 in unit 6411 KGM or TNE | else SG8 `CNT` 6069 7 total gross weight (6411 unit, KGM if absent); both and different → the goods items, with a warning. Not a number → `edifact.bad_number`; another unit → `edifact.bad_code` |
//! | `containers` | `SGP` (0660) C237 8260 of the bill's goods items; the equipment list is SG5 `EQD` (0190) with 8053 CN, C237 8260 | every container number, on EQD or SGP, is checked by `ContainerNumber::parse` (ISO 6346): a bad shape, category or check digit is the **error** `edifact.bad_container` at that segment, not a warning (a wrong number would release or hold the wrong box at the gate, M3) |
//! | `wagons` | `SGP` C237 8260 naming an SG5 `EQD` with 8053 RR (rail car) | wagon numbers are not checked (numbering differs by railway) |
//!
//! Equipment: when no goods item of the message has an `SGP` and the message has one bill,
//! every SG5 container and wagon not marked empty (8169 = 4) goes to that bill (warning);
//! with several bills, to none (warning). An `SGP` number not on the EQD list, or a full
//! EQD unit no goods item names, is a warning. Other equipment (8053 TE, BX, …) is not
//! mapped.
//!
//! The main carriage is the SG4 (0130) whose `TDT` 8051 is 20; when there is none and only
//! one SG4, that one is taken with a warning; otherwise `edifact.missing_segment`.
//! Segments that the mapping does not need (FTX, MOA, DGS, CST, …) are placed by the
//! segment table and otherwise ignored.
//!
//! # Errors
//!
//! The first fault ends the import: an [`EdifactError`] names the segment position (the
//! n-th segment of the interchange, counted from 1, `UNB` = 1), its tag, the data element
//! (position, component, TRED number) where one applies, and the rule
//! ([`EdifactError::rule`]). Warnings ([`CuscarManifest::warnings`]) start with
//! `segment n (TAG):` too.

#![forbid(unsafe_code)]

mod cuscar;
mod envelope;
mod error;
mod schema;
mod syntax;
mod values;

pub use error::{EdifactError, ElementAt, Location};
pub use tongguan_domain::manifest::ManifestInput;
pub use values::{china_transport_mode, is_locode};

/// One manifest (cargo report) found in a CUSCAR message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuscarManifest {
    /// Message reference number (`UNH` 0062).
    pub message_ref: String,
    /// Message function (`BGM` 1225), e.g. `9` original, `5` replace, `1` cancellation.
    pub function: String,
    /// Document number (`BGM` C106 1004).
    pub document_no: String,
    /// The manifest; `customs` is empty (CUSCAR does not carry it).
    pub manifest: ManifestInput,
    /// What was read with a default, guessed or found inconsistent, each starting with
    /// `segment n (TAG):`.
    pub warnings: Vec<String>,
}

/// A CUSCAR interchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interchange {
    /// Interchange sender (`UNB` S002 0004).
    pub sender: String,
    /// Interchange recipient (`UNB` S003 0010).
    pub recipient: String,
    /// Interchange control reference (`UNB` 0020).
    pub control_ref: String,
    /// Date and time of preparation (`UNB` S004 0017 and 0019) as given, joined by `:`,
    /// e.g. `260315:0830` (syntax versions 1-3) or `20260315:0830` (version 4).
    pub prepared: String,
    /// One per message, in interchange order.
    pub manifests: Vec<CuscarManifest>,
}

/// Parses a whole interchange (`UNA` optional; `UNB … UNZ`; one or more `UNH … UNT`
/// CUSCAR D.96B messages).
pub fn parse_cuscar(text: &str) -> Result<Interchange, EdifactError> {
    let segments = syntax::tokenize(text)?;
    let envelope = envelope::check(&segments)?;
    let mut manifests: Vec<CuscarManifest> = Vec::with_capacity(envelope.messages.len());
    let mut refs = std::collections::HashSet::new();
    for range in envelope.messages {
        let unh = range.start + 1;
        let mut manifest = cuscar::map_message(&segments, range)?;
        if !refs.insert(manifest.message_ref.clone()) {
            let line = format!(
                "segment {unh} (UNH): message reference '{}' is used twice in the interchange",
                manifest.message_ref
            );
            manifest.warnings.insert(0, line);
        }
        manifests.push(manifest);
    }
    Ok(Interchange {
        sender: envelope.sender,
        recipient: envelope.recipient,
        control_ref: envelope.control_ref,
        prepared: envelope.prepared,
        manifests,
    })
}

/// Like [`parse_cuscar`] for raw bytes: decodes them by the character set named in `UNB`
/// S001 0001 (e.g. `UNOC` = ISO 8859-1), through `edifact_rs::decode_interchange`. Bytes
/// without a `UNB` are read as UTF-8.
pub fn parse_cuscar_bytes(bytes: &[u8]) -> Result<Interchange, EdifactError> {
    let decoded = edifact_rs::decode_interchange(bytes).map_err(|e| EdifactError::Syntax {
        at: Location::segment(1, "UNB"),
        detail: format!(
            "the text cannot be decoded in the character set UNB S001 names (edifact-rs {}: {e})",
            e.stable_code()
        ),
    })?;
    match std::str::from_utf8(&decoded) {
        Ok(text) => parse_cuscar(text),
        Err(e) => {
            // The segment holding the first undecodable byte.
            let valid = decoded.get(..e.valid_up_to()).unwrap_or(&[]);
            let text = std::str::from_utf8(valid).unwrap_or("");
            let position = match syntax::tokenize(text) {
                Ok(segments) => segments.len() + 1,
                Err(e) => e.segment().unwrap_or(1),
            };
            Err(EdifactError::Syntax {
                at: Location::segment(position, "?"),
                detail: format!(
                    "the input is not valid UTF-8 and UNB names no other character set ({e})"
                ),
            })
        }
    }
}
