//! What a run ends with: KPIs against their targets, leaderboards, spend and per-reward
//! counts (`camp run --report`), and one participant's standing (the daemon's
//! `GET /v1/participants/{id}`). Plain data, serialized as JSON.

use crate::engine::Engine;
use crate::kpi::{as_decimal, spend_currency, Arm, Totals};
use crate::state::{Cursor, Standing, State};
use camp_plan::Value;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as Json;

/// A KPI's value against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    /// Its name.
    pub name: String,
    /// Its value: a number (ratios as fractions), or money as `"20 CNY"`; null when it has
    /// none yet (a division by zero).
    pub value: Json,
    /// The comparison, like `>=`.
    pub op: String,
    /// The target as written (`25%`, `0.3`, `150000 SGD`).
    pub target: String,
    /// Whether the value meets the target.
    pub met: bool,
    /// The value as a plain number (money as its amount), for gauges.
    #[serde(skip)]
    pub number: Option<f64>,
    /// `holdout` (or the experiment) for a KPI reported per arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Per arm, the control first: its name, size and value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arms: Vec<ArmReport>,
    /// Each later arm against the first, for a share of users (z-test) or a per-user
    /// mean (Welch's t-test).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<ComparisonReport>,
}

/// A KPI over one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmReport {
    /// The arm's name (`holdout`, `rest`, or a variant).
    pub arm: String,
    /// Its users (the population the formula divides by).
    pub size: u64,
    /// The KPI over it, like the KPI's own value.
    pub value: Json,
    /// The value as a plain number, for gauges.
    #[serde(skip)]
    pub number: Option<f64>,
}

/// One arm against the first (language §12): the difference of their values, its 95%
/// confidence interval and a two-sided p-value; null where a test has no answer (an
/// arm too small, or no variation at all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonReport {
    /// The arm compared.
    pub arm: String,
    /// The arm it is compared against (the first).
    pub against: String,
    /// `two_proportion_z` or `welch_t`.
    pub test: &'static str,
    /// The arm's value less the first's.
    pub difference: Option<f64>,
    /// The interval's lower end.
    pub ci_low: Option<f64>,
    /// The interval's upper end.
    pub ci_high: Option<f64>,
    /// The two-sided p-value.
    pub p_value: Option<f64>,
}

/// One place on a leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceReport {
    /// From 1.
    pub rank: u32,
    /// The user's id.
    pub user: String,
    /// Their score (money sums as numbers in the event's currency).
    pub score: Json,
}

/// A leaderboard's shown places.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardReport {
    /// Its name.
    pub name: String,
    /// The phase it is scored over.
    pub phase: String,
    /// Its best places, up to `show top`.
    pub ranks: Vec<PlaceReport>,
}

/// One reward's issuance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardReport {
    /// Its name.
    pub name: String,
    /// Grants issued (a draw's winnings counted for the reward won).
    pub granted: u64,
    /// Grants denied.
    pub denied: u64,
    /// Its stock, if limited.
    pub stock: Option<u64>,
    /// What is left of it.
    pub stock_left: Option<u64>,
    /// Its daily stock (`stock N per day`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_per_day: Option<u64>,
    /// What is left of today's stock (the local day of the engine's clock), for a
    /// reward with a daily stock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_left_today: Option<u64>,
}

/// Where the campaign stands: status, phase, clock, audience, spend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The campaign's identifier.
    pub campaign: String,
    /// The plan's source hash.
    pub plan_hash: String,
    /// `scheduled`, `running`, `between` (an early end before an explicit window) or `ended`.
    pub status: &'static str,
    /// The running phase, if any.
    pub phase: Option<String>,
    /// The engine's clock.
    pub clock: Option<String>,
    /// Eligible users known.
    pub audience: u64,
    /// Participants.
    pub participants: u64,
    /// Money spent on grants, `"20 CNY"`.
    pub spend: Option<String>,
    /// The budget.
    pub budget: Option<String>,
    /// What is left of the budget.
    pub budget_left: Option<String>,
}

/// The campaign at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Where it stands.
    #[serde(flatten)]
    pub summary: Summary,
    /// Accepted events per event type.
    pub events: serde_json::Map<String, Json>,
    /// Every KPI.
    pub kpis: Vec<KpiReport>,
    /// Every leaderboard.
    pub leaderboards: Vec<BoardReport>,
    /// Every reward.
    pub rewards: Vec<RewardReport>,
    /// Per group kind: how many groups are open, filled and expired, and the joins.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub groups: serde_json::Map<String, Json>,
    /// Per raffle: its winners, in draw order.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub raffles: serde_json::Map<String, Json>,
}

/// One group (`GET /v1/groups/{group}/{key}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group kind.
    pub group: String,
    /// Its key.
    pub key: String,
    /// `open`, `filled` or `expired`.
    pub state: crate::rules::groups::Standing,
    /// Who opened it.
    pub opener: Option<String>,
    /// Members in join order, the opener first.
    pub members: Vec<String>,
    /// The kind's size.
    pub size: u32,
    /// When it was opened.
    pub opened: String,
    /// When it expires (or expired) unfilled; null when it stays open until the
    /// campaign ends.
    pub expires: Option<String>,
}

/// A participant's standing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantReport {
    /// Their id.
    pub user: String,
    /// `ineligible`, `holdout`, `eligible` or `participant`.
    pub standing: Standing,
    /// Whether they are enrolled.
    pub enrolled: bool,
    /// Point balance.
    pub points: i64,
    /// Points ever granted less those revoked (tiers follow it).
    pub earned: i64,
    /// Tier name.
    pub tier: Option<String>,
    /// Counted completions per task.
    pub tasks: Vec<TaskReport>,
    /// Rewards held.
    pub rewards: serde_json::Map<String, Json>,
    /// Ranks on leaderboards they are ranked on.
    pub ranks: serde_json::Map<String, Json>,
    /// Their variant of each experiment, by experiment (participants only; left out
    /// when the campaign has no experiments).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub variants: serde_json::Map<String, Json>,
}

/// Progress in one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskReport {
    /// The task.
    pub task: String,
    /// Counted completions.
    pub completions: u32,
    /// The current streak of days.
    pub streak: u32,
}

/// A decimal as a JSON number whose text is exactly the decimal (a whole number up to
/// 2^64, else up to 15 significant digits), or as a string holding it exactly.
pub(crate) fn number(d: Decimal) -> Json {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Ok(n) = i64::try_from(d.mantissa()) {
            return Json::from(n);
        }
        if let Ok(n) = u64::try_from(d.mantissa()) {
            return Json::from(n);
        }
    }
    // A float's shortest text is the decimal's own up to 15 significant digits; past
    // that it would round, so the exact decimal is written as a string instead.
    let digits = d.mantissa().unsigned_abs().checked_ilog10().unwrap_or(0) + 1;
    if digits <= 15 {
        if let Some(n) = d
            .to_string()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Json::Number(n);
        }
    }
    Json::String(d.to_string())
}

fn value(v: &Value) -> Json {
    match v {
        Value::Money(m) => Json::String(m.to_string()),
        Value::Int(n) => Json::from(*n),
        Value::Bool(b) => Json::Bool(*b),
        v => as_decimal(v).map_or(Json::Null, number),
    }
}

/// A value as a plain number (money as its amount), for gauges and tests.
fn float(v: &Value) -> Option<f64> {
    as_decimal(v).and_then(|d| d.to_string().parse::<f64>().ok())
}

fn target(v: &Value) -> String {
    match v {
        Value::Percent(p) => format!("{}%", p.normalize()),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Int(n) => n.to_string(),
        Value::Money(m) => m.to_string(),
        other => format!("{other:?}"),
    }
}

impl Engine {
    /// KPIs, leaderboards, spend and rewards now.
    pub fn report(&self, state: &State) -> Report {
        let plan = &self.plan;
        Report {
            summary: self.summary(state),
            events: plan
                .events
                .iter()
                .zip(&state.metrics.count)
                .map(|(e, n)| (e.name.clone(), Json::from(*n)))
                .collect(),
            kpis: self.kpis(state),
            leaderboards: (0..plan.leaderboards.len())
                .filter_map(|i| self.leaderboard(state, i, None))
                .collect(),
            rewards: self.rewards(state),
            groups: self.groups(state),
            raffles: self.raffles(state),
        }
    }

    /// Per group kind: groups by state (`open`, `filled`, `expired`) and joins.
    pub fn groups(&self, state: &State) -> serde_json::Map<String, Json> {
        use crate::rules::groups::Standing as G;
        self.plan
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let kind = state.groups.kinds.get(i);
                let n =
                    |s: G| kind.map_or(0, |k| k.groups.iter().filter(|x| x.standing == s).count());
                let joined = state.metrics.groups.get(i).map_or(0, |c| c[1]);
                (
                    g.name.clone(),
                    serde_json::json!({
                        "open": n(G::Open),
                        "filled": n(G::Filled),
                        "expired": n(G::Expired),
                        "joined": joined,
                    }),
                )
            })
            .collect()
    }

    /// One group of kind `kind` (an index into the plan's groups) by its key.
    pub fn group(&self, state: &State, kind: usize, key: &str) -> Option<GroupReport> {
        let k = self.plan.groups.get(kind)?;
        let (_, g) = state
            .groups
            .find(camp_plan::GroupId(crate::engine::id32(kind)), key)?;
        let id = |u: u32| state.user(u).map(|x| x.id.to_string());
        let instant = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        Some(GroupReport {
            group: k.name.clone(),
            key: g.key.to_string(),
            state: g.standing,
            opener: g.opener().and_then(id),
            members: g.members.iter().filter_map(|&u| id(u)).collect(),
            size: k.size,
            opened: instant(g.opened),
            expires: g.expires.map(instant),
        })
    }

    /// Per raffle: its winners' ids, in draw order over all rounds.
    pub fn raffles(&self, state: &State) -> serde_json::Map<String, Json> {
        self.plan
            .raffles
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let winners: Vec<Json> = state
                    .winners
                    .get(i)
                    .map(|w| {
                        w.iter()
                            .filter_map(|&u| state.user(u))
                            .map(|u| Json::String(u.id.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                (r.name.clone(), Json::Array(winners))
            })
            .collect()
    }

    /// Where the campaign stands, without the per-KPI, per-board and per-reward parts.
    pub fn summary(&self, state: &State) -> Summary {
        let plan = &self.plan;
        let (status, phase) = self.status(state);
        let money = |amount: Decimal| {
            spend_currency(plan).map(|mut m| {
                m.amount = amount;
                m.to_string()
            })
        };
        Summary {
            campaign: plan.campaign.id.clone(),
            plan_hash: plan.source_hash.clone(),
            status,
            phase,
            clock: state
                .clock
                .map(|c| c.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            audience: state.audience,
            participants: state.participants(),
            spend: money(state.ledger.spend),
            budget: plan.campaign.budget.map(|b| b.to_string()),
            budget_left: self.budget_left(state).and_then(money),
        }
    }

    /// `scheduled`, `running`, `between` or `ended`, and the running phase.
    pub fn status(&self, state: &State) -> (&'static str, Option<String>) {
        match state.cursor {
            Cursor::Before => ("scheduled", None),
            Cursor::Running(p) => (
                "running",
                self.plan.phases.get(p.index()).map(|p| p.name.clone()),
            ),
            Cursor::Between(_) => ("between", None),
            Cursor::Ended => ("ended", None),
        }
    }

    /// What is left of the budget (never below zero), if the campaign has one.
    pub fn budget_left(&self, state: &State) -> Option<Decimal> {
        self.plan
            .campaign
            .budget
            .map(|b| (b.amount - state.ledger.spend).max(Decimal::ZERO))
    }

    /// Every KPI against its target.
    pub fn kpis(&self, state: &State) -> Vec<KpiReport> {
        let plan = &self.plan;
        let totals = Totals {
            plan,
            metrics: &state.metrics,
            ledger: &state.ledger,
            audience: state.audience,
            participants: state.participants(),
            arm: None,
        };
        plan.kpis
            .iter()
            .map(|k| {
                let v = totals.value(&k.formula);
                let met = v
                    .as_ref()
                    .is_some_and(|v| crate::eval::compare(k.op, v, &k.target));
                let (arms, comparisons) = match k.by {
                    Some(by) => self.arms(state, k, by, &totals),
                    None => (Vec::new(), Vec::new()),
                };
                KpiReport {
                    name: k.name.clone(),
                    value: v.as_ref().map_or(Json::Null, value),
                    op: k.op.symbol().to_string(),
                    target: target(&k.target),
                    met,
                    number: v.as_ref().and_then(float),
                    by: k.by.map(|by| self.arms_name(by).to_string()),
                    arms,
                    comparisons,
                }
            })
            .collect()
    }

    /// The value of the KPI at `index` (in plan order), over the campaign or over the
    /// arm at `arm` of its arms.
    pub fn kpi_value(&self, state: &State, index: usize, arm: Option<usize>) -> Option<Value> {
        let k = self.plan.kpis.get(index)?;
        let arm = match (arm, k.by) {
            (None, _) => None,
            (Some(i), Some(by)) => Some(Arm {
                arms: by,
                index: i,
                size: *crate::measures::arm_sizes(&self.plan, by, state).get(i)?,
            }),
            (Some(_), None) => return None,
        };
        Totals {
            plan: &self.plan,
            metrics: &state.metrics,
            ledger: &state.ledger,
            audience: state.audience,
            participants: state.participants(),
            arm,
        }
        .value(&k.formula)
    }

    /// What a KPI's arms are called in reports: `holdout` or the experiment.
    fn arms_name(&self, by: camp_plan::Arms) -> &str {
        match by {
            camp_plan::Arms::Holdout => "holdout",
            camp_plan::Arms::Experiment { experiment } => self
                .plan
                .experiments
                .get(experiment.index())
                .map_or("", |x| x.name.as_str()),
        }
    }

    /// A KPI `by` arms: its value per arm, and each later arm against the first.
    fn arms(
        &self,
        state: &State,
        k: &camp_plan::Kpi,
        by: camp_plan::Arms,
        totals: &Totals<'_>,
    ) -> (Vec<ArmReport>, Vec<ComparisonReport>) {
        use crate::stats;
        let names = crate::measures::arm_names(&self.plan, by);
        let sizes = crate::measures::arm_sizes(&self.plan, by, state);
        let arms: Vec<ArmReport> = names
            .iter()
            .zip(&sizes)
            .enumerate()
            .map(|(index, (name, &size))| {
                let t = Totals {
                    arm: Some(Arm {
                        arms: by,
                        index,
                        size,
                    }),
                    ..*totals
                };
                let v = t.value(&k.formula);
                ArmReport {
                    arm: (*name).to_string(),
                    size,
                    value: v.as_ref().map_or(Json::Null, value),
                    number: v.as_ref().and_then(float),
                }
            })
            .collect();
        let Some(test) = k.test else {
            return (arms, Vec::new());
        };
        let measure = match test {
            camp_plan::ArmTest::Proportion { measure } | camp_plan::ArmTest::Mean { measure } => {
                measure
            }
        };
        let pos = self
            .plan
            .measures
            .get(measure.index())
            .and_then(|m| m.arms.iter().position(|a| *a == by));
        let tallies = pos.and_then(|p| {
            state
                .metrics
                .measures
                .get(measure.index())
                .and_then(|s| s.arms.get(p))
        });
        let Some(tallies) = tallies else {
            return (arms, Vec::new());
        };
        let arm = |i: usize| -> Option<(u64, &crate::measures::Tally)> {
            Some((*sizes.get(i)?, tallies.get(i)?))
        };
        let comparisons = (1..names.len())
            .map(|i| {
                let result = match (test, arm(0), arm(i)) {
                    (camp_plan::ArmTest::Proportion { .. }, Some(c), Some(t)) => {
                        stats::two_proportions(
                            stats::Proportion { n: c.0, x: c.1.n },
                            stats::Proportion { n: t.0, x: t.1.n },
                        )
                    }
                    (camp_plan::ArmTest::Mean { .. }, Some(c), Some(t)) => {
                        let sample = |(n, tally): (u64, &crate::measures::Tally)| stats::Sample {
                            n,
                            sum: match &tally.sum {
                                Some(v) => float(v).unwrap_or(0.0),
                                None => tally.n as f64,
                            },
                            sum_sq: tally.sum_sq,
                        };
                        stats::welch(sample(c), sample(t))
                    }
                    _ => None,
                };
                ComparisonReport {
                    arm: names.get(i).map_or_else(String::new, |n| (*n).to_string()),
                    against: names.first().map_or_else(String::new, |n| (*n).to_string()),
                    test: match test {
                        camp_plan::ArmTest::Proportion { .. } => "two_proportion_z",
                        camp_plan::ArmTest::Mean { .. } => "welch_t",
                    },
                    difference: result.map(|r| r.difference),
                    ci_low: result.map(|r| r.ci_low),
                    ci_high: result.map(|r| r.ci_high),
                    p_value: result.map(|r| r.p_value),
                }
            })
            .collect();
        (arms, comparisons)
    }

    /// The leaderboard at `index` (in plan order): its best `top` places, never more than
    /// its `show top`. Read from the ordered index, so it costs `top`, not participants.
    pub fn leaderboard(
        &self,
        state: &State,
        index: usize,
        top: Option<usize>,
    ) -> Option<BoardReport> {
        let plan = &self.plan;
        let lb = plan.leaderboards.get(index)?;
        let shown = lb.show_top.map_or(usize::MAX, |n| n as usize);
        let n = top.map_or(shown, |t| t.min(shown));
        Some(BoardReport {
            name: lb.name.clone(),
            phase: plan
                .phases
                .get(lb.phase.index())
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            ranks: state
                .boards
                .get(index)
                .map(|b| {
                    b.top(n)
                        .map(|p| PlaceReport {
                            rank: p.rank,
                            user: state
                                .user(p.user)
                                .map(|u| u.id.to_string())
                                .unwrap_or_default(),
                            score: number(p.score),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Every reward's grants, denials and stock left.
    pub fn rewards(&self, state: &State) -> Vec<RewardReport> {
        let today = state.clock.map(|now| self.calendar.day(now));
        self.plan
            .rewards
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let granted = state.ledger.issued.get(i).copied().unwrap_or(0);
                let out = state
                    .ledger
                    .out(camp_plan::RewardId(crate::engine::id32(i)));
                RewardReport {
                    name: r.name.clone(),
                    granted,
                    denied: state.denied.get(i).copied().unwrap_or(0),
                    stock: r.stock,
                    // Revoked units are back in stock.
                    stock_left: r.stock.map(|s| s.saturating_sub(out)),
                    stock_per_day: r.stock_per_day,
                    // Before the first step no day has granted any.
                    stock_left_today: r.stock_per_day.map(|n| {
                        let id = camp_plan::RewardId(crate::engine::id32(i));
                        n.saturating_sub(today.map_or(0, |d| state.ledger.issued_on(id, d)))
                    }),
                }
            })
            .collect()
    }

    /// One user's standing, if the user is known.
    pub fn participant(&self, state: &State, id: &str) -> Option<ParticipantReport> {
        let u = state.find(id)?;
        let user = state.user(u)?;
        let plan = &self.plan;
        Some(ParticipantReport {
            user: user.id.to_string(),
            standing: user.standing,
            enrolled: user.enrolled(),
            points: user.points,
            earned: user
                .points
                .saturating_add(user.packed.counter(crate::state::packed::POINTS_SPENT)),
            tier: user
                .tier()
                .and_then(|t| plan.tiers.get(t.index()))
                .map(|t| t.name.clone()),
            tasks: user
                .packed
                .tasks()
                .map(|p| TaskReport {
                    task: plan
                        .tasks
                        .get(p.task.index())
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    completions: p.count,
                    streak: p.streak,
                })
                .collect(),
            rewards: user
                .packed
                .holdings()
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| {
                    (
                        plan.rewards
                            .get(r.index())
                            .map(|r| r.name.clone())
                            .unwrap_or_default(),
                        Json::from(n),
                    )
                })
                .collect(),
            ranks: plan
                .leaderboards
                .iter()
                .enumerate()
                .filter_map(|(i, lb)| {
                    let within = lb.show_top.map_or(usize::MAX, |n| n as usize);
                    let rank = state.boards.get(i)?.rank_of(u, within)?;
                    Some((lb.name.clone(), Json::from(rank)))
                })
                .collect(),
            variants: plan
                .experiments
                .iter()
                .enumerate()
                .filter_map(|(e, x)| {
                    let v = x.variants.get(usize::from(user.variant(e)?))?;
                    Some((x.name.clone(), Json::from(v.name.clone())))
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_written_exactly_or_as_strings() {
        use rust_decimal::Decimal;
        use std::str::FromStr;
        let n = |s: &str| super::number(Decimal::from_str(s).unwrap()).to_string();
        assert_eq!(n("12.50"), "12.5");
        assert_eq!(n("9300000000000000000"), "9300000000000000000");
        assert_eq!(n("-42"), "-42");
        assert_eq!(n("123456789012.345"), "123456789012.345");
        assert_eq!(n("93000000000000000000"), "\"93000000000000000000\"");
        assert_eq!(n("1234567890123456.78"), "\"1234567890123456.78\"");
    }
}
