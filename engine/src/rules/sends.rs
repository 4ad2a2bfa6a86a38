//! Sending a message: the control group is suppressed, quiet hours defer, the daily cap
//! suppresses, and what goes out is rendered in the user's locale (§2, §5, §9 step 4).

use crate::effect::{Effect, Name, SuppressReason};
use crate::eval;
use crate::invariant::guaranteed;
use crate::render::RenderContext;
use crate::state::{Deferred, Standing, UserRef};
use crate::step::{Facts, Step};
use crate::EngineError;
use camp_plan::literal::Money;
use camp_plan::{MessageId, PhaseId, Recipients, RewardId, Value};
use serde_json::{Map, Value as Json};

/// A typed attribute as templates see it (money as `20 CNY`, dates as `2027-01-20`).
fn json(v: &Value) -> Json {
    match v {
        Value::Int(n) => Json::from(*n),
        Value::Decimal(d) | Value::Percent(d) => crate::run_report::number(*d),
        Value::Money(m) => Json::String(m.to_string()),
        Value::String(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Value::Datetime(t) => Json::String(t.to_rfc3339()),
        Value::Time(t) => Json::String(t.format("%H:%M").to_string()),
        Value::Duration(d) => Json::String(d.to_string()),
        Value::List(items) => Json::Array(items.iter().map(json).collect()),
    }
}

impl Step<'_> {
    /// Whether user `u` is among `to` (holdout users are in the audience; they are
    /// suppressed when sent to).
    pub(crate) fn is_recipient(&self, u: u32, to: Recipients) -> bool {
        guaranteed!(let Some(user) = self.state.user(u), "a user number names a user" else return false);
        match to {
            Recipients::Audience => user.eligible(),
            Recipients::Participants => user.enrolled(),
            Recipients::Segment(s) => {
                user.eligible()
                    && self.engine.plan.segments.get(s.index()).is_some_and(|seg| {
                        eval::holds(
                            &self.engine.plan,
                            &seg.condition,
                            &Facts::of(self.engine, user, &[]),
                        )
                    })
            }
        }
    }

    /// Every recipient of a phase-level send or mass grant: participants in the order
    /// they enrolled (first enrolled, first served), then — for the audience or a
    /// segment — users not enrolled yet, in the order they became known.
    pub(crate) fn recipients(&self, to: Recipients) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .state
            .enrolled
            .iter()
            .copied()
            .filter(|&u| self.is_recipient(u, to))
            .collect();
        if to != Recipients::Participants {
            out.extend(
                (0..crate::engine::id32(self.state.users.len())).filter(|&u| {
                    self.state.user(u).is_some_and(|x| !x.enrolled()) && self.is_recipient(u, to)
                }),
            );
        }
        out
    }

    /// Sends (or suppresses, or defers) one message to one user.
    pub(crate) fn send_to(
        &mut self,
        u: u32,
        message: MessageId,
        phase: Option<PhaseId>,
        reward: Option<RewardId>,
    ) {
        self.send_with(u, message, phase, reward, None);
    }

    /// Sends (or suppresses, or defers) one message to one user, from a group's outcome
    /// when `group` is given (`group.*`).
    pub(crate) fn send_with(
        &mut self,
        u: u32,
        message: MessageId,
        phase: Option<PhaseId>,
        reward: Option<RewardId>,
        group: Option<(u32, u32)>,
    ) {
        // A pool's share is known only while its firing runs: kept with a deferred send.
        let share = reward.and_then(|r| self.shares.iter().find(|(p, _)| *p == r).map(|(_, m)| *m));
        guaranteed!(let Some(user) = self.state.user(u), "a user number names a user" else return);
        if user.standing == Standing::Holdout {
            let user = user.id.clone();
            let at = self.at();
            self.emit(Effect::Suppress {
                at,
                user,
                message: self.message_name(message),
                reason: SuppressReason::Holdout,
                error: None,
            });
            return;
        }
        if let Some(quiet) = &self.engine.plan.campaign.quiet {
            if self.engine.calendar.is_quiet(quiet, self.now) {
                let due = self.engine.calendar.quiet_end(quiet, self.now);
                self.state.deferred.push_back(Deferred {
                    due,
                    user: u,
                    message,
                    phase,
                    reward,
                    group,
                    share,
                });
                return;
            }
        }
        self.deliver(u, message, phase, reward, group, share);
    }

    /// Delivers now, within the daily cap.
    pub(crate) fn deliver(
        &mut self,
        u: u32,
        message: MessageId,
        phase: Option<PhaseId>,
        reward: Option<RewardId>,
        group: Option<(u32, u32)>,
        share: Option<Money>,
    ) {
        let engine = self.engine;
        let day = engine.calendar.day(self.now);
        let at = self.at();
        let name = self.message_name(message);
        guaranteed!(let Some(user) = self.state.users.get(u as usize), "a user number names a user" else return);
        let sent_today = if user.cap.0 == day { user.cap.1 } else { 0 };
        let suppress = |reason: SuppressReason, error: Option<String>| Effect::Suppress {
            at,
            user: user.id.clone(),
            message: name.clone(),
            reason,
            error,
        };
        if self.stale_before.is_some_and(|s| self.now < s) {
            let e = suppress(SuppressReason::Stale, None);
            self.emit(e);
            return;
        }
        if engine
            .plan
            .campaign
            .cap_per_day
            .is_some_and(|cap| sent_today >= cap)
        {
            let e = suppress(SuppressReason::Cap, None);
            self.emit(e);
            return;
        }
        let mut ctx = self.context(u, user, message, phase, reward, group);
        ctx.share = share;
        let wanted = engine
            .index
            .locale_attr
            .and_then(|a| user.attrs().get(a.index()));
        let wanted = match &wanted {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        let locale = engine.renderer.pick_locale(wanted);
        // A send that does not go out is a `suppress` with its reason, never dropped, and
        // does not count toward the cap.
        let r = match engine.renderer.render(message, locale, &ctx) {
            Ok(r) if r.body.trim().is_empty() => {
                let e = suppress(SuppressReason::Empty, None);
                self.emit(e);
                return;
            }
            Ok(r) => r,
            Err(e) => {
                let detail = match e {
                    EngineError::Template { detail, .. } => detail,
                    other => other.to_string(),
                };
                let e = suppress(SuppressReason::Render, Some(detail));
                self.emit(e);
                return;
            }
        };
        let locale = engine
            .names
            .locales
            .iter()
            .find(|l| ***l == *r.locale)
            .cloned()
            .unwrap_or_else(|| Name::from(r.locale.as_str()));
        let channel = engine
            .names
            .channels
            .get(message.index())
            .cloned()
            .unwrap_or_else(|| Name::from(""));
        let user = user.id.clone();
        if let Some(mut counted) = self.state.users.get_mut(u as usize) {
            counted.cap = (day, sent_today + 1);
        }
        self.measure_send(u, message);
        self.emit(Effect::Send {
            at,
            user,
            message: name,
            channel,
            locale,
            body: r.body,
            subject: r.subject,
        });
    }

    fn message_name(&self, m: MessageId) -> Name {
        self.engine
            .names
            .messages
            .get(m.index())
            .cloned()
            .unwrap_or_else(|| Name::from(""))
    }

    /// What a template sees of this user now.
    fn context(
        &self,
        u: u32,
        user: UserRef<'_>,
        message: MessageId,
        phase: Option<PhaseId>,
        reward: Option<RewardId>,
        group: Option<(u32, u32)>,
    ) -> RenderContext {
        let engine = self.engine;
        let mut attrs = Map::new();
        for (a, v) in engine.plan.attrs.iter().zip(user.attrs().values()) {
            if let Some(v) = v {
                attrs.insert(a.name.clone(), json(&v));
            }
        }
        let mut ranks = std::collections::BTreeMap::new();
        if engine
            .index
            .uses_rank
            .get(message.index())
            .copied()
            .unwrap_or(false)
        {
            {
                for (i, lb) in engine.plan.leaderboards.iter().enumerate() {
                    let within = lb.show_top.map_or(usize::MAX, |n| n as usize);
                    if let Some(rank) = self.state.boards.get(i).and_then(|b| b.rank_of(u, within))
                    {
                        ranks.insert(lb.name.clone(), rank);
                    }
                }
            }
        }
        let facts = Facts::of(engine, user, &[]).at(self.state, u, self.now);
        let (mut counts, mut today, mut streaks) = Default::default();
        if engine
            .index
            .uses_progress
            .get(message.index())
            .copied()
            .unwrap_or(false)
        {
            for (i, t) in engine.plan.tasks.iter().enumerate() {
                let id = camp_plan::TaskId(crate::engine::id32(i));
                let n = |v: Option<i64>| u32::try_from(v.unwrap_or(0)).unwrap_or(0);
                let put = |m: &mut std::collections::BTreeMap<String, u32>, v| {
                    m.insert(t.name.clone(), n(v));
                };
                put(&mut counts, eval::Facts::task_count(&facts, id));
                put(&mut today, eval::Facts::task_today(&facts, id));
                put(&mut streaks, eval::Facts::task_streak(&facts, id));
            }
        }
        let group = group.and_then(|(kind, n)| {
            let g = self.state.groups.get(kind, n)?;
            let k = engine.plan.groups.get(kind as usize)?;
            Some(crate::render::GroupVars {
                name: k.name.clone(),
                key: g.key.to_string(),
                size: k.size,
                members: crate::engine::id32(g.members.len()),
            })
        });
        let variants = engine
            .names
            .experiments
            .iter()
            .zip(&engine.names.variants)
            .enumerate()
            .filter_map(|(e, (x, names))| {
                let v = names.get(usize::from(user.variant(e)?))?;
                Some((x.to_string(), v.to_string()))
            })
            .collect();
        RenderContext {
            variants,
            participant_earned: eval::Facts::earned(&facts),
            participant_enrolled_at: eval::Facts::enrolled_at(&facts),
            counts,
            today,
            streaks,
            group,
            user: attrs,
            participant_points: user.points,
            participant_tier: user
                .tier()
                .and_then(|t| engine.plan.tiers.get(t.index()))
                .map(|t| t.name.clone()),
            ranks,
            phase,
            reward,
            share: None,
        }
    }
}
