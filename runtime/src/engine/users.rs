//! Every user the campaign knows, and the index from their ids.
//!
//! Users live in fixed-size chunks rather than one vector: a million users never need
//! a reallocation that holds the old list and the new one at once (half again the
//! list's size, at the moment memory is highest), and no capacity goes unused but in
//! the last chunk.

use super::state::User;
use hashbrown::{DefaultHashBuilder, HashTable};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::BuildHasher;

/// Users per chunk (a power of two, so a user's chunk is a shift away).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Users in the order they became known; a user's number is their position.
#[derive(Clone, Default, PartialEq)]
pub struct Users {
    chunks: Vec<Vec<User>>,
    len: usize,
}

impl Users {
    /// How many there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// User number `i`.
    pub fn get(&self, i: usize) -> Option<&User> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    /// User number `i`, to change.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut User> {
        self.chunks
            .get_mut(i >> CHUNK_BITS)?
            .get_mut(i & (CHUNK - 1))
    }

    /// Adds a user at the end.
    pub fn push(&mut self, user: User) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(user),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(user);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Every user, in order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.chunks.iter().flatten()
    }
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Snapshots hold one flat list.
impl Serialize for Users {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut users = Users::default();
        for u in Vec::<User>::deserialize(d)? {
            users.push(u);
        }
        Ok(users)
    }
}

/// User ids to user numbers: a hash table of 4-byte numbers, hashed and compared by the
/// id each points at in the users list, so ids are not stored twice.
#[derive(Clone, Default)]
pub struct UserIndex {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl UserIndex {
    fn id_of(users: &Users, i: u32) -> &str {
        users.get(i as usize).map_or("", |u| &u.id)
    }

    /// The number of the user with `id`.
    pub fn get(&self, users: &Users, id: &str) -> Option<u32> {
        let h = self.hasher.hash_one(id);
        self.table
            .find(h, |&i| Self::id_of(users, i) == id)
            .copied()
    }

    /// Adds `id` as user number `i`.
    pub fn insert(&mut self, users: &Users, id: &str, i: u32) {
        let h = self.hasher.hash_one(id);
        let hasher = &self.hasher;
        self.table
            .insert_unique(h, i, |&j| hasher.hash_one(Self::id_of(users, j)));
    }

    /// How many ids it holds.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

impl std::fmt::Debug for UserIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserIndex({} users)", self.table.len())
    }
}

/// Two indexes are equal when they index the same number of users: an index is derived
/// from its users list, which the state compares on its own.
impl PartialEq for UserIndex {
    fn eq(&self, other: &Self) -> bool {
        self.table.len() == other.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::attrs::Attrs;
    use crate::engine::state::Standing;
    use smol_str::SmolStr;

    #[test]
    fn users_span_chunks_and_read_back_in_order() {
        let mut users = Users::default();
        let mut index = UserIndex::default();
        let n = CHUNK * 2 + 5;
        for i in 0..n {
            let id = format!("u{i}");
            users.push(User::new(
                SmolStr::new(&id),
                &Attrs::default(),
                Standing::Eligible,
            ));
            index.insert(&users, &id, u32::try_from(i).unwrap_or(u32::MAX));
        }
        assert_eq!(users.len(), n);
        assert_eq!(
            users.get(CHUNK).map(|u| u.id.as_str()),
            Some(format!("u{CHUNK}").as_str())
        );
        assert!(users.get(n).is_none());
        assert_eq!(index.get(&users, "u4100"), Some(4100));
        assert_eq!(index.get(&users, "nobody"), None);
        assert_eq!(users.iter().count(), n);
        let json = serde_json::to_string(&users).unwrap_or_default();
        let back: Users = serde_json::from_str(&json).unwrap_or_default();
        assert!(back == users);
    }
}
