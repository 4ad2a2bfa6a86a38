//! The crate boundaries of docs/ARCHITECTURE.md, enforced: what each crate may depend on
//! (read from `cargo metadata`), and that the checker's internals stay inside the
//! compiler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a test

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// Package name → the names of its normal and build dependencies, for the whole graph.
fn graph() -> (HashMap<String, String>, HashMap<String, Vec<String>>) {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut deps = HashMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap().to_string();
        let linked: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build")
            })
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        deps.insert(id, linked);
    }
    (names, deps)
}

/// Every package the named one links, directly or not.
fn closure(name: &str) -> BTreeSet<String> {
    let (names, deps) = graph();
    let root = names
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(id, _)| id.clone())
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        for d in deps.get(&id).into_iter().flatten() {
            if seen.insert(names[d].clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
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
