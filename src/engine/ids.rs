//! The ids a batch has seen, for `duplicate_id`. They are kept in one text arena with a table of
//! their places: a set of boxed strings held 56 MiB for 1,000,000 ids (a box, its allocation and
//! a slot each), this holds about 28 MiB (the id's bytes, and 9 bytes a slot). Hashing is
//! SipHash with a random key (std's), so ids made to collide cannot slow a batch down.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Bits of a table entry that hold the id's length; the rest hold where it starts.
const LENGTH_BITS: u32 = 24;

/// A set of ids.
#[derive(Default)]
pub(crate) struct IdSet {
    hasher: RandomState,
    arena: String,
    /// Where each id is in the arena: start, then length, packed in one word.
    table: HashTable<u64>,
    /// Ids too long to pack (16 MiB and over), or past a terabyte of ids: kept as they are.
    oversized: HashSet<Box<str>>,
}

impl IdSet {
    /// What hashes ids for this set: ids may be hashed on other threads, then inserted.
    pub(crate) fn hasher(&self) -> RandomState {
        self.hasher.clone()
    }

    /// Adds an id; false if it was already there.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        self.insert_hashed(id, hash)
    }

    /// Adds an id whose hash, by [`Self::hasher`], is `hash`; false if it was already there.
    pub(crate) fn insert_hashed(&mut self, id: &str, hash: u64) -> bool {
        let start = self.arena.len() as u64;
        let length = id.len() as u64;
        if length >= 1 << LENGTH_BITS || start >= 1 << (64 - LENGTH_BITS) {
            return self.oversized.insert(id.into());
        }
        let IdSet {
            hasher,
            arena,
            table,
            ..
        } = self;
        let text = |entry: u64| {
            let start = (entry >> LENGTH_BITS) as usize;
            let end = start + (entry & ((1 << LENGTH_BITS) - 1)) as usize;
            arena.get(start..end).unwrap_or("")
        };
        let fresh = match table.entry(
            hash,
            |&entry| text(entry) == id,
            |&entry| hasher.hash_one(text(entry)),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(start << LENGTH_BITS | length);
                true
            }
        };
        if fresh {
            self.arena.push_str(id);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::IdSet;

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
    fn ids_too_long_to_pack_are_kept_apart() {
        let mut ids = IdSet::default();
        let long = "x".repeat(1 << super::LENGTH_BITS);
        assert!(ids.insert(&long));
        assert!(!ids.insert(&long));
        assert!(ids.insert("x"));
        assert!(ids.oversized.len() == 1 && ids.arena == "x");
    }
}
