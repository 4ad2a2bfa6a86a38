//! The first step of every command that needs a Plan: compile the file, print its
//! warnings to stderr and go on, or print its errors and stop with exit 1.

use crate::render::Renderer;
use crate::Outcome;
use camp_compiler::plan::Plan;
use camp_compiler::{compile_file, FsLoader};
use std::io::IsTerminal;
use std::path::Path;

/// The plan of `file`, or the outcome to exit with (diagnostics already printed).
pub fn plan(file: &Path) -> Result<Plan, Outcome> {
    let result = match compile_file(&FsLoader, file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(Outcome::Usage);
        }
    };
    let renderer =
        Renderer::new(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    for d in &result.check.diagnostics {
        eprint!("{}", renderer.render(&result.check.sources, d));
    }
    match result.plan {
        Some(plan) => Ok(plan),
        None => {
            eprintln!(
                "{}: {} error(s); nothing was produced",
                file.display(),
                result.check.errors()
            );
            Err(Outcome::Failed)
        }
    }
}
