//! Group throughput: teams of three (`benches/groups.camp`), every team filled by two
//! joins after its opening, each fill granting three coupons and sending three notes.
//!
//! `cargo bench --bench groups` measures 30,000 users (10,000 teams) in process.
//! `CAMP_BENCH_FULL=1 cargo bench --bench groups` also writes 1,000,000 users in
//! 333,333 teams under `target/bench-groups/` and times `camp run` on them once, with
//! peak memory (the numbers recorded in docs/benchmarks.md).
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;

use camp_compiler::{compile_file, FsLoader};
use camp_engine::Engine;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn campaign() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/groups.camp")
}

/// Users, then events in time order over the first six days: user 3k opens team k,
/// users 3k+1 and 3k+2 join it within the hour. Returns the number of events.
fn workload(users: u64, mut w: impl FnMut(bool, &[u8])) -> u64 {
    let mut line = Vec::with_capacity(128);
    for i in 0..users {
        line.clear();
        let _ = writeln!(line, r#"{{"id":"u{i}","attrs":{{"nickname":"N{i}"}}}}"#);
        w(true, &line);
    }
    let teams = users / 3;
    let start = 1_803_830_400i64; // 2027-03-01 00:00 in Shanghai
    let span = 6 * 86_400i64;
    let mut n = 0u64;
    for k in 0..teams {
        let base = start + (k as i64 * span) / teams.max(1) as i64;
        for (m, kind) in ["team_opened", "team_joined", "team_joined"]
            .iter()
            .enumerate()
        {
            let at = chrono::DateTime::from_timestamp(base + m as i64, 0).unwrap_or_default();
            let at = at.format("%Y-%m-%dT%H:%M:%SZ");
            let u = 3 * k + m as u64;
            line.clear();
            let _ = writeln!(
                line,
                r#"{{"id":"e{n}","type":"{kind}","user":"u{u}","at":"{at}","data":{{"team_id":"t{k}"}}}}"#
            );
            w(false, &line);
            n += 1;
        }
    }
    n
}

fn in_process(c: &mut Criterion) {
    let users = 30_000u64;
    let (mut u, mut e) = (Vec::new(), Vec::new());
    let events = workload(users, |is_user, l| {
        if is_user {
            u.extend_from_slice(l)
        } else {
            e.extend_from_slice(l)
        }
    });
    let plan = compile_file(&FsLoader, &campaign()).unwrap().plan.unwrap();
    let engine = Engine::new(plan).unwrap();
    let mut g = c.benchmark_group("groups");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(events));
    g.bench_function("30k users in teams of 3, JSONL to JSONL", |b| {
        b.iter(|| common::replay_in_process(&engine, &u, &e))
    });
    g.finish();
}

/// The full-scale run: through the release binary, with peak memory from GNU time.
fn full_scale() {
    if std::env::var_os("CAMP_BENCH_FULL").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-groups");
    let _ = std::fs::create_dir_all(&dir);
    let (users_path, events_path) = (dir.join("users.jsonl"), dir.join("events.jsonl"));
    let mut u = std::io::BufWriter::new(std::fs::File::create(&users_path).unwrap());
    let mut e = std::io::BufWriter::new(std::fs::File::create(&events_path).unwrap());
    let events = workload(1_000_000, |is_user, l| {
        let _ = if is_user {
            u.write_all(l)
        } else {
            e.write_all(l)
        };
    });
    u.flush().unwrap();
    e.flush().unwrap();
    drop((u, e));
    let (secs, peak_kb) = common::time_camp_run(
        &campaign(),
        &users_path,
        &events_path,
        &dir.join("effects.jsonl"),
    );
    println!(
        "full scale: 1,000,000 users in teams of 3, {events} events: {secs:.1} s, {:.0} events/s, peak RSS {peak_kb} KB",
        events as f64 / secs
    );
}

fn benches(c: &mut Criterion) {
    full_scale();
    in_process(c);
}

criterion_group!(group_benches, benches);
criterion_main!(group_benches);
