//! `stock N per day` (language §3): at most N granted per local calendar day, on top of
//! any total stock; running out is a `deny` for `stock`; a revoke returns total stock,
//! never a day's. A property test holds every local day to its stock.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;
use common::{count, engine, ev, run, users};
use proptest::prelude::*;
use std::collections::HashMap;

const HEAD: &str = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   1_000 CNY
}
event claim {}
event refund {}
"#;

fn campaign(body: &str) -> camp_engine::Engine {
    engine(&format!("{HEAD}\n{body}"))
}

fn people(n: usize) -> Vec<camp_engine::input::UserLine> {
    let lines: Vec<String> = (0..n).map(|i| format!(r#"{{"id":"u{i}"}}"#)).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    users(&refs)
}

const FLASH: &str = "reward flash = coupon { value 5 CNY  stock 2 per day }\nphase main for 3d {\n  task t {\n    on claim\n    grant flash\n  }\n}";

#[test]
fn a_daily_stock_denies_the_rest_of_the_local_day_and_refills_the_next() {
    let e = campaign(FLASH);
    let out = run(
        &e,
        &people(1),
        &[
            ev("a", "claim", "u0", "2027-01-20T09:00:00+08:00", "{}"),
            ev("b", "claim", "u0", "2027-01-20T12:00:00+08:00", "{}"),
            ev("c", "claim", "u0", "2027-01-20T23:59:00+08:00", "{}"),
            // 00:10 local is the next day, though still the 20th in UTC.
            ev("d", "claim", "u0", "2027-01-21T00:10:00+08:00", "{}"),
        ],
        None,
    );
    assert_eq!(count(&out, &[r#""kind":"grant""#]), 3);
    assert_eq!(count(&out, &[r#""kind":"deny""#, r#""reason":"stock""#]), 1);
    assert_eq!(
        count(&out, &[r#""kind":"deny""#, "2027-01-20T15:59:00Z"]),
        1
    );
    assert_eq!(
        count(&out, &[r#""kind":"grant""#, "2027-01-20T16:10:00Z"]),
        1
    );
}

#[test]
fn the_total_stock_still_applies_across_days() {
    let e = campaign("reward flash = coupon { value 5 CNY  stock 3  stock 2 per day }\nphase main for 3d {\n  task t {\n    on claim\n    grant flash\n  }\n}");
    let out = run(
        &e,
        &people(1),
        &[
            ev("a", "claim", "u0", "2027-01-20T09:00:00+08:00", "{}"),
            ev("b", "claim", "u0", "2027-01-20T10:00:00+08:00", "{}"),
            ev("c", "claim", "u0", "2027-01-21T09:00:00+08:00", "{}"),
            ev("d", "claim", "u0", "2027-01-21T10:00:00+08:00", "{}"),
        ],
        None,
    );
    assert_eq!(count(&out, &[r#""kind":"grant""#]), 3);
    // The third day's stock is there, the total is not.
    assert_eq!(count(&out, &[r#""reason":"stock""#]), 1);
    assert_eq!(
        count(&out, &[r#""reason":"stock""#, "2027-01-21T02:00:00Z"]),
        1
    );
}

#[test]
fn per_user_is_checked_before_the_daily_stock() {
    let e = campaign("reward flash = coupon { value 5 CNY  stock 1 per day  per_user 1 }\nphase main for 3d {\n  task t {\n    on claim\n    grant flash\n  }\n}");
    let out = run(
        &e,
        &people(2),
        &[
            ev("a", "claim", "u0", "2027-01-20T09:00:00+08:00", "{}"),
            ev("b", "claim", "u0", "2027-01-20T10:00:00+08:00", "{}"),
            ev("c", "claim", "u1", "2027-01-20T11:00:00+08:00", "{}"),
        ],
        None,
    );
    assert_eq!(
        count(&out, &[r#""reason":"per_user""#, r#""user":"u0""#]),
        1
    );
    assert_eq!(count(&out, &[r#""reason":"stock""#, r#""user":"u1""#]), 1);
}

#[test]
fn a_revoke_returns_total_stock_but_not_the_days() {
    let e = campaign("reward flash = coupon { value 5 CNY  stock 2  stock 1 per day }\nphase main for 3d {\n  task t {\n    on claim\n    grant flash\n  }\n  task r {\n    on refund\n    revoke flash\n  }\n}");
    let out = run(
        &e,
        &people(1),
        &[
            ev("a", "claim", "u0", "2027-01-20T09:00:00+08:00", "{}"),
            ev("r1", "refund", "u0", "2027-01-20T10:00:00+08:00", "{}"),
            // The day's one is used, though revoked.
            ev("b", "claim", "u0", "2027-01-20T11:00:00+08:00", "{}"),
            ev("c", "claim", "u0", "2027-01-21T09:00:00+08:00", "{}"),
            ev("r2", "refund", "u0", "2027-01-21T10:00:00+08:00", "{}"),
            // Both revoked: the total stock of 2 has room again on a new day.
            ev("d", "claim", "u0", "2027-01-22T09:00:00+08:00", "{}"),
        ],
        None,
    );
    assert_eq!(count(&out, &[r#""kind":"grant""#]), 3);
    assert_eq!(count(&out, &[r#""kind":"deny""#]), 1);
    assert_eq!(
        count(&out, &[r#""reason":"stock""#, "2027-01-20T03:00:00Z"]),
        1
    );
}

#[test]
fn the_report_shows_what_is_left_of_today() {
    let e = campaign(FLASH);
    let mut state = e.start();
    for u in people(1) {
        e.user(&mut state, &u).unwrap();
    }
    let evs = [ev("a", "claim", "u0", "2027-01-20T09:00:00+08:00", "{}")];
    camp_engine::replay::run_events(
        &e,
        &mut state,
        &evs,
        camp_engine::replay::Until::At(common::t("2027-01-20T10:00:00+08:00")),
    );
    let flash = e.rewards(&state).into_iter().next().unwrap();
    assert_eq!(flash.stock_per_day, Some(2));
    assert_eq!(flash.stock_left_today, Some(1));
    assert_eq!(flash.stock_left, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// However claims fall over the days, no local day grants more than its stock.
    #[test]
    fn no_local_day_exceeds_its_stock(raw in proptest::collection::vec((0u32..4, 0i64..(3 * 24 * 60)), 0..60)) {
        let e = campaign(FLASH);
        let mut evs: Vec<(i64, String, String)> = raw
            .iter()
            .enumerate()
            .map(|(i, (u, m))| (*m, format!("e{i}"), format!("u{u}")))
            .collect();
        evs.sort();
        let start = common::t("2027-01-20T00:00:00+08:00");
        let lines: Vec<_> = evs
            .iter()
            .map(|(m, id, u)| ev(id, "claim", u, &(start + chrono::Duration::minutes(*m)).to_rfc3339(), "{}"))
            .collect();
        let out = run(&e, &people(4), &lines, None);
        let mut per_day: HashMap<String, u64> = HashMap::new();
        for l in out.iter().filter(|l| l.contains(r#""kind":"grant""#)) {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let at = common::t(v["at"].as_str().unwrap());
            let local = at.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
            *per_day.entry(local.to_string()).or_default() += 1;
        }
        for (day, n) in per_day {
            prop_assert!(n <= 2, "{n} granted on {day}");
        }
    }
}
