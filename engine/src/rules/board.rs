//! A leaderboard's ranking: an ordered index of (score, when reached, user), so the top
//! N is read without looking at anyone else. Ties go to who reached the score first,
//! which is input order. Zero (and negative) scores are not ranked; holdout users never
//! score at all.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// The most decimal places a fixed-point board takes before it keeps exact decimals.
const MAX_FIXED_SCALE: u32 = 9;

/// One ranked entry in exact form. Ordered best first: higher score, then earlier, then
/// user index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    /// The score, negated, so the highest sorts first.
    neg: Decimal,
    /// Input order when the score was reached.
    seq: u64,
    /// The user's index.
    user: u32,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.neg
            .cmp(&other.neg)
            .then(self.seq.cmp(&other.seq))
            .then(self.user.cmp(&other.user))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How a board keeps its order. Almost every board's scores are whole numbers (points,
/// counts) or have a few decimal places (money): those are kept as integers of
/// `10^-scale`, with the input order, in 16-byte keys that compare as two integers, and
/// the input order alone tells entries apart (every score change takes a new one). A
/// score that fits no such scale turns the board exact, for good.
#[derive(Debug, Clone)]
enum Ranking {
    /// (negated score in units of `10^-scale`, input order) → user.
    Fixed {
        scale: u32,
        keys: BTreeMap<(i64, u64), u32>,
    },
    /// Exact decimals.
    Exact(BTreeSet<Key>),
}

impl Default for Ranking {
    fn default() -> Self {
        Ranking::Fixed {
            scale: 0,
            keys: BTreeMap::new(),
        }
    }
}

/// `score` as a whole number of `10^-scale`, if it is one and fits.
fn fixed(score: Decimal, scale: u32) -> Option<i64> {
    let n = score.normalize();
    let up = scale.checked_sub(n.scale())?;
    let m = n.mantissa().checked_mul(10i128.checked_pow(up)?)?;
    i64::try_from(m).ok()?.checked_neg()
}

/// One leaderboard's ranking. A board that shows its top N keeps only the best N
/// entries while scores only go up: a score that rises either enters the kept places or
/// stays below them, and whoever it pushes out can only come back by rising too. So a
/// million participants cost a hundred entries, and a score change is a comparison with
/// the last kept place. A score that goes down could let in somebody the board no longer
/// keeps, so the first one turns the board into one that keeps everyone, for good,
/// rebuilt from the participants' scores.
#[derive(Debug, Clone, Default)]
pub struct Board {
    ranked: Ranking,
    /// How many places are kept: `None` keeps everyone.
    keep: Option<usize>,
    /// How many participants have a score above zero.
    count: u64,
    /// A periodic board: the input order when the current period began. A participant's
    /// score reached at or before it belongs to an earlier period and counts as zero.
    since: u64,
}

/// A place on a leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// From 1.
    pub rank: u32,
    /// The user's index.
    pub user: u32,
    /// Their score.
    pub score: Decimal,
}

/// One entry as snapshots write it: (score, input order, user).
pub type Entry = (Decimal, u64, u32);

/// What snapshots write of a board.
#[derive(Serialize, Deserialize)]
struct Written {
    /// The places kept, or `null` for everyone.
    keep: Option<usize>,
    /// How many are ranked.
    ranked: u64,
    /// The kept entries, best first.
    entries: Vec<Entry>,
    /// When the current period began (input order); 0 for a board that is not periodic.
    #[serde(default, skip_serializing_if = "is_zero")]
    since: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Board {
    /// An empty board showing its top `show` (everyone when `None`).
    pub fn new(show: Option<u32>) -> Board {
        Board {
            ranked: Ranking::default(),
            keep: show.map(|n| n as usize),
            count: 0,
            since: 0,
        }
    }

    /// A new period of a periodic board showing its top `show`, beginning at input
    /// order `since`: nobody is ranked, and every score reached so far counts as zero.
    pub fn period(show: Option<u32>, since: u64) -> Board {
        Board {
            since,
            ..Board::new(show)
        }
    }

    /// The input order when the current period began (0 for a board that is not
    /// periodic).
    pub fn since(&self) -> u64 {
        self.since
    }

    /// Moves a user from their old score (if ranked) to a new one reached at `seq`.
    /// `everyone` lists every ranked entry after the move: a board keeping its top N
    /// asks for it the first time a score goes down.
    pub fn rescore<I: IntoIterator<Item = Entry>>(
        &mut self,
        user: u32,
        old: Option<(Decimal, u64)>,
        new: Decimal,
        seq: u64,
        everyone: impl FnOnce() -> I,
    ) {
        let ranked = new > Decimal::ZERO;
        match (old.is_some(), ranked) {
            (false, true) => self.count += 1,
            (true, false) => self.count = self.count.saturating_sub(1),
            _ => {}
        }
        let fell = old.is_some_and(|(score, _)| new < score);
        if fell && self.keep.is_some() {
            self.keep = None;
            self.ranked = Ranking::default();
            for (score, seq, user) in everyone() {
                self.insert(user, score, seq);
            }
            return;
        }
        if let Some((score, at)) = old {
            self.remove(user, score, at);
        }
        if ranked && self.enters(new, seq) {
            self.insert(user, new, seq);
            if self.keep.is_some_and(|n| self.len_kept() > n) {
                self.pop_last();
            }
        }
    }

    /// Whether an entry of `score` reached at `seq` belongs among the kept places.
    fn enters(&self, score: Decimal, seq: u64) -> bool {
        let Some(n) = self.keep else {
            return true;
        };
        if self.len_kept() < n {
            return true;
        }
        match self.last() {
            Some((last, at, _)) => score > last || (score == last && seq < at),
            None => n > 0,
        }
    }

    /// The last kept entry.
    fn last(&self) -> Option<Entry> {
        match &self.ranked {
            Ranking::Fixed { scale, keys } => keys.last_key_value().map(|(&(neg, seq), &user)| {
                (
                    -Decimal::from_i128_with_scale(i128::from(neg), *scale),
                    seq,
                    user,
                )
            }),
            Ranking::Exact(set) => set.last().map(|k| (-k.neg, k.seq, k.user)),
        }
    }

    fn len_kept(&self) -> usize {
        match &self.ranked {
            Ranking::Fixed { keys, .. } => keys.len(),
            Ranking::Exact(set) => set.len(),
        }
    }

    fn pop_last(&mut self) {
        match &mut self.ranked {
            Ranking::Fixed { keys, .. } => {
                keys.pop_last();
            }
            Ranking::Exact(set) => {
                set.pop_last();
            }
        }
    }
    fn remove(&mut self, user: u32, score: Decimal, seq: u64) {
        match &mut self.ranked {
            Ranking::Fixed { scale, keys } => {
                if let Some(neg) = fixed(score, *scale) {
                    keys.remove(&(neg, seq));
                }
            }
            Ranking::Exact(set) => {
                set.remove(&Key {
                    neg: -score,
                    seq,
                    user,
                });
            }
        }
    }

    fn insert(&mut self, user: u32, score: Decimal, seq: u64) {
        if !self.place(user, score, seq) {
            self.ranked = self.rebuilt(score);
            self.place(user, score, seq);
        }
    }

    /// Puts an entry where the ranking keeps it; false when the score fits no key of a
    /// fixed-point ranking's scale.
    fn place(&mut self, user: u32, score: Decimal, seq: u64) -> bool {
        match &mut self.ranked {
            Ranking::Fixed { scale, keys } => match fixed(score, *scale) {
                Some(neg) => {
                    keys.insert((neg, seq), user);
                    true
                }
                None => false,
            },
            Ranking::Exact(set) => {
                set.insert(Key {
                    neg: -score,
                    seq,
                    user,
                });
                true
            }
        }
    }

    /// The ranking rebuilt to take `score` too: at the finer scale it needs if every
    /// entry and it fit, else in exact decimals, for good.
    fn rebuilt(&self, score: Decimal) -> Ranking {
        let current = match &self.ranked {
            Ranking::Fixed { scale, .. } => *scale,
            Ranking::Exact(_) => MAX_FIXED_SCALE + 1,
        };
        let scale = current.max(score.normalize().scale());
        if scale <= MAX_FIXED_SCALE && fixed(score, scale).is_some() {
            let keys: Option<BTreeMap<(i64, u64), u32>> = self
                .entries()
                .map(|(s, seq, user)| Some(((fixed(s, scale)?, seq), user)))
                .collect();
            if let Some(keys) = keys {
                return Ranking::Fixed { scale, keys };
            }
        }
        Ranking::Exact(
            self.entries()
                .map(|(score, seq, user)| Key {
                    neg: -score,
                    seq,
                    user,
                })
                .collect(),
        )
    }

    /// Every entry, best first.
    fn entries(&self) -> Box<dyn Iterator<Item = Entry> + '_> {
        match &self.ranked {
            Ranking::Fixed { scale, keys } => {
                let scale = *scale;
                Box::new(keys.iter().map(move |(&(neg, seq), &user)| {
                    (
                        -Decimal::from_i128_with_scale(i128::from(neg), scale).normalize(),
                        seq,
                        user,
                    )
                }))
            }
            Ranking::Exact(set) => Box::new(set.iter().map(|k| (-k.neg, k.seq, k.user))),
        }
    }

    /// The best `n` places, in order.
    pub fn top(&self, n: usize) -> impl Iterator<Item = Place> + '_ {
        self.entries()
            .take(n)
            .zip(1u32..)
            .map(|((score, _, user), rank)| Place { rank, user, score })
    }

    /// How many are ranked (kept or not).
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether nobody is ranked.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// A user's rank, looking no further than the first `within` places.
    pub fn rank_of(&self, user: u32, within: usize) -> Option<u32> {
        self.top(within).find(|p| p.user == user).map(|p| p.rank)
    }
}

/// Two boards are equal when they keep the same places and rank the same entries the
/// same way, however kept.
impl PartialEq for Board {
    fn eq(&self, other: &Self) -> bool {
        self.keep == other.keep
            && self.count == other.count
            && self.since == other.since
            && self.len_kept() == other.len_kept()
            && self.entries().eq(other.entries())
    }
}

/// Snapshots write the places kept, the count and the entries, best first; reading
/// them back rebuilds the index.
impl Serialize for Board {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Written {
            keep: self.keep,
            ranked: self.count,
            entries: self.entries().collect(),
            since: self.since,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Board {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Written::deserialize(d)?;
        let mut board = Board {
            ranked: Ranking::default(),
            keep: w.keep,
            count: w.ranked,
            since: w.since,
        };
        for (score, seq, user) in w.entries {
            board.insert(user, score, seq);
        }
        Ok(board)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn order(b: &Board) -> Vec<u32> {
        b.top(usize::MAX).map(|p| p.user).collect()
    }

    /// A board that keeps everyone never asks for everyone.
    fn nobody() -> Vec<Entry> {
        Vec::new()
    }

    #[test]
    fn higher_scores_first_then_who_reached_it_first() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(5), 1, nobody);
        b.rescore(1, None, Decimal::from(5), 2, nobody);
        b.rescore(2, None, Decimal::from(7), 3, nobody);
        b.rescore(3, None, Decimal::ZERO, 4, nobody);
        assert_eq!(order(&b), vec![2, 0, 1], "zero scores are not ranked");
        // User 0 climbs to 7, later than user 2 did: second.
        b.rescore(0, Some((Decimal::from(5), 1)), Decimal::from(7), 5, nobody);
        assert_eq!(order(&b), vec![2, 0, 1]);
        assert_eq!(b.rank_of(1, 10), Some(3));
        assert_eq!(b.rank_of(1, 2), None);
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn a_finer_score_rescales_and_an_unfit_one_turns_the_board_exact() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(2), 1, nobody);
        b.rescore(1, None, Decimal::new(150, 2), 2, nobody); // 1.50: two places now
        assert!(matches!(b.ranked, Ranking::Fixed { scale: 1, .. }));
        b.rescore(2, None, Decimal::new(15, 1), 3, nobody); // 1.5, reached later than user 1
        b.rescore(3, None, Decimal::new(1499, 3), 4, nobody); // 1.499
        assert!(matches!(b.ranked, Ranking::Fixed { scale: 3, .. }));
        assert_eq!(order(&b), vec![0, 1, 2, 3]);
        let scores: Vec<String> = b.top(9).map(|p| p.score.to_string()).collect();
        assert_eq!(scores, ["2", "1.5", "1.5", "1.499"]);
        // Twelve places fit no fixed scale: exact from now on, same order.
        b.rescore(4, None, Decimal::new(1_000_000_000_001, 12), 5, nobody);
        assert!(matches!(b.ranked, Ranking::Exact(_)));
        assert_eq!(order(&b), vec![0, 1, 2, 3, 4]);
        b.rescore(
            0,
            Some((Decimal::from(2), 1)),
            Decimal::new(1, 1),
            6,
            nobody,
        );
        assert_eq!(order(&b), vec![1, 2, 3, 4, 0]);
        // Too large for 64 bits at any scale: exact too.
        let mut big = Board::default();
        big.rescore(
            0,
            None,
            Decimal::from(i64::MAX) * Decimal::from(10),
            1,
            nobody,
        );
        big.rescore(1, None, Decimal::ONE, 2, nobody);
        assert!(matches!(big.ranked, Ranking::Exact(_)));
        assert_eq!(order(&big), vec![0, 1]);
    }

    #[test]
    fn snapshots_round_trip_whatever_the_form() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(3), 1, nobody);
        b.rescore(1, None, Decimal::new(25, 1), 2, nobody);
        let json = serde_json::to_string(&b).unwrap_or_default();
        let back: Board = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, b);
        assert_eq!(order(&back), vec![0, 1]);
    }

    /// Every ranked entry of a model: (score, input order) per user.
    fn ranked(now: &[Option<(Decimal, u64)>]) -> Vec<Entry> {
        now.iter()
            .zip(0u32..)
            .filter_map(|(x, u)| {
                x.filter(|(s, _)| *s > Decimal::ZERO)
                    .map(|(s, q)| (s, q, u))
            })
            .collect()
    }

    #[test]
    fn a_top_n_board_keeps_n_and_keeps_everyone_once_a_score_falls() {
        let mut b = Board::new(Some(2));
        b.rescore(0, None, Decimal::from(5), 1, nobody);
        b.rescore(1, None, Decimal::from(7), 2, nobody);
        b.rescore(2, None, Decimal::from(6), 3, nobody);
        assert_eq!(order(&b), vec![1, 2], "the third place is not kept");
        assert_eq!(b.len(), 3, "but it is counted");
        // User 0 rises past both.
        b.rescore(0, Some((Decimal::from(5), 1)), Decimal::from(8), 4, nobody);
        assert_eq!(order(&b), vec![0, 1]);
        // User 1 falls: user 2 (kept nowhere) comes back from everyone's scores.
        let all = vec![
            (Decimal::from(8), 4, 0),
            (Decimal::from(1), 5, 1),
            (Decimal::from(6), 3, 2),
        ];
        b.rescore(1, Some((Decimal::from(7), 2)), Decimal::from(1), 5, || all);
        assert_eq!(order(&b), vec![0, 2, 1], "everyone is kept from now on");
        let json = serde_json::to_string(&b).unwrap_or_default();
        let back: Board = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, b);
    }

    proptest! {
        /// Whatever the scores, the board ranks like a plain sort of (score desc, seq).
        #[test]
        fn ranks_like_a_sort(
            moves in prop::collection::vec((0u32..8, -5i64..2_000, 0u32..4), 1..60),
            keep in prop::option::of(0u32..5),
        ) {
            let mut b = Board::new(keep);
            let mut now: Vec<Option<(Decimal, u64)>> = vec![None; 8];
            for (seq, (user, m, scale)) in (1u64..).zip(moves) {
                let new = Decimal::new(m, scale);
                let slot = &mut now[user as usize];
                let old = slot.filter(|(s, _)| *s > Decimal::ZERO);
                *slot = Some((new, seq));
                let all = ranked(&now);
                b.rescore(user, old, new, seq, || all);
            }
            let mut want = ranked(&now);
            want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            prop_assert_eq!(b.len(), want.len() as u64);
            let shown = keep.map_or(usize::MAX, |k| k as usize);
            let got: Vec<(Decimal, u32)> = b.top(shown).map(|p| (p.score, p.user)).collect();
            let want: Vec<(Decimal, u32)> = want.into_iter().take(shown).map(|(s, _, u)| (s, u)).collect();
            prop_assert_eq!(got, want);
        }
    }
}
