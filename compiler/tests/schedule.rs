//! The schedule: DST is applied to timed sends and calendar-day phases, the iCalendar
//! output of every example is valid (our parser, and Python's `icalendar` when it is
//! installed), the table of every example is pinned, and output is deterministic.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_compiler::schedule::{self, EntryKind, Schedule};
use camp_compiler::{compile_file, FsLoader, MemoryLoader, Severity};
use camp_plan::Plan;
use chrono::{TimeZone, Utc};
use icalendar::{Calendar, CalendarComponent, Component};
use std::path::{Path, PathBuf};

mod common;
use common::campaigns;

/// Compiles `text` as `campaign.camp`; it must have no diagnostics at all.
fn plan_of_text(text: &str) -> Plan {
    let loader = MemoryLoader::with(&[("campaign.camp", text)]);
    let result = compile_file(&loader, Path::new("campaign.camp")).unwrap();
    assert!(
        result.check.diagnostics.is_empty(),
        "{:#?}",
        result.check.diagnostics
    );
    result.plan.expect("a plan")
}

fn plan_of(path: &Path) -> Plan {
    let result = compile_file(&FsLoader, path).unwrap();
    let errors = result
        .check
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    result.plan.unwrap_or_else(|| {
        panic!(
            "{} has {errors} error(s): {:#?}",
            path.display(),
            result.check.diagnostics
        )
    })
}

fn examples() -> Vec<(String, PathBuf)> {
    let all = campaigns();
    let examples: Vec<_> = all
        .into_iter()
        .filter(|(name, _)| name.starts_with("example_"))
        .collect();
    assert!(!examples.is_empty(), "no examples found");
    examples
}

/// New York springs forward on 2027-03-14: a week from 03-10 has one 23-hour day.
const DST_WEEK: &str = r#"
campaign dst_week {
  timezone "America/New_York"
  start    2027-03-10T00:00
  locales  en
}

event visit {}

message nudge via push {
  en "Come back tonight."
}

phase week for 7d {
  task visits {
    on visit
  }
  send nudge at 20:00 daily to audience
}
"#;

#[test]
fn timed_sends_follow_daylight_saving_time() {
    let plan = plan_of_text(DST_WEEK);
    let s = schedule::build(&plan);
    assert_eq!(s.timezone, "America/New_York");

    let sends: Vec<_> = s
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Send)
        .collect();
    assert_eq!(sends.len(), 7, "{sends:#?}");
    for (n, e) in sends.iter().enumerate() {
        let day = 10 + n as u32;
        assert!(e.local.ends_with(" 20:00"), "{e:#?}");
        assert_eq!(e.local, format!("2027-03-{day:02} 20:00"));
        // 20:00 EST (before the switch on the 14th) is 01:00Z the next day; 20:00 EDT is 00:00Z.
        let hour = if day < 14 { 1 } else { 0 };
        assert_eq!(
            e.at,
            Utc.with_ymd_and_hms(2027, 3, day + 1, hour, 0, 0).unwrap(),
            "{e:#?}"
        );
    }

    let phase = s
        .entries
        .iter()
        .find(|e| e.kind == EntryKind::Phase)
        .unwrap();
    assert_eq!(
        phase.at,
        Utc.with_ymd_and_hms(2027, 3, 10, 5, 0, 0).unwrap()
    );
    assert_eq!(phase.local, "2027-03-10 00:00");
    let end = phase.until.unwrap();
    assert_eq!((end - phase.at).num_hours(), 167);
    assert!(
        phase.what.contains("7d to 2027-03-17 00:00"),
        "{}",
        phase.what
    );

    let last = s.entries.last().unwrap();
    assert_eq!(last.kind, EntryKind::CampaignEnd);
    assert_eq!(last.at, end);
    assert_eq!(last.local, "2027-03-17 00:00");

    let table = schedule::to_table(&s);
    assert_eq!(table.matches(" 20:00  send").count(), 7, "{table}");
}

/// At one instant: phase start, awards, `on enter`, `at` sends (language §9).
#[test]
fn one_instant_keeps_the_engine_order() {
    let plan = plan_of_text(
        r#"
campaign order {
  timezone "Europe/Berlin"
  start    2027-06-01T00:00
  locales  en
}

event play { score: int }

reward prize = badge "Winner"
reward hello = points 5

message ranks via push {
  en "Results are in."
}
message open via push {
  en "Open now."
}

phase game for 2d {
  task plays {
    on play
  }
  leaderboard best {
    score sum(play.score)
  }
}

phase results for 1d {
  send open at 00:00
  send ranks on enter
  grant hello on enter
  award best rank 1 => grant prize
}
"#,
    );
    let s = schedule::build(&plan);
    let at_results: Vec<(EntryKind, &str)> = s
        .entries
        .iter()
        .filter(|e| e.local == "2027-06-03 00:00")
        .map(|e| (e.kind, e.what.as_str()))
        .collect();
    let kinds: Vec<EntryKind> = at_results.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Phase,
            EntryKind::Award,
            EntryKind::Grant,
            EntryKind::Send,
            EntryKind::Send
        ],
        "{at_results:#?}"
    );
    assert!(
        at_results[3].1.contains("`ranks`") && at_results[3].1.contains("on enter"),
        "{at_results:#?}"
    );
    assert!(
        at_results[4].1.contains("`open`") && at_results[4].1.contains("at 00:00"),
        "{at_results:#?}"
    );
}

/// An `at` send whose time never falls inside its phase is E0304 (second edition):
/// it would silently never go out.
#[test]
fn a_send_that_never_goes_out_is_an_error() {
    let text = r#"
campaign short {
  timezone "Asia/Shanghai"
  locales  en
}

event comment {}

message late via push {
  en "Still here?"
}

phase stream from 2027-06-18T20:00 to 2027-06-18T22:00 {
  task comments {
    on comment
  }
  send late at 23:00
}
"#;
    let loader = MemoryLoader::with(&[("campaign.camp", text)]);
    let result = compile_file(&loader, Path::new("campaign.camp")).unwrap();
    let codes: Vec<&str> = result
        .check
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes, ["E0304"]);
    assert!(result.plan.is_none());
}

/// Parses `ics` with the icalendar crate and checks it holds one well-formed VEVENT per
/// entry of `s`.
fn assert_valid_ics(name: &str, s: &Schedule, ics: &str) {
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"),
        "{name}"
    );
    assert!(!ics.replace("\r\n", "").contains('\n'), "{name}: a bare LF");
    for line in ics.split("\r\n") {
        assert!(
            line.len() <= 75,
            "{name}: a line longer than 75 octets: {line:?}"
        );
    }
    let cal: Calendar = ics.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        cal.property_value("PRODID"),
        Some("-//camp//campaign-as-code//EN"),
        "{name}"
    );
    assert_eq!(cal.property_value("VERSION"), Some("2.0"), "{name}");
    let events: Vec<_> = cal
        .components
        .iter()
        .map(|c| match c {
            CalendarComponent::Event(e) => e,
            other => panic!("{name}: not an event: {other:?}"),
        })
        .collect();
    assert_eq!(events.len(), s.entries.len(), "{name}");
    let mut uids = std::collections::HashSet::new();
    for (event, entry) in events.iter().zip(&s.entries) {
        for key in ["UID", "DTSTAMP", "DTSTART", "SUMMARY"] {
            assert!(
                event.property_value(key).is_some(),
                "{name}: {key} missing in {event:?}"
            );
        }
        assert!(
            uids.insert(event.property_value("UID").unwrap().to_string()),
            "{name}: duplicate UID"
        );
        assert_eq!(
            event.property_value("DTSTART"),
            Some(entry.at.format("%Y%m%dT%H%M%SZ").to_string().as_str())
        );
        match entry.until {
            Some(until) => assert_eq!(
                event.property_value("DTEND"),
                Some(until.format("%Y%m%dT%H%M%SZ").to_string().as_str()),
                "{name}"
            ),
            None => assert_eq!(event.property_value("DTEND"), None, "{name}"),
        }
    }
}

#[test]
fn ics_of_every_example_is_valid() {
    for (name, path) in examples() {
        let s = schedule::build(&plan_of(&path));
        let ics = schedule::to_ics(&s);
        assert_valid_ics(&name, &s, &ics);
        python_parses(&name, &ics, s.entries.len());
    }
}

/// Checks `ics` with Python's `icalendar` package too, when it is installed.
fn python_parses(name: &str, ics: &str, events: usize) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let available = Command::new("python3")
        .args(["-c", "import icalendar"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        return;
    }
    const SCRIPT: &str = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
events = cal.walk("VEVENT")
for e in events:
    for key in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
        assert key in e, (key, e)
    e.decoded("DTSTART")
print(len(events))
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{name}: Python's icalendar rejected it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        events.to_string(),
        "{name}"
    );
}

#[test]
fn tables_are_pinned() {
    for (name, path) in campaigns() {
        let table = schedule::to_table(&schedule::build(&plan_of(&path)));
        insta::with_settings!({ snapshot_path => "snapshots/schedules", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, table);
        });
    }
}

#[test]
fn output_is_deterministic() {
    for (name, path) in campaigns() {
        let plan = plan_of(&path);
        let (a, b) = (schedule::build(&plan), schedule::build(&plan));
        assert_eq!(a, b, "{name}");
        assert_eq!(schedule::to_ics(&a), schedule::to_ics(&b), "{name}");
        assert_eq!(schedule::to_json(&a), schedule::to_json(&b), "{name}");
        assert_eq!(schedule::to_table(&a), schedule::to_table(&b), "{name}");
        // A second compile of the same file, too.
        let again = schedule::build(&plan_of(&path));
        assert_eq!(schedule::to_ics(&a), schedule::to_ics(&again), "{name}");
    }
}

#[test]
fn json_has_every_entry_in_order() {
    for (name, path) in examples() {
        let s = schedule::build(&plan_of(&path));
        let json = schedule::to_json(&s);
        assert!(json.ends_with("}\n"), "{name}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entries = v["entries"].as_array().unwrap();
        assert_eq!(entries.len(), s.entries.len(), "{name}");
        let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{name}: not sorted: {times:?}"
        );
        assert!(times.iter().all(|t| t.ends_with('Z')), "{name}");
        assert_eq!(entries.last().unwrap()["kind"], "campaign_end", "{name}");
    }
}

/// A daily send at 02:30 in New York: on 2027-03-14 the clocks jump from 02:00 to 03:00.
const DST_GAP: &str = r#"
campaign dst_gap {
  timezone "America/New_York"
  start    2027-03-13T00:00
  locales  en
}

event visit {}

message nudge via push {
  en "Night owls."
}

phase two_days for 2d {
  task visits {
    on visit
  }
  send nudge at 02:30 daily to audience
}
"#;

#[test]
fn a_send_in_the_spring_forward_gap_moves_by_the_gap() {
    // 02:30 does not exist on 03-14: like RFC 5545, it is read with the offset before
    // the gap (EST, -05:00), which is 03:30 EDT, 07:30Z; not 03:00.
    let plan = plan_of_text(DST_GAP);
    let s = schedule::build(&plan);
    let sends: Vec<_> = s
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Send)
        .map(|e| e.at)
        .collect();
    assert_eq!(
        sends,
        [
            Utc.with_ymd_and_hms(2027, 3, 13, 7, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 14, 7, 30, 0).unwrap(),
        ]
    );
}

/// Undoes RFC 5545 §3.1 folding: a CRLF followed by one space is removed.
fn unfold(ics: &str) -> String {
    ics.replace("\r\n ", "")
}

/// Undoes RFC 5545 §3.3.11 TEXT escaping.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => panic!("a trailing backslash in {text:?}"),
        }
    }
    out
}

#[test]
fn long_escaped_lines_fold_within_75_octets_and_unfold_to_the_text() {
    // Escapes (`\n`, `\,`, `\;`, `\\`) take two octets for one character and Chinese
    // characters three: every alignment of them against the fold points is tried by
    // shifting the text one octet at a time.
    let body = "新春签到节, day one; a line\nthen \\ a backslash, 再来一行\n\
                and a long tail of text with commas, semicolons; and 汉字汉字汉字 to \
                push it over several folds, 然后结束。";
    for shift in 0..90 {
        let campaign = format!("{}{body}", "x".repeat(shift));
        let what = format!("send `recap`: {}{body}", "y".repeat(shift));
        let at = Utc.with_ymd_and_hms(2027, 1, 20, 12, 0, 0).unwrap();
        let s = Schedule {
            campaign: campaign.clone(),
            campaign_id: "fold_test".into(),
            timezone: "Asia/Shanghai".into(),
            source_hash: "0123456789abcdef0123456789abcdef".into(),
            entries: vec![schedule::Entry {
                at,
                local: "2027-01-20 20:00".into(),
                until: None,
                kind: EntryKind::Send,
                phase: "main".into(),
                what: what.clone(),
            }],
        };
        let ics = schedule::to_ics(&s);
        assert!(ics.ends_with("\r\n"), "{shift}");
        for line in ics.split_terminator("\r\n") {
            assert!(
                line.len() <= 75,
                "shift {shift}: a line of {} octets: {line:?}",
                line.len()
            );
        }
        // Every line is valid UTF-8 on its own: no character is split by a fold.
        for line in ics.as_bytes().split(|b| *b == b'\n') {
            assert!(std::str::from_utf8(line).is_ok(), "shift {shift}");
        }
        let unfolded = unfold(&ics);
        let value = |key: &str| -> String {
            let line = unfolded
                .split("\r\n")
                .find(|l| l.starts_with(&format!("{key}:")))
                .unwrap_or_else(|| panic!("no {key} in {unfolded}"));
            unescape(&line[key.len() + 1..])
        };
        assert_eq!(value("NAME"), campaign, "shift {shift}");
        assert_eq!(value("X-WR-CALNAME"), campaign, "shift {shift}");
        assert_eq!(
            value("SUMMARY"),
            format!("{campaign}: {}", what.replace('`', "")),
            "shift {shift}"
        );
        assert_eq!(
            value("DESCRIPTION"),
            format!(
                "{what}\n\nLocal time: 2027-01-20 20:00 (Asia/Shanghai)\nPhase: main\n\
                 Campaign: {campaign} (fold_test)"
            ),
            "shift {shift}"
        );
        // The icalendar crate reads it back, too.
        let cal: Calendar = ics.parse().unwrap_or_else(|e| panic!("shift {shift}: {e}"));
        assert_eq!(cal.components.len(), 1, "shift {shift}");
        python_parses(&format!("shift {shift}"), &ics, 1);
    }
}
