//! Properties of the social rules over random streams of grants, uses, gifts, revokes,
//! group opens and joins, and raffle rounds: nothing exceeds stock, `per_user` or the
//! budget at any moment; every reward's holdings add up to grants less uses and
//! revokes; a group never has more than `size` members and ends exactly once; nobody
//! wins a raffle twice. The run also counts how often each rule was reached, so a
//! generator that never reaches a rule fails the test instead of passing it vacuously.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;
use camp_engine::input::{EventLine, UserLine};
use camp_engine::replay::{self, Until};
use camp_engine::Engine;
use proptest::prelude::*;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const CAMPAIGN: &str = r#"
campaign social {
  timezone "UTC"
  start    2027-01-01T00:00
  locales  en
  budget   50 CNY
  audience user.ok
}
user {
  nickname: string
  ok:       bool
}
event draw {}
event gift { friend: user }
event refund {}
event spend {}
event opened { key: string }
event joined { key: string }
reward card  = item "Card" { cost 5 CNY  stock 6  per_user 2 }
reward pts   = points 10
reward prize = item "Prize" { cost 10 CNY  stock 3 }
group team {
  size   3
  within 8h
  filled  => grant pts
  expired => grant pts to opener
}
phase p for 1d {
  task get { on draw  grant card  grant pts }
  task give_card { on gift  give card to event.friend }
  task give_pts { on gift  give 5 points to event.friend }
  task back { on refund  revoke card 1  revoke 15 points }
  task use_card { on spend  use card }
  task open_team { on opened  open team by event.key }
  task join_team { on joined  join team by event.key }
  raffle lucky at 2027-01-01T06:00, 2027-01-01T12:00, 2027-01-01T18:00 pick 2 => grant prize
}
"#;

const USERS: [&str; 6] = ["a", "b", "c", "d", "e", "x"];

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| common::engine(CAMPAIGN))
}

fn users() -> Vec<UserLine> {
    USERS
        .iter()
        .map(|id| {
            let ok = *id != "x";
            serde_json::from_str(&format!(
                r#"{{"id":"{id}","attrs":{{"nickname":"N{id}","ok":{ok}}}}}"#
            ))
            .unwrap()
        })
        .collect()
}

/// (kind, user, friend or key, minutes after the start); joins are three kinds in
/// eight, so groups fill often enough.
fn stream() -> impl Strategy<Value = Vec<(u8, usize, usize, u32)>> {
    prop::collection::vec((0u8..8, 0usize..6, 0usize..6, 0u32..1440), 1..80)
}

fn events(raw: &[(u8, usize, usize, u32)]) -> Vec<EventLine> {
    let mut raw = raw.to_vec();
    raw.sort_by_key(|r| r.3);
    raw.iter()
        .enumerate()
        .map(|(i, &(k, u, f, m))| {
            let (kind, data) = match k {
                0 => ("draw", "{}".to_string()),
                1 => ("gift", format!(r#"{{"friend":"{}"}}"#, USERS[f])),
                2 => ("refund", "{}".to_string()),
                3 => ("spend", "{}".to_string()),
                4 => ("opened", format!(r#"{{"key":"k{}"}}"#, f % 2)),
                _ => ("joined", format!(r#"{{"key":"k{}"}}"#, f % 2)),
            };
            let at = format!("2027-01-01T{:02}:{:02}:00Z", m / 60, m % 60);
            common::ev(&format!("e{i}"), kind, USERS[u], &at, &data)
        })
        .collect()
}

fn check(raw: &[(u8, usize, usize, u32)], reach: &mut common::Reach) -> Result<(), TestCaseError> {
    let e = engine();
    let mut state = e.start();
    for u in users() {
        e.user(&mut state, &u).unwrap();
    }
    let out = replay::run_events(e, &mut state, &events(raw), Until::End);
    let lines: Vec<Json> = out
        .effects
        .iter()
        .map(|x| serde_json::to_value(x).unwrap())
        .collect();
    let s = |v: &Json, k: &str| v[k].as_str().unwrap_or("").to_string();
    let n = |v: &Json| v["count"].as_u64().unwrap_or(0);

    // Stock, per_user and holdings of `card`, effect by effect.
    let (mut out_now, mut grants, mut uses, mut revokes) = (0i64, 0u64, 0u64, 0u64);
    let mut received: BTreeMap<String, i64> = BTreeMap::new();
    let mut groups: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    let mut winners = BTreeSet::new();
    for v in &lines {
        let kind = s(v, "kind");
        let card = v["reward"] == "card";
        match kind.as_str() {
            "grant" if card => {
                grants += 1;
                out_now += 1;
                *received.entry(s(v, "user")).or_default() += 1;
            }
            "use" if card => uses += n(v),
            "give" if card => *received.entry(s(v, "to")).or_default() += n(v) as i64,
            "revoke" if card => {
                revokes += n(v);
                out_now -= n(v) as i64;
                *received.entry(s(v, "user")).or_default() -= n(v) as i64;
            }
            "grant" if s(v, "cause") == "raffle:lucky" => {
                prop_assert!(winners.insert(s(v, "user")), "{} won twice", s(v, "user"));
                reach.hit("raffle winner", 1);
            }
            "group" => {
                let g = groups.entry(s(v, "key")).or_default();
                match s(v, "change").as_str() {
                    "open" => {
                        prop_assert_eq!(g.0, 0usize, "a key opened twice");
                        *g = (1, 0);
                    }
                    "join" => {
                        prop_assert_eq!(g.1, 0u32, "a join after the end");
                        g.0 += 1;
                        prop_assert!(g.0 <= 3, "more members than the size");
                        reach.hit("join", 1);
                    }
                    change => {
                        g.1 += 1;
                        prop_assert_eq!(g.1, 1u32, "a group ended twice");
                        reach.hit(
                            if change == "filled" {
                                "filled"
                            } else {
                                "expired"
                            },
                            1,
                        );
                    }
                }
            }
            _ => {}
        }
        match kind.as_str() {
            "use" => reach.hit("use", 1),
            "give" => reach.hit("give", 1),
            "revoke" => reach.hit("revoke", 1),
            "deny" => reach.hit(
                if v["reason"] == "per_user" {
                    "deny per_user"
                } else {
                    "deny other"
                },
                1,
            ),
            _ => {}
        }
        prop_assert!(out_now <= 6, "over stock");
        for (u, r) in &received {
            prop_assert!(*r <= 2, "{u} over per_user");
        }
    }
    // Every group opened ended by the campaign's end, exactly once.
    for (key, (_, ends)) in &groups {
        prop_assert_eq!(*ends, 1u32, "group {} ended {} times", key, ends);
    }
    // Holdings add up: grants − uses − revokes (gifts only move units).
    let held: u64 = USERS
        .iter()
        .filter_map(|u| e.participant(&state, u))
        .map(|p| p.rewards.get("card").and_then(Json::as_u64).unwrap_or(0))
        .sum();
    prop_assert_eq!(held, grants - uses - revokes);
    // Points never below zero, `earned` never below zero.
    for u in USERS {
        if let Some(p) = e.participant(&state, u) {
            prop_assert!(
                p.points >= 0 && p.earned >= 0,
                "{u}: {} {}",
                p.points,
                p.earned
            );
        }
    }
    // The budget holds.
    let report = serde_json::to_value(e.report(&state)).unwrap();
    let spend: f64 = s(&report, "spend")
        .trim_end_matches(" CNY")
        .parse()
        .unwrap();
    prop_assert!(spend <= 50.0, "spend {spend}");
    Ok(())
}

#[test]
fn gifts_revokes_groups_and_raffles_keep_every_bound() {
    let reach = common::Reach::run(256, &stream(), |raw, reach| check(&raw, reach));
    reach.assert_each(
        &[
            "use",
            "give",
            "revoke",
            "join",
            "filled",
            "expired",
            "raffle winner",
            "deny per_user",
        ],
        20,
    );
}
