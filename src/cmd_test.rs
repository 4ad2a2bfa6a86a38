//! `camp test`: run scenario files (`*.test.yaml`) and report like `cargo test`: a line
//! per scenario, the failures with the expectation and the effects that came closest,
//! a summary, exit 1 on any failure.

use crate::{compiled, Outcome};
use camp_engine::scenario::{self, Scenario};
use camp_engine::Engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Scenario files under `path`: the file itself, every `*.test.yaml` below a directory
/// (hidden directories and `target` skipped), or those next to a `.camp` file named
/// after it (`x.test.yaml`, `x.<anything>.test.yaml`).
fn discover(path: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    discover(&p, found)?;
                }
            } else if name.ends_with(".test.yaml") {
                found.push(p);
            }
        }
        return Ok(());
    }
    if path.extension().is_some_and(|e| e == "camp") {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n == format!("{stem}.test.yaml")
                        || (n.starts_with(&format!("{stem}.")) && n.ends_with(".test.yaml"))
                })
            })
            .collect();
        entries.sort();
        found.extend(entries);
        return Ok(());
    }
    std::fs::metadata(path)?;
    found.push(path.to_path_buf());
    Ok(())
}

/// Runs every scenario found under `paths` (default: the current directory).
pub fn run(paths: &[PathBuf]) -> Outcome {
    let started = Instant::now();
    let mut files = Vec::new();
    let roots = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    for p in &roots {
        if let Err(e) = discover(p, &mut files) {
            eprintln!("error: cannot read {}: {e}", p.display());
            return Outcome::Usage;
        }
    }
    files.dedup();
    // Parse every file first, so the count is known up front as `cargo test` prints it.
    let mut runs: Vec<(String, PathBuf, Result<Scenario, String>)> = Vec::new();
    for f in &files {
        let label = f.display().to_string();
        match std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| scenario::parse(&t))
        {
            Ok(list) => {
                let many = list.len() > 1;
                for (i, s) in list.into_iter().enumerate() {
                    let name = match (&s.name, many) {
                        (Some(n), _) => format!("{label}: {n}"),
                        (None, true) => format!("{label} #{}", i + 1),
                        (None, false) => label.clone(),
                    };
                    runs.push((name, f.clone(), Ok(s)));
                }
            }
            Err(e) => runs.push((label, f.clone(), Err(e))),
        }
    }
    println!(
        "\nrunning {} scenario{}",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    );
    // One engine per campaign and seed: a scenario's `seed:` makes its own.
    let mut engines: BTreeMap<(PathBuf, Option<String>), Result<Engine, String>> = BTreeMap::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut passed = 0usize;
    for (name, file, scenario) in runs {
        let verdict = match scenario {
            Err(e) => Err(format!("the scenario file does not parse: {e}\n")),
            Ok(s) => {
                let campaign = file.parent().unwrap_or(Path::new(".")).join(&s.campaign);
                let key = (campaign.clone(), s.seed.clone());
                let engine = engines.entry(key).or_insert_with(|| {
                    compiled::engine(&campaign, s.seed()).map_err(|_| {
                        format!(
                            "the campaign {} does not compile (see above)\n",
                            campaign.display()
                        )
                    })
                });
                match engine {
                    Ok(engine) => scenario::run(engine, &s),
                    Err(e) => Err(e.clone()),
                }
            }
        };
        match verdict {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(why) => {
                println!("test {name} ... FAILED");
                failed.push((name, why));
            }
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for (name, why) in &failed {
            println!("---- {name} ----\n{why}");
        }
        println!("failures:");
        for (name, _) in &failed {
            println!("    {name}");
        }
    }
    let result = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {result}. {passed} passed; {} failed; finished in {:.2}s\n",
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}
