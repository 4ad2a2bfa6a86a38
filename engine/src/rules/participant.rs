//! A participant's rules: enrollment, counted completions with their limits, grants,
//! streaks and `after` milestones, tiers, goals and leaderboard scores (§9, steps 1–3).

use crate::effect::{At, Cause, Effect, EventId, Name, RejectReason};
use crate::engine::Verdict;
use crate::input::{self, EventRef};
use crate::invariant::guaranteed;
use crate::random::Draws;
use crate::rules::grants::{self, Request};
use crate::state::packed::Write;
use crate::state::{Progress, Score, Stamp, Standing, State};
use crate::step::{Facts, Step};
use crate::{eval, hashes};
use camp_plan::calendar::Day;
use camp_plan::{
    GrantOn, LeaderboardId, RewardId, RewardKind, SendWhen, TaskId, TierId, Trigger, Value,
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
            .is_some_and(|x| x.standing == Standing::Holdout)
        {
            return Ok(());
        }

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
        // The first task whose `where` holds counts the event (and enrolls the user);
        // the tasks after it run in the order written, each `where` seeing the state
        // the ones before it left (§6).
        let first = candidates.iter().position(|&t| self.counts(u, t, &fields));
        if first.is_none() && scoring.is_empty() {
            return Ok(());
        }
        let event = EventId::from(line.id);
        if !self.state.user(u).is_some_and(|x| x.enrolled()) {
            self.enroll(u, Some(&event));
        }
        if let Some(first) = first {
            for (i, &t) in candidates.iter().enumerate().skip(first) {
                if i == first || self.counts(u, t, &fields) {
                    self.complete(u, t, Some(&event));
                }
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
        Ok(())
    }

    /// Whether task `t`'s `where` holds for user `u` and this event's fields now.
    fn counts(&self, u: u32, t: TaskId, fields: &[Value]) -> bool {
        let plan = &self.engine.plan;
        match plan.tasks.get(t.index()).and_then(|t| t.filter.as_ref()) {
            None => true,
            Some(f) => self
                .state
                .user(u)
                .is_some_and(|user| eval::holds(plan, f, &Facts::of(self.engine, user, fields))),
        }
    }

    /// Makes an eligible user a participant in the running phase and fires its
    /// `on enroll` statements: the first tier, grants, tasks, sends.
    pub(crate) fn enroll(&mut self, u: u32, event: Option<&EventId>) {
        let Some(phase) = self.state.running() else {
            return;
        };
        let now = self.now;
        guaranteed!(let Some(mut user) = self.state.user_mut(u), "a user number names a user" else return);
        user.standing = Standing::Participant;
        user.last_active = Some(Stamp::of(now));
        user.nudged = 0;
        let id = user.id.clone();
        self.state.enrolled.push(u);
        let at = self.at();
        self.emit(Effect::Enroll {
            at,
            user: id.clone(),
        });
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
            if let Some(r) = first.reward {
                self.give(u, r, Cause::Tier(to), event);
            }
            self.climb_tiers(u, event);
        }
        let p = phase.index();
        let grants: Vec<RewardId> = self.engine.grants_on(p, GrantOn::Enroll).collect();
        for r in grants {
            self.give(u, r, Cause::Enroll, event);
        }
        let tasks = self
            .engine
            .index
            .enroll_tasks
            .get(p)
            .cloned()
            .unwrap_or_default();
        for t in tasks {
            self.complete(u, t, event);
        }
        let sends: Vec<(camp_plan::MessageId, camp_plan::Recipients)> = self
            .engine
            .plan
            .phases
            .get(p)
            .map(|ph| {
                ph.sends
                    .iter()
                    .filter(|s| s.when == SendWhen::Enroll)
                    .map(|s| (s.message, s.to))
                    .collect()
            })
            .unwrap_or_default();
        for (m, to) in sends {
            if self.is_recipient(u, to) {
                self.send_to(u, m, Some(phase), None);
            }
        }
        self.arm_inactivity(u, phase, u64::MAX);
        self.check_goals(u, event);
    }

    /// One event (or enrollment, or birthday) counted by a task, within its limits.
    pub(crate) fn complete(&mut self, u: u32, task: TaskId, event: Option<&EventId>) {
        let engine = self.engine;
        guaranteed!(let Some(t) = engine.plan.tasks.get(task.index()), "a task id indexes the plan" else return);
        let day: Day = engine.calendar.day(self.now);
        let now = self.now;
        guaranteed!(let Some(mut user) = self.state.user_mut(u), "a user number names a user" else return);
        let (slot, mut progress) = match user.packed().task(task) {
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
            return;
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
        if user.set_task(slot, &progress).is_none() {
            return;
        }
        let (count, streak) = (progress.count, progress.streak);
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
        // `reward.*` in the task's sends: the first grant's reward (a draw's win).
        let mut told: Option<RewardId> = None;
        for (i, &r) in t.grants.iter().enumerate() {
            let issued = self.give(u, r, Cause::Task(name.clone()), event);
            if i == 0 {
                let is_draw = matches!(
                    engine.plan.rewards.get(r.index()).map(|x| &x.kind),
                    Some(RewardKind::Draw { .. })
                );
                told = if is_draw {
                    issued.get(1)
                } else {
                    issued.get(0)
                };
            }
        }
        for &m in &t.sends {
            if t.grants.is_empty() || told.is_some() {
                self.send_to(u, m, Some(t.phase), told);
            }
        }
        for s in &t.streaks {
            if streak == s.count && u32::from(best_before) < s.count {
                self.give(u, s.reward, Cause::Streak(name.clone()), event);
            }
        }
        for m in &t.after {
            if count == m.count {
                self.give(u, m.reward, Cause::After(name.clone()), event);
            }
        }
        self.check_goals(u, event);
    }

    /// Grants a reward within `per_user`, stock and budget; points move the balance,
    /// points leaderboards and tiers; goals are checked after. Returns what was issued.
    pub(crate) fn give(
        &mut self,
        u: u32,
        reward: RewardId,
        cause: Cause,
        event: Option<&EventId>,
    ) -> grants::Rewards {
        let engine = self.engine;
        let state = &mut *self.state;
        guaranteed!(let Some(mut user) = state.users.get_mut(u as usize), "a user number names a user" else return grants::Rewards::default());
        let req = Request {
            at: At(self.now),
            user: user.id.clone(),
            cause,
            event: event.cloned(),
        };
        let outcome = grants::grant(
            grants::Catalog {
                plan: &engine.plan,
                names: &engine.names.rewards,
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
        for r in outcome.issued.iter() {
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

    /// Moves a participant up through every tier their balance reaches, in order, each
    /// with its grant. Tiers never go down.
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
            if user.points < tier.threshold {
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
            if let Some(r) = tier.reward {
                self.give(u, r, Cause::Tier(to), event);
            }
        }
    }

    /// Fires every goal of the running phase that now holds for the first time.
    fn check_goals(&mut self, u: u32, event: Option<&EventId>) {
        let engine = self.engine;
        let Some(phase) = self.state.running() else {
            return;
        };
        guaranteed!(let Some(p) = engine.plan.phases.get(phase.index()), "the running phase indexes the plan" else return);
        let base = engine
            .index
            .goal_base
            .get(phase.index())
            .copied()
            .unwrap_or(0);
        for (i, goal) in p.goals.iter().enumerate() {
            let g = base + crate::engine::id32(i);
            guaranteed!(let Some(user) = self.state.user(u), "a user number names a user" else return);
            if !user.enrolled() || user.packed.goals().any(|x| x == g) {
                continue;
            }
            if !eval::holds(&engine.plan, &goal.condition, &Facts::of(engine, user, &[])) {
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
            self.give(u, goal.reward, Cause::Goal(name), event);
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
        let old = user.packed().score(lb).map(|s| (s.score, s.seq));
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
                        .filter(|s| s.score > Decimal::ZERO)
                        .map(|s| (s.score, s.seq, i))
                })
            });
        }
    }
}
