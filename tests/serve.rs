//! `camp serve` through the real binary on loopback ports:
//! - every example scenario replayed over HTTP with `--clock manual` gives exactly the
//!   effects `camp run` prints, and the file sink gets every send;
//! - bad requests get JSON errors and change nothing; bearer auth; 413; 409;
//! - the system clock catches up on what was missed while the daemon was down;
//! - webhook delivery retries with the same idempotency key and dead-letters what
//!   cannot be delivered;
//! - the crash test: SIGKILL under concurrent load, 20+ times, with the snapshot
//!   damaged, cut short or swapped for another store's between kills, loses no
//!   acknowledged event, never grants twice or past stock, per_user or budget, and every
//!   send reaches the sink with a stable key;
//! - the hardening of #15: the seed (made once, kept, never served, `camp seed`), JSON
//!   for every error the HTTP layer answers, time limits on slow heads, stalled bodies
//!   and idle connections under a small open-files limit, a shutdown deadline against a
//!   half-sent request and a webhook that never answers, a log to `/dev/full`, and the
//!   catch-up window.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_engine::input::EventLine;
use camp_plan::literal::DateTimeLit;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_camp");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A directory of this test's own.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("camp-serve-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running daemon.
struct Daemon {
    child: Option<Child>,
    base: String,
    agent: ureq::Agent,
    token: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

impl Daemon {
    /// Starts `camp serve` with a manual clock and a file sink, and waits for its address.
    fn start(campaign: &Path, dir: &Path, extra: &[&str]) -> Daemon {
        Daemon::launch(campaign, dir, extra, None, "")
    }

    /// Starts `camp serve` as [`Daemon::start`] does, its stderr to `stderr` (default:
    /// `daemon.log`), through `sh -c '<shell>; exec camp …'` if `shell` is not empty.
    fn launch(
        campaign: &Path,
        dir: &Path,
        extra: &[&str],
        stderr: Option<std::fs::File>,
        shell: &str,
    ) -> Daemon {
        let sink = format!("file:{}", dir.join("sends.jsonl").display());
        let mut args = vec![
            "serve".to_string(),
            campaign.display().to_string(),
            "--db".into(),
            dir.join("camp.db").display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        if !extra.contains(&"--clock") {
            args.extend(["--clock".into(), "manual".into()]);
        }
        if !extra.contains(&"--sink") {
            args.extend(["--sink".into(), sink]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = stderr.unwrap_or_else(|| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("daemon.log"))
                .unwrap()
        });
        let mut command = if shell.is_empty() {
            Command::new(BIN)
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("{shell}; exec \"$0\" \"$@\""), BIN]);
            c
        };
        let mut child = command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
            panic!("the daemon did not start: {line:?}\n{log}");
        };
        Daemon {
            base: base.to_string(),
            child: Some(child),
            agent: agent(),
            token: None,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let response = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (m, b) => {
                let mut r = if m == "PUT" {
                    self.agent.put(&url)
                } else {
                    self.agent.post(&url)
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send(b.unwrap_or(""))
            }
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None)
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.call("POST", path, Some(body))
    }

    fn put(&self, path: &str, body: &str) -> (u16, Value) {
        self.call("PUT", path, Some(body))
    }

    fn clock(&self, at: &str) {
        let (status, body) = self.post("/v1/clock", &json!({ "now": at }).to_string());
        assert_eq!(status, 200, "clock to {at}: {body}");
    }

    /// Waits until the outbox has nothing pending.
    fn drained(&self) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, c) = self.get("/v1/campaign");
            if c["outbox"]["pending"] == json!(0) {
                return;
            }
            assert!(Instant::now() < until, "the outbox did not drain: {c}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        child.wait().unwrap()
    }

    /// SIGTERM, and how long the daemon took to exit (and its status).
    fn stop_timed(mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().unwrap();
        let started = Instant::now();
        assert!(Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let status = child.wait().unwrap();
        (status, started.elapsed())
    }

    /// The daemon's `host:port`.
    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// SIGKILL.
    fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("camp.db")).unwrap()
}

/// Every logged effect, in order.
fn logged_effects(dir: &Path) -> Vec<Value> {
    let conn = db(dir);
    let mut stmt = conn
        .prepare("SELECT body FROM effects ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
        .collect()
}

fn sink_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("sends.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn without_key(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("key");
    v
}

#[test]
fn every_example_scenario_over_http_gives_the_effects_of_camp_run() {
    let mut scenarios = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".test.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, s) in camp_engine::scenario::parse(&text)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            scenarios += 1;
            let name = format!(
                "{}-{n}",
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .replace(".test.yaml", "")
            );
            let d = dir(&name);
            let campaign = path.parent().unwrap().join(&s.campaign);
            let users: String = s
                .users
                .iter()
                .map(|u| serde_json::to_string(u).unwrap() + "\n")
                .collect();
            let events: String = s
                .events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap() + "\n")
                .collect();
            std::fs::write(d.join("users.jsonl"), users).unwrap();
            std::fs::write(d.join("events.jsonl"), events).unwrap();
            // Instants without an offset are local to the campaign, as `camp test` reads them.
            let zone = camp_engine::Engine::new(
                camp_compiler::compile_file(&camp_compiler::FsLoader, &campaign)
                    .unwrap()
                    .plan
                    .unwrap(),
            )
            .unwrap();
            let utc = |at: DateTimeLit| zone.calendar().resolve(at);
            let until = s.until.map(|u| utc(u).to_rfc3339());
            // Both sides draw from the same seed: the daemon's store is made with it,
            // and camp run is given it.
            let seed = format!("{:064x}", scenarios * 7919);
            std::fs::write(d.join("seed"), &seed).unwrap();
            let mut args = vec![
                "run".to_string(),
                campaign.display().to_string(),
                "--users".into(),
                d.join("users.jsonl").display().to_string(),
                "--events".into(),
                d.join("events.jsonl").display().to_string(),
                "--seed".into(),
                seed.clone(),
            ];
            if let Some(u) = &until {
                args.extend(["--until".into(), u.clone()]);
            }
            args.extend([
                "--report".into(),
                d.join("report.json").display().to_string(),
            ]);
            let replay = Command::new(BIN).args(&args).output().unwrap();
            let expected: Vec<Value> = String::from_utf8(replay.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();

            let seed_file = d.join("seed").display().to_string();
            // Moving the manual clock is a catch-up: a window longer than any campaign
            // sends everything due, as camp run does.
            let daemon = Daemon::start(
                &campaign,
                &d,
                &["--seed-file", &seed_file, "--catch-up-window", "36600d"],
            );
            for u in &s.users {
                daemon.put(
                    &format!("/v1/users/{}", u.id),
                    &serde_json::to_string(&u.attrs).unwrap(),
                );
            }
            let mut order: Vec<&EventLine> = s.events.iter().collect();
            order.sort_by_key(|e| utc(e.at));
            for e in order {
                if s.until.is_some_and(|u| utc(e.at) > utc(u)) {
                    continue;
                }
                daemon.clock(&utc(e.at).to_rfc3339());
                // The daemon takes instants with an offset.
                let mut body = serde_json::to_value(e).unwrap();
                body["at"] = json!(utc(e.at).to_rfc3339());
                let (status, answer) = daemon.post("/v1/events", &body.to_string());
                assert_eq!(status, 200, "{name}: {answer}");
            }
            daemon.clock(until.as_deref().unwrap_or("2100-01-01T00:00:00Z"));
            daemon.drained();
            // Every KPI, per arm and with its tests, as the replay's report has it.
            let report: Value =
                serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap())
                    .unwrap();
            let (status, kpis) = daemon.get("/v1/kpis");
            assert_eq!(status, 200, "{name}: {kpis}");
            assert_eq!(kpis["kpis"], report["kpis"], "{name}: the KPIs differ");
            assert!(daemon.stop().success(), "{name}: SIGTERM exits 0");

            let logged = logged_effects(&d);
            assert_eq!(
                logged.len(),
                expected.len(),
                "{name}: the daemon logged {} effects, camp run printed {}",
                logged.len(),
                expected.len()
            );
            for (i, (a, b)) in logged.iter().zip(&expected).enumerate() {
                assert_eq!(a, b, "{name}: effect #{i} differs");
            }
            let sends: Vec<&Value> = expected.iter().filter(|e| e["kind"] == "send").collect();
            let delivered: Vec<Value> = sink_lines(&d).into_iter().map(without_key).collect();
            assert_eq!(
                delivered.iter().collect::<Vec<_>>(),
                sends,
                "{name}: the sink got every send, in order"
            );
        }
    }
    assert!(scenarios >= 40, "only {scenarios} scenarios found");
}

/// `camp seed --db`, run while the daemon runs.
fn camp_seed(d: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["seed", "--db"])
        .arg(d.join("camp.db"))
        .output()
        .unwrap()
}

#[test]
fn the_seed_is_made_once_kept_never_served_and_revealed_by_camp_seed() {
    let d = dir("seed");
    let campaign = root().join("tests/fixtures/crash.camp");
    let daemon = Daemon::start(&campaign, &d, &[]);
    let revealed = camp_seed(&d);
    assert!(revealed.status.success(), "{revealed:?}");
    let seed = String::from_utf8(revealed.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(seed.len(), 64);
    assert!(seed.bytes().all(|b| b.is_ascii_hexdigit()));
    let published = camp_engine::random::Seed::from_hex(&seed)
        .unwrap()
        .sha256_hex();
    let (_, c) = daemon.get("/v1/campaign");
    assert_eq!(c["seed_sha256"], json!(published));
    for path in ["/v1/campaign", "/metrics", "/v1/kpis", "/healthz"] {
        let (_, body) = daemon.get(path);
        assert!(!body.to_string().contains(&seed), "{path} serves the seed");
    }
    assert!(daemon.stop().success());

    // A restart keeps it; the same seed given again is fine, another one is refused.
    std::fs::write(d.join("same"), &seed).unwrap();
    let same = d.join("same").display().to_string();
    let daemon = Daemon::start(&campaign, &d, &["--seed-file", &same]);
    assert_eq!(
        daemon.get("/v1/campaign").1["seed_sha256"],
        json!(published)
    );
    assert!(daemon.stop().success());
    std::fs::write(d.join("other"), "ab".repeat(32)).unwrap();
    let refused = Command::new(BIN)
        .args(["serve", campaign.to_str().unwrap(), "--db"])
        .arg(d.join("camp.db"))
        .args(["--listen", "127.0.0.1:0", "--seed-file"])
        .arg(d.join("other"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("different seed"));
    assert_eq!(
        String::from_utf8(camp_seed(&d).stdout).unwrap().trim(),
        seed
    );

    // A new store takes the seed file's; two new stores without one differ.
    let e = dir("seed-given");
    std::fs::write(e.join("seed"), "AB".repeat(32)).unwrap();
    let given = e.join("seed").display().to_string();
    let daemon = Daemon::start(&campaign, &e, &["--seed-file", &given]);
    assert!(daemon.stop().success());
    assert_eq!(
        String::from_utf8(camp_seed(&e).stdout).unwrap().trim(),
        "ab".repeat(32)
    );
    let f = dir("seed-random");
    assert!(Daemon::start(&campaign, &f, &[]).stop().success());
    assert_ne!(camp_seed(&f).stdout, camp_seed(&d).stdout);
    std::fs::write(f.join("short"), "abc").unwrap();
    let bad = Command::new(BIN)
        .args(["serve", campaign.to_str().unwrap(), "--db"])
        .arg(f.join("camp.db"))
        .args(["--seed-file"])
        .arg(f.join("short"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("64 hex digits"));
    assert_eq!(camp_seed(&dir("seed-none")).status.code(), Some(2));
}

#[test]
fn bad_requests_get_json_errors_and_change_nothing() {
    let d = dir("bad-requests");
    std::fs::write(d.join("token"), "s3cret\n").unwrap();
    let campaign = root().join("tests/fixtures/crash.camp");
    let token_file = d.join("token").display().to_string();
    let mut daemon = Daemon::start(
        &campaign,
        &d,
        &["--token-file", &token_file, "--max-body", "2048"],
    );
    // Open: /healthz. Everything else needs the token.
    assert_eq!(daemon.get("/healthz"), (200, json!({"status": "ok"})));
    let (status, body) = daemon.get("/v1/campaign");
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    daemon.token = Some("wrong".into());
    assert_eq!(daemon.get("/v1/kpis").0, 401);
    daemon.token = Some("s3cret".into());
    assert_eq!(daemon.get("/v1/kpis").0, 200);

    let (status, _) = daemon.put("/v1/users/u1", r#"{"nickname": "Lin"}"#);
    assert_eq!(status, 200);
    daemon.clock("2027-01-02T10:00:00Z");
    let inputs = |d: &Path| -> i64 {
        db(d)
            .query_row("SELECT count(*) FROM inputs", [], |r| r.get(0))
            .unwrap()
    };
    let before = inputs(&d);
    let long_path = format!("/v1/users/{}", "w".repeat(257));
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        (
            "POST",
            "/v1/events",
            r#"{"id": "e1", "type": "#.into(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/v1/events",
            r#"{"id": 1, "type": "checkin", "user": "u1"}"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/events",
            r#"[{"id": "e1", "type": "checkin", "user": "u1"}, 7]"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/events",
            r#"{"id": "e1", "type": "checkin", "user": "u1", "extra": 1}"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/events",
            format!(
                r#"{{"id": "big", "type": "checkin", "user": "u1", "data": {{"x": "{}"}}}}"#,
                "x".repeat(4096)
            ),
            413,
            "too_large",
        ),
        (
            "PUT",
            "/v1/users/u2",
            r#"["not", "an", "object"]"#.into(),
            400,
            "bad_shape",
        ),
        (
            "PUT",
            "/v1/users/u2",
            r#"{"nickname": 5}"#.into(),
            400,
            "bad_attribute",
        ),
        (
            "POST",
            "/v1/clock",
            r#"{"now": "2027-01-01T00:00:00Z"}"#.into(),
            409,
            "clock_backwards",
        ),
        (
            "POST",
            "/v1/clock",
            r#"{"now": "soon"}"#.into(),
            400,
            "bad_shape",
        ),
        ("POST", "/v1/nowhere", "{}".into(), 404, "not_found"),
        (
            "GET",
            "/v1/leaderboards/nope",
            String::new(),
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/participants/nobody",
            String::new(),
            404,
            "not_found",
        ),
        ("POST", "/v1/kpis", "{}".into(), 405, "method_not_allowed"),
        // Wrong shapes: an event, or the clock, written as an array; a replay user line
        // as the body; ids past 256 bytes; a clock finer than the log keeps.
        (
            "POST",
            "/v1/events",
            r#"[["q2", "checkin", "u1"]]"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/events",
            r#"["q2", "checkin", "u1"]"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/clock",
            r#"["2027-01-03T00:00:00Z"]"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/clock",
            r#"{"now": "2027-01-03T00:00:00.000000001Z"}"#.into(),
            400,
            "bad_shape",
        ),
        (
            "PUT",
            "/v1/users/w1",
            r#"{"id": "w1", "attrs": {"nickname": "Wu"}}"#.into(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/events",
            json!({"id": "x".repeat(257), "type": "checkin", "user": "u1"}).to_string(),
            400,
            "bad_shape",
        ),
        (
            "POST",
            "/v1/events",
            json!({"id": "e9", "type": "checkin", "user": "u".repeat(300)}).to_string(),
            400,
            "bad_shape",
        ),
        (
            "PUT",
            &long_path,
            r#"{"nickname": "Wu"}"#.into(),
            400,
            "bad_shape",
        ),
        (
            "GET",
            "/v1/leaderboards/regulars?top",
            String::new(),
            400,
            "bad_query",
        ),
        (
            "GET",
            "/v1/leaderboards/regulars?top=1&top=2",
            String::new(),
            400,
            "bad_query",
        ),
        (
            "GET",
            "/v1/leaderboards/regulars?top=%FF",
            String::new(),
            400,
            "bad_query",
        ),
        (
            "GET",
            "/v1/participants/%FF",
            String::new(),
            400,
            "bad_request",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = daemon.call(method, path, Some(&body));
        assert_eq!(got, status, "{method} {path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        assert!(answer["error"]["message"].is_string());
        assert!(
            !answer.to_string().contains("Incoming") && !answer.to_string().contains("struct"),
            "internal names: {answer}"
        );
    }
    // A `data` field the event type does not declare (a typo) is not ignored: the
    // event is rejected, naming it, and nothing is logged.
    let (status, answer) = daemon.post(
        "/v1/events",
        r#"{"id": "t1", "type": "buy", "user": "u1", "data": {"amout": "5 USD"}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"id": "t1", "result": "rejected", "reason": "bad_field", "field": "amout"})
    );
    assert_eq!(inputs(&d), before, "a refused request logs nothing");
    let (_, p) = daemon.get("/v1/participants/u1");
    assert_eq!(p["enrolled"], false);

    // A campaign rejection is a 200 with the reason, and is logged.
    let (status, answer) = daemon.post(
        "/v1/events",
        r#"{"id": "r1", "type": "buy", "user": "u1", "data": {"amount": "lots"}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"id": "r1", "result": "rejected", "reason": "bad_field"})
    );
    // A client's `at` is recorded, never used: the event happens on the daemon's clock.
    let (_, answer) = daemon.post(
        "/v1/events",
        r#"{"id": "c1", "type": "checkin", "user": "u1", "at": "2027-01-01T00:00:00Z"}"#,
    );
    assert_eq!(answer["result"], "accepted");
    assert_eq!(answer["effects"][0]["at"], "2027-01-02T10:00:00Z");
    let (_, answer) = daemon.post(
        "/v1/events",
        r#"[{"id": "c1", "type": "checkin", "user": "u1"}, {"id": "c2", "type": "checkin", "user": "ghost"}]"#,
    );
    assert_eq!(
        answer,
        json!([{"id": "c1", "result": "duplicate"}, {"id": "c2", "result": "rejected", "reason": "unknown_user"}])
    );
    let (_, metrics) = daemon.get("/metrics");
    let metrics = metrics.as_str().unwrap().to_string();
    for line in [
        "camp_events_total{outcome=\"accepted\"} 1",
        "camp_events_total{outcome=\"duplicate\"} 1",
        "camp_events_total{outcome=\"bad_field\"} 1",
        "camp_grants_total{reward=\"point\"} 1",
        "camp_stock_left{reward=\"coupon\"} 30",
        "camp_budget_left 200",
        "camp_store_commit_duration_seconds_count",
        "camp_http_request_duration_seconds_bucket{",
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line}:\n{metrics}");
    }
    // Leaderboards: ranks with scores, never past `show top`.
    let (status, board) = daemon.get("/v1/leaderboards/regulars?top=5%30");
    assert_eq!(status, 200);
    assert_eq!(
        board,
        json!({"name": "regulars", "phase": "main", "ranks": [{"rank": 1, "user": "u1", "score": 1}], "ranked": 1})
    );
    let (_, p) = daemon.get("/v1/participants/u1");
    assert_eq!(p["points"], 1);
    assert_eq!(p["ranks"], json!({"regulars": 1}));
    // A second daemon on the same store is refused.
    let second = Command::new(BIN)
        .args(["serve", campaign.to_str().unwrap(), "--db"])
        .arg(d.join("camp.db"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another camp serve is running"));
    // Also through a link to the same file: the lock is on the file, not its name.
    std::os::unix::fs::symlink(d.join("camp.db"), d.join("link.db")).unwrap();
    std::fs::hard_link(d.join("camp.db"), d.join("hard.db")).unwrap();
    for link in ["link.db", "hard.db"] {
        let second = Command::new(BIN)
            .args(["serve", campaign.to_str().unwrap(), "--db"])
            .arg(d.join(link))
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_eq!(second.status.code(), Some(1), "{link}");
        assert!(String::from_utf8_lossy(&second.stderr).contains("another camp serve is running"));
    }
    let (_, board) = daemon.get("/v1/campaign");
    assert_eq!(board["status"], "running");
    assert_eq!(board["phase"], "main");
    assert!(daemon.stop().success());
}

#[test]
fn the_system_clock_catches_up_on_what_was_missed() {
    let d = dir("catch-up");
    // The crash campaign, moved to have started and ended before today.
    let src = std::fs::read_to_string(root().join("tests/fixtures/crash.camp"))
        .unwrap()
        .replace("start    2027-01-01T00:00", "start    2020-01-01T00:00");
    let campaign = d.join("past.camp");
    std::fs::write(&campaign, src).unwrap();
    let daemon = Daemon::start(&campaign, &d, &["--clock", "system"]);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, c) = daemon.get("/v1/campaign");
        if c["status"] == "ended" {
            break;
        }
        assert!(Instant::now() < until, "never caught up: {c}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Events now are outside the campaign.
    daemon.put("/v1/users/u1", r#"{"nickname": "Lin"}"#);
    let (_, answer) = daemon.post(
        "/v1/events",
        r#"{"id": "e1", "type": "checkin", "user": "u1"}"#,
    );
    assert_eq!(answer["reason"], "outside");
    assert!(daemon.stop().success());
    let phases: Vec<Value> = logged_effects(&d)
        .into_iter()
        .filter(|e| e["kind"] == "phase")
        .collect();
    assert_eq!(
        phases,
        vec![
            json!({"kind": "phase", "at": "2020-01-01T00:00:00Z", "from": null, "to": "main"}),
            json!({"kind": "phase", "at": "2020-01-31T00:00:00Z", "from": "main", "to": null}),
        ]
    );
}

/// (idempotency key, body) of every request a webhook received.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver: answers 503 to the first attempt of every key, 400 for sends to
/// `doomed`, 200 otherwise; records (key, body) of every request.
fn webhook() -> (String, Requests) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut headers = HashMap::new();
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let len: usize = headers["content-length"].parse().unwrap();
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    let body = String::from_utf8(body).unwrap();
                    let key = headers["idempotency-key"].clone();
                    let status = {
                        let mut seen = log.lock().unwrap();
                        let first = !seen.iter().any(|(k, _)| *k == key);
                        seen.push((key, body.clone()));
                        if body.contains("\"user\":\"doomed\"") {
                            "400 Bad Request"
                        } else if first {
                            "503 Service Unavailable"
                        } else {
                            "200 OK"
                        }
                    };
                    let _ = write!(out, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                }
            });
        }
    });
    (url, seen)
}

#[test]
fn webhooks_retry_with_the_same_key_and_dead_letter_what_cannot_go() {
    let d = dir("webhook");
    let (url, seen) = webhook();
    let sink = format!("webhook:{url}");
    let daemon = Daemon::start(
        &root().join("tests/fixtures/crash.camp"),
        &d,
        &["--sink", &sink],
    );
    daemon.put("/v1/users/u1", r#"{"nickname": "Lin"}"#);
    daemon.put("/v1/users/doomed", r#"{"nickname": "Bo"}"#);
    daemon.clock("2027-01-01T10:00:00Z");
    for (id, user) in [("b1", "u1"), ("b2", "doomed")] {
        let (_, a) = daemon.post(
            "/v1/events",
            &json!({"id": id, "type": "buy", "user": user, "data": {"amount": "12 USD"}})
                .to_string(),
        );
        assert_eq!(a["result"], "accepted");
    }
    let until = Instant::now() + Duration::from_secs(20);
    let campaign = loop {
        let (_, c) = daemon.get("/v1/campaign");
        if c["outbox"]["pending"] == json!(0) {
            break c;
        }
        assert!(
            Instant::now() < until,
            "the webhook never got everything: {c}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        campaign["outbox"],
        json!({"pending": 0, "delivered": 1, "dead": 1})
    );
    let dead = &campaign["dead_letters"][0];
    assert_eq!(dead["send"]["user"], "doomed");
    assert_eq!(dead["attempts"], 1, "a 400 is not retried");
    assert!(dead["error"].as_str().unwrap().contains("400"));
    let seen = seen.lock().unwrap();
    let lin: Vec<&(String, String)> = seen.iter().filter(|(_, b)| b.contains("\"u1\"")).collect();
    assert_eq!(lin.len(), 2, "one 503, one retry: {seen:?}");
    assert_eq!(lin[0], lin[1], "the retry has the same key and body");
    assert!(lin[0].1.contains("here is a coupon"));
    assert!(daemon.stop().success());
}

/// Events the crash test sends: enough that the load outlasts the kills.
const EVENTS: usize = 40_000;

/// Events for the crash test: checkins and buys from 40 users, some big buys.
fn crash_events(n: usize) -> Vec<Value> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let user = format!("u{}", next() % 40);
            // Teams: every seven events share a key; its first open opens it, joins
            // before that or past three members count for nothing.
            let team = format!("k{}", i / 7);
            match next() % 6 {
                0 | 1 => json!({"id": format!("e{i}"), "type": "checkin", "user": user}),
                2 => json!({"id": format!("e{i}"), "type": "buy", "user": user, "data": {"amount": "15 USD"}}),
                3 => json!({"id": format!("e{i}"), "type": "buy", "user": user, "data": {"amount": "60 USD"}}),
                4 => json!({"id": format!("e{i}"), "type": "team_open", "user": user, "data": {"team_id": team}}),
                _ => json!({"id": format!("e{i}"), "type": "team_join", "user": user, "data": {"team_id": team}}),
            }
        })
        .collect()
}

/// What clients saw acknowledged.
#[derive(Default)]
struct Acked {
    /// Event id → the grants its answer listed, as (user, reward, cause).
    events: BTreeMap<String, Vec<(String, String, String)>>,
}

/// Posts batches from `queue` until it is empty or the daemon is gone; a batch that got
/// no answer goes back to `queue` (a client retries after a failure).
fn load(base: String, queue: Arc<Mutex<VecDeque<Vec<Value>>>>, acked: Arc<Mutex<Acked>>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent();
    loop {
        let Some(batch) = queue.lock().unwrap().pop_front() else {
            return;
        };
        let body = Value::Array(batch.clone()).to_string();
        let answer = agent
            .post(format!("{base}/v1/events"))
            .send(body.as_str())
            .ok()
            .filter(|r| r.status().as_u16() == 200)
            .and_then(|mut r| r.body_mut().read_to_string().ok());
        let Some(answer) = answer else {
            queue.lock().unwrap().push_back(batch);
            return;
        };
        let results: Vec<Value> = serde_json::from_str(&answer).unwrap();
        let mut acked = acked.lock().unwrap();
        for r in results {
            let grants = r["effects"]
                .as_array()
                .map(|effects| {
                    effects
                        .iter()
                        .filter(|e| e["kind"] == "grant")
                        .map(|e| {
                            (
                                e["user"].as_str().unwrap().to_string(),
                                e["reward"].as_str().unwrap().to_string(),
                                e["cause"].as_str().unwrap().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let id = r["id"].as_str().unwrap().to_string();
            // A retried event answers `duplicate` the second time: keep the first answer.
            acked.events.entry(id).or_insert(grants);
        }
    }
}

#[test]
fn killed_twenty_times_under_load_the_store_stays_exact() {
    let d = dir("crash");
    let campaign = root().join("tests/fixtures/crash.camp");
    let events = crash_events(EVENTS);
    let mut batches: VecDeque<Vec<Value>> = VecDeque::new();
    let mut size = 1;
    let mut rest = events.as_slice();
    while !rest.is_empty() {
        let n = size.min(rest.len());
        batches.push_back(rest[..n].to_vec());
        rest = &rest[n..];
        size = size % 17 + 1;
    }
    let queue = Arc::new(Mutex::new(batches));
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    let mut hour = 9;
    // Another store of the same campaign, whose snapshot is swapped in now and then.
    let foreign = {
        let f = dir("crash-foreign");
        let other = Daemon::start(&campaign, &f, &["--snapshot-every", "1"]);
        other.put("/v1/users/u0", r#"{"nickname": "Other"}"#);
        other.clock("2027-01-01T10:00:00Z");
        other.post(
            "/v1/events",
            r#"{"id": "x1", "type": "buy", "user": "u0", "data": {"amount": "60 USD"}}"#,
        );
        assert!(other.stop().success());
        std::fs::read(f.join("camp.db.snapshot")).unwrap()
    };
    let snapshot = d.join("camp.db.snapshot");
    let mut damaged = 0;
    for round in 0.. {
        // Between kills, the snapshot is damaged: a bit flipped, cut short, or another
        // store's. The log is the truth: recovery sets such a snapshot aside.
        if let Ok(mut bytes) = std::fs::read(&snapshot) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let at = (rng >> 8) as usize % bytes.len().max(1);
            match round % 4 {
                1 => {
                    bytes[at] ^= 1 << (rng % 8);
                    std::fs::write(&snapshot, &bytes).unwrap();
                    damaged += 1;
                }
                2 => {
                    std::fs::write(&snapshot, &bytes[..at]).unwrap();
                    damaged += 1;
                }
                3 => {
                    std::fs::write(&snapshot, &foreign).unwrap();
                    damaged += 1;
                }
                _ => {}
            }
        }
        let daemon = Daemon::start(&campaign, &d, &["--snapshot-every", "300"]);
        // Whatever the snapshot was, the state agrees with the ledger.
        let (_, summary) = daemon.get("/v1/campaign");
        agrees_with_ledger(&d, &summary);
        if round == 0 {
            for u in 0..40 {
                let (status, _) = daemon.put(
                    &format!("/v1/users/u{u}"),
                    &json!({"nickname": format!("N{u}")}).to_string(),
                );
                assert_eq!(status, 200);
            }
        }
        // Each round is a new hour of the campaign (crossing 09:00 sends fire).
        hour += 7;
        daemon.clock(&format!(
            "2027-01-{:02}T{:02}:00:00Z",
            1 + hour / 24,
            hour % 24
        ));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let (base, q, a) = (daemon.base.clone(), Arc::clone(&queue), Arc::clone(&acked));
                std::thread::spawn(move || load(base, q, a))
            })
            .collect();
        if kills < 22 && !queue.lock().unwrap().is_empty() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            std::thread::sleep(Duration::from_millis(10 + rng % 90));
            daemon.kill();
            kills += 1;
            for c in clients {
                c.join().unwrap();
            }
            continue;
        }
        for c in clients {
            c.join().unwrap();
        }
        assert!(queue.lock().unwrap().is_empty());
        // Run the campaign out, let the outbox drain, stop cleanly.
        daemon.clock("2027-02-01T00:00:00Z");
        daemon.drained();
        let (_, summary) = daemon.get("/v1/campaign");
        assert!(daemon.stop().success());
        assert!(kills >= 20, "only {kills} kills");
        assert!(d.join("camp.db.snapshot").exists(), "snapshots were taken");
        assert!(damaged >= 10, "only {damaged} snapshots damaged");
        let log = std::fs::read_to_string(d.join("daemon.log")).unwrap();
        assert!(log.contains("the snapshot is set aside"), "never set aside");
        assert!(!log.contains("panicked"), "a thread panicked");
        check_store(&d, &acked.lock().unwrap(), &summary);
        return;
    }
}

/// The grants per reward in `/v1/campaign` are the ledger's.
fn agrees_with_ledger(d: &Path, summary: &Value) {
    let conn = db(d);
    for r in summary["rewards"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let n = conn
            .query_row(
                "SELECT count(*) FROM ledger WHERE kind = 'grant' AND reward = ?1",
                [name],
                |row| row.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(r["granted"], json!(n), "{name}: state and ledger disagree");
    }
}

fn check_store(d: &Path, acked: &Acked, summary: &Value) {
    let conn = db(d);
    // Every acknowledged event is in the log, once.
    let mut logged: HashMap<String, i64> = HashMap::new();
    let mut stmt = conn
        .prepare("SELECT key, count(*) FROM inputs WHERE kind = 1 GROUP BY key")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (k, n) = row.unwrap();
        logged.insert(k, n);
    }
    assert_eq!(
        acked.events.len(),
        EVENTS,
        "every event was acknowledged in the end"
    );
    for id in acked.events.keys() {
        assert!(
            logged.contains_key(id),
            "acknowledged event {id} is not in the store"
        );
    }
    // Each acknowledged grant is in the ledger.
    let mut ledger: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT user, reward, cause, coalesce(event, ''), count(*) FROM ledger WHERE kind = 'grant' GROUP BY 1, 2, 3, 4")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?),
                r.get::<_, i64>(4)?,
            ))
        })
        .unwrap()
    {
        let (k, n) = row.unwrap();
        // Never granted twice for the same cause and event. Time-driven grants have no
        // event: an opener is paid once per expired group, checked below.
        if !k.3.is_empty() {
            assert_eq!(n, 1, "granted {n} times: {k:?}");
        }
        ledger.insert(k, n);
    }
    for (id, grants) in &acked.events {
        for (user, reward, cause) in grants {
            assert!(
                ledger.contains_key(&(user.clone(), reward.clone(), cause.clone(), id.clone())),
                "acknowledged grant of {reward} to {user} for {id} is not in the ledger"
            );
        }
    }
    // Stock, per_user and budget hold.
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let coupons = count("SELECT count(*) FROM ledger WHERE kind = 'grant' AND reward = 'coupon'");
    let mugs = count("SELECT count(*) FROM ledger WHERE kind = 'grant' AND reward = 'mug'");
    assert!(coupons <= 30, "{coupons} coupons, stock 30");
    assert!(mugs <= 8, "{mugs} mugs, stock 8");
    assert!(coupons * 5 + mugs * 10 <= 200, "spent past the budget");
    assert!(
        count("SELECT count(*) FROM ledger WHERE kind = 'deny'") > 0,
        "the test never hit a limit"
    );
    let most = count("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM ledger WHERE kind = 'grant' AND reward = 'coupon' GROUP BY user)");
    assert!(most <= 2, "a user holds {most} coupons, per_user 2");
    // The state rebuilt after every crash agrees with the ledger.
    agrees_with_ledger(d, summary);
    // Every send reached the sink, with a stable key and body.
    let mut outbox: BTreeMap<String, Value> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT key, body FROM outbox").unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (k, b) = row.unwrap();
        outbox.insert(k, serde_json::from_str(&b).unwrap());
    }
    let sends = count("SELECT count(*) FROM effects WHERE kind = 'send'");
    assert_eq!(outbox.len() as i64, sends, "one outbox entry per send");
    assert!(sends > 0);
    let mut delivered: BTreeSet<String> = BTreeSet::new();
    for line in sink_lines(d) {
        let key = line["key"].as_str().unwrap().to_string();
        assert_eq!(
            Some(&line),
            outbox.get(&key),
            "a delivery differs from its send"
        );
        delivered.insert(key);
    }
    let missing: Vec<&String> = outbox.keys().filter(|k| !delivered.contains(*k)).collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    // Every group opened ended exactly once, with no more than three members, and the
    // raffle never drew a winner twice.
    let group = |change: &str| {
        count(&format!(
            "SELECT count(*) FROM effects WHERE kind = 'group' AND json_extract(body, '$.change') = '{change}'"
        ))
    };
    let (opened, filled, expired) = (group("open"), group("filled"), group("expired"));
    assert!(
        filled > 0 && expired > 0,
        "{filled} filled, {expired} expired"
    );
    assert_eq!(
        opened,
        filled + expired,
        "every group ends once, by the campaign's end"
    );
    let ends = count("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM effects WHERE kind = 'group' AND json_extract(body, '$.change') IN ('filled', 'expired') GROUP BY json_extract(body, '$.key'))");
    assert_eq!(ends, 1, "a group ended twice");
    let members = count("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM effects WHERE kind = 'group' AND json_extract(body, '$.change') IN ('open', 'join') GROUP BY json_extract(body, '$.key'))");
    assert!(members <= 3, "a group of {members}, size 3");
    let winners = count("SELECT count(*) FROM effects WHERE kind IN ('grant', 'deny') AND json_extract(body, '$.cause') = 'raffle:lucky'");
    let distinct = count("SELECT count(DISTINCT user) FROM effects WHERE kind IN ('grant', 'deny') AND json_extract(body, '$.cause') = 'raffle:lucky'");
    assert!(winners > 0, "the raffle never drew");
    assert_eq!(winners, distinct, "a raffle winner drawn twice");
}

/// Sends raw bytes on a new connection and reads the answer until the daemon closes the
/// connection (or 5 s pass): (status, JSON body, the whole answer).
fn raw(addr: &str, request: &[u8]) -> (u16, Value, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                // One answer is enough: stop at the end of its body.
                let text = String::from_utf8_lossy(&answer).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    });
                    if len.is_some_and(|n| body.len() >= n) {
                        break;
                    }
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
        text,
    )
}

#[test]
fn every_error_is_json_even_those_the_http_layer_answers() {
    let d = dir("raw-errors");
    let daemon = Daemon::start(
        &root().join("tests/fixtures/crash.camp"),
        &d,
        &["--max-body", "2048"],
    );
    let addr = daemon.addr();
    let huge_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(80_000)
    );
    let huge_path = format!(
        "GET /v1/participants/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(80_000)
    );
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a path that is not UTF-8", b"GET /v1/participants/%FF HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("a huge header", huge_header.into_bytes(), 431),
        ("a huge path", huge_path.into_bytes(), 431),
        ("a negative length", b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}".to_vec(), 400),
        ("two lengths", b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".to_vec(), 400),
        ("HTTP/0.9", b"GET /healthz\r\n\r\n".to_vec(), 400),
        ("a bad method", b"G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
    ];
    for (what, request, status) in cases {
        let (got, body, text) = raw(&addr, &request);
        assert_eq!(got, status, "{what}: {text}");
        assert!(body["error"]["code"].is_string(), "{what}: {text}");
        assert!(body["error"]["message"].is_string(), "{what}: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{what}: {text}"
        );
    }
    // A declared length over --max-body is answered at once, without `100 Continue`
    // and without waiting for the body.
    let started = Instant::now();
    let (got, body, text) = raw(
        &addr,
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(got, 413, "{text}");
    assert_eq!(body["error"]["code"], "too_large");
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The daemon is fine.
    assert_eq!(daemon.get("/healthz").0, 200);
    assert!(daemon.stop().success());
}

#[test]
fn slow_stalled_and_idle_connections_are_closed_and_never_starve_the_daemon() {
    let d = dir("slow");
    // An open-files limit too small for the connections below: the daemon raises its
    // soft limit to the hard one at start.
    let daemon = Daemon::launch(
        &root().join("tests/fixtures/crash.camp"),
        &d,
        &[],
        None,
        "ulimit -Sn 256",
    );
    let addr = daemon.addr();
    let idle: Vec<std::net::TcpStream> = (0..300)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let started = Instant::now();
    let (status, _) = daemon.get("/healthz");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A head that never ends, and a body that stalls.
    let mut slow_head = std::net::TcpStream::connect(&addr).unwrap();
    slow_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let stalled = std::thread::spawn({
        let addr = addr.clone();
        move || {
            let started = Instant::now();
            let (status, body, text) = {
                let mut s = std::net::TcpStream::connect(&addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                s.write_all(
                    b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\"",
                )
                .unwrap();
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                let status: u16 = text
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let body = text
                    .split_once("\r\n\r\n")
                    .map_or("", |(_, b)| b)
                    .to_string();
                (
                    status,
                    serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
                    text,
                )
            };
            (status, body, text, started.elapsed())
        }
    });
    let closed_within = |mut s: std::net::TcpStream| {
        let started = Instant::now();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        (n, started.elapsed())
    };
    let (n, waited) = closed_within(slow_head);
    assert_eq!(n, 0, "a slow head gets no answer");
    assert!(
        waited < Duration::from_secs(15),
        "slow head open for {waited:?}"
    );
    for s in idle.into_iter().take(3) {
        let (n, _) = closed_within(s);
        assert_eq!(n, 0);
    }
    let (status, body, text, waited) = stalled.join().unwrap();
    assert_eq!(status, 408, "{text}");
    assert_eq!(body["error"]["code"], "timeout");
    assert!(
        waited < Duration::from_secs(40),
        "stalled body open for {waited:?}"
    );
    assert!(daemon.stop().success());
}

/// A webhook that takes every request and never answers; counts them.
fn black_hole() -> (String, Arc<Mutex<usize>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(0));
    let count = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            *count.lock().unwrap() += 1;
            held.push(stream);
        }
    });
    (url, seen)
}

#[test]
fn shutdown_has_a_deadline_whatever_the_clients_and_the_webhook_do() {
    let d = dir("shutdown");
    let (url, seen) = black_hole();
    let sink = format!("webhook:{url}");
    let daemon = Daemon::start(
        &root().join("tests/fixtures/crash.camp"),
        &d,
        &["--sink", &sink, "--max-attempts", "2"],
    );
    daemon.put("/v1/users/u1", r#"{"nickname": "Lin"}"#);
    daemon.clock("2027-01-01T10:00:00Z");
    for id in ["b1", "b2", "b3"] {
        let (_, a) = daemon.post(
            "/v1/events",
            &json!({"id": id, "type": "buy", "user": "u1", "data": {"amount": "12 USD"}})
                .to_string(),
        );
        assert_eq!(a["result"], "accepted");
    }
    // A request whose body never finishes.
    let mut half = std::net::TcpStream::connect(daemon.addr()).unwrap();
    half.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (status, took) = daemon.stop_timed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(13), "shutdown took {took:?}");
    // Nothing was given up on: what was not delivered waits for the next start.
    let conn = db(&d);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM outbox WHERE status = 2"), 0);
    assert_eq!(count("SELECT count(*) FROM outbox WHERE status = 0"), 2);
    assert!(
        *seen.lock().unwrap() <= 2,
        "{} attempts",
        seen.lock().unwrap()
    );
    drop(half);
}

#[test]
fn a_log_that_cannot_be_written_never_stops_the_daemon() {
    let d = dir("dev-full");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let daemon = Daemon::launch(
        &root().join("tests/fixtures/crash.camp"),
        &d,
        &["--snapshot-every", "1"],
        Some(full),
        "",
    );
    assert_eq!(daemon.get("/healthz"), (200, json!({"status": "ok"})));
    daemon.put("/v1/users/u1", r#"{"nickname": "Lin"}"#);
    daemon.clock("2027-01-01T10:00:00Z");
    for i in 0..20 {
        let (status, a) = daemon.post(
            "/v1/events",
            &json!({"id": format!("e{i}"), "type": "checkin", "user": "u1"}).to_string(),
        );
        assert_eq!(status, 200, "{a}");
    }
    // Snapshots were taken (and logged, into nothing) and the daemon still writes.
    assert!(d.join("camp.db.snapshot").exists());
    assert_eq!(daemon.get("/healthz").0, 200);
    assert_eq!(daemon.get("/v1/participants/u1").1["points"], 3);
    assert!(daemon.stop().success());
}

#[test]
fn sends_missed_for_longer_than_the_catch_up_window_are_stale_not_late() {
    let d = dir("stale");
    let campaign = root().join("tests/fixtures/crash.camp");
    let daemon = Daemon::start(&campaign, &d, &[]);
    daemon.put("/v1/users/u1", r#"{"nickname": "Lin"}"#);
    daemon.clock("2027-01-01T08:00:00Z");
    let (_, a) = daemon.post(
        "/v1/events",
        r#"{"id": "e1", "type": "checkin", "user": "u1"}"#,
    );
    assert_eq!(a["result"], "accepted");
    // 30 minutes late: within the default hour, sent.
    daemon.clock("2027-01-01T09:30:00Z");
    // Two days on: the 2nd's 09:00 is a day late (stale), the 3rd's 20 minutes (sent).
    daemon.clock("2027-01-03T09:20:00Z");
    let (_, a) = daemon.post(
        "/v1/events",
        r#"{"id": "e2", "type": "checkin", "user": "u1"}"#,
    );
    assert_eq!(a["result"], "accepted", "grants still apply");
    daemon.drained();
    let (_, before) = daemon.get("/v1/participants/u1");
    daemon.kill();
    let mornings: Vec<(String, String)> = logged_effects(&d)
        .into_iter()
        .filter(|e| e["message"] == "morning")
        .map(|e| {
            (
                e["at"].as_str().unwrap().to_string(),
                format!(
                    "{}:{}",
                    e["kind"].as_str().unwrap(),
                    e["reason"].as_str().unwrap_or("")
                ),
            )
        })
        .collect();
    assert_eq!(
        mornings,
        vec![
            ("2027-01-01T09:00:00Z".to_string(), "send:".to_string()),
            (
                "2027-01-02T09:00:00Z".to_string(),
                "suppress:stale".to_string()
            ),
            ("2027-01-03T09:00:00Z".to_string(), "send:".to_string()),
        ]
    );
    let delivered: Vec<String> = sink_lines(&d)
        .iter()
        .filter(|l| l["message"] == "morning")
        .map(|l| l["at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(delivered, ["2027-01-01T09:00:00Z", "2027-01-03T09:00:00Z"]);
    // The window is in the log: a restart with another window rebuilds the same state.
    std::fs::remove_file(d.join("camp.db.snapshot")).ok();
    let daemon = Daemon::start(&campaign, &d, &["--catch-up-window", "36600d"]);
    assert_eq!(daemon.get("/v1/participants/u1").1, before);
    assert!(daemon.stop().success());
    let bad = Command::new(BIN)
        .args(["serve", campaign.to_str().unwrap(), "--db"])
        .arg(d.join("camp.db"))
        .args(["--catch-up-window", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// `GET /v1/groups/{group}/{key}` shows a group's state, opener and members in join
/// order; an accepted event lists the tasks that matched it without counting it, and
/// why (a join to a group that does not exist, a redemption without the points).
#[test]
fn groups_are_served_and_answers_say_why_a_task_did_not_count() {
    let d = dir("groups");
    let daemon = Daemon::start(&root().join("examples/team_buy.camp"), &d, &[]);
    for u in ["ann", "bo", "cy"] {
        let (status, _) = daemon.put(
            &format!("/v1/users/{u}"),
            &json!({"nickname": u, "verified": true}).to_string(),
        );
        assert_eq!(status, 200);
    }
    daemon.clock("2027-11-04T02:00:00Z");
    let (_, answer) = daemon.post(
        "/v1/events",
        r#"[{"id": "o1", "type": "team_opened", "user": "ann", "at": "2027-11-04T10:00", "data": {"team_id": "t1"}},
            {"id": "j1", "type": "team_joined", "user": "bo", "data": {"team_id": "t1"}},
            {"id": "j2", "type": "team_joined", "user": "cy", "data": {"team_id": "nope"}}]"#,
    );
    // A sender's `at` may be local to the campaign's zone, as in replay; it is recorded,
    // never the event's time.
    assert_eq!(answer[0]["result"], "accepted", "{}", answer[0]);
    assert_eq!(answer[1]["result"], "accepted");
    assert!(answer[1].get("unmatched").is_none(), "{}", answer[1]);
    let (status, err) = daemon.post(
        "/v1/events",
        r#"{"id": "bad", "type": "team_opened", "user": "ann", "at": "yesterday", "data": {"team_id": "t9"}}"#,
    );
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a date and time"),
        "{err}"
    );
    assert_eq!(answer[2]["result"], "accepted");
    assert_eq!(
        answer[2]["unmatched"],
        json!([{"task": "join_team", "why": "group"}])
    );
    let (status, group) = daemon.get("/v1/groups/team/t1");
    assert_eq!(status, 200, "{group}");
    assert_eq!(group["state"], "open");
    assert_eq!(group["opener"], "ann");
    assert_eq!(group["members"], json!(["ann", "bo"]));
    assert_eq!(group["opened"], "2027-11-04T02:00:00Z");
    assert_eq!(group["expires"], "2027-11-05T02:00:00Z");
    let (_, _) = daemon.post(
        "/v1/events",
        r#"{"id": "j3", "type": "team_joined", "user": "cy", "data": {"team_id": "t1"}}"#,
    );
    let (_, group) = daemon.get("/v1/groups/team/t1");
    assert_eq!(group["state"], "filled");
    assert_eq!(group["members"], json!(["ann", "bo", "cy"]));
    let (status, err) = daemon.get("/v1/groups/team/nope");
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found");
    let (status, err) = daemon.get("/v1/groups/tema/t1");
    assert_eq!(status, 404);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("team, cut"),
        "{err}"
    );
    assert!(daemon.stop().success());
}

/// Per-participant timers (`D after enroll|TASK`), inactivity spells, a dated grant and
/// the period ends of a weekly board each fire exactly once, as `camp run` has them,
/// however the daemon is killed or stopped between them and however far its clock
/// jumps at once (a catch-up over several of them).
#[test]
fn timers_and_board_periods_fire_once_across_restarts_and_catch_up() {
    let d = dir("timers");
    let campaign = root().join("tests/fixtures/timers.camp");
    let users = [("u1", "Lin"), ("u2", "Bo"), ("u3", "Ana")];
    // Clock instants, with the check-ins sent at each.
    let steps: [(&str, &[(&str, &str)]); 8] = [
        ("2027-01-03T00:00:00Z", &[]),
        ("2027-01-04T09:00:00Z", &[("e1", "u1"), ("e2", "u2")]),
        ("2027-01-05T10:00:00Z", &[("e3", "u1")]),
        // Past the welcomes, both follow-ups, the dated badge and three inactivity sends.
        ("2027-01-10T00:00:00Z", &[("e4", "u3")]),
        // Past the first week's end.
        ("2027-01-12T08:00:00Z", &[("e5", "u3"), ("e6", "u2")]),
        ("2027-01-13T08:00:00Z", &[("e7", "u3")]),
        ("2027-01-20T08:00:00Z", &[("e8", "u2")]),
        // Past the second week's end, the third's (the phase's end) and the campaign's.
        ("2027-01-30T00:00:00Z", &[]),
    ];
    let window = ["--catch-up-window", "36600d"];
    let mut daemon = Daemon::start(&campaign, &d, &window);
    for (id, name) in users {
        let (status, _) = daemon.put(
            &format!("/v1/users/{id}"),
            &json!({ "nickname": name }).to_string(),
        );
        assert_eq!(status, 200);
    }
    let mut events = String::new();
    for (n, (at, sent)) in steps.iter().enumerate() {
        daemon.clock(at);
        for (id, user) in sent.iter() {
            let (status, answer) = daemon.post(
                "/v1/events",
                &json!({ "id": id, "type": "checkin", "user": user }).to_string(),
            );
            assert_eq!(
                (status, answer["result"].as_str()),
                (200, Some("accepted")),
                "{answer}"
            );
            events += &(json!({ "id": id, "type": "checkin", "user": user, "at": at }).to_string()
                + "\n");
        }
        // Between steps: killed, stopped, or restarted from the log alone.
        match n % 3 {
            0 => daemon.kill(),
            1 => assert!(daemon.stop().success()),
            _ => {
                daemon.kill();
                std::fs::remove_file(d.join("camp.db.snapshot")).ok();
            }
        }
        daemon = Daemon::start(&campaign, &d, &window);
    }
    daemon.drained();
    assert!(daemon.stop().success());

    let user_lines: String = users
        .iter()
        .map(|(id, name)| json!({ "id": id, "attrs": { "nickname": name } }).to_string() + "\n")
        .collect();
    std::fs::write(d.join("users.jsonl"), user_lines).unwrap();
    std::fs::write(d.join("events.jsonl"), events).unwrap();
    let replay = Command::new(BIN)
        .arg("run")
        .arg(&campaign)
        .arg("--users")
        .arg(d.join("users.jsonl"))
        .arg("--events")
        .arg(d.join("events.jsonl"))
        .args(["--until", "2027-01-30T00:00:00Z"])
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let expected: Vec<Value> = String::from_utf8(replay.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let logged = logged_effects(&d);
    assert_eq!(logged, expected, "the daemon's effects are camp run's");

    // Each timer fired once per participant, and each board period awarded once.
    let count = |kind: &str, field: &str, name: &str, user: &str| {
        logged
            .iter()
            .filter(|e| e["kind"] == kind && e[field] == name && e["user"] == user)
            .count()
    };
    for (user, _) in users {
        assert_eq!(
            count("send", "message", "welcome", user),
            1,
            "welcome to {user}"
        );
        assert_eq!(
            count("grant", "reward", "badge_gift", user),
            1,
            "badge to {user}"
        );
    }
    assert_eq!(count("send", "message", "follow_up", "u1"), 1);
    assert_eq!(count("send", "message", "follow_up", "u2"), 1);
    assert_eq!(count("send", "message", "follow_up", "u3"), 1);
    // u3: inactive from enrollment until the 10th, then again after the 13th.
    assert_eq!(count("send", "message", "miss_you", "u3"), 2);
    let hampers: Vec<&str> = logged
        .iter()
        .filter(|e| e["kind"] == "grant" && e["reward"] == "hamper")
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert_eq!(
        hampers,
        [
            "2027-01-11T00:00:00Z",
            "2027-01-18T00:00:00Z",
            "2027-01-25T00:00:00Z"
        ],
        "one award at each week's end"
    );
    // Every send reached the sink (at least once; a kill may repeat a delivery).
    let sends = logged.iter().filter(|e| e["kind"] == "send").count();
    let keys: std::collections::BTreeSet<String> = sink_lines(&d)
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), sends);
}

#[test]
fn a_streak_freeze_without_one_held_is_answered_balance() {
    let d = dir("freeze");
    let daemon = Daemon::start(&root().join("examples/streak_challenge.camp"), &d, &[]);
    let (status, _) = daemon.put("/v1/users/lea", &json!({"name": "Lea"}).to_string());
    assert_eq!(status, 200);
    // Asia/Singapore, +08:00: lessons on 01-04 and 01-05, two days without one after.
    daemon.clock("2027-01-04T11:00:00Z");
    let (_, answer) = daemon.post(
        "/v1/events",
        r#"{"id": "l1", "type": "practice", "user": "lea", "data": {"frozen": false}}"#,
    );
    assert_eq!(answer["result"], "accepted", "{answer}");
    daemon.clock("2027-01-05T11:00:00Z");
    daemon.post(
        "/v1/events",
        r#"{"id": "l2", "type": "practice", "user": "lea", "data": {"frozen": false}}"#,
    );
    // 01-06 23:55: the freeze Lea got on joining saves the day.
    daemon.clock("2027-01-06T15:55:00Z");
    let (_, saved) = daemon.post(
        "/v1/events",
        r#"{"id": "f1", "type": "practice", "user": "lea", "data": {"frozen": true}}"#,
    );
    assert_eq!(saved["result"], "accepted", "{saved}");
    let unmatched = saved["unmatched"].as_array().cloned().unwrap_or_default();
    assert!(
        !unmatched.iter().any(|u| u["task"] == "spend_freeze"),
        "{saved}"
    );
    // 01-07 23:55: none left. The event is accepted, but the freeze task says why it did
    // not count, and so does the streak (its `where` needs the freeze to have counted).
    daemon.clock("2027-01-07T15:55:00Z");
    let (_, refused) = daemon.post(
        "/v1/events",
        r#"{"id": "f2", "type": "practice", "user": "lea", "data": {"frozen": true}}"#,
    );
    assert_eq!(refused["result"], "accepted", "{refused}");
    let unmatched = refused["unmatched"].as_array().cloned().unwrap_or_default();
    assert!(
        unmatched.contains(&json!({"task": "spend_freeze", "why": "balance"})),
        "{refused}"
    );
    assert!(
        unmatched.contains(&json!({"task": "streak_day", "why": "where"})),
        "{refused}"
    );
    assert!(daemon.stop().success());
    let uses: Vec<Value> = logged_effects(&d)
        .into_iter()
        .filter(|e| e["kind"] == "use")
        .collect();
    assert_eq!(uses.len(), 1, "{uses:?}");
    assert_eq!(uses[0]["event"], "f1");
}

#[test]
fn participants_show_their_variants_and_keep_them_across_a_restart() {
    let d = dir("variants");
    let campaign = root().join("examples/ab_launch.camp");
    let daemon = Daemon::start(&campaign, &d, &[]);
    for u in ["lin", "bo", "ting"] {
        daemon.put(
            &format!("/v1/users/{u}"),
            r#"{"nickname": "N", "locale": "en"}"#,
        );
    }
    daemon.clock("2027-05-10T02:00:00Z");
    daemon.drained();
    // The arms of examples/ab_launch.test.yaml: ting is in the holdout.
    let (_, lin) = daemon.get("/v1/participants/lin");
    assert_eq!(lin["variants"], json!({"launch_copy": "control"}), "{lin}");
    let (_, bo) = daemon.get("/v1/participants/bo");
    assert_eq!(bo["variants"], json!({"launch_copy": "bold"}), "{bo}");
    let (_, ting) = daemon.get("/v1/participants/ting");
    assert_eq!(ting["standing"], "holdout");
    assert!(ting.get("variants").is_none(), "{ting}");
    // Known while the campaign runs (`enroll audience`): enrolled, given a variant and
    // sent the launch copy at once, not at the next input.
    daemon.clock("2027-05-10T05:00:00Z");
    let (status, answer) = daemon.put("/v1/users/mei", r#"{"nickname": "Mei", "locale": "en"}"#);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["standing"], "participant", "{answer}");
    let (_, mei) = daemon.get("/v1/participants/mei");
    assert_eq!(mei["variants"], json!({"launch_copy": "control"}), "{mei}");
    assert!(daemon.stop().success());
    let mine: Vec<Value> = logged_effects(&d)
        .into_iter()
        .filter(|e| e["user"] == "mei")
        .collect();
    let kinds: Vec<&str> = mine.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["enroll", "assign", "send"], "{mine:?}");
    assert!(
        mine.iter().all(|e| e["at"] == "2027-05-10T05:00:00Z"),
        "{mine:?}"
    );
    // From the snapshot, and from the log alone: the same arms.
    let daemon = Daemon::start(&campaign, &d, &[]);
    assert_eq!(daemon.get("/v1/participants/lin").1, lin);
    assert!(daemon.stop().success());
    std::fs::remove_file(d.join("camp.db.snapshot")).ok();
    let daemon = Daemon::start(&campaign, &d, &[]);
    assert_eq!(daemon.get("/v1/participants/bo").1, bo);
    assert_eq!(daemon.get("/v1/participants/mei").1, mei);
    assert!(daemon.stop().success());
}
