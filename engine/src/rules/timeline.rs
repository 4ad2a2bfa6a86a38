//! Time-driven steps (§13.4): group expiries, phase changes, awards, `on enter`,
//! raffles, `at` sends, quiet-hour deferrals, `after D inactive` nudges and birthdays,
//! fired in time order as the clock passes them. At one instant they run in this order:
//! group expiries, phase end (groups still open when the campaign ends expire first;
//! then the last period's awards of its periodic boards), phase start, `enroll
//! audience` enrollments, awards (and ends of leaderboard periods), `on enter`, raffle
//! rounds, `at` sends, deferred sends, inactivity, birthdays. `until` exits are
//! checked after every step.

use crate::effect::{Cause, Effect, Name};
use crate::engine::Engine;
use crate::kpi::Totals;
use crate::state::{Agenda, Cursor, State, Timer, Window};
use crate::step::Step;
use camp_plan::{GrantOn, PhaseId, SendWhen, Until, Value};
use chrono::{DateTime, NaiveTime, Utc};
use std::collections::VecDeque;

/// When the campaign next changes phase.
fn transition_due(engine: &Engine, state: &State) -> Option<DateTime<Utc>> {
    match state.cursor {
        Cursor::Before => engine.plan.phases.first().map(|p| p.start),
        Cursor::Running(p) => state
            .windows
            .get(p.index())
            .copied()
            .flatten()
            .map(|w| w.end),
        Cursor::Between(n) => engine.plan.phases.get(n.index()).map(|p| p.start),
        Cursor::Ended => None,
    }
}

/// When the next time-driven step is due.
pub(crate) fn next_due(engine: &Engine, state: &State) -> Option<DateTime<Utc>> {
    [
        transition_due(engine, state),
        state.groups.next_expiry(),
        state.agenda.raffles.front().map(|(t, _)| *t),
        state.agenda.periods.first().map(|(t, _)| *t),
        state.agenda.sends.front().map(|(t, _)| *t),
        state.deferred.front().map(|d| d.due),
        state.timers.first().map(|t| t.due),
        state.dues.first().map(|t| t.due),
        state.agenda.grants.front().map(|(t, _)| *t),
        state.agenda.midnights.front().copied(),
    ]
    .into_iter()
    .flatten()
    .min()
}

impl Step<'_> {
    /// A new time-driven step starts: its random choices count from zero (§13.6).
    fn begin_step(&mut self) {
        self.draws_made = 0;
    }

    /// Fires every step due by `to`, instant by instant, and leaves the clock at `to`.
    pub(crate) fn advance(&mut self, to: DateTime<Utc>) {
        while let Some(t) = next_due(self.engine, self.state).filter(|t| *t <= to) {
            self.now = t;
            self.fire();
        }
        self.now = to;
        self.state.clock = Some(to);
        self.enroll_joining();
    }

    /// Everything due at `self.now`, in the contract's order.
    fn fire(&mut self) {
        let now = self.now;
        self.expire_due();
        while transition_due(self.engine, self.state) == Some(now) {
            self.state.seq += 1;
            self.begin_step();
            self.transition();
        }
        self.fire_periods();
        while let Some(&(t, grant)) = self.state.agenda.grants.front() {
            if t > now {
                break;
            }
            self.state.agenda.grants.pop_front();
            self.state.seq += 1;
            self.begin_step();
            self.at_grant(grant);
        }
        while let Some(&(t, raffle)) = self.state.agenda.raffles.front() {
            if t > now {
                break;
            }
            self.state.agenda.raffles.pop_front();
            self.state.seq += 1;
            self.begin_step();
            self.raffle_round(raffle);
        }
        while let Some(&(t, send)) = self.state.agenda.sends.front() {
            if t > now {
                break;
            }
            self.state.agenda.sends.pop_front();
            self.state.seq += 1;
            self.begin_step();
            self.phase_send(send);
        }
        while let Some(d) = self.state.deferred.front().copied() {
            if d.due > now {
                break;
            }
            self.state.deferred.pop_front();
            self.state.seq += 1;
            self.begin_step();
            self.deliver(d.user, d.message, d.phase, d.reward, d.group, d.share);
        }
        while let Some(d) = self.state.dues.first().copied() {
            if d.due > now {
                break;
            }
            self.state.dues.pop_first();
            self.state.seq += 1;
            self.begin_step();
            self.timed_send(d);
        }
        while let Some(t) = self.state.timers.first().copied() {
            if t.due > now {
                break;
            }
            self.state.timers.pop_first();
            self.state.seq += 1;
            self.begin_step();
            self.inactivity(t);
        }
        while let Some(&m) = self.state.agenda.midnights.front() {
            if m > now {
                break;
            }
            self.state.agenda.midnights.pop_front();
            self.state.seq += 1;
            self.begin_step();
            self.birthdays();
        }
        self.check_until();
    }

    /// The running phase's end, or the next phase's start.
    fn transition(&mut self) {
        match self.state.cursor {
            Cursor::Before => {
                if !self.engine.plan.phases.is_empty() {
                    self.begin(PhaseId(0), None);
                }
            }
            Cursor::Running(p) => self.end(p),
            Cursor::Between(n) => self.begin(n, None),
            Cursor::Ended => {}
        }
    }

    /// Ends the running phase now (at its end, or early by `until`) and starts the next
    /// one if it starts now: a phase given by duration starts where the previous ends;
    /// an explicit window stays put.
    fn end(&mut self, p: PhaseId) {
        let next = PhaseId(p.0 + 1);
        if self.engine.plan.phases.get(next.index()).is_none() {
            // The campaign ends: its open groups expire first, while the phase runs.
            self.expire_all();
        }
        self.end_periods(p);
        let now = self.now;
        if let Some(Some(w)) = self.state.windows.get_mut(p.index()) {
            w.end = now;
        }
        self.state.agenda = Agenda::default();
        self.state.timers.clear();
        // Its timed sends can no longer fire; later phases' stay armed.
        self.state.dues.retain(|d| d.phase > p.0);
        let Some(phase) = self.engine.plan.phases.get(next.index()) else {
            self.state.cursor = Cursor::Ended;
            self.phase_effect(Some(p), None);
            return;
        };
        if phase.duration.is_some() || phase.start <= now {
            self.begin(next, Some(p));
        } else {
            self.state.cursor = Cursor::Between(next);
            self.phase_effect(Some(p), None);
        }
    }

    fn phase_effect(&mut self, from: Option<PhaseId>, to: Option<PhaseId>) {
        let name = |p: Option<PhaseId>| -> Option<Name> {
            self.engine.names.phases.get(p?.index()).cloned()
        };
        let (from, to) = (name(from), name(to));
        let at = self.at();
        self.emit(Effect::Phase { at, from, to });
    }

    /// Starts phase `n` now: its window and agenda, then awards, then `on enter`.
    fn begin(&mut self, n: PhaseId, from: Option<PhaseId>) {
        let engine = self.engine;
        let Some(phase) = engine.plan.phases.get(n.index()) else {
            self.state.cursor = Cursor::Ended;
            return;
        };
        let now = self.now;
        let end = match phase.duration {
            Some(d) => engine.calendar.add(now, d),
            None => phase.end.max(now),
        };
        let planned = now == phase.start && end == phase.end;
        if let Some(w) = self.state.windows.get_mut(n.index()) {
            *w = Some(Window { start: now, end });
        }
        self.state.cursor = Cursor::Running(n);
        self.phase_effect(from, Some(n));

        let mut sends: Vec<(DateTime<Utc>, u32)> = Vec::new();
        for (i, s) in phase.sends.iter().enumerate() {
            if let SendWhen::At { time, daily, times } = &s.when {
                let times = if planned {
                    times.clone()
                } else {
                    engine.calendar.daily(*time, now, end)
                };
                let take = if *daily { times.len() } else { 1 };
                sends.extend(
                    times
                        .into_iter()
                        .take(take)
                        .map(|t| (t, crate::engine::id32(i))),
                );
            }
        }
        sends.sort_by_key(|(t, _)| *t);
        let midnights: VecDeque<DateTime<Utc>> = if engine
            .index
            .birthday_tasks
            .get(n.index())
            .is_some_and(|t| !t.is_empty())
        {
            engine.calendar.daily(NaiveTime::MIN, now, end).into()
        } else {
            VecDeque::new()
        };
        let mut raffles: Vec<(DateTime<Utc>, u32)> = phase
            .raffles
            .iter()
            .filter_map(|r| Some((r.0, engine.plan.raffles.get(r.index())?)))
            .flat_map(|(r, raffle)| raffle.times.iter().map(move |t| (*t, r)))
            .filter(|(t, _)| now <= *t && *t < end)
            .collect();
        raffles.sort_by_key(|(t, _)| *t);
        let periods = self.first_period_ends(n, end);
        // Dated grants keep their instants; a phase that moved keeps those inside it.
        let mut grants: Vec<(DateTime<Utc>, u32)> = phase
            .grants
            .iter()
            .enumerate()
            .filter_map(|(i, g)| match &g.on {
                GrantOn::At { times } => Some((i, times)),
                _ => None,
            })
            .flat_map(|(i, times)| times.iter().map(move |t| (*t, crate::engine::id32(i))))
            .filter(|(t, _)| now <= *t && *t < end)
            .collect();
        grants.sort_by_key(|(t, _)| *t);
        self.state.agenda = Agenda {
            sends: sends.into(),
            midnights,
            raffles: raffles.into(),
            periods,
            grants: grants.into(),
        };
        if n.0 == 0 {
            self.enroll_known();
        }

        // A periodic board's awards fire at the end of each of its periods instead.
        for award in &phase.awards {
            if !self.is_periodic(award.leaderboard) {
                self.award(award, n);
            }
        }

        for g in engine.grants_on(n.index(), GrantOn::Enter) {
            self.mass_grant(g, &Cause::Enter);
        }
        for s in phase.sends.iter().filter(|s| s.when == SendWhen::Enter) {
            for u in self.recipients(s.to) {
                if self.meets(u, s.condition.as_ref()) {
                    self.send_to(u, s.message, Some(n), None);
                }
            }
        }
        if engine
            .index
            .inactive
            .get(n.index())
            .is_some_and(|v| !v.is_empty())
        {
            // The spell goes on across the phase change: what it already sent stays sent.
            for u in self.recipients(camp_plan::Recipients::Participants) {
                self.arm_inactivity(u, n, u64::MAX);
            }
        }
    }

    /// A phase-level `at` grant.
    fn at_grant(&mut self, grant: u32) {
        let Some(p) = self.state.running() else {
            return;
        };
        let engine = self.engine;
        if let Some(g) = engine
            .plan
            .phases
            .get(p.index())
            .and_then(|ph| ph.grants.get(grant as usize))
        {
            self.mass_grant(g, &Cause::At);
        }
    }

    /// A phase-level `at` send.
    fn phase_send(&mut self, send: u32) {
        let Some(p) = self.state.running() else {
            return;
        };
        let Some(s) = self
            .engine
            .plan
            .phases
            .get(p.index())
            .and_then(|ph| ph.sends.get(send as usize))
        else {
            return;
        };
        for u in self.recipients(s.to) {
            if self.meets(u, s.condition.as_ref()) {
                self.send_to(u, s.message, Some(p), None);
            }
        }
    }

    /// When an inactivity send falls due for a participant: `after` past their last
    /// counted completion (or enrollment), and no earlier than the phase's start (a
    /// spell that began before the phase is nudged when it starts).
    fn inactivity_due(&self, u: u32, phase: PhaseId, send: u32) -> Option<DateTime<Utc>> {
        let ph = self.engine.plan.phases.get(phase.index())?;
        let pos = *self
            .engine
            .index
            .inactive
            .get(phase.index())?
            .get(send as usize)?;
        let SendWhen::Inactive { after } = ph.sends.get(pos as usize)?.when else {
            return None;
        };
        let window = self.state.windows.get(phase.index()).copied().flatten()?;
        let since = self.state.user(u)?.last_active?.at();
        let due = self.engine.calendar.add(since, after).max(window.start);
        (due < window.end).then_some(due)
    }

    /// The bit in [`crate::state::User::nudged`] of the message an inactivity send of
    /// `phase` sends (its position among the phase's inactivity sends).
    fn nudge_bit(&self, phase: PhaseId, send: u32) -> u64 {
        let engine = self.engine;
        let message = engine
            .index
            .inactive
            .get(phase.index())
            .and_then(|v| v.get(send as usize))
            .and_then(|&pos| {
                engine
                    .plan
                    .phases
                    .get(phase.index())?
                    .sends
                    .get(pos as usize)
            })
            .map(|s| s.message);
        message
            .and_then(|m| engine.index.nudge_bit.get(m.index()).copied().flatten())
            .map_or(0, |b| 1u64 << b.min(63))
    }

    /// Arms a participant's inactivity sends of `phase` whose message's bit is in `which`
    /// (`u64::MAX`: all of them; after a completion: those sent in the spell it ended).
    pub(crate) fn arm_inactivity(&mut self, u: u32, phase: PhaseId, which: u64) {
        let n = self
            .engine
            .index
            .inactive
            .get(phase.index())
            .map_or(0, Vec::len);
        for send in 0..crate::engine::id32(n) {
            if which & self.nudge_bit(phase, send) == 0 {
                continue;
            }
            if let Some(due) = self.inactivity_due(u, phase, send) {
                self.state.timers.insert(Timer { due, user: u, send });
            }
        }
    }

    /// A due inactivity check: sends if the spell still lasts, else waits for its new end.
    fn inactivity(&mut self, t: Timer) {
        let Some(phase) = self.state.running() else {
            return;
        };
        let bit = self.nudge_bit(phase, t.send);
        if self
            .state
            .user(t.user)
            .is_none_or(|u| u.nudged & bit != 0 || !u.enrolled())
        {
            return;
        }
        let Some(due) = self.inactivity_due(t.user, phase, t.send) else {
            return;
        };
        if due > t.due {
            self.state.timers.insert(Timer { due, ..t });
            return;
        }
        // The spell is used even if the cap or quiet hours then hold the message back.
        if let Some(mut user) = self.state.user_mut(t.user) {
            user.nudged |= bit;
        }
        let send = self
            .engine
            .index
            .inactive
            .get(phase.index())
            .and_then(|v| v.get(t.send as usize))
            .and_then(|&pos| {
                self.engine
                    .plan
                    .phases
                    .get(phase.index())?
                    .sends
                    .get(pos as usize)
            });
        if let Some(s) = send {
            if self.receives(t.user, s.to, s.condition.as_ref()) {
                self.send_to(t.user, s.message, Some(phase), None);
            }
        }
    }

    /// Local midnight in a phase with birthday tasks: completes them for every
    /// participant whose birthday it is.
    fn birthdays(&mut self) {
        let engine = self.engine;
        let Some(phase) = self.state.running() else {
            return;
        };
        let (Some(attr), Some(tasks)) = (
            engine.index.birthday_attr,
            engine.index.birthday_tasks.get(phase.index()),
        ) else {
            return;
        };
        let today = engine.calendar.date(self.now);
        let born: Vec<u32> = (0..crate::engine::id32(self.state.users.len()))
            .filter(|&u| {
                self.state.user(u).is_some_and(|user| {
                    user.enrolled()
                        && matches!(user.attrs().get(attr.index()), Some(Value::Date(d)) if camp_plan::calendar::Calendar::is_birthday(d, today))
                })
            })
            .collect();
        for u in born {
            for &task in tasks {
                // A birthday has no event fields; what it cannot do, it skips.
                let _ = self.complete(u, task, None, &[]);
            }
        }
    }

    /// Ends the running phase now if its `until` holds (budget exhausted, or a
    /// condition over metrics and KPIs).
    pub(crate) fn check_until(&mut self) {
        // Each pass ends one phase; a phase that starts with its condition already true
        // ends at once, so this runs at most once per phase.
        for _ in 0..=self.engine.plan.phases.len() {
            let Some(p) = self.state.running() else {
                return;
            };
            let Some(until) = self
                .engine
                .plan
                .phases
                .get(p.index())
                .and_then(|ph| ph.until.as_ref())
            else {
                return;
            };
            let done = match until {
                Until::BudgetExhausted => self.state.ledger.budget_exhausted,
                Until::Condition { condition } => Totals {
                    plan: &self.engine.plan,
                    metrics: &self.state.metrics,
                    ledger: &self.state.ledger,
                    audience: self.state.audience,
                    participants: self.state.participants(),
                    arm: None,
                }
                .holds(condition),
            };
            if !done {
                return;
            }
            self.state.seq += 1;
            self.end(p);
        }
    }
}
