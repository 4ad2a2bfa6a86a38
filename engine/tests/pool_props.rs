//! Properties of pools over random campaigns (amount, currency, budget, `per_user`,
//! raffle size) and random streams of comments, group opens and joins: in every firing
//! (a raffle round, an `at` instant, an `on enter`, a group's outcome) every recipient's
//! share is the same, the shares of the recipients add up to at most the pool's amount,
//! the share is the amount over the recipients rounded down to the minor unit (never
//! more, and less by under one minor unit per recipient), and spend never exceeds the
//! budget. The run counts how often each kind of firing, a firing of several recipients
//! and a denied share were reached, so a generator that never reaches them fails.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;
use camp_engine::input::{EventLine, UserLine};
use camp_engine::replay::{self, Until};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::str::FromStr;

const USERS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// A campaign's random parts.
#[derive(Debug, Clone)]
struct Shape {
    amount: &'static str,
    currency: &'static str,
    budget: u32,
    per_user: Option<u32>,
    pick: u32,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop::sample::select(vec!["100", "7", "10.01", "1", "999.99"]),
        prop::sample::select(vec!["CNY", "JPY"]),
        prop::sample::select(vec![15u32, 60, 400, 5_000]),
        prop::option::of(1u32..3),
        1u32..5,
    )
        .prop_map(|(amount, currency, budget, per_user, pick)| Shape {
            // Yen has no decimals.
            amount: if currency == "JPY" && amount.contains('.') {
                "1_000"
            } else {
                amount
            },
            currency,
            budget,
            per_user,
            pick,
        })
}

fn campaign(s: &Shape) -> String {
    let per_user = s
        .per_user
        .map_or(String::new(), |n| format!(" {{ per_user {n} }}"));
    format!(
        r#"
campaign pools {{
  timezone "UTC"
  start    2027-01-01T00:00
  budget   {budget} {cur}
}}
event comment {{}}
event opened {{ key: string }}
event joined {{ key: string }}
reward cash  = pool {amount} {cur}{per_user}
reward tcash = pool {amount} {cur}{per_user}
group team {{
  size   3
  within 4h
  filled  => grant tcash
  expired => grant tcash to opener
}}
phase day for 1d {{
  task talk {{ on comment }}
  task open_team {{ on opened  open team by event.key }}
  task join_team {{ on joined  join team by event.key }}
  raffle lucky at 06:00, 12:00, 18:00 pick {pick} => grant cash
  grant cash at 09:00, 15:00
}}
phase night for 1d {{
  task talk2 {{ on comment }}
  grant cash on enter
}}
"#,
        budget = s.budget,
        cur = s.currency,
        amount = s.amount,
        pick = s.pick,
    )
}

fn users() -> Vec<UserLine> {
    USERS
        .iter()
        .map(|id| serde_json::from_str(&format!(r#"{{"id":"{id}","attrs":{{}}}}"#)).unwrap())
        .collect()
}

/// (kind, user, key, minutes after the start) over the first day.
fn stream() -> impl Strategy<Value = Vec<(u8, usize, usize, u32)>> {
    prop::collection::vec((0u8..6, 0usize..6, 0usize..3, 0u32..1440), 1..60)
}

fn events(raw: &[(u8, usize, usize, u32)]) -> Vec<EventLine> {
    let mut raw = raw.to_vec();
    raw.sort_by_key(|r| r.3);
    raw.iter()
        .enumerate()
        .map(|(i, &(k, u, key, m))| {
            let (kind, data) = match k {
                0 | 1 => ("comment", "{}".to_string()),
                2 => ("opened", format!(r#"{{"key":"k{key}"}}"#)),
                _ => ("joined", format!(r#"{{"key":"k{key}"}}"#)),
            };
            let at = format!("2027-01-01T{:02}:{:02}:00Z", m / 60, m % 60);
            common::ev(&format!("e{i}"), kind, USERS[u], &at, &data)
        })
        .collect()
}

/// One firing's grants and denials of one pool.
#[derive(Default, Debug)]
struct Firing {
    shares: Vec<Decimal>,
    denied: u64,
    cause: String,
}

fn money(text: &str, currency: &str) -> Decimal {
    Decimal::from_str(text.trim_end_matches(currency).trim()).unwrap()
}

fn check(
    s: &Shape,
    raw: &[(u8, usize, usize, u32)],
    reach: &mut common::Reach,
) -> Result<(), TestCaseError> {
    let e = common::engine(&campaign(s));
    let mut state = e.start();
    for u in users() {
        e.user(&mut state, &u).unwrap();
    }
    let out = replay::run_events(&e, &mut state, &events(raw), Until::End);
    let amount = Decimal::from_str(&s.amount.replace('_', "")).unwrap();
    let minor = if s.currency == "JPY" {
        Decimal::ONE
    } else {
        Decimal::new(1, 2)
    };
    // A firing is the pool, the cause and the instant; a group's outcome is set apart
    // from another one at the same instant by the `group` effect that starts it.
    let mut firings: BTreeMap<(u64, String, String, String), Firing> = BTreeMap::new();
    let mut outcome = 0u64;
    for x in &out.effects {
        let v: Json = serde_json::to_value(x).unwrap();
        let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
        match text("kind").as_str() {
            "group" if matches!(text("change").as_str(), "filled" | "expired") => outcome += 1,
            kind @ ("grant" | "deny") => {
                let cause = text("cause");
                let key = (
                    if cause.starts_with("group:") {
                        outcome
                    } else {
                        0
                    },
                    text("reward"),
                    cause.clone(),
                    text("at"),
                );
                let f = firings.entry(key).or_default();
                f.cause = cause;
                if kind == "grant" {
                    prop_assert!(
                        v["value"].is_string(),
                        "a pool's grant without a value: {v}"
                    );
                    f.shares.push(money(&text("value"), s.currency));
                } else {
                    f.denied += 1;
                    reach.hit(
                        if text("reason") == "budget" {
                            "denied for budget"
                        } else {
                            "denied for per_user"
                        },
                        1,
                    );
                }
            }
            _ => {}
        }
    }
    for (key, f) in &firings {
        let n = f.shares.len() as u64 + f.denied;
        let paid: Decimal = f.shares.iter().sum();
        prop_assert!(paid <= amount, "{key:?} paid {paid} of {amount}");
        if let Some(first) = f.shares.first() {
            prop_assert!(
                f.shares.iter().all(|x| x == first),
                "{key:?}: unequal shares {:?}",
                f.shares
            );
            let n = Decimal::from(n);
            prop_assert!(*first * n <= amount, "{key:?}: {first} × {n} over {amount}");
            prop_assert!(
                amount - *first * n < minor * n,
                "{key:?}: {first} is not rounded down to the minor unit"
            );
        }
        if n > 1 {
            reach.hit("a firing of several", 1);
        }
        reach.hit(
            match f.cause.split(':').next().unwrap_or("") {
                "raffle" => "raffle round",
                "group" => "group outcome",
                "enter" => "on enter",
                _ => "at",
            },
            1,
        );
    }
    let report = serde_json::to_value(e.report(&state)).unwrap();
    let spend = money(report["spend"].as_str().unwrap_or("0"), s.currency);
    prop_assert!(
        spend <= Decimal::from(s.budget),
        "spend {spend} over {}",
        s.budget
    );
    let paid: Decimal = firings.values().flat_map(|f| f.shares.iter()).sum();
    prop_assert_eq!(spend, paid, "spend is the shares paid");
    Ok(())
}

#[test]
fn a_firing_never_pays_more_than_its_pool_and_spend_stays_in_the_budget() {
    let reach = common::Reach::run(128, &(shape(), stream()), |(s, raw), reach| {
        check(&s, &raw, reach)
    });
    reach.assert_each(
        &[
            "raffle round",
            "group outcome",
            "on enter",
            "at",
            "a firing of several",
            "denied for budget",
            "denied for per_user",
        ],
        20,
    );
}
