//! The daemon under load: `camp serve` (the release binary) on loopback, driven by a
//! small load generator (tokio + hyper, one thread), on `benches/replay.camp`.
//!
//! `cargo bench --bench serve` runs, in order, and prints a Markdown table:
//! 1. users: `PUT /v1/users/{id}` for every user, 64 connections;
//! 2. batched: events posted 1,000 a request, 4 connections;
//! 3. single: one event a request, 64 connections, as fast as they are answered;
//! 4. half load: one event a request, 64 connections, at half the rate of (3), paced
//!    (latency counted from when each request was due, so a stall is not hidden);
//! 5. leaderboard: `GET /v1/leaderboards/stars?top=100`, every user a participant;
//! 6. the ceiling: the same rows the daemon wrote for (2), committed straight to a fresh
//!    SQLite store through the same `Store` code, 1,000 events a transaction, and one.
//!
//! `CAMP_BENCH_USERS` (default 1,000,000) and `CAMP_BENCH_SECONDS` (default 10, for 3
//! and 4) scale it. Results go in docs/benchmarks.md.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;

use bytes::Bytes;
use camp_serve::store::sqlite::SqliteStore;
use camp_serve::store::{Batch, EffectRow, Input, InputKind, Store};
use common::Rng;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Conn = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Conn {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

async fn call(conn: &mut Conn, method: &str, path: &str, body: Bytes) -> (u16, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    conn.ready().await.unwrap();
    let resp = conn.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

/// Latencies, in microseconds.
#[derive(Default)]
struct Latencies(Vec<u64>);

impl Latencies {
    fn pct(&mut self, p: f64) -> f64 {
        self.0.sort_unstable();
        let i = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0.get(i).copied().unwrap_or(0) as f64 / 1000.0
    }
}

/// The latencies of every connection's task, together.
async fn merged(tasks: Vec<tokio::task::JoinHandle<Latencies>>) -> Latencies {
    let mut lat = Latencies::default();
    for t in tasks {
        lat.0.extend(t.await.unwrap().0);
    }
    lat
}

/// Event `n`: 70% check-ins, 30% invites, from a random user.
fn event(n: u64, users: u64, rng: &mut Rng) -> String {
    let u = rng.next() % users;
    if rng.next() % 10 < 7 {
        format!(r#"{{"id":"e{n}","type":"checkin","user":"u{u}"}}"#)
    } else {
        format!(r#"{{"id":"e{n}","type":"invite","user":"u{u}","data":{{"invitee":"x{n}"}}}}"#)
    }
}

struct Row {
    name: String,
    rate: String,
    p50: String,
    p99: String,
    note: String,
}

fn row(name: &str, count: u64, secs: f64, lat: Option<&mut Latencies>, note: &str) -> Row {
    let (p50, p99) = match lat {
        Some(l) => (
            format!("{:.2} ms", l.pct(0.5)),
            format!("{:.2} ms", l.pct(0.99)),
        ),
        None => ("—".into(), "—".into()),
    };
    let r = Row {
        name: name.into(),
        rate: format!("{:.0}/s", count as f64 / secs),
        p50,
        p99,
        note: note.into(),
    };
    eprintln!(
        "{} | {} | {} | {} | {}",
        r.name, r.rate, r.p50, r.p99, r.note
    );
    r
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("serve: benchmark");
        return;
    }
    let users: u64 = std::env::var("CAMP_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let seconds: u64 = std::env::var("CAMP_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-serve");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_camp"))
        .args(["serve", "benches/replay.camp", "--db"])
        .arg(dir.join("camp.db"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--clock",
            "manual",
            "--max-body",
            "67108864",
        ])
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .trim_start_matches("listening on http://")
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    eprintln!("stage | rate | p50 | p99 | note");
    rt.block_on(async {
        // 1. Users.
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    let mut conn = connect(addr).await;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= users {
                            return;
                        }
                        let body = format!(r#"{{"nickname":"N{i}","level":{}}}"#, i % 10);
                        let (s, _) =
                            call(&mut conn, "PUT", &format!("/v1/users/u{i}"), body.into()).await;
                        assert_eq!(s, 200);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        rows.push(row(
            "users, 1 a request, 64 connections",
            users,
            started.elapsed().as_secs_f64(),
            None,
            &format!("{users} users"),
        ));
        let mut conn = connect(addr).await;
        let (s, _) = call(
            &mut conn,
            "POST",
            "/v1/clock",
            Bytes::from_static(br#"{"now":"2027-03-01T10:00:00+08:00"}"#),
        )
        .await;
        assert_eq!(s, 200);

        // 2. Batched: every user checks in once (so all are participants), 1,000 a request.
        let batches = users.div_ceil(1000);
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    let mut conn = connect(addr).await;
                    let mut lat = Latencies::default();
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= batches {
                            return lat;
                        }
                        let mut body = String::from("[");
                        for i in b * 1000..((b + 1) * 1000).min(users) {
                            if i > b * 1000 {
                                body.push(',');
                            }
                            body.push_str(&format!(
                                r#"{{"id":"c{i}","type":"checkin","user":"u{i}"}}"#
                            ));
                        }
                        body.push(']');
                        let t = Instant::now();
                        let (s, _) = call(&mut conn, "POST", "/v1/events", body.into()).await;
                        assert_eq!(s, 200);
                        lat.0.push(t.elapsed().as_micros() as u64);
                    }
                })
            })
            .collect();
        let mut lat = merged(tasks).await;
        rows.push(row(
            "events, 1,000 a request, 4 connections",
            users,
            started.elapsed().as_secs_f64(),
            Some(&mut lat),
            "latency per request",
        ));

        // 3. Single events, closed loop.
        let count = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let tasks: Vec<_> = (0..64u64)
            .map(|c| {
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    let mut conn = connect(addr).await;
                    let mut rng = Rng(c);
                    let mut lat = Latencies::default();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let body = event(c * 1_000_000_000 + n, users, &mut rng);
                        n += 1;
                        let t = Instant::now();
                        let (s, _) = call(&mut conn, "POST", "/v1/events", body.into()).await;
                        assert_eq!(s, 200);
                        lat.0.push(t.elapsed().as_micros() as u64);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    lat
                })
            })
            .collect();
        let mut lat = merged(tasks).await;
        let total = count.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        let rate = total as f64 / secs;
        rows.push(row(
            "events, 1 a request, 64 connections, flat out",
            total,
            secs,
            Some(&mut lat),
            "",
        ));

        // 4. Half that rate, paced: each connection sends every `interval`.
        let target = rate / 2.0;
        let interval = Duration::from_secs_f64(64.0 / target);
        let count = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..64u64)
            .map(|c| {
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    let mut conn = connect(addr).await;
                    let mut rng = Rng(1000 + c);
                    let mut lat = Latencies::default();
                    // Spread the connections' first sends over one interval.
                    let mut due = tokio::time::Instant::now() + interval.mul_f64(c as f64 / 64.0);
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        tokio::time::sleep_until(due).await;
                        let body = event(500_000_000_000 + c * 1_000_000_000 + n, users, &mut rng);
                        n += 1;
                        let (s, _) = call(&mut conn, "POST", "/v1/events", body.into()).await;
                        assert_eq!(s, 200);
                        // From when it was due, not when it went: a stall counts in full.
                        lat.0.push(due.elapsed().as_micros() as u64);
                        count.fetch_add(1, Ordering::Relaxed);
                        due += interval;
                    }
                    lat
                })
            })
            .collect();
        let mut lat = merged(tasks).await;
        let total = count.load(Ordering::Relaxed);
        rows.push(row(
            "events, 1 a request, 64 connections, at half that rate",
            total,
            started.elapsed().as_secs_f64(),
            Some(&mut lat),
            &format!("target {target:.0}/s"),
        ));

        // 5. The leaderboard.
        let mut conn = connect(addr).await;
        let (_, body) = call(&mut conn, "GET", "/v1/campaign", Bytes::new()).await;
        let campaign: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut lat = Latencies::default();
        let started = Instant::now();
        for _ in 0..2000 {
            let t = Instant::now();
            let (s, body) = call(
                &mut conn,
                "GET",
                "/v1/leaderboards/stars?top=100",
                Bytes::new(),
            )
            .await;
            assert_eq!(s, 200);
            lat.0.push(t.elapsed().as_micros() as u64);
            assert!(body.len() > 1000);
        }
        rows.push(row(
            "leaderboard top 100, 1 connection",
            2000,
            started.elapsed().as_secs_f64(),
            Some(&mut lat),
            &format!("{} participants", campaign["participants"]),
        ));
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success());

    // 6. The ceiling: the batched stage's rows, straight into a fresh store.
    let (inputs, effects) = read_rows(&dir.join("camp.db"), users);
    for group in [1000usize, 1] {
        let path = dir.join(format!("ceiling-{group}.db"));
        let mut store = SqliteStore::open(&path).unwrap();
        let take = if group == 1 {
            inputs.len().min(20_000)
        } else {
            inputs.len()
        };
        let started = Instant::now();
        let mut e = 0usize;
        for chunk in inputs[..take].chunks(group) {
            let last = chunk.last().map_or(0, |i| i.seq);
            let mut batch = Batch {
                inputs: chunk.to_vec(),
                ..Batch::default()
            };
            while e < effects.len() && effects[e].input <= last {
                batch.effects.push(effects[e].clone());
                e += 1;
            }
            store.commit(&batch).unwrap();
        }
        rows.push(row(
            &format!("raw SQLite, the same rows, {group} event(s) a transaction"),
            take as u64,
            started.elapsed().as_secs_f64(),
            None,
            &format!(
                "{:.1} effects an event",
                effects.len() as f64 / inputs.len() as f64
            ),
        ));
    }
    println!("| stage | rate | p50 | p99 | note |\n|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.name, r.rate, r.p50, r.p99, r.note
        );
    }
}

/// The batched stage's inputs (the check-ins `c…`) and their effects.
fn read_rows(db: &PathBuf, users: u64) -> (Vec<Input>, Vec<EffectRow>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let (first, last): (i64, i64) = conn
        .query_row(
            "SELECT min(seq), max(seq) FROM inputs WHERE kind = 1 AND key LIKE 'c%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((last - first + 1) as u64, users);
    let mut stmt = conn
        .prepare("SELECT seq, at, key, body FROM inputs WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
        .unwrap();
    let inputs = stmt
        .query_map([first, last], |r| {
            Ok(Input {
                seq: r.get::<_, i64>(0)? as u64,
                at: chrono::DateTime::from_timestamp_micros(r.get(1)?).unwrap(),
                kind: InputKind::Event,
                key: r.get(2)?,
                body: r.get(3)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut stmt = conn
        .prepare("SELECT seq, input, kind, user, body FROM effects WHERE input BETWEEN ?1 AND ?2 ORDER BY seq")
        .unwrap();
    let effects = stmt
        .query_map([first, last], |r| {
            let kind: String = r.get(2)?;
            Ok(EffectRow {
                seq: r.get::<_, i64>(0)? as u64,
                input: r.get::<_, i64>(1)? as u64,
                kind: match kind.as_str() {
                    "enroll" => "enroll",
                    "complete" => "complete",
                    "grant" => "grant",
                    "tier" => "tier",
                    _ => "other",
                },
                user: r.get(3)?,
                body: r.get(4)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (inputs, effects)
}
