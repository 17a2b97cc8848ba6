//! The interchange envelope (ISO 9735 service segments): `UNB … UNZ` around `UNH … UNT`
//! messages, their control counts and control references.
//!
//! | segment | element | used for |
//! |---|---|---|
//! | `UNB` | S001 0001/0002 | syntax identifier and version (only read: the text is already decoded) |
//! | `UNB` | S002 0004 | [`Interchange::sender`](crate::Interchange::sender) |
//! | `UNB` | S003 0010 | [`Interchange::recipient`](crate::Interchange::recipient) |
//! | `UNB` | S004 0017:0019 | [`Interchange::prepared`](crate::Interchange::prepared), `date:time` as given (6 or 8 digits, 4 digits) |
//! | `UNB` | 0020 | [`Interchange::control_ref`](crate::Interchange::control_ref), must equal `UNZ` 0020 |
//! | `UNH` | 0062, S009 0065:0052:0054:0051 | message reference; must be `CUSCAR:D:96B:UN` |
//! | `UNT` | 0074, 0062 | segments in the message (`UNH` and `UNT` included); reference = `UNH` 0062 |
//! | `UNZ` | 0036, 0020 | messages in the interchange; reference = `UNB` 0020 |
//!
//! Functional groups (`UNG … UNE`) are not supported and reported as unexpected segments.

use std::ops::Range;

use edifact_rs::Segment;

use crate::error::{EdifactError, Location};
use crate::syntax::{at, opt, value};

/// What the envelope says, and where the messages are.
pub(crate) struct Envelope {
    pub sender: String,
    pub recipient: String,
    pub control_ref: String,
    pub prepared: String,
    /// Index ranges (0-based, `UNH` to `UNT` inclusive) of the messages.
    pub messages: Vec<Range<usize>>,
}

/// Checks the envelope of the whole interchange.
pub(crate) fn check(segments: &[Segment<'_>]) -> Result<Envelope, EdifactError> {
    let Some(unb) = segments.first() else {
        return Err(EdifactError::MissingSegment {
            at: Location::segment(1, "UNB"),
            missing: "UNB".into(),
            detail:
                "the input holds no segment; an interchange begins with UNB (after an optional UNA)"
                    .into(),
        });
    };
    if unb.tag() != "UNB" {
        return Err(EdifactError::UnexpectedSegment {
            at: Location::segment(1, unb.tag()),
            detail: "an interchange begins with UNB (after an optional UNA)".into(),
        });
    }
    let header = read_unb(unb)?;

    let mut messages = Vec::new();
    let mut i = 1;
    loop {
        let Some(segment) = segments.get(i) else {
            return Err(EdifactError::MissingSegment {
                at: Location::segment(i + 1, "UNZ"),
                missing: "UNZ".into(),
                detail: format!(
                    "the input ends after segment {i} without the interchange trailer: the interchange is truncated"
                ),
            });
        };
        match segment.tag() {
            "UNH" => {
                let range = message(segments, i)?;
                i = range.end;
                messages.push(range);
            }
            "UNZ" => {
                check_unz(segments, i, &header.control_ref, messages.len())?;
                return Ok(Envelope {
                    sender: header.sender,
                    recipient: header.recipient,
                    control_ref: header.control_ref,
                    prepared: header.prepared,
                    messages,
                });
            }
            "UNG" | "UNE" => {
                return Err(EdifactError::UnexpectedSegment {
                    at: Location::segment(i + 1, segment.tag()),
                    detail: "functional groups (UNG…UNE) are not supported: send the CUSCAR messages directly between UNB and UNZ".into(),
                });
            }
            other => {
                return Err(EdifactError::UnexpectedSegment {
                    at: Location::segment(i + 1, other),
                    detail: "between messages only UNH (a message) or UNZ (the interchange trailer) may follow".into(),
                });
            }
        }
    }
}

struct Header {
    sender: String,
    recipient: String,
    control_ref: String,
    prepared: String,
}

fn read_unb(unb: &Segment<'_>) -> Result<Header, EdifactError> {
    let required = |element: usize, component: usize, de: &'static str, what: &str| {
        opt(unb, element, component)
            .map(str::to_string)
            .ok_or_else(|| EdifactError::MissingElement {
                at: at(
                    1,
                    unb,
                    element as u16 + 1,
                    (de != "0020").then_some(component as u16 + 1),
                    de,
                ),
                detail: format!("UNB needs the {what}"),
            })
    };
    let sender = required(1, 0, "0004", "sender identification")?;
    let recipient = required(2, 0, "0010", "recipient identification")?;
    let date = required(3, 0, "0017", "date of preparation")?;
    let time = required(3, 1, "0019", "time of preparation")?;
    let control_ref = required(4, 0, "0020", "interchange control reference")?;
    // S004: 0017 is n6 YYMMDD in syntax versions 1-3 and n8 CCYYMMDD in version 4.
    if !(matches!(date.len(), 6 | 8) && date.bytes().all(|b| b.is_ascii_digit())) {
        return Err(EdifactError::BadDate {
            at: at(1, unb, 4, Some(1), "0017"),
            value: date,
            detail:
                "the date of preparation is YYMMDD (syntax versions 1-3) or CCYYMMDD (version 4)"
                    .into(),
        });
    }
    if !(time.len() == 4 && time.bytes().all(|b| b.is_ascii_digit())) {
        return Err(EdifactError::BadDate {
            at: at(1, unb, 4, Some(2), "0019"),
            value: time,
            detail: "the time of preparation is HHMM".into(),
        });
    }
    Ok(Header {
        sender,
        recipient,
        control_ref,
        prepared: format!("{date}:{time}"),
    })
}

/// Reads the message starting with the `UNH` at index `start`; returns `start..end` with
/// `end` one past its `UNT`.
fn message(segments: &[Segment<'_>], start: usize) -> Result<Range<usize>, EdifactError> {
    let unh = &segments[start];
    let unh_pos = start + 1;
    let reference = opt(unh, 0, 0).ok_or_else(|| EdifactError::MissingElement {
        at: at(unh_pos, unh, 1, None, "0062"),
        detail: "UNH needs the message reference number".into(),
    })?;
    let kind = value(unh, 1, 0);
    if kind != "CUSCAR" {
        return Err(EdifactError::NotCuscar {
            at: at(unh_pos, unh, 2, Some(1), "0065"),
            found: if kind.is_empty() {
                "(none)".into()
            } else {
                kind.into()
            },
        });
    }
    let version = [value(unh, 1, 1), value(unh, 1, 2), value(unh, 1, 3)];
    if version != ["D", "96B", "UN"] {
        return Err(EdifactError::UnsupportedVersion {
            at: at(unh_pos, unh, 2, Some(2), "0052"),
            found: format!("CUSCAR:{}", version.join(":")),
        });
    }

    let mut i = start + 1;
    loop {
        let Some(segment) = segments.get(i) else {
            return Err(EdifactError::MissingSegment {
                at: Location::segment(i + 1, "UNT"),
                missing: "UNT".into(),
                detail: format!(
                    "the input ends inside message '{reference}' (UNH at segment {unh_pos}): the interchange is truncated"
                ),
            });
        };
        match segment.tag() {
            "UNT" => break,
            "UNH" | "UNZ" | "UNB" | "UNG" | "UNE" => {
                return Err(EdifactError::MissingSegment {
                    at: Location::segment(i + 1, segment.tag()),
                    missing: "UNT".into(),
                    detail: format!(
                        "message '{reference}' (UNH at segment {unh_pos}) is not closed by UNT before this {}",
                        segment.tag()
                    ),
                });
            }
            _ => i += 1,
        }
    }

    let unt = &segments[i];
    let unt_pos = i + 1;
    let declared = opt(unt, 0, 0).ok_or_else(|| EdifactError::MissingElement {
        at: at(unt_pos, unt, 1, None, "0074"),
        detail: "UNT needs the number of segments in the message".into(),
    })?;
    let declared = count(declared).ok_or_else(|| EdifactError::BadNumber {
        at: at(unt_pos, unt, 1, None, "0074"),
        value: declared.into(),
        detail: "the number of segments in a message is n..6".into(),
    })?;
    let counted = (i - start + 1) as u64;
    if declared != counted {
        return Err(EdifactError::CountMismatch {
            at: at(unt_pos, unt, 1, None, "0074"),
            what: "segments in the message (UNH and UNT included)",
            declared,
            counted,
        });
    }
    let trailer_ref = value(unt, 1, 0);
    if trailer_ref != reference {
        return Err(EdifactError::ControlRefMismatch {
            at: at(unt_pos, unt, 2, None, "0062"),
            header_segment: unh_pos,
            header: reference.into(),
            trailer: trailer_ref.into(),
        });
    }
    Ok(start..i + 1)
}

fn check_unz(
    segments: &[Segment<'_>],
    i: usize,
    control_ref: &str,
    messages: usize,
) -> Result<(), EdifactError> {
    let unz = &segments[i];
    let unz_pos = i + 1;
    if let Some(after) = segments.get(i + 1) {
        return Err(EdifactError::UnexpectedSegment {
            at: Location::segment(i + 2, after.tag()),
            detail: format!("nothing may follow the interchange trailer UNZ at segment {unz_pos}"),
        });
    }
    if messages == 0 {
        return Err(EdifactError::MissingSegment {
            at: Location::segment(unz_pos, "UNZ"),
            missing: "UNH".into(),
            detail: "the interchange holds no message (ISO 9735: an interchange has at least one)"
                .into(),
        });
    }
    let declared = opt(unz, 0, 0).ok_or_else(|| EdifactError::MissingElement {
        at: at(unz_pos, unz, 1, None, "0036"),
        detail: "UNZ needs the interchange control count".into(),
    })?;
    let declared = count(declared).ok_or_else(|| EdifactError::BadNumber {
        at: at(unz_pos, unz, 1, None, "0036"),
        value: declared.into(),
        detail: "the interchange control count is n..6".into(),
    })?;
    if declared != messages as u64 {
        return Err(EdifactError::CountMismatch {
            at: at(unz_pos, unz, 1, None, "0036"),
            what: "messages in the interchange",
            declared,
            counted: messages as u64,
        });
    }
    let trailer_ref = value(unz, 1, 0);
    if trailer_ref != control_ref {
        return Err(EdifactError::ControlRefMismatch {
            at: at(unz_pos, unz, 2, None, "0020"),
            header_segment: 1,
            header: control_ref.into(),
            trailer: trailer_ref.into(),
        });
    }
    Ok(())
}

/// A control count (n..6).
fn count(s: &str) -> Option<u64> {
    (!s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}
