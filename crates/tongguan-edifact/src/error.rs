//! Errors of the CUSCAR import: every one names where it happened and which rule broke.

use std::fmt;

/// Where an error was found: the segment's position in the interchange, its tag and, where
/// it applies, the data element inside it.
///
/// Segments are counted from 1 across the whole interchange: `UNB` is segment 1 (the `UNA`
/// service string advice is not a segment and is not counted; a fault inside it is reported
/// at position 1 with tag `UNA`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Position of the segment in the interchange, counted from 1.
    pub segment: usize,
    /// The segment tag as found (`?` when the input had none).
    pub tag: String,
    /// The data element, when the error concerns one.
    pub element: Option<ElementAt>,
}

/// A data element inside a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementAt {
    /// Position of the data element after the tag, counted from 1 (ISO 9735: `BGM+A+B`, `A`
    /// is element 1). In the D.96B segment directory (TRSD) this is the element's
    /// position number divided by 10 (`010` → 1, `020` → 2, …).
    pub element: u16,
    /// Position of the component inside a composite, counted from 1; `None` for a simple
    /// data element.
    pub component: Option<u16>,
    /// The D.96B data element tag (TRED), e.g. `8067`.
    pub data_element: &'static str,
}

impl Location {
    pub(crate) fn segment(segment: usize, tag: &str) -> Self {
        Self {
            segment,
            tag: tag.to_string(),
            element: None,
        }
    }

    pub(crate) fn element(
        segment: usize,
        tag: &str,
        element: u16,
        component: Option<u16>,
        data_element: &'static str,
    ) -> Self {
        Self {
            segment,
            tag: tag.to_string(),
            element: Some(ElementAt {
                element,
                component,
                data_element,
            }),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {} ({})", self.segment, self.tag)?;
        if let Some(e) = self.element {
            write!(f, ", element {}", e.element)?;
            if let Some(c) = e.component {
                write!(f, " component {c}")?;
            }
            write!(f, " (DE {})", e.data_element)?;
        }
        Ok(())
    }
}

/// Why a CUSCAR interchange could not be imported.
///
/// Each variant carries a [`Location`]; [`EdifactError::rule`] gives the stable rule name
/// (`edifact.*`) and the `Display` text ends with it in brackets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdifactError {
    /// ISO 9735 syntax: bad `UNA`, a segment without terminator, an invalid tag, a dangling
    /// release character, bytes that are not EDIFACT at all.
    #[error("{at}: {detail} [edifact.syntax]")]
    Syntax { at: Location, detail: String },
    /// A segment where the envelope (ISO 9735) or the CUSCAR D.96B segment table does not
    /// allow it, or more often than allowed.
    #[error("{at}: {detail} [edifact.unexpected_segment]")]
    UnexpectedSegment { at: Location, detail: String },
    /// A mandatory segment (or one the manifest needs) is absent; `at` is where it was
    /// expected (for an interchange that stops early, one past the last segment).
    #[error("{at}: {missing} is missing: {detail} [edifact.missing_segment]")]
    MissingSegment {
        at: Location,
        missing: String,
        detail: String,
    },
    /// A data element the manifest needs is empty.
    #[error("{at}: {detail} [edifact.missing_element]")]
    MissingElement { at: Location, detail: String },
    /// `UNT` 0074 (segments in the message) or `UNZ` 0036 (messages in the interchange)
    /// differs from what was counted.
    #[error("{at}: declares {declared} {what} but {counted} were counted [edifact.count_mismatch]")]
    CountMismatch {
        at: Location,
        what: &'static str,
        declared: u64,
        counted: u64,
    },
    /// `UNT` 0062 differs from `UNH` 0062, or `UNZ` 0020 from `UNB` 0020.
    #[error(
        "{at}: control reference '{trailer}' differs from '{header}' in the header at segment {header_segment} [edifact.control_ref_mismatch]"
    )]
    ControlRefMismatch {
        at: Location,
        header_segment: usize,
        header: String,
        trailer: String,
    },
    /// `UNH` S009 0065 names another message type.
    #[error("{at}: message type '{found}' is not CUSCAR [edifact.not_cuscar]")]
    NotCuscar { at: Location, found: String },
    /// A CUSCAR of another directory than D.96B (S009 0052/0054/0051 ≠ `D`/`96B`/`UN`).
    #[error(
        "{at}: CUSCAR '{found}' is not supported, only CUSCAR:D:96B:UN [edifact.unsupported_version]"
    )]
    UnsupportedVersion { at: Location, found: String },
    /// A code outside its D.96B code list (or the mapping made here), or a malformed
    /// UN/LOCODE.
    #[error("{at}: '{value}': {detail} [edifact.bad_code]")]
    BadCode {
        at: Location,
        value: String,
        detail: String,
    },
    /// A numeric data element that is not a number, or out of range.
    #[error("{at}: '{value}': {detail} [edifact.bad_number]")]
    BadNumber {
        at: Location,
        value: String,
        detail: String,
    },
    /// A date/time (DTM 2380, UNB S004) that does not fit its format or the calendar.
    #[error("{at}: '{value}': {detail} [edifact.bad_date]")]
    BadDate {
        at: Location,
        value: String,
        detail: String,
    },
    /// A container number (EQD or SGP 8260) that fails ISO 6346 — shape, category or
    /// check digit — as `tongguan_domain::codes::ContainerNumber::parse` checks it.
    #[error("{at}: container '{value}': {detail} [edifact.bad_container]")]
    BadContainer {
        at: Location,
        value: String,
        detail: String,
    },
}

impl EdifactError {
    /// The stable rule name, e.g. `edifact.count_mismatch`.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "edifact.syntax",
            Self::UnexpectedSegment { .. } => "edifact.unexpected_segment",
            Self::MissingSegment { .. } => "edifact.missing_segment",
            Self::MissingElement { .. } => "edifact.missing_element",
            Self::CountMismatch { .. } => "edifact.count_mismatch",
            Self::ControlRefMismatch { .. } => "edifact.control_ref_mismatch",
            Self::NotCuscar { .. } => "edifact.not_cuscar",
            Self::UnsupportedVersion { .. } => "edifact.unsupported_version",
            Self::BadCode { .. } => "edifact.bad_code",
            Self::BadNumber { .. } => "edifact.bad_number",
            Self::BadDate { .. } => "edifact.bad_date",
            Self::BadContainer { .. } => "edifact.bad_container",
        }
    }

    /// Where the error was found.
    pub fn location(&self) -> &Location {
        match self {
            Self::Syntax { at, .. }
            | Self::UnexpectedSegment { at, .. }
            | Self::MissingSegment { at, .. }
            | Self::MissingElement { at, .. }
            | Self::CountMismatch { at, .. }
            | Self::ControlRefMismatch { at, .. }
            | Self::NotCuscar { at, .. }
            | Self::UnsupportedVersion { at, .. }
            | Self::BadCode { at, .. }
            | Self::BadNumber { at, .. }
            | Self::BadDate { at, .. }
            | Self::BadContainer { at, .. } => at,
        }
    }

    /// The segment position (counted from 1 in the interchange). Always `Some` in this
    /// version; an `Option` so that errors without a place can be added later.
    pub fn segment(&self) -> Option<usize> {
        Some(self.location().segment)
    }

    /// The segment tag.
    pub fn tag(&self) -> &str {
        &self.location().tag
    }

    /// The data element, where the error concerns one.
    pub fn element(&self) -> Option<ElementAt> {
        self.location().element
    }
}
