//! Member programs: `enroll audience` and a dated grant to every member
//! (`benches/members.camp`).
//!
//! `cargo bench --bench members` measures, in process, the grant instant alone: 100,000
//! members enrolled at the start, then one step of the clock across the Mid-Autumn
//! grant (100,000 `grant` effects).
//! `CAMP_BENCH_FULL=1 cargo bench --bench members` also writes 1,000,000 members under
//! `target/bench-members/` and times `camp run` twice through the release binary: up
//! to just before the grant instant, and just after it. The difference is the grant
//! instant's time; peak memory of both is reported (the numbers recorded in
//! docs/benchmarks.md).
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

mod common;

use camp_compiler::{compile_file, FsLoader};
use camp_engine::{Engine, Output};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn campaign() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/members.camp")
}

/// 2027-09-15 10:00 in Shanghai: the grant instant.
const GRANT: &str = "2027-09-15T02:00:00Z";
/// One second before it.
const BEFORE: &str = "2027-09-15T01:59:59Z";

/// Every member's user line.
fn users(n: u64, mut w: impl FnMut(&[u8])) {
    let mut line = Vec::with_capacity(64);
    for i in 0..n {
        line.clear();
        let _ = writeln!(
            line,
            r#"{{"id":"m{i}","attrs":{{"nickname":"N{i}","level":1}}}}"#
        );
        w(&line);
    }
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn grant_instant(c: &mut Criterion) {
    let members = 100_000u64;
    let mut lines = Vec::new();
    users(members, |l| lines.extend_from_slice(l));
    let plan = compile_file(&FsLoader, &campaign()).unwrap().plan.unwrap();
    let engine = Engine::new(plan).unwrap();
    let mut state = engine.start();
    camp_engine::replay::load_users(&engine, &mut state, std::io::Cursor::new(&lines)).unwrap();
    let mut out = Output::default();
    engine.advance(&mut state, at(BEFORE), &mut out);
    assert_eq!(
        state.participants(),
        members,
        "everyone enrolled at the start"
    );
    let mut g = c.benchmark_group("members");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(members));
    g.bench_function("dated grant to 100k enrolled members", |b| {
        b.iter_batched(
            || (state.clone(), Output::default()),
            |(mut s, mut o)| {
                engine.advance(&mut s, at(GRANT), &mut o);
                assert_eq!(o.effects.len() as u64, members);
                o.effects.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The full-scale runs: through the release binary, with peak memory from GNU time.
fn full_scale() {
    if std::env::var_os("CAMP_BENCH_FULL").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-members");
    let _ = std::fs::create_dir_all(&dir);
    let (users_path, events_path) = (dir.join("users.jsonl"), dir.join("events.jsonl"));
    let mut u = std::io::BufWriter::new(std::fs::File::create(&users_path).unwrap());
    users(1_000_000, |l| {
        let _ = u.write_all(l);
    });
    u.flush().unwrap();
    drop(u);
    std::fs::write(&events_path, "").unwrap();
    let mut runs = Vec::new();
    for until in [BEFORE, GRANT] {
        let (secs, peak_kb) = common::time_camp_run_until(
            &campaign(),
            &users_path,
            &events_path,
            until,
            &dir.join("effects.jsonl"),
        );
        let grants = std::fs::read_to_string(dir.join("effects.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(r#""kind":"grant""#))
            .count();
        println!(
            "full scale: 1,000,000 members, until {until}: {secs:.2} s, peak RSS {peak_kb} KB, {grants} grants"
        );
        runs.push(secs);
    }
    println!(
        "full scale: the grant instant alone: {:.2} s",
        runs[1] - runs[0]
    );
}

fn benches(c: &mut Criterion) {
    full_scale();
    grant_instant(c);
}

criterion_group!(member_benches, benches);
criterion_main!(member_benches);
