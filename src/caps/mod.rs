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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Its id.
    pub id: &'a str,
    /// The version that decided it, by index.
    pub version: usize,
    /// The cap, by index into that version's caps.
    pub cap: usize,
    /// The case's as-of date (recorded with a grant; `counts grants from` filters on it).
    pub as_of: Date,
    /// The cap's order keys, encoded so that comparing the bytes compares the keys.
    order: &'a [u8],
}

/// The candidates of a batch, in input order, packed: their ids in one text, their encoded
/// order keys in one buffer, and the rest in 40 bytes. For a Storskog case (order by decision
/// date, then id) that is about 70 bytes a candidate, where boxed ids and keys took 150.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    packed: Vec<Packed>,
    ids: String,
    orders: Vec<u8>,
    /// No two candidates share an id (a batch refuses a second record with the same id): none
    /// can then hold a place granted to another in this run.
    distinct_ids: bool,
}

#[derive(Debug, Clone, Copy)]
struct Packed {
    id_start: usize,
    order_start: usize,
    id_length: u32,
    order_length: u32,
    version: u32,
    cap: u32,
    as_of: Date,
}

impl Candidates {
    /// Adds a candidate after the others. (Records are bounded to 1 MiB, far below the 4 GiB an
    /// id or its keys could take here.)
    pub fn push(&mut self, id: &str, version: usize, cap: usize, keys: &[SortKey], as_of: Date) {
        let (id_start, order_start) = (self.ids.len(), self.orders.len());
        self.ids.push_str(id);
        for key in keys {
            encode_key(&mut self.orders, key);
        }
        let order_length = self.orders.len() - order_start;
        self.packed.push(Packed {
            id_start,
            order_start,
            id_length: u32::try_from(id.len()).unwrap_or(u32::MAX),
            order_length: u32::try_from(order_length).unwrap_or(u32::MAX),
            version: u32::try_from(version).unwrap_or(u32::MAX),
            cap: u32::try_from(cap).unwrap_or(u32::MAX),
            as_of,
        });
    }

    /// Says that no two candidates share an id, for a batch that refused duplicates.
    pub(crate) fn with_distinct_ids(mut self) -> Self {
        self.distinct_ids = true;
        self
    }

    /// A candidate's encoded order keys.
    fn order_of(&self, packed: &Packed) -> Option<&[u8]> {
        let end = packed.order_start + packed.order_length as usize;
        self.orders.get(packed.order_start..end)
    }

    /// How many candidates there are.
    pub fn len(&self) -> usize {
        self.packed.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    /// The candidate at `index`, in input order.
    pub fn get(&self, index: usize) -> Option<Candidate<'_>> {
        let packed = self.packed.get(index)?;
        let order_end = packed.order_start + packed.order_length as usize;
        Some(Candidate {
            id: self
                .ids
                .get(packed.id_start..packed.id_start + packed.id_length as usize)?,
            version: packed.version as usize,
            cap: packed.cap as usize,
            as_of: packed.as_of,
            order: self.orders.get(packed.order_start..order_end)?,
        })
    }

    /// The candidates in input order.
    pub fn iter(&self) -> impl Iterator<Item = Candidate<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A candidate of a cap, as it is sorted: 32 bytes, all that most members are read for.
#[derive(Clone, Copy)]
struct Member {
    /// Its keys' first bytes (see [`key_prefix`]).
    prefix: u128,
    /// Its place among the candidates.
    index: usize,
}

/// The first 16 bytes of an encoded key as a number, zeros after a shorter key: two keys whose
/// numbers differ are in the order of their numbers (a key that ends before another is first).
fn key_prefix(order: &[u8]) -> u128 {
    let mut prefix = [0u8; 16];
    for (to, from) in prefix.iter_mut().zip(order) {
        *to = *from;
    }
    u128::from_be_bytes(prefix)
}

/// Appends a key so that byte order is key order, and no key's bytes are a prefix of another's:
/// a tag in [`SortKey`]'s order, then big-endian numbers with the sign bit flipped, or text
/// with each 0 byte doubled as `0 255` and closed by `0 0`.
fn encode_key(out: &mut Vec<u8>, key: &SortKey) {
    match key {
        SortKey::Absent => out.push(0),
        SortKey::Int(i) => {
            out.push(1);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        SortKey::Date(d) => {
            out.push(2);
            out.extend_from_slice(&((d.year() as u16) ^ (1 << 15)).to_be_bytes());
            out.push(d.month() as u8);
            out.push(d.day() as u8);
        }
        SortKey::Text(t) => {
            out.push(3);
            for &byte in t.as_bytes() {
                out.push(byte);
                if byte == 0 {
                    out.push(255);
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
    }
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
    /// Whether any case may hold one: when not, allocation asks [`Self::holds`] of no one.
    fn may_hold(&self) -> bool {
        true
    }
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
    fn may_hold(&self) -> bool {
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
    candidates: &Candidates,
    book: &dyn GrantBook,
) -> AllocationResult {
    allocate_on(policy, candidates, book, 1)
}

/// [`allocate`], with each cap's members sorted on up to `threads` threads: allocation is the
/// one part of a batch no other thread helps with, and sorting is most of it.
pub fn allocate_on(
    policy: &CompiledPolicy,
    candidates: &Candidates,
    book: &dyn GrantBook,
    threads: usize,
) -> AllocationResult {
    let mut result = AllocationResult {
        allocations: vec![Allocation::Overflow { queue_position: 0 }; candidates.len()],
        ..AllocationResult::default()
    };
    let groups = members_by_cap(candidates);
    // Ids granted in this run, when candidates may share one: at most the caps' limits. Every
    // member is then looked up, so the hash is keyed as the batch's set of ids is (see
    // `engine::ids`).
    let mut granted_ids: HashSet<&str> = HashSet::new();
    let may_hold = book.may_hold();
    for ((version, cap_index), mut members) in groups {
        let Some(cap) = policy
            .programs
            .get(version)
            .and_then(|p| p.caps.get(cap_index))
        else {
            continue;
        };
        sort_members(&mut members, candidates, threads);
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
        for member in members {
            let index = member.index;
            // A member's candidate is read only when needed: in key order, the candidates are
            // all over memory. With no earlier grants and distinct ids, only a new grant needs
            // it.
            let candidate = || candidates.get(index);
            let id = || candidate().map_or("", |c| c.id);
            let held = (may_hold && book.holds(id()))
                || (!candidates.distinct_ids && granted_ids.contains(id()));
            let allocation = if held {
                report.kept += 1;
                Allocation::Granted { new: false }
            } else if used < cap.limit {
                let (id, as_of) = candidate().map_or(("", Date::MIN), |c| (c.id, c.as_of));
                result.new_grants.push(NewGrant {
                    cap: cap.name.to_string(),
                    case_id: id.to_string(),
                    version: policy
                        .programs
                        .get(version)
                        .map(|p| p.version.to_string())
                        .unwrap_or_default(),
                    as_of,
                });
                if !candidates.distinct_ids {
                    granted_ids.insert(id);
                }
                if counts(&cap.name, as_of, caps_filter, cap.counts_from) {
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

/// The members of each cap, in input order, by (version, cap) in the order caps are allocated:
/// that of their declaring versions' effective dates (versions are sorted so). A policy has a
/// few caps: they are gathered as found, in one pass over the candidates.
fn members_by_cap(candidates: &Candidates) -> Vec<((usize, usize), Vec<Member>)> {
    // Counted first, so that each cap's members take no more room than they need.
    let mut counts: Vec<((usize, usize), usize)> = Vec::new();
    for packed in &candidates.packed {
        let group = (packed.version as usize, packed.cap as usize);
        match counts.iter_mut().find(|(g, _)| *g == group) {
            Some((_, count)) => *count += 1,
            None => counts.push((group, 1)),
        }
    }
    let mut groups: Vec<((usize, usize), Vec<Member>)> = counts
        .into_iter()
        .map(|(group, count)| (group, Vec::with_capacity(count)))
        .collect();
    for (index, packed) in candidates.packed.iter().enumerate() {
        let group = (packed.version as usize, packed.cap as usize);
        let members = groups.iter_mut().find(|(g, _)| *g == group);
        if let (Some(order), Some((_, members))) = (candidates.order_of(packed), members) {
            members.push(Member {
                prefix: key_prefix(order),
                index,
            });
        }
    }
    groups.sort_unstable_by_key(|(group, _)| *group);
    groups
}

/// Sorts a cap's members in key order, ties in input order. The keys' first 16 bytes are
/// compared as a number, in the members themselves; only members that share them compare the
/// rest. With more than one thread, the members are split in place around a middle one (all
/// before it are in order before it, all after it after it) and each side is sorted on a thread
/// of its own: no scratch, so no more memory than on one thread.
fn sort_members(members: &mut [Member], candidates: &Candidates, threads: usize) {
    let order = |i: usize| candidates.get(i).map(|c| c.order);
    let in_order = |a: &Member, b: &Member| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| order(a.index).cmp(&order(b.index)))
            .then(a.index.cmp(&b.index))
    };
    sort_split(members, &in_order, threads.clamp(1, MAX_SORT_THREADS));
}

fn sort_split<F>(members: &mut [Member], in_order: &F, threads: usize)
where
    F: Fn(&Member, &Member) -> std::cmp::Ordering + Sync,
{
    if threads < 2 || members.len() < PARALLEL_SORT_MIN {
        members.sort_unstable_by(in_order);
        return;
    }
    let low_threads = threads / 2;
    let middle = members.len() * low_threads / threads;
    members.select_nth_unstable_by(middle, in_order);
    let (low, high) = members.split_at_mut(middle);
    let spawned = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .spawn_scoped(scope, || sort_split(low, in_order, low_threads))
            .is_ok();
        sort_split(high, in_order, threads - low_threads);
        spawned
    });
    // A thread that could not start leaves its side to this one.
    if !spawned {
        sort_split(low, in_order, 1);
    }
}

/// Below this many members a cap is sorted on one thread: starting another costs more.
const PARALLEL_SORT_MIN: usize = 16 * 1024;
/// Threads a cap's members are sorted on at most.
const MAX_SORT_THREADS: usize = 16;

#[cfg(test)]
mod tests {
    use super::Candidates;
    use crate::dates::Date;
    use crate::eval::SortKey;

    #[test]
    fn packed_keys_sort_as_the_keys_do() {
        let texts = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "b",
            "é",
            "\u{ffff}",
            // Longer than a key's prefix, alone and after a date.
            "SK-0000001-and-more",
            "SK-0000001-and-more\0",
            "SK-0000001-and-mord",
        ];
        let dates = [
            Date::MIN,
            Date::constant(-1, 12, 31),
            Date::constant(0, 1, 1),
            Date::constant(2016, 2, 3),
            Date::constant(2016, 2, 29),
            Date::constant(2016, 3, 1),
            Date::MAX,
        ];
        let mut keys: Vec<Vec<SortKey>> = vec![vec![]];
        let singles: Vec<SortKey> = [SortKey::Absent]
            .into_iter()
            .chain([i64::MIN, -1, 0, 1, 255, 256, i64::MAX].map(SortKey::Int))
            .chain(dates.map(SortKey::Date))
            .chain(texts.map(|t| SortKey::Text(t.into())))
            .collect();
        for first in &singles {
            keys.push(vec![first.clone()]);
            for second in &singles {
                keys.push(vec![first.clone(), second.clone()]);
            }
        }
        let mut candidates = Candidates::default();
        for (i, key) in keys.iter().enumerate() {
            candidates.push(&format!("id-{i}"), 0, 0, key, Date::MIN);
        }
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                let (Some(x), Some(y)) = (candidates.get(i), candidates.get(j)) else {
                    panic!("candidate {i} or {j} is missing");
                };
                assert_eq!(x.order.cmp(y.order), a.cmp(b), "{a:?} vs {b:?}");
                let (p, q) = (super::key_prefix(x.order), super::key_prefix(y.order));
                if p != q {
                    assert_eq!(p.cmp(&q), a.cmp(b), "prefixes of {a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_candidate_reads_back_as_pushed() {
        let mut candidates = Candidates::default();
        let day = Date::constant(2016, 2, 3);
        candidates.push("SK-1", 2, 1, &[SortKey::Date(day)], day);
        candidates.push("", 70_000, 0, &[], Date::MIN);
        let Some(first) = candidates.get(0) else {
            panic!("no first candidate");
        };
        assert_eq!(
            (first.id, first.version, first.cap, first.as_of),
            ("SK-1", 2, 1, day)
        );
        assert_eq!(
            candidates.get(1).map(|c| (c.id, c.version)),
            Some(("", 70_000))
        );
        assert!(candidates.get(2).is_none() && candidates.len() == 2);
    }

    /// Candidates of two caps, their keys a date and an id in a scrambled order, some equal in
    /// their first 16 bytes and some altogether (ties go by input order).
    fn scrambled(count: usize) -> Candidates {
        let mut candidates = Candidates::default();
        let mut state = 12_345u64;
        for i in 0..count {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let day = Date::constant(2016, 1, 1 + (state >> 60) as i8);
            let id = format!("SK-{:07}-{}", (state >> 40) % 500, i % 3);
            let keys = [SortKey::Date(day), SortKey::Text(id.as_str().into())];
            candidates.push(&format!("C{i}"), 0, i % 2, &keys, day);
        }
        candidates
    }

    #[test]
    fn members_sort_in_key_order_ties_in_input_order() {
        let candidates = scrambled(5_000);
        for (group, mut members) in super::members_by_cap(&candidates) {
            let mut expected: Vec<usize> = members.iter().map(|m| m.index).collect();
            expected.sort_by_key(|&i| candidates.get(i).map(|c| c.order));
            super::sort_members(&mut members, &candidates, 1);
            let sorted: Vec<usize> = members.iter().map(|m| m.index).collect();
            assert_eq!(sorted, expected, "cap {group:?}");
        }
    }

    #[test]
    fn members_sorted_on_more_threads_are_in_the_same_order() {
        let candidates = scrambled(5 * super::PARALLEL_SORT_MIN);
        for (group, members) in super::members_by_cap(&candidates) {
            let mut expected: Vec<usize> = members.iter().map(|m| m.index).collect();
            expected.sort_by_key(|&i| candidates.get(i).map(|c| c.order));
            for threads in [2, 3, 5, 16, 100] {
                let mut members = members.clone();
                super::sort_members(&mut members, &candidates, threads);
                let sorted: Vec<usize> = members.iter().map(|m| m.index).collect();
                assert_eq!(sorted, expected, "cap {group:?} on {threads} threads");
            }
        }
    }

    #[test]
    fn a_candidate_whose_id_was_granted_in_this_run_keeps_that_place() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/storskog");
        let engine = crate::engine::Engine::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
        let day = Date::constant(2015, 12, 1);
        let keys = |id: &str| [SortKey::Date(day), SortKey::Text(id.into())];
        let mut candidates = Candidates::default();
        for id in ["SK-1", "SK-2", "SK-1"] {
            candidates.push(id, 0, 0, &keys(id), day);
        }
        let result = super::allocate(&engine.policy, &candidates, &super::NoLedger);
        use super::Allocation::Granted;
        assert_eq!(
            result.allocations,
            [
                Granted { new: true },
                Granted { new: true },
                Granted { new: false }
            ]
        );
        let report = result.reports.first().map(|r| (r.granted, r.kept));
        assert_eq!(report, Some((2, 1)));
    }

    #[test]
    fn members_are_gathered_by_cap_in_input_order() {
        let mut candidates = Candidates::default();
        for (id, version, cap) in [("a", 1, 0), ("b", 0, 1), ("c", 1, 0), ("d", 0, 0)] {
            candidates.push(id, version, cap, &[], Date::MIN);
        }
        let groups: Vec<((usize, usize), Vec<usize>)> = super::members_by_cap(&candidates)
            .into_iter()
            .map(|(group, members)| (group, members.iter().map(|m| m.index).collect()))
            .collect();
        assert_eq!(
            groups,
            vec![((0, 0), vec![3]), ((0, 1), vec![1]), ((1, 0), vec![0, 2])]
        );
    }
}
