//! Evaluating the Plan's resolved conditions (`audience`, segments, a task's `where`,
//! goals) against what is known about a user, a participant and an event.
//!
//! A missing value (an attribute not given, an event field outside a task) is null:
//! a comparison with null is false, `and`/`or` treat it as false, and `not` of a false
//! condition is true.

use camp_plan::{
    ArithOp, AttrId, CompareOp, ExperimentId, Expr, LeaderboardId, Plan, RewardId, TaskId, Value,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// How deeply segments may refer to segments. The checks reject a cycle (E0106), but a
/// plan may come from elsewhere (`plan.json`), so evaluation bounds it too: past this
/// depth a segment is false.
const MAX_SEGMENT_DEPTH: u32 = 32;

/// What a condition can ask about.
pub trait Facts {
    /// `user.<attr>`.
    fn attr(&self, attr: AttrId) -> Option<Value>;
    /// `event.<field>` of the event being counted.
    fn field(&self, field: u32) -> Option<&Value>;
    /// `participant.points`.
    fn points(&self) -> i64;
    /// `participant.tier`.
    fn tier(&self) -> Option<&str>;
    /// `participant.enrolled`.
    fn enrolled(&self) -> bool;
    /// `holds(REWARD)`: how many the participant holds now.
    fn holds(&self, reward: RewardId) -> u64;
    /// `user.id`.
    fn user_id(&self) -> Option<&str> {
        None
    }
    /// `participant.earned`: points ever granted less those revoked.
    fn earned(&self) -> i64 {
        self.points()
    }
    /// `participant.enrolled_at`.
    fn enrolled_at(&self) -> Option<DateTime<Utc>> {
        None
    }
    /// `participant.count.TASK`.
    fn task_count(&self, _task: TaskId) -> Option<i64> {
        None
    }
    /// `participant.today.TASK`.
    fn task_today(&self, _task: TaskId) -> Option<i64> {
        None
    }
    /// `participant.streak.TASK` (0 once a day is missed).
    fn task_streak(&self, _task: TaskId) -> Option<i64> {
        None
    }
    /// `participant.rank.LEADERBOARD` (null when unranked).
    fn rank(&self, _board: LeaderboardId) -> Option<u32> {
        None
    }
    /// `counted(TASK)`: whether TASK counted the event being counted.
    fn counted(&self, _task: TaskId) -> bool {
        false
    }
    /// `participant.variant.EXPERIMENT`: the participant's variant's name (null for a
    /// user who has none).
    fn variant(&self, _experiment: ExperimentId) -> Option<&str> {
        None
    }
}

/// Whether a condition holds.
pub fn holds(plan: &Plan, expr: &Expr, facts: &dyn Facts) -> bool {
    truth(plan, expr, facts, 0)
}

fn truth(plan: &Plan, expr: &Expr, facts: &dyn Facts, depth: u32) -> bool {
    matches!(value(plan, expr, facts, depth), Some(Value::Bool(true)))
}

/// The value of an expression; `None` is null.
pub fn value(plan: &Plan, expr: &Expr, facts: &dyn Facts, depth: u32) -> Option<Value> {
    Some(match expr {
        Expr::Const { value } => value.clone(),
        Expr::UserAttr { attr } => facts.attr(*attr)?,
        Expr::EventField { field } => facts.field(*field)?.clone(),
        Expr::Points => Value::Int(facts.points()),
        Expr::UserId => Value::String(facts.user_id()?.to_string()),
        Expr::Earned => Value::Int(facts.earned()),
        Expr::EnrolledAt => Value::Datetime(facts.enrolled_at()?),
        Expr::TaskCount { task } => Value::Int(facts.task_count(*task)?),
        Expr::TaskToday { task } => Value::Int(facts.task_today(*task)?),
        Expr::TaskStreak { task } => Value::Int(facts.task_streak(*task)?),
        Expr::Rank { leaderboard } => Value::Int(i64::from(facts.rank(*leaderboard)?)),
        Expr::Counted { task } => Value::Bool(facts.counted(*task)),
        Expr::Tier => Value::String(facts.tier()?.to_string()),
        Expr::Variant { experiment } => Value::String(facts.variant(*experiment)?.to_string()),
        Expr::Enrolled => Value::Bool(facts.enrolled()),
        Expr::Holds { reward } => {
            Value::Int(i64::try_from(facts.holds(*reward)).unwrap_or(i64::MAX))
        }
        Expr::Segment { segment } => {
            if depth >= MAX_SEGMENT_DEPTH {
                return Some(Value::Bool(false));
            }
            let seg = plan.segments.get(segment.index())?;
            Value::Bool(truth(plan, &seg.condition, facts, depth + 1))
        }
        Expr::Not { arg } => Value::Bool(!truth(plan, arg, facts, depth)),
        Expr::And { lhs, rhs } => {
            Value::Bool(truth(plan, lhs, facts, depth) && truth(plan, rhs, facts, depth))
        }
        Expr::Or { lhs, rhs } => {
            Value::Bool(truth(plan, lhs, facts, depth) || truth(plan, rhs, facts, depth))
        }
        Expr::Compare { cmp, lhs, rhs } => {
            let (l, r) = (
                value(plan, lhs, facts, depth),
                value(plan, rhs, facts, depth),
            );
            Value::Bool(match (l, r) {
                (Some(l), Some(r)) => compare(*cmp, &l, &r),
                _ => false,
            })
        }
        Expr::In { lhs, list } => {
            let Some(l) = value(plan, lhs, facts, depth) else {
                return Some(Value::Bool(false));
            };
            let found = list
                .iter()
                .any(|item| match value(plan, item, facts, depth) {
                    Some(Value::List(items)) => items.iter().any(|i| compare(CompareOp::Eq, &l, i)),
                    Some(v) => compare(CompareOp::Eq, &l, &v),
                    None => false,
                });
            Value::Bool(found)
        }
        Expr::List { items } => Value::List(
            items
                .iter()
                .map(|i| value(plan, i, facts, depth))
                .collect::<Option<_>>()?,
        ),
        Expr::Neg { arg } => match value(plan, arg, facts, depth)? {
            Value::Int(n) => Value::Int(n.checked_neg()?),
            Value::Decimal(d) => Value::Decimal(-d),
            Value::Percent(p) => Value::Percent(-p),
            Value::Money(mut m) => {
                m.amount = -m.amount;
                Value::Money(m)
            }
            _ => return None,
        },
        Expr::Arith { arith, lhs, rhs } => arithmetic(
            *arith,
            value(plan, lhs, facts, depth)?,
            value(plan, rhs, facts, depth)?,
        )?,
    })
}

/// A number as a decimal; a percent as its fraction (15% is 0.15).
pub(crate) fn number(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(n) => Some(Decimal::from(*n)),
        Value::Decimal(d) => Some(*d),
        Value::Percent(p) => Some(*p / Decimal::ONE_HUNDRED),
        _ => None,
    }
}

fn order(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Money(a), Value::Money(b)) if a.currency == b.currency => {
            Some(a.amount.cmp(&b.amount))
        }
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::Datetime(a), Value::Datetime(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Datetime(b)) => Some(a.cmp(&b.date_naive())),
        (Value::Datetime(a), Value::Date(b)) => Some(a.date_naive().cmp(b)),
        (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
        (Value::Duration(a), Value::Duration(b)) => {
            Some((a.days, a.minutes).cmp(&(b.days, b.minutes)))
        }
        (Value::List(a), Value::List(b)) if a.len() == b.len() => {
            let equal = a.iter().zip(b).all(|(x, y)| compare(CompareOp::Eq, x, y));
            equal.then_some(Ordering::Equal)
        }
        (a, b) => Some(number(a)?.cmp(&number(b)?)),
    }
}

pub(crate) fn compare(cmp: CompareOp, l: &Value, r: &Value) -> bool {
    let Some(o) = order(l, r) else {
        return matches!(cmp, CompareOp::Ne);
    };
    match cmp {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
    }
}

pub(crate) fn arithmetic(op: ArithOp, l: Value, r: Value) -> Option<Value> {
    Some(match (op, l, r) {
        (ArithOp::Add, Value::Int(a), Value::Int(b)) => Value::Int(a.checked_add(b)?),
        (ArithOp::Sub, Value::Int(a), Value::Int(b)) => Value::Int(a.checked_sub(b)?),
        (ArithOp::Mul, Value::Int(a), Value::Int(b)) => Value::Int(a.checked_mul(b)?),
        (ArithOp::Add | ArithOp::Sub, Value::Money(mut a), Value::Money(b))
            if a.currency == b.currency =>
        {
            a.amount = if op == ArithOp::Add {
                a.amount.checked_add(b.amount)?
            } else {
                a.amount.checked_sub(b.amount)?
            };
            Value::Money(a)
        }
        (ArithOp::Div, Value::Money(a), Value::Money(b)) if a.currency == b.currency => {
            Value::Decimal(a.amount.checked_div(b.amount)?)
        }
        (ArithOp::Mul | ArithOp::Div, Value::Money(mut a), n) => {
            let n = number(&n)?;
            a.amount = if op == ArithOp::Mul {
                a.amount.checked_mul(n)?
            } else {
                a.amount.checked_div(n)?
            };
            Value::Money(a)
        }
        (ArithOp::Mul, n, Value::Money(mut a)) => {
            a.amount = a.amount.checked_mul(number(&n)?)?;
            Value::Money(a)
        }
        (op, a, b) => {
            let (a, b) = (number(&a)?, number(&b)?);
            Value::Decimal(match op {
                ArithOp::Add => a.checked_add(b)?,
                ArithOp::Sub => a.checked_sub(b)?,
                ArithOp::Mul => a.checked_mul(b)?,
                ArithOp::Div => a.checked_div(b)?,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use camp_compiler::{compile_file, MemoryLoader};
    use std::path::Path;

    #[derive(Default)]
    struct F {
        attrs: Vec<Option<Value>>,
        fields: Vec<Value>,
        points: i64,
        held: u64,
    }

    impl Facts for F {
        fn attr(&self, a: AttrId) -> Option<Value> {
            self.attrs.get(a.index()).cloned().flatten()
        }
        fn field(&self, f: u32) -> Option<&Value> {
            self.fields.get(f as usize)
        }
        fn points(&self) -> i64 {
            self.points
        }
        fn tier(&self) -> Option<&str> {
            None
        }
        fn enrolled(&self) -> bool {
            true
        }
        fn holds(&self, _: RewardId) -> u64 {
            self.held
        }
    }

    fn plan(body: &str) -> Plan {
        let src = format!(
            "campaign c {{\n  timezone \"UTC\"\n  start 2027-01-01T00:00\n  budget 100 CNY\n  locales en\n}}\nuser {{\n  level: int\n  region: string\n  vip: bool\n}}\nevent buy {{ amount: money }}\nreward pts = points 1\n{body}\nphase p for 1d {{\n  task t {{\n    on buy where event.amount >= 10 CNY\n    grant pts\n  }}\n}}\n"
        );
        let r = compile_file(
            &MemoryLoader::with(&[("c.camp", &src)]),
            Path::new("c.camp"),
        )
        .unwrap();
        r.plan
            .unwrap_or_else(|| panic!("{:#?}", r.check.diagnostics))
    }

    #[test]
    fn segments_attributes_and_holds() {
        let p = plan("segment core = user.level >= 5 and user.region in [\"CN\", \"HK\"] or holds(pts) > 2\nsegment not_vip = not user.vip\nkpi k = count(buy) target >= 1");
        let core = &p.segments[0].condition;
        let mk = |level: i64, region: &str, held: u64| F {
            attrs: vec![
                Some(Value::Int(level)),
                Some(Value::String(region.into())),
                None,
            ],
            held,
            ..F::default()
        };
        assert!(holds(&p, core, &mk(6, "HK", 0)));
        assert!(!holds(&p, core, &mk(6, "US", 0)));
        assert!(!holds(&p, core, &mk(4, "CN", 0)));
        assert!(holds(&p, core, &mk(1, "US", 3)));
        // A missing attribute is null: comparisons with it are false, `not` of that is true.
        assert!(holds(&p, &p.segments[1].condition, &mk(1, "US", 0)));
    }

    #[test]
    fn event_filters_compare_money_in_one_currency() {
        let p = plan("kpi k = count(buy) target >= 1");
        let filter = p.tasks[0].filter.as_ref().unwrap();
        let with = |amount: &str| F {
            fields: vec![Value::Money(amount.parse().unwrap())],
            ..F::default()
        };
        assert!(holds(&p, filter, &with("10 CNY")));
        assert!(holds(&p, filter, &with("12.5 CNY")));
        assert!(!holds(&p, filter, &with("9.99 CNY")));
        assert!(
            !holds(&p, filter, &with("100 USD")),
            "money in another currency never compares"
        );
    }

    #[test]
    fn arithmetic_and_overflow() {
        assert_eq!(
            arithmetic(ArithOp::Add, Value::Int(2), Value::Int(3)),
            Some(Value::Int(5))
        );
        assert_eq!(
            arithmetic(ArithOp::Add, Value::Int(i64::MAX), Value::Int(1)),
            None
        );
        assert_eq!(arithmetic(ArithOp::Div, Value::Int(1), Value::Int(0)), None);
        assert_eq!(
            arithmetic(
                ArithOp::Mul,
                Value::Money("2.5 CNY".parse().unwrap()),
                Value::Int(2)
            ),
            Some(Value::Money("5 CNY".parse().unwrap()))
        );
        assert!(compare(
            CompareOp::Eq,
            &Value::Percent(Decimal::from(50)),
            &Value::Decimal(Decimal::new(5, 1))
        ));
    }

    #[test]
    fn a_cycle_of_segments_is_bounded() {
        let mut p = plan("segment a = user.vip\nsegment b = a\nsegment c = a or user.vip\nkpi k = count(buy) target >= 1\nphase q for 1d {\n  send m at 10:00 to c\n}\nmessage m via push {\n  en \"hi\"\n}");
        // The checker refuses a cycle (E0106); a plan written by hand may still have one.
        p.segments[0].condition = Expr::Segment {
            segment: camp_plan::SegmentId(1),
        };
        let f = F {
            attrs: vec![None, None, Some(Value::Bool(true))],
            ..F::default()
        };
        assert!(!holds(&p, &p.segments[0].condition, &f));
        assert!(holds(&p, &p.segments[2].condition, &f));
    }
}
