//! Measures (language §12): the metrics the plan keeps slot by slot — filtered
//! `count`/`unique`/`sum`, `repeat`, `returning`, `nps`, `completions`, `sent`, and
//! every metric of a KPI reported per arm — kept up to date as events, completions and
//! sends happen, for the whole campaign and per arm. Reading one never walks users.
//!
//! Per-user facts (a filtered `unique`'s "counted already", a `repeat`'s count so far,
//! a `returning`'s "came back", an `nps` answer, a mean's per-user total) live in the
//! user's packed counters, and only for the measures that need them: a campaign
//! without such measures keeps nothing more per participant.

use crate::eval::arithmetic;
use crate::kpi::as_decimal;
use crate::state::packed::{Write, ENROLLED_AT};
use crate::state::{Standing, State, UserRef};
use crate::step::{Facts, Step};
use camp_plan::{Arms, Measure, Measured, Plan, Value};
use chrono::DateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The bit of an unfiltered `unique`'s fact that marks a user not counted over the
/// campaign yet (over participants only, they were not a participant at their first
/// event of the type); the low bits are its arms'.
const NOT_YET: i64 = 1 << 62;

/// The packed counter holding a user's fact for measure `m`: above every reward's
/// counter (`units_out`), below every task's (`first_done`, the top bit).
fn user_key(m: usize) -> u32 {
    (1 << 30) | (m as u32 & 0xFFFF)
}

/// A measure's running total over one population (the campaign, or one arm).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Events, users, completions or sends counted; for `nps`, users who answered.
    #[serde(default)]
    pub n: u64,
    /// For `sum`: the sum (`None` for a field that does not add up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<Value>,
    /// For `nps`: users whose latest answer is 9 or 10.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub promoters: u64,
    /// For `nps`: users whose latest answer is 0 to 6.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub detractors: u64,
    /// For a per-user mean: the sum of the squares of the users' totals.
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub sum_sq: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f(n: &f64) -> bool {
    *n == 0.0
}

/// One measure: the campaign's total and, per arms it is split by, per arm.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Slot {
    /// Over the whole campaign.
    pub all: Tally,
    /// Per entry of the measure's `arms`, per arm (in [`arm_names`] order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arms: Vec<Vec<Tally>>,
}

impl Slot {
    /// An empty slot for `m`.
    pub fn new(plan: &Plan, m: &Measure) -> Self {
        let empty = Tally {
            sum: match m.of {
                Measured::Sum { event, field } => plan
                    .events
                    .get(event.index())
                    .and_then(|e| e.fields.get(field as usize))
                    .and_then(|f| crate::kpi::zero(plan, f.ty)),
                _ => None,
            },
            ..Tally::default()
        };
        Slot {
            all: empty.clone(),
            arms: m
                .arms
                .iter()
                .map(|a| vec![empty.clone(); arm_names(plan, *a).len()])
                .collect(),
        }
    }
}

/// The names of the arms of `arms`, the control first: the comparisons are of the
/// later arms against the first.
pub fn arm_names(plan: &Plan, arms: Arms) -> Vec<&str> {
    match arms {
        // The holdout first: the difference is the campaign's lift over doing nothing.
        Arms::Holdout => vec!["holdout", "rest"],
        // The variants in the order written: the first is the control.
        Arms::Experiment { experiment } => plan
            .experiments
            .get(experiment.index())
            .map(|x| x.variants.iter().map(|v| v.name.as_str()).collect())
            .unwrap_or_default(),
    }
}

/// The arm of `arms` user `user` is in, if any: a user without a variant (not a
/// participant) is in no arm of an experiment.
fn arm_of(arms: Arms, user: &UserRef<'_>) -> Option<usize> {
    match arms {
        Arms::Holdout => Some(usize::from(user.standing != Standing::Holdout)),
        Arms::Experiment { experiment } => user.variant(experiment.index()).map(usize::from),
    }
}

/// How many users are in each arm of `arms` now: for the holdout, the eligible users
/// held out and the others; for an experiment, the participants given each variant.
pub fn arm_sizes(plan: &Plan, arms: Arms, state: &State) -> Vec<u64> {
    match arms {
        Arms::Holdout => {
            let held = state.metrics.held_out;
            vec![held, state.audience.saturating_sub(held)]
        }
        Arms::Experiment { experiment } => {
            let n = arm_names(plan, arms).len();
            let mut sizes = state
                .metrics
                .assigned
                .get(experiment.index())
                .cloned()
                .unwrap_or_default();
            sizes.resize(n, 0);
            sizes
        }
    }
}

/// The value of a tally of `of`; `None` when it has none (an `nps` nobody answered).
pub fn value(of: &Measured, t: &Tally) -> Option<Value> {
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    match of {
        Measured::Sum { .. } => t.sum.clone(),
        Measured::Nps { .. } => {
            if t.n == 0 {
                return None;
            }
            let net = Decimal::from(t.promoters) - Decimal::from(t.detractors);
            let score = net
                .checked_mul(Decimal::ONE_HUNDRED)?
                .checked_div(Decimal::from(t.n))?;
            Some(Value::Decimal(score.normalize()))
        }
        _ => Some(int(t.n)),
    }
}

/// Where measures are fed from: per event type, task and message, the measures over
/// it (indices into the plan's measures).
#[derive(Debug, Default)]
pub(crate) struct MeasureIndex {
    /// [event type]: measures over its events.
    pub(crate) events: Vec<Vec<u32>>,
    /// [task]: `completions(TASK)` measures.
    pub(crate) tasks: Vec<Vec<u32>>,
    /// [message]: `sent(MESSAGE)` measures.
    pub(crate) messages: Vec<Vec<u32>>,
}

impl MeasureIndex {
    /// The index of `plan`'s measures.
    pub(crate) fn new(plan: &Plan) -> Self {
        let mut ix = MeasureIndex {
            events: vec![Vec::new(); plan.events.len()],
            tasks: vec![Vec::new(); plan.tasks.len()],
            messages: vec![Vec::new(); plan.messages.len()],
        };
        for (i, m) in plan.measures.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { continue };
            let list = match m.of {
                Measured::Count { event }
                | Measured::Unique { event }
                | Measured::Sum { event, .. }
                | Measured::Repeat { event }
                | Measured::Returning { event, .. }
                | Measured::Nps { event, .. } => ix.events.get_mut(event.index()),
                Measured::Completions { task } => ix.tasks.get_mut(task.index()),
                Measured::Sent { message } => ix.messages.get_mut(message.index()),
            };
            if let Some(list) = list {
                list.push(i);
            }
        }
        ix
    }
}

/// What one happening adds to a measure.
enum Bump {
    /// One more event (or completion, or send); `per_user`: the user's total is kept.
    One { per_user: bool },
    /// An amount added to a sum; `per_user` as above.
    Amount { value: Value, per_user: bool },
    /// One more user.
    User,
    /// A user's latest `nps` answer changed from `old` (if any) to `new`.
    Answer { old: Option<i64>, new: i64 },
}

/// Adds `v` to a running sum (money in another currency than the first one seen does
/// not add up with it).
pub(crate) fn add_value(sum: &mut Option<Value>, v: &Value) {
    *sum = match (sum.take(), v) {
        (None, Value::Int(_) | Value::Decimal(_) | Value::Money(_)) => Some(v.clone()),
        (Some(Value::Money(a)), Value::Money(b)) if a.currency != b.currency => {
            Some(Value::Money(a))
        }
        (Some(acc), v) => {
            let keep = acc.clone();
            Some(arithmetic(camp_plan::ArithOp::Add, acc, v.clone()).unwrap_or(keep))
        }
        (None, _) => None,
    };
}

fn nps_class(score: i64) -> (u64, u64) {
    match score {
        9..=10 => (1, 0),
        0..=6 => (0, 1),
        _ => (0, 0),
    }
}

impl Tally {
    fn bump(&mut self, b: &Bump, square: f64) {
        match b {
            Bump::One { .. } | Bump::User => self.n = self.n.saturating_add(1),
            Bump::Amount { value, .. } => add_value(&mut self.sum, value),
            Bump::Answer { old, new } => {
                if let Some(old) = old {
                    let (p, d) = nps_class(*old);
                    self.promoters = self.promoters.saturating_sub(p);
                    self.detractors = self.detractors.saturating_sub(d);
                } else {
                    self.n = self.n.saturating_add(1);
                }
                let (p, d) = nps_class(*new);
                self.promoters = self.promoters.saturating_add(p);
                self.detractors = self.detractors.saturating_add(d);
            }
        }
        self.sum_sq += square;
    }
}

impl Step<'_> {
    /// Feeds an accepted event of type `kind` from user `u` (after its rules ran, so an
    /// enrolling event counts in the arm the enrollment put the user in) to the
    /// measures over that type. `first`: the user never sent one before.
    pub(crate) fn measure_event(&mut self, u: u32, kind: u32, fields: &[Value], first: bool) {
        let engine = self.engine;
        let Some(list) = engine.index.measures.events.get(kind as usize) else {
            return;
        };
        for &m in list {
            let m = m as usize;
            let Some(measure) = engine.plan.measures.get(m) else {
                continue;
            };
            if let Some(filter) = &measure.filter {
                let holds = self.state.user(u).is_some_and(|user| {
                    let facts = Facts::of(engine, user, fields).at(self.state, u, self.now);
                    crate::eval::holds(&engine.plan, filter, &facts)
                });
                if !holds {
                    continue;
                }
            }
            // Over participants only: a holdout user's or a not-yet-enrolled user's
            // event counts nowhere (a unique user counts from their first such event
            // as a participant, below).
            let member = !measure.participants_only || self.participates(u);
            let bump = match &measure.of {
                Measured::Unique { .. } if measure.filter.is_none() => {
                    self.unique_unfiltered(u, m, measure, first, member);
                    continue;
                }
                _ if !member => continue,
                Measured::Count { .. } => Bump::One {
                    per_user: measure.per_user,
                },
                Measured::Sum { field, .. } => match fields.get(*field as usize) {
                    Some(v) => Bump::Amount {
                        value: v.clone(),
                        per_user: measure.per_user,
                    },
                    None => continue,
                },
                Measured::Unique { .. } => {
                    let fact = self.fact(u, m);
                    // Bit 0: counted over the campaign; bit 1 + i: counted in the arms
                    // of the measure's `arms[i]` (a user may get a variant only after
                    // their first such event, and counts in their arm from then on).
                    let arms = self.arms_of(u, measure);
                    let mut flags = fact | 1;
                    let mut split = Vec::new();
                    for (i, arm) in arms.iter().enumerate() {
                        let bit = 1i64.checked_shl(1 + i as u32).unwrap_or(0);
                        if let (Some(arm), true) = (arm, fact & bit == 0) {
                            flags |= bit;
                            split.push((i, *arm, Bump::User));
                        }
                    }
                    if flags != fact {
                        self.set_fact(u, m, flags);
                    }
                    let all = (fact & 1 == 0).then_some(Bump::User);
                    self.apply(m, all, split);
                    continue;
                }
                Measured::Repeat { .. } => {
                    let fact = self.fact(u, m);
                    // Counted up to two: the second event makes a repeater.
                    if fact >= 2 {
                        continue;
                    }
                    self.set_fact(u, m, fact + 1);
                    if fact + 1 < 2 {
                        continue;
                    }
                    Bump::User
                }
                Measured::Returning { after, .. } => {
                    if self.fact(u, m) != 0 {
                        continue;
                    }
                    let Some(user) = self.state.user(u) else {
                        continue;
                    };
                    if !user.enrolled() {
                        continue;
                    }
                    let Some(since) = DateTime::from_timestamp(user.packed.counter(ENROLLED_AT), 0)
                    else {
                        continue;
                    };
                    if self.now < engine.calendar.add(since, *after) {
                        continue;
                    }
                    self.set_fact(u, m, 1);
                    Bump::User
                }
                Measured::Nps { field, .. } => {
                    let Some(Value::Int(score)) = fields.get(*field as usize) else {
                        continue;
                    };
                    if !(0..=10).contains(score) {
                        continue;
                    }
                    // The low byte keeps the answer plus one (zero: no answer yet); bit
                    // 8 + i, that the answer counts in the arms of `arms[i]` (a user
                    // who answered before getting a variant counts there from the
                    // first answer after).
                    let fact = self.fact(u, m);
                    let old = (fact & 0xFF > 0).then(|| (fact & 0xFF) - 1);
                    let new = *score;
                    let arms = self.arms_of(u, measure);
                    let mut flags = fact & !0xFF;
                    let mut split = Vec::new();
                    for (i, arm) in arms.iter().enumerate() {
                        let bit = 1i64.checked_shl(8 + i as u32).unwrap_or(0);
                        let Some(arm) = arm else { continue };
                        let counted = fact & bit != 0;
                        flags |= bit;
                        let old = if counted { old } else { None };
                        split.push((i, *arm, Bump::Answer { old, new }));
                    }
                    self.set_fact(u, m, flags | (new + 1));
                    self.apply(m, Some(Bump::Answer { old, new }), split);
                    continue;
                }
                Measured::Completions { .. } | Measured::Sent { .. } => continue,
            };
            self.bump(u, m, bump);
        }
    }

    /// An unfiltered `unique` of one event: `first` (the user's first event of the
    /// type) says whether they count over the campaign, and in the arms they are in
    /// now. A user who could not count then (in no arm of `arms[i]` yet, a variant
    /// coming at enrollment; or, over participants only, not a participant yet:
    /// `member`) keeps a fact, bit i for `arms[i]` and [`NOT_YET`] for the campaign,
    /// and counts there from their first such event after. Most users are counted at
    /// their first event and keep no fact.
    fn unique_unfiltered(
        &mut self,
        u: u32,
        m: usize,
        measure: &Measure,
        first: bool,
        member: bool,
    ) {
        if !first && measure.arms.is_empty() && !measure.participants_only {
            return;
        }
        let pending = if first { 0 } else { self.fact(u, m) };
        if !first && pending == 0 {
            return;
        }
        let mut left = 0;
        if first || pending & NOT_YET != 0 {
            if member {
                self.tally_all(m, &Bump::User);
            } else {
                left |= NOT_YET;
            }
        }
        for (i, arms) in measure.arms.iter().enumerate() {
            // Bits below NOT_YET (a measure split 62 ways keeps no fact past that).
            let bit = if i < 62 { 1i64 << i } else { 0 };
            if !first && pending & bit == 0 {
                continue;
            }
            match self.arm_in(u, *arms) {
                Some(arm) => self.tally_arm(m, i, arm, &Bump::User, 0.0),
                None => left |= bit,
            }
        }
        if left != pending {
            self.set_fact(u, m, left);
        }
    }

    /// Whether user `u` participates now.
    fn participates(&self, u: u32) -> bool {
        self.state
            .users
            .record(u as usize)
            .is_some_and(|user| user.standing == Standing::Participant)
    }

    /// Feeds a counted completion of `task` by `u` to `completions(TASK)`.
    pub(crate) fn measure_completion(&mut self, u: u32, task: camp_plan::TaskId) {
        let engine = self.engine;
        let Some(list) = engine.index.measures.tasks.get(task.index()) else {
            return;
        };
        for &m in list {
            self.bump(u, m as usize, Bump::One { per_user: false });
        }
    }

    /// Feeds a send of `message` to `u` that went out to `sent(MESSAGE)`.
    pub(crate) fn measure_send(&mut self, u: u32, message: camp_plan::MessageId) {
        let engine = self.engine;
        let Some(list) = engine.index.measures.messages.get(message.index()) else {
            return;
        };
        // A send to the audience may reach someone not enrolled (a completion is always
        // a participant's; events are sorted out in `measure_event`).
        let member = self.participates(u);
        for &m in list {
            let m = m as usize;
            if member
                || engine
                    .plan
                    .measures
                    .get(m)
                    .is_some_and(|x| !x.participants_only)
            {
                self.bump(u, m, Bump::One { per_user: false });
            }
        }
    }

    /// `u`'s arm of each of `measure`'s arms.
    fn arms_of(&self, u: u32, measure: &Measure) -> Vec<Option<usize>> {
        match self.state.user(u) {
            Some(user) => measure.arms.iter().map(|a| arm_of(*a, &user)).collect(),
            None => Vec::new(),
        }
    }

    /// Adds `all` to measure `m`'s campaign tally, and each `(i, arm, bump)` of `split`
    /// to arm `arm` of its `arms[i]`.
    fn apply(&mut self, m: usize, all: Option<Bump>, split: Vec<(usize, usize, Bump)>) {
        if let Some(b) = all {
            self.tally_all(m, &b);
        }
        for (i, arm, b) in split {
            self.tally_arm(m, i, arm, &b, 0.0);
        }
    }

    /// `u`'s fact for measure `m` (0 when none is kept).
    fn fact(&self, u: u32, m: usize) -> i64 {
        self.state
            .user(u)
            .map_or(0, |user| user.packed.counter(user_key(m)))
    }

    /// `u`'s arm of `arms`, if any (as [`arm_of`], reading only what it needs: the
    /// record for the holdout, the variant byte for an experiment).
    fn arm_in(&self, u: u32, arms: Arms) -> Option<usize> {
        match arms {
            Arms::Holdout => self
                .state
                .users
                .record(u as usize)
                .map(|user| usize::from(user.standing != Standing::Holdout)),
            Arms::Experiment { experiment } => self.state.variant(u, experiment).map(usize::from),
        }
    }

    /// Adds `b` to measure `m`'s campaign tally.
    fn tally_all(&mut self, m: usize, b: &Bump) {
        if let Some(slot) = self.state.metrics.measures.get_mut(m) {
            slot.all.bump(b, 0.0);
        }
    }

    /// Adds `b` (and `square` to the sum of squares) to arm `arm` of measure `m`'s
    /// `arms[i]`.
    fn tally_arm(&mut self, m: usize, i: usize, arm: usize, b: &Bump, square: f64) {
        if let Some(t) = self
            .state
            .metrics
            .measures
            .get_mut(m)
            .and_then(|slot| slot.arms.get_mut(i))
            .and_then(|a| a.get_mut(arm))
        {
            t.bump(b, square);
        }
    }

    fn set_fact(&mut self, u: u32, m: usize, v: i64) {
        if let Some(mut user) = self.state.user_mut(u) {
            user.set_counter(user_key(m), v);
        }
    }

    /// Adds `b` to measure `m`'s campaign tally and to the tallies of `u`'s arms; keeps
    /// the user's total when the measure's per-user spread is needed.
    fn bump(&mut self, u: u32, m: usize, b: Bump) {
        let engine = self.engine;
        let Some(measure) = engine.plan.measures.get(m) else {
            return;
        };
        // The square's growth when the user's total goes t → t + v: 2tv + v².
        let square = match &b {
            Bump::One { per_user: true } | Bump::Amount { per_user: true, .. } => {
                let v = match &b {
                    Bump::Amount { value, .. } => as_decimal(value)
                        .and_then(|d| d.to_string().parse::<f64>().ok())
                        .unwrap_or(0.0),
                    _ => 1.0,
                };
                match self.state.user_mut(u) {
                    Some(mut user) => {
                        let t = f64::from_bits(user.packed().counter(user_key(m)) as u64);
                        user.set_counter(user_key(m), (t + v).to_bits() as i64);
                        2.0 * t * v + v * v
                    }
                    None => 0.0,
                }
            }
            _ => 0.0,
        };
        let Some(slot) = self.state.metrics.measures.get_mut(m) else {
            return;
        };
        slot.all.bump(&b, square);
        for (i, arms) in measure.arms.iter().enumerate() {
            if let Some(arm) = self.arm_in(u, *arms) {
                self.tally_arm(m, i, arm, &b, square);
            }
        }
    }
}
