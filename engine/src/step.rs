//! One step of the engine: the plan, the state it changes, where effects go, and the
//! instant it happens at. The rules (`crate::rules`) are methods of [`Step`].

use crate::effect::{At, Effect};
use crate::engine::{Engine, Output};
use crate::eval;
use crate::state::packed::{ENROLLED_AT, POINTS_SPENT};
use crate::state::{State, UserRef};
use camp_plan::calendar::Day;
use camp_plan::{AttrId, ExperimentId, LeaderboardId, RewardId, TaskId, Value};
use chrono::{DateTime, Utc};

/// What a condition sees of one user (and, in a task's `where`, one event).
pub(crate) struct Facts<'a> {
    engine: &'a Engine,
    user: UserRef<'a>,
    fields: &'a [Value],
    /// The state, the user's number and the instant: for ranks and today's counts.
    at: Option<(&'a State, u32, DateTime<Utc>)>,
    /// The tasks on the event being counted, and which of them counted it (a bit per
    /// position): for `counted(TASK)`.
    counted: (&'a [TaskId], u64),
}

impl<'a> Facts<'a> {
    /// The facts of `user`, with `fields` of the event being counted.
    pub(crate) fn of(engine: &'a Engine, user: UserRef<'a>, fields: &'a [Value]) -> Self {
        Facts {
            engine,
            user,
            fields,
            at: None,
            counted: (&[], 0),
        }
    }

    /// With what needs the state: ranks, and counts of the current local day.
    pub(crate) fn at(mut self, state: &'a State, u: u32, now: DateTime<Utc>) -> Self {
        self.at = Some((state, u, now));
        self
    }

    /// With the tasks on this event that counted it.
    pub(crate) fn counted(mut self, candidates: &'a [TaskId], mask: u64) -> Self {
        self.counted = (candidates, mask);
        self
    }

    fn today(&self) -> Option<Day> {
        self.at.map(|(_, _, now)| self.engine.calendar.day(now))
    }

    fn progress(&self, task: TaskId) -> Option<crate::state::Progress> {
        self.user.packed.task(task).map(|(_, p)| p)
    }
}

impl eval::Facts for Facts<'_> {
    fn attr(&self, attr: AttrId) -> Option<Value> {
        self.user.attrs().get(attr.index())
    }
    fn field(&self, field: u32) -> Option<&Value> {
        self.fields.get(field as usize)
    }
    fn points(&self) -> i64 {
        self.user.points
    }
    fn tier(&self) -> Option<&str> {
        let t = self.user.tier()?;
        self.engine.names.tiers.get(t.index()).map(|n| &**n)
    }
    fn enrolled(&self) -> bool {
        self.user.enrolled()
    }
    fn holds(&self, reward: RewardId) -> u64 {
        self.user.packed.held(reward)
    }
    fn user_id(&self) -> Option<&str> {
        Some(&self.user.id)
    }
    fn earned(&self) -> i64 {
        self.user
            .points
            .saturating_add(self.user.packed.counter(POINTS_SPENT))
    }
    fn enrolled_at(&self) -> Option<DateTime<Utc>> {
        if !self.user.enrolled() {
            return None;
        }
        DateTime::from_timestamp(self.user.packed.counter(ENROLLED_AT), 0)
    }
    fn task_count(&self, task: TaskId) -> Option<i64> {
        Some(self.progress(task).map_or(0, |p| i64::from(p.count)))
    }
    fn task_today(&self, task: TaskId) -> Option<i64> {
        let today = self.today()?;
        Some(
            self.progress(task)
                .filter(|p| p.day == today)
                .map_or(0, |p| i64::from(p.today)),
        )
    }
    fn task_streak(&self, task: TaskId) -> Option<i64> {
        let today = self.today()?;
        Some(
            self.progress(task)
                .filter(|p| p.day == today || p.day.checked_add(1) == Some(today))
                .map_or(0, |p| i64::from(p.streak)),
        )
    }
    fn rank(&self, board: LeaderboardId) -> Option<u32> {
        let (state, u, _) = self.at?;
        let within = self
            .engine
            .plan
            .leaderboards
            .get(board.index())?
            .show_top
            .map_or(usize::MAX, |n| n as usize);
        state.boards.get(board.index())?.rank_of(u, within)
    }
    fn variant(&self, experiment: ExperimentId) -> Option<&str> {
        let v = self.user.variant(experiment.index())?;
        self.engine
            .names
            .variants
            .get(experiment.index())?
            .get(usize::from(v))
            .map(|n| &**n)
    }
    fn counted(&self, task: TaskId) -> bool {
        let (candidates, mask) = self.counted;
        candidates
            .iter()
            .position(|t| *t == task)
            .and_then(|i| mask.checked_shr(u32::try_from(i).ok()?))
            .is_some_and(|bit| bit & 1 == 1)
    }
}

/// One step of the engine: the plan, the state it changes, where effects go, and the
/// instant it happens at.
pub(crate) struct Step<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) state: &'a mut State,
    pub(crate) out: &'a mut Output,
    pub(crate) now: DateTime<Utc>,
    /// How many random choices this step has made: the next one's ordinal
    /// ([`crate::random`]). Zero at the start of every input event and time-driven step.
    pub(crate) draws_made: u32,
    /// Sends due before this instant are suppressed as `stale`, not delivered
    /// ([`Engine::catch_up`]); none for every other step.
    pub(crate) stale_before: Option<DateTime<Utc>>,
    /// The share each recipient of the mass grant firing now gets of each pool it
    /// grants (§3); empty outside a firing ([`Step::firing`]).
    pub(crate) shares: Vec<(camp_plan::RewardId, camp_plan::literal::Money)>,
    /// Where effects go on to while the step runs, once [`crate::engine::SPILL_AT`] have gathered
    /// ([`crate::Spill`]); none: they all wait in the output.
    pub(crate) spill: Option<crate::engine::Spill<'a>>,
}

impl<'a> Step<'a> {
    pub(crate) fn new(
        engine: &'a Engine,
        state: &'a mut State,
        out: &'a mut Output,
        now: DateTime<Utc>,
    ) -> Self {
        Step {
            engine,
            state,
            out,
            now,
            draws_made: 0,
            stale_before: None,
            shares: Vec::new(),
            spill: None,
        }
    }

    pub(crate) fn emit(&mut self, e: Effect) {
        self.out.effects.push(e);
        self.spill_if_full();
    }

    /// Hands the effects gathered so far to the spill once there are
    /// [`crate::engine::SPILL_AT`].
    pub(crate) fn spill_if_full(&mut self) {
        if self.out.effects.len() >= crate::engine::SPILL_AT {
            if let Some(spill) = self.spill.as_mut() {
                spill(&mut self.out.effects);
            }
        }
    }

    /// The instant of this step, as effects write it.
    pub(crate) fn at(&self) -> At {
        At(self.now)
    }
}
