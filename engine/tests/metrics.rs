//! The metrics of language §12 (filtered `count`/`unique`/`sum`, `repeat`,
//! `returning`, `nps`, `completions`, `sent`) and KPIs `by holdout`, computed by hand on
//! small campaigns compiled from source.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;

use camp_engine::input::{EventLine, UserLine};
use camp_engine::replay::{self, Until};
use camp_engine::state::{Standing, State};
use camp_engine::Engine;
use common::*;
use rust_decimal::Decimal;
use serde_json::{json, Value as Json};
use std::str::FromStr;

const SHOP: &str = r#"
campaign shop {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  locales  en
  budget   10_000 CNY
}
user { region: string }
event purchase { amount: money }
event checkin {}
event survey { score: int }
reward stamp = points 1
message thanks via push { en "thanks" }
phase main for 14d {
  task buy {
    on purchase
    limit 2 per user
    grant stamp
    send thanks
  }
  task visit { on checkin }
  task answer { on survey }
}
kpi big        = count(purchase where event.amount >= 100 CNY)   target >= 1
kpi cn_buyers  = unique(purchase where user.region == "CN")      target >= 1
kpi cn_sales   = sum(purchase.amount where user.region == "CN")  target >= 1 CNY
kpi repurchase = repeat(purchase) / unique(purchase)              target >= 30%
kpi retention  = returning(checkin, 7d) / participants            target >= 25%
kpi score      = nps(survey.score)                                target >= 30
kpi bought     = completions(buy)                                 target >= 1
kpi reached    = sent(thanks)                                     target >= 1
kpi buyers     = unique(purchase)                                 target >= 1
"#;

fn run_state(e: &Engine, users: &[UserLine], events: &[EventLine]) -> State {
    let mut state = e.start();
    for u in users {
        e.user(&mut state, u).unwrap();
    }
    replay::run_events(e, &mut state, events, Until::End);
    state
}

fn kpi(e: &Engine, state: &State, name: &str) -> Json {
    let r = e.kpis(state);
    let k = r.iter().find(|k| k.name == name).unwrap();
    serde_json::to_value(k).unwrap()
}

fn value(e: &Engine, state: &State, name: &str) -> Json {
    kpi(e, state, name)["value"].clone()
}

const D1: &str = "2027-03-01T10:00:00+08:00";
const D2: &str = "2027-03-02T10:00:00+08:00";
const D8: &str = "2027-03-08T10:00:00+08:00";
const D9: &str = "2027-03-09T10:00:00+08:00";

fn shop_users() -> Vec<UserLine> {
    users(&[
        r#"{"id":"a","attrs":{"region":"CN"}}"#,
        r#"{"id":"b","attrs":{"region":"SG"}}"#,
        r#"{"id":"c","attrs":{"region":"CN"}}"#,
        r#"{"id":"d","attrs":{"region":"SG"}}"#,
    ])
}

fn shop_events() -> Vec<EventLine> {
    vec![
        // a (CN): three purchases (150, 20, 300); the task counts two of them.
        ev("a1", "purchase", "a", D1, r#"{"amount":"150 CNY"}"#),
        ev("a2", "purchase", "a", D2, r#"{"amount":"20 CNY"}"#),
        ev("a3", "purchase", "a", D8, r#"{"amount":"300 CNY"}"#),
        // b (SG): one purchase of 100, a check-in on day 1 (enrolls) and on day 9.
        ev("b1", "purchase", "b", D1, r#"{"amount":"100 CNY"}"#),
        ev("b2", "checkin", "b", D2, "{}"),
        ev("b3", "checkin", "b", D9, "{}"),
        // c (CN): enrolls by checking in on day 2, back on day 8 (six days: too soon).
        ev("c1", "checkin", "c", D2, "{}"),
        ev("c2", "checkin", "c", D8, "{}"),
        // Survey answers: a 10 then 6 (latest: detractor), b 9 (promoter), c 8
        // (passive), d 3 then 10 (latest: promoter), one answer out of range (ignored).
        ev("s1", "survey", "a", D1, r#"{"score":10}"#),
        ev("s2", "survey", "a", D2, r#"{"score":6}"#),
        ev("s3", "survey", "b", D2, r#"{"score":9}"#),
        ev("s4", "survey", "c", D2, r#"{"score":8}"#),
        ev("s5", "survey", "d", D2, r#"{"score":3}"#),
        ev("s6", "survey", "d", D8, r#"{"score":10}"#),
        ev("s7", "survey", "c", D9, r#"{"score":11}"#),
    ]
}

#[test]
fn every_new_metric_counts_what_it_says() {
    let e = engine(SHOP);
    let state = run_state(&e, &shop_users(), &shop_events());
    // Purchases of 100 CNY or more: a1 (150), a3 (300), b1 (100).
    assert_eq!(value(&e, &state, "big"), json!(3));
    // Buyers from CN: a only.
    assert_eq!(value(&e, &state, "cn_buyers"), json!(1));
    // CN purchases add up: 150 + 20 + 300.
    assert_eq!(value(&e, &state, "cn_sales"), json!("470 CNY"));
    // Two buyers (a, b); a bought three times: one repeater of two buyers.
    assert_eq!(value(&e, &state, "repurchase"), json!(0.5));
    // Participants: a, b, c, d (every event enrolls through its task). Returning seven
    // days after enrolling: b enrolled on day 1 with b1 and checked in on day 9; c
    // enrolled on day 2 and came back on day 8 (six days). One of four.
    assert_eq!(value(&e, &state, "retention"), json!(0.25));
    // Latest answers: a 6 (detractor), b 9 (promoter), c 8 (passive; 11 ignored),
    // d 10 (promoter): (2 − 1) / 4 = 25.
    assert_eq!(value(&e, &state, "score"), json!(25));
    // The task counts a's first two purchases and b's: three completions, three sends.
    assert_eq!(value(&e, &state, "bought"), json!(3));
    assert_eq!(value(&e, &state, "reached"), json!(3));
    assert_eq!(value(&e, &state, "buyers"), json!(2));
}

#[test]
fn metrics_keep_per_user_facts_only_when_the_plan_needs_them() {
    // A plain metric keeps nothing per user: the users are exactly those of the same
    // campaign without KPIs. The filtered, repeat, returning and nps metrics keep a
    // fact per user who needs one.
    let without = |keep: &dyn Fn(&str) -> bool| {
        SHOP.lines()
            .filter(|l| !l.starts_with("kpi ") || keep(l))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let none = engine(&without(&|_| false));
    let plain = engine(&without(&|l| l.contains("kpi buyers")));
    let full = engine(SHOP);
    assert!(plain.plan().measures.is_empty());
    // What each user keeps besides their rules' state: the packed counters.
    let users_of = |e: &Engine| {
        let s = run_state(e, &shop_users(), &shop_events());
        let v = serde_json::to_value(&s).unwrap();
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["counters"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(users_of(&none), users_of(&plain));
    assert_ne!(users_of(&none), users_of(&full));
    let lean = run_state(&plain, &shop_users(), &shop_events());
    let rich = run_state(&full, &shop_users(), &shop_events());
    assert_eq!(
        value(&plain, &lean, "buyers"),
        value(&full, &rich, "buyers"),
        "the plain metric is the same either way"
    );
}

const HOLDOUT: &str = r#"
campaign lift {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  locales  en
  holdout  40%
}
event purchase { amount: int }
reward stamp = points 1
phase main for 14d {
  task buy { on purchase  grant stamp }
}
kpi lift     = unique(purchase) / audience target >= 10%  by holdout
kpi per_head = count(purchase) / audience  target >= 0.5  by holdout
kpi spent    = sum(purchase.amount) / audience target >= 1 by holdout
kpi buyers   = unique(purchase)            target >= 1    by holdout
"#;

fn holdout_users(n: usize) -> Vec<UserLine> {
    let lines: Vec<String> = (0..n).map(|i| format!(r#"{{"id":"u{i}"}}"#)).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    users(&refs)
}

/// Purchases: user i buys i % 3 times, each for i + 1.
fn holdout_events(n: usize) -> Vec<EventLine> {
    let mut out = Vec::new();
    for i in 0..n {
        for k in 0..(i % 3) {
            out.push(ev(
                &format!("p{i}-{k}"),
                "purchase",
                &format!("u{i}"),
                D1,
                &format!(r#"{{"amount":{}}}"#, i + 1),
            ));
        }
    }
    out
}

#[test]
fn by_holdout_reports_each_arm_and_the_tests_computed_by_hand() {
    let n = 40;
    let e = engine(HOLDOUT);
    let state = run_state(&e, &holdout_users(n), &holdout_events(n));
    // Which users are held out, and each user's purchases, by hand.
    let mut arms: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut sums: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for i in 0..n {
        let p = e.participant(&state, &format!("u{i}")).unwrap();
        let arm = usize::from(p.standing != Standing::Holdout);
        arms[arm].push((i % 3) as f64);
        sums[arm].push(((i % 3) * (i + 1)) as f64);
    }
    assert!(!arms[0].is_empty() && !arms[1].is_empty());
    let k = kpi(&e, &state, "lift");
    assert_eq!(k["by"], json!("holdout"));
    let buyers = |v: &[f64]| v.iter().filter(|&&x| x > 0.0).count();
    for (i, name) in ["holdout", "rest"].iter().enumerate() {
        let a = &k["arms"][i];
        assert_eq!(a["arm"], json!(name));
        assert_eq!(a["size"], json!(arms[i].len()));
        let want = Decimal::from(buyers(&arms[i]) as u64) / Decimal::from(arms[i].len() as u64);
        assert_eq!(
            Decimal::from_str(&a["value"].to_string()).unwrap(),
            want.round_dp(15),
            "{a}"
        );
    }
    // The z-test, by hand: rest − holdout, pooled SE for p, unpooled for the CI.
    let (n1, n2) = (arms[0].len() as f64, arms[1].len() as f64);
    let (x1, x2) = (buyers(&arms[0]) as f64, buyers(&arms[1]) as f64);
    let (p1, p2) = (x1 / n1, x2 / n2);
    let c = &k["comparisons"][0];
    assert_eq!(c["arm"], json!("rest"));
    assert_eq!(c["against"], json!("holdout"));
    assert_eq!(c["test"], json!("two_proportion_z"));
    let close = |a: &Json, b: f64| assert!((a.as_f64().unwrap() - b).abs() < 1e-12, "{a} vs {b}");
    close(&c["difference"], p2 - p1);
    let se = (p1 * (1. - p1) / n1 + p2 * (1. - p2) / n2).sqrt();
    close(&c["ci_high"], p2 - p1 + 1.959963984540054 * se);
    assert!(c["p_value"].as_f64().unwrap() > 0.0);

    // Welch's t-test on purchases per user, by hand (mean and sample variance).
    let k = kpi(&e, &state, "per_head");
    let c = &k["comparisons"][0];
    assert_eq!(c["test"], json!("welch_t"));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64]| {
        let m = mean(v);
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.)
    };
    close(&c["difference"], mean(&arms[1]) - mean(&arms[0]));
    let se = (var(&arms[0]) / n1 + var(&arms[1]) / n2).sqrt();
    let mid = (c["ci_low"].as_f64().unwrap() + c["ci_high"].as_f64().unwrap()) / 2.0;
    assert!((mid - (mean(&arms[1]) - mean(&arms[0]))).abs() < 1e-12);
    // The interval is wider than the normal one (t quantile > z quantile).
    assert!(c["ci_high"].as_f64().unwrap() - mid > 1.959963984540054 * se);

    // Sums per user: the mean test reads each user's total, not each purchase.
    let k = kpi(&e, &state, "spent");
    let c = &k["comparisons"][0];
    assert!((c["difference"].as_f64().unwrap() - (mean(&sums[1]) - mean(&sums[0]))).abs() < 1e-9);

    // A formula that is neither a share nor a mean is reported per arm, untested.
    let k = kpi(&e, &state, "buyers");
    assert_eq!(k["arms"][0]["value"], json!(buyers(&arms[0])));
    assert_eq!(k["arms"][1]["value"], json!(buyers(&arms[1])));
    assert!(k.get("comparisons").is_none());

    // The arm values are those of `kpi_value`, and add up to the whole.
    let total = e.kpi_value(&state, 3, None).unwrap();
    assert_eq!(
        total,
        camp_plan::Value::Int((buyers(&arms[0]) + buyers(&arms[1])) as i64)
    );
}

#[test]
fn by_holdout_arms_are_the_same_after_a_snapshot() {
    let n = 30;
    let e = engine(HOLDOUT);
    let events = holdout_events(n);
    let (first, second) = events.split_at(events.len() / 2);
    let mut state = e.start();
    for u in holdout_users(n) {
        e.user(&mut state, &u).unwrap();
    }
    replay::run_events(
        &e,
        &mut state,
        first,
        Until::At(t("2027-03-01T12:00:00+08:00")),
    );
    let text = serde_json::to_string(&state).unwrap();
    let mut restored = e.restore(serde_json::from_str(&text).unwrap()).unwrap();
    replay::run_events(&e, &mut restored, second, Until::End);
    let whole = run_state(&e, &holdout_users(n), &events);
    assert_eq!(
        serde_json::to_value(e.kpis(&whole)).unwrap(),
        serde_json::to_value(e.kpis(&restored)).unwrap()
    );
}

const EXPERIMENT: &str = r#"
campaign copy_test {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  locales  en
}
event purchase { amount: int }
event browse {}
event survey { score: int }
reward stamp = points 1
experiment copy {
  variants control 50%, bold 50%
}
phase main for 14d {
  task buy { on purchase  grant stamp }
}
kpi conversion = unique(purchase) / participants target >= 10% by copy
kpi orders     = count(purchase) / participants  target >= 0.5 by copy
kpi browsers   = unique(browse)                  target >= 1   by copy
kpi score      = nps(survey.score)               target >= 30  by copy
"#;

#[test]
fn by_experiment_arms_are_its_variants_over_participants() {
    let n = 40;
    let e = engine(EXPERIMENT);
    let lines: Vec<String> = (0..n).map(|i| format!(r#"{{"id":"u{i}"}}"#)).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut events = Vec::new();
    for i in 0..n {
        // Everyone browses first (before enrolling: no variant yet, so in no arm);
        // users i % 4 != 0 buy (the first purchase enrolls them), some twice.
        events.push(ev(&format!("b{i}"), "browse", &format!("u{i}"), D1, "{}"));
        events.push(ev(
            &format!("s{i}"),
            "survey",
            &format!("u{i}"),
            D1,
            r#"{"score":3}"#,
        ));
        for k in 0..(i % 4).min(2) {
            events.push(ev(
                &format!("p{i}-{k}"),
                "purchase",
                &format!("u{i}"),
                D2,
                r#"{"amount":1}"#,
            ));
        }
    }
    // After enrolling, even users browse again and everyone answers the survey again.
    for i in 0..n {
        if i % 2 == 0 {
            events.push(ev(&format!("c{i}"), "browse", &format!("u{i}"), D8, "{}"));
        }
        events.push(ev(
            &format!("t{i}"),
            "survey",
            &format!("u{i}"),
            D8,
            r#"{"score":10}"#,
        ));
    }
    let state = run_state(&e, &users(&refs), &events);
    let experiment = camp_plan::ExperimentId(0);
    // By hand: each participant's variant and purchases.
    let mut per: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut browsed = [0u64; 2];
    for i in 0..n {
        let u = state.find(&format!("u{i}")).unwrap();
        if let Some(v) = e.variant_of(&state, u, experiment) {
            per[v as usize].push((i % 4).min(2) as f64);
            browsed[v as usize] += u64::from(i % 2 == 0);
        }
    }
    assert!(per[0].len() > 5 && per[1].len() > 5, "{per:?}");
    let k = kpi(&e, &state, "conversion");
    assert_eq!(k["by"], json!("copy"));
    for (v, name) in ["control", "bold"].iter().enumerate() {
        let a = &k["arms"][v];
        assert_eq!(a["arm"], json!(name));
        // Every participant bought (the purchase enrolled them, after the assignment).
        assert_eq!(a["size"], json!(per[v].len()));
        assert_eq!(a["value"], json!(1));
    }
    let c = &k["comparisons"][0];
    assert_eq!(c["arm"], json!("bold"));
    assert_eq!(c["against"], json!("control"));
    // Both arms are 100%: no variation, no test.
    assert_eq!(c["p_value"], Json::Null);

    let k = kpi(&e, &state, "orders");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let c = &k["comparisons"][0];
    assert_eq!(c["test"], json!("welch_t"));
    assert!((c["difference"].as_f64().unwrap() - (mean(&per[1]) - mean(&per[0]))).abs() < 1e-12);

    // The first browse happened before anyone had a variant: counted, in no arm; a
    // participant who browses again counts in their arm from then on.
    let k = kpi(&e, &state, "browsers");
    assert_eq!(k["value"], json!(n));
    assert_eq!(k["arms"][0]["value"], json!(browsed[0]));
    assert_eq!(k["arms"][1]["value"], json!(browsed[1]));
    assert!(browsed[0] > 0 && browsed[1] > 0);

    // Everyone answered 3, then 10 (latest): the campaign's NPS is 100, and so is each
    // arm's, whose users answered 10 once they had a variant.
    let k = kpi(&e, &state, "score");
    assert_eq!(k["value"], json!(100));
    assert_eq!(k["arms"][0]["value"], json!(100));
    assert_eq!(k["arms"][1]["value"], json!(100));
}

const AMONG: &str = r#"
campaign among {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  locales  en
  holdout  40%
}
event purchase { amount: int }
event browse {}
reward stamp = points 1
message hello via push { en "hello" }
phase main for 14d {
  task buy { on purchase  grant stamp }
  send hello at 2027-03-09T12:00 to audience
}
kpi browsers   = unique(browse) / participants        target >= 10%
kpi browses    = count(browse) / participants         target >= 1
kpi repeaters  = repeat(browse) / participants        target >= 10%
kpi spend_each = sum(purchase.amount) / participants  target >= 1
kpi reached    = sent(hello) / participants           target >= 1
kpi big_share  = unique(purchase where event.amount >= 10) / (participants) target >= 10%
kpi looked     = unique(browse) / audience            target >= 10%
kpi all_looks  = count(browse)                        target >= 1
"#;

/// Over `participants`, a metric counts participants only (§12): what a holdout user
/// or a user not enrolled yet does counts nowhere, and a share of participants stays
/// at most 100%. The same metrics over the audience, or alone, count everyone.
#[test]
fn a_metric_over_participants_counts_what_participants_did() {
    let n = 40;
    let e = engine(AMONG);
    let users = holdout_users(n);
    // Everyone browses on day 1, before anyone enrolls; even users buy on day 2
    // (enrolling, unless held out), for i + 1; every fourth user browses twice more on
    // day 8, as a participant unless held out.
    let mut events = Vec::new();
    for i in 0..n {
        events.push(ev(&format!("b{i}"), "browse", &format!("u{i}"), D1, "{}"));
        if i % 2 == 0 {
            events.push(ev(
                &format!("p{i}"),
                "purchase",
                &format!("u{i}"),
                D2,
                &format!(r#"{{"amount":{}}}"#, i + 1),
            ));
        }
        if i % 4 == 0 {
            for k in 0..2 {
                events.push(ev(
                    &format!("b{i}-{k}"),
                    "browse",
                    &format!("u{i}"),
                    D8,
                    "{}",
                ));
            }
        }
    }
    let state = run_state(&e, &users, &events);
    let held =
        |i: usize| e.participant(&state, &format!("u{i}")).unwrap().standing == Standing::Holdout;
    let participants: Vec<usize> = (0..n).filter(|&i| i % 2 == 0 && !held(i)).collect();
    let back: Vec<usize> = participants
        .iter()
        .copied()
        .filter(|i| i % 4 == 0)
        .collect();
    let big: Vec<usize> = participants
        .iter()
        .copied()
        .filter(|i| i + 1 >= 10)
        .collect();
    assert!(!back.is_empty() && back.len() < participants.len());
    assert!((0..n).any(held), "someone is held out");
    let p = Decimal::from(participants.len() as u64);
    let ratio = |x: usize| (Decimal::from(x as u64) / p).normalize();
    let got = |name: &str| {
        let v = value(&e, &state, name);
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        Decimal::from_str(&text)
            .unwrap_or_else(|_| panic!("{name}: {v}"))
            .normalize()
    };
    // Day 1's browses came before enrolling; only the day-8 browses of participants count.
    assert_eq!(got("browsers"), ratio(back.len()));
    assert_eq!(got("browses"), ratio(2 * back.len()));
    assert_eq!(got("repeaters"), ratio(back.len()));
    // Held-out buyers' purchases count nowhere over participants.
    let spent: usize = participants.iter().map(|i| i + 1).sum();
    assert_eq!(got("spend_each"), ratio(spent));
    assert_eq!(got("big_share"), ratio(big.len()));
    // `hello` goes to the whole audience but the holdout; only participants' count.
    let sent = effects(&e, &users, &events, None)
        .iter()
        .filter(|l| l.contains(r#""kind":"send""#))
        .count();
    assert!(sent > participants.len(), "non-participants got it too");
    assert_eq!(got("reached"), Decimal::ONE);
    // Over the audience, and alone, everyone's events count.
    assert_eq!(got("looked"), Decimal::ONE);
    assert_eq!(got("all_looks"), Decimal::from((n + 2 * n / 4) as u64));
}
