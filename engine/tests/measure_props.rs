//! Properties of measures over arbitrary event streams: each KPI's running value equals
//! the same metric counted by brute force from what happened, event by event; a metric
//! divided by `participants` counts participants' events only, so a share of
//! participants never passes 100%; and the arms of an experiment add up to the whole.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;
use camp_engine::effect::Effect;
use camp_engine::input::{EventLine, UserLine};
use camp_engine::{Engine, Output, Verdict};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::OnceLock;

/// `browse` is counted by no task (a user who only browses never enrolls); `buy`
/// enrolls; a 30% holdout's events are accepted and count only over the audience.
const CAMPAIGN: &str = r#"
campaign measured {
  timezone "UTC"
  start    2027-01-01T00:00
  locales  en
  holdout  30%
}
event browse {}
event buy { amount: int }
experiment copy {
  variants a 50%, b 50%
}
reward stamp = points 1
phase main for 10d {
  task shop { on buy  grant stamp }
}
kpi browsers  = unique(browse) / participants            target >= 10% by copy
kpi browses   = count(browse) / participants             target >= 1   by copy
kpi repeaters = repeat(browse) / participants            target >= 10%
kpi big       = unique(buy where event.amount >= 5) / participants target >= 10%
kpi spent     = sum(buy.amount) / participants           target >= 1
kpi looked    = unique(browse) / audience                target >= 10%
kpi looks     = count(browse)                            target >= 1
"#;

const USERS: usize = 12;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| common::engine(CAMPAIGN))
}

/// An event: (user, buy with this amount or browse, hour from the start).
type Ev = (usize, Option<i64>, u32);

fn stream() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec(
        (
            0..USERS,
            prop_oneof![2 => Just(None), 1 => (0i64..10).prop_map(Some)],
            0u32..200,
        ),
        0..40,
    )
    .prop_map(|mut v| {
        v.sort_by_key(|e| e.2);
        v
    })
}

fn decimal(v: &serde_json::Value) -> Option<Decimal> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Decimal::from_str(s).ok(),
        other => Decimal::from_str(&other.to_string()).ok(),
    }
}

fn ratio(n: usize, of: usize) -> Option<Decimal> {
    (of > 0).then(|| (Decimal::from(n as u64) / Decimal::from(of as u64)).normalize())
}

fn check(events: &[Ev], reach: &mut common::Reach) -> Result<(), TestCaseError> {
    let e = engine();
    let mut state = e.start();
    for u in 0..USERS {
        let line: UserLine = serde_json::from_str(&format!(r#"{{"id":"u{u}"}}"#)).unwrap();
        e.user(&mut state, &line).unwrap();
    }
    // By brute force, event by event: who is a participant (an `enroll` effect, the
    // enrolling event's own included), and what each user did as one and at all.
    let mut participant: BTreeSet<String> = BTreeSet::new();
    let mut variant: BTreeMap<String, String> = BTreeMap::new();
    let mut browses_as: BTreeMap<String, usize> = BTreeMap::new();
    let mut browsed_at_all: BTreeSet<String> = BTreeSet::new();
    let mut all_browses = 0usize;
    let mut big_buyers: BTreeSet<String> = BTreeSet::new();
    let mut spent = 0i64;
    let mut out = Output::default();
    for (i, (u, buy, hour)) in events.iter().enumerate() {
        let user = format!("u{u}");
        let at = common::t("2027-01-01T00:00:00Z") + chrono::Duration::hours(i64::from(*hour));
        let line: EventLine = serde_json::from_str(&match buy {
            Some(amount) => format!(
                r#"{{"id":"e{i}","type":"buy","user":"{user}","at":"{}","data":{{"amount":{amount}}}}}"#,
                at.to_rfc3339()
            ),
            None => format!(
                r#"{{"id":"e{i}","type":"browse","user":"{user}","at":"{}","data":{{}}}}"#,
                at.to_rfc3339()
            ),
        })
        .unwrap();
        out.effects.clear();
        let verdict = e.event(&mut state, &line, at, &mut out);
        for x in &out.effects {
            match x {
                Effect::Enroll { user, .. } => {
                    participant.insert(user.to_string());
                }
                Effect::Assign {
                    user, variant: v, ..
                } => {
                    variant.insert(user.to_string(), v.to_string());
                }
                _ => {}
            }
        }
        if verdict != Verdict::Accepted {
            continue;
        }
        let member = participant.contains(&user);
        let held = e
            .participant(&state, &user)
            .is_some_and(|p| p.standing == camp_engine::state::Standing::Holdout);
        match buy {
            None => {
                all_browses += 1;
                browsed_at_all.insert(user.clone());
                if member {
                    *browses_as.entry(user.clone()).or_default() += 1;
                    reach.hit("browse as a participant", 1);
                } else if held {
                    reach.hit("browse by the holdout", 1);
                } else {
                    reach.hit("browse before enrolling", 1);
                }
            }
            Some(amount) => {
                if member {
                    spent += amount;
                    if *amount >= 5 {
                        big_buyers.insert(user.clone());
                    }
                } else {
                    reach.hit("buy by the holdout", 1);
                }
            }
        }
    }
    // Participants counted who had browsed before enrolling (before their first buy:
    // only a buy enrolls), which counted nowhere over participants.
    let browsed_before_and_after = browses_as
        .keys()
        .filter(|u| {
            let mine = events.iter().filter(|(x, _, _)| format!("u{x}") == **u);
            mine.take_while(|(_, b, _)| b.is_none()).count() > 0
        })
        .count();
    reach.hit(
        "counted after browsing before enrolling",
        browsed_before_and_after as u64,
    );

    let p = participant.len();
    let kpis = e.kpis(&state);
    let get = |name: &str| {
        let k = kpis.iter().find(|k| k.name == name).unwrap();
        serde_json::to_value(k).unwrap()
    };
    let value = |name: &str| decimal(&get(name)["value"]);
    let repeaters = browses_as.values().filter(|&&n| n >= 2).count();
    prop_assert_eq!(value("browsers"), ratio(browses_as.len(), p));
    prop_assert_eq!(value("browses"), ratio(browses_as.values().sum(), p));
    prop_assert_eq!(value("repeaters"), ratio(repeaters, p));
    prop_assert_eq!(value("big"), ratio(big_buyers.len(), p));
    prop_assert_eq!(
        value("spent"),
        (p > 0).then(|| (Decimal::from(spent) / Decimal::from(p as u64)).normalize())
    );
    prop_assert_eq!(value("looked"), ratio(browsed_at_all.len(), USERS));
    prop_assert_eq!(value("looks"), Some(Decimal::from(all_browses as u64)));
    // A share of participants never passes 100%.
    for name in ["browsers", "repeaters", "big"] {
        if let Some(v) = value(name) {
            prop_assert!(v <= Decimal::ONE, "{name} = {v}");
        }
    }
    // Each arm of `copy` counts its variant's participants, and the arms add up.
    let k = get("browsers");
    let mut sizes = 0;
    for arm in k["arms"].as_array().unwrap() {
        let name = arm["arm"].as_str().unwrap();
        let members: Vec<&String> = variant
            .iter()
            .filter(|(_, v)| v.as_str() == name)
            .map(|(u, _)| u)
            .collect();
        prop_assert_eq!(arm["size"].as_u64().unwrap() as usize, members.len());
        sizes += members.len();
        let browsers = members
            .iter()
            .filter(|u| browses_as.contains_key(**u))
            .count();
        prop_assert_eq!(decimal(&arm["value"]), ratio(browsers, members.len()));
        if browsers > 0 {
            reach.hit("arm value", 1);
        }
    }
    prop_assert_eq!(sizes, p);
    Ok(())
}

#[test]
fn measures_equal_a_count_by_brute_force() {
    let reach = common::Reach::run(256, &stream(), |events, reach| check(&events, reach));
    reach.assert_each(
        &[
            "browse as a participant",
            "browse by the holdout",
            "browse before enrolling",
            "buy by the holdout",
            "counted after browsing before enrolling",
            "arm value",
        ],
        20,
    );
}
