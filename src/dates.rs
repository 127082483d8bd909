//! Calendar arithmetic for the policy language.
//!
//! Dates are [`jiff::civil::Date`] values: proleptic Gregorian, no time zone,
//! ranging from [`Date::MIN`] (-9999-01-01) to [`Date::MAX`] (9999-12-31).
//! The policy language only ever *writes* years 0000..=9999 ([`parse_date`]),
//! but arithmetic may step outside that range and everything here stays
//! defined for the full jiff range.
//!
//! Invariants:
//! - Nothing in this module panics, whatever the input: amounts are combined
//!   with saturating arithmetic and results are clamped to the jiff range.
//! - Whole years and months follow the *anniversary rule*: the count rises by
//!   one on each anniversary of the start date, where an anniversary that
//!   falls on a day the target month lacks (29, 30 or 31) moves to that
//!   month's last day. Anniversaries are always taken from the original start
//!   date, never chained (31 Jan + 1 month = 29 Feb, + 2 months = 31 Mar).
//! - Intervals are antisymmetric: `f(b, a) == -f(a, b)` for every difference
//!   function here.
//! - Years and months are computed straight from the date components rather
//!   than through jiff's `Span` machinery, so they are cheap, allocation-free
//!   and cannot fail.

pub use jiff::civil::Date;

/// A calendar unit that a period of time can be counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodUnit {
    /// Calendar years (12 months, anniversary rule).
    Years,
    /// Calendar months (anniversary rule, clamped to the month's last day).
    Months,
    /// Days.
    Days,
}

/// Parses a strict `YYYY-MM-DD` date.
///
/// Accepted: exactly four, two and two ASCII digits separated by `-`, naming
/// a real proleptic Gregorian date in years 0000..=9999. Everything else is
/// `None`: impossible dates (`2016-02-30`, `0000-00-00`), missing padding
/// (`2016-2-3`), signs (`+2016-01-01`), surrounding whitespace, other
/// separators, non-ASCII digits.
pub fn parse_date(s: &str) -> Option<Date> {
    parse_date_bytes(s.as_bytes())
}

/// [`parse_date`] for the bytes of a text.
pub fn parse_date_bytes(bytes: &[u8]) -> Option<Date> {
    let bytes: [u8; 10] = bytes.try_into().ok()?;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = bytes else {
        return None;
    };
    let year = digits(&[y0, y1, y2, y3])?;
    let month = digits(&[m0, m1])?;
    let day = digits(&[d0, d1])?;
    // jiff rejects month 0, day 0 and days past the month's end.
    ymd(i64::from(year), i64::from(month), i64::from(day))
}

/// Whole calendar years from `from` to `to` by the anniversary rule.
///
/// The count rises by one on each anniversary of `from`; if `from` is
/// 29 February, the anniversary in a common year is 28 February. If
/// `to < from` the result is the negation of the count from `to` to `from`,
/// so `years_between(a, b) == -years_between(b, a)` always holds.
pub fn years_between(from: Date, to: Date) -> i64 {
    // Anniversary k years on is the monthly anniversary 12k months on, and
    // both counts are monotone, so whole years are whole months / 12.
    months_between(from, to) / 12
}

/// Whole calendar months from `from` to `to` by the anniversary rule.
///
/// The monthly anniversary is the same day of the month as `from`, or the
/// last day of a month too short to have that day; so 2016-01-31 to
/// 2016-02-29 is one whole month, and 2016-01-31 to 2016-02-28 is none. If
/// `to < from` the result is the negation of the count from `to` to `from`.
pub fn months_between(from: Date, to: Date) -> i64 {
    if to < from {
        -forward_months(to, from)
    } else {
        forward_months(from, to)
    }
}

/// Days from `from` to `to` (negative if `to < from`).
pub fn days_between(from: Date, to: Date) -> i64 {
    epoch_day(to) - epoch_day(from)
}

/// Returns `date + amount unit`; `amount` may be negative.
///
/// Adding years or months keeps the day of the month, clamped to the target
/// month's last day (2016-02-29 + 1 year = 2017-02-28, 2016-01-31 + 1 month =
/// 2016-02-29). Results beyond jiff's range saturate to [`Date::MIN`]
/// (-9999-01-01) or [`Date::MAX`] (9999-12-31) instead of failing, so
/// 9999-12-31 + 1 day and 9999-12-15 + 1 month are both `Date::MAX`, and
/// even `i64::MAX` years is fine.
pub fn add_period(date: Date, amount: i64, unit: PeriodUnit) -> Date {
    let saturated = if amount < 0 { Date::MIN } else { Date::MAX };
    match unit {
        PeriodUnit::Years => add_months(date, amount.saturating_mul(12)),
        PeriodUnit::Months => add_months(date, amount),
        PeriodUnit::Days => {
            let target = epoch_day(date)
                .saturating_add(amount)
                .clamp(epoch_day(Date::MIN), epoch_day(Date::MAX));
            let (y, m, d) = civil_from_epoch_day(target);
            // The clamp keeps the target representable, so the fallback is
            // unreachable; it only spares us an unwrap.
            ymd(y, m, d).unwrap_or(saturated)
        }
    }
}

/// Formats `date` as `YYYY-MM-DD`.
///
/// Years 0..=9999 always take four digits, so the output round-trips through
/// [`parse_date`]. Negative years (only reachable by arithmetic) are written
/// `-YYYY-MM-DD`, which `parse_date` deliberately rejects.
pub fn format_date(date: Date) -> String {
    let year = i32::from(date.year());
    let sign = if year < 0 { "-" } else { "" };
    format!(
        "{sign}{:04}-{:02}-{:02}",
        year.unsigned_abs(),
        date.month(),
        date.day()
    )
}

/// Whole months from `from` to `to`, for `from <= to`.
fn forward_months(from: Date, to: Date) -> i64 {
    let n = month_index(to) - month_index(from);
    // The n-th anniversary falls in `to`'s month; `to` has reached it unless
    // its day is still before the (clamped) anniversary day.
    let anniversary_day =
        i64::from(from.day()).min(days_in_month(i64::from(to.year()), i64::from(to.month())));
    if i64::from(to.day()) < anniversary_day {
        n - 1
    } else {
        n
    }
}

/// `date + months`, clamping the day and saturating at the jiff range.
fn add_months(date: Date, months: i64) -> Date {
    let target = month_index(date).saturating_add(months);
    if target < month_index(Date::MIN) {
        return Date::MIN;
    }
    if target > month_index(Date::MAX) {
        return Date::MAX;
    }
    let year = target.div_euclid(12);
    let month = target.rem_euclid(12) + 1;
    let day = i64::from(date.day()).min(days_in_month(year, month));
    let saturated = if months < 0 { Date::MIN } else { Date::MAX };
    // Range-checked above and the day is clamped, so this cannot fail.
    ymd(year, month, day).unwrap_or(saturated)
}

/// Months since 0000-01 (negative before it): a linear month number.
fn month_index(date: Date) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month()) - 1
}

/// Builds a date from wide components, or `None` if they do not name one.
fn ymd(year: i64, month: i64, day: i64) -> Option<Date> {
    let year = i16::try_from(year).ok()?;
    let month = i8::try_from(month).ok()?;
    let day = i8::try_from(day).ok()?;
    Date::new(year, month, day).ok()
}

/// The value of a run of ASCII decimal digits, or `None` if any byte is not
/// one. Callers pass at most four digits, so `u16` cannot overflow.
fn digits(bytes: &[u8]) -> Option<u16> {
    bytes.iter().try_fold(0u16, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
    })
}

fn is_leap_year(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

/// Length of `month` (1..=12) in `year`.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
///
/// Jiff keeps its own epoch-day conversion private, and going through a
/// `Span` would add a fallible step; the inputs are bounded by jiff's year
/// range, so plain arithmetic cannot overflow here.
fn epoch_day(date: Date) -> i64 {
    let (year, month, day) = (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    // Count years from March so the leap day is the last day of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`epoch_day`]: `(year, month, day)` for a day count.
fn civil_from_epoch_day(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap_or_else(|| panic!("bad test date {s:?}"))
    }

    /// The spec table: (from, to, whole years, at least one year?, days).
    const TABLE: &[(&str, &str, i64, bool, i64)] = &[
        ("2014-10-15", "2015-10-15", 1, true, 365),
        ("2014-10-16", "2015-10-15", 0, false, 364),
        // 365 days, but the anniversary is 2016-03-01.
        ("2015-03-01", "2016-02-29", 0, false, 365),
        ("2015-02-28", "2016-02-28", 1, true, 365),
        // Feb-29 rule: the anniversary in a common year is 28 February.
        ("2016-02-29", "2017-02-28", 1, true, 365),
        ("2015-10-20", "2015-10-20", 0, false, 0),
    ];

    #[test]
    fn spec_table_years() {
        for &(from, to, years, at_least_one, _) in TABLE {
            let got = years_between(d(from), d(to));
            assert_eq!(got, years, "{from} -> {to}");
            assert_eq!(got >= 1, at_least_one, "{from} -> {to}");
        }
    }

    #[test]
    fn spec_table_days() {
        for &(from, to, _, _, days) in TABLE {
            assert_eq!(days_between(d(from), d(to)), days, "{from} -> {to}");
        }
    }

    #[test]
    fn negative_intervals_are_negated() {
        for &(from, to, years, _, days) in TABLE {
            assert_eq!(years_between(d(to), d(from)), -years, "{to} -> {from}");
            assert_eq!(days_between(d(to), d(from)), -days, "{to} -> {from}");
        }
        assert_eq!(years_between(d("2015-10-15"), d("2014-10-15")), -1);
        assert_eq!(years_between(d("2015-10-15"), d("2014-10-16")), 0);
        assert_eq!(months_between(d("2016-02-29"), d("2016-01-31")), -1);
        assert_eq!(months_between(d("2016-03-15"), d("2016-01-16")), -1);
        assert_eq!(days_between(d("2016-03-01"), d("2016-02-28")), -2);
    }

    #[test]
    fn feb_29_anniversaries() {
        let leap = d("2016-02-29");
        assert_eq!(years_between(leap, d("2017-02-27")), 0);
        assert_eq!(years_between(leap, d("2017-02-28")), 1);
        assert_eq!(years_between(leap, d("2020-02-28")), 3);
        assert_eq!(years_between(leap, d("2020-02-29")), 4);
        assert_eq!(years_between(d("2015-02-28"), d("2016-02-28")), 1);
        assert_eq!(years_between(d("2015-02-28"), d("2016-02-27")), 0);
    }

    #[test]
    fn months_across_month_ends() {
        // The monthly anniversary of the 31st in February is its last day.
        assert_eq!(months_between(d("2016-01-31"), d("2016-02-29")), 1);
        assert_eq!(months_between(d("2016-01-31"), d("2016-02-28")), 0);
        assert_eq!(months_between(d("2015-01-31"), d("2015-02-28")), 1);
        assert_eq!(months_between(d("2016-01-30"), d("2016-02-29")), 1);
        // Anniversaries come from the start date, not the previous one.
        assert_eq!(months_between(d("2016-01-31"), d("2016-03-30")), 1);
        assert_eq!(months_between(d("2016-01-31"), d("2016-03-31")), 2);
        assert_eq!(months_between(d("2016-01-31"), d("2016-04-30")), 3);
        assert_eq!(months_between(d("2016-01-15"), d("2016-02-14")), 0);
        assert_eq!(months_between(d("2016-01-15"), d("2016-02-15")), 1);
        assert_eq!(months_between(d("2015-12-31"), d("2017-01-31")), 13);
        assert_eq!(months_between(d("2015-10-20"), d("2015-10-20")), 0);
    }

    #[test]
    fn parse_accepts_valid_dates() {
        assert_eq!(parse_date("2016-02-29"), Some(Date::constant(2016, 2, 29)));
        assert_eq!(parse_date("0000-01-01"), Some(Date::constant(0, 1, 1)));
        assert_eq!(parse_date("9999-12-31"), Some(Date::MAX));
        assert_eq!(parse_date("2000-02-29"), Some(Date::constant(2000, 2, 29)));
    }

    #[test]
    fn parse_rejects_malformed_dates() {
        for s in [
            "2016-02-30",
            "2015-02-29",
            "1900-02-29",
            "2016-2-3",
            "0000-00-00",
            "2016-00-10",
            "2016-01-00",
            "2016-13-01",
            "2016-04-31",
            "+2016-01-01",
            "-2016-01-01",
            "-001-01-01",
            "2016-01-01 ",
            " 2016-01-01",
            "2016-01-01\n",
            "2016/01/01",
            "2016-01-0a",
            "20160101",
            "12016-01-01",
            "",
            "\u{ff12}016-01-01",
            "2016-01-1\u{e9}",
        ] {
            assert_eq!(parse_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["0000-01-01", "0009-03-04", "2016-02-29", "9999-12-31"] {
            assert_eq!(format_date(d(s)), s);
        }
        assert_eq!(format_date(Date::MIN), "-9999-01-01");
        assert_eq!(format_date(Date::constant(-1, 12, 31)), "-0001-12-31");
    }

    #[test]
    fn add_period_clamps_to_month_end() {
        let y = PeriodUnit::Years;
        let m = PeriodUnit::Months;
        assert_eq!(add_period(d("2016-02-29"), 1, y), d("2017-02-28"));
        assert_eq!(add_period(d("2016-02-29"), 4, y), d("2020-02-29"));
        assert_eq!(add_period(d("2016-02-29"), -1, y), d("2015-02-28"));
        assert_eq!(add_period(d("2016-01-31"), 1, m), d("2016-02-29"));
        assert_eq!(add_period(d("2016-01-31"), 2, m), d("2016-03-31"));
        assert_eq!(add_period(d("2016-03-31"), -1, m), d("2016-02-29"));
        assert_eq!(add_period(d("2016-12-15"), 1, m), d("2017-01-15"));
        assert_eq!(add_period(d("2016-01-15"), -13, m), d("2014-12-15"));
        assert_eq!(
            add_period(d("2016-02-28"), 2, PeriodUnit::Days),
            d("2016-03-01")
        );
        assert_eq!(
            add_period(d("2016-01-01"), -1, PeriodUnit::Days),
            d("2015-12-31")
        );
        assert_eq!(add_period(d("2016-01-01"), 0, y), d("2016-01-01"));
    }

    #[test]
    fn add_period_saturates() {
        let max = Date::MAX;
        assert_eq!(add_period(d("9999-12-31"), 1, PeriodUnit::Days), max);
        assert_eq!(add_period(d("9999-12-15"), 1, PeriodUnit::Months), max);
        assert_eq!(add_period(d("9999-01-01"), 1, PeriodUnit::Years), max);
        assert_eq!(add_period(Date::MIN, -1, PeriodUnit::Days), Date::MIN);
        assert_eq!(add_period(Date::MIN, -1, PeriodUnit::Months), Date::MIN);
        for unit in [PeriodUnit::Years, PeriodUnit::Months, PeriodUnit::Days] {
            assert_eq!(add_period(d("2016-02-29"), i64::MAX, unit), max);
            assert_eq!(add_period(d("2016-02-29"), i64::MIN, unit), Date::MIN);
            assert_eq!(add_period(max, i64::MAX, unit), max);
            assert_eq!(add_period(Date::MIN, i64::MIN, unit), Date::MIN);
        }
        // In-range month, clamped day: not saturated.
        assert_eq!(
            add_period(d("9999-11-30"), 1, PeriodUnit::Months),
            d("9999-12-30")
        );
    }

    #[test]
    fn extremes_do_not_panic() {
        let dates = [Date::MIN, Date::MAX, d("0000-01-01"), d("2016-02-29")];
        for &a in &dates {
            for &b in &dates {
                let years = years_between(a, b);
                assert_eq!(years, -years_between(b, a));
                assert_eq!(months_between(a, b), -months_between(b, a));
                assert_eq!(days_between(a, b), -days_between(b, a));
            }
        }
        assert_eq!(years_between(Date::MIN, Date::MAX), 19_998);
    }

    fn all_days(from: &str, to: &str) -> Vec<Date> {
        let (from, to) = (d(from), d(to));
        (0..=days_between(from, to))
            .map(|n| add_period(from, n, PeriodUnit::Days))
            .collect()
    }

    #[test]
    fn epoch_day_matches_jiff() {
        let epoch = Date::constant(1970, 1, 1);
        let samples = [Date::MIN, Date::MAX, d("0000-03-01"), d("2016-02-29")];
        let run = all_days("1899-12-01", "1901-03-31");
        for date in samples.into_iter().chain(run) {
            let span = date.since(epoch).unwrap();
            assert_eq!(days_between(epoch, date), i64::from(span.get_days()));
            let back = epoch.checked_add(jiff::Span::new().days(span.get_days()));
            assert_eq!(back.unwrap(), date);
            let (y, m, dd) = civil_from_epoch_day(epoch_day(date));
            assert_eq!(ymd(y, m, dd), Some(date));
        }
    }

    #[test]
    fn whole_periods_bracket_the_target() {
        // Every pair around two leap days: the counted anniversary has been
        // reached and the next one has not, and years are months / 12.
        let starts = all_days("2015-12-25", "2016-03-05");
        let ends = all_days("2015-12-01", "2018-03-31");
        for &from in &starts {
            for &to in &ends {
                let months = months_between(from, to);
                assert_eq!(years_between(from, to), months / 12);
                if to >= from {
                    let reached = add_period(from, months, PeriodUnit::Months);
                    let next = add_period(from, months + 1, PeriodUnit::Months);
                    assert!(reached <= to && to < next, "{from} -> {to}");
                }
            }
        }
    }
}
