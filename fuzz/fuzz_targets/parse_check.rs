//! Fuzzes parse + check (and the formatter, lowering and the schedule): no input may
//! panic, every diagnostic must point inside its file on character boundaries, checking
//! must be deterministic, formatting must be idempotent, and whatever checks without
//! errors must lower to a plan whose schedule renders.
//!
//! The input is split at NUL bytes into up to three files — `main.camp`, `lib/a.camp`,
//! `lib/b.camp` — so imports, shared definitions and import cycles get fuzzed too.
#![no_main]

use camp_compiler::{check_file, compile_file, schedule, CheckResult, Code, MemoryLoader};
use camp_dsl::span::FileId;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const NAMES: [&str; 3] = ["main.camp", "lib/a.camp", "lib/b.camp"];

fn assert_well_formed(result: &CheckResult) {
    for d in &result.diagnostics {
        assert!(Code::ALL.contains(&d.code), "unknown code in {d:?}");
        for label in std::iter::once(&d.primary).chain(&d.secondary) {
            let file = result
                .sources
                .get(label.loc.file)
                .expect("a label names a loaded file");
            let (start, end) = (label.loc.span.start as usize, label.loc.span.end as usize);
            assert!(
                start <= end && end <= file.text.len(),
                "span out of range in {d:?}"
            );
            assert!(
                file.text.is_char_boundary(start) && file.text.is_char_boundary(end),
                "span not on char boundaries in {d:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<&str> = input.splitn(NAMES.len(), '\0').collect();

    for part in &parts {
        let parsed = camp_dsl::parse(part, FileId(0));
        for d in &parsed.diagnostics {
            let (start, end) = (
                d.primary.loc.span.start as usize,
                d.primary.loc.span.end as usize,
            );
            assert!(
                start <= end && end <= part.len(),
                "parser span out of range in {d:?}"
            );
            assert!(
                part.is_char_boundary(start) && part.is_char_boundary(end),
                "parser span not on char boundaries in {d:?}"
            );
        }

        if let Ok(formatted) = camp_dsl::format(part) {
            let again = camp_dsl::format(&formatted).expect("formatted output formats again");
            assert_eq!(formatted, again, "format is not idempotent");
        }
    }

    let mut loader = MemoryLoader::new();
    for (name, text) in NAMES.iter().zip(&parts) {
        loader.insert(name, *text);
    }
    let first = check_file(&loader, Path::new(NAMES[0])).expect("main.camp is in memory");
    assert_well_formed(&first);
    let second = check_file(&loader, Path::new(NAMES[0])).expect("main.camp is in memory");
    assert_eq!(
        first.diagnostics, second.diagnostics,
        "checking twice gave different diagnostics"
    );

    // An internal error in lowering means a check let something through.
    if first.errors() == 0 {
        let compiled = compile_file(&loader, Path::new(NAMES[0])).expect("lowering a clean check");
        let plan = compiled.plan.expect("a clean check has a plan");
        let s = schedule::build(&plan);
        let _ = (
            schedule::to_table(&s),
            schedule::to_json(&s),
            schedule::to_ics(&s),
        );
    }
});
