//! Numbers at and past every edge, in every place a campaign writes one: checking,
//! lowering and the schedule never crash, a campaign that checks clean always lowers,
//! and every sum and product the checker forms is either computed or reported as E0002
//! on its literal.
//!
//! The generator is held to reaching the arithmetic: the run counts how many campaigns
//! had a coupon or item whose value and stock were both valid with one of them generated
//! (so the worst case was multiplied and summed with it), how many overflowed, how many
//! exceeded the budget, and how many lowered to a plan, and fails if the first is under
//! a fifth of the cases or any of the others never happens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a test

use camp_compiler::{check_file, compile_file, schedule, Code, MemoryLoader};
use camp_plan::literal::{parse_money, parse_number, Number};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use std::cell::Cell;
use std::path::Path;

/// Whole numbers at the edges of the types camp computes with, and past them.
const EDGES: &[&str] = &[
    "0",
    "1",
    "2",
    "100",
    "2_147_483_647",
    "2_147_483_648",
    "4_294_967_295",
    "4_294_967_296",
    "9_007_199_254_740_993",
    "99999999999999999",
    "9_223_372_036_854_775_807",
    "9_223_372_036_854_775_808",
    "18_446_744_073_709_551_616",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "7922816251426433759354395033.5",
    "99999999999999999.99",
];

/// An edge, a random whole number of any size, or a random decimal.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(EDGES).prop_map(str::to_string),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => (1u64..1_000_000).prop_map(|n| n.to_string()),
        1 => (any::<u64>(), 1u32..28).prop_map(|(n, scale)| Decimal::from_i128_with_scale(i128::from(n), scale).to_string()),
    ]
}

/// The literals of one generated campaign, by name.
#[derive(Debug, Clone)]
struct Slots(Vec<String>);

const SLOT_NAMES: &[&str] = &[
    "budget", "holdout", "cap", "points", "pstock", "pper", "value_a", "stock_a", "per_a",
    "cost_b", "stock_b", "w1", "w2", "tier", "days", "limit", "streak", "after", "top", "days2",
    "rank", "kpi",
];

impl Slots {
    fn get(&self, name: &str) -> &str {
        let i = SLOT_NAMES.iter().position(|n| *n == name).unwrap();
        &self.0[i]
    }

    fn campaign(&self) -> String {
        let s = |n| self.get(n);
        format!(
            r#"campaign extreme {{
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  budget   {budget} CNY
  holdout  {holdout}%
  cap      {cap} messages per day
}}

event checkin {{}}

reward pts = points {points} {{ stock {pstock}  per_user {pper} }}
reward a   = coupon {{ value {value_a} CNY  stock {stock_a}  per_user {per_a} }}
reward b   = item "B" {{ cost {cost_b} CNY  stock {stock_b} }}
reward d   = draw {{ {w1}% a  {w2}% b }}

tiers {{
  bronze at 0 points
  silver at {tier} points
}}

phase main for {days}d {{
  task t {{
    on checkin
    limit {limit} per day
    grant pts
    grant d
    streak {streak} days => grant a
    after {after} => grant b
  }}
  leaderboard lb {{
    score points
    show top {top}
  }}
}}

phase wrap for {days2}d {{
  award lb rank 1..{rank} => grant a
}}

kpi spend_per_head = spend / participants target <= {kpi} CNY
"#,
            budget = s("budget"),
            holdout = s("holdout"),
            cap = s("cap"),
            points = s("points"),
            pstock = s("pstock"),
            pper = s("pper"),
            value_a = s("value_a"),
            stock_a = s("stock_a"),
            per_a = s("per_a"),
            cost_b = s("cost_b"),
            stock_b = s("stock_b"),
            w1 = s("w1"),
            w2 = s("w2"),
            tier = s("tier"),
            days = s("days"),
            limit = s("limit"),
            streak = s("streak"),
            after = s("after"),
            top = s("top"),
            days2 = s("days2"),
            rank = s("rank"),
            kpi = s("kpi"),
        )
    }

    /// Whether the checker multiplies a generated value or stock: a coupon's (or
    /// item's) value and stock are both valid and above zero, and one of them is not
    /// the ordinary one.
    fn multiplies_generated(&self) -> bool {
        let stock_ok = |s: &str| matches!(parse_number(s), Ok(Number::Int(n)) if n > 0);
        let money_ok = |s: &str| parse_money(s, "CNY").is_ok_and(|m| m.amount > Decimal::ZERO);
        let generated = |name: &str| {
            let i = SLOT_NAMES.iter().position(|n| *n == name).unwrap();
            self.0[i] != ORDINARY[i]
        };
        [("value_a", "stock_a"), ("cost_b", "stock_b")]
            .iter()
            .any(|(money, stock)| {
                money_ok(self.get(money))
                    && stock_ok(self.get(stock))
                    && (generated(money) || generated(stock))
            })
    }
}

/// Ordinary values for every slot: this campaign checks clean.
const ORDINARY: &[&str] = &[
    "1_000", "5", "3", "10", "100", "1", "20", "50", "1", "100", "10", "30", "50", "500", "7", "1",
    "3", "5", "10", "1", "3", "5",
];

/// Each slot ordinary, or (one time in five) a generated number.
fn slots() -> impl Strategy<Value = Slots> {
    let slot = |ordinary: &'static str| prop_oneof![4 => Just(ordinary.to_string()), 1 => number()];
    ORDINARY
        .iter()
        .map(|o| slot(o))
        .collect::<Vec<_>>()
        .prop_map(Slots)
}

#[derive(Default)]
struct Counts {
    cases: Cell<u32>,
    multiplied: Cell<u32>,
    overflowed: Cell<u32>,
    over_budget: Cell<u32>,
    plans: Cell<u32>,
}

fn bump(c: &Cell<u32>) {
    c.set(c.get() + 1);
}

/// Checks, compiles and schedules one campaign, asserting it never crashes and that a
/// clean check always lowers.
fn run(src: &str, counts: &Counts) {
    let loader = MemoryLoader::with(&[("main.camp", src)]);
    let checked = check_file(&loader, Path::new("main.camp")).expect("in memory");
    let compiled = compile_file(&loader, Path::new("main.camp"))
        .unwrap_or_else(|e| panic!("lowering failed after a check: {e}\n{src}"));
    assert_eq!(
        compiled.plan.is_some(),
        checked.errors() == 0,
        "a campaign that checks clean must lower\n{src}\n{:?}",
        checked.diagnostics
    );
    let overflow = checked.diagnostics.iter().any(|d| {
        d.code == Code::E0002
            && d.help
                .as_deref()
                .is_some_and(|h| h.contains("more than camp can compute with"))
    });
    if overflow {
        bump(&counts.overflowed);
    }
    if checked.diagnostics.iter().any(|d| d.code == Code::W0404) {
        bump(&counts.over_budget);
    }
    if let Some(plan) = &compiled.plan {
        bump(&counts.plans);
        let s = schedule::build(plan);
        let _ = (
            schedule::to_table(&s),
            schedule::to_json(&s),
            schedule::to_ics(&s),
        );
        serde_json::to_string(plan).expect("a plan serializes");
    }
}

#[test]
fn extreme_literals_are_computed_or_reported_never_a_crash() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(384);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let counts = Counts::default();
    runner
        .run(&slots(), |slots| {
            bump(&counts.cases);
            if slots.multiplies_generated() {
                bump(&counts.multiplied);
            }
            run(&slots.campaign(), &counts);
            Ok(())
        })
        .unwrap();
    let (n, mul, over, budget, plans) = (
        counts.cases.get(),
        counts.multiplied.get(),
        counts.overflowed.get(),
        counts.over_budget.get(),
        counts.plans.get(),
    );
    eprintln!(
        "{n} campaigns: {mul} multiplied a generated value or stock, {over} overflowed (E0002), \
         {budget} went over the budget (W0404), {plans} lowered to a plan"
    );
    // Shrinking reruns cases only on failure, so these count the generated cases.
    assert!(
        mul * 5 >= n,
        "the worst case was computed with a generated number in only {mul} of {n}"
    );
    assert!(over > 0, "no campaign overflowed the worst case");
    assert!(budget > 0, "no campaign went over its budget");
    assert!(plans > 0, "no campaign lowered to a plan");
}

/// Each edge in each slot, the other slots ordinary: every single literal is computed
/// with or reported, wherever it stands.
#[test]
fn each_edge_in_each_slot() {
    assert_eq!(ORDINARY.len(), SLOT_NAMES.len());
    let base = Slots(ORDINARY.iter().map(|s| s.to_string()).collect());
    let counts = Counts::default();
    run(&base.campaign(), &counts);
    assert_eq!(counts.plans.get(), 1, "the ordinary campaign must be clean");
    for i in 0..SLOT_NAMES.len() {
        for edge in EDGES {
            let mut s = base.clone();
            s.0[i] = (*edge).to_string();
            run(&s.campaign(), &counts);
        }
    }
}

/// A campaign whose phases run past the last representable date: E0002 on the
/// duration that goes past it, not a crash.
#[test]
fn phases_past_the_last_date_are_reported() {
    let mut src = String::from(
        "campaign long {\n  timezone \"Asia/Shanghai\"\n  start 9999-01-01T00:00\n}\n\
         event checkin {}\nreward r = points 1\n",
    );
    for i in 0..2_600 {
        src.push_str(&format!(
            "phase p{i} for 36600d {{ task t{i} {{ on checkin grant r }} }}\n"
        ));
    }
    let loader = MemoryLoader::with(&[("main.camp", &src)]);
    let checked = check_file(&loader, Path::new("main.camp")).expect("in memory");
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.code == Code::E0002 && d.message.contains("36600d")),
        "{:?}",
        checked.diagnostics.first()
    );
    let compiled = compile_file(&loader, Path::new("main.camp")).expect("no internal error");
    assert!(compiled.plan.is_none());
}
