//! What the benchmarks share.
#![allow(dead_code)] // Each benchmark uses its own part of what they share.

/// A deterministic stream of numbers (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Times `camp run CAMPAIGN --users USERS --events EVENTS` through the release binary,
/// effects written to `out`: the wall time in seconds and the peak RSS in KB as GNU
/// time reports it.
pub fn time_camp_run(
    campaign: &std::path::Path,
    users: &std::path::Path,
    events: &std::path::Path,
    out: &std::path::Path,
) -> (f64, String) {
    time_camp_run_with(campaign, users, events, &[], out)
}

/// [`time_camp_run`] with `--until UNTIL`.
pub fn time_camp_run_until(
    campaign: &std::path::Path,
    users: &std::path::Path,
    events: &std::path::Path,
    until: &str,
    out: &std::path::Path,
) -> (f64, String) {
    time_camp_run_with(campaign, users, events, &["--until", until], out)
}

fn time_camp_run_with(
    campaign: &std::path::Path,
    users: &std::path::Path,
    events: &std::path::Path,
    extra: &[&str],
    out: &std::path::Path,
) -> (f64, String) {
    let camp = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/camp");
    let started = std::time::Instant::now();
    let run = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(&camp)
        .arg("run")
        .arg(campaign)
        .arg("--users")
        .arg(users)
        .arg("--events")
        .arg(events)
        .args(extra)
        .stdout(std::fs::File::create(out).unwrap())
        .output()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let peak_kb = String::from_utf8_lossy(&run.stderr)
        .trim()
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    (secs, peak_kb)
}

/// One replay in process: users, then events, as JSON Lines, effects serialized to
/// nowhere. Returns the participants (so the work cannot be optimized away).
pub fn replay_in_process(engine: &camp_engine::Engine, users: &[u8], events: &[u8]) -> u64 {
    use camp_engine::replay::{self, Until};
    use std::io::Cursor;
    let mut state = engine.start();
    replay::load_users(engine, &mut state, Cursor::new(users)).unwrap();
    let mut lines = replay::EffectLines::new(std::io::sink());
    replay::run_file(
        engine,
        &mut state,
        Cursor::new(events),
        Until::End,
        &mut |out| lines.write(&out.effects),
    )
    .unwrap();
    lines.flush().unwrap();
    state.participants()
}
