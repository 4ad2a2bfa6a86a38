//! `camp check` on generated campaigns of 1 MB and 10 MB: many phases, tasks, rewards,
//! draws, segments, messages in two locales, leaderboards and KPIs. Measured in process
//! (load + parse + check) and end to end through the binary.
//!
//! Run: `cargo bench --bench check`. Results go in docs/benchmarks.md.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A campaign of at least `bytes` bytes that checks without any diagnostic.
fn generate(bytes: usize) -> String {
    let mut s = String::from(
        r#"/// Generated benchmark campaign.
campaign bench {
  name     "Bench"
  timezone "Asia/Shanghai"
  start    2027-01-01T00:00
  locales  zh-CN, en
  budget   900_000_000_000 CNY
  audience user.level >= 1 and user.region in ["CN", "HK"]
  holdout  5%
  cap      3 messages per day
  quiet    22:00 .. 08:00
}

user {
  nickname: string
  region:   string
  level:    int
}
"#,
    );
    let mut i = 0;
    while s.len() < bytes {
        let _ = write!(
            s,
            r#"
event ev_{i} {{ amount: money, sku: string }}

reward pts_{i}  = points 10
reward cp_{i}   = coupon {{ value 20 CNY  stock 1_000  per_user 2  expires 14d }}
reward draw_{i} = draw {{ 30% pts_{i}  10% cp_{i} }}

segment seg_{i} = user.level >= {lvl} and participant.points >= 100

message msg_{i} via push {{
  zh-CN "{{{{ user.nickname }}}},第 {i} 阶段开始,{{{{ phase.start | date }}}}!"
  en    "{{{{ user.nickname }}}}, phase {i} starts {{{{ phase.start | date }}}} with {{{{ participant.points }}}} points."
}}

message thanks_{i} via in_app {{
  zh-CN "获得 {{{{ reward.label }}}}"
  en    "You got {{{{ reward.label }}}} worth {{{{ reward.value }}}}"
}}

phase p_{i} for 1d {{
  /// Daily task {i}.
  task t_{i} {{
    on ev_{i} where event.amount >= 10 CNY and event.sku != "x"
    limit 3 per day
    grant draw_{i}
    after 2 => grant cp_{i}
    send thanks_{i}
  }}
  leaderboard lb_{i} {{
    score sum(ev_{i}.amount)
    show top 10
  }}
  send msg_{i} at 20:00 daily to seg_{i}
}}

kpi k_{i} = unique(ev_{i}) / audience target >= 10%
"#,
            lvl = i % 10
        );
        i += 1;
    }
    s
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

fn bench(c: &mut Criterion) {
    let sizes = [("1MB", 1_000_000usize), ("10MB", 10_000_000)];
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let mut group = c.benchmark_group("check");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    for (name, size) in sizes {
        let src = generate(size);
        let result = camp_compiler::check_file(
            &camp_compiler::MemoryLoader::with(&[("bench.camp", &src)]),
            Path::new("bench.camp"),
        )
        .expect("check");
        assert!(
            result.diagnostics.is_empty(),
            "the generated campaign must be clean: {:?}",
            result.diagnostics.first()
        );
        let file = dir.join(format!("bench_{name}.camp"));
        std::fs::write(&file, &src).expect("write bench file");
        group.throughput(Throughput::Bytes(src.len() as u64));
        let loader = camp_compiler::MemoryLoader::with(&[("bench.camp", &src)]);
        group.bench_with_input(BenchmarkId::new("in_process", name), &loader, |b, l| {
            b.iter(|| {
                camp_compiler::check_file(l, Path::new("bench.camp")).map(|r| r.diagnostics.len())
            })
        });
        group.bench_with_input(BenchmarkId::new("camp_binary", name), &file, |b, f| {
            b.iter(|| {
                let out = Command::new(env!("CARGO_BIN_EXE_camp"))
                    .arg("check")
                    .arg(f)
                    .output()
                    .expect("run camp");
                assert!(out.status.success());
            })
        });
        // `camp compile` end to end. The output goes to tmpfs when there is one, so the
        // figure measures camp rather than the file system's inode allocation for tens
        // of thousands of small template files.
        let out_dir = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm/camp-bench-out")
        } else {
            dir.join("out")
        };
        group.bench_with_input(
            BenchmarkId::new("camp_compile_binary", name),
            &file,
            |b, f| {
                b.iter(|| {
                    let out = Command::new(env!("CARGO_BIN_EXE_camp"))
                        .arg("compile")
                        .arg(f)
                        .arg("--out")
                        .arg(&out_dir)
                        .output()
                        .expect("run camp");
                    assert!(out.status.success());
                })
            },
        );
        let _ = std::fs::remove_dir_all(&out_dir);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
