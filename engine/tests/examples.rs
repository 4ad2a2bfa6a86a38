//! Every example campaign's scenarios (`examples/*.test.yaml`) pass on the engine:
//! the social examples (groups, raffles, points mall, gifting, votes) included.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

use camp_compiler::{compile_file, FsLoader};
use camp_engine::scenario;
use camp_engine::Engine;
use std::path::Path;

#[test]
fn every_example_scenario_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut failed = Vec::new();
    let mut ran = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for s in scenario::parse(&text).unwrap() {
            let campaign = dir.join(&s.campaign);
            let r = compile_file(&FsLoader, &campaign).unwrap();
            let plan = r
                .plan
                .unwrap_or_else(|| panic!("{campaign:?}: {:#?}", r.check.diagnostics));
            let engine = match s.seed() {
                Some(seed) => Engine::with_seed(plan, seed),
                None => Engine::new(plan),
            }
            .unwrap();
            ran += 1;
            if let Err(e) = scenario::run(&engine, &s) {
                failed.push(format!(
                    "{} / {}:\n{e}",
                    file.file_name().unwrap().to_string_lossy(),
                    s.name.as_deref().unwrap_or("-")
                ));
            }
        }
    }
    assert!(ran > 10, "{ran} scenarios");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
