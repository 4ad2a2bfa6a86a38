//! User ids to user numbers: an open-addressing table of 4-byte slots, compared by the
//! id each points at in the users list, so ids are not stored twice.
//!
//! A slot holds the user's number plus one in its low bits (as many as the table has
//! slots: at most three quarters are used, so a number always fits) and the top bits
//! of the id's hash above them, so a probe tells most other ids apart without reading
//! their records; 0 is an empty slot. A lookup can go in stages ([`Probe`]): hash and
//! read the first slot, then the record a slot points at, then compare. A replay runs
//! each stage over a window of events before the next, so the cache misses of many
//! lookups overlap instead of each waiting for the one before (see
//! [`crate::Engine::warm`]).

use crate::state::users::Users;
use std::hash::BuildHasher;

/// The fewest slots a table that holds anything has.
const MIN_SLOTS: usize = 16;
/// Beyond this many slots the table stops growing (each slot's number must fit in 32
/// bits with room for a tag); inserts past three quarters of it are dropped.
const MAX_SLOTS: usize = 1 << 31;

/// User ids to user numbers.
#[derive(Clone, Default)]
pub struct UserIndex {
    slots: Vec<u32>,
    len: usize,
    hasher: foldhash::fast::RandomState,
}

/// A lookup's first stage: the id's hash, where its probe starts.
#[derive(Debug, Clone, Copy)]
pub struct Probe(u64);

impl UserIndex {
    /// Which bits of a slot hold the number (the rest hold the tag).
    fn number_mask(&self) -> u32 {
        u32::try_from(self.slots.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// Hashes `id`: a lookup's first stage.
    pub fn probe(&self, id: &str) -> Probe {
        Probe(self.hasher.hash_one(id))
    }

    /// The slots `p` visits, in order, with the tag they must carry.
    fn slots(&self, p: Probe) -> (impl Iterator<Item = u32> + '_, u32) {
        let mask = self.slots.len().saturating_sub(1);
        let start = p.0 as usize & mask;
        let tag = (p.0 >> 32) as u32 & !self.number_mask();
        let (head, tail) = self.slots.split_at(start.min(self.slots.len()));
        let walk = tail.iter().chain(head).copied().take_while(|&s| s != 0);
        (walk, tag)
    }

    /// The first slot `p` reads: reading it early brings it into cache.
    pub fn first_slot(&self, p: Probe) -> u32 {
        let start = p.0 as usize & self.slots.len().saturating_sub(1);
        self.slots.get(start).copied().unwrap_or(0)
    }

    /// The first user number whose slot carries `p`'s tag: most likely the one `find`
    /// will return (its record is worth reading early).
    pub fn candidate(&self, p: Probe) -> Option<u32> {
        let numbers = self.number_mask();
        let (mut walk, tag) = self.slots(p);
        walk.find(|s| s & !numbers == tag)
            .map(|s| (s & numbers).wrapping_sub(1))
    }

    /// The number of the user with `id`, its hash already taken.
    pub fn find(&self, users: &Users, id: &str, p: Probe) -> Option<u32> {
        let numbers = self.number_mask();
        let (walk, tag) = self.slots(p);
        walk.filter(|s| s & !numbers == tag)
            .map(|s| (s & numbers).wrapping_sub(1))
            .find(|&n| users.record(n as usize).is_some_and(|u| u.id == id))
    }

    /// The number of the user with `id`.
    pub fn get(&self, users: &Users, id: &str) -> Option<u32> {
        self.find(users, id, self.probe(id))
    }

    /// Adds `id` as user number `i` (the id must not be in the index yet, and user
    /// `i` must be in `users`).
    pub fn insert(&mut self, users: &Users, id: &str, i: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 && self.slots.len() < MAX_SLOTS {
            self.grow(users);
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            return;
        }
        let p = self.probe(id);
        if self.put(p, i) {
            self.len += 1;
        }
    }

    /// Writes number `i` in the first empty slot of `p`'s probe; false if it does not
    /// fit the table.
    fn put(&mut self, p: Probe, i: u32) -> bool {
        let numbers = self.number_mask();
        let Some(n) = i.checked_add(1).filter(|n| n & !numbers == 0) else {
            return false;
        };
        let tag = (p.0 >> 32) as u32 & !numbers;
        let mask = self.slots.len().saturating_sub(1);
        let mut at = p.0 as usize & mask;
        for _ in 0..self.slots.len() {
            match self.slots.get_mut(at) {
                Some(s) if *s == 0 => {
                    *s = tag | n;
                    return true;
                }
                _ => at = (at + 1) & mask,
            }
        }
        false
    }

    /// Doubles the table and puts every number back, hashing its user's id again.
    fn grow(&mut self, users: &Users) {
        let old = std::mem::take(&mut self.slots);
        let numbers = u32::try_from(old.len().saturating_sub(1)).unwrap_or(u32::MAX);
        self.slots = vec![0; (old.len() * 2).max(MIN_SLOTS)];
        self.len = 0;
        for s in old.into_iter().filter(|&s| s != 0) {
            let i = (s & numbers).wrapping_sub(1);
            if let Some(u) = users.record(i as usize) {
                let p = self.probe(&u.id);
                if self.put(p, i) {
                    self.len += 1;
                }
            }
        }
    }

    /// How many ids it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for UserIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserIndex({} users)", self.len)
    }
}

/// Two indexes are equal when they index the same number of users: an index is derived
/// from its users list, which the state compares on its own.
impl PartialEq for UserIndex {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::attrs::AttrsRef;
    use crate::state::{Standing, User};
    use proptest::prelude::*;
    use smol_str::SmolStr;

    fn users(ids: &[String]) -> (Users, UserIndex) {
        let mut users = Users::default();
        let mut index = UserIndex::default();
        for (i, id) in ids.iter().enumerate() {
            users.push(
                User::new(SmolStr::new(id), Standing::Eligible),
                AttrsRef::new(&[]),
            );
            index.insert(&users, id, u32::try_from(i).unwrap_or(u32::MAX));
        }
        (users, index)
    }

    #[test]
    fn finds_every_user_through_growth_and_no_one_else() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("u{i}")).collect();
        let (users, index) = users(&ids);
        assert_eq!(index.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(&users, id), Some(i as u32), "{id}");
        }
        assert_eq!(index.get(&users, "nobody"), None);
        assert_eq!(index.get(&users, ""), None);
        // At most three quarters full.
        assert!(index.slots.len() * 3 >= index.len() * 4);
    }

    #[test]
    fn the_stages_agree_with_a_plain_lookup() {
        let ids: Vec<String> = (0..3000).map(|i| format!("id-{i}")).collect();
        let (users, index) = users(&ids);
        for id in ids.iter().map(String::as_str).chain(["x", "id-3000"]) {
            let p = index.probe(id);
            let found = index.find(&users, id, p);
            assert_eq!(found, index.get(&users, id));
            // The first candidate is the user found, unless another id's tag matched
            // first (rare); when found, it is always among the candidates.
            if let Some(n) = found {
                assert!(index.candidate(p).is_some());
                assert_eq!(users.record(n as usize).map(|u| u.id.as_str()), Some(id));
            }
        }
    }

    #[test]
    fn an_empty_index_finds_no_one() {
        let index = UserIndex::default();
        let users = Users::default();
        let p = index.probe("u1");
        assert_eq!(index.first_slot(p), 0);
        assert_eq!(index.candidate(p), None);
        assert_eq!(index.get(&users, "u1"), None);
    }

    proptest! {
        /// Any set of ids, short or long, finds each at its number.
        #[test]
        fn any_ids_are_found(ids in prop::collection::hash_set(".{0,30}", 0..300)) {
            let ids: Vec<String> = ids.into_iter().collect();
            let (users, index) = users(&ids);
            for (i, id) in ids.iter().enumerate() {
                prop_assert_eq!(index.get(&users, id), Some(i as u32));
            }
        }
    }
}
