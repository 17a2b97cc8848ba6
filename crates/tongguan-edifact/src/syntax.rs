//! The ISO 9735 syntax layer, done by `edifact-rs`: `UNA` discovery (or the default service
//! characters `:+.? '` without it), release-character unescaping, splitting into segments,
//! data elements and components. Here its byte-offset errors become errors at a segment
//! position.

use edifact_rs::Segment;

use crate::error::{EdifactError, Location};

/// Splits `text` into segments. Position `n` (counted from 1) is `segments[n - 1]`.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Segment<'_>>, EdifactError> {
    let input = text.as_bytes();
    let mut segments = Vec::new();
    for item in edifact_rs::from_bytes(input) {
        match item {
            Ok(segment) => segments.push(segment),
            Err(e) => return Err(lexical_error(input, &segments, &e)),
        }
    }
    Ok(segments)
}

/// Turns an `edifact-rs` error into one at the position of the segment that failed: the
/// one after the last segment read.
fn lexical_error(input: &[u8], read: &[Segment<'_>], e: &edifact_rs::EdifactError) -> EdifactError {
    use edifact_rs::EdifactError as E;
    let position = read.len() + 1;
    let unit_start = read.last().map_or(0, |s| s.span.end);
    let rest = input.get(unit_start..).unwrap_or(&[]);
    let tag = match e {
        E::InvalidUna => "UNA".to_string(),
        E::InvalidSegmentTag(t) => printable(t),
        _ => tag_at(rest),
    };
    let hint = match e {
        E::UnexpectedEof { .. } => {
            "the input ends inside this segment (no segment terminator): the interchange is truncated"
        }
        E::InvalidUna => {
            "the UNA service string advice must be 'UNA' and six distinct service characters (ISO 9735 §7.1)"
        }
        E::InvalidSegmentTag(_) => "a segment tag is three upper-case letters (ISO 9735)",
        E::InvalidReleaseSequence { .. } => {
            "a release character must be followed by the character it releases"
        }
        E::InvalidDelimiter { .. } | E::UnexpectedDataToken { .. } => {
            "a separator or terminator stands where the syntax allows none"
        }
        E::SegmentTooLong { .. } => "the segment is longer than 64 KiB",
        _ => "not valid EDIFACT syntax",
    };
    EdifactError::Syntax {
        at: Location::segment(position, &tag),
        detail: format!("{hint} (edifact-rs {}: {e})", e.stable_code()),
    }
}

/// The tag at the start of a segment that could not be read, or `?`.
fn tag_at(rest: &[u8]) -> String {
    let tag: String = rest
        .iter()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .take(3)
        .take_while(|b| b.is_ascii_alphanumeric())
        .map(|&b| char::from(b))
        .collect();
    if tag.is_empty() { "?".to_string() } else { tag }
}

/// A tag fit for a message: at most 8 characters, control characters escaped.
fn printable(tag: &str) -> String {
    let short: String = tag.chars().take(8).collect();
    let escaped = short.escape_debug().to_string();
    if escaped.is_empty() {
        "?".to_string()
    } else {
        escaped
    }
}

/// Component `component` (0-based) of element `element` (0-based), trimmed; `""` when absent.
pub(crate) fn value<'s>(segment: &'s Segment<'_>, element: usize, component: usize) -> &'s str {
    segment
        .component_str(element, component)
        .map_or("", str::trim)
}

/// Like [`value`], but `None` for an absent or empty value.
pub(crate) fn opt<'s>(
    segment: &'s Segment<'_>,
    element: usize,
    component: usize,
) -> Option<&'s str> {
    Some(value(segment, element, component)).filter(|v| !v.is_empty())
}

/// The location of a data element; `element` and `component` are 1-based as in
/// [`crate::ElementAt`], `component` is `None` for a simple data element.
pub(crate) fn at(
    position: usize,
    segment: &Segment<'_>,
    element: u16,
    component: Option<u16>,
    data_element: &'static str,
) -> Location {
    Location::element(position, segment.tag(), element, component, data_element)
}
