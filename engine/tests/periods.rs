//! `enroll audience` (§2, §13.2) and periodic leaderboards (§9), compiled from source.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;

use camp_engine::Output;
use common::*;

const ENROLL: &str = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  locales  en
  audience user.level >= 2
  holdout  10%
  enroll   audience
}
user { level: int }
event answer {}
reward hello = points 5
message hi via push { en "hi" }
message news via push { en "news" }
phase season for 7d {
  task answered { on answer }
  grant hello on enroll
  send hi on enroll
  send news on enter
}
"#;

fn lines(out: &Output) -> Vec<String> {
    out.effects
        .iter()
        .map(|x| serde_json::to_string(x).unwrap())
        .collect()
}

/// Users `u0`..`u{n}` at level 3 (eligible), as JSON lines.
fn eligible(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"id":"u{i}","attrs":{{"level":3}}}}"#))
        .collect()
}

#[test]
fn enroll_audience_enrolls_everyone_eligible_at_the_start_in_order_before_on_enter() {
    let e = engine(ENROLL);
    let mut all = eligible(30);
    all.push(r#"{"id":"low","attrs":{"level":1}}"#.into());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = run(&e, &users(&refs), &[], Some("2027-03-02T00:00:00+08:00"));
    let enrolled: Vec<&String> = having(&out, &[r#""kind":"enroll""#]);
    // Some of the thirty are held out (10%): never enrolled. Everyone else is, at the
    // start, in the order they became known.
    assert!(enrolled.len() < 30 && enrolled.len() > 15, "{enrolled:?}");
    assert!(enrolled
        .iter()
        .all(|l| l.contains(r#""at":"2027-02-28T16:00:00Z""#)));
    let order: Vec<usize> = enrolled
        .iter()
        .filter_map(|l| {
            let i = l.find(r#""user":"u"#)? + 9;
            l.get(i..)?.split('"').next()?.parse().ok()
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "enrolled in the order they became known");
    assert_eq!(count(&out, &[r#""kind":"enroll""#, r#""user":"low""#]), 0);
    // The usual sequence ran for each (`on enroll` grant and send), and every
    // enrollment comes before the phase's `on enter` sends, which reach them.
    assert_eq!(
        count(&out, &[r#""reward":"hello""#, r#""cause":"enroll""#]),
        enrolled.len()
    );
    assert_eq!(
        count(&out, &[r#""message":"hi""#, r#""kind":"send""#]),
        enrolled.len()
    );
    assert_eq!(
        count(&out, &[r#""message":"news""#, r#""kind":"send""#]),
        enrolled.len()
    );
    let last_enroll = out.iter().rposition(|l| l.contains(r#""kind":"enroll""#));
    let first_news = out.iter().position(|l| l.contains(r#""message":"news""#));
    assert!(last_enroll < first_news, "{out:#?}");
    let phase = out.iter().position(|l| l.contains(r#""kind":"phase""#));
    assert!(phase < out.iter().position(|l| l.contains(r#""kind":"enroll""#)));
}

#[test]
fn a_user_added_or_made_eligible_while_the_campaign_runs_enrolls_then() {
    let e = engine(ENROLL);
    let mut s = e.start();
    let mut out = Output::default();
    e.advance(&mut s, t("2027-03-02T10:00:00+08:00"), &mut out);
    assert!(lines(&out)
        .iter()
        .all(|l| !l.contains(r#""kind":"enroll""#)));
    // Added mid-phase: enrolls at the engine's next step, at that instant.
    let u = users(&[
        r#"{"id":"u1","attrs":{"level":3}}"#,
        r#"{"id":"low","attrs":{"level":1}}"#,
    ]);
    for line in &u {
        e.user(&mut s, line).unwrap();
    }
    e.advance(&mut s, t("2027-03-02T10:00:00+08:00"), &mut out);
    let got = lines(&out);
    assert_eq!(
        count(
            &got,
            &[
                r#""kind":"enroll""#,
                r#""user":"u1""#,
                r#""at":"2027-03-02T02:00:00Z""#
            ]
        ),
        1,
        "{got:#?}"
    );
    assert_eq!(count(&got, &[r#""reward":"hello""#, r#""user":"u1""#]), 1);
    assert_eq!(count(&got, &[r#""kind":"enroll""#, r#""user":"low""#]), 0);
    // An attribute update makes `low` eligible: enrolls at the next step.
    let up = users(&[r#"{"id":"low","attrs":{"level":4}}"#]);
    e.user(&mut s, &up[0]).unwrap();
    e.advance(&mut s, t("2027-03-03T08:00:00+08:00"), &mut out);
    let got = lines(&out);
    assert_eq!(
        count(
            &got,
            &[
                r#""kind":"enroll""#,
                r#""user":"low""#,
                r#""at":"2027-03-03T00:00:00Z""#
            ]
        ),
        1,
        "{got:#?}"
    );
    // Enrolled once, however often the user is updated.
    e.user(&mut s, &up[0]).unwrap();
    e.advance(&mut s, t("2027-03-04T08:00:00+08:00"), &mut out);
    assert_eq!(
        count(&lines(&out), &[r#""kind":"enroll""#, r#""user":"low""#]),
        1
    );
}

#[test]
fn without_enroll_audience_nobody_enrolls_without_a_counted_event() {
    let e = engine(&ENROLL.replace("  enroll   audience\n", ""));
    let out = run(
        &e,
        &users(&[r#"{"id":"u1","attrs":{"level":3}}"#]),
        &[],
        None,
    );
    assert_eq!(count(&out, &[r#""kind":"enroll""#]), 0);
}

const WEEKLY: &str = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-03-01T00:00
  locales  en
}
event answer {}
reward gold = item "Gold" { stock 10 }
reward silver = item "Silver" { stock 10 }
reward later = item "Later" { stock 10 }
message ranked via push { en "rank {{ participant.rank.weekly }}" }
phase season for 17d {
  task answered { on answer }
  leaderboard weekly {
    score count(answered)
    show top 2
    every 7d
  }
  award weekly rank 1 => grant gold
  award weekly rank 2 => { grant silver  send ranked }
}
phase after for 1d {}
"#;

#[test]
fn a_periodic_board_restarts_each_period_and_awards_every_period_end() {
    let e = engine(WEEKLY);
    let u = users(&[r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
    let evs = [
        // Period 1 (03-01..03-08): a 2, b 1.
        ev("1", "answer", "a", "2027-03-01T10:00:00+08:00", "{}"),
        ev("2", "answer", "a", "2027-03-02T10:00:00+08:00", "{}"),
        ev("3", "answer", "b", "2027-03-03T10:00:00+08:00", "{}"),
        // Period 2 (03-08..03-15): b 1 only; a's two do not carry over.
        ev("4", "answer", "b", "2027-03-09T10:00:00+08:00", "{}"),
        // Period 3 (03-15..03-18, cut short by the phase end): a 1, b 1, b first.
        ev("5", "answer", "b", "2027-03-16T10:00:00+08:00", "{}"),
        ev("6", "answer", "a", "2027-03-16T11:00:00+08:00", "{}"),
    ];
    let out = run(&e, &u, &evs, None);
    let grants = |at: &str| -> Vec<String> {
        having(&out, &[r#""kind":"grant""#, at])
            .into_iter()
            .map(|l| {
                let user = l
                    .split(r#""user":""#)
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let reward = l
                    .split(r#""reward":""#)
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                format!("{user}:{reward}")
            })
            .collect()
    };
    assert_eq!(grants("2027-03-07T16:00:00Z"), ["a:gold", "b:silver"]);
    assert_eq!(grants("2027-03-14T16:00:00Z"), ["b:gold"]);
    // The last period ends with the phase, before the next phase starts.
    assert_eq!(grants("2027-03-17T16:00:00Z"), ["b:gold", "a:silver"]);
    assert_eq!(count(&out, &[r#""kind":"grant""#]), 5);
    let last_award = out
        .iter()
        .rposition(|l| l.contains(r#""cause":"award:weekly""#));
    let next_phase = out.iter().position(|l| l.contains(r#""to":"after""#));
    assert!(last_award < next_phase, "{out:#?}");
    // `participant.rank` is the rank in the period that just ended.
    assert_eq!(count(&out, &[r#""message":"ranked""#, "rank 2"]), 2);
}

#[test]
fn the_board_shows_the_current_period_and_survives_a_snapshot() {
    let e = engine(WEEKLY);
    let mut s = e.start();
    let mut out = Output::default();
    for line in &users(&[r#"{"id":"a"}"#, r#"{"id":"b"}"#]) {
        e.user(&mut s, line).unwrap();
    }
    let take =
        |s: &mut camp_engine::state::State, out: &mut Output, id: &str, u: &str, at: &str| {
            let line = ev(id, "answer", u, at, "{}");
            e.event(s, &line, t(at), out);
        };
    take(&mut s, &mut out, "1", "a", "2027-03-01T10:00:00+08:00");
    take(&mut s, &mut out, "2", "a", "2027-03-02T10:00:00+08:00");
    e.advance(&mut s, t("2027-03-09T00:00:00+08:00"), &mut out);
    let board = e.leaderboard(&s, 0, None).unwrap();
    assert!(board.ranks.is_empty(), "a new period starts from zero");
    take(&mut s, &mut out, "3", "b", "2027-03-09T10:00:00+08:00");
    // A snapshot taken mid-period continues like the uninterrupted run.
    let json = serde_json::to_string(&s).unwrap();
    let mut back = e.restore(serde_json::from_str(&json).unwrap()).unwrap();
    take(&mut back, &mut out, "4", "a", "2027-03-10T10:00:00+08:00");
    take(&mut s, &mut out, "4", "a", "2027-03-10T10:00:00+08:00");
    let ranks = |s: &camp_engine::state::State| -> Vec<(String, u32)> {
        e.leaderboard(s, 0, None)
            .unwrap()
            .ranks
            .into_iter()
            .map(|p| (p.user, p.rank))
            .collect()
    };
    assert_eq!(ranks(&s), [("b".to_string(), 1), ("a".to_string(), 2)]);
    assert_eq!(ranks(&back), ranks(&s));
}
