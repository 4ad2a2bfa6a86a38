//! Helpers for the engine's tests: compile a campaign from text, run users and events
//! through it, look at effects as JSON lines.
#![allow(dead_code)]

use camp_compiler::{compile_file, MemoryLoader};
use camp_engine::input::{EventLine, UserLine};
use camp_engine::replay::{self, Until};
use camp_engine::{Engine, Output};
use chrono::{DateTime, Utc};
use std::path::Path;

/// The engine of a campaign source that must compile.
pub fn engine(src: &str) -> Engine {
    let r = compile_file(&MemoryLoader::with(&[("c.camp", src)]), Path::new("c.camp")).unwrap();
    let plan = r.plan.unwrap_or_else(|| {
        panic!(
            "the test campaign does not compile: {:#?}",
            r.check.diagnostics
        )
    });
    Engine::new(plan).unwrap()
}

/// Users from `id:key=value,...`-free JSON lines.
pub fn users(lines: &[&str]) -> Vec<UserLine> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An event line: `ev("e1", "checkin", "u1", "2027-01-01T09:00:00Z", "{}")`.
pub fn ev(id: &str, kind: &str, user: &str, at: &str, data: &str) -> EventLine {
    serde_json::from_str(&format!(
        r#"{{"id":"{id}","type":"{kind}","user":"{user}","at":"{at}","data":{data}}}"#
    ))
    .unwrap()
}

/// An instant.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Runs users and events to `until` (or the end) and returns the effects as JSON lines,
/// after checking that every template rendered.
pub fn run(
    e: &Engine,
    users: &[UserLine],
    events: &[EventLine],
    until: Option<&str>,
) -> Vec<String> {
    let lines = effects(e, users, events, until);
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(r#""reason":"render""#))
        .collect();
    assert!(failed.is_empty(), "templates failed: {failed:?}");
    lines
}

/// Runs users and events to `until` (or the end) and returns the effects as JSON lines.
pub fn effects(
    e: &Engine,
    users: &[UserLine],
    events: &[EventLine],
    until: Option<&str>,
) -> Vec<String> {
    let mut state = e.start();
    for u in users {
        e.user(&mut state, u).unwrap();
    }
    let until = until.map_or(Until::End, |s| Until::At(t(s)));
    let out: Output = replay::run_events(e, &mut state, events, until);
    out.effects
        .iter()
        .map(|x| serde_json::to_string(x).unwrap())
        .collect()
}

/// The lines containing every one of `parts`.
pub fn having<'a>(lines: &'a [String], parts: &[&str]) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .collect()
}

/// How many lines contain every one of `parts`.
pub fn count(lines: &[String], parts: &[&str]) -> usize {
    having(lines, parts).len()
}

/// How often a property test's generator reached each rule, over all its cases, so a
/// generator that never reaches a rule fails the test instead of passing it vacuously.
#[derive(Default, Debug)]
pub struct Reach(pub std::collections::BTreeMap<&'static str, u64>);

impl Reach {
    /// Counts `n` more times `what` was reached.
    pub fn hit(&mut self, what: &'static str, n: u64) {
        *self.0.entry(what).or_default() += n;
    }

    /// Runs `check` on `cases` values of `strategy`, counting what each case reached,
    /// and returns the counts once every case passed (a failure panics with proptest's
    /// shrunk case; the counts then include the shrinking runs, which only adds to them).
    pub fn run<S: proptest::strategy::Strategy>(
        cases: u32,
        strategy: &S,
        check: impl Fn(S::Value, &mut Reach) -> Result<(), proptest::test_runner::TestCaseError>,
    ) -> Reach {
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases,
            ..proptest::test_runner::Config::default()
        });
        let reach = std::cell::RefCell::new(Reach::default());
        let result = runner.run(strategy, |v| check(v, &mut reach.borrow_mut()));
        result.unwrap();
        reach.into_inner()
    }

    /// Panics unless each of `rules` was reached at least `min` times.
    pub fn assert_each(&self, rules: &[&str], min: u64) {
        eprintln!("reached: {self:?}");
        for what in rules {
            let n = self.0.get(what).copied().unwrap_or(0);
            assert!(
                n >= min,
                "the generator reached `{what}` only {n} times: {self:?}"
            );
        }
    }
}
