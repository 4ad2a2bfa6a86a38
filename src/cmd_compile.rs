//! `camp compile FILE --out DIR`: the plan and everything a launch review needs,
//! byte-identical for the same input.

use crate::{compiled, Outcome};
use camp_compiler::{machines, plan::Plan, schedule};
use std::path::Path;

/// Every artifact, as (path relative to DIR, contents), in a fixed order.
fn artifacts(plan: &Plan) -> Result<Vec<(String, String)>, String> {
    let mut plan_json = serde_json::to_string_pretty(plan)
        .map_err(|e| format!("cannot serialize the plan: {e}"))?;
    plan_json.push('\n');
    let sched = schedule::build(plan);
    let mut files = vec![
        ("plan.json".to_string(), plan_json),
        ("schedule.json".to_string(), schedule::to_json(&sched)),
        ("schedule.ics".to_string(), schedule::to_ics(&sched)),
        ("machine.dot".to_string(), machines::to_dot(&plan.machines)),
        (
            "machine.mmd".to_string(),
            machines::to_mermaid(&plan.machines),
        ),
    ];
    for m in &plan.messages {
        for t in &m.templates {
            files.push((
                format!("messages/{}.{}.txt", m.name, t.locale),
                with_newline(&t.body),
            ));
            if let Some(subject) = &t.subject {
                files.push((
                    format!("messages/{}.{}.subject.txt", m.name, t.locale),
                    with_newline(subject),
                ));
            }
        }
    }
    Ok(files)
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

pub fn run(file: &Path, out: &Path) -> Outcome {
    let plan = match compiled::plan(file) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let files = match artifacts(&plan) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Usage;
        }
    };
    let messages = out.join("messages");
    // Templates of messages removed since the last compile must not linger.
    if messages.is_dir() {
        if let Ok(entries) = std::fs::read_dir(&messages) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "txt") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&messages) {
        eprintln!("error: cannot create `{}`: {e}", messages.display());
        return Outcome::Usage;
    }
    for (rel, contents) in &files {
        let path = out.join(rel);
        if let Err(e) = std::fs::write(&path, contents) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return Outcome::Usage;
        }
    }
    println!(
        "compiled {} into {}: {} files (plan {})",
        file.display(),
        out.display(),
        files.len(),
        plan.source_hash.get(..12).unwrap_or(&plan.source_hash)
    );
    Outcome::Success
}
