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

/// One leaderboard's ranking.
#[derive(Debug, Clone, Default)]
pub struct Board {
    ranked: Ranking,
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
type Entry = (Decimal, u64, u32);

impl Board {
    /// Moves a user from their old score (if ranked) to a new one reached at `seq`.
    pub fn rescore(&mut self, user: u32, old: Option<(Decimal, u64)>, new: Decimal, seq: u64) {
        if let Some((score, at)) = old {
            self.remove(user, score, at);
        }
        if new > Decimal::ZERO {
            self.insert(user, new, seq);
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

    /// How many are ranked.
    pub fn len(&self) -> usize {
        match &self.ranked {
            Ranking::Fixed { keys, .. } => keys.len(),
            Ranking::Exact(set) => set.len(),
        }
    }

    /// Whether nobody is ranked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A user's rank, looking no further than the first `within` places.
    pub fn rank_of(&self, user: u32, within: usize) -> Option<u32> {
        self.top(within).find(|p| p.user == user).map(|p| p.rank)
    }
}

/// Two boards are equal when they rank the same entries the same way, however kept.
impl PartialEq for Board {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.entries().eq(other.entries())
    }
}

/// Snapshots write the entries, best first; reading them back rebuilds the index.
impl Serialize for Board {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.entries())
    }
}

impl<'de> Deserialize<'de> for Board {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut board = Board::default();
        for (score, seq, user) in Vec::<Entry>::deserialize(d)? {
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

    #[test]
    fn higher_scores_first_then_who_reached_it_first() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(5), 1);
        b.rescore(1, None, Decimal::from(5), 2);
        b.rescore(2, None, Decimal::from(7), 3);
        b.rescore(3, None, Decimal::ZERO, 4);
        assert_eq!(order(&b), vec![2, 0, 1], "zero scores are not ranked");
        // User 0 climbs to 7, later than user 2 did: second.
        b.rescore(0, Some((Decimal::from(5), 1)), Decimal::from(7), 5);
        assert_eq!(order(&b), vec![2, 0, 1]);
        assert_eq!(b.rank_of(1, 10), Some(3));
        assert_eq!(b.rank_of(1, 2), None);
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn a_finer_score_rescales_and_an_unfit_one_turns_the_board_exact() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(2), 1);
        b.rescore(1, None, Decimal::new(150, 2), 2); // 1.50: two places now
        assert!(matches!(b.ranked, Ranking::Fixed { scale: 1, .. }));
        b.rescore(2, None, Decimal::new(15, 1), 3); // 1.5, reached later than user 1
        b.rescore(3, None, Decimal::new(1499, 3), 4); // 1.499
        assert!(matches!(b.ranked, Ranking::Fixed { scale: 3, .. }));
        assert_eq!(order(&b), vec![0, 1, 2, 3]);
        let scores: Vec<String> = b.top(9).map(|p| p.score.to_string()).collect();
        assert_eq!(scores, ["2", "1.5", "1.5", "1.499"]);
        // Twelve places fit no fixed scale: exact from now on, same order.
        b.rescore(4, None, Decimal::new(1_000_000_000_001, 12), 5);
        assert!(matches!(b.ranked, Ranking::Exact(_)));
        assert_eq!(order(&b), vec![0, 1, 2, 3, 4]);
        b.rescore(0, Some((Decimal::from(2), 1)), Decimal::new(1, 1), 6);
        assert_eq!(order(&b), vec![1, 2, 3, 4, 0]);
        // Too large for 64 bits at any scale: exact too.
        let mut big = Board::default();
        big.rescore(0, None, Decimal::from(i64::MAX) * Decimal::from(10), 1);
        big.rescore(1, None, Decimal::ONE, 2);
        assert!(matches!(big.ranked, Ranking::Exact(_)));
        assert_eq!(order(&big), vec![0, 1]);
    }

    #[test]
    fn snapshots_round_trip_whatever_the_form() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(3), 1);
        b.rescore(1, None, Decimal::new(25, 1), 2);
        let json = serde_json::to_string(&b).unwrap_or_default();
        let back: Board = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, b);
        assert_eq!(order(&back), vec![0, 1]);
    }

    proptest! {
        /// Whatever the scores, the board ranks like a plain sort of (score desc, seq).
        #[test]
        fn ranks_like_a_sort(moves in prop::collection::vec((0u32..8, -5i64..2_000, 0u32..4), 1..60)) {
            let mut b = Board::default();
            let mut now: Vec<Option<(Decimal, u64)>> = vec![None; 8];
            for (seq, (user, m, scale)) in (1u64..).zip(moves) {
                let new = Decimal::new(m, scale);
                let slot = &mut now[user as usize];
                b.rescore(user, slot.filter(|(s, _)| *s > Decimal::ZERO), new, seq);
                *slot = Some((new, seq));
            }
            let mut want: Vec<(Decimal, u64, u32)> = now
                .iter()
                .zip(0u32..)
                .filter_map(|(x, u)| x.filter(|(s, _)| *s > Decimal::ZERO).map(|(s, q)| (s, q, u)))
                .collect();
            want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let got: Vec<(Decimal, u32)> = b.top(usize::MAX).map(|p| (p.score, p.user)).collect();
            let want: Vec<(Decimal, u32)> = want.into_iter().map(|(s, _, u)| (s, u)).collect();
            prop_assert_eq!(got, want);
        }
    }
}
