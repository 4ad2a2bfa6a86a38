//! `camp compile FILE --out DIR`: the plan and everything a launch review needs,
//! byte-identical for the same input. The artifacts are independent of each other, so
//! they are rendered and written on all cores.

use crate::{compiled, Outcome};
use camp_compiler::{machines, schedule};
use camp_plan::Plan;
use std::io::Write;
use std::path::Path;

/// One unit of work: renders some artifacts and writes them under DIR, returning how
/// many files it wrote.
type Job<'p> = Box<dyn FnOnce(&Path) -> Result<usize, String> + Send + 'p>;

fn write(out: &Path, rel: &str, contents: &str) -> Result<usize, String> {
    let path = out.join(rel);
    std::fs::write(&path, contents)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(1)
}

fn jobs(plan: &Plan) -> Vec<Job<'_>> {
    let mut jobs: Vec<Job<'_>> = vec![
        // The plan is the largest artifact: streamed to the file, never held whole.
        Box::new(move |out: &Path| {
            let path = out.join("plan.json");
            let fail =
                |e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
            let file = std::fs::File::create(&path).map_err(|e| fail(&e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            serde_json::to_writer_pretty(&mut w, plan).map_err(|e| fail(&e))?;
            w.write_all(b"\n").map_err(|e| fail(&e))?;
            w.flush().map_err(|e| fail(&e))?;
            Ok(1)
        }),
        Box::new(move |out: &Path| {
            let sched = schedule::build(plan);
            Ok(write(out, "schedule.json", &schedule::to_json(&sched))?
                + write(out, "schedule.ics", &schedule::to_ics(&sched))?)
        }),
        Box::new(move |out: &Path| write(out, "machine.dot", &machines::to_dot(&plan.machines))),
        Box::new(move |out: &Path| {
            write(out, "machine.mmd", &machines::to_mermaid(&plan.machines))
        }),
    ];
    // Message templates in a few batches, so many small files are written in parallel.
    let batches = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let per_batch = plan.messages.len().div_ceil(batches).max(1);
    for chunk in plan.messages.chunks(per_batch) {
        jobs.push(Box::new(move |out: &Path| {
            let mut written = 0;
            for m in chunk {
                for (name, text) in template_files(plan, m) {
                    written += write(out, &format!("messages/{name}"), &with_newline(text))?;
                }
            }
            Ok(written)
        }));
    }
    jobs
}

/// The files of a message's templates in `messages/`: `<message>.<locale>.txt` and
/// `<message>.<locale>.subject.txt`; for a message `by` an experiment, one of each per
/// variant, `<message>.<variant>.<locale>.txt` (names hold no dots, so these never
/// collide).
fn template_files<'p>(plan: &'p Plan, m: &'p camp_plan::Message) -> Vec<(String, &'p str)> {
    let mut files = Vec::new();
    for (v, t) in m.all_templates() {
        let variant =
            m.by.as_ref()
                .and_then(|by| plan.experiments.get(by.experiment.index()))
                .and_then(|x| x.variants.get(v?));
        let stem = match variant {
            Some(v) => format!("{}.{}.{}", m.name, v.name, t.locale),
            None => format!("{}.{}", m.name, t.locale),
        };
        files.push((format!("{stem}.txt"), t.body.as_str()));
        if let Some(subject) = &t.subject {
            files.push((format!("{stem}.subject.txt"), subject.as_str()));
        }
    }
    files
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

/// Runs every job on all cores; returns how many files were written.
fn write_all(plan: &Plan, out: &Path) -> Result<usize, String> {
    let queue = std::sync::Mutex::new(jobs(plan));
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
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
                        written += job(out)?;
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
            .flat_map(|m| template_files(&plan, m))
            .map(|(name, _)| name)
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
