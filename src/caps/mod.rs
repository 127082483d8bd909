//! Caps: the second phase of evaluation, where eligible cases get places.
//!
//! Input: the candidates of a batch (cases whose first-phase decision is `within cap C`), with
//! their order keys, and a [`GrantBook`] of earlier grants (the ledger, or nothing). Output: for
//! each candidate, a place or its position in the overflow queue, and the new grants to record.
//! Semantics (language.md, storskog-policy.md §7): caps are allocated in the order of their
//! declaring versions' effective dates; within a cap, candidates in `order by` order (text byte
//! by byte); places left = limit − grants that count, re-read after every grant; a case that
//! already holds a grant keeps it and takes no new place.

pub mod ledger;

use std::collections::HashSet;

use crate::compile::CompiledPolicy;
use crate::dates::Date;
use crate::eval::SortKey;

/// A case waiting for a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its id.
    pub id: Box<str>,
    /// The version that decided it, by index.
    pub version: usize,
    /// The cap, by index into that version's caps.
    pub cap: usize,
    /// The cap's order keys, evaluated on the case.
    pub keys: Vec<SortKey>,
    /// The case's as-of date (recorded with a grant; `counts grants from` filters on it).
    pub as_of: Date,
}

/// What a candidate gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// A place: newly granted in this run, or held from an earlier one.
    Granted {
        /// Whether this run made the grant.
        new: bool,
    },
    /// No place left: the cap's overflow outcome, with a position in this run's queue.
    Overflow {
        /// 1 = next in line.
        queue_position: u64,
    },
}

/// A grant made by this run, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// The cap.
    pub cap: String,
    /// The case.
    pub case_id: String,
    /// The version that decided it.
    pub version: String,
    /// The case's as-of date.
    pub as_of: Date,
}

/// Earlier grants, as the allocation needs to see them.
pub trait GrantBook {
    /// Whether the case already holds a (not released) grant of the policy.
    fn holds(&self, case_id: &str) -> bool;
    /// How many (not released) grants count: of these caps (`None`: every cap of the policy),
    /// with an as-of date on or after `from`.
    fn count(&self, caps: Option<&[String]>, from: Option<Date>) -> u64;
}

/// No earlier grants: allocation within the batch alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLedger;

impl GrantBook for NoLedger {
    fn holds(&self, _case_id: &str) -> bool {
        false
    }
    fn count(&self, _caps: Option<&[String]>, _from: Option<Date>) -> u64 {
        0
    }
}

/// What one cap did in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapReport {
    /// The cap.
    pub cap: String,
    /// Its limit.
    pub limit: u64,
    /// Grants that counted before this batch.
    pub used_before: u64,
    /// Places granted by this batch.
    pub granted: u64,
    /// Candidates that kept an earlier grant.
    pub kept: u64,
    /// Candidates beyond the limit.
    pub overflowed: u64,
    /// Places left after the batch.
    pub left: u64,
}

/// The result of allocation.
#[derive(Debug, Clone, Default)]
pub struct AllocationResult {
    /// One per candidate, in the candidates' order.
    pub allocations: Vec<Allocation>,
    /// Grants to record.
    pub new_grants: Vec<NewGrant>,
    /// Per cap, in allocation order.
    pub reports: Vec<CapReport>,
}

fn counts(grant_cap: &str, grant_as_of: Date, caps: Option<&[String]>, from: Option<Date>) -> bool {
    caps.is_none_or(|names| names.iter().any(|n| n == grant_cap))
        && from.is_none_or(|f| grant_as_of >= f)
}

/// Allocates places to candidates.
pub fn allocate(
    policy: &CompiledPolicy,
    candidates: &[Candidate],
    book: &dyn GrantBook,
) -> AllocationResult {
    let mut result = AllocationResult {
        allocations: vec![Allocation::Overflow { queue_position: 0 }; candidates.len()],
        ..AllocationResult::default()
    };
    // Caps in the order of their declaring versions' effective dates (versions are sorted so).
    let mut groups: Vec<(usize, usize)> = candidates.iter().map(|c| (c.version, c.cap)).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut granted_ids: HashSet<&str> = HashSet::new();
    for (version, cap_index) in groups {
        let Some(cap) = policy
            .programs
            .get(version)
            .and_then(|p| p.caps.get(cap_index))
        else {
            continue;
        };
        let mut members: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                candidates
                    .get(i)
                    .is_some_and(|c| c.version == version && c.cap == cap_index)
            })
            .collect();
        members.sort_by(|&a, &b| {
            let (ka, kb) = (
                candidates.get(a).map(|c| &c.keys),
                candidates.get(b).map(|c| &c.keys),
            );
            ka.cmp(&kb).then(a.cmp(&b))
        });
        let caps_filter = cap.counts_caps.as_deref();
        let used_before = book.count(caps_filter, cap.counts_from);
        let mut used = used_before
            + result
                .new_grants
                .iter()
                .filter(|g| counts(&g.cap, g.as_of, caps_filter, cap.counts_from))
                .count() as u64;
        let mut report = CapReport {
            cap: cap.name.to_string(),
            limit: cap.limit,
            used_before,
            granted: 0,
            kept: 0,
            overflowed: 0,
            left: 0,
        };
        let mut queue = 0u64;
        for index in members {
            let Some(candidate) = candidates.get(index) else {
                continue;
            };
            let allocation = if book.holds(&candidate.id) || granted_ids.contains(&*candidate.id) {
                report.kept += 1;
                Allocation::Granted { new: false }
            } else if used < cap.limit {
                result.new_grants.push(NewGrant {
                    cap: cap.name.to_string(),
                    case_id: candidate.id.to_string(),
                    version: policy
                        .programs
                        .get(version)
                        .map(|p| p.version.to_string())
                        .unwrap_or_default(),
                    as_of: candidate.as_of,
                });
                granted_ids.insert(&candidate.id);
                if counts(&cap.name, candidate.as_of, caps_filter, cap.counts_from) {
                    used += 1;
                }
                report.granted += 1;
                Allocation::Granted { new: true }
            } else {
                queue += 1;
                report.overflowed += 1;
                Allocation::Overflow {
                    queue_position: queue,
                }
            };
            if let Some(slot) = result.allocations.get_mut(index) {
                *slot = allocation;
            }
        }
        report.left = cap.limit.saturating_sub(used);
        result.reports.push(report);
    }
    result
}
