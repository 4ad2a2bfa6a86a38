//! Every fixture in `compiler/tests/fixtures/` is checked by the real binary: the JSON
//! report must contain exactly the diagnostics annotated in the files
//! (`// error: E0102`, `// warning: W0701`, or `// error@N: CODE` for line N), and the
//! human report is pinned by an insta snapshot.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compiler/tests/fixtures")
}

fn camp(args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_camp"))
        .args(args)
        .current_dir(fixtures_dir())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// (file, line, code) annotated in `rel` and the files it imports.
fn annotations(
    rel: &str,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<(String, usize, String)>,
) {
    if !seen.insert(rel.to_string()) {
        return;
    }
    let Ok(text) = std::fs::read_to_string(fixtures_dir().join(rel)) else {
        return;
    };
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(pos) = rest.find("// ") {
            rest = &rest[pos + 3..];
            let mut words = rest.split_whitespace().peekable();
            while let Some(w) = words.next() {
                let (kind, at) = match w.split_once('@') {
                    Some((k, n)) => (k, n.trim_end_matches(':').parse::<usize>().ok()),
                    None => (w.trim_end_matches(':'), None),
                };
                if !(kind == "error" || kind == "warning") || !w.ends_with(':') {
                    break;
                }
                let Some(code) = words.next() else { break };
                out.insert((rel.to_string(), at.unwrap_or(i + 1), code.to_string()));
            }
        }
        if let Some(imp) = line
            .trim()
            .strip_prefix("import \"")
            .and_then(|r| r.split('"').next())
        {
            let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
            let target = normalize(&dir.join(imp));
            annotations(&target, seen, out);
        }
    }
}

fn normalize(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".camp"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_fixture_reports_exactly_its_annotations() {
    let mut failures = Vec::new();
    for name in fixtures() {
        let (json, code) = camp(&["check", &name, "--format", "json"]);
        let report: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: bad JSON {e}: {json}"));
        let mut got = BTreeSet::new();
        for d in report["diagnostics"].as_array().unwrap() {
            let file = normalize(Path::new(d["file"].as_str().unwrap()));
            got.insert((
                file,
                d["line"].as_u64().unwrap() as usize,
                d["code"].as_str().unwrap().to_string(),
            ));
        }
        let mut want = BTreeSet::new();
        annotations(&name, &mut BTreeSet::new(), &mut want);
        if got != want {
            failures.push(format!("{name}:\n  expected {want:?}\n  got      {got:?}"));
        }
        let errors = report["errors"].as_u64().unwrap();
        let expect_code = if errors > 0 { 1 } else { 0 };
        if code != expect_code {
            failures.push(format!("{name}: exit code {code}, expected {expect_code}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_code_has_a_fixture() {
    let names = fixtures();
    for code in camp_compiler::Code::ALL {
        assert!(
            names.iter().any(|n| n.starts_with(code.as_str())),
            "no fixture for {code}"
        );
    }
}

#[test]
fn human_reports_are_pinned() {
    for name in fixtures() {
        let (human, _) = camp(&["check", &name]);
        let snap = name.trim_end_matches(".camp").to_string();
        insta::with_settings!({ snapshot_path => "snapshots/fixtures", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(snap, human);
        });
    }
}

#[test]
fn github_format_annotates() {
    let (out, code) = camp(&["check", "E0102_unknown_reward.camp", "--format", "github"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("::error file=E0102_unknown_reward.camp,line="),
        "{out}"
    );
    assert!(out.contains("title=E0102::"), "{out}");
}

#[test]
fn five_unrelated_errors_in_one_run() {
    let (json, code) = camp(&["check", "many_errors.camp", "--format", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let codes: BTreeSet<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.len() >= 5, "{codes:?}");
    assert!(report["errors"].as_u64().unwrap() >= 5);
}

/// A byte-order mark at the start of a file is ignored: the human and JSON reports of a
/// file with one are those of the same file without it, bar the byte offsets.
#[test]
fn a_byte_order_mark_is_ignored() {
    let dir = std::env::temp_dir().join(format!("camp-bom-{}", std::process::id()));
    let (plain, marked) = (dir.join("plain"), dir.join("marked"));
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::create_dir_all(&marked).unwrap();
    let src = "campaign bom { timezone \"Asia/Shanghia\" }\nevent checkin {}\n";
    std::fs::write(plain.join("c.camp"), src).unwrap();
    std::fs::write(marked.join("c.camp"), format!("\u{FEFF}{src}")).unwrap();
    let run = |d: &Path, format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_camp"))
            .args(["check", "c.camp", "--format", format])
            .current_dir(d)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let human = run(&plain, "human");
    assert!(human.contains("c.camp:1:25"), "{human}");
    assert_eq!(human, run(&marked, "human"));
    let columns = |json: String| -> Vec<(u64, u64, String)> {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["line"].as_u64().unwrap(),
                    d["column"].as_u64().unwrap(),
                    d["code"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(columns(run(&plain, "json")), columns(run(&marked, "json")));
    std::fs::remove_dir_all(&dir).ok();
}
