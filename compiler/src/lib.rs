//! Checks `.camp` campaigns: loads a file and its imports, resolves every name, type
//! checks every expression and runs every semantic check, returning all diagnostics.
//!
//! Architecture invariant: the compiler does no I/O of its own (files come through a
//! [`SourceLoader`]) and renders nothing; the binary turns diagnostics into text.

pub mod check;
pub mod describe;
mod error;
pub mod explain;
pub mod load;
pub mod lower;
pub mod machines;
pub mod report;
pub mod schedule;
pub mod source;
pub use camp_plan::suggest;
pub mod symbols;

pub use camp_dsl::diag::{Code, Diagnostic, Label, Severity};
pub use check::CheckedCampaign;
pub use error::CompileError;
pub use load::Program;
pub use source::{FsLoader, MemoryLoader, SourceFile, SourceLoader, SourceMap};

use std::path::Path;

/// The outcome of checking one campaign file.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The files read.
    pub sources: SourceMap,
    /// Every problem found, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// What was validated; meaningful only where no error was reported.
    pub campaign: CheckedCampaign,
}

impl CheckResult {
    /// How many errors.
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == Severity::Error)
            .count()
    }

    /// How many warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == Severity::Warning)
            .count()
    }
}

/// Checks the campaign file at `path` and everything it imports.
pub fn check_file(loader: &dyn SourceLoader, path: &Path) -> Result<CheckResult, CompileError> {
    let program = load::load(loader, path)?;
    let (diagnostics, campaign) = check::run(&program);
    Ok(CheckResult {
        sources: program.sources,
        diagnostics,
        campaign,
    })
}

/// The outcome of compiling: the check's result, and the plan when there was no error.
#[derive(Debug, Clone)]
pub struct CompileResult {
    /// Everything the check found.
    pub check: CheckResult,
    /// The plan; `None` when the check reported errors.
    pub plan: Option<camp_plan::Plan>,
}

/// Checks the campaign file at `path` and, if it has no errors, lowers it to a Plan.
pub fn compile_file(loader: &dyn SourceLoader, path: &Path) -> Result<CompileResult, CompileError> {
    let program = load::load(loader, path)?;
    let (diagnostics, campaign, syms) = check::run_with_symbols(&program);
    let has_errors = diagnostics.iter().any(|d| d.severity() == Severity::Error);
    let plan = if has_errors {
        None
    } else {
        Some(lower::lower_with(&program, &campaign, syms)?)
    };
    Ok(CompileResult {
        check: CheckResult {
            sources: program.sources,
            diagnostics,
            campaign,
        },
        plan,
    })
}
