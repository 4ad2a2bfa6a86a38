//! Lowering a checked campaign to the [`Plan`]: names become indices, phase windows and
//! timed sends become UTC instants, templates are attached per locale, and the state
//! machines are laid out. Runs only on a program the checks passed without errors, so
//! an unresolved name here is an internal error.

use crate::check::{phases, CheckedCampaign, Settings, Ty};
use crate::error::CompileError;
use crate::load::Program;
use crate::symbols::{self, Symbols};
use camp_dsl::ast::{
    self, ExprKind, LitKind, PhaseStmtKind, PropValue, RewardKind as AstReward, TaskStmt, TypeRef,
};
use camp_plan::*;
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

fn unresolved(what: impl Into<String>) -> CompileError {
    CompileError::Internal { what: what.into() }
}

type Lowered<T> = Result<T, CompileError>;

struct Lower<'a> {
    syms: Symbols<'a>,
    settings: &'a Settings,
    tz: Tz,
    /// The plan's measures, gathered as formulas are lowered (one per distinct metric).
    measures: std::cell::RefCell<Vec<Measure>>,
}

/// Lowers a checked program. `checked` must come from a check of `program` that reported
/// no errors.
pub fn lower(program: &Program, checked: &CheckedCampaign) -> Lowered<Plan> {
    let mut scratch = Vec::new();
    lower_with(program, checked, symbols::collect(program, &mut scratch))
}

/// Lowers with the name tables the check already collected.
pub fn lower_with<'a>(
    program: &'a Program,
    checked: &'a CheckedCampaign,
    syms: Symbols<'a>,
) -> Lowered<Plan> {
    let settings = &checked.settings;
    let tz = settings.tz.ok_or_else(|| unresolved("the time zone"))?;
    let l = Lower {
        syms,
        settings,
        tz,
        measures: Default::default(),
    };
    let windows: Vec<phases::PhaseWindow> = checked
        .windows
        .iter()
        .map(|w| w.ok_or_else(|| unresolved("a phase window")))
        .collect::<Lowered<_>>()?;
    let campaign_def = l
        .syms
        .campaign
        .ok_or_else(|| unresolved("the campaign block"))?;
    let docs = campaign_def.docs.and_then(|d| d.text());
    // A campaign without phases runs nothing; without a `start` either (which only a
    // phase given by duration requires), it starts and ends at the Unix epoch.
    let start = windows
        .first()
        .map(|w| w.start)
        .or(settings.start)
        .unwrap_or(DateTime::UNIX_EPOCH);
    let end = windows.last().map_or(start, |w| w.end);
    let audience = campaign_def
        .node
        .settings
        .iter()
        .find_map(|s| match &s.value {
            ast::SettingValue::Audience(e) => Some(l.expr(e, None)),
            _ => None,
        })
        .transpose()?;
    let campaign = Campaign {
        id: settings.id.clone(),
        name: settings
            .title
            .clone()
            .unwrap_or_else(|| settings.id.clone()),
        docs,
        timezone: tz.name().to_string(),
        start,
        end,
        locales: settings.locales.clone(),
        budget: settings.budget.map(|(m, _)| m),
        audience,
        holdout_percent: settings.holdout.unwrap_or(Decimal::ZERO),
        cap_per_day: settings.cap.and_then(|c| u32::try_from(c).ok()),
        quiet: settings.quiet,
        enroll_audience: settings.enroll_audience,
    };
    let attrs = l
        .syms
        .attrs
        .iter()
        .map(|a| {
            Ok(Attr {
                name: a.name.name.clone(),
                ty: value_type(&a.node.ty)?,
            })
        })
        .collect::<Lowered<_>>()?;
    let events = l
        .syms
        .events
        .iter()
        .map(|e| {
            let fields = e
                .node
                .fields
                .iter()
                .map(|f| {
                    Ok(Attr {
                        name: f.name.name.clone(),
                        ty: value_type(&f.ty)?,
                    })
                })
                .collect::<Lowered<_>>()?;
            Ok(EventType {
                name: e.name.name.clone(),
                fields,
            })
        })
        .collect::<Lowered<_>>()?;
    let rewards = l
        .syms
        .rewards
        .iter()
        .map(|r| l.reward(r.node))
        .collect::<Lowered<_>>()?;
    let segments = l
        .syms
        .segments
        .iter()
        .map(|s| {
            Ok(Segment {
                name: s.name.name.clone(),
                condition: l.expr(&s.node.condition, None)?,
            })
        })
        .collect::<Lowered<_>>()?;
    let messages = l
        .syms
        .messages
        .iter()
        .map(|m| l.message(m.node))
        .collect::<Lowered<_>>()?;
    let mut phases_out = Vec::new();
    let mut built = Built::default();
    for (i, def) in l.syms.phases.iter().enumerate() {
        let w = windows
            .get(i)
            .copied()
            .ok_or_else(|| unresolved("a phase window"))?;
        phases_out.push(l.phase(def, i, w, &mut built)?);
    }
    let Built {
        tasks,
        leaderboards,
        raffles,
    } = built;
    let groups = l
        .syms
        .groups
        .iter()
        .map(|g| l.group(g.node, g.docs.and_then(|d| d.text())))
        .collect::<Lowered<_>>()?;
    let experiments = l
        .syms
        .experiments
        .iter()
        .map(|x| l.experiment(x.node, x.docs.and_then(|d| d.text())))
        .collect::<Lowered<_>>()?;
    let tiers = l
        .syms
        .tiers
        .iter()
        .map(|t| {
            let threshold = match t.node.threshold.kind {
                LitKind::Int(n) => n,
                _ => return Err(unresolved("a tier threshold")),
            };
            let actions = match &t.node.actions {
                Some(a) => l.actions(a, None, false)?,
                None => Vec::new(),
            };
            Ok(Tier {
                name: t.name.name.clone(),
                threshold,
                actions,
            })
        })
        .collect::<Lowered<_>>()?;
    let kpis = l
        .syms
        .kpis
        .iter()
        .map(|k| {
            let by = match &k.node.by {
                None => None,
                Some(by) if by.name == "holdout" => Some(Arms::Holdout),
                Some(by) => Some(Arms::Experiment {
                    experiment: l
                        .syms
                        .experiments
                        .position(&by.name)
                        .map(|i| ExperimentId(i as u32))
                        .ok_or_else(|| unresolved("a KPI's experiment"))?,
                }),
            };
            let formula = l.metric_in(
                &k.node.formula,
                Scope {
                    arms: by,
                    participants_only: false,
                },
            )?;
            let test = by.and_then(|by| l.arm_test(&formula, by));
            Ok(Kpi {
                name: k.name.name.clone(),
                formula,
                op: compare(k.node.op),
                target: l.value(&k.node.target.kind)?,
                by,
                test,
            })
        })
        .collect::<Lowered<_>>()?;
    let measures = l.measures.take();
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        source_hash: source_hash(program),
        campaign,
        attrs,
        events,
        rewards,
        segments,
        messages,
        phases: phases_out,
        tasks,
        leaderboards,
        groups,
        raffles,
        experiments,
        tiers,
        kpis,
        measures,
        machines: Machines {
            campaign: StateMachine {
                states: vec![],
                transitions: vec![],
            },
            participant: StateMachine {
                states: vec![],
                transitions: vec![],
            },
        },
    };
    plan.machines = crate::machines::build(&plan);
    Ok(plan)
}

/// What the phases add to the plan's lists as they are lowered.
#[derive(Default)]
struct Built {
    tasks: Vec<Task>,
    leaderboards: Vec<Leaderboard>,
    raffles: Vec<Raffle>,
}

/// SHA-256 over every source text in load order, each prefixed by its length.
fn source_hash(program: &Program) -> String {
    let mut h = Sha256::new();
    for (_, f) in program.sources.iter() {
        h.update((f.text.len() as u64).to_le_bytes());
        h.update(f.text.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn value_type(t: &TypeRef) -> Lowered<ValueType> {
    Ok(match Ty::from_decl(t) {
        Some(Ty::Int) => ValueType::Int,
        Some(Ty::Decimal) => ValueType::Decimal,
        Some(Ty::Bool) => ValueType::Bool,
        Some(Ty::Str) => ValueType::String,
        Some(Ty::Date) => ValueType::Date,
        Some(Ty::DateTime) => ValueType::Datetime,
        Some(Ty::Money(_)) => ValueType::Money,
        Some(Ty::Duration) => ValueType::Duration,
        Some(Ty::List(_)) => ValueType::ListString,
        Some(Ty::User) => ValueType::User,
        _ => return Err(unresolved("a field type")),
    })
}

fn compare(op: ast::CompareOp) -> CompareOp {
    match op {
        ast::CompareOp::Eq => CompareOp::Eq,
        ast::CompareOp::Ne => CompareOp::Ne,
        ast::CompareOp::Lt => CompareOp::Lt,
        ast::CompareOp::Le => CompareOp::Le,
        ast::CompareOp::Gt => CompareOp::Gt,
        ast::CompareOp::Ge => CompareOp::Ge,
    }
}

fn arith(op: ast::BinOp) -> Option<ArithOp> {
    Some(match op {
        ast::BinOp::Add => ArithOp::Add,
        ast::BinOp::Sub => ArithOp::Sub,
        ast::BinOp::Mul => ArithOp::Mul,
        ast::BinOp::Div => ArithOp::Div,
        _ => return None,
    })
}

fn lit_value(k: &LitKind) -> Lowered<Value> {
    Ok(match k {
        LitKind::Int(n) => Value::Int(*n),
        LitKind::Decimal(d) => Value::Decimal(*d),
        LitKind::Percent(p) => Value::Percent(*p),
        LitKind::Money(m) => Value::Money(*m),
        LitKind::Duration(d) => Value::Duration(*d),
        LitKind::Date(d) => Value::Date(*d),
        LitKind::Time(t) => Value::Time(*t),
        LitKind::DateTime(camp_plan::literal::DateTimeLit::Fixed(d)) => {
            Value::Datetime(d.with_timezone(&Utc))
        }
        LitKind::DateTime(camp_plan::literal::DateTimeLit::Local(_)) | LitKind::Invalid => {
            return Err(unresolved("a literal"))
        }
    })
}

fn count(lit: &ast::Lit) -> Lowered<u32> {
    match lit.kind {
        LitKind::Int(n) => u32::try_from(n).map_err(|_| unresolved("a count")),
        _ => Err(unresolved("a count")),
    }
}

/// A stock or `per_user`: any positive whole number the language can write.
fn quantity(lit: &ast::Lit) -> Lowered<u64> {
    match lit.kind {
        LitKind::Int(n) => u64::try_from(n).map_err(|_| unresolved("a quantity")),
        _ => Err(unresolved("a quantity")),
    }
}

impl<'a> Lower<'a> {
    fn reward_id(&self, name: &str) -> Lowered<RewardId> {
        self.syms
            .rewards
            .position(name)
            .map(|i| RewardId(i as u32))
            .ok_or_else(|| unresolved(format!("reward `{name}`")))
    }

    fn message_id(&self, name: &str) -> Lowered<MessageId> {
        self.syms
            .messages
            .position(name)
            .map(|i| MessageId(i as u32))
            .ok_or_else(|| unresolved(format!("message `{name}`")))
    }

    fn task_id(&self, name: &str) -> Lowered<TaskId> {
        self.syms
            .tasks
            .position(name)
            .map(|i| TaskId(i as u32))
            .ok_or_else(|| unresolved(format!("task `{name}`")))
    }

    fn event_id(&self, name: &str) -> Lowered<EventId> {
        self.syms
            .events
            .position(name)
            .map(|i| EventId(i as u32))
            .ok_or_else(|| unresolved(format!("event `{name}`")))
    }

    fn local(&self, t: DateTime<Utc>) -> chrono::NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    fn reward(&self, r: &ast::RewardDef) -> Lowered<Reward> {
        let mut stock = None;
        let mut stock_per_day = None;
        let mut per_user = None;
        let mut label = None;
        let mut value_money = None;
        let mut cost = None;
        let mut expires = None;
        for p in &r.props {
            match &p.value {
                PropValue::Stock(l) => stock = Some(quantity(l)?),
                PropValue::StockPerDay(l) => stock_per_day = Some(quantity(l)?),
                PropValue::PerUser(l) => per_user = Some(quantity(l)?),
                PropValue::Label(s) => label = Some(s.value.clone()),
                PropValue::Value(l) => value_money = money(&l.kind),
                PropValue::Cost(l) => cost = money(&l.kind),
                PropValue::Expires(l) => {
                    if let LitKind::Duration(d) = l.kind {
                        expires = Some(d);
                    }
                }
            }
        }
        let (kind, text_label, value) = match &r.kind {
            AstReward::Points(l) => match l.kind {
                LitKind::Int(n) => (
                    RewardKind::Points { amount: n },
                    None,
                    Some(format!("{n} points")),
                ),
                _ => return Err(unresolved("a points amount")),
            },
            AstReward::Coupon => {
                let v = value_money.ok_or_else(|| unresolved("a coupon value"))?;
                (
                    RewardKind::Coupon { value: v, expires },
                    None,
                    Some(v.to_string()),
                )
            }
            AstReward::Item(s) => (
                RewardKind::Item,
                Some(s.value.clone()),
                cost.map(|c| c.to_string()),
            ),
            AstReward::Badge(s) => {
                per_user = Some(1);
                (RewardKind::Badge, Some(s.value.clone()), None)
            }
            AstReward::Draw(entries) => {
                let outcomes = entries
                    .iter()
                    .map(|e| match e.weight.kind {
                        LitKind::Percent(p) => Ok(DrawOutcome {
                            percent: p,
                            reward: self.reward_id(&e.reward.name)?,
                        }),
                        _ => Err(unresolved("a draw weight")),
                    })
                    .collect::<Lowered<_>>()?;
                (RewardKind::Draw { outcomes }, None, None)
            }
            // `reward.value` of a pool is the share, known only when a firing grants it.
            AstReward::Pool(l) => {
                let amount = money(&l.kind).ok_or_else(|| unresolved("a pool amount"))?;
                (RewardKind::Pool { amount }, None, None)
            }
        };
        let cost = match &kind {
            RewardKind::Coupon { value, .. } => Some(*value),
            RewardKind::Item => cost,
            _ => None,
        };
        Ok(Reward {
            name: r.name.name.clone(),
            label: label.or(text_label).unwrap_or_else(|| r.name.name.clone()),
            kind,
            stock,
            stock_per_day,
            per_user,
            cost,
            value,
        })
    }

    fn message(&self, m: &ast::MessageDef) -> Lowered<Message> {
        let by = match &m.experiment {
            None => None,
            Some(x) => {
                let experiment = self.experiment_id(&x.name)?;
                let def = self
                    .syms
                    .experiments
                    .get(&x.name)
                    .ok_or_else(|| unresolved("an experiment"))?;
                let templates = def
                    .node
                    .variants
                    .iter()
                    .map(|v| {
                        let body = m
                            .variants
                            .iter()
                            .find(|b| b.name.name == v.name.name)
                            .ok_or_else(|| unresolved(format!("a body for `{}`", v.name.name)))?;
                        self.templates(&body.entries)
                    })
                    .collect::<Lowered<_>>()?;
                Some(MessageVariants {
                    experiment,
                    templates,
                })
            }
        };
        let templates = if by.is_some() {
            Vec::new()
        } else {
            self.templates(&m.entries)?
        };
        Ok(Message {
            name: m.name.name.clone(),
            channel: m.channel.name.clone(),
            templates,
            by,
        })
    }

    /// One template per campaign locale from a message's (or a variant's) entries.
    fn templates(&self, entries: &[ast::MessageEntry]) -> Lowered<Vec<Template>> {
        self.settings
            .locales
            .iter()
            .map(|loc| {
                let body = entries
                    .iter()
                    .find(|e| !e.subject && e.locale.name == *loc)
                    .map(|e| e.text.value.clone());
                let subject = entries
                    .iter()
                    .find(|e| e.subject && e.locale.name == *loc)
                    .map(|e| e.text.value.clone());
                Ok(Template {
                    locale: loc.clone(),
                    subject,
                    body: body.ok_or_else(|| unresolved(format!("a body for `{loc}`")))?,
                })
            })
            .collect()
    }

    fn experiment_id(&self, name: &str) -> Lowered<ExperimentId> {
        self.syms
            .experiments
            .position(name)
            .and_then(|i| u32::try_from(i).ok())
            .map(ExperimentId)
            .ok_or_else(|| unresolved(format!("experiment `{name}`")))
    }

    fn experiment(&self, x: &ast::ExperimentDef, docs: Option<String>) -> Lowered<Experiment> {
        let variants = x
            .variants
            .iter()
            .map(|v| {
                let weight = match v.weight.kind {
                    LitKind::Percent(p) => p,
                    _ => return Err(unresolved("a variant weight")),
                };
                Ok(Variant {
                    name: v.name.name.clone(),
                    weight,
                })
            })
            .collect::<Lowered<_>>()?;
        Ok(Experiment {
            name: x.name.name.clone(),
            docs,
            variants,
        })
    }

    fn phase(
        &self,
        def: &crate::symbols::Def<'_, ast::PhaseDef>,
        index: usize,
        w: phases::PhaseWindow,
        built: &mut Built,
    ) -> Lowered<Phase> {
        let p = def.node;
        let docs = def.docs.and_then(|d| d.text());
        let duration = match &p.timing {
            ast::PhaseTiming::For(l) => match l.kind {
                LitKind::Duration(d) => Some(d),
                _ => None,
            },
            ast::PhaseTiming::Window(..) => None,
        };
        let until = match &p.until {
            None => None,
            Some(ast::Until::BudgetExhausted(_)) => Some(Until::BudgetExhausted),
            Some(ast::Until::Condition(e)) => Some(Until::Condition {
                condition: self.metric(e)?,
            }),
        };
        let phase_id = PhaseId(index as u32);
        let mut out = Phase {
            name: p.name.name.clone(),
            docs,
            start: w.start,
            end: w.end,
            duration,
            until,
            tasks: vec![],
            leaderboards: vec![],
            awards: vec![],
            goals: vec![],
            sends: vec![],
            grants: vec![],
            raffles: vec![],
        };
        for stmt in &p.stmts {
            match &stmt.kind {
                PhaseStmtKind::Task(t) => {
                    out.tasks.push(TaskId(built.tasks.len() as u32));
                    built.tasks.push(self.task(t, phase_id, stmt.docs.text())?);
                }
                PhaseStmtKind::Leaderboard(lb) => {
                    out.leaderboards
                        .push(LeaderboardId(built.leaderboards.len() as u32));
                    built.leaderboards.push(self.leaderboard(lb, phase_id)?);
                }
                PhaseStmtKind::Raffle(r) => {
                    out.raffles.push(RaffleId(built.raffles.len() as u32));
                    built
                        .raffles
                        .push(self.raffle(r, phase_id, w, stmt.docs.text())?);
                }
                PhaseStmtKind::Award(a) => {
                    let leaderboard = self
                        .syms
                        .leaderboards
                        .position(&a.leaderboard.name)
                        .map(|i| LeaderboardId(i as u32))
                        .ok_or_else(|| unresolved("a leaderboard"))?;
                    let from_rank = count(&a.from)?;
                    let to_rank = a.to.as_ref().map(count).transpose()?.unwrap_or(from_rank);
                    out.awards.push(Award {
                        leaderboard,
                        from_rank,
                        to_rank,
                        actions: self.actions(&a.actions, None, false)?,
                    });
                }
                PhaseStmtKind::Goal(g) => out.goals.push(Goal {
                    name: g.name.name.clone(),
                    condition: self.expr(&g.condition, None)?,
                    actions: self.actions(&g.actions, None, false)?,
                }),
                PhaseStmtKind::Send(s) => out.sends.extend(self.sends(s, w)?),
                PhaseStmtKind::Grant(g) => out.grants.push(self.grant(g, w)?),
            }
        }
        Ok(out)
    }

    /// A phase-level grant; `at` times become their instants, in order.
    fn grant(&self, g: &ast::GrantStmt, w: phases::PhaseWindow) -> Lowered<PhaseGrant> {
        let on = match g.on {
            ast::GrantOn::Enroll => GrantOn::Enroll,
            ast::GrantOn::Enter => GrantOn::Enter,
            ast::GrantOn::At => {
                let mut times = Vec::new();
                for lit in &g.times {
                    times.extend(self.at_instants(lit, false, w)?.1);
                }
                times.sort();
                times.dedup();
                GrantOn::At { times }
            }
        };
        Ok(PhaseGrant {
            reward: self.reward_id(&g.reward.name)?,
            on,
            to: self.recipients(g.to.as_ref())?,
            condition: g
                .condition
                .as_ref()
                .map(|c| self.expr(c, None))
                .transpose()?,
        })
    }

    /// `enroll` or a task: what a window or timer counts from.
    fn timer_from(&self, from: &ast::Ident) -> Lowered<TimerFrom> {
        Ok(match from.name.as_str() {
            "enroll" => TimerFrom::Enroll,
            task => TimerFrom::Task(self.task_id(task)?),
        })
    }

    fn at_times(&self, time: NaiveTime, daily: bool, w: phases::PhaseWindow) -> Vec<DateTime<Utc>> {
        phases::local_times(self.tz, time, daily, w)
    }

    /// The instants of one written `at` time: a time of day on each day of the phase
    /// (or its first, without `daily`), or a date and time.
    fn at_instants(
        &self,
        lit: &ast::Lit,
        daily: bool,
        w: phases::PhaseWindow,
    ) -> Lowered<(NaiveTime, Vec<DateTime<Utc>>)> {
        match &lit.kind {
            LitKind::Time(t) => Ok((*t, self.at_times(*t, daily, w))),
            LitKind::DateTime(d) => {
                let at = match d {
                    camp_plan::literal::DateTimeLit::Fixed(f) => f.with_timezone(&Utc),
                    camp_plan::literal::DateTimeLit::Local(l) => {
                        camp_plan::calendar::local_to_utc(self.tz, *l)
                    }
                };
                Ok((self.local(at).time(), vec![at]))
            }
            _ => Err(unresolved("an `at` time")),
        }
    }

    /// A phase-level send: one per written `at` time.
    fn sends(&self, s: &ast::SendStmt, w: phases::PhaseWindow) -> Lowered<Vec<Send>> {
        let whens = match &s.trigger {
            ast::SendTrigger::At { times, daily } => times
                .iter()
                .map(|lit| {
                    let (time, times) = self.at_instants(lit, *daily, w)?;
                    let daily = *daily && matches!(lit.kind, LitKind::Time(_));
                    Ok(SendWhen::At { time, daily, times })
                })
                .collect::<Lowered<Vec<_>>>()?,
            other => vec![self.send_when(other)?],
        };
        let to = self.recipients(s.to.as_ref())?;
        let message = self.message_id(&s.message.name)?;
        let condition = s
            .condition
            .as_ref()
            .map(|c| self.expr(c, None))
            .transpose()?;
        Ok(whens
            .into_iter()
            .map(|when| Send {
                message,
                when,
                to,
                condition: condition.clone(),
            })
            .collect())
    }

    fn send_when(&self, trigger: &ast::SendTrigger) -> Lowered<SendWhen> {
        Ok(match trigger {
            ast::SendTrigger::At { .. } => return Err(unresolved("an `at` send")),
            ast::SendTrigger::OnEnter(_) => SendWhen::Enter,
            ast::SendTrigger::OnEnroll(_) => SendWhen::Enroll,
            ast::SendTrigger::Inactive(l) => match l.kind {
                LitKind::Duration(after) => SendWhen::Inactive { after },
                _ => return Err(unresolved("an inactivity duration")),
            },
            ast::SendTrigger::After { delay, from } => match delay.kind {
                LitKind::Duration(after) => SendWhen::After {
                    after,
                    from: self.timer_from(from)?,
                },
                _ => return Err(unresolved("a timed send's duration")),
            },
        })
    }

    /// Recipients of a send (`to …`) or a raffle (`from …`): participants, the
    /// audience or a segment.
    fn recipients(&self, from: Option<&ast::Ident>) -> Lowered<Recipients> {
        Ok(match from.map(|i| i.name.as_str()) {
            None | Some("participants") => Recipients::Participants,
            Some("audience") => Recipients::Audience,
            Some(seg) => Recipients::Segment(
                self.syms
                    .segments
                    .position(seg)
                    .map(|i| SegmentId(i as u32))
                    .ok_or_else(|| unresolved(format!("segment `{seg}`")))?,
            ),
        })
    }

    fn raffle(
        &self,
        r: &ast::RaffleStmt,
        phase: PhaseId,
        w: phases::PhaseWindow,
        docs: Option<String>,
    ) -> Lowered<Raffle> {
        let mut times = Vec::new();
        for lit in &r.times {
            times.extend(self.at_instants(lit, r.daily, w)?.1);
        }
        times.sort();
        times.dedup();
        Ok(Raffle {
            name: r.name.name.clone(),
            docs,
            phase,
            times,
            pick: count(&r.pick)?,
            from: self.recipients(r.from.as_ref())?,
            filter: r.filter.as_ref().map(|f| self.expr(f, None)).transpose()?,
            actions: self.actions(&r.actions, None, false)?,
        })
    }

    fn group(&self, g: &ast::GroupDef, docs: Option<String>) -> Lowered<Group> {
        let mut out = Group {
            name: g.name.name.clone(),
            docs,
            size: 0,
            within: None,
            filled: Vec::new(),
            expired: Vec::new(),
        };
        for line in &g.lines {
            match line {
                ast::GroupLine::Size { size, .. } => out.size = count(size)?,
                ast::GroupLine::Within { within, .. } => match within.kind {
                    LitKind::Duration(d) => out.within = Some(d),
                    _ => return Err(unresolved("a group's `within`")),
                },
                ast::GroupLine::Filled { actions, .. } => {
                    out.filled = self.actions(actions, None, true)?
                }
                ast::GroupLine::Expired { actions, .. } => {
                    out.expired = self.actions(actions, None, true)?
                }
            }
        }
        Ok(out)
    }

    /// An action list. `event` is the task's event (`event.FIELD` targets and keys);
    /// in a group's outcome the default target is every member.
    fn actions(
        &self,
        list: &ast::Actions,
        event: Option<&ast::EventDef>,
        group: bool,
    ) -> Lowered<Vec<Action>> {
        list.list
            .iter()
            .map(|a| self.action(a, event, group))
            .collect()
    }

    fn action(
        &self,
        a: &ast::Action,
        event: Option<&ast::EventDef>,
        group: bool,
    ) -> Lowered<Action> {
        let default = if group { Target::Members } else { Target::Own };
        let target = |t: Option<&ast::Target>| match t {
            None => Ok(default),
            Some(t) => self.target(t, event),
        };
        let units = |u: &ast::Units| match u {
            ast::Units::Points(_) => Ok(Units::Points),
            ast::Units::Reward(r) => self.reward_id(&r.name).map(Units::Reward),
        };
        let n = |c: Option<&ast::Lit>| c.map(quantity).transpose();
        Ok(match &a.kind {
            ast::ActionKind::Grant { reward, to } => Action::Grant {
                reward: self.reward_id(&reward.name)?,
                to: target(to.as_ref())?,
            },
            ast::ActionKind::Send { message, to } => Action::Send {
                message: self.message_id(&message.name)?,
                to: target(to.as_ref())?,
            },
            ast::ActionKind::Use { units: u, count: c } => Action::Use {
                units: units(u)?,
                count: n(c.as_ref())?.unwrap_or(1),
            },
            ast::ActionKind::Give {
                units: u,
                count: c,
                to,
            } => Action::Give {
                units: units(u)?,
                count: n(c.as_ref())?.unwrap_or(1),
                to: self.target(to, event)?,
            },
            ast::ActionKind::Revoke {
                units: u,
                count: c,
                from,
            } => Action::Revoke {
                units: units(u)?,
                count: n(c.as_ref())?,
                // `revoke … from` defaults to the participant, also in an outcome.
                from: match from {
                    None => Target::Own,
                    Some(t) => self.target(t, event)?,
                },
            },
            ast::ActionKind::Open { group: g, key } => Action::Open {
                group: self.group_id(&g.name)?,
                key: self.field_index(key, event)?,
            },
            ast::ActionKind::Join { group: g, key } => Action::Join {
                group: self.group_id(&g.name)?,
                key: self.field_index(key, event)?,
            },
        })
    }

    fn target(&self, t: &ast::Target, event: Option<&ast::EventDef>) -> Lowered<Target> {
        Ok(match t.path.as_slice() {
            [one] if one.name == "members" => Target::Members,
            [one] if one.name == "opener" => Target::Opener,
            [root, attr] if root.name == "user" && attr.name == "id" => Target::Own,
            [root, attr] if root.name == "user" => Target::Attr(
                self.syms
                    .attrs
                    .position(&attr.name)
                    .map(|i| AttrId(i as u32))
                    .ok_or_else(|| unresolved("a target attribute"))?,
            ),
            [root, _] if root.name == "event" => Target::Field(self.field_index(t, event)?),
            _ => return Err(unresolved("a target")),
        })
    }

    /// The index of `event.FIELD` in the task's event.
    fn field_index(&self, t: &ast::Target, event: Option<&ast::EventDef>) -> Lowered<u32> {
        let ev = event.ok_or_else(|| unresolved("an event field outside a task"))?;
        match t.path.as_slice() {
            [root, field] if root.name == "event" => ev
                .fields
                .iter()
                .position(|f| f.name.name == field.name)
                .map(|i| i as u32)
                .ok_or_else(|| unresolved("an event field")),
            _ => Err(unresolved("an event field")),
        }
    }

    fn group_id(&self, name: &str) -> Lowered<GroupId> {
        self.syms
            .groups
            .position(name)
            .map(|i| GroupId(i as u32))
            .ok_or_else(|| unresolved(format!("group `{name}`")))
    }

    fn task(&self, t: &ast::TaskDef, phase: PhaseId, docs: Option<String>) -> Lowered<Task> {
        let mut on = None;
        let mut filter = None;
        let mut event = None;
        let mut limits = Limits::default();
        let mut within = None;
        for s in &t.stmts {
            if let TaskStmt::On {
                event: name,
                filter: f,
                ..
            } = s
            {
                let (trigger, ev) = match name.name.as_str() {
                    "enroll" => (Trigger::Enroll, None),
                    "birthday" => (Trigger::Birthday, None),
                    name => (
                        Trigger::Event(self.event_id(name)?),
                        self.syms.events.get(name).map(|d| d.node),
                    ),
                };
                on = Some(trigger);
                event = ev;
                filter = f.as_ref().map(|e| self.expr(e, ev)).transpose()?;
            }
        }
        let mut actions = Vec::new();
        let mut streaks = Vec::new();
        let mut after = Vec::new();
        let mut every = Vec::new();
        let milestone = |c: &ast::Lit, list: &ast::Actions| -> Lowered<Milestone> {
            Ok(Milestone {
                count: count(c)?,
                actions: self.actions(list, event, false)?,
            })
        };
        for s in &t.stmts {
            match s {
                TaskStmt::On { .. } => {}
                TaskStmt::Limit {
                    count: c, period, ..
                } => {
                    let n = Some(count(c)?);
                    match period {
                        ast::Period::Day => limits.per_day = n,
                        ast::Period::User => limits.per_user = n,
                        ast::Period::Phase => limits.per_phase = n,
                        ast::Period::Field(f) => {
                            limits.per_field = Some(FieldLimit {
                                field: self.field_index(f, event)?,
                                count: count(c)?,
                            })
                        }
                    }
                }
                TaskStmt::Within { duration, of, .. } => {
                    let LitKind::Duration(d) = duration.kind else {
                        return Err(unresolved("a `within` duration"));
                    };
                    within = Some(Within {
                        duration: d,
                        of: self.timer_from(of)?,
                    });
                }
                TaskStmt::Action(a) => actions.push(self.action(a, event, false)?),
                TaskStmt::Streak {
                    days, actions: a, ..
                } => streaks.push(milestone(days, a)?),
                TaskStmt::After {
                    count: c,
                    actions: a,
                    ..
                } => after.push(milestone(c, a)?),
                TaskStmt::Every {
                    count: c,
                    actions: a,
                    ..
                } => every.push(milestone(c, a)?),
            }
        }
        Ok(Task {
            name: t.name.name.clone(),
            docs,
            phase,
            on: on.ok_or_else(|| unresolved("a task's `on`"))?,
            filter,
            limits,
            within,
            actions,
            streaks,
            after,
            every,
        })
    }

    fn leaderboard(&self, lb: &ast::LeaderboardDef, phase: PhaseId) -> Lowered<Leaderboard> {
        let score_expr = lb
            .score
            .as_ref()
            .ok_or_else(|| unresolved("a leaderboard score"))?;
        let score = match &score_expr.kind {
            ExprKind::Path(p) if p.len() == 1 => Score::Points,
            ExprKind::Call(name, args) => match (name.name.as_str(), args.as_slice()) {
                (
                    "count",
                    [ast::Expr {
                        kind: ExprKind::Path(p),
                        ..
                    }],
                ) if matches!(p.as_slice(), [t] if self.syms.events.get(&t.name).is_none()) => {
                    Score::Completions {
                        task: self.task_id(&p.first().ok_or_else(|| unresolved("a task"))?.name)?,
                    }
                }
                ("count", [arg]) => Score::Count {
                    event: self.event_of(arg)?,
                },
                (
                    "holds",
                    [ast::Expr {
                        kind: ExprKind::Path(p),
                        ..
                    }],
                ) => Score::Holds {
                    reward: self
                        .reward_id(&p.first().ok_or_else(|| unresolved("a reward"))?.name)?,
                },
                ("sum", [arg]) => {
                    let (event, field) = self.event_field(arg)?;
                    Score::Sum { event, field }
                }
                _ => return Err(unresolved("a leaderboard score")),
            },
            _ => return Err(unresolved("a leaderboard score")),
        };
        let show_top = lb.show.as_ref().map(count).transpose()?;
        let every = match lb.every.as_ref().map(|l| &l.kind) {
            None => None,
            Some(LitKind::Duration(d)) => Some(*d),
            Some(_) => return Err(unresolved("a leaderboard's period")),
        };
        Ok(Leaderboard {
            name: lb.name.name.clone(),
            phase,
            score,
            show_top,
            every,
        })
    }

    fn event_of(&self, e: &ast::Expr) -> Lowered<EventId> {
        match &e.kind {
            ExprKind::Path(p) => {
                self.event_id(&p.first().ok_or_else(|| unresolved("an event"))?.name)
            }
            _ => Err(unresolved("an event")),
        }
    }

    fn event_field(&self, e: &ast::Expr) -> Lowered<(EventId, u32)> {
        match &e.kind {
            ExprKind::Path(p) => match p.as_slice() {
                [ev, field] => {
                    let def = self
                        .syms
                        .events
                        .get(&ev.name)
                        .ok_or_else(|| unresolved("an event"))?;
                    let idx = def
                        .node
                        .fields
                        .iter()
                        .position(|f| f.name.name == field.name)
                        .ok_or_else(|| unresolved("an event field"))?;
                    Ok((self.event_id(&ev.name)?, idx as u32))
                }
                _ => Err(unresolved("an event field")),
            },
            _ => Err(unresolved("an event field")),
        }
    }

    /// A literal's value; a local date and time is read in the campaign's time zone.
    fn value(&self, k: &LitKind) -> Lowered<Value> {
        match k {
            LitKind::DateTime(camp_plan::literal::DateTimeLit::Local(l)) => Ok(Value::Datetime(
                camp_plan::calendar::local_to_utc(self.tz, *l),
            )),
            other => lit_value(other),
        }
    }

    fn expr(&self, e: &ast::Expr, event: Option<&ast::EventDef>) -> Lowered<Expr> {
        let bx = |x: &ast::Expr| self.expr(x, event).map(Box::new);
        Ok(match &e.kind {
            ExprKind::Lit(k) => Expr::Const {
                value: self.value(k)?,
            },
            ExprKind::Str(s) => Expr::Const {
                value: Value::String(s.clone()),
            },
            ExprKind::Paren(inner) => self.expr(inner, event)?,
            ExprKind::List(items) => Expr::List {
                items: items
                    .iter()
                    .map(|i| self.expr(i, event))
                    .collect::<Lowered<_>>()?,
            },
            ExprKind::Path(parts) => match parts.as_slice() {
                [one] => match one.name.as_str() {
                    "true" => Expr::Const {
                        value: Value::Bool(true),
                    },
                    "false" => Expr::Const {
                        value: Value::Bool(false),
                    },
                    seg => Expr::Segment {
                        segment: self
                            .syms
                            .segments
                            .position(seg)
                            .map(|i| SegmentId(i as u32))
                            .ok_or_else(|| unresolved(format!("segment `{seg}`")))?,
                    },
                },
                [root, kind, name] if root.name == "participant" => {
                    let task = || self.task_id(&name.name);
                    match kind.name.as_str() {
                        "count" => Expr::TaskCount { task: task()? },
                        "today" => Expr::TaskToday { task: task()? },
                        "streak" => Expr::TaskStreak { task: task()? },
                        "rank" => Expr::Rank {
                            leaderboard: self
                                .syms
                                .leaderboards
                                .position(&name.name)
                                .map(|i| LeaderboardId(i as u32))
                                .ok_or_else(|| unresolved("a leaderboard"))?,
                        },
                        "variant" => Expr::Variant {
                            experiment: self.experiment_id(&name.name)?,
                        },
                        _ => return Err(unresolved("a participant path")),
                    }
                }
                [root, attr] if root.name == "user" && attr.name == "id" => Expr::UserId,
                [root, attr] => match root.name.as_str() {
                    "user" => Expr::UserAttr {
                        attr: self
                            .syms
                            .attrs
                            .position(&attr.name)
                            .map(|i| AttrId(i as u32))
                            .ok_or_else(|| unresolved("an attribute"))?,
                    },
                    "event" => {
                        let ev =
                            event.ok_or_else(|| unresolved("an event field outside a task"))?;
                        let idx = ev
                            .fields
                            .iter()
                            .position(|f| f.name.name == attr.name)
                            .ok_or_else(|| unresolved("an event field"))?;
                        Expr::EventField { field: idx as u32 }
                    }
                    "participant" => match attr.name.as_str() {
                        "points" => Expr::Points,
                        "earned" => Expr::Earned,
                        "tier" => Expr::Tier,
                        "enrolled" => Expr::Enrolled,
                        "enrolled_at" => Expr::EnrolledAt,
                        _ => return Err(unresolved("a participant attribute")),
                    },
                    _ => return Err(unresolved("a path")),
                },
                _ => return Err(unresolved("a path")),
            },
            ExprKind::Call(name, args) => match (name.name.as_str(), args.as_slice()) {
                (
                    "holds",
                    [ast::Expr {
                        kind: ExprKind::Path(p),
                        ..
                    }],
                ) => Expr::Holds {
                    reward: self
                        .reward_id(&p.first().ok_or_else(|| unresolved("a reward"))?.name)?,
                },
                (
                    "counted",
                    [ast::Expr {
                        kind: ExprKind::Path(p),
                        ..
                    }],
                ) => Expr::Counted {
                    task: self.task_id(&p.first().ok_or_else(|| unresolved("a task"))?.name)?,
                },
                _ => return Err(unresolved("a function")),
            },
            ExprKind::Unary(ast::UnOp::Not, x) => Expr::Not { arg: bx(x)? },
            ExprKind::Unary(ast::UnOp::Neg, x) => Expr::Neg { arg: bx(x)? },
            ExprKind::Binary(op, l, r) => match op {
                ast::BinOp::And => Expr::And {
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
                ast::BinOp::Or => Expr::Or {
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
                ast::BinOp::Compare(c) => Expr::Compare {
                    cmp: compare(*c),
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
                ast::BinOp::In => match &r.kind {
                    ExprKind::List(items) => Expr::In {
                        lhs: bx(l)?,
                        list: items
                            .iter()
                            .map(|i| self.expr(i, event))
                            .collect::<Lowered<_>>()?,
                    },
                    // A list-valued attribute (`"a" in user.tags`): one item whose
                    // value is the list.
                    _ => Expr::In {
                        lhs: bx(l)?,
                        list: vec![self.expr(r, event)?],
                    },
                },
                other => Expr::Arith {
                    arith: arith(*other).ok_or_else(|| unresolved("an operator"))?,
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
            },
            ExprKind::Where(..) | ExprKind::Error => return Err(unresolved("an expression")),
        })
    }

    fn metric(&self, e: &ast::Expr) -> Lowered<Metric> {
        self.metric_in(e, Scope::default())
    }

    /// The measure `of` (with `filter`), added to the plan's list unless it is there;
    /// kept per arm of the scope's arms too, and over participants only when the
    /// scope is.
    fn measure(&self, of: Measured, filter: Option<Expr>, scope: Scope) -> Metric {
        let mut list = self.measures.borrow_mut();
        let i = match list.iter().position(|m| {
            m.of == of && m.filter == filter && m.participants_only == scope.participants_only
        }) {
            Some(i) => i,
            None => {
                list.push(Measure {
                    of,
                    filter,
                    arms: Vec::new(),
                    per_user: false,
                    participants_only: scope.participants_only,
                });
                list.len() - 1
            }
        };
        if let (Some(arms), Some(m)) = (scope.arms, list.get_mut(i)) {
            if !m.arms.contains(&arms) {
                m.arms.push(arms);
            }
        }
        Metric::Measure {
            measure: MeasureId(i as u32),
        }
    }

    /// How the arms of a KPI with `formula` are compared, if they are: a share of
    /// users or a per-user mean over the arms' population (the audience for the
    /// holdout). A mean's users' totals are then kept.
    fn arm_test(&self, formula: &Metric, by: Arms) -> Option<ArmTest> {
        let Metric::Arith {
            arith: ArithOp::Div,
            lhs,
            rhs,
        } = formula
        else {
            return None;
        };
        let population = match by {
            Arms::Holdout => Metric::Audience,
            Arms::Experiment { .. } => Metric::Participants,
        };
        let (Metric::Measure { measure }, true) = (&**lhs, **rhs == population) else {
            return None;
        };
        let mut list = self.measures.borrow_mut();
        let m = list.get_mut(measure.index())?;
        match m.of {
            Measured::Unique { .. } | Measured::Repeat { .. } | Measured::Returning { .. } => {
                Some(ArmTest::Proportion { measure: *measure })
            }
            Measured::Count { .. } | Measured::Sum { .. } => {
                m.per_user = true;
                Some(ArmTest::Mean { measure: *measure })
            }
            _ => None,
        }
    }

    /// `EVENT` or `EVENT where COND`: the event's definition and the lowered filter.
    fn filtered<'e>(
        &self,
        e: &'e ast::Expr,
    ) -> Lowered<(&'e ast::Expr, Option<&'a ast::EventDef>, Option<Expr>)> {
        let ExprKind::Where(subject, filter) = &e.kind else {
            return Ok((e, None, None));
        };
        let event = match &subject.kind {
            ExprKind::Path(p) => p.first().map(|i| i.name.as_str()),
            _ => None,
        }
        .and_then(|name| self.syms.events.get(name))
        .map(|d| d.node)
        .ok_or_else(|| unresolved("a metric's event"))?;
        Ok((subject, Some(event), Some(self.expr(filter, Some(event))?)))
    }

    /// A metric over an event (`count`, `unique`, `sum` with their `where`, `repeat`,
    /// `returning`, `nps`), a task or a message, kept as a measure when it needs one:
    /// filtered, per-user, per-arm or new.
    fn measured(&self, name: &str, args: &[ast::Expr], scope: Scope) -> Lowered<Option<Metric>> {
        let (first, rest) = match args {
            [first, rest @ ..] => (first, rest),
            [] => return Ok(None),
        };
        let (subject, _, filter) = self.filtered(first)?;
        let slot = filter.is_some() || scope.arms.is_some() || scope.participants_only;
        let name_of = |e: &ast::Expr| match &e.kind {
            ExprKind::Path(p) => p.first().map(|i| i.name.clone()),
            _ => None,
        };
        let of = match (name, rest) {
            ("count", []) => {
                let event = self.event_of(subject)?;
                if !slot {
                    return Ok(Some(Metric::Count { event }));
                }
                Measured::Count { event }
            }
            ("unique", []) => {
                let event = self.event_of(subject)?;
                if !slot {
                    return Ok(Some(Metric::Unique { event }));
                }
                Measured::Unique { event }
            }
            ("sum", []) => {
                let (event, field) = self.event_field(subject)?;
                if !slot {
                    return Ok(Some(Metric::Sum { event, field }));
                }
                Measured::Sum { event, field }
            }
            ("repeat", []) => Measured::Repeat {
                event: self.event_of(subject)?,
            },
            (
                "returning",
                [ast::Expr {
                    kind: ExprKind::Lit(LitKind::Duration(after)),
                    ..
                }],
            ) => Measured::Returning {
                event: self.event_of(subject)?,
                after: *after,
            },
            ("nps", []) => {
                let (event, field) = self.event_field(subject)?;
                Measured::Nps { event, field }
            }
            ("completions", []) => Measured::Completions {
                task: self.task_id(&name_of(subject).ok_or_else(|| unresolved("a task"))?)?,
            },
            ("sent", []) => Measured::Sent {
                message: self
                    .message_id(&name_of(subject).ok_or_else(|| unresolved("a message"))?)?,
            },
            _ => return Ok(None),
        };
        Ok(Some(self.measure(of, filter, scope)))
    }

    /// A metric expression; within a KPI `by` arms, every metric it reads is kept per
    /// arm, and what is divided by `participants` counts participants only.
    fn metric_in(&self, e: &ast::Expr, scope: Scope) -> Lowered<Metric> {
        let bx = |x: &ast::Expr| self.metric_in(x, scope).map(Box::new);
        if let ExprKind::Call(name, args) = &e.kind {
            if let Some(m) = self.measured(&name.name, args, scope)? {
                return Ok(m);
            }
        }
        Ok(match &e.kind {
            ExprKind::Lit(k) => Metric::Const {
                value: self.value(k)?,
            },
            ExprKind::Paren(inner) => self.metric_in(inner, scope)?,
            ExprKind::Path(p) => match p.first().map(|i| i.name.as_str()) {
                Some("spend") => Metric::Spend,
                Some("participants") => Metric::Participants,
                Some("audience") => Metric::Audience,
                Some(kpi) => Metric::Kpi {
                    kpi: self
                        .syms
                        .kpis
                        .position(kpi)
                        .map(|i| KpiId(i as u32))
                        .ok_or_else(|| unresolved(format!("KPI `{kpi}`")))?,
                },
                None => return Err(unresolved("a metric")),
            },
            ExprKind::Call(name, args) => match (name.name.as_str(), args.as_slice()) {
                (
                    "granted",
                    [ast::Expr {
                        kind: ExprKind::Path(p),
                        ..
                    }],
                ) => Metric::Granted {
                    reward: self
                        .reward_id(&p.first().ok_or_else(|| unresolved("a reward"))?.name)?,
                },
                (
                    which @ ("opened" | "joined" | "filled" | "expired" | "winners"),
                    [ast::Expr {
                        kind: ExprKind::Path(p),
                        ..
                    }],
                ) => {
                    let name = &p.first().ok_or_else(|| unresolved("a name"))?.name;
                    match which {
                        "winners" => Metric::Winners {
                            raffle: self
                                .syms
                                .raffles
                                .position(name)
                                .map(|i| RaffleId(i as u32))
                                .ok_or_else(|| unresolved("a raffle"))?,
                        },
                        "opened" => Metric::Opened {
                            group: self.group_id(name)?,
                        },
                        "joined" => Metric::Joined {
                            group: self.group_id(name)?,
                        },
                        "filled" => Metric::Filled {
                            group: self.group_id(name)?,
                        },
                        _ => Metric::Expired {
                            group: self.group_id(name)?,
                        },
                    }
                }
                _ => return Err(unresolved("a metric")),
            },
            ExprKind::Unary(ast::UnOp::Neg, x) => Metric::Neg { arg: bx(x)? },
            ExprKind::Unary(ast::UnOp::Not, x) => Metric::Not { arg: bx(x)? },
            ExprKind::Binary(op, l, r) => match op {
                ast::BinOp::And => Metric::And {
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
                ast::BinOp::Or => Metric::Or {
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
                ast::BinOp::Compare(c) => Metric::Compare {
                    cmp: compare(*c),
                    lhs: bx(l)?,
                    rhs: bx(r)?,
                },
                ast::BinOp::In => return Err(unresolved("`in` in a metric")),
                other => {
                    let arith = arith(*other).ok_or_else(|| unresolved("an operator"))?;
                    let rhs = bx(r)?;
                    let over_participants = arith == ArithOp::Div && *rhs == Metric::Participants;
                    let lhs = self.metric_in(
                        l,
                        Scope {
                            participants_only: scope.participants_only || over_participants,
                            ..scope
                        },
                    )?;
                    Metric::Arith {
                        arith,
                        lhs: Box::new(lhs),
                        rhs,
                    }
                }
            },
            ExprKind::Str(_) | ExprKind::List(_) | ExprKind::Where(..) | ExprKind::Error => {
                return Err(unresolved("a metric"))
            }
        })
    }
}

/// Where a metric stands in its KPI's formula.
#[derive(Debug, Clone, Copy, Default)]
struct Scope {
    /// The arms of the KPI's `by`: every measure it reads is kept per arm too.
    arms: Option<Arms>,
    /// Divided by `participants`: measures count participants only (§12: a share of
    /// participants never passes 100%, a per-participant mean is over participants).
    participants_only: bool,
}

fn money(k: &LitKind) -> Option<camp_plan::literal::Money> {
    match k {
        LitKind::Money(m) => Some(*m),
        _ => None,
    }
}
