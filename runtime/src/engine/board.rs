//! A leaderboard's ranking: an ordered index of (score, when reached, user), so the top
//! N is read without looking at anyone else. Ties go to who reached the score first,
//! which is input order. Zero (and negative) scores are not ranked; holdout users never
//! score at all.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One ranked entry. Ordered best first: higher score, then earlier, then user index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Key {
    /// The score, negated, so the highest sorts first.
    neg: Decimal,
    /// Input order when the score was reached.
    seq: u64,
    /// The user's index.
    user: u32,
}

/// One leaderboard's ranking.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Board {
    ranked: BTreeSet<Key>,
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

impl Board {
    /// Moves a user from their old score (if ranked) to a new one reached at `seq`.
    pub fn rescore(&mut self, user: u32, old: Option<(Decimal, u64)>, new: Decimal, seq: u64) {
        if let Some((score, at)) = old {
            self.ranked.remove(&Key {
                neg: -score,
                seq: at,
                user,
            });
        }
        if new > Decimal::ZERO {
            self.ranked.insert(Key {
                neg: -new,
                seq,
                user,
            });
        }
    }

    /// The best `n` places, in order.
    pub fn top(&self, n: usize) -> impl Iterator<Item = Place> + '_ {
        self.ranked
            .iter()
            .take(n)
            .zip(1u32..)
            .map(|(k, rank)| Place {
                rank,
                user: k.user,
                score: -k.neg,
            })
    }

    /// How many are ranked.
    pub fn len(&self) -> usize {
        self.ranked.len()
    }

    /// Whether nobody is ranked.
    pub fn is_empty(&self) -> bool {
        self.ranked.is_empty()
    }

    /// A user's rank, looking no further than the first `within` places.
    pub fn rank_of(&self, user: u32, within: usize) -> Option<u32> {
        self.top(within).find(|p| p.user == user).map(|p| p.rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scores_first_then_who_reached_it_first() {
        let mut b = Board::default();
        b.rescore(0, None, Decimal::from(5), 1);
        b.rescore(1, None, Decimal::from(5), 2);
        b.rescore(2, None, Decimal::from(7), 3);
        b.rescore(3, None, Decimal::ZERO, 4);
        let order: Vec<u32> = b.top(10).map(|p| p.user).collect();
        assert_eq!(order, vec![2, 0, 1], "zero scores are not ranked");
        // User 0 climbs to 7, later than user 2 did: second.
        b.rescore(0, Some((Decimal::from(5), 1)), Decimal::from(7), 5);
        let order: Vec<u32> = b.top(10).map(|p| p.user).collect();
        assert_eq!(order, vec![2, 0, 1]);
        assert_eq!(b.rank_of(1, 10), Some(3));
        assert_eq!(b.rank_of(1, 2), None);
        assert_eq!(b.len(), 3);
    }
}
