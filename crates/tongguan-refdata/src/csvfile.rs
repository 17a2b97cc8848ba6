//! Small CSV reading layer shared by the canonical-CSV parser and the shipped-data loaders:
//! records with their line numbers, errors as [`RefDataError`].

use crate::RefDataError;

/// A parsed CSV file: trimmed header names and the data records.
pub(crate) struct CsvFile {
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// One data record and the (1-based) line on which it starts.
pub(crate) struct Row {
    pub line: usize,
    pub record: csv::StringRecord,
}

impl Row {
    /// Field `i` as written (empty if the row is shorter).
    pub fn raw(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or("")
    }

    /// Field `i`, cleaned with [`clean`].
    pub fn text(&self, i: usize) -> String {
        clean(self.raw(i))
    }

    /// Field `i`, cleaned, `None` if empty.
    pub fn opt(&self, i: usize) -> Option<String> {
        opt(self.raw(i))
    }
}

/// Read `text` as comma-separated values. The first record is the header; a leading UTF-8 BOM
/// is ignored, blank lines are skipped. With `strict`, every record must have as many fields
/// as the header.
pub(crate) fn read(text: &str, strict: bool) -> Result<CsvFile, RefDataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    // The csv crate's own line counter skips blank lines and miscounts CRLF files, so lines
    // are counted here from the byte offset where each record starts.
    let mut lines = LineCounter::new(text.as_bytes());
    for result in reader.records() {
        let record = result.map_err(|e| RefDataError::Csv {
            line: e.position().map_or(lines.line, |p| lines.line_at(p.byte())),
            message: e.to_string(),
        })?;
        let line = record
            .position()
            .map_or(lines.line, |p| lines.line_at(p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) && record.len() <= 1 {
            continue;
        }
        match &header {
            None => header = Some(record.iter().map(|h| h.trim().to_owned()).collect()),
            Some(h) => {
                if strict && record.len() != h.len() {
                    return Err(RefDataError::Csv {
                        line,
                        message: format!(
                            "expected {} fields (as in the header), found {}",
                            h.len(),
                            record.len()
                        ),
                    });
                }
                rows.push(Row { line, record });
            }
        }
    }
    let header = header.ok_or_else(|| RefDataError::Header {
        expected: "a header row".to_owned(),
        found: String::new(),
    })?;
    Ok(CsvFile { header, rows })
}

/// Turns increasing byte offsets into 1-based line numbers in linear total time.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// Line of the first character at or after `offset` that is not a line terminator
    /// (a record's reported start may point at the end of the previous line).
    fn line_at(&mut self, offset: u64) -> usize {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.pos {
            self.line += self.bytes[self.pos..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.pos = start;
        }
        self.line
    }
}

impl CsvFile {
    /// Index of the column named `name` (exact match after trimming).
    pub fn col(&self, name: &str) -> Result<usize, RefDataError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| RefDataError::Header {
                expected: format!("a column named `{name}`"),
                found: self.header.join(","),
            })
    }
}

/// Trim, and collapse runs of ASCII white space (including line breaks inside quoted fields)
/// into one space.
pub(crate) fn clean(s: &str) -> String {
    let s = s.trim();
    if !s.contains(['\r', '\n', '\t', ' ']) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// [`clean`], `None` if the result is empty.
pub(crate) fn opt(s: &str) -> Option<String> {
    let s = clean(s);
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_line_breaks() {
        assert_eq!(clean(" a \r\n b  c\n"), "a b c");
        assert_eq!(clean("人参\r"), "人参");
        assert_eq!(opt("  "), None);
    }

    #[test]
    fn reads_lines_and_bom() {
        let f = read("\u{feff}a,b\n1,\"x\ny\"\n\n2,z\n", true).unwrap();
        assert_eq!(f.header, ["a", "b"]);
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[0].line, 2);
        assert_eq!(f.rows[1].line, 5);
        assert_eq!(f.rows[0].text(1), "x y");
    }

    #[test]
    fn line_numbers_with_crlf_and_blank_lines() {
        let f = read("a,b\r\n1,2\r\n\r\n3,4\r\n", true).unwrap();
        let lines: Vec<usize> = f.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4]);
    }

    #[test]
    fn strict_field_count() {
        let e = read("a,b\n1,2\n3\n", true).err().unwrap();
        assert_eq!(e.line(), Some(3));
        assert_eq!(e.rule(), "refdata.csv");
    }
}
