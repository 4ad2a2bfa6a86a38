//! Fuzzes parse + check (and the formatter): no input may panic, every diagnostic must
//! point inside its file on character boundaries, checking must be deterministic, and
//! formatting must be idempotent.
//!
//! The input is split at NUL bytes into up to three files — `main.camp`, `lib/a.camp`,
//! `lib/b.camp` — so imports, shared definitions and import cycles get fuzzed too.
#![no_main]

use camp_compiler::{check_file, CheckResult, Code, SourceLoader};
use camp_dsl::span::FileId;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

const NAMES: [&str; 3] = ["main.camp", "lib/a.camp", "lib/b.camp"];

/// Files held in memory, keyed by a lexically normalised path.
struct MemLoader {
    files: HashMap<PathBuf, String>,
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl SourceLoader for MemLoader {
    fn load(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(&normalise(path))
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        normalise(path)
    }
}

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

    let loader = MemLoader {
        files: NAMES
            .iter()
            .zip(&parts)
            .map(|(name, text)| (PathBuf::from(name), (*text).to_string()))
            .collect(),
    };
    let first = check_file(&loader, Path::new(NAMES[0])).expect("main.camp is in memory");
    assert_well_formed(&first);
    let second = check_file(&loader, Path::new(NAMES[0])).expect("main.camp is in memory");
    assert_eq!(
        first.diagnostics, second.diagnostics,
        "checking twice gave different diagnostics"
    );
});
