//! The campaign shown in the README is real: it checks with no diagnostic at all.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use std::process::Command;

#[test]
fn readme_campaign_checks_clean() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme.find("```camp\n").expect("README has a camp block") + "```camp\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = std::env::temp_dir().join(format!("camp-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("readme.camp");
    std::fs::write(&file, block).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_camp"))
        .args(["check", "--deny-warnings", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["diagnostics"].as_array().map(Vec::len),
        Some(0),
        "{report:#}"
    );
    assert!(out.status.success());
    std::fs::remove_dir_all(&dir).ok();
}
