//! The first step of every command that needs a Plan: compile the file, print its
//! warnings to stderr and go on, or print its errors and stop with exit 1.

use crate::diagnostics::DiagnosticPrinter;
use crate::Outcome;
use camp_compiler::{compile_file, FsLoader};
use camp_engine::random::Seed;
use camp_plan::Plan;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// The plan of `file`, or the outcome to exit with (diagnostics already printed).
pub fn plan(file: &Path) -> Result<Plan, Outcome> {
    let result = match compile_file(&FsLoader, file) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return Err(Outcome::Usage);
        }
    };
    let renderer = DiagnosticPrinter::new(
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    );
    for d in &result.check.diagnostics {
        let _ = write!(
            std::io::stderr(),
            "{}",
            renderer.render(&result.check.sources, d)
        );
    }
    match result.plan {
        Some(plan) => Ok(plan),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "{}: {} error(s); nothing was produced",
                file.display(),
                result.check.errors()
            );
            Err(Outcome::Failed)
        }
    }
}

/// A campaign to run: a compiled `plan.json` (any `.json` file), else a source file
/// compiled now.
pub fn load(file: &Path) -> Result<Plan, Outcome> {
    if file.extension().is_none_or(|e| e != "json") {
        return plan(file);
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot read {}: {e}",
                file.display()
            );
            return Err(Outcome::Usage);
        }
    };
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    match serde_json::from_str::<Version>(&text) {
        Ok(v) if v.format_version != camp_plan::FORMAT_VERSION => {
            let _ = writeln!(std::io::stderr(),
                "error: {} is plan format {}, this camp reads format {}; compile the campaign again",
                file.display(),
                v.format_version,
                camp_plan::FORMAT_VERSION
            );
            return Err(Outcome::Failed);
        }
        _ => {}
    }
    serde_json::from_str(&text).map_err(|e| {
        let _ = writeln!(
            std::io::stderr(),
            "error: {} is not a camp plan: {e}",
            file.display()
        );
        Outcome::Failed
    })
}

/// The engine for a campaign file or plan, with `seed` (default: derived from the plan).
pub fn engine(file: &Path, seed: Option<Seed>) -> Result<camp_engine::Engine, Outcome> {
    let plan = load(file)?;
    let seed = seed.unwrap_or_else(|| Seed::of_plan(&plan));
    camp_engine::Engine::with_seed(plan, seed).map_err(|e| {
        let _ = writeln!(std::io::stderr(), "error: {}: {e}", file.display());
        Outcome::Failed
    })
}
