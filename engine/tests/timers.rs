//! Task windows (`within D of enroll|TASK`), per-participant timed sends (`send M D
//! after enroll|TASK`), the `if` of phase-level sends and grants, and dated mass
//! grants (`grant R at …`), on small campaigns written inline.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;
use camp_engine::input::EventLine;
use camp_engine::{Output, Verdict};
use common::{count, engine, ev, having, run, t, users};
use proptest::prelude::*;

const HEAD: &str = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en
  budget   100 CNY
}
user {
  nickname: string
  level:    int
}
event checkin {}
event buy {}
message hi via push {
  en "hi {{ user.nickname }}"
}
message later via push {
  en "later {{ user.nickname }}"
}
"#;

fn campaign(body: &str) -> camp_engine::Engine {
    engine(&format!("{HEAD}\n{body}"))
}

fn people() -> Vec<camp_engine::input::UserLine> {
    users(&[
        r#"{"id":"u1","attrs":{"nickname":"Lin","level":3}}"#,
        r#"{"id":"u2","attrs":{"nickname":"Bo","level":1}}"#,
    ])
}

/// `2027-01-20T09:00+08:00` plus `h` hours, as an RFC 3339 instant.
fn at(h: i64) -> String {
    (t("2027-01-20T09:00:00+08:00") + chrono::Duration::hours(h)).to_rfc3339()
}

#[test]
fn a_window_from_enrollment_includes_the_enrolling_event_and_ends_after_its_duration() {
    let e = campaign(
        "reward p = points 1\nphase main for 5d {\n  task t {\n    on checkin\n    within 1d of enroll\n    grant p\n  }\n}",
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("a", "checkin", "u1", &at(0), "{}"),
            ev("b", "checkin", "u1", &at(23), "{}"),
            // Exactly one day after enrolling: outside (the window is half-open).
            ev("c", "checkin", "u1", &at(24), "{}"),
            ev("d", "checkin", "u1", &at(30), "{}"),
        ],
        None,
    );
    assert_eq!(count(&out, &["\"complete\""]), 2, "{out:#?}");
    assert_eq!(count(&out, &["\"complete\"", "\"event\":\"a\""]), 1);
    assert_eq!(count(&out, &["\"complete\"", "\"event\":\"b\""]), 1);
}

#[test]
fn a_window_from_a_task_opens_at_its_first_counted_completion_and_says_window_outside() {
    let e = campaign(
        "phase main for 5d {\n  task ask {\n    on checkin\n  }\n  task help {\n    on buy\n    within 24h of ask\n  }\n}",
    );
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let mut out = Output::default();
    let mut take = |id: &str, kind: &str, h: i64| {
        let v = e.event(
            &mut s,
            &ev(id, kind, "u1", &at(h), "{}"),
            t(&at(h)),
            &mut out,
        );
        assert_eq!(v, Verdict::Accepted);
        out.unmatched
            .iter()
            .map(|u| {
                let why = serde_json::to_value(u.why).unwrap();
                format!("{}:{}", u.task, why.as_str().unwrap())
            })
            .collect::<Vec<_>>()
    };
    // Before any `ask`: the window is not open, and nothing enrolls through `help`.
    assert_eq!(take("b0", "buy", 0), vec!["help:window"]);
    assert_eq!(take("a1", "checkin", 1), Vec::<String>::new());
    assert_eq!(take("b1", "buy", 2), Vec::<String>::new());
    // A second `ask` does not move the window: it counts from the first.
    assert_eq!(take("a2", "checkin", 20), Vec::<String>::new());
    assert_eq!(take("b2", "buy", 26), vec!["help:window"]);
}

#[test]
fn a_timed_send_goes_once_per_participant_after_enrollment_or_a_first_completion() {
    let e = campaign(
        "phase main for 10d {\n  task t {\n    on checkin\n  }\n  task order {\n    on buy\n  }\n  send hi 1d after enroll\n  send later 2d after order\n}",
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("a", "checkin", "u1", &at(0), "{}"),
            ev("b", "checkin", "u1", &at(5), "{}"),
            ev("c", "buy", "u1", &at(6), "{}"),
            ev("d", "buy", "u1", &at(7), "{}"),
            ev("e", "buy", "u2", &at(10), "{}"),
        ],
        None,
    );
    let hi = having(&out, &["\"send\"", "\"message\":\"hi\""]);
    assert_eq!(hi.len(), 2, "{out:#?}");
    assert!(hi[0].contains("\"at\":\"2027-01-21T01:00:00Z\""), "{hi:?}");
    let later = having(&out, &["\"send\"", "\"message\":\"later\""]);
    assert_eq!(later.len(), 2, "{out:#?}");
    assert!(later[0].contains("\"user\":\"u1\""));
    assert!(
        later[0].contains("\"at\":\"2027-01-22T07:00:00Z\""),
        "{later:?}"
    );
}

#[test]
fn a_timed_send_due_while_its_phase_is_not_running_does_not_fire() {
    // Due after `one` ends: not sent, neither then nor in `two`.
    let e = campaign(
        "phase one for 2d {\n  task t {\n    on checkin\n  }\n  send hi 3d after enroll\n}\nphase two for 5d {\n  task u {\n    on checkin\n  }\n  send later 1d after t\n}",
    );
    let out = run(
        &e,
        &people(),
        &[ev("a", "checkin", "u1", &at(0), "{}")],
        None,
    );
    assert_eq!(count(&out, &["\"message\":\"hi\""]), 0, "{out:#?}");
    // `later` is `two`'s statement, due a day after `t` (during `one`): not sent.
    assert_eq!(count(&out, &["\"message\":\"later\""]), 0, "{out:#?}");

    // Armed in `one`, due while `two` runs: sent once.
    let e = campaign(
        "phase one for 2d {\n  task t {\n    on checkin\n  }\n}\nphase two for 5d {\n  task u {\n    on checkin\n  }\n  send later 3d after t\n}",
    );
    let out = run(
        &e,
        &people(),
        &[ev("a", "checkin", "u1", &at(0), "{}")],
        None,
    );
    assert_eq!(count(&out, &["\"message\":\"later\""]), 1, "{out:#?}");
}

#[test]
fn if_on_phase_sends_skips_recipients_it_does_not_hold_for() {
    let e = campaign(
        "phase main for 3d {\n  task t {\n    on checkin\n  }\n  send hi on enroll if user.level >= 2\n  send later 1h after enroll if user.level < 2\n}",
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("a", "checkin", "u1", &at(0), "{}"),
            ev("b", "checkin", "u2", &at(0), "{}"),
        ],
        None,
    );
    assert_eq!(
        having(&out, &["\"send\""])
            .iter()
            .map(|l| (l.contains("\"u1\""), l.contains("\"hi\"")))
            .collect::<Vec<_>>(),
        vec![(true, true), (false, false)],
        "{out:#?}"
    );
}

#[test]
fn dated_grants_go_to_each_recipient_in_enrollment_order_and_enroll_the_audience() {
    let e = campaign(
        "reward c = coupon { value 1 CNY  stock 1 }\nreward b = badge \"Fan\"\nphase main for 3d {\n  task t {\n    on checkin\n  }\n  grant c at 2027-01-21T10:00\n  grant b at 12:00 to audience if user.level >= 1\n}",
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("a", "checkin", "u2", &at(0), "{}"),
            ev("b", "checkin", "u1", &at(1), "{}"),
        ],
        None,
    );
    // Stock 1: u2 enrolled first and is served first; u1 is denied.
    let coupons = having(&out, &["\"reward\":\"c\""]);
    assert_eq!(coupons.len(), 2, "{out:#?}");
    assert!(coupons[0].contains("\"grant\"") && coupons[0].contains("\"u2\""));
    assert!(coupons[0].contains("\"cause\":\"at\""));
    assert!(coupons[1].contains("\"deny\"") && coupons[1].contains("\"u1\""));
    // The badge at 12:00 local on the first day: both are participants by then.
    assert_eq!(
        count(&out, &["\"grant\"", "\"reward\":\"b\"", "\"cause\":\"at\""]),
        2
    );
}

#[test]
fn a_grant_to_the_audience_enrolls_eligible_users_first() {
    let e = campaign(
        "reward b = badge \"Fan\"\nphase main for 3d {\n  task t {\n    on checkin\n  }\n  grant b on enter to audience if user.level >= 2\n}",
    );
    let out = run(&e, &people(), &[], None);
    assert_eq!(
        having(&out, &["\"u"]),
        vec![
            r#"{"kind":"enroll","at":"2027-01-19T16:00:00Z","user":"u1"}"#,
            r#"{"kind":"grant","at":"2027-01-19T16:00:00Z","user":"u1","reward":"b","cause":"enter","event":null}"#,
        ]
    );
}

fn checkins(n: usize) -> impl Strategy<Value = Vec<(u8, u8, u16)>> {
    prop::collection::vec((0u8..3, 0u8..2, 0u16..240), 0..n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Every per-participant timer fires at most once per participant, however many
    /// events, completions and phase changes come.
    #[test]
    fn a_timer_fires_at_most_once_per_participant(events in checkins(40)) {
        let e = campaign(
            "phase one for 4d {\n  task t {\n    on checkin\n  }\n  task o {\n    on buy\n  }\n  send hi 1d after enroll\n  send later 6h after o\n}\nphase two for 6d {\n  task u {\n    on checkin\n  }\n  send later 2d after t\n}",
        );
        let mut sorted = events;
        sorted.sort_by_key(|x| x.2);
        let lines: Vec<EventLine> = sorted
            .iter()
            .enumerate()
            .map(|(i, (u, k, h))| {
                let kind = if *k == 0 { "checkin" } else { "buy" };
                ev(&format!("e{i}"), kind, &format!("u{u}"), &at(i64::from(*h)), "{}")
            })
            .collect();
        let us = users(&[
            r#"{"id":"u0","attrs":{"nickname":"A","level":1}}"#,
            r#"{"id":"u1","attrs":{"nickname":"B","level":1}}"#,
            r#"{"id":"u2","attrs":{"nickname":"C","level":1}}"#,
        ]);
        let out = run(&e, &us, &lines, None);
        for u in ["u0", "u1", "u2"] {
            let user = format!("\"user\":\"{u}\"");
            prop_assert!(count(&out, &["\"send\"", &user, "\"message\":\"hi\""]) <= 1);
            // `later` has one statement per phase: at most once each.
            prop_assert!(count(&out, &["\"send\"", &user, "\"message\":\"later\""]) <= 2);
        }
    }
}
