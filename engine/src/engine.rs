//! The engine: a pure, deterministic step function over a [`Plan`] —
//! (state, input, time) → (state, effects). Replay, scenario tests, simulation and the
//! daemon all drive this one engine; the clock is always an argument, never read.
//!
//! - [`Engine::user`] adds or updates a user;
//! - [`Engine::event`] takes one event at an instant (firing every time-driven step due
//!   by then first);
//! - [`Engine::advance`] moves the clock, firing time-driven steps in time order;
//! - the [`State`] is plain data: serialize it to snapshot, [`Engine::restore`] it.
//!
//! The rules live in [`participant`] (enrollment, completions, grants, tiers, goals),
//! [`timeline`] (phase changes, awards, `at` sends, inactivity, birthdays, quiet-hour
//! deferrals) and [`sends`] (holdout, quiet hours, caps, rendering).

use crate::effect::{Effect, Name, RejectReason};
use crate::input::{EventRef, UserLine};
use crate::invariant::guaranteed;
use crate::kpi::Metrics;
use crate::random::{Key, Seed};
use crate::render::Renderer;
use crate::rules::{board, grants, timeline};
use crate::state::index;
use crate::state::packed::Write;
use crate::state::{Agenda, Cursor, Standing, State, User};
use crate::step::{Facts, Step};
use crate::EngineError;
use crate::{eval, hashes};
use camp_plan::calendar::Calendar;
use camp_plan::{
    AttrId, ExperimentId, GrantOn, LeaderboardId, Plan, Score, SendWhen, TaskId, Trigger, ValueType,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// What the engine did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted; its effects were emitted.
    Accepted,
    /// Rejected for this reason (a `reject` effect was emitted); nothing else changed.
    Rejected(RejectReason),
}

/// Why a task whose `on` matched an accepted event did not count it (the daemon's
/// answer lists these, so a client can tell a redemption refused for lack of points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Its `where` did not hold.
    Where,
    /// A `limit` was reached.
    Limit,
    /// Outside its `within` window.
    Window,
    /// Not enough units or points held for its `use` or `give`.
    Balance,
    /// Its `give` has a target who cannot receive (unknown, not eligible, held out, the
    /// giver, or at their `per_user`).
    Target,
    /// Its `open` or `join` cannot be carried out (a key already opened; no open,
    /// unfilled group with that key; already a member).
    Group,
}

/// A task that matched an event's type but did not count it, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unmatched {
    /// The task.
    pub task: Name,
    /// Why it did not count the event.
    pub why: Why,
}

/// What a step produced: effects in order. Nothing is dropped silently: a send that
/// cannot go out is a `suppress` effect with its reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// Effects, in the order they happened.
    pub effects: Vec<Effect>,
    /// The tasks of the last event taken ([`Engine::event`]) whose `on` matched it but
    /// that did not count it, in the order written, with why. Cleared by each event.
    pub unmatched: Vec<Unmatched>,
}

/// Where a step hands its effects while it runs, so that a step reaching a million
/// users (a dated grant or send to the whole audience) never holds a million effects: a
/// replay writes them out as it goes. It is called with the effects gathered so far
/// whenever [`SPILL_AT`] have, in order, and takes them (leaves the vector
/// empty). The effects are the same, in the same order, as without it; the daemon
/// keeps a step's effects together (they are stored with the state they lead to) and
/// passes none.
pub type Spill<'s> = &'s mut dyn FnMut(&mut Vec<Effect>);

/// A spill borrowed for less time (a coercion the compiler makes only outside an
/// `Option`).
fn shorter<'a>(
    s: &'a mut (dyn FnMut(&mut Vec<Effect>) + '_),
) -> &'a mut (dyn FnMut(&mut Vec<Effect>) + 'a) {
    s
}

/// How many effects a step gathers before it hands them to its [`Spill`], if it has
/// one: far more than an event makes, far fewer than a step that reaches the audience.
pub const SPILL_AT: usize = 4096;

/// The plan's names, shared by every effect that mentions them.
#[derive(Debug)]
pub(crate) struct Names {
    pub(crate) rewards: Vec<Name>,
    pub(crate) tasks: Vec<Name>,
    pub(crate) messages: Vec<Name>,
    pub(crate) channels: Vec<Name>,
    pub(crate) phases: Vec<Name>,
    pub(crate) boards: Vec<Name>,
    pub(crate) tiers: Vec<Name>,
    /// Goals of all phases, in phase order.
    pub(crate) goals: Vec<Name>,
    pub(crate) locales: Vec<Name>,
    /// Experiments, in the plan's order.
    pub(crate) experiments: Vec<Name>,
    /// [experiment]: its variants' names, in order.
    pub(crate) variants: Vec<Vec<Name>>,
}

/// How one experiment splits its participants into arms.
#[derive(Debug)]
pub(crate) struct ArmSplit {
    /// The key of the experiment's stable hash ([`hashes::experiment_key`]).
    pub(crate) key: u64,
    /// Where each variant's share ends, in parts per million, the shares laid end to
    /// end in order (the last ends at a million whatever the weights).
    pub(crate) ends: Vec<u64>,
}

/// Lookups built once from the plan, so a step never searches it.
#[derive(Debug)]
pub(crate) struct Index {
    /// [experiment]: how its participants are split into arms.
    pub(crate) arms: Vec<ArmSplit>,
    /// [phase][event]: tasks of the phase that count the event type.
    pub(crate) counting: Vec<Vec<Vec<TaskId>>>,
    /// [phase][event]: leaderboards of the phase that score the event type.
    pub(crate) scoring: Vec<Vec<Vec<LeaderboardId>>>,
    /// [phase]: leaderboards that score points.
    pub(crate) points_boards: Vec<Vec<LeaderboardId>>,
    /// [task]: leaderboards that score its completions (`count(TASK)`).
    pub(crate) task_boards: Vec<Vec<LeaderboardId>>,
    /// [reward]: leaderboards that score units held (`holds(REWARD)`).
    pub(crate) holds_boards: Vec<Vec<LeaderboardId>>,
    /// [phase]: tasks `on enroll`.
    pub(crate) enroll_tasks: Vec<Vec<TaskId>>,
    /// [phase]: tasks `on birthday`.
    pub(crate) birthday_tasks: Vec<Vec<TaskId>>,
    /// [phase]: the index of the phase's first goal among all goals.
    pub(crate) goal_base: Vec<u32>,
    /// [phase]: the positions in the phase's sends of its `after D inactive` sends.
    pub(crate) inactive: Vec<Vec<u32>>,
    /// [message]: its bit in [`crate::state::User::nudged`] if an inactivity send of any
    /// phase sends it (a message goes out at most once per spell, whichever statement
    /// and phase would send it).
    pub(crate) nudge_bit: Vec<Option<u8>>,
    /// The `locale: string` attribute.
    pub(crate) locale_attr: Option<AttrId>,
    /// The `birthday: date` attribute.
    pub(crate) birthday_attr: Option<AttrId>,
    /// Per message: whether a template mentions `rank` (ranks cost a lookup).
    pub(crate) uses_rank: Vec<bool>,
    /// Per message: whether a template mentions task progress (`participant.count`,
    /// `.today`, `.streak`), which costs a look at every task.
    pub(crate) uses_progress: Vec<bool>,
    /// Per task: whether it uses, gives, opens or joins (its completion then needs
    /// them all to be possible, [`Step::feasible`](crate::step::Step)).
    pub(crate) guarded: Vec<bool>,
    /// Per event type: its `user` fields, which must name known users.
    pub(crate) user_fields: Vec<Vec<u32>>,
    /// Whether anything reads `participant.enrolled_at` or a task's window counts from
    /// enrollment (only then is the enrollment instant kept).
    pub(crate) keeps_enrolled_at: bool,
    /// Which measures each event type, task and message feeds.
    pub(crate) measures: crate::measures::MeasureIndex,
    /// Per-participant timers (`send M D after enroll|TASK`), by what starts them.
    pub(crate) timers: crate::rules::timers::TimerIndex,
    /// Event type name → index (looked up for every event: a fast hash, not SipHash;
    /// the names are the plan's own, so there is nothing to flood).
    pub(crate) events: HashMap<String, u32, foldhash::fast::FixedState>,
}

/// A compiled campaign, ready to run.
#[derive(Debug)]
pub struct Engine {
    pub(crate) plan: Plan,
    pub(crate) calendar: Calendar,
    pub(crate) renderer: Renderer,
    pub(crate) names: Names,
    pub(crate) index: Index,
    /// Seeds event-id fingerprints.
    pub(crate) fingerprint_seed: u64,
    /// The campaign's secret seed: every draw and raffle comes from it.
    pub(crate) seed: Seed,
    /// The seed as an HMAC key, prepared once.
    pub(crate) key: Key,
    /// The holdout share in parts per million.
    pub(crate) holdout_ppm: u64,
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<Name> {
    items.iter().map(|i| Name::from(name(i))).collect()
}

fn attr(plan: &Plan, name: &str, ty: ValueType) -> Option<AttrId> {
    let i = plan
        .attrs
        .iter()
        .position(|a| a.name == name && a.ty == ty)?;
    Some(AttrId(u32::try_from(i).ok()?))
}

pub(crate) fn id32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Index {
    pub(crate) fn new(plan: &Plan) -> Self {
        let phases = plan.phases.len();
        let events = plan.events.len();
        let mut counting = vec![vec![Vec::new(); events]; phases];
        let mut enroll_tasks = vec![Vec::new(); phases];
        let mut birthday_tasks = vec![Vec::new(); phases];
        for (i, t) in plan.tasks.iter().enumerate() {
            let id = TaskId(id32(i));
            let p = t.phase.index();
            match t.on {
                Trigger::Event(e) => {
                    if let Some(slot) = counting.get_mut(p).and_then(|v| v.get_mut(e.index())) {
                        slot.push(id);
                    }
                }
                Trigger::Enroll => {
                    if let Some(v) = enroll_tasks.get_mut(p) {
                        v.push(id);
                    }
                }
                Trigger::Birthday => {
                    if let Some(v) = birthday_tasks.get_mut(p) {
                        v.push(id);
                    }
                }
            }
        }
        let mut scoring = vec![vec![Vec::new(); events]; phases];
        let mut points_boards = vec![Vec::new(); phases];
        let mut task_boards = vec![Vec::new(); plan.tasks.len()];
        let mut holds_boards = vec![Vec::new(); plan.rewards.len()];
        for (i, lb) in plan.leaderboards.iter().enumerate() {
            let id = LeaderboardId(id32(i));
            let p = lb.phase.index();
            match lb.score {
                Score::Points => {
                    if let Some(v) = points_boards.get_mut(p) {
                        v.push(id);
                    }
                }
                Score::Count { event } | Score::Sum { event, .. } => {
                    if let Some(slot) = scoring.get_mut(p).and_then(|v| v.get_mut(event.index())) {
                        slot.push(id);
                    }
                }
                Score::Completions { task } => {
                    if let Some(v) = task_boards.get_mut(task.index()) {
                        v.push(id);
                    }
                }
                Score::Holds { reward } => {
                    if let Some(v) = holds_boards.get_mut(reward.index()) {
                        v.push(id);
                    }
                }
            }
        }
        let mut goal_base = Vec::with_capacity(phases);
        let mut goals = 0u32;
        for p in &plan.phases {
            goal_base.push(goals);
            goals += id32(p.goals.len());
        }
        let inactive = plan
            .phases
            .iter()
            .map(|p| {
                p.sends
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| matches!(s.when, SendWhen::Inactive { .. }))
                    .map(|(i, _)| id32(i))
                    .collect()
            })
            .collect();
        let timers = crate::rules::timers::TimerIndex::of(plan);
        let mut nudge_bit = vec![None; plan.messages.len()];
        let mut next = 0u8;
        for s in plan.phases.iter().flat_map(|p| &p.sends) {
            if let (SendWhen::Inactive { .. }, Some(slot)) =
                (&s.when, nudge_bit.get_mut(s.message.index()))
            {
                if slot.is_none() {
                    *slot = Some(next);
                    next = next.saturating_add(1);
                }
            }
        }
        let mentions = |m: &camp_plan::Message, words: &[&str]| {
            m.all_templates().any(|(_, t)| {
                words.iter().any(|w| {
                    t.body.contains(w) || t.subject.as_deref().is_some_and(|s| s.contains(w))
                })
            })
        };
        let plan_json = serde_json::to_string(plan).unwrap_or_default();
        let arms = plan
            .experiments
            .iter()
            .map(|x| {
                let mut end = 0u64;
                let mut bounds: Vec<u64> = x
                    .variants
                    .iter()
                    .map(|v| {
                        end = end.saturating_add(grants::ppm(v.weight)).min(1_000_000);
                        end
                    })
                    .collect();
                if let Some(last) = bounds.last_mut() {
                    *last = 1_000_000;
                }
                ArmSplit {
                    key: hashes::experiment_key(&plan.campaign.id, &x.name),
                    ends: bounds,
                }
            })
            .collect();
        Index {
            arms,
            task_boards,
            holds_boards,
            uses_progress: plan
                .messages
                .iter()
                .map(|m| mentions(m, &["count", "today", "streak"]))
                .collect(),
            guarded: plan
                .tasks
                .iter()
                .map(|t| {
                    t.actions.iter().any(|a| {
                        matches!(
                            a,
                            camp_plan::Action::Use { .. }
                                | camp_plan::Action::Give { .. }
                                | camp_plan::Action::Open { .. }
                                | camp_plan::Action::Join { .. }
                        )
                    })
                })
                .collect(),
            user_fields: plan
                .events
                .iter()
                .map(|e| {
                    e.fields
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.ty == ValueType::User)
                        .map(|(i, _)| id32(i))
                        .collect()
                })
                .collect(),
            // Conditions are deep trees: their JSON says whether any reads the path.
            keeps_enrolled_at: plan_json.contains("\"enrolled_at\"")
                || plan.messages.iter().any(|m| mentions(m, &["enrolled_at"]))
                || timers.window_from_enroll
                || plan
                    .measures
                    .iter()
                    .any(|m| matches!(m.of, camp_plan::Measured::Returning { .. })),
            measures: crate::measures::MeasureIndex::new(plan),
            timers,
            nudge_bit,
            counting,
            scoring,
            points_boards,
            enroll_tasks,
            birthday_tasks,
            goal_base,
            inactive,
            locale_attr: attr(plan, "locale", ValueType::String),
            birthday_attr: attr(plan, "birthday", ValueType::Date),
            uses_rank: plan
                .messages
                .iter()
                .map(|m| {
                    m.all_templates().any(|(_, t)| {
                        t.body.contains("rank")
                            || t.subject.as_deref().is_some_and(|s| s.contains("rank"))
                    })
                })
                .collect(),
            events: plan
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| (e.name.clone(), id32(i)))
                .collect(),
        }
    }
}

impl Engine {
    /// Prepares `plan` to run with the seed derived from the plan
    /// ([`Seed::of_plan`]): what offline runs use when no seed is given.
    pub fn new(plan: Plan) -> Result<Engine, EngineError> {
        let seed = Seed::of_plan(&plan);
        Engine::with_seed(plan, seed)
    }

    /// Prepares `plan` to run with the campaign's secret `seed` (language §13.6): parses
    /// its templates and indexes it.
    pub fn with_seed(plan: Plan, seed: Seed) -> Result<Engine, EngineError> {
        let tz: Tz = plan
            .campaign
            .timezone
            .parse()
            .map_err(|_| EngineError::TimeZone(plan.campaign.timezone.clone()))?;
        let goals = plan.phases.iter().map(|p| p.goals.len()).sum();
        let mut nudges: Vec<u32> = plan
            .phases
            .iter()
            .flat_map(|p| &p.sends)
            .filter(|s| matches!(s.when, SendWhen::Inactive { .. }))
            .map(|s| s.message.0)
            .collect();
        nudges.sort_unstable();
        nudges.dedup();
        if nudges.len() > 64 {
            return Err(EngineError::TooMany {
                what: "messages sent on inactivity",
                count: nudges.len(),
                max: 64,
            });
        }
        for (what, count) in [
            ("tasks", plan.tasks.len()),
            ("rewards", plan.rewards.len()),
            ("leaderboards", plan.leaderboards.len()),
            ("goals", goals),
            ("event types", plan.events.len()),
            ("experiments", plan.experiments.len()),
        ] {
            if count > crate::state::packed::MAX_ENTRIES {
                return Err(EngineError::TooMany {
                    what,
                    count,
                    max: crate::state::packed::MAX_ENTRIES,
                });
            }
        }
        if let Some(x) = plan
            .experiments
            .iter()
            .find(|x| x.variants.len() > camp_plan::MAX_VARIANTS)
        {
            return Err(EngineError::TooMany {
                what: "variants in an experiment",
                count: x.variants.len(),
                max: camp_plan::MAX_VARIANTS,
            });
        }
        let renderer = Renderer::new(&plan)?;
        let names = Names {
            rewards: names(&plan.rewards, |r| &r.name),
            tasks: names(&plan.tasks, |t| &t.name),
            messages: names(&plan.messages, |m| &m.name),
            channels: names(&plan.messages, |m| &m.channel),
            phases: names(&plan.phases, |p| &p.name),
            boards: names(&plan.leaderboards, |l| &l.name),
            tiers: names(&plan.tiers, |t| &t.name),
            goals: plan
                .phases
                .iter()
                .flat_map(|p| p.goals.iter().map(|g| Name::from(g.name.as_str())))
                .collect(),
            locales: names(&plan.campaign.locales, String::as_str),
            experiments: names(&plan.experiments, |x| &x.name),
            variants: plan
                .experiments
                .iter()
                .map(|x| names(&x.variants, |v| &v.name))
                .collect(),
        };
        let index = Index::new(&plan);
        let holdout_ppm = grants::ppm(plan.campaign.holdout_percent);
        Ok(Engine {
            calendar: Calendar::new(tz),
            renderer,
            names,
            index,
            fingerprint_seed: seed.fingerprint_key(),
            holdout_ppm,
            key: Key::new(&seed),
            seed,
            plan,
        })
    }

    /// The campaign's calendar (its time zone's local days and times).
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The seed its draws and raffles come from.
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The plan it runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The state before anything happened.
    pub fn start(&self) -> State {
        State {
            plan_hash: self.plan.source_hash.clone(),
            clock: None,
            cursor: Cursor::Before,
            windows: vec![None; self.plan.phases.len()],
            agenda: Agenda::default(),
            users: crate::state::Users::with_experiments(self.plan.experiments.len()),
            index: crate::state::UserIndex::default(),
            ledger: grants::Ledger::new(&self.plan),
            denied: vec![0; self.plan.rewards.len()],
            metrics: Metrics::new(&self.plan),
            boards: self
                .plan
                .leaderboards
                .iter()
                .map(|lb| board::Board::new(lb.show_top))
                .collect(),
            seq: 0,
            deferred: VecDeque::new(),
            timers: BTreeSet::new(),
            dues: BTreeSet::new(),
            audience: 0,
            enrolled: Vec::new(),
            groups: crate::rules::groups::Groups {
                kinds: vec![Default::default(); self.plan.groups.len()],
                expiries: Default::default(),
            },
            joining: Vec::new(),
            winners: vec![Vec::new(); self.plan.raffles.len()],
            per_field: Default::default(),
        }
    }

    /// Takes a state back from a snapshot: checks it belongs to this plan and rebuilds
    /// its index.
    pub fn restore(&self, mut state: State) -> Result<State, EngineError> {
        let fits = state.plan_hash == self.plan.source_hash
            && state.windows.len() == self.plan.phases.len()
            && state.ledger.issued.len() == self.plan.rewards.len()
            && state.denied.len() == self.plan.rewards.len()
            && state.boards.len() == self.plan.leaderboards.len()
            && state.metrics.count.len() == self.plan.events.len();
        if !fits {
            return Err(EngineError::Snapshot {
                expected: self.plan.source_hash.clone(),
                found: state.plan_hash,
            });
        }
        // A snapshot from before groups, raffles and revokes has none of them yet.
        state
            .groups
            .kinds
            .resize_with(self.plan.groups.len(), Default::default);
        state.winners.resize_with(self.plan.raffles.len(), Vec::new);
        state.ledger.returned.resize(self.plan.rewards.len(), 0);
        state.metrics.fit(&self.plan);
        state.users.fit_experiments(self.plan.experiments.len());
        state.reindex();
        Ok(state)
    }

    /// User number `user`'s variant of `experiment` (its index among the experiment's
    /// variants), if they have one: participants get one of each experiment when they
    /// enroll; no one else has any.
    pub fn variant_of(&self, state: &State, user: u32, experiment: ExperimentId) -> Option<u16> {
        state.variant(user, experiment)
    }

    /// Adds a user or updates their attributes. Eligibility is decided again for users
    /// not enrolled; a participant stays one. An attribute of the wrong type changes
    /// nothing.
    pub fn user(&self, state: &mut State, line: &UserLine) -> Result<(), crate::input::AttrError> {
        let attrs = crate::input::user_attrs(&self.plan, &line.attrs)?;
        let i = match state.find(&line.id) {
            Some(i) => {
                if let Some(mut user) = state.user_mut(i) {
                    user.set_attrs(attrs.as_packed().bytes());
                }
                i
            }
            None => {
                state.seq += 1;
                state.add_user(
                    User::new(smol_str::SmolStr::new(&line.id), Standing::Ineligible),
                    attrs.as_packed(),
                )
            }
        };
        guaranteed!(let Some(user) = state.user(i), "a user just added or found is there" else return Ok(()));
        if user.enrolled() {
            return Ok(());
        }
        let was_eligible = user.eligible();
        let eligible = self
            .plan
            .campaign
            .audience
            .as_ref()
            .is_none_or(|a| eval::holds(&self.plan, a, &Facts::of(self, user, &[])));
        let held_out = hashes::holdout_point(&self.plan.campaign.id, &user.id) < self.holdout_ppm;
        guaranteed!(let Some(mut user) = state.user_mut(i), "a user just added or found is there" else return Ok(()));
        let was_held_out = user.standing == Standing::Holdout;
        user.standing = match (eligible, held_out) {
            (false, _) => Standing::Ineligible,
            (true, true) => Standing::Holdout,
            (true, false) => Standing::Eligible,
        };
        match (was_held_out, user.standing == Standing::Holdout) {
            (false, true) => state.metrics.held_out += 1,
            (true, false) => state.metrics.held_out = state.metrics.held_out.saturating_sub(1),
            _ => {}
        }
        match (was_eligible, eligible) {
            (false, true) => state.audience += 1,
            (true, false) => state.audience = state.audience.saturating_sub(1),
            _ => {}
        }
        // `enroll audience`: known and eligible once the campaign has started, they
        // enroll at the engine's next step (before it were, the start enrolls them).
        if self.plan.campaign.enroll_audience
            && eligible
            && !held_out
            && state.cursor != crate::state::Cursor::Before
            && !state.joining.contains(&i)
        {
            state.joining.push(i);
        }
        Ok(())
    }

    /// Takes one event at `now` (replay: the event's own time; the daemon: its clock).
    /// Time-driven steps due by `now` fire first. The clock never goes back: an earlier
    /// `now` counts as the current clock.
    pub fn event<'a>(
        &self,
        state: &mut State,
        line: impl Into<EventRef<'a>>,
        now: DateTime<Utc>,
        out: &mut Output,
    ) -> Verdict {
        self.event_spilling(state, line, now, out, None)
    }

    /// [`Engine::event`], handing effects to `spill` while it runs ([`Spill`]).
    pub fn event_spilling<'a>(
        &self,
        state: &mut State,
        line: impl Into<EventRef<'a>>,
        now: DateTime<Utc>,
        out: &mut Output,
        mut spill: Option<Spill<'_>>,
    ) -> Verdict {
        let now = state.clock.map_or(now, |c| c.max(now));
        self.advance_spilling(state, now, out, spill.as_deref_mut().map(shorter));
        out.unmatched.clear();
        let mut step = Step::new(self, state, out, now);
        step.spill = spill.map(shorter);
        step.event(line.into())
    }

    /// Looks up the users of upcoming events, and reads (changing nothing) what taking
    /// them will touch: each user's record and packed block. A replay warms a window of
    /// events before it takes them. With a million users those reads, not the rules,
    /// are most of an event's time, and each lookup is a chain of three (an index slot,
    /// the record it names, the block the record names). So it goes stage by stage over
    /// the whole window, and each stage first works out every address, then reads them
    /// all in a loop of a few instructions a read: the processor can only look so far
    /// ahead, and the reads must be close together to be waited for together. Appends
    /// each user's number (for [`EventRef::user_number`]) to `found`, and returns a
    /// value to keep the reads from being optimized away.
    pub fn warm(&self, state: &State, users: &[&str], found: &mut Vec<Option<u32>>) -> u64 {
        let index = &state.index;
        let probes: Vec<index::Probe> = users.iter().map(|id| index.probe(id)).collect();
        let mut warmth = probes
            .iter()
            .fold(0u64, |w, &p| w ^ u64::from(index.first_slot(p)));
        let records: Vec<&User> = probes
            .iter()
            .filter_map(|&p| index.candidate(p))
            .filter_map(|n| state.users.record(n as usize))
            .collect();
        warmth = records.iter().fold(warmth, |w, u| w ^ u.touch());
        let start = found.len();
        found.extend(
            users
                .iter()
                .zip(&probes)
                .map(|(id, &p)| index.find(&state.users, id, p)),
        );
        let blocks: Vec<crate::state::packed::Packed<'_>> = found
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&n| state.user(n?))
            .map(|u| u.packed)
            .collect();
        // A block is a few lines; a long one (a participant of thousands of events) is
        // read in part, and its fingerprints are searched, not scanned, anyway.
        let lines = blocks
            .iter()
            .map(crate::state::packed::Packed::lines)
            .max()
            .unwrap_or(0)
            .min(8);
        for line in 0..lines {
            warmth = blocks
                .iter()
                .fold(warmth, |w, b| w ^ u64::from(b.line(line)));
        }
        // Variants live beside the records, not in them: an enrollment writes them and
        // every measure split by an experiment reads them.
        if !self.plan.experiments.is_empty() {
            warmth = found
                .get(start..)
                .unwrap_or(&[])
                .iter()
                .filter_map(|&n| state.users.variant(n? as usize, 0))
                .fold(warmth, |w, v| w ^ u64::from(v));
        }
        warmth
    }

    /// Moves the clock to `to`, firing every time-driven step due by then, in order.
    pub fn advance(&self, state: &mut State, to: DateTime<Utc>, out: &mut Output) {
        self.advance_spilling(state, to, out, None);
    }

    /// [`Engine::advance`], handing effects to `spill` while it runs ([`Spill`]).
    pub fn advance_spilling(
        &self,
        state: &mut State,
        to: DateTime<Utc>,
        out: &mut Output,
        spill: Option<Spill<'_>>,
    ) {
        let now = state.clock.map_or(to, |c| c.max(to));
        let mut step = Step::new(self, state, out, now);
        step.spill = spill.map(shorter);
        step.advance(now);
    }

    /// Moves the clock to `to` as [`Engine::advance`] does, except that a send due
    /// before `stale_before` is not delivered: it is suppressed with reason `stale`
    /// (and counts toward no cap). Grants, phase changes and every other step apply as
    /// usual. This is the daemon's catch-up after downtime (`--catch-up-window`); the
    /// instant is an argument like every other time, so a replay of the daemon's log
    /// does the same.
    pub fn catch_up(
        &self,
        state: &mut State,
        to: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        out: &mut Output,
    ) {
        let now = state.clock.map_or(to, |c| c.max(to));
        let mut step = Step::new(self, state, out, now);
        step.stale_before = Some(stale_before);
        step.advance(now);
    }

    /// When the next time-driven step is due, if any is left.
    pub fn next_due(&self, state: &State) -> Option<DateTime<Utc>> {
        timeline::next_due(self, state)
    }

    /// Fires every time-driven step left: the rest of the campaign, and any sends
    /// deferred past its end.
    pub fn finish(&self, state: &mut State, out: &mut Output) {
        self.finish_spilling(state, out, None);
    }

    /// [`Engine::finish`], handing effects to `spill` while it runs ([`Spill`]).
    pub fn finish_spilling(
        &self,
        state: &mut State,
        out: &mut Output,
        mut spill: Option<Spill<'_>>,
    ) {
        while let Some(t) = self.next_due(state) {
            self.advance_spilling(state, t, out, spill.as_deref_mut().map(shorter));
        }
    }

    /// The grants of a phase made `on enroll` or `on enter`.
    pub(crate) fn grants_on(
        &self,
        phase: usize,
        on: GrantOn,
    ) -> impl Iterator<Item = &camp_plan::PhaseGrant> + '_ {
        self.plan
            .phases
            .get(phase)
            .into_iter()
            .flat_map(move |p| p.grants.iter())
            .filter(move |g| g.on == on)
    }
}
