//! Properties of timers over random check-ins, clock ticks and restarts: per-participant
//! timers (`D after enroll|TASK`) fire at most once per participant, an inactivity send
//! at most once per spell (a counted completion between two of them), a dated grant at
//! most once per member, a periodic board's award once per period end — and a run that
//! ticks the clock at random instants and goes through a snapshot (serialize, restore)
//! at random points, as the daemon does, gives exactly the effects of a plain replay.
//! The run counts how often each rule was reached, so a generator that never reaches a
//! rule fails the test instead of passing it vacuously.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;
use camp_engine::input::{EventLine, UserLine};
use camp_engine::replay::{self, Until};
use camp_engine::{Engine, Output};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const CAMPAIGN: &str = r#"
campaign timers {
  timezone "UTC"
  start    2027-01-04T00:00
  locales  en
  enroll   audience
}
user {
  nickname: string
}
event checkin {}
reward point  = points 1
reward hamper = item "Hamper" { stock 100 }
reward gift   = badge "Gift"
message welcome via push {
  en "Welcome {{ user.nickname }}."
}
message follow_up via push {
  en "Two days since your first check-in."
}
message miss_you via push {
  en "We miss you."
}
phase season for 21d {
  task check {
    on checkin
    limit 1 per day
    grant point
  }
  send welcome 1d after enroll
  send follow_up 2d after check
  send miss_you after 3d inactive
  grant gift at 2027-01-06T12:00
  leaderboard weekly {
    score count(check)
    show top 1
    every 7d
  }
  award weekly rank 1 => grant hamper
}
"#;

const USERS: [&str; 4] = ["a", "b", "c", "d"];
/// The season's length in hours, and its start.
const HOURS: u32 = 21 * 24;

fn start() -> DateTime<Utc> {
    common::t("2027-01-04T00:00:00Z")
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| common::engine(CAMPAIGN))
}

fn users() -> Vec<UserLine> {
    USERS
        .iter()
        .map(|id| {
            serde_json::from_str(&format!(
                r#"{{"id":"{id}","attrs":{{"nickname":"N{id}"}}}}"#
            ))
            .unwrap()
        })
        .collect()
}

/// Check-ins (user, hour) — a few users check in often, so spells of inactivity both
/// end and start again — and (hour, restart?) clock ticks between them.
type Input = (Vec<(usize, u32)>, Vec<(u32, bool)>);

fn input() -> impl Strategy<Value = Input> {
    (
        prop::collection::vec((0usize..4, 0u32..HOURS + 48), 0..40),
        prop::collection::vec((0u32..HOURS + 72, any::<bool>()), 0..12),
    )
}

fn events(raw: &[(usize, u32)]) -> Vec<EventLine> {
    let mut raw = raw.to_vec();
    raw.sort_by_key(|r| r.1);
    raw.iter()
        .enumerate()
        .map(|(i, &(u, h))| {
            let at = (start() + Duration::hours(i64::from(h)) + Duration::minutes(i as i64))
                .to_rfc3339();
            common::ev(&format!("e{i}"), "checkin", USERS[u], &at, "{}")
        })
        .collect()
}

/// The daemon's way: the clock ticks at the given hours between events, and at some
/// ticks the state goes through a snapshot and is restored.
fn ticked(
    e: &Engine,
    events: &[EventLine],
    ticks: &[(u32, bool)],
    reach: &mut common::Reach,
) -> Output {
    let mut state = e.start();
    for u in users() {
        e.user(&mut state, &u).unwrap();
    }
    let mut ticks: Vec<(DateTime<Utc>, bool)> = ticks
        .iter()
        .map(|&(h, r)| {
            (
                start() - Duration::hours(24) + Duration::hours(i64::from(h)),
                r,
            )
        })
        .collect();
    ticks.sort();
    let mut ticks = ticks.into_iter().peekable();
    let mut out = Output::default();
    let end = start() + Duration::hours(i64::from(HOURS) + 96);
    let calendar = e.calendar();
    let mut tick_until =
        |state: &mut camp_engine::state::State, out: &mut Output, limit: DateTime<Utc>| {
            while let Some((t, restart)) = ticks.next_if(|(t, _)| *t <= limit) {
                e.advance(state, t, out);
                if restart {
                    let bytes = serde_json::to_vec(&*state).unwrap();
                    *state = e.restore(serde_json::from_slice(&bytes).unwrap()).unwrap();
                    reach.hit("restart", 1);
                }
            }
        };
    for ev in events {
        let at = calendar.resolve(ev.at);
        tick_until(&mut state, &mut out, at);
        e.event(&mut state, ev, at, &mut out);
    }
    tick_until(&mut state, &mut out, end);
    e.finish(&mut state, &mut out);
    out
}

fn check((checkins, ticks): &Input, reach: &mut common::Reach) -> Result<(), TestCaseError> {
    let e = engine();
    let events = events(checkins);
    let mut state = e.start();
    for u in users() {
        e.user(&mut state, &u).unwrap();
    }
    let plain = replay::run_events(e, &mut state, &events, Until::End);
    let daemon = ticked(e, &events, ticks, reach);
    let json = |o: &Output| -> Vec<Json> {
        o.effects
            .iter()
            .map(|x| serde_json::to_value(x).unwrap())
            .collect()
    };
    let lines = json(&plain);
    prop_assert_eq!(
        &json(&daemon),
        &lines,
        "ticks and restarts changed the effects"
    );

    let s = |v: &Json, k: &str| v[k].as_str().unwrap_or("").to_string();
    let mut once: BTreeMap<(String, String), u32> = BTreeMap::new();
    // Per user: whether a counted completion came since their last inactivity send.
    let mut active_since: BTreeMap<String, bool> = BTreeMap::new();
    let mut awards: BTreeMap<String, u32> = BTreeMap::new();
    let mut spells: BTreeMap<String, u32> = BTreeMap::new();
    for v in &lines {
        let user = s(v, "user");
        match (
            s(v, "kind").as_str(),
            s(v, "message").as_str(),
            s(v, "reward").as_str(),
        ) {
            ("send", m @ ("welcome" | "follow_up"), _) => {
                let n = once.entry((user.clone(), m.to_string())).or_default();
                *n += 1;
                prop_assert_eq!(*n, 1u32, "{} sent {} twice", m, user);
                reach.hit(
                    if m == "welcome" {
                        "welcome"
                    } else {
                        "follow_up"
                    },
                    1,
                );
            }
            ("send", "miss_you", _) => {
                let fresh = active_since.insert(user.clone(), false).unwrap_or(true);
                prop_assert!(fresh, "{} got miss_you twice in one spell", user);
                let n = spells.entry(user).or_default();
                *n += 1;
                reach.hit(if *n > 1 { "second spell" } else { "inactivity" }, 1);
            }
            ("complete", _, _) => {
                active_since.insert(user, true);
            }
            ("grant", _, "gift") => {
                let n = once.entry((user.clone(), "gift".into())).or_default();
                *n += 1;
                prop_assert_eq!(*n, 1u32, "{} got the dated gift twice", user);
                reach.hit("dated grant", 1);
            }
            ("grant", _, "hamper") => {
                let n = awards.entry(s(v, "at")).or_default();
                *n += 1;
                prop_assert_eq!(*n, 1u32, "two awards at {}", s(v, "at"));
                reach.hit("period award", 1);
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn timers_fire_once_whatever_the_ticks_and_restarts() {
    let reach = common::Reach::run(128, &input(), |i, reach| check(&i, reach));
    reach.assert_each(
        &[
            "welcome",
            "follow_up",
            "inactivity",
            "second spell",
            "dated grant",
            "period award",
            "restart",
        ],
        20,
    );
}
