//! Properties of the engine over arbitrary event streams: grants never exceed stock,
//! `per_user` or the budget; a replay is byte-identical; a duplicate id changes nothing
//! but its own `reject`; a snapshot restored mid-stream continues exactly as an
//! uninterrupted run.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;
use camp_engine::input::{EventLine, UserLine};
use camp_engine::replay::{self, Until};
use camp_engine::{Engine, Output};
use camp_plan::literal::DateTimeLit;
use proptest::prelude::*;
use std::sync::OnceLock;

const CAMPAIGN: &str = r#"
campaign props {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en, zh-CN
  budget   60 CNY
  holdout  20%
  cap      2 messages per day
  quiet    22:00 .. 08:00
}
user {
  nickname: string
  locale:   string
}
event checkin {}
event buy { amount: money }
event invite { invitee: string }
reward p5    = points 5
reward p50   = points 50
reward c10   = coupon { value 10 CNY  stock 4  per_user 2 }
reward watch = item "Watch" { cost 25 CNY  stock 2 }
reward badge = badge "Fan"
reward luck  = draw { 40% c10  20% watch  30% p5 }
message hi via push {
  en    "hi {{ user.nickname }} {{ participant.points }}"
  zh-CN "你好 {{ user.nickname }}"
}
tiers {
  fan  at 0 points
  star at 60 points => grant badge
}
phase main for 4d until budget exhausted {
  task daily {
    on checkin
    limit 1 per day
    grant p5
    streak 2 days => grant c10
    send hi
  }
  task spend {
    on buy where event.amount >= 10 CNY
    grant p50
    grant watch
  }
  task invites {
    on invite
    limit 3 per user
    grant luck
    after 2 => grant c10
  }
  leaderboard board {
    score points
    show top 3
  }
  goal rich when participant.points >= 100 => grant c10
  send hi after 1d inactive
}
phase wrap for 2d {
  award board rank 1 => grant watch
  award board rank 2..3 => grant c10
  send hi at 10:00 daily to participants
}
"#;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| common::engine(CAMPAIGN))
}

fn users() -> Vec<UserLine> {
    (0..6)
        .map(|i| {
            serde_json::from_str(&format!(
                r#"{{"id":"u{i}","attrs":{{"nickname":"N{i}","locale":"{}"}}}}"#,
                if i % 2 == 0 { "en" } else { "zh-CN" }
            ))
            .unwrap()
        })
        .collect()
}

/// (user, kind, minutes after the start, amount): a stream of events over six days,
/// some before the start and some with unknown users or types.
fn stream() -> impl Strategy<Value = Vec<EventLine>> {
    proptest::collection::vec((0u32..7, 0u32..4, 0i64..(6 * 24 * 60), 1u32..40), 0..80).prop_map(
        |raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (u, kind, minutes, amount))| {
                    let at =
                        common::t("2027-01-19T20:00:00+08:00") + chrono::Duration::minutes(minutes);
                    let (kind, data) = match kind {
                        0 => ("checkin", "{}".to_string()),
                        1 => ("buy", format!(r#"{{"amount":"{amount} CNY"}}"#)),
                        2 => ("invite", r#"{"invitee":"x"}"#.to_string()),
                        _ => ("refund", "{}".to_string()),
                    };
                    common::ev(
                        &format!("e{i}"),
                        kind,
                        &format!("u{u}"),
                        &at.to_rfc3339(),
                        &data,
                    )
                })
                .collect()
        },
    )
}

fn lines(out: &Output) -> Vec<String> {
    out.effects
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

fn replay_all(events: &[EventLine]) -> (Vec<String>, camp_engine::state::State) {
    let e = engine();
    let mut state = e.start();
    for u in users() {
        e.user(&mut state, &u).unwrap();
    }
    let out = replay::run_events(e, &mut state, events, Until::End);
    (lines(&out), state)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn never_over_stock_per_user_or_budget(events in stream()) {
        let e = engine();
        let (_, state) = replay_all(&events);
        let report = e.report(&state);
        for (r, reward) in report.rewards.iter().zip(&e.plan().rewards) {
            if let Some(stock) = reward.stock {
                prop_assert!(r.granted <= stock, "{} over stock: {}", r.name, r.granted);
            }
        }
        let spend: rust_decimal::Decimal = report.summary.spend.as_deref().unwrap().trim_end_matches(" CNY").parse().unwrap();
        prop_assert!(spend <= rust_decimal::Decimal::from(60), "spend {spend}");
        for u in users() {
            let Some(p) = e.participant(&state, &u.id) else { continue };
            for reward in &e.plan().rewards {
                let held = p.rewards.get(&reward.name).and_then(|v| v.as_u64()).unwrap_or(0);
                if let Some(per) = reward.per_user {
                    prop_assert!(held <= per, "{} holds {held} of {}", u.id, reward.name);
                }
            }
        }
    }

    #[test]
    fn a_replay_is_byte_identical(events in stream()) {
        prop_assert_eq!(replay_all(&events).0, replay_all(&events).0);
    }

    #[test]
    fn a_duplicate_id_changes_nothing_but_its_reject(events in stream(), pick in any::<prop::sample::Index>(), later in 0i64..600) {
        prop_assume!(!events.is_empty());
        let (before, _) = replay_all(&events);
        let original = pick.get(&events);
        let mut copy = original.clone();
        copy.at = match copy.at {
            DateTimeLit::Fixed(t) => DateTimeLit::Fixed(t + chrono::Duration::minutes(later)),
            DateTimeLit::Local(t) => DateTimeLit::Local(t + chrono::Duration::minutes(later)),
        };
        let mut with = events.clone();
        with.push(copy);
        let (after, _) = replay_all(&with);
        let mine = format!(r#""event":"{}""#, original.id);
        prop_assume!(!before.iter().any(|l| l.starts_with(r#"{"kind":"reject""#) && l.contains(&mine)));
        // The copy is rejected as a duplicate, even if it lands after the campaign (§13.5).
        let is_copy = |l: &String| l.starts_with(r#"{"kind":"reject""#) && l.contains(&mine);
        let copies: Vec<&String> = after.iter().filter(|l| is_copy(l)).collect();
        prop_assert_eq!(copies.len(), 1);
        prop_assert!(copies[0].contains(r#""reason":"duplicate""#));
        let without: Vec<String> = after.iter().filter(|l| !is_copy(l)).cloned().collect();
        prop_assert_eq!(without, before);
    }

    #[test]
    fn a_restored_snapshot_continues_as_an_uninterrupted_run(events in stream(), split in any::<prop::sample::Index>()) {
        let e = engine();
        let mut sorted = events.clone();
        sorted.sort_by_key(|x| e.calendar().resolve(x.at));
        let (whole, _) = replay_all(&sorted);
        let cut = if sorted.is_empty() { 0 } else { split.index(sorted.len() + 1) };
        let mut state = e.start();
        for u in users() {
            e.user(&mut state, &u).unwrap();
        }
        let mut first = Output::default();
        for x in &sorted[..cut] {
            e.event(&mut state, x, e.calendar().resolve(x.at), &mut first);
        }
        let snapshot = serde_json::to_vec(&state).unwrap();
        let mut back = e.restore(serde_json::from_slice(&snapshot).unwrap()).unwrap();
        prop_assert_eq!(&back, &state);
        let rest = replay::run_events(e, &mut back, &sorted[cut..], Until::End);
        let mut joined = lines(&first);
        joined.extend(lines(&rest));
        prop_assert_eq!(joined, whole);
    }
}
