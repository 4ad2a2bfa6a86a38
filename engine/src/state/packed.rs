//! What varies in size from user to user, in one allocation: attributes, task progress,
//! rewards held, leaderboard scores, goals reached, event types past the 64th, and the
//! fingerprints of accepted event ids. A million participants with seven small lists
//! each would be seven million allocations, each with its own header, rounding and
//! cache miss; packed, an event touches one block, and a user who only has attributes
//! costs their length and a header.
//!
//! Layout: a 14-byte header (the attributes' length, then how many entries each list
//! has), then the attributes, then each list's entries at a fixed width, the seen
//! fingerprints last. Every read is checked: bytes this module did not write read as
//! empty lists, never as a panic.
//!
//! The seen fingerprints are a sorted list while a user has few (they grow by
//! `SEEN_ROOM` at a time, the room not yet used filled with `UNUSED`, so a block grows,
//! and may move, see [`crate::state::users`], once every few events). Past
//! `SEEN_SORTED_MAX` they become a hash table (open addressing, its count first, at most
//! three quarters full, doubled when it would be more): finding and adding one costs
//! the same whatever a user's history, where a sorted list's insert moves half of it.

use crate::invariant::guaranteed;
use crate::state::attrs::AttrsRef;
use crate::state::{Progress, Score};
use camp_plan::calendar::Day;
use camp_plan::{LeaderboardId, RewardId, TaskId};
use rust_decimal::Decimal;
use std::ops::Range;

/// Header: attributes' length (u32), then the entries of tasks, held, scores, goals,
/// types and counters (u16 each). Entries name the plan's ids in two bytes.
const HEADER: usize = 16;
/// Widths of one entry.
const TASK: usize = 20;
const HELD: usize = 6;
const SCORE: usize = 26;
const WORD: usize = 2;
const COUNTER: usize = 12;
const SEEN: usize = 6;

/// Counter: points taken out of the balance but not out of `earned` (used or given
/// away, less points received as gifts): `earned` is the balance plus this.
pub const POINTS_SPENT: u32 = 0;
/// Counter: the enrollment instant (seconds since the epoch), kept only when the plan
/// reads `participant.enrolled_at`.
pub const ENROLLED_AT: u32 = 1;

/// Counter: units of `reward` used or given away. What a participant *received* (grants
/// and gifts, less revokes) is what they hold plus this; `per_user` counts that.
pub fn units_out(reward: RewardId) -> u32 {
    reward.0.saturating_add(2)
}

/// Counter: the first counted completion of `task` (seconds since the epoch), kept only
/// when a task's `within` counts from it. Above every [`units_out`] key.
pub fn first_done(task: TaskId) -> u32 {
    task.0 | (1 << 31)
}

/// Seen fingerprints a block makes room for at a time.
const SEEN_ROOM: usize = 4;
/// A user's seen fingerprints are a sorted list up to this many, then a table.
const SEEN_SORTED_MAX: usize = 64;
/// The smallest table's slots (a power of two, twice the list it replaces). Its region
/// has one entry more, the count, so its length (`slots + 1` entries) never is a
/// list's (a multiple of `SEEN_ROOM`).
const SEEN_TABLE_MIN: usize = 128;
/// A seen entry not used yet: above every fingerprint (a fingerprint that would be
/// this is taken one lower), so the used entries stay sorted before it.
const UNUSED: u64 = (1 << FINGERPRINT_BITS) - 1;

/// The most entries one list holds: a user's lists are bounded by the plan's tasks,
/// rewards, leaderboards, goals and event types, which [`crate::Engine::new`] checks.
pub const MAX_ENTRIES: usize = u16::MAX as usize;

/// Fingerprints keep this many bits (see [`Write::first_sight`]).
pub const FINGERPRINT_BITS: u32 = 48;

/// The lists, by their position in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    /// Task progress.
    Tasks = 0,
    /// Rewards held.
    Held = 1,
    /// Leaderboard scores.
    Scores = 2,
    /// Goals reached.
    Goals = 3,
    /// Event types past the 64th.
    Types = 4,
    /// Counters a rule needs only for some campaigns (see [`POINTS_SPENT`]): absent,
    /// they are zero, so a campaign that never uses them pays nothing.
    Counters = 5,
}

impl List {
    const ALL: [List; 6] = [
        List::Tasks,
        List::Held,
        List::Scores,
        List::Goals,
        List::Types,
        List::Counters,
    ];

    /// The width of one entry.
    fn width(self) -> usize {
        match self {
            List::Tasks => TASK,
            List::Held => HELD,
            List::Scores => SCORE,
            List::Goals | List::Types => WORD,
            List::Counters => COUNTER,
        }
    }
}

/// One user's attributes and lists, packed, to read.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Packed<'a>(&'a [u8]);

/// Where a user's packed block is kept: it hands out the bytes and replaces a run of
/// them (moving the block when it grows, if it must). [`Write`] does the rest.
pub trait Bytes {
    /// The block.
    fn bytes(&self) -> &[u8];
    /// The block, to change in place.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Replaces `remove` bytes at `at` with `insert`.
    fn splice(&mut self, at: usize, remove: usize, insert: &[u8]);
}

/// A plain vector as a block (tests, and anything packed outside the users).
impl Bytes for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    fn splice(&mut self, at: usize, remove: usize, insert: &[u8]) {
        let at = at.min(self.len());
        let end = (at + remove).min(self.len());
        Vec::splice(self, at..end, insert.iter().copied());
    }
}

fn u16_at(b: &[u8], at: usize) -> usize {
    b.get(at..at + 2)
        .and_then(|x| x.try_into().ok())
        .map_or(0, |x| usize::from(u16::from_le_bytes(x)))
}

/// An id of the plan (a task, reward, leaderboard, goal or event type) in two bytes:
/// [`crate::Engine::new`] refuses plans with more of any than [`MAX_ENTRIES`].
fn id_bytes(id: u32) -> [u8; 2] {
    u16::try_from(id).unwrap_or(u16::MAX).to_le_bytes()
}

fn id_at(b: &[u8], at: usize) -> u32 {
    u16_at(b, at) as u32
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|x| x.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|x| x.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn progress(b: &[u8]) -> Progress {
    Progress {
        task: TaskId(id_at(b, 0)),
        count: u32_at(b, 2),
        day: u32_at(b, 6) as Day,
        today: u32_at(b, 10),
        streak: u32_at(b, 14),
        best_streak: b
            .get(18..20)
            .and_then(|x| x.try_into().ok())
            .map_or(0, u16::from_le_bytes),
    }
}

fn progress_bytes(p: &Progress) -> [u8; TASK] {
    let mut b = [0u8; TASK];
    b[0..2].copy_from_slice(&id_bytes(p.task.0));
    b[2..6].copy_from_slice(&p.count.to_le_bytes());
    b[6..10].copy_from_slice(&p.day.to_le_bytes());
    b[10..14].copy_from_slice(&p.today.to_le_bytes());
    b[14..18].copy_from_slice(&p.streak.to_le_bytes());
    b[18..20].copy_from_slice(&p.best_streak.to_le_bytes());
    b
}

fn score(b: &[u8]) -> Score {
    let mut d = [0u8; 16];
    if let Some(x) = b.get(2..18) {
        d.copy_from_slice(x);
    }
    Score {
        board: LeaderboardId(id_at(b, 0)),
        score: Decimal::deserialize(d),
        seq: u64_at(b, 18),
    }
}

fn score_bytes(s: &Score) -> [u8; SCORE] {
    let mut b = [0u8; SCORE];
    b[0..2].copy_from_slice(&id_bytes(s.board.0));
    b[2..18].copy_from_slice(&s.score.serialize());
    b[18..26].copy_from_slice(&s.seq.to_le_bytes());
    b
}

fn held_bytes(reward: RewardId, n: u32) -> [u8; HELD] {
    let mut b = [0u8; HELD];
    b[0..2].copy_from_slice(&id_bytes(reward.0));
    b[2..6].copy_from_slice(&n.to_le_bytes());
    b
}

/// A fingerprint's 48 bits, most significant first, so byte order is number order.
fn seen_bytes(fp: u64) -> [u8; SEEN] {
    let be = fp.to_be_bytes();
    let mut b = [0u8; SEEN];
    b.copy_from_slice(&be[8 - SEEN..]);
    b
}

fn seen_value(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x))
}

impl<'a> Packed<'a> {
    /// Reads a block (bytes this module did not write read as empty lists).
    pub fn new(bytes: &'a [u8]) -> Self {
        Packed(bytes)
    }

    fn bytes(&self, r: Range<usize>) -> &'a [u8] {
        self.0.get(r).unwrap_or(&[])
    }

    fn attrs_len(&self) -> usize {
        u32_at(self.0, 0) as usize
    }

    fn count(&self, list: List) -> usize {
        u16_at(self.0, 4 + 2 * list as usize)
    }

    /// Where a list's entries are.
    fn range(&self, list: List) -> Range<usize> {
        let mut start = HEADER + self.attrs_len();
        for l in List::ALL {
            let len = self.count(l) * l.width();
            if l == list {
                return start..start + len;
            }
            start += len;
        }
        start..start
    }

    /// Where the seen fingerprints are, with the room not used yet: everything after
    /// the lists.
    fn seen_range(&self) -> Range<usize> {
        let r = self.range(List::Counters);
        r.end..self.0.len().max(r.end)
    }

    fn entries(&self, list: List) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.bytes(self.range(list)).chunks_exact(list.width())
    }

    /// The attributes.
    pub fn attrs(&self) -> AttrsRef<'a> {
        AttrsRef::new(self.bytes(HEADER..HEADER + self.attrs_len()))
    }

    /// Progress in every task touched, in the order first touched.
    pub fn tasks(&self) -> impl Iterator<Item = Progress> + use<'a> {
        self.entries(List::Tasks).map(progress)
    }

    /// Progress in one task, with its position, if touched.
    pub fn task(&self, task: TaskId) -> Option<(usize, Progress)> {
        self.tasks().enumerate().find(|(_, p)| p.task == task)
    }

    /// What `per_user` counts of `reward`: units received (grants, a draw's winnings,
    /// gifts received) less those revoked. Using or giving units away does not free
    /// room under `per_user`: a limit of one coupon a person stays one coupon a person
    /// however often it is passed on.
    pub fn received(&self, reward: RewardId) -> u64 {
        let out = u64::try_from(self.counter(units_out(reward)).max(0)).unwrap_or(0);
        self.held(reward).saturating_add(out)
    }

    /// How many of `reward` they hold now (received, less used, given away, revoked).
    pub fn held(&self, reward: RewardId) -> u64 {
        self.holdings()
            .find(|(r, _)| *r == reward)
            .map_or(0, |(_, n)| n)
    }

    /// Every reward held, with how many, in the order first granted.
    pub fn holdings(&self) -> impl Iterator<Item = (RewardId, u64)> + use<'a> {
        self.entries(List::Held)
            .map(|b| (RewardId(id_at(b, 0)), u64::from(u32_at(b, 2))))
    }

    /// Leaderboard scores.
    pub fn scores(&self) -> impl Iterator<Item = Score> + use<'a> {
        self.entries(List::Scores).map(score)
    }

    /// The score on one leaderboard, if scored.
    pub fn score(&self, board: LeaderboardId) -> Option<Score> {
        self.scores().find(|s| s.board == board)
    }

    /// Goals reached, by their index among all goals.
    pub fn goals(&self) -> impl Iterator<Item = u32> + use<'a> {
        self.entries(List::Goals).map(|b| id_at(b, 0))
    }

    /// A counter's value (zero when never set).
    pub fn counter(&self, key: u32) -> i64 {
        self.counters()
            .find(|(k, _)| *k == key)
            .map_or(0, |(_, v)| v)
    }

    /// Every counter set, in the order first set.
    pub fn counters(&self) -> impl Iterator<Item = (u32, i64)> + use<'a> {
        self.entries(List::Counters)
            .map(|b| (u32_at(b, 0), i64::from_le_bytes(u64_at(b, 4).to_le_bytes())))
    }

    /// Event types from the 64th up that they sent.
    pub fn types(&self) -> impl Iterator<Item = u32> + use<'a> {
        self.entries(List::Types).map(|b| id_at(b, 0))
    }

    /// Fingerprints of accepted event ids, in ascending order.
    pub fn seen(&self) -> std::vec::IntoIter<u64> {
        let region = self.bytes(self.seen_range());
        match seen_table(region) {
            Some((_, slots)) => {
                let mut all: Vec<u64> = slots
                    .chunks_exact(SEEN)
                    .map(seen_value)
                    .filter(|&v| v != UNUSED)
                    .collect();
                all.sort_unstable();
                all.into_iter()
            }
            None => region
                .chunks_exact(SEEN)
                .map(seen_value)
                .take_while(|&v| v != UNUSED)
                .collect::<Vec<_>>()
                .into_iter(),
        }
    }

    /// How many 64-byte lines the block spans, at most (see [`Packed::line`]).
    pub fn lines(&self) -> usize {
        self.0.len().div_ceil(64) + 1
    }

    /// A byte of the block's `i`th 64-byte line (the last line: its last byte, so the
    /// block's end is read wherever it falls), 0 past its end: reading one brings the
    /// line into cache before an event needs it (see [`crate::Engine::warm`]).
    pub fn line(&self, i: usize) -> u8 {
        match self.0.get(i * 64) {
            Some(&b) => b,
            None if i * 64 < self.0.len() + 64 => self.0.last().copied().unwrap_or(0),
            None => 0,
        }
    }

    /// Whether an event with this id fingerprint was accepted before.
    pub(crate) fn has_seen(&self, fingerprint: u64) -> bool {
        let fp = stored(fingerprint);
        match seen_table(self.bytes(self.seen_range())) {
            Some((_, slots)) => probe(slots, fp).is_ok(),
            None => self.find_seen(fp).is_ok(),
        }
    }

    /// Where `fp` is among the seen fingerprints (and before the room not used, which
    /// compares above any): `Ok` if there, else where it goes.
    fn find_seen(&self, fp: u64) -> Result<usize, usize> {
        let seen = self.bytes(self.seen_range());
        let (mut lo, mut hi) = (0usize, seen.len() / SEEN);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let v = seen_value(seen.get(mid * SEEN..(mid + 1) * SEEN).unwrap_or(&[]));
            match v.cmp(&fp) {
                std::cmp::Ordering::Equal => return Ok(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Err(lo)
    }
}

/// A table's count and slots, if the seen region is a table.
fn seen_table(region: &[u8]) -> Option<(u64, &[u8])> {
    let entries = region.len() / SEEN;
    let slots = entries.checked_sub(1)?;
    if slots < SEEN_TABLE_MIN || !slots.is_power_of_two() || !region.len().is_multiple_of(SEEN) {
        return None;
    }
    let (count, slots) = region.split_at_checked(SEEN)?;
    Some((seen_value(count), slots))
}

/// Where `fp` is in a table's slots (`Ok`), or the free slot it would take (`Err`).
/// Fingerprints are hashes under the campaign's secret seed, so their low bits spread
/// evenly and a client cannot aim ids at one slot.
fn probe(slots: &[u8], fp: u64) -> Result<usize, usize> {
    let n = slots.len() / SEEN;
    if n == 0 {
        return Err(0);
    }
    let mask = n - 1;
    let mut i = (fp as usize) & mask;
    // A table is at most three quarters full: a free slot is always found.
    for _ in 0..n {
        let v = seen_value(slots.get(i * SEEN..(i + 1) * SEEN).unwrap_or(&[]));
        if v == fp {
            return Ok(i);
        }
        if v == UNUSED {
            return Err(i);
        }
        i = (i + 1) & mask;
    }
    Err(n)
}

/// A table region holding `fps`, with `slots` slots (a power of two).
fn table_region(fps: &[u64], slots: usize) -> Vec<u8> {
    let mut region = vec![0xffu8; (slots + 1) * SEEN];
    if let Some(count) = region.get_mut(..SEEN) {
        count.copy_from_slice(&seen_bytes(fps.len() as u64));
    }
    if let Some(table) = region.get_mut(SEEN..) {
        for &fp in fps {
            if let Err(i) = probe(table, fp) {
                if let Some(slot) = table.get_mut(i * SEEN..(i + 1) * SEEN) {
                    slot.copy_from_slice(&seen_bytes(fp));
                }
            }
        }
    }
    region
}

/// The 48 bits of a fingerprint that are kept (the all-ones value marks unused room, so
/// an id that hashes to it is taken one lower).
fn stored(fingerprint: u64) -> u64 {
    (fingerprint & UNUSED).min(UNUSED - 1)
}

/// Gives an empty block its header.
fn ensure_header<B: Bytes + ?Sized>(b: &mut B) {
    let len = b.bytes().len();
    if len < HEADER {
        b.splice(0, len, &[0u8; HEADER]);
    }
}

/// Sets how many entries a list has.
fn set_count<B: Bytes + ?Sized>(b: &mut B, list: List, n: usize) {
    let at = 4 + 2 * list as usize;
    let n = u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes();
    if let Some(x) = b.bytes_mut().get_mut(at..at + 2) {
        x.copy_from_slice(&n);
    }
}

/// Adds an entry at the end of a list; false (and nothing changes) when the list is
/// full.
fn push<B: Bytes + ?Sized>(b: &mut B, list: List, entry: &[u8]) -> bool {
    ensure_header(b);
    let n = Packed(b.bytes()).count(list);
    if n >= MAX_ENTRIES {
        return false;
    }
    let end = Packed(b.bytes()).range(list).end;
    b.splice(end, 0, entry);
    set_count(b, list, n + 1);
    true
}

/// Overwrites entry `i` of a list.
fn overwrite<B: Bytes + ?Sized>(b: &mut B, list: List, i: usize, entry: &[u8]) {
    let start = Packed(b.bytes()).range(list).start + i * list.width();
    if let Some(x) = b.bytes_mut().get_mut(start..start + entry.len()) {
        x.copy_from_slice(entry);
    }
}

/// Changes to a packed block, wherever it is kept.
pub trait Write: Bytes {
    /// The block as it stands.
    fn packed(&self) -> Packed<'_> {
        Packed(self.bytes())
    }

    /// Replaces the attributes with these packed ones.
    fn set_attrs(&mut self, packed: &[u8]) {
        guaranteed!(let Ok(len) = u32::try_from(packed.len()), "attributes pack into far less than 4 GiB" else return);
        ensure_header(self);
        let old = self.packed().attrs_len();
        self.splice(HEADER, old, packed);
        if let Some(x) = self.bytes_mut().get_mut(0..4) {
            x.copy_from_slice(&len.to_le_bytes());
        }
    }

    /// Sets the progress at a position [`Packed::task`] gave, or adds it when `slot` is
    /// `None`; returns its position (`None` when the list is full).
    fn set_task(&mut self, slot: Option<usize>, p: &Progress) -> Option<usize> {
        match slot {
            Some(i) => {
                overwrite(self, List::Tasks, i, &progress_bytes(p));
                Some(i)
            }
            None => {
                let i = self.packed().count(List::Tasks);
                push(self, List::Tasks, &progress_bytes(p)).then_some(i)
            }
        }
    }

    /// Counts one more of `reward`.
    fn hold(&mut self, reward: RewardId) {
        let n = self.packed().held(reward).saturating_add(1);
        self.set_held(reward, n);
    }

    /// Sets how many of `reward` they hold (snapshots restore counts this way).
    fn set_held(&mut self, reward: RewardId, n: u64) {
        let entry = held_bytes(reward, u32::try_from(n).unwrap_or(u32::MAX));
        let found = self.packed().holdings().position(|(r, _)| r == reward);
        match found {
            Some(i) => overwrite(self, List::Held, i, &entry),
            None => {
                push(self, List::Held, &entry);
            }
        }
    }

    /// Sets a counter (adding it the first time; a zero is not added).
    fn set_counter(&mut self, key: u32, value: i64) {
        let mut entry = [0u8; COUNTER];
        entry[0..4].copy_from_slice(&key.to_le_bytes());
        entry[4..12].copy_from_slice(&value.to_le_bytes());
        let found = self.packed().counters().position(|(k, _)| k == key);
        match found {
            Some(i) => overwrite(self, List::Counters, i, &entry),
            None if value == 0 => {}
            None => {
                push(self, List::Counters, &entry);
            }
        }
    }

    /// Adds `delta` to a counter.
    fn add_counter(&mut self, key: u32, delta: i64) {
        let v = self.packed().counter(key).saturating_add(delta);
        self.set_counter(key, v);
    }

    /// Sets the score on its board, adding it the first time.
    fn set_score(&mut self, s: &Score) {
        let found = self.packed().scores().position(|x| x.board == s.board);
        match found {
            Some(i) => overwrite(self, List::Scores, i, &score_bytes(s)),
            None => {
                push(self, List::Scores, &score_bytes(s));
            }
        }
    }

    /// Records a goal reached; false if it was already.
    fn reach(&mut self, goal: u32) -> bool {
        !self.packed().goals().any(|g| g == goal) && push(self, List::Goals, &id_bytes(goal))
    }

    /// Records an event type from the 64th up; true the first time.
    fn first_type(&mut self, kind: u32) -> bool {
        !self.packed().types().any(|k| k == kind) && push(self, List::Types, &id_bytes(kind))
    }

    /// Records an accepted event id's fingerprint (its low 48 bits); false if it was
    /// seen before. A user's ids are told apart by 48 bits: among a user's first
    /// thousand events, the chance that two distinct ids share one is about 2 in a
    /// billion.
    fn first_sight(&mut self, fingerprint: u64) -> bool {
        let fp = stored(fingerprint);
        let range = self.packed().seen_range();
        if let Some((count, slots)) = seen_table(self.bytes().get(range.clone()).unwrap_or(&[])) {
            let n = slots.len() / SEEN;
            let Err(free) = probe(slots, fp) else {
                return false;
            };
            let count = usize::try_from(count)
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            if count.saturating_mul(4) > n.saturating_mul(3) {
                // Doubled: every fingerprint placed again (once per doubling, so a
                // constant cost per event on average).
                let mut all: Vec<u64> = self.packed().seen().collect();
                all.push(fp);
                let region = table_region(&all, n * 2);
                self.splice(range.start, range.len(), &region);
                return true;
            }
            let at = range.start + SEEN + free * SEEN;
            if let Some(slot) = self.bytes_mut().get_mut(at..at + SEEN) {
                slot.copy_from_slice(&seen_bytes(fp));
            }
            if let Some(c) = self.bytes_mut().get_mut(range.start..range.start + SEEN) {
                c.copy_from_slice(&seen_bytes(count as u64));
            }
            return true;
        }
        let Err(i) = self.packed().find_seen(fp) else {
            return false;
        };
        let listed = self
            .bytes()
            .get(range.clone())
            .unwrap_or(&[])
            .chunks_exact(SEEN)
            .take_while(|e| seen_value(e) != UNUSED)
            .count();
        if listed >= SEEN_SORTED_MAX {
            // A full list becomes a table twice its size.
            let mut all: Vec<u64> = self.packed().seen().collect();
            all.push(fp);
            let region = table_region(&all, SEEN_TABLE_MIN);
            self.splice(range.start, range.len(), &region);
            return true;
        }
        ensure_header(self);
        let seen = self.packed().seen_range();
        let full = seen.len() < SEEN
            || self
                .bytes()
                .get(seen.end - SEEN..seen.end)
                .is_none_or(|last| seen_value(last) != UNUSED);
        if full {
            let room = [seen_bytes(UNUSED); SEEN_ROOM];
            self.splice(seen.end, 0, room.as_flattened());
        }
        // The entries from `i` to the block's end (the seen list is last) shift one
        // place into the room, dropping one unused entry; `fp` goes at `i`.
        let at = seen.start + i * SEEN;
        // Only a damaged block lacks the place (a property test feeds it any bytes).
        let Some(tail) = self.bytes_mut().get_mut(at..) else {
            return false;
        };
        let len = tail.len();
        if len < SEEN {
            return false;
        }
        tail.copy_within(..len - SEEN, SEEN);
        if let Some(x) = tail.get_mut(..SEEN) {
            x.copy_from_slice(&seen_bytes(fp));
        }
        true
    }
}

impl<T: Bytes + ?Sized> Write for T {}

impl std::fmt::Debug for Packed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packed")
            .field("attrs", &self.attrs().values())
            .field("tasks", &self.tasks().collect::<Vec<_>>())
            .field("held", &self.holdings().collect::<Vec<_>>())
            .field("scores", &self.scores().collect::<Vec<_>>())
            .field("goals", &self.goals().collect::<Vec<_>>())
            .field("types", &self.types().collect::<Vec<_>>())
            .field("counters", &self.counters().collect::<Vec<_>>())
            .field("seen", &self.seen().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(task: u32, count: u32) -> Progress {
        Progress {
            task: TaskId(task),
            count,
            day: -3,
            today: 1,
            streak: 2,
            best_streak: 7,
        }
    }

    #[test]
    fn every_list_reads_back_what_was_written() {
        let mut x: Vec<u8> = Vec::new();
        assert_eq!(x.packed().tasks().count(), 0);
        assert!(x.first_sight(9) && x.first_sight(3) && !x.first_sight(9));
        x.set_attrs(&[1, 2, 3]);
        assert_eq!(x.set_task(None, &p(4, 1)), Some(0));
        assert_eq!(x.set_task(None, &p(7, 5)), Some(1));
        x.set_task(Some(0), &p(4, 2));
        x.hold(RewardId(2));
        x.hold(RewardId(2));
        x.hold(RewardId(0));
        x.set_score(&Score {
            board: LeaderboardId(1),
            score: Decimal::new(-125, 2),
            seq: 77,
        });
        assert!(x.reach(5) && !x.reach(5));
        assert!(x.first_type(70) && !x.first_type(70));
        x.set_attrs(&[9]);
        assert!(x.first_sight(5) && !x.first_sight(3));
        assert_eq!(x.packed().attrs().bytes(), &[9]);
        assert_eq!(x.packed().task(TaskId(4)), Some((0, p(4, 2))));
        assert_eq!(x.packed().task(TaskId(7)), Some((1, p(7, 5))));
        assert_eq!(x.packed().held(RewardId(2)), 2);
        assert_eq!(x.packed().held(RewardId(0)), 1);
        assert_eq!(x.packed().held(RewardId(1)), 0);
        assert_eq!(
            x.packed().score(LeaderboardId(1)).map(|s| (s.score, s.seq)),
            Some((Decimal::new(-125, 2), 77))
        );
        assert_eq!(x.packed().goals().collect::<Vec<_>>(), [5]);
        assert_eq!(x.packed().types().collect::<Vec<_>>(), [70]);
        assert_eq!(x.packed().seen().collect::<Vec<_>>(), [3, 5, 9]);
        // Three fingerprints, and room for one more.
        assert_eq!(
            x.len(),
            HEADER + 1 + 2 * TASK + 2 * HELD + SCORE + 2 * WORD + SEEN_ROOM * SEEN
        );
    }

    #[test]
    fn seen_fingerprints_grow_by_room_at_a_time() {
        let mut x: Vec<u8> = Vec::new();
        let base = HEADER;
        for n in 1..=9u64 {
            assert!(x.first_sight(100 - n));
            let room = (n as usize).div_ceil(SEEN_ROOM) * SEEN_ROOM;
            assert_eq!(x.len(), base + room * SEEN, "after {n}");
            assert_eq!(x.packed().seen().count(), n as usize);
        }
        let seen: Vec<u64> = x.packed().seen().collect();
        assert_eq!(seen, (91..=99).collect::<Vec<u64>>());
    }

    #[test]
    fn fingerprints_keep_their_low_48_bits() {
        let mut x: Vec<u8> = Vec::new();
        assert!(x.first_sight(u64::MAX));
        assert!(!x.first_sight((1 << 48) - 1), "the same low 48 bits");
        // All ones marks room not used yet: that fingerprint is taken one lower.
        assert!(!x.first_sight((1 << 48) - 2));
        assert_eq!(x.packed().seen().collect::<Vec<_>>(), [(1 << 48) - 2]);
    }

    proptest! {
        /// Whatever is added in whatever order, every list reads back like a plain one,
        /// and fingerprints stay sorted and unique.
        #[test]
        fn reads_like_plain_lists(ops in prop::collection::vec((0u8..5, 0u32..6, any::<u64>()), 0..600)) {
            let mut x: Vec<u8> = Vec::new();
            let (mut held, mut seen, mut goals) = (Vec::<(u32, u64)>::new(), Vec::<u64>::new(), Vec::<u32>::new());
            for (op, small, big) in ops {
                match op {
                    0 => {
                        x.hold(RewardId(small));
                        match held.iter_mut().find(|(r, _)| *r == small) {
                            Some((_, n)) => *n += 1,
                            None => held.push((small, 1)),
                        }
                    }
                    1 => {
                        let fp = big % 300;
                        let first = !seen.contains(&fp);
                        prop_assert_eq!(x.first_sight(fp), first);
                        if first { seen.push(fp); }
                    }
                    2 => {
                        let first = !goals.contains(&small);
                        prop_assert_eq!(x.reach(small), first);
                        if first { goals.push(small); }
                    }
                    3 => x.set_attrs(&big.to_le_bytes()[..(small as usize)]),
                    _ => {
                        let slot = x.packed().task(TaskId(small)).map(|(i, _)| i);
                        x.set_task(slot, &p(small, (big % 1000) as u32));
                    }
                }
            }
            seen.sort_unstable();
            prop_assert_eq!(x.packed().holdings().map(|(r, n)| (r.0, n)).collect::<Vec<_>>(), held);
            prop_assert_eq!(x.packed().seen().collect::<Vec<_>>(), seen);
            prop_assert_eq!(x.packed().goals().collect::<Vec<_>>(), goals);
        }

        /// Bytes from anywhere read as some lists, never a panic.
        #[test]
        fn any_bytes_read_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut x = bytes;
            let _ = (x.packed().tasks().count(), x.packed().holdings().count(), x.packed().scores().count());
            let _ = (x.packed().goals().count(), x.packed().types().count(), x.packed().seen().count(), x.packed().attrs().values());
            x.hold(RewardId(1));
            x.first_sight(42);
            x.set_task(Some(3), &p(1, 1));
        }
    }

    /// Past `SEEN_SORTED_MAX` the fingerprints are a table: every one is found, none
    /// other is, and the table stays between three eighths and three quarters full.
    #[test]
    fn many_fingerprints_move_to_a_table_that_doubles() {
        let mut x: Vec<u8> = Vec::new();
        let fp = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16;
        for i in 0..20_000u64 {
            assert!(x.first_sight(fp(i)), "{i}");
            assert!(!x.first_sight(fp(i)), "{i} again");
        }
        for i in 0..20_000u64 {
            assert!(x.packed().has_seen(fp(i)));
            assert!(!x.packed().has_seen(fp(i + 1_000_000)));
        }
        let mut want: Vec<u64> = (0..20_000).map(|i| stored(fp(i))).collect();
        want.sort_unstable();
        assert_eq!(x.packed().seen().collect::<Vec<_>>(), want);
        let region = x.packed().seen_range();
        let (count, slots) = seen_table(&x[region]).unwrap();
        assert_eq!(count, 20_000);
        let n = slots.len() / SEEN;
        assert!(n == 32_768, "{n} slots");
        // Below the switch it is still a sorted list with room for four at a time.
        let mut y: Vec<u8> = Vec::new();
        for i in 0..SEEN_SORTED_MAX as u64 {
            y.first_sight(fp(i));
        }
        assert!(seen_table(&y[y.packed().seen_range()]).is_none());
        y.first_sight(fp(999));
        assert!(seen_table(&y[y.packed().seen_range()]).is_some());
    }
}
