//! A participant's rules: enrollment, counted completions with their limits, grants,
//! streaks and `after` milestones, tiers, goals and leaderboard scores (§9, steps 1–3).

use crate::effect::{At, Cause, Effect, EventId, Name, RejectReason, UserId};
use crate::engine::{Unmatched, Verdict, Why};
use crate::input::{self, EventRef};
use crate::invariant::guaranteed;
use crate::random::Draws;
use crate::rules::actions::Scope;
use crate::rules::board::Board;
use crate::rules::grants::{self, Request};
use crate::state::packed::{Write, ENROLLED_AT, POINTS_SPENT};
use crate::state::{Progress, Score, Stamp, Standing, State};
use crate::step::{Facts, Step};
use crate::{eval, hashes};
use camp_plan::calendar::Day;
use camp_plan::{
    Action, GrantOn, LeaderboardId, RewardId, RewardKind, SendWhen, TaskId, TierId, Trigger, Value,
};
use rust_decimal::Decimal;

impl Step<'_> {
    /// Takes one event (the clock is already at `now`).
    pub(crate) fn event(&mut self, line: EventRef<'_>) -> Verdict {
        match self.accept(line) {
            Ok(()) => {
                self.check_until();
                Verdict::Accepted
            }
            Err(reason) => {
                let at = self.at();
                self.emit(Effect::Reject {
                    at,
                    event: EventId::from(line.id),
                    reason,
                });
                Verdict::Rejected(reason)
            }
        }
    }

    fn accept(&mut self, line: EventRef<'_>) -> Result<(), RejectReason> {
        let kind = *self
            .engine
            .index
            .events
            .get(line.kind)
            .ok_or(RejectReason::UnknownType)?;
        let fields = input::fields_of(&self.engine.plan, kind, line.data)?;
        // A `user` field must name a user the campaign knows (§2): `bad_field` otherwise.
        let user_fields = self
            .engine
            .index
            .user_fields
            .get(kind as usize)
            .map_or(&[][..], Vec::as_slice);
        for &f in user_fields {
            let known = match fields.get(f as usize) {
                Some(Value::String(id)) => self.state.find(id).is_some(),
                _ => false,
            };
            if !known {
                return Err(RejectReason::BadField);
            }
        }
        let known = line.user_number.filter(|&n| {
            self.state
                .users
                .record(n as usize)
                .is_some_and(|u| u.id == line.user)
        });
        let u = known
            .or_else(|| self.state.find(line.user))
            .ok_or(RejectReason::UnknownUser)?;
        let user = self.state.user(u).ok_or(RejectReason::UnknownUser)?;
        // In the order of §13.5: a retried event is a duplicate even after the campaign
        // ended; a rejected event's id is not remembered.
        let fp = hashes::fingerprint(self.engine.fingerprint_seed, line.id);
        if user.packed.has_seen(fp) {
            return Err(RejectReason::Duplicate);
        }
        if !user.eligible() {
            return Err(RejectReason::Ineligible);
        }
        let phase = self.state.running().ok_or(RejectReason::Outside)?;
        let mut user = self.state.user_mut(u).ok_or(RejectReason::UnknownUser)?;
        user.first_sight(fp);
        // Metrics count every accepted event, holdout users' included.
        let first = user.first_of_type(kind);
        self.state.seq += 1;
        self.state.metrics.record(kind as usize, &fields, first);
        if self
            .state
            .user(u)
            .is_some_and(|x| x.standing != Standing::Holdout)
        {
            self.rules(u, kind, phase, &fields, line);
        }
        // After the rules: an enrolling event counts in the arm enrolling put the user in.
        self.measure_event(u, kind, &fields, first);
        Ok(())
    }

    /// The rules an accepted event of type `kind` from `u` (not held out) sets off:
    /// enrollment, the phase's tasks in order, leaderboard scores.
    fn rules(
        &mut self,
        u: u32,
        kind: u32,
        phase: camp_plan::PhaseId,
        fields: &[Value],
        line: EventRef<'_>,
    ) {
        let p = phase.index();
        let engine = self.engine;
        let index = &engine.index;
        let candidates = index
            .counting
            .get(p)
            .and_then(|v| v.get(kind as usize))
            .map_or(&[][..], Vec::as_slice);
        let scoring = index
            .scoring
            .get(p)
            .and_then(|v| v.get(kind as usize))
            .map_or(&[][..], Vec::as_slice);
        // A user not enrolled yet enrolls on the first task that counts the event (its
        // `where` holds and, if it uses, gives, opens or joins, it can) or on a board
        // that scores it; that task counts whatever enrolling changed, and the ones
        // before it did not count. Then the tasks run in the order written, each
        // `where` seeing the state the ones before it left (§6). `counted(TASK)` reads
        // which did (`mask`, a bit per position: the first 64 tasks on one event).
        let event = EventId::from(line.id);
        let mut first = None;
        if !self.state.user(u).is_some_and(|x| x.enrolled()) {
            first = candidates.iter().position(|&t| {
                self.counts(u, t, fields, candidates, 0)
                    && self.task_in_window(u, t)
                    && self.can_complete(u, t, fields)
            });
            if first.is_none() && scoring.is_empty() {
                for &t in candidates {
                    let why = self.why_not(u, t, fields, candidates, 0);
                    self.unmatched(t, why);
                }
                return;
            }
            self.enroll(u, Some(&event));
        }
        let mut mask = 0u64;
        for (i, &t) in candidates.iter().enumerate() {
            if first.is_some_and(|f| i < f) {
                let why = self.why_not(u, t, fields, candidates, mask);
                self.unmatched(t, why);
                continue;
            }
            if first != Some(i) && !self.counts(u, t, fields, candidates, mask) {
                self.unmatched(t, Why::Where);
                continue;
            }
            match self.complete(u, t, Some(&event), fields) {
                Ok(()) => mask |= 1u64.checked_shl(crate::engine::id32(i)).unwrap_or(0),
                Err(why) => self.unmatched(t, why),
            }
        }
        for &lb in scoring {
            let delta = match self
                .engine
                .plan
                .leaderboards
                .get(lb.index())
                .map(|l| &l.score)
            {
                Some(camp_plan::Score::Sum { field, .. }) => fields
                    .get(*field as usize)
                    .and_then(crate::kpi::as_decimal)
                    .unwrap_or(Decimal::ZERO),
                _ => Decimal::ONE,
            };
            self.score(u, lb, delta);
        }
    }

    /// Whether task `t`'s `where` holds for user `u` and this event's fields now;
    /// `counted` marks which of `candidates` (the tasks on this event) counted it.
    fn counts(
        &self,
        u: u32,
        t: TaskId,
        fields: &[Value],
        candidates: &[TaskId],
        counted: u64,
    ) -> bool {
        let plan = &self.engine.plan;
        match plan.tasks.get(t.index()).and_then(|t| t.filter.as_ref()) {
            None => true,
            Some(f) => self.state.user(u).is_some_and(|user| {
                let facts = Facts::of(self.engine, user, fields)
                    .at(self.state, u, self.now)
                    .counted(candidates, counted);
                eval::holds(plan, f, &facts)
            }),
        }
    }

    /// Whether task `t`'s use, give, open and join (if any) can be carried out for `u`.
    fn can_complete(&self, u: u32, t: TaskId, fields: &[Value]) -> bool {
        let engine = self.engine;
        !engine
            .index
            .guarded
            .get(t.index())
            .copied()
            .unwrap_or(false)
            || engine
                .plan
                .tasks
                .get(t.index())
                .is_some_and(|task| self.feasible(u, &task.actions, fields).is_ok())
    }

    /// Why task `t` would not count the event for `u` now.
    fn why_not(
        &self,
        u: u32,
        t: TaskId,
        fields: &[Value],
        candidates: &[TaskId],
        mask: u64,
    ) -> Why {
        if !self.counts(u, t, fields, candidates, mask) {
            return Why::Where;
        }
        if !self.task_in_window(u, t) {
            return Why::Window;
        }
        match self.engine.plan.tasks.get(t.index()) {
            Some(task) if !self.can_complete(u, t, fields) => self
                .feasible(u, &task.actions, fields)
                .err()
                .unwrap_or(Why::Where),
            _ => Why::Limit,
        }
    }

    /// Whether task `t`'s window (if any) holds now for `u`.
    fn task_in_window(&self, u: u32, t: TaskId) -> bool {
        self.engine
            .plan
            .tasks
            .get(t.index())
            .is_some_and(|task| self.in_window(u, task))
    }

    /// Notes a task whose `on` matched the event but did not count it, and why.
    fn unmatched(&mut self, t: TaskId, why: Why) {
        let task = self
            .engine
            .names
            .tasks
            .get(t.index())
            .cloned()
            .unwrap_or_default();
        self.out.unmatched.push(Unmatched { task, why });
    }

    /// Makes an eligible user a participant in the running phase and fires its
    /// `on enroll` statements: the first tier, grants, tasks, sends.
    /// Gives a participant who just enrolled their variant of every experiment, in
    /// declaration order (§11, §13.2): from a stable hash of the campaign, the
    /// experiment and the user, never the seed.
    fn assign(&mut self, u: u32, id: &UserId) {
        let engine = self.engine;
        let at = self.at();
        for (e, split) in engine.index.arms.iter().enumerate() {
            let point = hashes::variant_point(split.key, id);
            let Some(v) = split.ends.iter().position(|&end| point < end) else {
                continue;
            };
            let variant = u16::try_from(v).unwrap_or(u16::MAX);
            self.state.users.set_variant(u as usize, e, variant);
            self.state.metrics.assign(e, v);
            let (Some(experiment), Some(name)) = (
                engine.names.experiments.get(e),
                engine.names.variants.get(e).and_then(|vs| vs.get(v)),
            ) else {
                continue;
            };
            self.emit(Effect::Assign {
                at,
                user: id.clone(),
                experiment: experiment.clone(),
                variant: name.clone(),
            });
        }
    }

    pub(crate) fn enroll(&mut self, u: u32, event: Option<&EventId>) {
        let Some(phase) = self.state.running() else {
            return;
        };
        let now = self.now;
        guaranteed!(let Some(mut user) = self.state.user_mut(u), "a user number names a user" else return);
        user.standing = Standing::Participant;
        user.last_active = Some(Stamp::of(now));
        user.nudged = 0;
        if self.engine.index.keeps_enrolled_at {
            user.set_counter(ENROLLED_AT, now.timestamp());
        }
        let id = user.id.clone();
        self.state.enrolled.push(u);
        let at = self.at();
        self.emit(Effect::Enroll {
            at,
            user: id.clone(),
        });
        self.assign(u, &id);
        if let Some(first) = self.engine.plan.tiers.first() {
            if let Some(mut user) = self.state.user_mut(u) {
                user.set_tier(TierId(0));
            }
            let to = self
                .engine
                .names
                .tiers
                .first()
                .cloned()
                .unwrap_or_else(|| Name::from(first.name.as_str()));
            self.emit(Effect::Tier {
                at,
                user: id,
                from: None,
                to: to.clone(),
            });
            self.own_actions(u, &first.actions, &Cause::Tier(to), event);
            self.climb_tiers(u, event);
        }
        let p = phase.index();
        let engine = self.engine;
        for g in engine.grants_on(p, GrantOn::Enroll) {
            if self.receives(u, g.to, g.condition.as_ref()) {
                self.grant_reward(u, g.reward, Cause::Enroll, event, None);
            }
        }
        let tasks = self
            .engine
            .index
            .enroll_tasks
            .get(p)
            .cloned()
            .unwrap_or_default();
        for t in tasks {
            // An `on enroll` task has no event fields; what it cannot do, it skips.
            let _ = self.complete(u, t, event, &[]);
        }
        let sends = engine
            .plan
            .phases
            .get(p)
            .map_or(&[][..], |ph| ph.sends.as_slice());
        for s in sends.iter().filter(|s| s.when == SendWhen::Enroll) {
            if self.receives(u, s.to, s.condition.as_ref()) {
                self.send_to(u, s.message, Some(phase), None);
            }
        }
        self.arm_inactivity(u, phase, u64::MAX);
        self.arm_timers(u, &engine.index.timers.from_enroll);
        self.check_goals(u, event);
    }

    /// One event (or enrollment, or birthday) counted by a task, within its limits and
    /// (for a task that uses, gives, opens or joins) if its actions can be carried out;
    /// else why not, and nothing changed.
    pub(crate) fn complete(
        &mut self,
        u: u32,
        task: TaskId,
        event: Option<&EventId>,
        fields: &[Value],
    ) -> Result<(), Why> {
        let engine = self.engine;
        guaranteed!(let Some(t) = engine.plan.tasks.get(task.index()), "a task id indexes the plan" else return Err(Why::Where));
        let day: Day = engine.calendar.day(self.now);
        let now = self.now;
        guaranteed!(let Some(user) = self.state.user(u), "a user number names a user" else return Err(Why::Where));
        let (slot, mut progress) = match user.packed.task(task) {
            Some((i, p)) => (Some(i), p),
            None => (
                None,
                Progress {
                    task,
                    count: 0,
                    day: Day::MIN,
                    today: 0,
                    streak: 0,
                    best_streak: 0,
                },
            ),
        };
        if !self.in_window(u, t) {
            return Err(Why::Window);
        }
        let limit = |n: Option<u32>, used: u32| n.is_some_and(|n| used >= n);
        let today = if progress.day == day {
            progress.today
        } else {
            0
        };
        if limit(t.limits.per_user, progress.count)
            || limit(t.limits.per_phase, progress.count)
            || limit(t.limits.per_day, today)
        {
            return Err(Why::Limit);
        }
        let per_field = match t.limits.per_field {
            Some(l) => {
                let key = (
                    u,
                    task.0,
                    hashes::value_key(engine.fingerprint_seed, fields.get(l.field as usize)),
                );
                if self
                    .state
                    .per_field
                    .get(&key)
                    .is_some_and(|&n| n >= l.count)
                {
                    return Err(Why::Limit);
                }
                Some(key)
            }
            None => None,
        };
        if engine
            .index
            .guarded
            .get(task.index())
            .copied()
            .unwrap_or(false)
        {
            self.feasible(u, &t.actions, fields)?;
        }
        if let Some(key) = per_field {
            *self.state.per_field.entry(key).or_insert(0) += 1;
        }
        progress.count += 1;
        if progress.day == day {
            progress.today += 1;
        } else {
            progress.streak =
                if progress.day != Day::MIN && progress.day.checked_add(1) == Some(day) {
                    progress.streak + 1
                } else {
                    1
                };
            progress.day = day;
            progress.today = 1;
        }
        let best_before = progress.best_streak;
        progress.best_streak = progress
            .best_streak
            .max(u16::try_from(progress.streak).unwrap_or(u16::MAX));
        guaranteed!(let Some(mut user) = self.state.user_mut(u), "a user number names a user" else return Err(Why::Where));
        if user.set_task(slot, &progress).is_none() {
            return Err(Why::Limit);
        }
        let (count, streak) = (progress.count, progress.streak);
        let first = count == 1;
        // A birthday is not activity: it neither ends a spell of inactivity nor restarts
        // its clock (§6).
        let rearm = if t.on == Trigger::Birthday {
            0
        } else {
            user.last_active = Some(Stamp::of(now));
            std::mem::take(&mut user.nudged)
        };
        let id = user.id.clone();
        if rearm != 0 {
            if let Some(phase) = self.state.running() {
                self.arm_inactivity(u, phase, rearm);
            }
        }

        if first {
            self.first_completion(u, task);
        }
        self.measure_completion(u, task);
        let name = engine
            .names
            .tasks
            .get(task.index())
            .cloned()
            .unwrap_or_else(|| Name::from(t.name.as_str()));
        let at = self.at();
        self.emit(Effect::Complete {
            at,
            user: id,
            task: name.clone(),
            event: event.cloned(),
        });
        for &lb in engine
            .index
            .task_boards
            .get(task.index())
            .map_or(&[][..], Vec::as_slice)
        {
            if self.board_runs(lb) {
                self.score(u, lb, Decimal::ONE);
            }
        }
        let scope = Scope {
            own: u,
            by: Some(u),
            event,
            fields,
            group: None,
            phase: Some(t.phase),
        };
        if !t.actions.is_empty() {
            self.run_actions(&t.actions, &Cause::Task(name.clone()), &scope);
        }
        for s in &t.streaks {
            if streak == s.count && u32::from(best_before) < s.count {
                self.run_actions(&s.actions, &Cause::Streak(name.clone()), &scope);
            }
        }
        for m in &t.after {
            if count == m.count {
                self.run_actions(&m.actions, &Cause::After(name.clone()), &scope);
            }
        }
        for m in &t.every {
            if m.count > 0 && count % m.count == 0 {
                self.run_actions(&m.actions, &Cause::Every(name.clone()), &scope);
            }
        }
        self.check_goals(u, event);
        Ok(())
    }

    /// Runs a participant's own action block (a tier's, a goal's), with no event fields.
    fn own_actions(&mut self, u: u32, actions: &[Action], cause: &Cause, event: Option<&EventId>) {
        if actions.is_empty() {
            return;
        }
        let scope = Scope {
            own: u,
            by: Some(u),
            event,
            fields: &[],
            group: None,
            phase: self.state.running(),
        };
        self.run_actions(actions, cause, &scope);
    }

    /// Grants a reward within `per_user`, stock and budget; points move the balance,
    /// points leaderboards and tiers; goals are checked after. `by`: the participant
    /// whose completion caused it, when that is someone else. Returns what was issued.
    pub(crate) fn grant_reward(
        &mut self,
        u: u32,
        reward: RewardId,
        cause: Cause,
        event: Option<&EventId>,
        by: Option<u32>,
    ) -> grants::Rewards {
        let engine = self.engine;
        let by: Option<UserId> = by.and_then(|b| self.state.user(b)).map(|b| b.id.clone());
        let state = &mut *self.state;
        guaranteed!(let Some(mut user) = state.users.get_mut(u as usize), "a user number names a user" else return grants::Rewards::default());
        let req = Request {
            at: At(self.now),
            user: user.id.clone(),
            cause,
            event: event.cloned(),
            by,
            share: self
                .shares
                .iter()
                .find(|(r, _)| *r == reward)
                .map(|(_, m)| *m),
        };
        let outcome = grants::grant(
            grants::Catalog {
                plan: &engine.plan,
                names: &engine.names.rewards,
                calendar: engine.calendar,
            },
            &mut state.ledger,
            &mut user,
            reward,
            &req,
            &mut Draws::new(&engine.key, &mut self.draws_made),
            &mut self.out.effects,
        );
        for r in outcome.denied.iter() {
            if let Some(n) = state.denied.get_mut(r.index()) {
                *n += 1;
            }
        }
        self.spill_if_full();
        for r in outcome.issued.iter() {
            self.rescore_holds(u, r);
            if let Some(RewardKind::Points { amount }) =
                engine.plan.rewards.get(r.index()).map(|x| &x.kind)
            {
                let amount = *amount;
                if let Some(mut user) = self.state.user_mut(u) {
                    user.points = user.points.saturating_add(amount);
                }
                if let Some(phase) = self.state.running() {
                    let boards = engine.index.points_boards.get(phase.index());
                    for &lb in boards.map_or(&[][..], Vec::as_slice) {
                        self.score(u, lb, Decimal::from(amount));
                    }
                }
                self.climb_tiers(u, event);
            }
        }
        self.check_goals(u, event);
        outcome.issued
    }

    /// Moves a participant up through every tier their `earned` points reach, in
    /// order, each with its actions. Tiers never go down (spending points does not
    /// lower `earned`; a revoke may, but a tier reached stays).
    fn climb_tiers(&mut self, u: u32, event: Option<&EventId>) {
        loop {
            let engine = self.engine;
            guaranteed!(let Some(user) = self.state.user(u), "a user number names a user" else return);
            let Some(cur) = user.tier() else {
                return;
            };
            let next = TierId(cur.0 + 1);
            let Some(tier) = engine.plan.tiers.get(next.index()) else {
                return;
            };
            let earned = user
                .points
                .saturating_add(user.packed.counter(POINTS_SPENT));
            if earned < tier.threshold {
                return;
            }
            let id = user.id.clone();
            if let Some(mut user) = self.state.user_mut(u) {
                user.set_tier(next);
            }
            let from = engine.names.tiers.get(cur.index()).cloned();
            let to = engine
                .names
                .tiers
                .get(next.index())
                .cloned()
                .unwrap_or_else(|| Name::from(tier.name.as_str()));
            let at = self.at();
            self.emit(Effect::Tier {
                at,
                user: id,
                from,
                to: to.clone(),
            });
            self.own_actions(u, &tier.actions, &Cause::Tier(to), event);
        }
    }

    /// Fires every goal of the running phase that now holds for the first time.
    pub(crate) fn check_goals(&mut self, u: u32, event: Option<&EventId>) {
        let engine = self.engine;
        let Some(phase) = self.state.running() else {
            return;
        };
        guaranteed!(let Some(p) = engine.plan.phases.get(phase.index()), "the running phase indexes the plan" else return);
        if p.goals.is_empty() {
            return;
        }
        let base = engine
            .index
            .goal_base
            .get(phase.index())
            .copied()
            .unwrap_or(0);
        let now = self.now;
        for (i, goal) in p.goals.iter().enumerate() {
            let g = base + crate::engine::id32(i);
            guaranteed!(let Some(user) = self.state.user(u), "a user number names a user" else return);
            if !user.enrolled() || user.packed.goals().any(|x| x == g) {
                continue;
            }
            let facts = Facts::of(engine, user, &[]).at(self.state, u, now);
            if !eval::holds(&engine.plan, &goal.condition, &facts) {
                continue;
            }
            if let Some(mut user) = self.state.user_mut(u) {
                user.reach(g);
            }
            let name = engine
                .names
                .goals
                .get(g as usize)
                .cloned()
                .unwrap_or_else(|| Name::from(goal.name.as_str()));
            self.own_actions(u, &goal.actions, &Cause::Goal(name), event);
        }
    }

    /// Whether a leaderboard's phase is running (boards score only then).
    pub(crate) fn board_runs(&self, lb: LeaderboardId) -> bool {
        let phase = self
            .engine
            .plan
            .leaderboards
            .get(lb.index())
            .map(|l| l.phase);
        phase.is_some() && self.state.running() == phase
    }

    /// A participant's holding of `reward` changed: its `holds(REWARD)` boards follow.
    pub(crate) fn rescore_holds(&mut self, u: u32, reward: RewardId) {
        let engine = self.engine;
        let boards = engine
            .index
            .holds_boards
            .get(reward.index())
            .map_or(&[][..], Vec::as_slice);
        for &lb in boards {
            let Some(user) = self.state.user(u) else {
                return;
            };
            if !user.enrolled() || !self.board_runs(lb) {
                continue;
            }
            let held = Decimal::from(user.packed.held(reward));
            let now = user.packed.score(lb).map_or(Decimal::ZERO, |s| s.score);
            if let Some(delta) = held.checked_sub(now) {
                self.score(u, lb, delta);
            }
        }
    }

    /// Adds to a participant's score on a leaderboard. A score that does not change
    /// keeps when it was reached: ties go to whoever reached the score first.
    pub(crate) fn score(&mut self, u: u32, lb: LeaderboardId, delta: Decimal) {
        self.state.seq += 1;
        if delta.is_zero() {
            return;
        }
        let seq = self.state.seq;
        let State { users, boards, .. } = &mut *self.state;
        guaranteed!(let Some(mut user) = users.get_mut(u as usize), "a user number names a user" else return);
        // A periodic board's scores start from zero in each period.
        let since = boards.get(lb.index()).map_or(0, Board::since);
        let old = user
            .packed()
            .score(lb)
            .map(|s| (s.score, s.seq))
            .filter(|(_, at)| *at > since);
        // A score past the largest decimal stays at it (event data can be that large).
        let new = old.map_or(delta, |(s, _)| {
            s.checked_add(delta).unwrap_or(if delta.is_sign_negative() {
                Decimal::MIN
            } else {
                Decimal::MAX
            })
        });
        user.set_score(&Score {
            board: lb,
            score: new,
            seq,
        });
        if let Some(b) = boards.get_mut(lb.index()) {
            let users = &*users;
            b.rescore(u, old.filter(|(s, _)| *s > Decimal::ZERO), new, seq, || {
                users.iter().zip(0u32..).filter_map(move |(x, i)| {
                    x.score(lb)
                        .filter(|s| s.score > Decimal::ZERO && s.seq > since)
                        .map(|s| (s.score, s.seq, i))
                })
            });
        }
    }
}
