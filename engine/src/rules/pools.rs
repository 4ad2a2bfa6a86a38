//! Pools (language §3): one firing of a mass grant — a raffle round, an award, a
//! group's outcome, a `grant … on enter` or `grant … at` instant — shares a pool's
//! amount equally among everyone it grants the pool to, each share rounded down to the
//! currency's minor unit. The number of recipients is counted before the firing runs,
//! so every recipient gets the same share; a share denied (`per_user`, stock, budget,
//! a target who cannot receive) is not paid to anyone else.
//!
//! Recipients are counted per grant of the pool: a raffle's or award's actions run once
//! per winner, and a grant there reaches one user each time; in a group's outcome a
//! grant to `members` (the default) reaches every member and one to `opener` or to a
//! user attribute one user.

use crate::step::Step;
use camp_plan::{Action, RewardId, RewardKind, Target};

impl Step<'_> {
    /// The pools `actions` grant, with how many recipients one firing that runs them
    /// `runs` times (once per winner; once for a group's outcome, `group` being its
    /// kind and number) reaches.
    pub(crate) fn pool_recipients(
        &self,
        actions: &[Action],
        runs: u64,
        group: Option<(u32, u32)>,
    ) -> Vec<(RewardId, u64)> {
        let mut out: Vec<(RewardId, u64)> = Vec::new();
        for a in actions {
            let Action::Grant { reward, to } = *a else {
                continue;
            };
            if !self.is_pool(reward) {
                continue;
            }
            let each = match (to, group) {
                (Target::Own | Target::Members, Some((kind, n))) => self
                    .state
                    .groups
                    .get(kind, n)
                    .map_or(0, |g| g.members.len() as u64),
                _ => 1,
            };
            let reach = each.saturating_mul(runs);
            match out.iter_mut().find(|(r, _)| *r == reward) {
                Some((_, n)) => *n = n.saturating_add(reach),
                None => out.push((reward, reach)),
            }
        }
        out
    }

    /// Whether `reward` is a pool.
    pub(crate) fn is_pool(&self, reward: RewardId) -> bool {
        matches!(
            self.engine
                .plan
                .rewards
                .get(reward.index())
                .map(|r| &r.kind),
            Some(RewardKind::Pool { .. })
        )
    }

    /// Runs `body` as one firing that reaches `recipients` (pool, how many): while it
    /// runs, each grant of one of those pools pays its share. The shares of an
    /// enclosing firing are restored after.
    pub(crate) fn firing<T>(
        &mut self,
        recipients: &[(RewardId, u64)],
        body: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let shares = recipients
            .iter()
            .filter_map(
                |&(reward, n)| match self.engine.plan.rewards.get(reward.index()) {
                    Some(r) => match &r.kind {
                        RewardKind::Pool { amount } => Some((reward, amount.share(n))),
                        _ => None,
                    },
                    None => None,
                },
            )
            .collect();
        let outer = std::mem::replace(&mut self.shares, shares);
        let out = body(self);
        self.shares = outer;
        out
    }
}
