//! `camp run` and `camp test` through the real binary: effects on stdout, malformed
//! lines reported with line numbers (exit 1), a compiled plan runs like its source,
//! unsorted events are taken in time order, and scenario failures read like
//! `cargo test`'s.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn camp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camp"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// A directory of this test's own.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("camp-run-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const USERS: &str = r#"{"id": "u1", "attrs": {"nickname": "Lin", "country": "SG", "locale": "en", "registered_days": 30}}
{"id": "u2", "attrs": {"nickname": "Bo", "country": "MY", "registered_days": 30}}
"#;

const EVENTS: &str = r#"{"id": "e2", "type": "checkin", "user": "u1", "at": "2027-09-07T23:10:00+08:00", "data": {}}
{"id": "e1", "type": "checkin", "user": "u1", "at": "2027-09-06T09:30:00+08:00", "data": {}}
{"id": "e3", "type": "checkin", "user": "u2", "at": "2027-09-08T10:00:00+08:00", "data": {}}
"#;

fn run_in(d: &Path, campaign: &Path, users: &str, events: &str, extra: &[&str]) -> Output {
    std::fs::write(d.join("users.jsonl"), users).unwrap();
    std::fs::write(d.join("events.jsonl"), events).unwrap();
    let (u, e) = (d.join("users.jsonl"), d.join("events.jsonl"));
    let mut args = vec![
        "run",
        campaign.to_str().unwrap(),
        "--users",
        u.to_str().unwrap(),
        "--events",
        e.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    camp(&args)
}

#[test]
fn events_out_of_order_are_taken_in_time_order_and_a_plan_runs_like_its_source() {
    let d = dir("order");
    let source = example("checkin_festival.camp");
    let out = run_in(
        &d,
        &source,
        USERS,
        EVENTS,
        &["--until", "2027-09-09T00:00:00+08:00"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let effects = text(&out.stdout);
    let e1 = effects.find(r#""event":"e1""#).unwrap();
    let e2 = effects.find(r#""event":"e2""#).unwrap();
    assert!(e1 < e2, "e1 happened first: {effects}");
    assert!(effects.contains(
        r#"{"kind":"reject","at":"2027-09-08T02:00:00Z","event":"e3","reason":"ineligible"}"#
    ));

    let compiled = d.join("out");
    let c = camp(&[
        "compile",
        source.to_str().unwrap(),
        "--out",
        compiled.to_str().unwrap(),
    ]);
    assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    let plan = compiled.join("plan.json");
    let again = run_in(
        &d,
        &plan,
        USERS,
        EVENTS,
        &["--until", "2027-09-09T00:00:00+08:00"],
    );
    assert_eq!(
        text(&again.stdout),
        effects,
        "the plan and its source run the same"
    );
}

#[test]
fn malformed_lines_are_reported_with_line_numbers_and_the_rest_still_runs() {
    let d = dir("malformed");
    let events =
        format!("{EVENTS}not json\n{{\"id\": \"e9\", \"type\": \"checkin\", \"user\": \"u1\"}}\n{{\"type\": \"checkin\", \"user\": \"u1\", \"at\": \"2027-09-08T10:00:00+08:00\"}}\n");
    let users =
        format!("{USERS}{{\"id\": \"u3\", \"attrs\": {{\"registered_days\": \"thirty\"}}}}\n");
    let report = d.join("report.json");
    let out = run_in(
        &d,
        &example("checkin_festival.camp"),
        &users,
        &events,
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("events.jsonl:4:"), "{err}");
    assert!(err.contains("events.jsonl:5:"), "{err}");
    assert!(
        err.contains("events.jsonl:6: missing field `id`"),
        "a line with a time but no id: {err}"
    );
    assert_eq!(
        err.matches("events.jsonl:4:").count(),
        1,
        "each bad line is reported once: {err}"
    );
    assert!(
        err.contains("users.jsonl:3: attribute `registered_days`"),
        "{err}"
    );
    assert!(text(&out.stdout).contains(r#""event":"e2""#));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["status"], "ended");
    assert_eq!(report["participants"], 1);
    assert_eq!(report["events"]["checkin"], 2);
}

#[test]
fn usage_errors_exit_2_and_a_replay_is_byte_identical() {
    let d = dir("usage");
    let missing = camp(&[
        "run",
        example("checkin_festival.camp").to_str().unwrap(),
        "--users",
        "/nonexistent",
        "--events",
        "/nonexistent",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_until = run_in(
        &d,
        &example("checkin_festival.camp"),
        USERS,
        EVENTS,
        &["--until", "tomorrow"],
    );
    assert_eq!(bad_until.status.code(), Some(2));
    let a = run_in(&d, &example("checkin_festival.camp"), USERS, EVENTS, &[]);
    let b = run_in(&d, &example("checkin_festival.camp"), USERS, EVENTS, &[]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn scenario_failures_show_the_expectation_and_the_nearest_effects() {
    let d = dir("scenario");
    std::fs::copy(example("checkin_festival.camp"), d.join("fest.camp")).unwrap();
    std::fs::write(
        d.join("fest.test.yaml"),
        r#"name: passes
campaign: fest.camp
users:
  - { id: u1, attrs: { nickname: Lin, country: SG, locale: en, registered_days: 30 } }
events:
  - { id: e1, type: checkin, user: u1, at: "2027-09-06T09:30:00+08:00" }
expect:
  - { kind: grant, user: u1, reward: early_bird, count: 1 }
---
name: fails
campaign: fest.camp
users:
  - { id: u1, attrs: { nickname: Lin, country: SG, locale: en, registered_days: 30 } }
events:
  - { id: e1, type: checkin, user: u1, at: "2027-09-06T09:30:00+08:00" }
expect:
  - { kind: grant, user: u1, reward: earbuds }
"#,
    )
    .unwrap();
    std::fs::write(d.join("broken.test.yaml"), "campaign: [\n").unwrap();
    let out = camp(&["test", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("running 3 scenarios"), "{s}");
    assert!(s.contains("fest.test.yaml: passes ... ok"), "{s}");
    assert!(s.contains("fest.test.yaml: fails ... FAILED"), "{s}");
    assert!(s.contains("broken.test.yaml ... FAILED"), "{s}");
    assert!(
        s.contains("expectation 1: { kind: grant, reward: earbuds, user: u1 }"),
        "{s}"
    );
    assert!(s.contains("closest effects:"), "{s}");
    assert!(s.contains("test result: FAILED. 1 passed; 2 failed"), "{s}");

    let only = camp(&["test", d.join("fest.camp").to_str().unwrap()]);
    assert!(text(&only.stdout).contains("running 2 scenarios"));
}

#[test]
fn byte_order_marks_and_local_times_are_read_as_a_camp_file_reads_them() {
    let d = dir("bom");
    let bom = "\u{feff}";
    // 09:30 local in the festival's zone (+08:00) is 01:30Z; the files start with a BOM.
    let events = format!(
        "{bom}{}\n",
        r#"{"id": "e1", "type": "checkin", "user": "u1", "at": "2027-09-06T09:30", "data": {}}"#
    );
    let out = run_in(
        &d,
        &example("checkin_festival.camp"),
        &format!("{bom}{USERS}"),
        &events,
        &["--until", "2027-09-07T00:00:00+08:00"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(r#"{"kind":"enroll","at":"2027-09-06T01:30:00Z","user":"u1"}"#),
        "{}",
        text(&out.stdout)
    );
    std::fs::copy(example("checkin_festival.camp"), d.join("fest.camp")).unwrap();
    std::fs::write(
        d.join("fest.test.yaml"),
        format!(
            "{bom}campaign: fest.camp\nusers:\n  - {{ id: u1, attrs: {{ nickname: Lin, country: SG, locale: en, registered_days: 30 }} }}\nevents:\n  - {{ id: e1, type: checkin, user: u1, at: \"2027-09-06T09:30\" }}\nuntil: \"2027-09-07T00:00\"\nexpect:\n  - {{ kind: enroll, user: u1, at: \"2027-09-06T01:30:00Z\", count: 1 }}\n"
        ),
    )
    .unwrap();
    let t = camp(&["test", d.join("fest.test.yaml").to_str().unwrap()]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stdout));
}

#[test]
fn every_example_passes_its_scenarios() {
    let out = camp(&[
        "test",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let s = text(&out.stdout);
    for name in [
        "checkin_festival",
        "coffee_week",
        "five_fu",
        "live_lottery",
        "member_tiers",
        "photo_contest",
        "referral",
    ] {
        assert!(
            s.contains(&format!("{name}.test.yaml")),
            "{name} has scenarios: {s}"
        );
    }
}
