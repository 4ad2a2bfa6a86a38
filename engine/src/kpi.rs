//! Campaign metrics (`count`, `unique`, `sum`, `granted`, `spend`, `participants`,
//! `audience`, and the measures of [`crate::measures`]) and the formulas over them: KPIs
//! (over the campaign or one arm) and `until` conditions.

use crate::eval::{arithmetic, compare, number};
use crate::invariant::guaranteed;
use crate::measures::{add_value, Slot};
use crate::rules::grants::Ledger;
use camp_plan::literal::Money;
use camp_plan::{Arms, Metric, Plan, Value, ValueType};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Running totals over accepted events.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// Accepted events per event type.
    pub count: Vec<u64>,
    /// Distinct users per event type.
    pub unique: Vec<u64>,
    /// Per event type, per field: the sum of a numeric or money field (`None` before the
    /// first value, or for fields that do not add up).
    pub sums: Vec<Vec<Option<Value>>>,
    /// Per group kind: groups opened, joins (openers excluded), groups filled, groups
    /// expired.
    #[serde(default)]
    pub groups: Vec<[u64; 4]>,
    /// Per raffle: winners drawn over all rounds.
    #[serde(default)]
    pub winners: Vec<u64>,
    /// Per measure of the plan: its totals, over the campaign and per arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measures: Vec<Slot>,
    /// Eligible users in the holdout (the holdout arm of `by holdout`).
    #[serde(default)]
    pub held_out: u64,
    /// Per experiment, per variant: participants given it (the arms of `by EXPERIMENT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assigned: Vec<Vec<u64>>,
}

impl Metrics {
    /// Empty totals for `plan`.
    pub fn new(plan: &Plan) -> Self {
        Metrics {
            count: vec![0; plan.events.len()],
            unique: vec![0; plan.events.len()],
            sums: plan
                .events
                .iter()
                .map(|e| e.fields.iter().map(|f| zero(plan, f.ty)).collect())
                .collect(),
            groups: vec![[0; 4]; plan.groups.len()],
            winners: vec![0; plan.raffles.len()],
            measures: plan.measures.iter().map(|m| Slot::new(plan, m)).collect(),
            held_out: 0,
            assigned: plan
                .experiments
                .iter()
                .map(|x| vec![0; x.variants.len()])
                .collect(),
        }
    }

    /// Gives totals restored from an older snapshot the group and raffle counts the
    /// plan needs.
    pub fn fit(&mut self, plan: &Plan) {
        self.groups.resize(plan.groups.len(), [0; 4]);
        self.winners.resize(plan.raffles.len(), 0);
        for m in plan.measures.iter().skip(self.measures.len()) {
            self.measures.push(Slot::new(plan, m));
        }
        self.assigned.resize(plan.experiments.len(), Vec::new());
        for (a, x) in self.assigned.iter_mut().zip(&plan.experiments) {
            a.resize(x.variants.len(), 0);
        }
    }

    /// Counts a participant given variant `variant` of experiment `experiment`.
    pub fn assign(&mut self, experiment: usize, variant: usize) {
        if let Some(n) = self
            .assigned
            .get_mut(experiment)
            .and_then(|v| v.get_mut(variant))
        {
            *n += 1;
        }
    }

    /// Counts one accepted event; `first_of_type` when the user never sent one before.
    pub fn record(&mut self, kind: usize, fields: &[Value], first_of_type: bool) {
        if let Some(n) = self.count.get_mut(kind) {
            *n += 1;
        }
        if first_of_type {
            if let Some(n) = self.unique.get_mut(kind) {
                *n += 1;
            }
        }
        guaranteed!(let Some(sums) = self.sums.get_mut(kind), "sums are kept for every event type" else return);
        for (sum, v) in sums.iter_mut().zip(fields) {
            add_value(sum, v);
        }
    }
}

/// The sum of no values of a field: zero, money in the campaign's currency (values in
/// other currencies do not add up with it); `None` for fields that do not add up.
pub(crate) fn zero(plan: &Plan, ty: ValueType) -> Option<Value> {
    match ty {
        ValueType::Int => Some(Value::Int(0)),
        ValueType::Decimal => Some(Value::Decimal(Decimal::ZERO)),
        ValueType::Money => spend_currency(plan).map(|mut m| {
            m.amount = Decimal::ZERO;
            Value::Money(m)
        }),
        _ => None,
    }
}

/// What a formula is evaluated against.
pub struct Totals<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Event totals.
    pub metrics: &'a Metrics,
    /// Issuance and spend.
    pub ledger: &'a Ledger,
    /// Eligible users known.
    pub audience: u64,
    /// Participants.
    pub participants: u64,
    /// The arm the formula is read over, if one: measures read their arm's tallies,
    /// and the arm's population (`audience` or `participants`) is its size.
    pub arm: Option<Arm>,
}

/// One arm of a KPI's arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm {
    /// Whose arms.
    pub arms: Arms,
    /// Its position among them.
    pub index: usize,
    /// How many users it has.
    pub size: u64,
}

/// The currency spend is counted in: the budget's, else the first monetary reward's.
pub(crate) fn spend_currency(plan: &Plan) -> Option<Money> {
    plan.campaign
        .budget
        .or_else(|| plan.rewards.iter().find_map(camp_plan::Reward::money))
}

fn count(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

impl Totals<'_> {
    /// A formula's value; `None` when it has none yet (a division by zero, a sum of no
    /// events).
    pub fn value(&self, m: &Metric) -> Option<Value> {
        self.eval(m, 0)
    }

    /// Whether an `until` condition (or any boolean formula) holds.
    pub fn holds(&self, m: &Metric) -> bool {
        matches!(self.value(m), Some(Value::Bool(true)))
    }

    fn eval(&self, m: &Metric, depth: u32) -> Option<Value> {
        // KPIs may refer to KPIs; the checks reject cycles, this bounds them anyway.
        if depth > 32 {
            return None;
        }
        Some(match m {
            Metric::Measure { measure } => {
                let of = &self.plan.measures.get(measure.index())?;
                let slot = self.metrics.measures.get(measure.index())?;
                let tally = match self.arm {
                    None => &slot.all,
                    Some(arm) => {
                        let pos = of.arms.iter().position(|a| *a == arm.arms)?;
                        slot.arms.get(pos)?.get(arm.index)?
                    }
                };
                crate::measures::value(&of.of, tally)?
            }
            // Within an arm, only measures and the arm's population have a value.
            Metric::Audience | Metric::Participants if self.arm.is_some() => {
                count(self.arm.map_or(0, |a| a.size))
            }
            Metric::Const { .. } | Metric::Arith { .. } | Metric::Neg { .. } => {
                return self.eval_plain(m, depth)
            }
            _ if self.arm.is_some() => return None,
            other => return self.eval_plain(other, depth),
        })
    }

    fn eval_plain(&self, m: &Metric, depth: u32) -> Option<Value> {
        Some(match m {
            Metric::Measure { .. } => return self.eval(m, depth),
            Metric::Const { value } => value.clone(),
            Metric::Count { event } => count(*self.metrics.count.get(event.index())?),
            Metric::Unique { event } => count(*self.metrics.unique.get(event.index())?),
            Metric::Sum { event, field } => self
                .metrics
                .sums
                .get(event.index())?
                .get(*field as usize)?
                .clone()?,
            Metric::Granted { reward } => count(self.ledger.issued(*reward)),
            Metric::Spend => match spend_currency(self.plan) {
                Some(mut m) => {
                    m.amount = self.ledger.spend;
                    Value::Money(m)
                }
                None => Value::Decimal(self.ledger.spend),
            },
            Metric::Participants => count(self.participants),
            Metric::Opened { group } => count(self.metrics.groups.get(group.index())?[0]),
            Metric::Joined { group } => count(self.metrics.groups.get(group.index())?[1]),
            Metric::Filled { group } => count(self.metrics.groups.get(group.index())?[2]),
            Metric::Expired { group } => count(self.metrics.groups.get(group.index())?[3]),
            Metric::Winners { raffle } => count(*self.metrics.winners.get(raffle.index())?),
            Metric::Audience => count(self.audience),
            Metric::Kpi { kpi } => {
                self.eval(&self.plan.kpis.get(kpi.index())?.formula, depth + 1)?
            }
            Metric::Arith { arith, lhs, rhs } => {
                arithmetic(*arith, self.eval(lhs, depth)?, self.eval(rhs, depth)?)?
            }
            Metric::Neg { arg } => match self.eval(arg, depth)? {
                Value::Money(mut m) => {
                    m.amount = -m.amount;
                    Value::Money(m)
                }
                v => Value::Decimal(-number(&v)?),
            },
            Metric::Compare { cmp, lhs, rhs } => {
                match (self.eval(lhs, depth), self.eval(rhs, depth)) {
                    (Some(l), Some(r)) => Value::Bool(compare(*cmp, &l, &r)),
                    _ => Value::Bool(false),
                }
            }
            Metric::And { lhs, rhs } => Value::Bool(
                self.eval(lhs, depth) == Some(Value::Bool(true))
                    && self.eval(rhs, depth) == Some(Value::Bool(true)),
            ),
            Metric::Or { lhs, rhs } => Value::Bool(
                self.eval(lhs, depth) == Some(Value::Bool(true))
                    || self.eval(rhs, depth) == Some(Value::Bool(true)),
            ),
            Metric::Not { arg } => Value::Bool(self.eval(arg, depth) != Some(Value::Bool(true))),
        })
    }
}

/// A number as a decimal (a percent as its fraction), for reports.
pub fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Money(m) => Some(m.amount),
        v => number(v),
    }
}
