//! Action blocks (language §6): what a counted completion, a milestone, a goal, a tier,
//! an award, a group's outcome and a raffle's winner get, run in the order written —
//! `grant`, `send`, `use`, `give`, `revoke`, `open`, `join` — each for its target.
//!
//! A target is the participant whose completion it is (`Own`), a `user` attribute of
//! theirs, a `user` field of the triggering event, or, in a group's outcome, its
//! members or opener. A grant or send directed at a user who is unknown, not eligible
//! or held out is a `deny` or `suppress` with that reason, and the block goes on; an
//! eligible user who is not a participant yet is enrolled first, then receives.
//!
//! A task with `use`, `give`, `open` or `join` counts a completion only if every such
//! action can be carried out, judged on the state before any of its actions run
//! ([`Step::feasible`]).

use crate::effect::{Cause, DenyReason, Effect, EventId, Name, SuppressReason, UserId};
use crate::engine::Why;
use crate::invariant::guaranteed;
use crate::rules::grants;
use crate::rules::groups::key_of;
use crate::state::packed::{units_out, Write, POINTS_SPENT};
use crate::state::Standing;
use crate::step::Step;
use camp_plan::{Action, PhaseId, RewardId, RewardKind, Target, Units, Value};
use rust_decimal::Decimal;

/// Who and what an action block runs for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'s> {
    /// The participant whose completion it is (in a mass grant, each recipient; in a
    /// group's outcome, the opener).
    pub(crate) own: u32,
    /// Whose completion caused the block: a grant to anyone else carries `by`.
    pub(crate) by: Option<u32>,
    /// The triggering event, if any.
    pub(crate) event: Option<&'s EventId>,
    /// Its fields (for `event.FIELD` targets and group keys).
    pub(crate) fields: &'s [Value],
    /// The group whose outcome this is: its kind and number.
    pub(crate) group: Option<(u32, u32)>,
    /// The phase whose statement it is (`phase.*` in its messages).
    pub(crate) phase: Option<PhaseId>,
}

/// Why a target cannot receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Unknown,
    Ineligible,
    Holdout,
}

/// A target resolved to a user, or refused with its id.
enum Reached {
    User(u32),
    Refused(UserId, Refusal),
}

/// What a block's first grant issued to each recipient, for `reward.*` in its sends.
#[derive(Default)]
struct Told {
    /// Whether the block's first grant has run.
    started: bool,
    /// Its first recipient (`None`: refused) and what they were issued.
    first: Option<(Option<u32>, Option<RewardId>)>,
    /// Further recipients (group members), only when there are some.
    more: Vec<(u32, Option<RewardId>)>,
}

impl Told {
    fn record(&mut self, user: Option<u32>, reward: Option<RewardId>) {
        match (self.first, user) {
            (None, _) => self.first = Some((user, reward)),
            (Some(_), Some(u)) => self.more.push((u, reward)),
            (Some(_), None) => {}
        }
    }

    /// What a send to `u` tells: `Some(None)` for no reward (the block granted nothing
    /// before it), `Some(Some(r))` for a reward, `None` when the grant issued nothing
    /// (that send does not go out).
    fn about(&self, u: u32) -> Option<Option<RewardId>> {
        if !self.started {
            return Some(None);
        }
        let mine = match self.first {
            Some((Some(f), r)) if f == u => Some(r),
            _ => self.more.iter().find(|(m, _)| *m == u).map(|(_, r)| *r),
        };
        let r = mine.or(self.first.map(|(_, r)| r)).flatten()?;
        Some(Some(r))
    }
}

/// The reward a grant tells about: what it issued (for a draw, the reward won).
pub(crate) fn told_of(
    plan: &camp_plan::Plan,
    reward: RewardId,
    issued: grants::Rewards,
) -> Option<RewardId> {
    let is_draw = matches!(
        plan.rewards.get(reward.index()).map(|x| &x.kind),
        Some(RewardKind::Draw { .. })
    );
    if is_draw {
        issued.get(1)
    } else {
        issued.get(0)
    }
}

fn units_name(step: &Step<'_>, units: Units) -> Option<Name> {
    match units {
        Units::Points => None,
        Units::Reward(r) => step.engine.names.rewards.get(r.index()).cloned(),
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Step<'_> {
    /// The user a `user` value names, if they can receive something directed at them.
    fn lookup(&self, id: Option<&str>) -> Reached {
        let Some(id) = id else {
            return Reached::Refused(UserId::default(), Refusal::Unknown);
        };
        let Some(n) = self.state.find(id) else {
            return Reached::Refused(UserId::from(id), Refusal::Unknown);
        };
        match self.state.user(n).map(|u| u.standing) {
            Some(Standing::Eligible | Standing::Participant) => Reached::User(n),
            Some(Standing::Holdout) => Reached::Refused(UserId::from(id), Refusal::Holdout),
            Some(Standing::Ineligible) => Reached::Refused(UserId::from(id), Refusal::Ineligible),
            None => Reached::Refused(UserId::from(id), Refusal::Unknown),
        }
    }

    /// The `i`th user `to` reaches in `scope` (`None` past the last). Only `members`
    /// reaches more than one.
    fn reach(&self, to: Target, scope: &Scope<'_>, i: usize) -> Option<Reached> {
        let to = match (to, scope.group) {
            (Target::Own, Some(_)) => Target::Members,
            (to, _) => to,
        };
        match to {
            Target::Members => {
                let (kind, n) = scope.group?;
                self.state.groups.member(kind, n, i).map(Reached::User)
            }
            _ if i > 0 => None,
            Target::Own => Some(Reached::User(scope.own)),
            Target::Opener => Some(Reached::User(match scope.group {
                Some((kind, n)) => self.state.groups.member(kind, n, 0)?,
                None => scope.own,
            })),
            Target::Attr(a) => {
                let v = self
                    .state
                    .user(scope.own)
                    .and_then(|u| u.attrs().get(a.index()));
                Some(self.lookup(match &v {
                    Some(Value::String(s)) => Some(s),
                    _ => None,
                }))
            }
            Target::Field(f) => Some(self.lookup(match scope.fields.get(f as usize) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            })),
        }
    }

    /// Enrolls `u` first if they are eligible and not a participant yet (§13.2).
    fn enroll_target(&mut self, u: u32, event: Option<&EventId>) {
        if self
            .state
            .user(u)
            .is_some_and(|x| x.standing == Standing::Eligible)
        {
            self.enroll(u, event);
        }
    }

    /// Runs an action block, in order, in `scope`. A group this block filled has its
    /// `filled` outcome run right after it.
    pub(crate) fn run_actions(&mut self, actions: &[Action], cause: &Cause, scope: &Scope<'_>) {
        let mut told = Told::default();
        let mut filled = None;
        for a in actions {
            match *a {
                Action::Grant { reward, to } => {
                    let first = !told.started;
                    told.started = true;
                    let mut i = 0;
                    while let Some(r) = self.reach(to, scope, i) {
                        i += 1;
                        let issued = self.grant_action(r, reward, cause, scope);
                        if first {
                            told.record(issued.0, issued.1);
                        }
                    }
                }
                Action::Send { message, to } => {
                    let mut i = 0;
                    while let Some(r) = self.reach(to, scope, i) {
                        i += 1;
                        self.send_action(r, message, &told, scope);
                    }
                }
                Action::Use { units, count } => {
                    self.use_units(scope.own, units, count, cause, scope.event);
                }
                Action::Give { units, count, to } => {
                    if let Some(Reached::User(t)) = self.reach(to, scope, 0) {
                        self.give_units(scope.own, t, units, count, cause, scope.event);
                    }
                }
                Action::Revoke { units, count, from } => {
                    let mut i = 0;
                    while let Some(r) = self.reach(from, scope, i) {
                        i += 1;
                        if let Reached::User(t) = r {
                            self.revoke_units(t, units, count, cause, scope.event);
                        }
                    }
                }
                Action::Open { group, key } => {
                    if let Some(k) = key_of(scope.fields, key) {
                        self.open_group(scope.own, group, k);
                    }
                }
                Action::Join { group, key } => {
                    if let Some(k) = key_of(scope.fields, key) {
                        filled = filled.or(self.join_group(scope.own, group, k));
                    }
                }
            }
        }
        if let Some(g) = filled {
            self.group_filled(g, scope.event);
        }
    }

    /// One grant of a block to one target; returns the recipient (if reached) and the
    /// reward to tell about.
    fn grant_action(
        &mut self,
        r: Reached,
        reward: RewardId,
        cause: &Cause,
        scope: &Scope<'_>,
    ) -> (Option<u32>, Option<RewardId>) {
        match r {
            Reached::User(t) => {
                self.enroll_target(t, scope.event);
                let by = scope.by.filter(|b| *b != t);
                let issued = self.grant_reward(t, reward, cause.clone(), scope.event, by);
                (Some(t), told_of(&self.engine.plan, reward, issued))
            }
            Reached::Refused(user, why) => {
                let reason = match why {
                    Refusal::Unknown => DenyReason::UnknownUser,
                    Refusal::Ineligible => DenyReason::Ineligible,
                    Refusal::Holdout => DenyReason::Holdout,
                };
                if let Some(n) = self.state.denied.get_mut(reward.index()) {
                    *n += 1;
                }
                let at = self.at();
                let reward = self
                    .engine
                    .names
                    .rewards
                    .get(reward.index())
                    .cloned()
                    .unwrap_or_default();
                self.emit(Effect::Deny {
                    at,
                    user,
                    reward,
                    cause: cause.clone(),
                    reason,
                });
                (None, None)
            }
        }
    }

    /// One send of a block to one target.
    fn send_action(
        &mut self,
        r: Reached,
        message: camp_plan::MessageId,
        told: &Told,
        scope: &Scope<'_>,
    ) {
        match r {
            Reached::User(t) => {
                // When the block's grant issued nothing, its sends do not go out.
                let Some(reward) = told.about(t) else {
                    return;
                };
                self.enroll_target(t, scope.event);
                self.send_with(t, message, scope.phase, reward, scope.group);
            }
            Reached::Refused(user, why) => {
                let reason = match why {
                    Refusal::Unknown => SuppressReason::UnknownUser,
                    Refusal::Ineligible => SuppressReason::Ineligible,
                    Refusal::Holdout => SuppressReason::Holdout,
                };
                let at = self.at();
                let message = self
                    .engine
                    .names
                    .messages
                    .get(message.index())
                    .cloned()
                    .unwrap_or_default();
                self.emit(Effect::Suppress {
                    at,
                    user,
                    message,
                    reason,
                    error: None,
                });
            }
        }
    }

    /// How many of `units` user `u` holds now (points: the balance).
    pub(crate) fn holding(&self, u: u32, units: Units) -> u64 {
        let Some(user) = self.state.user(u) else {
            return 0;
        };
        match units {
            Units::Points => u64::try_from(user.points.max(0)).unwrap_or(0),
            Units::Reward(r) => user.packed.held(r),
        }
    }

    /// Takes up to `n` units (or points) out of `u`'s holding without returning them
    /// anywhere (a use, or the giving side of a gift); returns how many.
    fn take_out(&mut self, u: u32, units: Units, n: u64) -> u64 {
        let n = n.min(self.holding(u, units));
        guaranteed!(let Some(mut user) = self.state.user_mut(u), "a user number names a user" else return 0);
        match units {
            Units::Points => {
                user.points = user.points.saturating_sub(as_i64(n));
                user.add_counter(POINTS_SPENT, as_i64(n));
            }
            Units::Reward(r) => {
                let held = user.packed().held(r);
                user.set_held(r, held.saturating_sub(n));
                user.add_counter(units_out(r), as_i64(n));
            }
        }
        if let Units::Reward(r) = units {
            self.rescore_holds(u, r);
        }
        n
    }

    /// `use`: consumes up to `count` of what `u` holds.
    fn use_units(
        &mut self,
        u: u32,
        units: Units,
        count: u64,
        cause: &Cause,
        event: Option<&EventId>,
    ) {
        let n = self.take_out(u, units, count);
        if n == 0 {
            return;
        }
        let at = self.at();
        let user = self.state.user(u).map(|x| x.id.clone()).unwrap_or_default();
        let reward = units_name(self, units);
        self.emit(Effect::Use {
            at,
            user,
            reward,
            count: n,
            cause: cause.clone(),
            event: event.cloned(),
        });
        self.check_goals(u, event);
    }

    /// Whether `to` may receive `count` of `units` from `from` as a gift: known,
    /// eligible, not held out, not the giver, and within their `per_user`.
    pub(crate) fn may_receive(&self, from: u32, to: u32, units: Units, count: u64) -> bool {
        if from == to {
            return false;
        }
        let Some(user) = self.state.user(to) else {
            return false;
        };
        if !matches!(user.standing, Standing::Eligible | Standing::Participant) {
            return false;
        }
        match units {
            Units::Points => true,
            Units::Reward(r) => self
                .engine
                .plan
                .rewards
                .get(r.index())
                .and_then(|x| x.per_user)
                .is_none_or(|p| user.packed.received(r).saturating_add(count) <= p),
        }
    }

    /// `give`: moves up to `count` of what `from` holds to `to`; no stock or budget
    /// change. A gift that cannot be made (see [`Step::may_receive`]) is not made.
    fn give_units(
        &mut self,
        from: u32,
        to: u32,
        units: Units,
        count: u64,
        cause: &Cause,
        event: Option<&EventId>,
    ) {
        let count = count.min(self.holding(from, units));
        if count == 0 || !self.may_receive(from, to, units, count) {
            return;
        }
        self.enroll_target(to, event);
        let n = self.take_out(from, units, count);
        if let Some(mut user) = self.state.user_mut(to) {
            match units {
                Units::Points => {
                    // A gift raises the balance, not `earned`.
                    user.points = user.points.saturating_add(as_i64(n));
                    user.add_counter(POINTS_SPENT, -as_i64(n));
                }
                Units::Reward(r) => {
                    let held = user.packed().held(r);
                    user.set_held(r, held.saturating_add(n));
                }
            }
        }
        if let Units::Reward(r) = units {
            self.rescore_holds(to, r);
        }
        let at = self.at();
        let giver = self
            .state
            .user(from)
            .map(|x| x.id.clone())
            .unwrap_or_default();
        let receiver = self
            .state
            .user(to)
            .map(|x| x.id.clone())
            .unwrap_or_default();
        let reward = units_name(self, units);
        self.emit(Effect::Give {
            at,
            user: giver,
            to: receiver,
            reward,
            count: n,
            cause: cause.clone(),
            event: event.cloned(),
        });
        self.check_goals(from, event);
        self.check_goals(to, event);
    }

    /// `revoke`: takes back up to `count` (all when `None`) of what `u` holds. Units go
    /// back to stock and their money back to the budget; points lower the balance and
    /// `earned` (never below zero) and the phase's points leaderboards.
    fn revoke_units(
        &mut self,
        u: u32,
        units: Units,
        count: Option<u64>,
        cause: &Cause,
        event: Option<&EventId>,
    ) {
        let held = self.holding(u, units);
        let n = count.map_or(held, |c| c.min(held));
        if n == 0 {
            return;
        }
        let engine = self.engine;
        if let Some(mut user) = self.state.user_mut(u) {
            match units {
                Units::Points => {
                    user.points = user.points.saturating_sub(as_i64(n));
                    // `earned` is the balance plus what was spent: keep it at zero or above.
                    let spent = user.packed().counter(POINTS_SPENT);
                    if user.points.saturating_add(spent) < 0 {
                        let points = user.points;
                        user.set_counter(POINTS_SPENT, -points);
                    }
                }
                Units::Reward(r) => user.set_held(r, held.saturating_sub(n)),
            }
        }
        if let Units::Reward(r) = units {
            self.rescore_holds(u, r);
            let ledger = &mut self.state.ledger;
            ledger.give_back(r, n);
            if let Some(cost) = engine.plan.rewards.get(r.index()).and_then(|x| x.cost) {
                let refund = cost
                    .amount
                    .checked_mul(Decimal::from(n))
                    .unwrap_or(ledger.spend);
                ledger.spend = ledger
                    .spend
                    .checked_sub(refund)
                    .unwrap_or(Decimal::ZERO)
                    .max(Decimal::ZERO);
            }
        }
        if units == Units::Points {
            if let Some(phase) = self.state.running() {
                let boards = engine.index.points_boards.get(phase.index());
                for &lb in boards.map_or(&[][..], Vec::as_slice) {
                    self.score(u, lb, -Decimal::from(n));
                }
            }
        }
        let at = self.at();
        let user = self.state.user(u).map(|x| x.id.clone()).unwrap_or_default();
        let reward = units_name(self, units);
        self.emit(Effect::Revoke {
            at,
            user,
            reward,
            count: n,
            cause: cause.clone(),
            event: event.cloned(),
        });
        self.check_goals(u, event);
    }

    /// Whether a task's `use`, `give`, `open` and `join` can all be carried out for
    /// participant `u`, judged on the state now (before any of its actions run).
    pub(crate) fn feasible(&self, u: u32, actions: &[Action], fields: &[Value]) -> Result<(), Why> {
        let need = |units: Units| -> u64 {
            actions
                .iter()
                .map(|a| match *a {
                    Action::Use { units: x, count }
                    | Action::Give {
                        units: x, count, ..
                    } if x == units => count,
                    _ => 0,
                })
                .fold(0u64, u64::saturating_add)
        };
        let scope = Scope {
            own: u,
            by: Some(u),
            event: None,
            fields,
            group: None,
            phase: None,
        };
        for a in actions {
            match *a {
                Action::Use { units, .. } => {
                    if self.holding(u, units) < need(units) {
                        return Err(Why::Balance);
                    }
                }
                Action::Give { units, count, to } => {
                    if self.holding(u, units) < need(units) {
                        return Err(Why::Balance);
                    }
                    let ok = match (to, self.reach(to, &scope, 0)) {
                        (Target::Members | Target::Opener, _) => false,
                        (_, Some(Reached::User(t))) => self.may_receive(u, t, units, count),
                        _ => false,
                    };
                    if !ok {
                        return Err(Why::Target);
                    }
                }
                Action::Open { group, key } => {
                    if !key_of(fields, key).is_some_and(|k| self.can_open(group, k)) {
                        return Err(Why::Group);
                    }
                }
                Action::Join { group, key } => {
                    if !key_of(fields, key).is_some_and(|k| self.can_join(u, group, k)) {
                        return Err(Why::Group);
                    }
                }
                Action::Grant { .. } | Action::Send { .. } | Action::Revoke { .. } => {}
            }
        }
        Ok(())
    }
}
