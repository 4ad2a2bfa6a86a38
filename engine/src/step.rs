//! One step of the engine: the plan, the state it changes, where effects go, and the
//! instant it happens at. The rules (`crate::rules`) are methods of [`Step`].

use crate::effect::{At, Effect};
use crate::engine::{Engine, Output};
use crate::eval;
use crate::state::{State, UserRef};
use camp_plan::{AttrId, RewardId, Value};
use chrono::{DateTime, Utc};

/// What a condition sees of one user (and, in a task's `where`, one event).
pub(crate) struct Facts<'a> {
    engine: &'a Engine,
    user: UserRef<'a>,
    fields: &'a [Value],
}

impl<'a> Facts<'a> {
    /// The facts of `user`, with `fields` of the event being counted.
    pub(crate) fn of(engine: &'a Engine, user: UserRef<'a>, fields: &'a [Value]) -> Self {
        Facts {
            engine,
            user,
            fields,
        }
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
        }
    }

    pub(crate) fn emit(&mut self, e: Effect) {
        self.out.effects.push(e);
    }

    /// The instant of this step, as effects write it.
    pub(crate) fn at(&self) -> At {
        At(self.now)
    }
}
