//! `camp check`.

use crate::diagnostics::DiagnosticPrinter;
use crate::{Format, Outcome};
use camp_compiler::report::{github_annotation, json_diagnostic, JsonReport};
use camp_compiler::{check_file, FsLoader};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub fn run(files: &[PathBuf], format: Format, deny_warnings: bool) -> Outcome {
    let renderer = DiagnosticPrinter::new(
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    );
    let mut report = JsonReport {
        files: Vec::new(),
        errors: 0,
        warnings: 0,
        diagnostics: Vec::new(),
    };
    let mut out = String::new();
    let mut io_failed = false;
    for path in files {
        let result = match check_file(&FsLoader, path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                io_failed = true;
                continue;
            }
        };
        report.files.push(path.display().to_string());
        report.errors += result.errors();
        report.warnings += result.warnings();
        for d in &result.diagnostics {
            match format {
                Format::Human => out.push_str(&renderer.render(&result.sources, d)),
                Format::Github => {
                    out.push_str(&github_annotation(&result.sources, d));
                    out.push('\n');
                }
                Format::Json => report.diagnostics.push(json_diagnostic(&result.sources, d)),
            }
        }
    }
    match format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => {
                out = s;
                out.push('\n');
            }
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                return Outcome::Usage;
            }
        },
        Format::Human => {
            let checked = report.files.len();
            let noun = if checked == 1 { "file" } else { "files" };
            out.push_str(&format!(
                "{checked} {noun} checked: {} error(s), {} warning(s)\n",
                report.errors, report.warnings
            ));
        }
        Format::Github => {}
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).is_err() {
        return Outcome::Usage;
    }
    if io_failed {
        Outcome::Usage
    } else if report.errors > 0 || (deny_warnings && report.warnings > 0) {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}
