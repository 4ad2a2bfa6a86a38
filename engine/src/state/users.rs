//! Every user the campaign knows, and the index from their ids.
//!
//! Users live in fixed-size chunks rather than one vector: a million users never need
//! a reallocation that holds the old list and the new one at once (half again the
//! list's size, at the moment memory is highest), and no capacity goes unused but in
//! the last chunk.
//!
//! Each chunk also keeps its users' packed blocks ([`crate::state::packed`]) in one byte
//! arena. A block that grows and is not last in the arena moves to the end, leaving a
//! hole; when holes pass a sixteenth of the arena (`HOLES`), the chunk is compacted
//! in place. The chunk logs which user's block it placed where, in arena order, so
//! compaction walks the blocks in that order without sorting them. A general-purpose
//! allocator would keep each block in
//! a size class: blocks that grow an event at a time climb through the classes and
//! leave pages of every class partly used, which cost a third more memory than the
//! blocks themselves.
//!
//! A chunk also keeps each user's variant of every experiment (§11), one byte each
//! (the variant's index plus one, zero for none), side by side: a campaign without
//! experiments keeps none.

use crate::invariant::guaranteed;
use crate::state::attrs::AttrsRef;
use crate::state::packed::{Bytes, Packed, Write};
use crate::state::{Score, User, UserWire};
use camp_plan::LeaderboardId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::Deref;

/// Users per chunk (a power of two, so a user's chunk is a shift away).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Bytes of arena a chunk starts with, per user. Capacity not yet written costs
/// address space, not memory; a chunk that starts with room for its users' blocks
/// never reallocates, and a reallocation frees the old arena, which the allocator
/// holds for a while before giving it back (all chunks grow at the same pace, so they
/// would free theirs at about the same time).
const ARENA_PER_USER: usize = 256;

/// Where a user's packed block is in their chunk's arena.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    at: u32,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.at as usize..self.at as usize + self.len as usize
    }
}

/// One chunk: up to [`CHUNK`] users and their packed blocks.
#[derive(Clone, Default)]
struct Chunk {
    users: Vec<User>,
    arena: Arena,
    /// Each user's variants, [`Users::experiments`] bytes a user, in user order.
    variants: Vec<u8>,
}

/// Holes are closed once they are this fraction of the arena (one over it): closing
/// them sooner copies more, later holds more memory at the peak.
const HOLES: usize = 16;

/// A user's place in their chunk (below [`CHUNK`], so two bytes hold it).
type Slot = u16;

/// Packed blocks, end to end, with the bytes no block uses any more.
#[derive(Clone, Default)]
struct Arena {
    bytes: Vec<u8>,
    holes: usize,
    /// Whose block was placed where, in arena order: a user's last entry is their
    /// block now, earlier ones are blocks since moved (holes).
    placed: Vec<Slot>,
    /// How many times the holes were closed (tests check their generators reach it).
    #[cfg(test)]
    tidied: usize,
}

impl Arena {
    fn block(&self, span: Span) -> &[u8] {
        self.bytes.get(span.range()).unwrap_or(&[])
    }

    /// Makes room for `n` more bytes, doubling when it grows (see [`ARENA_PER_USER`]).
    fn reserve(&mut self, n: usize) {
        self.bytes.reserve(n);
    }

    /// Logs that `slot`'s block now ends the arena. The log grows by an eighth at a
    /// time: compaction keeps it near one entry per user.
    fn place(&mut self, slot: Slot) {
        if self.placed.len() == self.placed.capacity() {
            self.placed.reserve_exact(self.placed.len() / 8 + 64);
        }
        self.placed.push(slot);
    }
}

impl Chunk {
    /// Closes the holes once they are a sixteenth of the arena: slides every block down
    /// over the holes before it, in arena order, within the same allocation (a new
    /// arena each time would free and take hundreds of kilobytes per compaction, which
    /// the allocator keeps for a while: a fifth more memory at the peak). The order is
    /// the placement log's, each user's last entry.
    fn tidy(&mut self) {
        let arena = &mut self.arena;
        if arena.holes == 0 || arena.holes < arena.bytes.len() / HOLES {
            return;
        }
        // Keep each user's last entry, in order: walk back, and fill from the back.
        let mut seen = [0u64; CHUNK / 64];
        let placed = &mut arena.placed;
        let mut kept = placed.len();
        for r in (0..placed.len()).rev() {
            guaranteed!(let Some(&slot) = placed.get(r), "the placement log is read within its length" else continue);
            guaranteed!(let Some(word) = seen.get_mut(usize::from(slot) / 64), "a slot has its bit in the chunk's map" else continue);
            let bit = 1u64 << (slot % 64);
            if *word & bit != 0 {
                continue;
            }
            *word |= bit;
            kept -= 1;
            if let Some(x) = placed.get_mut(kept) {
                *x = slot;
            }
        }
        placed.drain(..kept);
        // Read every span first, then move: the reads of records scattered over the
        // chunk do not wait on each other, nor on the copies.
        let spans: Vec<Span> = placed
            .iter()
            .map(|&slot| {
                self.users
                    .get(usize::from(slot))
                    .map_or(Span::default(), |u| u.span)
            })
            .collect();
        let mut to = 0usize;
        for (&slot, span) in placed.iter().zip(spans) {
            let from = span.range();
            if from.start != to && from.end <= arena.bytes.len() {
                arena.bytes.copy_within(from, to);
            }
            if let Some(u) = self.users.get_mut(usize::from(slot)) {
                u.span.at = u32::try_from(to).unwrap_or(u32::MAX);
            }
            to += span.len as usize;
        }
        arena.bytes.truncate(to);
        arena.holes = 0;
        #[cfg(test)]
        {
            arena.tidied += 1;
        }
    }
}

/// A user and their packed block, to read.
#[derive(Clone, Copy)]
pub struct UserRef<'a> {
    user: &'a User,
    /// Their attributes and lists.
    pub packed: Packed<'a>,
    /// Their variant of each experiment, a byte each (see [`Users::variant`]).
    variants: &'a [u8],
}

impl<'a> UserRef<'a> {
    /// Their variant of experiment number `experiment` (its index among the
    /// experiment's variants), if they have one.
    pub fn variant(&self, experiment: usize) -> Option<u16> {
        variant_of(self.variants.get(experiment).copied())
    }

    /// Their attributes.
    pub fn attrs(&self) -> AttrsRef<'a> {
        self.packed.attrs()
    }

    /// Their score on a leaderboard, if scored.
    pub fn score(&self, board: LeaderboardId) -> Option<Score> {
        self.packed.score(board)
    }

    /// The record alone.
    pub fn record(&self) -> &'a User {
        self.user
    }
}

impl Deref for UserRef<'_> {
    type Target = User;
    fn deref(&self) -> &User {
        self.user
    }
}

/// A user and their packed block, to change: the record through `*`, the block through
/// [`Write`].
pub struct UserMut<'a> {
    user: &'a mut User,
    slot: Slot,
    arena: &'a mut Arena,
}

impl UserMut<'_> {
    /// Records that the user sent an event of type `kind`; true the first time.
    pub fn first_of_type(&mut self, kind: u32) -> bool {
        if kind < 64 {
            let bit = 1u64 << kind;
            let first = self.user.sent & bit == 0;
            self.user.sent |= bit;
            first
        } else {
            self.first_type(kind)
        }
    }
}

impl Deref for UserMut<'_> {
    type Target = User;
    fn deref(&self) -> &User {
        self.user
    }
}

impl std::ops::DerefMut for UserMut<'_> {
    fn deref_mut(&mut self) -> &mut User {
        self.user
    }
}

impl Bytes for UserMut<'_> {
    fn bytes(&self) -> &[u8] {
        self.arena.block(self.user.span)
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.arena
            .bytes
            .get_mut(self.user.span.range())
            .unwrap_or(&mut [])
    }

    /// In place when the block is last in the arena or does not grow; otherwise the
    /// block moves to the end and its old bytes become a hole.
    fn splice(&mut self, at: usize, remove: usize, insert: &[u8]) {
        let span = self.user.span;
        let old = span.range();
        let arena = &mut *self.arena;
        let at = at.min(old.len());
        let remove = remove.min(old.len() - at);
        let new_len = old.len() - remove + insert.len();
        guaranteed!(let Ok(len) = u32::try_from(new_len), "a chunk's arena stays under 4 GiB (about 1 MiB a user)" else return);
        let fits = |end: usize| u32::try_from(end).is_ok();
        if old.end == arena.bytes.len() {
            // Last in the arena: change it where it is; the arena's end moves.
            if !fits(old.start + new_len) {
                return;
            }
            arena.reserve(new_len.saturating_sub(old.len()));
            let start = old.start + at;
            let (from, to) = (start + remove, start + insert.len());
            let end = arena.bytes.len();
            if to > from {
                arena.bytes.resize(end + (to - from), 0);
            }
            arena.bytes.copy_within(from..end, to);
            arena.bytes.truncate(end + to - from);
            if let Some(x) = arena.bytes.get_mut(start..to) {
                x.copy_from_slice(insert);
            }
            if old.is_empty() && new_len > 0 {
                arena.place(self.slot);
            }
            self.user.span.len = len;
            return;
        }
        if new_len <= old.len() {
            // Shrinks: in place, the freed end becomes a hole.
            let to = old.start + at;
            arena
                .bytes
                .copy_within(to + remove..old.end, to + insert.len());
            if let Some(x) = arena.bytes.get_mut(to..to + insert.len()) {
                x.copy_from_slice(insert);
            }
            arena.holes += old.len() - new_len;
            self.user.span.len = len;
            return;
        }
        if !fits(arena.bytes.len() + new_len) {
            return;
        }
        arena.reserve(new_len);
        guaranteed!(let Ok(start) = u32::try_from(arena.bytes.len()), "a chunk's arena stays under 4 GiB (about 1 MiB a user)" else return);
        arena.bytes.extend_from_within(old.start..old.start + at);
        arena.bytes.extend_from_slice(insert);
        arena
            .bytes
            .extend_from_within(old.start + at + remove..old.end);
        arena.holes += old.len();
        arena.place(self.slot);
        self.user.span = Span { at: start, len };
    }
}

/// A stored variant byte read back: zero is none.
fn variant_of(byte: Option<u8>) -> Option<u16> {
    byte.and_then(|b| b.checked_sub(1)).map(u16::from)
}

/// Users in the order they became known; a user's number is their position.
#[derive(Clone, Default)]
pub struct Users {
    chunks: Vec<Chunk>,
    len: usize,
    /// How many experiments the plan has: the variant bytes each user keeps.
    experiments: usize,
}

impl Users {
    /// No users yet, each to keep a variant of `experiments` experiments.
    pub fn with_experiments(experiments: usize) -> Self {
        Users {
            experiments,
            ..Users::default()
        }
    }

    /// Makes every user keep a variant of `experiments` experiments: a snapshot from
    /// before experiments keeps none.
    pub fn fit_experiments(&mut self, experiments: usize) {
        if experiments == self.experiments {
            return;
        }
        let old = self.experiments;
        for c in &mut self.chunks {
            let mut variants = vec![0u8; c.users.len() * experiments];
            let keep = old.min(experiments);
            for (i, to) in variants.chunks_mut(experiments.max(1)).enumerate() {
                if let (Some(from), Some(to)) =
                    (c.variants.get(i * old..i * old + keep), to.get_mut(..keep))
                {
                    to.copy_from_slice(from);
                }
            }
            c.variants = variants;
        }
        self.experiments = experiments;
    }

    /// User number `i`'s variant of experiment number `experiment` (its index among
    /// the experiment's variants), if they have one.
    pub fn variant(&self, i: usize, experiment: usize) -> Option<u16> {
        let at = self.variant_at(i, experiment)?;
        let chunk = self.chunks.get(i >> CHUNK_BITS)?;
        variant_of(chunk.variants.get(at).copied())
    }

    /// Gives user number `i` variant number `variant` of experiment number
    /// `experiment`. A variant past [`camp_plan::MAX_VARIANTS`] is not kept.
    pub fn set_variant(&mut self, i: usize, experiment: usize, variant: u16) {
        let Some(at) = self.variant_at(i, experiment) else {
            return;
        };
        let Ok(byte) = u8::try_from(variant.saturating_add(1)) else {
            return;
        };
        if let Some(b) = self
            .chunks
            .get_mut(i >> CHUNK_BITS)
            .and_then(|c| c.variants.get_mut(at))
        {
            *b = byte;
        }
    }

    /// Where user `i`'s byte for `experiment` is in their chunk's variants.
    fn variant_at(&self, i: usize, experiment: usize) -> Option<usize> {
        (experiment < self.experiments && i < self.len)
            .then(|| (i & (CHUNK - 1)) * self.experiments + experiment)
    }

    /// User `i`'s variant bytes within their chunk.
    fn variants_of(&self, chunk: &Chunk, slot: usize) -> std::ops::Range<usize> {
        let start = (slot * self.experiments).min(chunk.variants.len());
        start..(start + self.experiments).min(chunk.variants.len())
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// User number `i`.
    pub fn get(&self, i: usize) -> Option<UserRef<'_>> {
        let chunk = self.chunks.get(i >> CHUNK_BITS)?;
        let slot = i & (CHUNK - 1);
        let user = chunk.users.get(slot)?;
        Some(UserRef {
            user,
            packed: Packed::new(chunk.arena.block(user.span)),
            variants: chunk
                .variants
                .get(self.variants_of(chunk, slot))
                .unwrap_or(&[]),
        })
    }

    /// User number `i`'s record alone (their id, standing, balance).
    pub fn record(&self, i: usize) -> Option<&User> {
        self.chunks.get(i >> CHUNK_BITS)?.users.get(i & (CHUNK - 1))
    }

    /// User number `i`, to change.
    pub fn get_mut(&mut self, i: usize) -> Option<UserMut<'_>> {
        let chunk = self.chunks.get_mut(i >> CHUNK_BITS)?;
        chunk.tidy();
        let Chunk { users, arena, .. } = chunk;
        let slot = i & (CHUNK - 1);
        Some(UserMut {
            user: users.get_mut(slot)?,
            slot: Slot::try_from(slot).ok()?,
            arena,
        })
    }

    /// Adds a user at the end, with these packed attributes.
    pub fn push(&mut self, mut user: User, attrs: AttrsRef<'_>) {
        if self.chunks.last().is_none_or(|c| c.users.len() >= CHUNK) {
            self.chunks.push(Chunk {
                users: Vec::with_capacity(CHUNK),
                arena: Arena {
                    bytes: Vec::with_capacity(CHUNK * ARENA_PER_USER),
                    placed: Vec::with_capacity(CHUNK),
                    ..Arena::default()
                },
                variants: Vec::with_capacity(CHUNK * self.experiments),
            });
        }
        guaranteed!(let Some(chunk) = self.chunks.last_mut(), "a chunk was just made if there was none" else return);
        user.span = Span::default();
        chunk.users.push(user);
        chunk
            .variants
            .resize(chunk.variants.len() + self.experiments, 0);
        self.len += 1;
        if !attrs.bytes().is_empty() {
            if let Some(mut u) = self.get_mut(self.len - 1) {
                u.set_attrs(attrs.bytes());
            }
        }
    }

    /// Every user, in order.
    pub fn iter(&self) -> impl Iterator<Item = UserRef<'_>> {
        self.chunks.iter().flat_map(move |c| {
            c.users.iter().enumerate().map(move |(slot, user)| UserRef {
                user,
                packed: Packed::new(c.arena.block(user.span)),
                variants: c.variants.get(self.variants_of(c, slot)).unwrap_or(&[]),
            })
        })
    }
}

/// Users compare by what they hold, however their blocks lie in the arenas.
impl PartialEq for Users {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.iter().zip(other.iter()).all(|(a, b)| {
                a.record() == b.record() && a.packed == b.packed && a.variants == b.variants
            })
    }
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|u| (u.record().id.clone(), u.packed)))
            .finish()
    }
}

/// Snapshots hold one flat list, each user's lists written out.
impl Serialize for Users {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.iter()
                .map(|u| UserWire::of(u.record(), u.packed, u.variants)),
        )
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wires = Vec::<UserWire>::deserialize(d)?;
        // Only users with a variant write theirs; the engine fits the rest to its
        // plan ([`Users::fit_experiments`]).
        let experiments = wires.iter().map(|w| w.variants().len()).max().unwrap_or(0);
        let mut users = Users::with_experiments(experiments);
        for w in wires {
            let (user, attrs) = w.record();
            users.push(user, attrs.as_packed());
            let i = users.len() - 1;
            if let Some(mut u) = users.get_mut(i) {
                w.lists_into(&mut u);
            }
            for (e, &b) in w.variants().iter().enumerate() {
                if let Some(v) = variant_of(Some(b)) {
                    users.set_variant(i, e, v);
                }
            }
        }
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::attrs::Attrs;
    use crate::state::Standing;
    use camp_plan::RewardId;
    use smol_str::SmolStr;

    #[test]
    fn users_span_chunks_and_read_back_in_order() {
        let mut users = Users::default();
        let mut index = crate::state::index::UserIndex::default();
        let n = CHUNK * 2 + 5;
        for i in 0..n {
            let id = format!("u{i}");
            let attrs = Attrs::new(&[Some(camp_plan::Value::Int(i as i64))]);
            users.push(
                User::new(SmolStr::new(&id), Standing::Eligible),
                attrs.as_packed(),
            );
            index.insert(&users, &id, u32::try_from(i).unwrap_or(u32::MAX));
        }
        assert_eq!(users.len(), n);
        assert_eq!(
            users.record(CHUNK).map(|u| u.id.as_str()),
            Some(format!("u{CHUNK}").as_str())
        );
        assert!(users.get(n).is_none());
        assert_eq!(
            users.get(4100).and_then(|u| u.attrs().get(0)),
            Some(camp_plan::Value::Int(4100))
        );
        assert_eq!(index.get(&users, "u4100"), Some(4100));
        assert_eq!(index.get(&users, "nobody"), None);
        assert_eq!(users.iter().count(), n);
        let json = serde_json::to_string(&users).unwrap_or_default();
        let back: Users = serde_json::from_str(&json).unwrap_or_default();
        assert!(back == users);
    }

    #[test]
    fn blocks_that_grow_move_and_chunks_compact_without_losing_a_byte() {
        let mut users = Users::default();
        for i in 0..64 {
            users.push(
                User::new(SmolStr::new(format!("u{i}")), Standing::Eligible),
                AttrsRef::new(&[]),
            );
        }
        // Every user grows a fingerprint at a time, in turn: blocks keep moving to the
        // end, holes pile up, and the chunk compacts again and again.
        for round in 0..40u64 {
            for i in 0..64usize {
                let Some(mut u) = users.get_mut(i) else {
                    continue;
                };
                assert!(u.first_sight(round * 1000 + i as u64));
                if round == 7 {
                    u.set_attrs(&[5, 0, 0, 0][..(i % 4)]);
                }
            }
        }
        let chunk = &users.chunks[0];
        assert!(chunk.arena.holes <= chunk.arena.bytes.len() / 8 + 64 * 300);
        for i in 0..64usize {
            let u = users.get(i).unwrap();
            let seen: Vec<u64> = u.packed.seen().collect();
            let want: Vec<u64> = (0..40u64).map(|r| r * 1000 + i as u64).collect();
            assert_eq!(seen, want, "user {i}");
            assert_eq!(u.attrs().bytes().len(), i % 4);
        }
    }

    #[test]
    fn variants_take_a_byte_per_experiment_and_survive_restriding_and_snapshots() {
        let mut users = Users::with_experiments(2);
        for i in 0..CHUNK + 3 {
            users.push(
                User::new(SmolStr::new(format!("u{i}")), Standing::Eligible),
                AttrsRef::new(&[]),
            );
        }
        assert_eq!(users.chunks[0].variants.len(), CHUNK * 2);
        users.set_variant(1, 0, 0);
        users.set_variant(1, 1, 254);
        users.set_variant(CHUNK + 2, 1, 7);
        // Past one byte, out of range: not kept.
        users.set_variant(2, 0, 255);
        users.set_variant(2, 2, 1);
        users.set_variant(CHUNK + 3, 0, 1);
        assert_eq!(users.variant(1, 0), Some(0));
        assert_eq!(users.variant(1, 1), Some(254));
        assert_eq!(users.variant(2, 0), None);
        assert_eq!(users.variant(0, 0), None);
        assert_eq!(users.get(CHUNK + 2).and_then(|u| u.variant(1)), Some(7));
        let json = serde_json::to_string(&users).unwrap();
        let mut back: Users = serde_json::from_str(&json).unwrap();
        back.fit_experiments(2);
        assert!(back == users);
        // One more experiment: the old bytes stay, the new one is empty.
        back.fit_experiments(3);
        assert_eq!(back.variant(1, 1), Some(254));
        assert_eq!(back.variant(CHUNK + 2, 1), Some(7));
        assert_eq!(back.variant(CHUNK + 2, 2), None);
        // None at all: a campaign without experiments keeps no bytes.
        back.fit_experiments(0);
        assert!(back.chunks.iter().all(|c| c.variants.is_empty()));
        let none = Users::default();
        assert_eq!(none.variant(0, 0), None);
    }

    /// One change to a user's block.
    #[derive(Debug, Clone)]
    enum Op {
        /// A new user, with these attribute bytes.
        Push(Vec<u8>),
        /// Replace a user's attribute bytes.
        Attrs(usize, Vec<u8>),
        /// An event id fingerprint (48 bits are kept).
        Sight(usize, u64),
        /// One more unit of a reward.
        Hold(usize, u16),
        /// A whole state written and read back (a snapshot).
        RoundTrip,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            1 => attrs().prop_map(Op::Push),
            2 => (any::<usize>(), attrs()).prop_map(|(u, b)| Op::Attrs(u, b)),
            8 => (any::<usize>(), 0u64..400).prop_map(|(u, f)| Op::Sight(u, f)),
            3 => (any::<usize>(), 0u16..6).prop_map(|(u, r)| Op::Hold(u, r)),
            1 => Just(Op::RoundTrip),
        ]
    }

    /// Packed attributes: a few integers and texts, some missing.
    fn attrs() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let value = prop_oneof![
            Just(None),
            any::<i64>().prop_map(|n| Some(camp_plan::Value::Int(n))),
            "[a-z]{0,20}".prop_map(|s| Some(camp_plan::Value::String(s))),
        ];
        prop::collection::vec(value, 0..5).prop_map(|v| Attrs::new(&v).as_packed().bytes().to_vec())
    }

    /// What a user's block should hold.
    #[derive(Debug, Clone, Default)]
    struct Model {
        attrs: Vec<u8>,
        seen: std::collections::BTreeSet<u64>,
        held: std::collections::BTreeMap<u16, u64>,
    }

    /// Runs `ops` on users and on the model.
    fn apply(ops: Vec<Op>) -> (Users, Vec<Model>) {
        let mut users = Users::default();
        let mut model: Vec<Model> = Vec::new();
        for op in ops {
            match op {
                Op::Push(attrs) => {
                    let id = SmolStr::new(format!("u{}", model.len()));
                    users.push(User::new(id, Standing::Eligible), AttrsRef::new(&attrs));
                    model.push(Model {
                        attrs,
                        ..Model::default()
                    });
                }
                Op::RoundTrip => {
                    let json = serde_json::to_string(&users).unwrap();
                    users = serde_json::from_str(&json).unwrap();
                }
                Op::Attrs(..) | Op::Sight(..) | Op::Hold(..) if model.is_empty() => {}
                Op::Attrs(u, b) => {
                    let u = u % model.len();
                    users.get_mut(u).unwrap().set_attrs(&b);
                    model[u].attrs = b;
                }
                Op::Sight(u, fp) => {
                    let u = u % model.len();
                    let first = users.get_mut(u).unwrap().first_sight(fp);
                    assert_eq!(first, model[u].seen.insert(fp), "first sight of {fp}");
                }
                Op::Hold(u, r) => {
                    let u = u % model.len();
                    users.get_mut(u).unwrap().hold(RewardId(u32::from(r)));
                    *model[u].held.entry(r).or_default() += 1;
                }
            }
        }
        (users, model)
    }

    proptest::proptest! {
        /// Arenas, the placement log and compaction against a model: whatever blocks
        /// grow, move and are compacted, every user reads back exactly what was written.
        #[test]
        fn blocks_read_back_what_a_model_holds(ops in proptest::collection::vec(op(), 1..400)) {
            let (users, model) = apply(ops);
            proptest::prop_assert_eq!(users.len(), model.len());
            for (i, m) in model.iter().enumerate() {
                let u = users.get(i).unwrap();
                proptest::prop_assert_eq!(u.attrs().bytes(), &m.attrs[..]);
                proptest::prop_assert_eq!(u.packed.seen().collect::<Vec<_>>(), m.seen.iter().copied().collect::<Vec<_>>());
                for r in 0..6u16 {
                    proptest::prop_assert_eq!(u.packed.held(RewardId(u32::from(r))), m.held.get(&r).copied().unwrap_or(0));
                }
            }
        }
    }

    /// The model test's generator reaches compaction in most cases.
    #[test]
    fn the_model_generator_reaches_compaction() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = proptest::collection::vec(op(), 1..400);
        let cases = 200;
        let tidied = (0..cases)
            .filter(|_| {
                let (users, _) = apply(strategy.new_tree(&mut runner).unwrap().current());
                users.chunks.iter().any(|c| c.arena.tidied > 0)
            })
            .count();
        assert!(
            tidied * 2 > cases,
            "compaction in {tidied} of {cases} cases"
        );
    }
}
