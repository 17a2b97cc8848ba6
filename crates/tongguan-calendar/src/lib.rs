//! Working days (工作日) by the State Council holiday calendar.
//!
//! China's working week is Monday to Friday, changed each year by the State Council's notice
//! on the holiday arrangements (国务院办公厅关于××年部分节假日安排的通知): public holidays
//! (放假) take working days off, and make-up working days (调休上班) turn some Saturdays and
//! Sundays into working days. Deadlines counted in working days follow that calendar — notably
//! the consolidated tax payment (汇总征税, M1): taxes of goods released in a month are paid
//! "before the end of the 5th working day of the next month" (次月第五个工作日结束前, Customs
//! Tariff Law 2024 Art. 43; GACC Announcement 2017 No. 45), see [`monthly_statement_due`].
//!
//! The data are the notices as published by github.com/NateScarlet/holiday-cn
//! (`data/holidays-cn/SOURCE.md`), loaded in `tongguan-refdata` as the `holidays` dataset:
//! one version per notice year, entry code `YYYY-MM-DD`, attribute `off_day` = `true` (holiday)
//! or `false` (make-up working day); [`SpecialDay::from_code`] turns such an entry into a
//! [`SpecialDay`].
//!
//! **The calendar never guesses.** A date whose year's notice is not loaded is refused with
//! [`CalendarError::YearNotCovered`] rather than counted on weekends alone: a payment deadline
//! computed without the notice could fall on a public holiday, or miss a make-up working day.
//! The same holds at the turn of the year: the next year's notice places the New Year (元旦)
//! arrangement, and has put days off and make-up working days in the last days of December
//! (2018-12-29..31 in the 2019 notice, 2022-12-31 in the 2023 notice; 2011-12-31 and
//! 2007-12-29 earlier). Dates from [`NEXT_NOTICE_FROM_DECEMBER`] December on therefore also
//! need the next year's notice ([`CalendarError::NextYearNotCovered`]). Early December — where
//! the due date of a November statement falls — needs only its own year.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The first day of December that the next year's notice may change (its New Year
/// arrangement); from this day on, a date needs both its own year's and the next year's notice.
/// Every New Year arrangement so far touched 29–31 December at the earliest; 25 leaves a margin
/// of a weekend.
pub const NEXT_NOTICE_FROM_DECEMBER: u32 = 25;

/// A day that differs from the Monday–Friday week: a public holiday (`off`, 放假) or a make-up
/// working day on a weekend (`!off`, 调休上班).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialDay {
    pub date: NaiveDate,
    /// `true`: a day off (holiday); `false`: a working day although it is a Saturday or Sunday.
    pub off: bool,
    /// The holiday it belongs to, as the notice names it, e.g. `春节`, `国庆节、中秋节`.
    pub name: String,
}

impl SpecialDay {
    /// A special day from the reference data's form: `code` = `YYYY-MM-DD`, `off_day` = `true`
    /// (holiday) or `false` (make-up working day), as in the `holidays` dataset.
    pub fn from_code(
        code: &str,
        off_day: &str,
        name: impl Into<String>,
    ) -> Result<SpecialDay, CalendarError> {
        let date = NaiveDate::parse_from_str(code.trim(), "%Y-%m-%d").map_err(|_| {
            CalendarError::InvalidSpecialDay {
                code: code.to_owned(),
                reason: "the date is not YYYY-MM-DD".to_owned(),
            }
        })?;
        let off = match off_day.trim() {
            "true" => true,
            "false" => false,
            other => {
                return Err(CalendarError::InvalidSpecialDay {
                    code: code.to_owned(),
                    reason: format!(
                        "off_day is `{other}`; expected `true` (holiday) or `false` (make-up working day)"
                    ),
                });
            }
        };
        Ok(SpecialDay {
            date,
            off,
            name: name.into(),
        })
    }
}

/// Working-day calendar: Monday to Friday, changed by the loaded State Council holiday notices.
///
/// Source: State Council holiday notices via NateScarlet/holiday-cn (`data/holidays-cn/SOURCE.md`).
/// Immutable once built; cheap to query (a `BTreeMap` lookup per day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, SpecialDay>,
    years: BTreeSet<i32>,
}

impl Calendar {
    /// A calendar from the special days of the loaded notices and the notice years loaded.
    ///
    /// Give the days of *all* loaded notices, whatever file they came from: a notice titled
    /// for year Y may list dates of December Y−1 (the 2019 notice lists 2018-12-29..31).
    /// `covered_years` are the notice (title) years loaded; a date is answered only when its
    /// year is among them (see the crate documentation for late December). If a date is
    /// given twice, the later entry wins.
    pub fn new(
        days: impl IntoIterator<Item = SpecialDay>,
        covered_years: impl IntoIterator<Item = i32>,
    ) -> Calendar {
        Calendar {
            days: days.into_iter().map(|d| (d.date, d)).collect(),
            years: covered_years.into_iter().collect(),
        }
    }

    /// Whether the notice for `year` is loaded.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The notice years loaded, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The holiday or make-up working day on `date`, if the loaded notices list it.
    pub fn special_day(&self, date: NaiveDate) -> Option<&SpecialDay> {
        self.days.get(&date)
    }

    /// Refuses a date the loaded notices cannot answer for.
    fn check_covered(&self, d: NaiveDate) -> Result<(), CalendarError> {
        let year = d.year();
        if !self.covers(year) {
            return Err(CalendarError::YearNotCovered { year });
        }
        if d.month() == 12 && d.day() >= NEXT_NOTICE_FROM_DECEMBER && !self.covers(year + 1) {
            return Err(CalendarError::NextYearNotCovered {
                date: d,
                year: year + 1,
            });
        }
        Ok(())
    }

    /// Whether `d` is a working day: a listed holiday is not, a listed make-up day is, and any
    /// other day is one from Monday to Friday. Refused when the notices for `d` are not loaded.
    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        self.check_covered(d)?;
        Ok(match self.days.get(&d) {
            Some(special) => !special.off,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// The `n`-th working day (1-based) of `month` in `year`.
    ///
    /// Errors: `n` = 0, a month outside 1..=12, a month with fewer than `n` working days, or a
    /// date on the way whose notice is not loaded.
    pub fn nth_working_day_of_month(
        &self,
        year: i32,
        month: u32,
        n: u32,
    ) -> Result<NaiveDate, CalendarError> {
        if n == 0 {
            return Err(CalendarError::ZeroNth);
        }
        let first = first_of_month(year, month)?;
        let mut found = 0;
        let mut d = first;
        while d.month() == month && d.year() == year {
            if self.is_working_day(d)? {
                found += 1;
                if found == n {
                    return Ok(d);
                }
            }
            d = next_day(d)?;
        }
        Err(CalendarError::NotEnoughWorkingDays {
            year,
            month,
            n,
            working_days: found,
        })
    }

    /// The `n`-th working day after `from` (`from` itself is not counted, whether or not it is
    /// a working day). `n` = 0 gives `from`. So `working_days_between(from, result) == n`.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// The number of working days in (`from`, `to`]: after `from`, up to and including `to`.
    /// Negative (the count in (`to`, `from`], negated) when `to` is before `from`; 0 when equal.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64, CalendarError> {
        if to < from {
            return self.working_days_between(to, from).map(|n| -n);
        }
        let mut count = 0_i64;
        let mut d = from;
        while d < to {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

/// The consolidated-tax payment deadline (汇总征税缴款期限) of the statement for `month` of
/// `year` (the month the goods were released): the `nth` working day of the next month; the
/// taxes must be paid before the end of that day, China time.
///
/// Customs Tariff Law 2024 Art. 43 ("次月第五个工作日结束前") and GACC Announcement 2017
/// No. 45: `nth` = 5, which is configuration in the caller. A December statement is due in
/// January of the next year, and needs that year's notice.
pub fn monthly_statement_due(
    cal: &Calendar,
    year: i32,
    month: u32,
    nth: u32,
) -> Result<NaiveDate, CalendarError> {
    let first = first_of_month(year, month)?;
    let (due_year, due_month) = if first.month() == 12 {
        (year.checked_add(1).ok_or(CalendarError::DateOutOfRange)?, 1)
    } else {
        (year, month + 1)
    };
    cal.nth_working_day_of_month(due_year, due_month, nth)
}

fn first_of_month(year: i32, month: u32) -> Result<NaiveDate, CalendarError> {
    if !(1..=12).contains(&month) {
        return Err(CalendarError::InvalidMonth { month });
    }
    NaiveDate::from_ymd_opt(year, month, 1).ok_or(CalendarError::DateOutOfRange)
}

fn next_day(d: NaiveDate) -> Result<NaiveDate, CalendarError> {
    d.succ_opt().ok_or(CalendarError::DateOutOfRange)
}

/// Why the calendar cannot answer. [`CalendarError::rule`] gives a stable name for problem
/// reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The State Council notice for this year is not loaded: working days are unknown.
    #[error(
        "the State Council holiday notice for {year} is not loaded; working days in {year} cannot be determined"
    )]
    YearNotCovered { year: i32 },
    /// A date in late December whose working status the next year's notice (its New Year
    /// arrangement) may change, and that notice is not loaded.
    #[error(
        "{date} may be changed by the State Council holiday notice for {year} (New Year arrangement), which is not loaded"
    )]
    NextYearNotCovered { date: NaiveDate, year: i32 },
    /// A month outside 1..=12.
    #[error("month {month} is not between 1 and 12")]
    InvalidMonth { month: u32 },
    /// The 0th working day was asked for; counting starts at 1.
    #[error("working days are counted from 1; the 0th working day does not exist")]
    ZeroNth,
    /// The month has fewer working days than asked for.
    #[error("{year}-{month:02} has {working_days} working days, fewer than {n}")]
    NotEnoughWorkingDays {
        year: i32,
        month: u32,
        n: u32,
        working_days: u32,
    },
    /// Beyond the dates chrono can represent.
    #[error("the date is out of the representable range")]
    DateOutOfRange,
    /// A holiday entry that cannot be read.
    #[error("holiday entry `{code}`: {reason}")]
    InvalidSpecialDay { code: String, reason: String },
}

impl CalendarError {
    /// A stable, machine-readable name of the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            CalendarError::YearNotCovered { .. } => "calendar.year_not_covered",
            CalendarError::NextYearNotCovered { .. } => "calendar.next_year_not_covered",
            CalendarError::InvalidMonth { .. } => "calendar.invalid_month",
            CalendarError::ZeroNth => "calendar.zero_nth",
            CalendarError::NotEnoughWorkingDays { .. } => "calendar.not_enough_working_days",
            CalendarError::DateOutOfRange => "calendar.date_out_of_range",
            CalendarError::InvalidSpecialDay { .. } => "calendar.invalid_special_day",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn day(s: &str, off: bool) -> SpecialDay {
        SpecialDay {
            date: date(s),
            off,
            name: "test".to_owned(),
        }
    }

    /// 2030 (not a real notice): a Wednesday holiday and a Saturday make-up day.
    fn synthetic() -> Calendar {
        // 2030-01-01 is a Tuesday.
        Calendar::new([day("2030-01-02", true), day("2030-01-05", false)], [2030])
    }

    #[test]
    fn weekdays_holidays_and_make_up_days() {
        let cal = synthetic();
        assert_eq!(cal.is_working_day(date("2030-01-01")), Ok(true)); // Tue, not listed
        assert_eq!(cal.is_working_day(date("2030-01-02")), Ok(false)); // Wed, holiday
        assert_eq!(cal.is_working_day(date("2030-01-05")), Ok(true)); // Sat, make-up
        assert_eq!(cal.is_working_day(date("2030-01-06")), Ok(false)); // Sun
        assert_eq!(
            cal.special_day(date("2030-01-05")).map(|d| d.off),
            Some(false)
        );
    }

    #[test]
    fn uncovered_years_are_refused() {
        let cal = synthetic();
        let e = cal.is_working_day(date("2031-01-02")).unwrap_err();
        assert_eq!(e, CalendarError::YearNotCovered { year: 2031 });
        assert_eq!(e.rule(), "calendar.year_not_covered");
        assert!(
            Calendar::default()
                .is_working_day(date("2030-01-01"))
                .is_err()
        );
    }

    #[test]
    fn late_december_needs_the_next_notice() {
        let cal = synthetic();
        assert_eq!(cal.is_working_day(date("2030-12-24")), Ok(true));
        assert_eq!(
            cal.is_working_day(date("2030-12-25")),
            Err(CalendarError::NextYearNotCovered {
                date: date("2030-12-25"),
                year: 2031
            })
        );
        let both = Calendar::new([], [2030, 2031]);
        assert_eq!(both.is_working_day(date("2030-12-31")), Ok(true));
    }

    #[test]
    fn nth_working_day_and_its_errors() {
        let cal = synthetic();
        // Jan 2030: 1 Tue W1, 2 Wed off, 3 Thu W2, 4 Fri W3, 5 Sat make-up W4, 7 Mon W5.
        assert_eq!(
            cal.nth_working_day_of_month(2030, 1, 1),
            Ok(date("2030-01-01"))
        );
        assert_eq!(
            cal.nth_working_day_of_month(2030, 1, 4),
            Ok(date("2030-01-05"))
        );
        assert_eq!(
            cal.nth_working_day_of_month(2030, 1, 5),
            Ok(date("2030-01-07"))
        );
        assert_eq!(
            cal.nth_working_day_of_month(2030, 1, 0),
            Err(CalendarError::ZeroNth)
        );
        assert_eq!(
            cal.nth_working_day_of_month(2030, 13, 1),
            Err(CalendarError::InvalidMonth { month: 13 })
        );
        // Jan 2030: 23 weekdays − 1 holiday + 1 make-up day = 23.
        assert_eq!(
            cal.nth_working_day_of_month(2030, 1, 24),
            Err(CalendarError::NotEnoughWorkingDays {
                year: 2030,
                month: 1,
                n: 24,
                working_days: 23
            })
        );
    }

    #[test]
    fn adding_and_counting_working_days() {
        let cal = synthetic();
        let tue = date("2030-01-01");
        assert_eq!(cal.add_working_days(tue, 0), Ok(tue));
        assert_eq!(cal.add_working_days(tue, 1), Ok(date("2030-01-03")));
        assert_eq!(cal.add_working_days(tue, 3), Ok(date("2030-01-05")));
        assert_eq!(cal.add_working_days(tue, 4), Ok(date("2030-01-07")));
        assert_eq!(cal.working_days_between(tue, date("2030-01-07")), Ok(4));
        assert_eq!(cal.working_days_between(date("2030-01-07"), tue), Ok(-4));
        assert_eq!(cal.working_days_between(tue, tue), Ok(0));
        // Sunday to Monday: one working day (the Monday); Saturday is not counted as `from`.
        assert_eq!(
            cal.working_days_between(date("2030-01-06"), date("2030-01-07")),
            Ok(1)
        );
    }

    #[test]
    fn statement_due_dates_roll_over_the_year() {
        let cal = Calendar::new([], [2030, 2031]);
        // Statement for Dec 2030 → Jan 2031: 1 Wed W1, 2 W2, 3 Fri W3, 6 Mon W4, 7 Tue W5.
        assert_eq!(
            monthly_statement_due(&cal, 2030, 12, 5),
            Ok(date("2031-01-07"))
        );
        assert_eq!(
            monthly_statement_due(&cal, 2031, 12, 5),
            Err(CalendarError::YearNotCovered { year: 2032 })
        );
        assert_eq!(
            monthly_statement_due(&cal, 2031, 0, 5),
            Err(CalendarError::InvalidMonth { month: 0 })
        );
    }

    #[test]
    fn special_days_from_reference_entries() {
        let d = SpecialDay::from_code("2025-01-26", "false", "春节").expect("valid");
        assert_eq!(
            d,
            SpecialDay {
                date: date("2025-01-26"),
                off: false,
                name: "春节".into()
            }
        );
        assert!(
            SpecialDay::from_code("2025-01-28", "true", "春节")
                .expect("valid")
                .off
        );
        let bad = SpecialDay::from_code("2025-02-30", "true", "").unwrap_err();
        assert_eq!(bad.rule(), "calendar.invalid_special_day");
        assert!(SpecialDay::from_code("2025-01-28", "yes", "").is_err());
    }

    #[test]
    fn later_entries_win() {
        let cal = Calendar::new([day("2030-01-02", true), day("2030-01-02", false)], [2030]);
        assert_eq!(cal.is_working_day(date("2030-01-02")), Ok(true));
    }
}
