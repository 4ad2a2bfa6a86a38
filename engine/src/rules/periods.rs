//! Periodic leaderboards (§9) and `enroll audience` (§2, §13.2): the time-driven steps
//! that end a board's period (its awards for the period's final ranks, then a fresh
//! period), and the enrollments that need no counted event.

use crate::effect::{Cause, Name};
use crate::rules::actions::Scope;
use crate::rules::board::Board;
use crate::state::Standing;
use crate::step::Step;
use camp_plan::{Award, LeaderboardId, PhaseId};
use chrono::{DateTime, Utc};

impl Step<'_> {
    /// Whether a leaderboard is periodic.
    pub(crate) fn is_periodic(&self, lb: LeaderboardId) -> bool {
        self.engine
            .plan
            .leaderboards
            .get(lb.index())
            .is_some_and(|l| l.every.is_some())
    }

    /// The first period ends of phase `n`'s periodic boards, for a phase running from
    /// now to `end` (a period that would end at or after `end` ends with the phase).
    pub(crate) fn first_period_ends(
        &self,
        n: PhaseId,
        end: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, u32)> {
        let engine = self.engine;
        let mut ends: Vec<(DateTime<Utc>, u32)> = engine
            .plan
            .leaderboards
            .iter()
            .zip(0u32..)
            .filter(|(l, _)| l.phase == n)
            .filter_map(|(l, i)| Some((engine.calendar.add(self.now, l.every?), i)))
            .filter(|(t, _)| self.now < *t && *t < end)
            .collect();
        ends.sort();
        ends
    }

    /// Ends every period due by now (not the last one of a phase: [`Step::end_periods`]
    /// does that with the phase end), each as its own step, in time order.
    pub(crate) fn fire_periods(&mut self) {
        let now = self.now;
        while let Some(&(t, lb)) = self.state.agenda.periods.first() {
            if t > now {
                break;
            }
            self.state.agenda.periods.remove(0);
            self.state.seq += 1;
            self.draws_made = 0;
            let board = LeaderboardId(lb);
            self.end_period(board);
            let Some(phase) = self.state.running() else {
                continue;
            };
            let end = self
                .state
                .windows
                .get(phase.index())
                .copied()
                .flatten()
                .map(|w| w.end);
            let every = self
                .engine
                .plan
                .leaderboards
                .get(board.index())
                .and_then(|l| l.every);
            if let (Some(end), Some(every)) = (end, every) {
                let next = self.engine.calendar.add(t, every);
                if t < next && next < end {
                    let at = self
                        .state
                        .agenda
                        .periods
                        .partition_point(|&x| x <= (next, lb));
                    self.state.agenda.periods.insert(at, (next, lb));
                }
            }
        }
    }

    /// The phase `p` ends: the last period of each of its periodic boards ends with it.
    pub(crate) fn end_periods(&mut self, p: PhaseId) {
        let boards: Vec<LeaderboardId> = (0u32..)
            .zip(&self.engine.plan.leaderboards)
            .filter(|(_, l)| l.phase == p && l.every.is_some())
            .map(|(i, _)| LeaderboardId(i))
            .collect();
        for lb in boards {
            self.award_period(lb, p);
        }
    }

    /// One period of a periodic board ends now: its awards, then a new period.
    fn end_period(&mut self, lb: LeaderboardId) {
        let Some(phase) = self.state.running() else {
            return;
        };
        self.award_period(lb, phase);
        let show = self
            .engine
            .plan
            .leaderboards
            .get(lb.index())
            .and_then(|l| l.show_top);
        let since = self.state.seq;
        if let Some(b) = self.state.boards.get_mut(lb.index()) {
            *b = Board::period(show, since);
        }
    }

    /// The awards of phase `phase` for board `lb`, for its ranks now.
    fn award_period(&mut self, lb: LeaderboardId, phase: PhaseId) {
        let engine = self.engine;
        let Some(ph) = engine.plan.phases.get(phase.index()) else {
            return;
        };
        for award in ph.awards.iter().filter(|a| a.leaderboard == lb) {
            self.award(award, phase);
        }
    }

    /// Fires one award for the board's ranks now, in rank order.
    pub(crate) fn award(&mut self, award: &Award, phase: PhaseId) {
        let engine = self.engine;
        let show = engine
            .plan
            .leaderboards
            .get(award.leaderboard.index())
            .and_then(|l| l.show_top)
            .unwrap_or(u32::MAX);
        let last = award.to_rank.min(show) as usize;
        let winners: Vec<u32> = self
            .state
            .boards
            .get(award.leaderboard.index())
            .map(|b| {
                b.top(last)
                    .filter(|p| p.rank >= award.from_rank)
                    .map(|p| p.user)
                    .collect()
            })
            .unwrap_or_default();
        let cause = Cause::Award(
            engine
                .names
                .boards
                .get(award.leaderboard.index())
                .cloned()
                .unwrap_or_else(|| Name::from("")),
        );
        // One award is one firing: a pool is shared among its ranked winners.
        let pools = self.pool_recipients(&award.actions, winners.len() as u64, None);
        self.firing(&pools, |step| {
            for u in winners {
                let scope = Scope {
                    own: u,
                    by: None,
                    event: None,
                    fields: &[],
                    group: None,
                    phase: Some(phase),
                };
                step.run_actions(&award.actions, &cause, &scope);
            }
        });
    }

    /// `enroll audience` at the campaign start: every eligible, non-holdout user known
    /// so far enrolls, in the order they became known (one pass over the users).
    pub(crate) fn enroll_known(&mut self) {
        if !self.engine.plan.campaign.enroll_audience {
            return;
        }
        self.state.joining.clear();
        let known = crate::engine::id32(self.state.users.len());
        for u in 0..known {
            if self
                .state
                .user(u)
                .is_some_and(|user| user.standing == Standing::Eligible)
            {
                self.enroll(u, None);
            }
        }
    }

    /// `enroll audience` while the campaign runs: users who became known (or eligible)
    /// since the last step enroll now, in that order.
    pub(crate) fn enroll_joining(&mut self) {
        if self.state.joining.is_empty() || self.state.running().is_none() {
            return;
        }
        for u in std::mem::take(&mut self.state.joining) {
            if self
                .state
                .user(u)
                .is_some_and(|user| user.standing == Standing::Eligible)
            {
                self.enroll(u, None);
            }
        }
    }
}
