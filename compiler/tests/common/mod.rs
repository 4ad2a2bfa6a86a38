//! Helpers shared by the compiler's integration tests.

use std::path::{Path, PathBuf};

/// Every example campaign, named `example_<stem>`, then the spec's, `spec_<stem>` (when
/// the spec is checked out next to this repository).
pub fn campaigns() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for (prefix, dir) in [
        ("example", root.join("../examples")),
        ("spec", root.join("../../shared/spec/examples")),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "camp"))
            .collect();
        files.sort();
        for f in files {
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((format!("{prefix}_{stem}"), f));
        }
    }
    out
}
