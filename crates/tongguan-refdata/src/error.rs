//! Errors raised while parsing reference data.

/// A problem in a reference-data file, with the line number (1-based, physical line where the
/// record starts) and the field concerned where that applies.
///
/// [`RefDataError::rule`] gives a stable machine-readable name for API responses.
#[derive(Debug, thiserror::Error)]
pub enum RefDataError {
    /// The CSV could not be read (e.g. a row has the wrong number of fields).
    #[error("line {line}: malformed CSV: {message}")]
    Csv {
        /// Line of the offending record.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The header row is missing or wrong.
    #[error("line 1: bad header: expected {expected}, found `{found}`")]
    Header {
        /// What the header should look like.
        expected: String,
        /// The header as found.
        found: String,
    },
    /// A row has an empty `code`.
    #[error("line {line}: field `code` is empty")]
    EmptyCode {
        /// Line of the row.
        line: usize,
    },
    /// Two rows have the same code.
    #[error("line {line}: duplicate code `{code}` (first seen on line {first_line})")]
    DuplicateCode {
        /// The repeated code.
        code: String,
        /// Line where the code first appeared.
        first_line: usize,
        /// Line of the repetition.
        line: usize,
    },
    /// A code does not have the shape the dataset requires.
    #[error("line {line}: field `code`: `{code}` is not valid, expected {rule}")]
    BadCode {
        /// Line of the row.
        line: usize,
        /// The code as found.
        code: String,
        /// The shape required, e.g. "8 digits".
        rule: &'static str,
    },
    /// Another field has a bad or missing value.
    #[error("line {line}: field `{field}`: {message}")]
    BadField {
        /// Line of the row.
        line: usize,
        /// Column / attribute name.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The version label does not fit the dataset (holiday labels must be a year).
    #[error("bad version label `{label}`: {message}")]
    BadLabel {
        /// The label as given.
        label: String,
        /// What is wrong.
        message: String,
    },
    /// The file has a header but no data rows.
    #[error("no data rows")]
    Empty,
    /// A JSON file (holiday calendar) could not be read.
    #[error("line {line}: malformed JSON: {message}")]
    Json {
        /// Line reported by the JSON parser.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An error in one of the files embedded in the binary.
    #[error("{file}: {error}")]
    InFile {
        /// Path of the file below the workspace `data/` folder.
        file: &'static str,
        /// The error inside that file.
        error: Box<RefDataError>,
    },
}

impl RefDataError {
    /// Stable rule name, e.g. `refdata.header`, `refdata.duplicate_code`.
    pub fn rule(&self) -> &'static str {
        match self {
            RefDataError::Csv { .. } => "refdata.csv",
            RefDataError::Header { .. } => "refdata.header",
            RefDataError::EmptyCode { .. } => "refdata.empty_code",
            RefDataError::DuplicateCode { .. } => "refdata.duplicate_code",
            RefDataError::BadCode { .. } => "refdata.bad_code",
            RefDataError::BadField { .. } => "refdata.bad_field",
            RefDataError::BadLabel { .. } => "refdata.bad_label",
            RefDataError::Empty => "refdata.empty",
            RefDataError::Json { .. } => "refdata.json",
            RefDataError::InFile { error, .. } => error.rule(),
        }
    }

    /// The line number, if the error is tied to one (the header is line 1).
    pub fn line(&self) -> Option<usize> {
        match self {
            RefDataError::Csv { line, .. }
            | RefDataError::EmptyCode { line }
            | RefDataError::DuplicateCode { line, .. }
            | RefDataError::BadCode { line, .. }
            | RefDataError::BadField { line, .. }
            | RefDataError::Json { line, .. } => Some(*line),
            RefDataError::Header { .. } => Some(1),
            RefDataError::BadLabel { .. } | RefDataError::Empty => None,
            RefDataError::InFile { error, .. } => error.line(),
        }
    }

    /// Attach the name of an embedded file (no-op if one is already attached).
    pub(crate) fn in_file(self, file: &'static str) -> RefDataError {
        match self {
            RefDataError::InFile { .. } => self,
            other => RefDataError::InFile {
                file,
                error: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_and_line_see_through_file_wrapper() {
        let e = RefDataError::DuplicateCode {
            code: "0101".into(),
            first_line: 2,
            line: 5,
        }
        .in_file("x.csv");
        assert_eq!(e.rule(), "refdata.duplicate_code");
        assert_eq!(e.line(), Some(5));
        assert_eq!(
            e.to_string(),
            "x.csv: line 5: duplicate code `0101` (first seen on line 2)"
        );
        // Wrapping twice keeps the innermost file name.
        let e = e.in_file("y.csv");
        assert!(e.to_string().starts_with("x.csv: "));
    }
}
