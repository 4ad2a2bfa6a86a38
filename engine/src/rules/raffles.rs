//! Raffles (language §8): at each of its times, while its phase runs, a raffle draws
//! `pick` winners uniformly at random, without replacement, from the eligible entrants
//! — participants in the order they enrolled, then (for `from audience` or a segment)
//! eligible users who are not participants, in the order they became known; holdout
//! users never; filtered by `where`; earlier winners of the same raffle left out. Fewer
//! entrants than `pick`: all win (still in a drawn order). Every choice comes from the
//! campaign's seed (§13.6): cause `raffle:NAME`, the instant, and the choice's ordinal.

use crate::effect::{At, Cause, Name};
use crate::eval;
use crate::random::{Choice, Draws};
use crate::rules::actions::Scope;
use crate::state::Standing;
use crate::step::{Facts, Step};

impl Step<'_> {
    /// One round of raffle `r`, now.
    pub(crate) fn raffle_round(&mut self, r: u32) {
        let engine = self.engine;
        let Some(raffle) = engine.plan.raffles.get(r as usize) else {
            return;
        };
        let Some(phase) = self.state.running().filter(|p| *p == raffle.phase) else {
            return;
        };
        let mut past: Vec<u32> = self
            .state
            .winners
            .get(r as usize)
            .cloned()
            .unwrap_or_default();
        past.sort_unstable();
        let now = self.now;
        let mut entrants: Vec<u32> = self
            .recipients(raffle.from)
            .into_iter()
            .filter(|&u| {
                past.binary_search(&u).is_err()
                    && self.state.user(u).is_some_and(|user| {
                        user.standing != Standing::Holdout
                            && raffle.filter.as_ref().is_none_or(|f| {
                                eval::holds(
                                    &engine.plan,
                                    f,
                                    &Facts::of(engine, user, &[]).at(self.state, u, now),
                                )
                            })
                    })
            })
            .collect();
        let cause = Cause::Raffle(Name::from(raffle.name.as_str()));
        let choice = Choice {
            cause: &cause,
            user: "",
            event: None,
            at: At(now),
        };
        let pick = (raffle.pick as usize).min(entrants.len());
        let mut drawn = Vec::with_capacity(pick);
        let mut draws = Draws::new(&engine.key, &mut self.draws_made);
        for _ in 0..pick {
            let n = entrants.len() as u64;
            let i = usize::try_from(draws.below(n, &choice)).unwrap_or(0);
            if i < entrants.len() {
                drawn.push(entrants.remove(i));
            }
        }
        if let Some(w) = self.state.winners.get_mut(r as usize) {
            w.extend_from_slice(&drawn);
        }
        if let Some(n) = self.state.metrics.winners.get_mut(r as usize) {
            *n += drawn.len() as u64;
        }
        // One round is one firing: a pool is shared among its winners.
        let pools = self.pool_recipients(&raffle.actions, drawn.len() as u64, None);
        self.firing(&pools, |step| {
            for w in drawn {
                if step
                    .state
                    .user(w)
                    .is_some_and(|u| u.standing == Standing::Eligible)
                {
                    step.enroll(w, None);
                }
                let scope = Scope {
                    own: w,
                    by: None,
                    event: None,
                    fields: &[],
                    group: None,
                    phase: Some(phase),
                };
                step.run_actions(&raffle.actions, &cause, &scope);
            }
        });
    }
}
