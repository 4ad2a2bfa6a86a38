//! Replay throughput: users and events as JSON Lines through the engine to JSON Lines,
//! on `benches/replay.camp` (daily tasks, a streak, a draw, a leaderboard and an award).
//!
//! `cargo bench --bench replay` measures 20,000 users and 200,000 events in process.
//! `CAMP_BENCH_FULL=1 cargo bench --bench replay` also writes 1,000,000 users with 1M and
//! 10M events under `target/bench-replay/` and times `camp run` on them once each, with
//! peak memory (the numbers recorded in docs/benchmarks.md).
//!
//! Both also run `benches/experiment.camp`, the same campaign with an experiment and
//! three KPIs `by` it (two proportions and a per-user mean), on the same input: the
//! cost of measuring arms. At full scale the two campaigns run alternately, seven times
//! each on the 1M-event input and three times on the 10M one, and the medians are
//! compared.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;

use camp_compiler::{compile_file, FsLoader};
use camp_engine::Engine;
use common::Rng;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn campaign() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/replay.camp")
}

fn with_experiment() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/experiment.camp")
}

/// Users, then events in time order over the 14-day main phase: 70% check-ins, 30%
/// invites, each from a random user.
fn workload(users: u64, events: u64, mut w: impl FnMut(bool, &[u8])) {
    let mut line = Vec::with_capacity(160);
    for i in 0..users {
        line.clear();
        let _ = writeln!(
            line,
            r#"{{"id":"u{i}","attrs":{{"nickname":"N{i}","level":{}}}}}"#,
            i % 10
        );
        w(true, &line);
    }
    let start = 1_803_830_400i64; // 2027-02-28T16:00:00Z = 2027-03-01 00:00 in Shanghai
    let span = 14 * 86_400i64;
    let mut rng = Rng(7);
    for j in 0..events {
        let at = start + (j as i64 * span) / events as i64;
        let at = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
        let at = at.format("%Y-%m-%dT%H:%M:%SZ");
        let u = rng.next() % users;
        line.clear();
        if rng.next() % 10 < 7 {
            let _ = writeln!(
                line,
                r#"{{"id":"e{j}","type":"checkin","user":"u{u}","at":"{at}","data":{{}}}}"#
            );
        } else {
            let _ = writeln!(
                line,
                r#"{{"id":"e{j}","type":"invite","user":"u{u}","at":"{at}","data":{{"invitee":"x{j}"}}}}"#
            );
        }
        w(false, &line);
    }
}

fn engine(campaign: &Path) -> Engine {
    let plan = compile_file(&FsLoader, campaign).unwrap().plan.unwrap();
    Engine::new(plan).unwrap()
}

fn in_process(c: &mut Criterion) {
    let (users, events) = (20_000u64, 200_000u64);
    let (mut u, mut e) = (Vec::new(), Vec::new());
    workload(users, events, |is_user, l| {
        if is_user {
            u.extend_from_slice(l)
        } else {
            e.extend_from_slice(l)
        }
    });
    let mut g = c.benchmark_group("replay");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(events));
    let plain = engine(&campaign());
    g.bench_function("20k users, 200k events, JSONL to JSONL", |b| {
        b.iter(|| common::replay_in_process(&plain, &u, &e))
    });
    let measured = engine(&with_experiment());
    g.bench_function("the same with an experiment and three KPIs by it", |b| {
        b.iter(|| common::replay_in_process(&measured, &u, &e))
    });
    g.finish();
}

/// The full-scale runs: through the release binary, with peak memory from GNU time.
fn full_scale() {
    if std::env::var_os("CAMP_BENCH_FULL").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-replay");
    let _ = std::fs::create_dir_all(&dir);
    for events in [1_000_000u64, 10_000_000] {
        let (users_path, events_path) = (
            dir.join("users.jsonl"),
            dir.join(format!("events-{events}.jsonl")),
        );
        if !events_path.exists() {
            let mut u = std::io::BufWriter::new(std::fs::File::create(&users_path).unwrap());
            let mut e = std::io::BufWriter::new(std::fs::File::create(&events_path).unwrap());
            workload(1_000_000, events, |is_user, l| {
                let _ = if is_user {
                    u.write_all(l)
                } else {
                    e.write_all(l)
                };
            });
        }
        let (secs, peak_kb) = common::time_camp_run(
            &campaign(),
            &users_path,
            &events_path,
            &dir.join("effects.jsonl"),
        );
        println!(
            "full scale: 1,000,000 users, {events} events: {secs:.1} s, {:.0} events/s, peak RSS {peak_kb} KB",
            events as f64 / secs
        );
    }
    let users_path = dir.join("users.jsonl");
    // The cost of measuring arms: the two campaigns alternate (a slow spell of the
    // machine falls on both), effects to /dev/null (the engine, not the disk), and the
    // medians are compared.
    for (input, rounds) in [("1M", 7), ("10M", 3)] {
        let events_path = dir.join(match input {
            "1M" => "events-1000000.jsonl",
            _ => "events-10000000.jsonl",
        });
        let mut runs: [Vec<(f64, u64)>; 2] = [Vec::new(), Vec::new()];
        for round in 1..=rounds {
            for (i, (name, path)) in [
                ("plain", campaign()),
                ("with experiment", with_experiment()),
            ]
            .into_iter()
            .enumerate()
            {
                let (secs, peak_kb) =
                    common::time_camp_run(&path, &users_path, &events_path, Path::new("/dev/null"));
                println!(
                    "full scale, round {round}: {name}, 1,000,000 users, {input} events: {secs:.2} s, peak RSS {peak_kb} KB"
                );
                runs[i].push((secs, peak_kb.parse().unwrap_or(0)));
            }
        }
        let median = |v: &[(f64, u64)], f: fn(&(f64, u64)) -> f64| {
            let mut x: Vec<f64> = v.iter().map(f).collect();
            x.sort_by(f64::total_cmp);
            x[x.len() / 2]
        };
        let (t0, t1) = (median(&runs[0], |r| r.0), median(&runs[1], |r| r.0));
        let (m0, m1) = (
            median(&runs[0], |r| r.1 as f64),
            median(&runs[1], |r| r.1 as f64),
        );
        println!(
            "full scale, {input} events, medians of {rounds}: plain {t0:.2} s, {m0:.0} KB; with experiment {t1:.2} s, {m1:.0} KB: {:+.1}% time, {:+.1}% memory",
            (t1 / t0 - 1.0) * 100.0,
            (m1 / m0 - 1.0) * 100.0
        );
    }
}

fn benches(c: &mut Criterion) {
    full_scale();
    in_process(c);
}

criterion_group!(replay_bench, benches);
criterion_main!(replay_bench);
