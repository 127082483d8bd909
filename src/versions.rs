//! A policy's versions in time: their spans, overlaps and gaps, and the version in force.
//!
//! Input: checked versions ordered by effective date. A version is in force from its `from` day
//! (inclusive) to its `until` day (inclusive) if it has one, otherwise until the day before the
//! next version starts; the last version without `until` has no end.

use crate::check::model::Version;
use crate::dates::{Date, PeriodUnit, add_period, format_date};

/// The last day a version is in force, if it ends.
pub fn last_day(versions: &[Version], index: usize) -> Option<Date> {
    let version = versions.get(index)?;
    match (version.until, versions.get(index + 1)) {
        (Some(until), _) => Some(until),
        (None, Some(next)) => Some(add_period(next.from, -1, PeriodUnit::Days)),
        (None, None) => None,
    }
}

/// The version in force on `day`, if any.
pub fn in_force(versions: &[Version], day: Date) -> Option<&Version> {
    let index = versions.partition_point(|v| v.from <= day).checked_sub(1)?;
    let version = versions.get(index)?;
    match last_day(versions, index) {
        Some(last) if day > last => None,
        _ => Some(version),
    }
}

/// A problem with how versions follow each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanProblem {
    /// Both versions are in force on `day` (indices into the versions).
    Overlap {
        /// The earlier.
        first: usize,
        /// The later.
        second: usize,
        /// The first day both are in force.
        day: String,
    },
    /// No version is in force between these days (inclusive), after version `after`.
    Gap {
        /// The version before the gap.
        after: usize,
        /// First day without a version.
        from: String,
        /// Last day without a version.
        to: String,
    },
}

/// Finds overlaps and gaps between consecutive versions (ordered by `from`).
pub fn span_problems(versions: &[Version]) -> Vec<SpanProblem> {
    let mut problems = Vec::new();
    for (index, pair) in versions.windows(2).enumerate() {
        let [earlier, later] = pair else { continue };
        if earlier.from == later.from {
            problems.push(SpanProblem::Overlap {
                first: index,
                second: index + 1,
                day: format_date(later.from),
            });
            continue;
        }
        if let Some(until) = earlier.until {
            if until >= later.from {
                problems.push(SpanProblem::Overlap {
                    first: index,
                    second: index + 1,
                    day: format_date(later.from),
                });
            } else {
                let gap_start = add_period(until, 1, PeriodUnit::Days);
                if gap_start < later.from {
                    problems.push(SpanProblem::Gap {
                        after: index,
                        from: format_date(gap_start),
                        to: format_date(add_period(later.from, -1, PeriodUnit::Days)),
                    });
                }
            }
        }
    }
    problems
}
