//! The explanations of `camp explain` and `docs/diagnostics.md` hold what they promise:
//! every example really triggers its code and nothing else, every fix really clears it,
//! and the generated documentation is up to date.
//!
//! `UPDATE_DOCS=1 cargo test -p camp-compiler --test explain` regenerates
//! `docs/diagnostics.md` from `compiler/src/explain.rs`.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_compiler::explain::{doc, render_markdown};
use camp_compiler::{check_file, Code, MemoryLoader};
use std::path::Path;

/// The file every snippet is checked as.
const ROOT: &str = "example.camp";

/// The library that import examples may reach. An example importing any other file
/// imports a file that does not exist.
const LIBRARY: (&str, &str) = ("lib/rewards.camp", "reward points_10 = points 10\n");

/// Every diagnostic of `snippet`, as `(code, "line:column: message")`.
fn diagnostics(snippet: &str) -> Vec<(Code, String)> {
    let loader = MemoryLoader::with(&[(ROOT, snippet), LIBRARY]);
    let result = match check_file(&loader, Path::new(ROOT)) {
        Ok(result) => result,
        Err(err) => panic!("checking the snippet failed: {err}\n{snippet}"),
    };
    result
        .diagnostics
        .iter()
        .map(|d| {
            let loc = d.primary.loc;
            let (line, column) = result
                .sources
                .get(loc.file)
                .map_or((0, 0), |f| f.line_col(loc.span.start));
            (d.code, format!("{} {line}:{column}: {}", d.code, d.message))
        })
        .collect()
}

/// The problems with one code's example and fix, empty when both are right.
fn problems(code: Code) -> Vec<String> {
    let d = doc(code);
    let mut out = Vec::new();
    let example = diagnostics(d.example);
    let fix = diagnostics(d.fix);
    if !example.iter().any(|(c, _)| *c == code) {
        out.push(format!("{code}: the example does not report {code}"));
    }
    for (c, text) in &example {
        if *c != code {
            out.push(format!("{code}: the example also reports {text}"));
        }
    }
    for (_, text) in &fix {
        out.push(format!("{code}: the fix reports {text}"));
    }
    out
}

#[test]
fn every_example_reports_its_code_and_every_fix_is_clean() {
    let failures: Vec<String> = Code::ALL.iter().flat_map(|&code| problems(code)).collect();
    assert!(
        failures.is_empty(),
        "{} problem(s) in compiler/src/explain.rs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn docs_diagnostics_md_is_generated_from_explain_rs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics.md");
    let expected = render_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
        return;
    }
    let actual = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()))
            + 1;
        panic!(
            "docs/diagnostics.md is out of date with compiler/src/explain.rs (first difference \
             on line {line}); regenerate it with\n\
             UPDATE_DOCS=1 cargo test -p camp-compiler --test explain"
        );
    }
}
