//! Per-participant windows and timers (§6): a task's `within D of enroll|TASK` (its
//! completions count only inside that window), a send's `D after enroll|TASK` (once
//! per participant, only while its phase runs, §13.4), the `if` of phase-level sends
//! and grants, and mass grants (`on enter`, `at`).

use crate::effect::Cause;
use crate::eval;
use crate::state::packed::{first_done, Write, ENROLLED_AT};
use crate::state::{Due, Standing};
use crate::step::{Facts, Step};
use camp_plan::{Expr, PhaseGrant, PhaseId, Plan, SendWhen, Task, TimerFrom};
use chrono::{DateTime, Utc};

/// Which timed sends each starting point arms, and which instants windows need kept.
#[derive(Debug, Default)]
pub(crate) struct TimerIndex {
    /// Timed sends started by enrollment: their phase and position among its sends.
    pub(crate) from_enroll: Vec<(PhaseId, u32)>,
    /// [task]: timed sends started by its first counted completion.
    pub(crate) from_task: Vec<Vec<(PhaseId, u32)>>,
    /// [task]: whether a `within` counts from its first counted completion (only then
    /// is that instant kept).
    pub(crate) anchor: Vec<bool>,
    /// Whether a `within` counts from enrollment.
    pub(crate) window_from_enroll: bool,
}

impl TimerIndex {
    /// Indexes a plan's timed sends and windows.
    pub(crate) fn of(plan: &Plan) -> Self {
        let mut index = TimerIndex {
            from_task: vec![Vec::new(); plan.tasks.len()],
            anchor: vec![false; plan.tasks.len()],
            ..TimerIndex::default()
        };
        for (p, phase) in plan.phases.iter().enumerate() {
            for (i, s) in phase.sends.iter().enumerate() {
                if let SendWhen::After { from, .. } = s.when {
                    let at = (PhaseId(crate::engine::id32(p)), crate::engine::id32(i));
                    match from {
                        TimerFrom::Enroll => index.from_enroll.push(at),
                        TimerFrom::Task(t) => {
                            if let Some(list) = index.from_task.get_mut(t.index()) {
                                list.push(at);
                            }
                        }
                    }
                }
            }
        }
        for w in plan.tasks.iter().filter_map(|t| t.within) {
            match w.of {
                TimerFrom::Enroll => index.window_from_enroll = true,
                TimerFrom::Task(t) => {
                    if let Some(a) = index.anchor.get_mut(t.index()) {
                        *a = true;
                    }
                }
            }
        }
        index
    }
}

/// An instant to the second, as the participant state keeps them.
fn second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

impl Step<'_> {
    /// Whether `task`'s window (if it has one) holds now for `u`. A user not enrolled
    /// yet would enroll now, so a window from enrollment holds (it starts at the
    /// enrollment instant, inclusive); one from a task they never completed does not.
    pub(crate) fn in_window(&self, u: u32, task: &Task) -> bool {
        let Some(w) = task.within else {
            return true;
        };
        let Some(user) = self.state.user(u) else {
            return false;
        };
        let since = match w.of {
            TimerFrom::Enroll if !user.enrolled() => return true,
            TimerFrom::Enroll => user.packed.counter(ENROLLED_AT),
            TimerFrom::Task(t) => match user.packed.counter(first_done(t)) {
                0 => return false,
                s => s,
            },
        };
        let Some(start) = DateTime::from_timestamp(since, 0) else {
            return false;
        };
        let now = second(self.now);
        start <= now && now < self.engine.calendar.add(start, w.duration)
    }

    /// Notes `u`'s first counted completion of `task` now: keeps its instant if a
    /// window counts from it, and arms the timed sends it starts.
    pub(crate) fn first_completion(&mut self, u: u32, task: camp_plan::TaskId) {
        let index = &self.engine.index.timers;
        if index.anchor.get(task.index()).copied().unwrap_or(false) {
            let now = self.now.timestamp();
            if let Some(mut user) = self.state.user_mut(u) {
                user.set_counter(first_done(task), now);
            }
        }
        if let Some(list) = index.from_task.get(task.index()) {
            self.arm_timers(u, list);
        }
    }

    /// Arms, for participant `u`, the timed sends listed (phase, position) counting
    /// from now. A timer of a phase that already ended, or that falls due after the
    /// running phase's end, could never fire and is not kept.
    pub(crate) fn arm_timers(&mut self, u: u32, list: &[(PhaseId, u32)]) {
        let Some(running) = self.state.running() else {
            return;
        };
        for &(phase, send) in list {
            if phase < running {
                continue;
            }
            let Some(&SendWhen::After { after, .. }) = self
                .engine
                .plan
                .phases
                .get(phase.index())
                .and_then(|p| p.sends.get(send as usize))
                .map(|s| &s.when)
            else {
                continue;
            };
            let due = self.engine.calendar.add(self.now, after);
            let ends = self
                .state
                .windows
                .get(running.index())
                .copied()
                .flatten()
                .map(|w| w.end);
            if phase == running && ends.is_some_and(|end| due >= end) {
                continue;
            }
            self.state.dues.insert(Due {
                due,
                user: u,
                phase: phase.0,
                send,
            });
        }
    }

    /// A due timed send: goes out if its phase runs and the participant is among its
    /// recipients and meets its `if`.
    pub(crate) fn timed_send(&mut self, d: Due) {
        let phase = PhaseId(d.phase);
        if self.state.running() != Some(phase) {
            return;
        }
        let Some(s) = self
            .engine
            .plan
            .phases
            .get(phase.index())
            .and_then(|p| p.sends.get(d.send as usize))
        else {
            return;
        };
        if self.state.user(d.user).is_some_and(|x| x.enrolled())
            && self.receives(d.user, s.to, s.condition.as_ref())
        {
            self.send_to(d.user, s.message, Some(phase), None);
        }
    }

    /// Whether `u` is among `to` and meets `condition` (a phase-level send's or
    /// grant's `if`, evaluated now).
    pub(crate) fn receives(
        &self,
        u: u32,
        to: camp_plan::Recipients,
        condition: Option<&Expr>,
    ) -> bool {
        self.is_recipient(u, to) && self.meets(u, condition)
    }

    /// Whether `u` meets a phase-level send's or grant's `if` now.
    pub(crate) fn meets(&self, u: u32, condition: Option<&Expr>) -> bool {
        let Some(c) = condition else {
            return true;
        };
        self.state.user(u).is_some_and(|user| {
            let facts = Facts::of(self.engine, user, &[]).at(self.state, u, self.now);
            eval::holds(&self.engine.plan, c, &facts)
        })
    }

    /// A mass grant (`on enter`, `at`): to each recipient meeting its `if`, in the
    /// order they enrolled, then users not enrolled yet in the order they became known
    /// (enrolled first; the holdout never receives). A pool is shared among them all:
    /// one firing, `reach.len()` recipients.
    pub(crate) fn mass_grant(&mut self, g: &PhaseGrant, cause: &Cause) {
        let reach: Vec<u32> = self
            .recipients(g.to)
            .into_iter()
            .filter(|&u| {
                self.state
                    .user(u)
                    .is_some_and(|x| x.standing != Standing::Holdout)
                    && self.meets(u, g.condition.as_ref())
            })
            .collect();
        let pools = if self.is_pool(g.reward) {
            vec![(g.reward, reach.len() as u64)]
        } else {
            Vec::new()
        };
        self.firing(&pools, |step| {
            for u in reach {
                if step
                    .state
                    .user(u)
                    .is_some_and(|x| x.standing == Standing::Eligible)
                {
                    step.enroll(u, None);
                }
                step.grant_reward(u, g.reward, cause.clone(), None, None);
            }
        });
    }
}
