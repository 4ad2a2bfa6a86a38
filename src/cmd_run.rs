//! `camp run`: replay recorded users and events through the campaign, printing effects
//! as JSON Lines.

use crate::{compiled, Outcome};
use camp_engine::replay::{self, Until};
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Parses `--until`: RFC 3339 with an offset.
pub fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is not a date and time like 2027-02-13T00:00:00+08:00: {e}"))
}

fn open(path: &Path) -> Result<File, Outcome> {
    File::open(path).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", path.display());
        Outcome::Usage
    })
}

/// Runs the replay.
pub fn run(
    file: &Path,
    users: &Path,
    events: &Path,
    until: Option<DateTime<Utc>>,
    report: Option<&Path>,
    seed: Option<&str>,
) -> Outcome {
    match replay_to_stdout(file, users, events, until, report, seed) {
        Ok(o) | Err(o) => o,
    }
}

fn replay_to_stdout(
    file: &Path,
    users: &Path,
    events: &Path,
    until: Option<DateTime<Utc>>,
    report: Option<&Path>,
    seed: Option<&str>,
) -> Result<Outcome, Outcome> {
    let engine = match seed {
        None => compiled::engine(file)?,
        Some(text) => {
            let plan = compiled::load(file)?;
            camp_engine::Engine::with_seed(plan, camp_engine::random::Seed::from_text(text))
                .map_err(|e| {
                    eprintln!("error: {}: {e}", file.display());
                    Outcome::Failed
                })?
        }
    };
    let mut state = engine.start();
    let user_file = open(users)?;
    let event_file = open(events)?;
    let io_error = |what: &Path, e: std::io::Error| {
        eprintln!("error: {}: {e}", what.display());
        Outcome::Usage
    };
    let user_errors = replay::load_users(&engine, &mut state, BufReader::new(user_file))
        .map_err(|e| io_error(users, e))?;
    for e in &user_errors {
        eprintln!("error: {}:{}: {}", users.display(), e.line, e.message);
    }
    let stdout = std::io::stdout();
    let mut w = replay::EffectLines::new(stdout.lock());
    let until = until.map_or(Until::End, Until::At);
    let event_errors = replay::run_file(&engine, &mut state, event_file, until, &mut |out| {
        for p in &out.problems {
            eprintln!("warning: {p}");
        }
        w.write(&out.effects)
    });
    let event_errors = match event_errors {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Outcome::Success),
        Err(e) => return Err(io_error(events, e)),
    };
    if let Err(e) = w.flush() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(io_error(Path::new("stdout"), e));
        }
    }
    for e in &event_errors {
        eprintln!("error: {}:{}: {}", events.display(), e.line, e.message);
    }
    if let Some(path) = report {
        let text = serde_json::to_string_pretty(&engine.report(&state)).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| io_error(path, e))?;
    }
    Ok(if user_errors.is_empty() && event_errors.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
