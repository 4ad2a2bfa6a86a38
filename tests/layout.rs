//! The crate boundaries of docs/ARCHITECTURE.md, enforced: what each crate may depend on
//! (read from `cargo tree`), and that the checker's internals stay inside the
//! compiler.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Every package the named one links on this platform, directly or not, itself
/// included (from `cargo tree`, normal and build dependencies).
fn closure(name: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", name, "-e", "normal,build"])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != name)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_engine_links_no_io_parser_or_renderer_crate() {
    let engine = closure("camp-engine");
    for banned in [
        "tokio",
        "axum",
        "hyper",
        "rusqlite",
        "ureq",
        "pest",
        "miette",
        "icalendar",
        "camp-dsl",
        "camp-compiler",
        "camp-serve",
    ] {
        assert!(!engine.contains(banned), "camp-engine depends on {banned}");
    }
    assert!(engine.contains("camp-plan"));
}

#[test]
fn the_plan_depends_on_no_crate_of_ours_and_the_language_only_on_the_plan() {
    let ours = |c: &BTreeSet<String>| -> Vec<String> {
        c.iter()
            .filter(|n| n.starts_with("camp"))
            .cloned()
            .collect()
    };
    assert_eq!(ours(&closure("camp-plan")), Vec::<String>::new());
    assert_eq!(ours(&closure("camp-dsl")), vec!["camp-plan"]);
    assert_eq!(
        ours(&closure("camp-compiler")),
        vec!["camp-dsl", "camp-plan"]
    );
    let serve = closure("camp-serve");
    assert!(!serve.contains("camp-compiler") && !serve.contains("camp-dsl"));
}

/// Rust files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn nothing_outside_the_compiler_uses_the_checker_internals() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "src",
        "tests",
        "benches",
        "plan",
        "dsl",
        "engine",
        "serve",
        "fuzz/fuzz_targets",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains(concat!("camp_compiler", "::check::"))
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
}
