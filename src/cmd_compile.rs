//! `camp compile FILE --out DIR`: the plan and everything a launch review needs,
//! byte-identical for the same input. The artifacts are independent of each other, so
//! they are rendered and written on all cores.

use crate::{compiled, Outcome};
use camp_compiler::{machines, plan::Plan, schedule};
use std::path::{Path, PathBuf};

/// One artifact: where it goes (relative to DIR) and how to produce its text.
type Job<'p> = Box<dyn FnOnce() -> Result<Vec<(String, String)>, String> + Send + 'p>;

fn jobs(plan: &Plan) -> Vec<Job<'_>> {
    let mut jobs: Vec<Job<'_>> = vec![
        Box::new(move || {
            let mut json = serde_json::to_string_pretty(plan)
                .map_err(|e| format!("cannot serialize the plan: {e}"))?;
            json.push('\n');
            Ok(vec![("plan.json".to_string(), json)])
        }),
        Box::new(move || {
            let sched = schedule::build(plan);
            Ok(vec![
                ("schedule.json".to_string(), schedule::to_json(&sched)),
                ("schedule.ics".to_string(), schedule::to_ics(&sched)),
            ])
        }),
        Box::new(move || {
            Ok(vec![
                ("machine.dot".to_string(), machines::to_dot(&plan.machines)),
                (
                    "machine.mmd".to_string(),
                    machines::to_mermaid(&plan.machines),
                ),
            ])
        }),
    ];
    // Message templates in a few batches, so many small files are written in parallel.
    let batches = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let per_batch = plan.messages.len().div_ceil(batches).max(1);
    for chunk in plan.messages.chunks(per_batch) {
        jobs.push(Box::new(move || {
            let mut files = Vec::new();
            for m in chunk {
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
        }));
    }
    jobs
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

/// Renders and writes every job; returns how many files were written.
fn write_all(plan: &Plan, out: &Path) -> Result<usize, String> {
    let jobs = jobs(plan);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let queue = std::sync::Mutex::new(jobs);
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut written = 0;
                    loop {
                        let job = match queue.lock() {
                            Ok(mut q) => q.pop(),
                            Err(_) => return Err("a worker failed".to_string()),
                        };
                        let Some(job) = job else { return Ok(written) };
                        for (rel, contents) in job()? {
                            let path: PathBuf = out.join(&rel);
                            std::fs::write(&path, contents)
                                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
                            written += 1;
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a worker failed".to_string()))
            })
            .collect()
    });
    results.into_iter().sum()
}

pub fn run(file: &Path, out: &Path) -> Outcome {
    let plan = match compiled::plan(file) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let messages = out.join("messages");
    // Templates of messages removed since the last compile must not linger.
    if let Ok(entries) = std::fs::read_dir(&messages) {
        let keep: std::collections::HashSet<String> = plan
            .messages
            .iter()
            .flat_map(|m| m.templates.iter().map(move |t| (m, t)))
            .flat_map(|(m, t)| {
                [
                    format!("{}.{}.txt", m.name, t.locale),
                    format!("{}.{}.subject.txt", m.name, t.locale),
                ]
            })
            .collect();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".txt") && !keep.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&messages) {
        eprintln!("error: cannot create `{}`: {e}", messages.display());
        return Outcome::Usage;
    }
    match write_all(&plan, out) {
        Ok(n) => {
            let hash = plan.source_hash.get(..12).unwrap_or(&plan.source_hash);
            println!(
                "compiled {} into {}: {n} files (plan {hash})",
                file.display(),
                out.display()
            );
            Outcome::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Usage
        }
    }
}
