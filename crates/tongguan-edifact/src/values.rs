//! Values: transport modes, UN/LOCODEs, dates and numbers.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;

/// UN/ECE Recommendation 19 mode of transport (TRED 8067, "Use UN/ECE Recommendation No
/// 19") → China customs transport mode (运输方式, `transport_modes` reference table).
///
/// A mapping made here, not a published concordance:
///
/// | Rec. 19 | meaning | China customs | 运输方式 |
/// |---|---|---|---|
/// | 1 | maritime | 2 | 水路运输 |
/// | 8 | inland water | 2 | 水路运输 |
/// | 2 | rail | 3 | 铁路运输 |
/// | 3 | road | 4 | 公路运输 |
/// | 4 | air | 5 | 航空运输 |
/// | 5 | mail | 6 | 邮件运输 |
/// | 7 | fixed transport installations | G | 固定设施运输 |
///
/// 0 (not specified), 6 (multimodal) and 9 (not applicable) name no single mode a
/// manifest can be filed under and are refused.
pub fn china_transport_mode(rec19: &str) -> Option<&'static str> {
    Some(match rec19 {
        "1" | "8" => "2",
        "2" => "3",
        "3" => "4",
        "4" => "5",
        "5" => "6",
        "7" => "G",
        _ => return None,
    })
}

/// A UN/LOCODE: two-letter ISO 3166 country code and a three-character location code of
/// letters and the digits 2-9 (UN/ECE Recommendation 16).
pub fn is_locode(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'9').contains(c))
}

/// China Standard Time, the zone of every Chinese port (UTC+8).
fn china() -> Option<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
}

/// Why a DTM value was refused.
pub(crate) enum DateProblem {
    /// 2379 names a format not read here.
    Format,
    /// 2380 does not fit the format or the calendar.
    Value(&'static str),
}

/// The formats (2379) read for a point in time, and the 2380 length each needs.
pub(crate) const DATE_FORMATS: &[(&str, usize, &str)] = &[
    ("102", 8, "CCYYMMDD"),
    ("203", 12, "CCYYMMDDHHMM"),
    ("204", 14, "CCYYMMDDHHMMSS"),
];

/// Reads DTM 2380 in format 2379 (102, 203 or 204) as China Standard Time (UTC+8): a CUSCAR
/// date/time carries no zone and the ports this importer serves are Chinese. A 102 date
/// is taken at 00:00.
pub(crate) fn parse_date_time(value: &str, format: &str) -> Result<DateTime<Utc>, DateProblem> {
    let Some(&(_, len, shape)) = DATE_FORMATS.iter().find(|(f, _, _)| *f == format) else {
        return Err(DateProblem::Format);
    };
    if value.len() != len || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DateProblem::Value(shape));
    }
    let num = |range: std::ops::Range<usize>| -> u32 {
        value
            .get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX)
    };
    let year = i32::try_from(num(0..4)).unwrap_or(-1);
    let date = NaiveDate::from_ymd_opt(year, num(4..6), num(6..8))
        .ok_or(DateProblem::Value("no such calendar date"))?;
    let (h, m, s) = match len {
        8 => (0, 0, 0),
        12 => (num(8..10), num(10..12), 0),
        _ => (num(8..10), num(10..12), num(12..14)),
    };
    let local: NaiveDateTime = date
        .and_hms_opt(h, m, s)
        .ok_or(DateProblem::Value("no such time of day"))?;
    china()
        .and_then(|tz| tz.from_local_datetime(&local).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or(DateProblem::Value("no such time"))
}

/// A non-negative decimal number as ISO 9735 writes it: digits with at most one decimal
/// mark (full stop or comma), a digit on both sides; no sign, no exponent, no spaces.
pub(crate) fn parse_decimal(s: &str) -> Option<Decimal> {
    let mut parts = s.splitn(2, ['.', ',']);
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) || s.len() > 19 {
        return None;
    }
    let normal = match frac {
        Some(f) => format!("{int}.{f}"),
        None => int.to_string(),
    };
    Decimal::from_str(&normal).ok()
}

/// A count (e.g. GID 7224, n..8).
pub(crate) fn parse_count(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locodes() {
        assert!(is_locode("CNSZX"));
        assert!(is_locode("CNYTN"));
        assert!(is_locode("DEHA2"));
        assert!(!is_locode("CNSZ"));
        assert!(!is_locode("cnszx"));
        assert!(!is_locode("CNSZ1"));
        assert!(!is_locode("C1SZX"));
    }

    #[test]
    fn dates_are_china_time() {
        let t = parse_date_time("202603151430", "203")
            .ok()
            .map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2026-03-15T06:30:00+00:00"));
        let d = parse_date_time("20260315", "102")
            .ok()
            .map(|t| t.to_rfc3339());
        assert_eq!(d.as_deref(), Some("2026-03-14T16:00:00+00:00"));
        assert!(matches!(
            parse_date_time("20260230", "102"),
            Err(DateProblem::Value(_))
        ));
        assert!(matches!(
            parse_date_time("202603152460", "203"),
            Err(DateProblem::Value(_))
        ));
        assert!(matches!(
            parse_date_time("2026031", "102"),
            Err(DateProblem::Value(_))
        ));
        assert!(matches!(
            parse_date_time("20260315", "718"),
            Err(DateProblem::Format)
        ));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_decimal("1250.5"), Decimal::from_str("1250.5").ok());
        assert_eq!(parse_decimal("1250,5"), Decimal::from_str("1250.5").ok());
        assert_eq!(parse_decimal("12"), Some(Decimal::from(12)));
        for bad in ["", "-1", "1.", ".5", "1e3", "1.2.3", "12 t", "abc", "+3"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
        assert_eq!(parse_count("00012"), Some(12));
        assert_eq!(parse_count("12a"), None);
        assert_eq!(parse_count("9999999999"), None);
    }

    #[test]
    fn modes() {
        assert_eq!(china_transport_mode("1"), Some("2"));
        assert_eq!(china_transport_mode("2"), Some("3"));
        assert_eq!(china_transport_mode("3"), Some("4"));
        assert_eq!(china_transport_mode("4"), Some("5"));
        assert_eq!(china_transport_mode("6"), None);
        assert_eq!(china_transport_mode("X"), None);
    }
}
