//! The ids a batch has seen, for `duplicate_id`. They are kept in one text arena, each after
//! its length, with a table of where they start: 4 bytes a slot, plus the id's bytes and one
//! more (a set of boxed strings held 56 MiB for 1,000,000 ids; this holds about 21 MiB, and
//! less when the batch's size is known in advance, since the table then never grows). Hashing
//! is SipHash with a random key (std's), so ids made to collide cannot slow a batch down.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use hashbrown::HashTable;

/// The arena is addressed by 32 bits; ids past its 4 GiB are kept as they are.
const ARENA_LIMIT: usize = u32::MAX as usize;

/// A set of ids.
#[derive(Default)]
pub(crate) struct IdSet {
    hasher: RandomState,
    /// Each id's length (LEB128), then its bytes.
    arena: Vec<u8>,
    /// Where each id starts in the arena.
    table: HashTable<u32>,
    /// Ids past the arena's limit.
    oversized: HashSet<Box<str>>,
}

/// The id at `start` of the arena.
fn id_at(arena: &[u8], start: u32) -> &[u8] {
    let mut length = 0usize;
    let mut at = start as usize;
    for shift in (0..usize::BITS).step_by(7) {
        let Some(&byte) = arena.get(at) else {
            return &[];
        };
        at += 1;
        length |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    arena.get(at..at + length).unwrap_or(&[])
}

impl IdSet {
    /// What hashes ids for this set: ids may be hashed on other threads, then inserted.
    pub(crate) fn hasher(&self) -> RandomState {
        self.hasher.clone()
    }

    /// Makes room for `ids` more ids, so that neither the table nor the arena need grow
    /// (growing holds the old and the new one at once). The arena gets room for ids of up to
    /// 31 bytes: room never written to takes no memory.
    pub(crate) fn reserve(&mut self, ids: usize) {
        let IdSet {
            hasher,
            arena,
            table,
            ..
        } = self;
        table.reserve(ids, |&start| hasher.hash_one(id_at(arena, start)));
        let room = ids.saturating_mul(32);
        arena.reserve(room.min(ARENA_LIMIT.saturating_sub(arena.len())));
    }

    /// Adds an id; false if it was already there.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id.as_bytes());
        self.insert_hashed(id, hash)
    }

    /// Adds an id whose hash, by [`Self::hasher`] over its bytes, is `hash`; false if it was
    /// already there.
    pub(crate) fn insert_hashed(&mut self, id: &str, hash: u64) -> bool {
        self.insert_hashed_within(id, hash, ARENA_LIMIT)
    }

    /// [`Self::insert_hashed`], with an arena of `limit` bytes.
    fn insert_hashed_within(&mut self, id: &str, hash: u64, limit: usize) -> bool {
        let start = self.arena.len();
        if start + id.len() + 10 > limit {
            // Past the arena, an id may still be one of those in it.
            let arena = &self.arena;
            if self
                .table
                .find(hash, |&entry| id_at(arena, entry) == id.as_bytes())
                .is_some()
            {
                return false;
            }
            return self.oversized.insert(id.into());
        }
        let IdSet {
            hasher,
            arena,
            table,
            ..
        } = self;
        let fresh = match table.entry(
            hash,
            |&entry| id_at(arena, entry) == id.as_bytes(),
            |&entry| hasher.hash_one(id_at(arena, entry)),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(start as u32);
                true
            }
        };
        if fresh {
            let mut length = id.len();
            while length >= 0x80 {
                self.arena.push((length & 0x7f) as u8 | 0x80);
                length >>= 7;
            }
            self.arena.push(length as u8);
            self.arena.extend_from_slice(id.as_bytes());
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::IdSet;

    #[test]
    fn past_the_arena_an_id_in_it_is_not_new() {
        let mut ids = IdSet::default();
        let mut insert = |id: &str| {
            let hash = ids.hasher.hash_one(id.as_bytes());
            // An arena of 40 bytes: two ids fit, then the set is past it.
            ids.insert_hashed_within(id, hash, 40)
        };
        assert!(insert("SK-0000001"));
        assert!(insert("SK-0000002"));
        assert!(insert("SK-0000003"), "the first id past the arena");
        assert!(!insert("SK-0000001"), "an id in the arena");
        assert!(!insert("SK-0000003"), "an id past it");
        assert!(insert("SK-0000004"));
    }

    #[test]
    fn an_id_is_new_once() {
        let mut ids = IdSet::default();
        let many: Vec<String> = (0..10_000).map(|i| format!("SK-{i}")).collect();
        for id in &many {
            assert!(ids.insert(id), "{id}");
        }
        for id in &many {
            assert!(!ids.insert(id), "{id}");
        }
        // Prefixes and the empty id are ids of their own.
        assert!(ids.insert("SK-"));
        assert!(ids.insert(""));
        assert!(!ids.insert(""));
        assert!(ids.insert("SK-1 "));
    }

    #[test]
    fn long_ids_and_a_reserved_set_work_alike() {
        let mut ids = IdSet::default();
        ids.reserve(1000);
        // Lengths of one, two and three LEB128 bytes.
        let long = [
            "x".repeat(127),
            "x".repeat(128),
            "y".repeat(1 << 14),
            "y".repeat(1 << 20),
        ];
        for id in &long {
            assert!(ids.insert(id));
        }
        for id in &long {
            assert!(!ids.insert(id));
        }
        assert!(ids.insert("x") && ids.oversized.is_empty());
    }
}
