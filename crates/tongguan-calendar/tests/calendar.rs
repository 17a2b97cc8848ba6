//! Working days and consolidated-tax due dates (M1, 汇总征税) against the real State Council
//! calendars shipped in `data/holidays-cn` (2019–2026). Every expected date is worked out by
//! hand in its comment (W1..W5 = the 1st..5th working day).

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use tongguan_calendar::{Calendar, CalendarError, SpecialDay, monthly_statement_due};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/holidays-cn/");
const DUE_NTH: u32 = 5;

/// All notices 2019–2026: the days of every file, whichever year they fall in, and the notice
/// years as covered years.
fn real() -> &'static Calendar {
    static CAL: OnceLock<Calendar> = OnceLock::new();
    CAL.get_or_init(|| load(2019..=2026))
}

fn load(years: impl IntoIterator<Item = i32>) -> Calendar {
    let mut days = Vec::new();
    let mut covered = Vec::new();
    for year in years {
        let path = format!("{DATA}{year}.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).expect("holiday JSON");
        assert_eq!(json["year"].as_i64(), Some(i64::from(year)), "{path}");
        for d in json["days"].as_array().expect("days") {
            let off = d["isOffDay"].as_bool().expect("isOffDay").to_string();
            let day = SpecialDay::from_code(
                d["date"].as_str().expect("date"),
                &off,
                d["name"].as_str().expect("name"),
            )
            .expect("valid holiday entry");
            days.push(day);
        }
        covered.push(year);
    }
    Calendar::new(days, covered)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("test date")
}

fn due(year: i32, month: u32) -> Result<NaiveDate, CalendarError> {
    monthly_statement_due(real(), year, month, DUE_NTH)
}

#[test]
fn january_2025_statement_spring_festival() {
    // Spring Festival 2025: off 01-28..02-04, make-up working days 01-26 (Sun), 02-08 (Sat).
    // February 2025: 1 Sat off, 2 Sun off, 3 Mon off, 4 Tue off, 5 Wed W1, 6 Thu W2,
    // 7 Fri W3, 8 Sat make-up W4, 9 Sun, 10 Mon W5.
    assert_eq!(due(2025, 1), Ok(date(2025, 2, 10)));
    assert_eq!(real().is_working_day(date(2025, 1, 26)), Ok(true)); // Sunday, make-up
    assert_eq!(real().is_working_day(date(2025, 2, 8)), Ok(true)); // Saturday, make-up
    assert_eq!(real().is_working_day(date(2025, 1, 28)), Ok(false)); // Tuesday, 春节
}

#[test]
fn september_2025_statement_national_day() {
    // National Day + Mid-Autumn 2025: off 10-01..10-08, make-up 09-28 (Sun), 10-11 (Sat).
    // October 2025: 1 Wed..8 Wed off, 9 Thu W1, 10 Fri W2, 11 Sat make-up W3, 12 Sun,
    // 13 Mon W4, 14 Tue W5.
    assert_eq!(due(2025, 9), Ok(date(2025, 10, 14)));
}

#[test]
fn april_2025_and_2026_statements_labour_day() {
    // Labour Day 2025: off 05-01 (Thu)..05-05 (Mon), make-up 04-27 (Sun, in April).
    // May 2025: 1..5 off, 6 Tue W1, 7 W2, 8 W3, 9 Fri W4, 10 Sat, 11 Sun, 12 Mon W5.
    assert_eq!(due(2025, 4), Ok(date(2025, 5, 12)));
    // Labour Day 2026: off 05-01 (Fri)..05-05 (Tue), make-up 05-09 (Sat).
    // May 2026: 1..5 off, 6 Wed W1, 7 Thu W2, 8 Fri W3, 9 Sat make-up W4, 10 Sun, 11 Mon W5.
    assert_eq!(due(2026, 4), Ok(date(2026, 5, 11)));
}

#[test]
fn september_2026_statement_national_day() {
    // National Day 2026: off 10-01 (Thu)..10-07 (Wed), make-up 09-20 (Sun), 10-10 (Sat).
    // October 2026: 1..7 off, 8 Thu W1, 9 Fri W2, 10 Sat make-up W3, 11 Sun, 12 Mon W4,
    // 13 Tue W5.
    assert_eq!(due(2026, 9), Ok(date(2026, 10, 13)));
}

#[test]
fn january_statements_with_make_up_days_before_the_holiday() {
    // Spring Festival 2019: off 02-04..02-10, make-up 02-02 (Sat) and 02-03 (Sun).
    // February 2019: 1 Fri W1, 2 Sat W2, 3 Sun W3, 4..10 off, 11 Mon W4, 12 Tue W5.
    assert_eq!(due(2019, 1), Ok(date(2019, 2, 12)));
    // Spring Festival 2024: off 02-10..02-17, make-up 02-04 (Sun) and 02-18 (Sun).
    // February 2024: 1 Thu W1, 2 Fri W2, 3 Sat, 4 Sun make-up W3, 5 Mon W4, 6 Tue W5.
    assert_eq!(due(2024, 1), Ok(date(2024, 2, 6)));
}

#[test]
fn december_statements_are_due_in_january_of_the_next_year() {
    // New Year 2025: off 01-01 (Wed) only.
    // January 2025: 1 off, 2 Thu W1, 3 Fri W2, 4 Sat, 5 Sun, 6 Mon W3, 7 Tue W4, 8 Wed W5.
    assert_eq!(due(2024, 12), Ok(date(2025, 1, 8)));
    // New Year 2026: off 01-01 (Thu)..01-03 (Sat), make-up 01-04 (Sun).
    // January 2026: 1..3 off, 4 Sun make-up W1, 5 Mon W2, 6 W3, 7 W4, 8 Thu W5.
    assert_eq!(due(2025, 12), Ok(date(2026, 1, 8)));
    // New Year 2023 (the 2023 notice lists 2022-12-31 Sat and 2023-01-02 Mon as off).
    // January 2023: 1 Sun, 2 Mon off, 3 Tue W1, 4 W2, 5 W3, 6 Fri W4, 7 Sat, 8 Sun, 9 Mon W5
    // (the Spring Festival make-up days are 01-28 and 01-29, later in the month).
    assert_eq!(due(2022, 12), Ok(date(2023, 1, 9)));
}

#[test]
fn years_without_a_notice_are_refused() {
    // 2027's notice is not in the data: a December 2026 statement cannot be given a due date.
    assert_eq!(
        due(2026, 12),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
    // Nor can anything before 2019, even though the 2019 notice lists 2018-12-29..31.
    assert_eq!(
        real().is_working_day(date(2018, 12, 29)),
        Err(CalendarError::YearNotCovered { year: 2018 })
    );
    assert!(real().special_day(date(2018, 12, 29)).is_some());
    assert_eq!(
        due(2018, 11),
        Err(CalendarError::YearNotCovered { year: 2018 })
    );
    // Counting across into an uncovered year fails rather than guessing on weekends.
    assert!(
        real()
            .working_days_between(date(2026, 6, 1), date(2027, 1, 10))
            .is_err()
    );
}

#[test]
fn late_december_needs_the_next_years_notice() {
    // The 2019 notice moved 2018-12-29 (Sat) to a working day and 2018-12-31 (Mon) off: the
    // 2018 notice alone would have got both wrong. With only 2018 and 2019 loaded, the 2018
    // dates are known (via the 2019 file) once 2018 is covered.
    let only_2019 = load([2019]);
    assert!(only_2019.is_working_day(date(2018, 12, 31)).is_err());
    let both = Calendar::new(
        load([2019]).special_day(date(2018, 12, 29)).cloned(),
        [2018, 2019],
    );
    assert_eq!(both.is_working_day(date(2018, 12, 29)), Ok(true)); // Saturday, make-up
    // Without the 2027 notice, 2026-12-24 is answered, 2026-12-28 is not.
    assert_eq!(real().is_working_day(date(2026, 12, 24)), Ok(true));
    assert_eq!(
        real().is_working_day(date(2026, 12, 28)),
        Err(CalendarError::NextYearNotCovered {
            date: date(2026, 12, 28),
            year: 2027
        })
    );
    // Early December needs only its own year: a November 2026 statement is due on
    // December 2026's W5: 1 Tue W1, 2 W2, 3 W3, 4 Fri W4, 7 Mon W5.
    assert_eq!(due(2026, 11), Ok(date(2026, 12, 7)));
}

#[test]
fn covered_years_follow_the_notices_loaded() {
    let cal = real();
    assert!((2019..=2026).all(|y| cal.covers(y)));
    assert!(!cal.covers(2018) && !cal.covers(2027));
    assert_eq!(
        cal.covered_years().collect::<Vec<_>>(),
        (2019..=2026).collect::<Vec<_>>()
    );
}

#[test]
fn working_days_across_the_national_day_week() {
    // (2025-09-30, 2025-10-14]: 10-09, 10-10, 10-11 (Sat make-up), 10-13, 10-14 = 5.
    assert_eq!(
        real().working_days_between(date(2025, 9, 30), date(2025, 10, 14)),
        Ok(5)
    );
    assert_eq!(
        real().add_working_days(date(2025, 9, 30), 5),
        Ok(date(2025, 10, 14))
    );
    // A whole year: 2025 has 261 weekdays (52 weeks + Wednesday 1 January), of which 18 are
    // holidays (01-01, 01-28..31, 02-03, 02-04, 04-04, 05-01, 05-02, 05-05, 06-02, 10-01..03,
    // 10-06..08), plus 5 make-up days (01-26, 02-08, 04-27, 09-28, 10-11): 261 − 18 + 5 = 248.
    assert_eq!(
        real().working_days_between(date(2024, 12, 31), date(2025, 12, 31)),
        Ok(248)
    );
}

proptest! {
    /// The n-th working day of a month is a working day with exactly n − 1 working days
    /// before it in the month; when the month is too short, it really has fewer than n.
    #[test]
    fn nth_working_day_has_n_minus_1_before_it(year in 2019..=2026_i32, month in 1..=12_u32, n in 1..=25_u32) {
        let cal = real();
        match cal.nth_working_day_of_month(year, month, n) {
            Ok(d) => {
                prop_assert_eq!((d.year(), d.month()), (year, month));
                prop_assert_eq!(cal.is_working_day(d), Ok(true));
                let first = date(year, month, 1);
                let before = (1..d.day())
                    .filter(|day| cal.is_working_day(date(year, month, *day)) == Ok(true))
                    .count();
                prop_assert_eq!(before, n as usize - 1);
                // Counting the other way: from the last day of the previous month.
                let eve = first.pred_opt().expect("in range");
                if cal.is_working_day(eve).is_ok() {
                    prop_assert_eq!(cal.working_days_between(eve, d), Ok(i64::from(n)));
                }
            }
            Err(CalendarError::NotEnoughWorkingDays { working_days, .. }) => {
                prop_assert!(working_days < n);
            }
            Err(CalendarError::NextYearNotCovered { date, year: next }) => {
                // Only the tail of December 2026 (the 2027 notice is not loaded).
                prop_assert_eq!((year, month, next), (2026, 12, 2027));
                prop_assert!(date.day() >= tongguan_calendar::NEXT_NOTICE_FROM_DECEMBER);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Adding n working days and counting them back agree, and land on a working day.
    #[test]
    fn add_and_count_agree(offset in 0..2900_u64, n in 0..300_u32) {
        let cal = real();
        let from = date(2019, 1, 1) + chrono::Days::new(offset);
        match cal.add_working_days(from, n) {
            Ok(to) => {
                prop_assert_eq!(cal.working_days_between(from, to), Ok(i64::from(n)));
                prop_assert_eq!(cal.working_days_between(to, from), Ok(-i64::from(n)));
                if n > 0 {
                    prop_assert_eq!(cal.is_working_day(to), Ok(true));
                }
            }
            Err(e) => {
                // Only by running past the data (late December 2026 onwards).
                prop_assert!(
                    matches!(e, CalendarError::NextYearNotCovered { year: 2027, .. }
                        | CalendarError::YearNotCovered { year: 2027 }),
                    "unexpected {e}"
                );
            }
        }
    }
}
