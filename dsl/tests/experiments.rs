//! Experiments in the syntax: `experiment NAME { variants … }`, messages `by` an
//! experiment with `variant` blocks, and how the formatter lays them out.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_dsl::ast::{ItemKind, LitKind};
use camp_dsl::span::FileId;
use camp_dsl::{format, parse};

const SRC: &str = r#"/// Which copy sells.
experiment launch_copy { variants control 50% ,bold 50% }
message launch via push by launch_copy {
  variant control { en "New." zh-CN "新品。" }
  variant bold {
    subject en "Now"
    en "Now!"
  }
}
"#;

#[test]
fn experiments_and_variant_bodies_parse() {
    let p = parse(SRC, FileId(0));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let ItemKind::Experiment(x) = &p.file.items[0].kind else {
        panic!("{:?}", p.file.items[0])
    };
    assert_eq!(
        p.file.items[0].docs.text().as_deref(),
        Some("Which copy sells.")
    );
    assert_eq!(x.name.name, "launch_copy");
    let names: Vec<&str> = x.variants.iter().map(|v| v.name.name.as_str()).collect();
    assert_eq!(names, ["control", "bold"]);
    assert!(matches!(x.variants[1].weight.kind, LitKind::Percent(_)));
    let ItemKind::Message(m) = &p.file.items[1].kind else {
        panic!("{:?}", p.file.items[1])
    };
    assert_eq!(
        m.experiment.as_ref().map(|e| e.name.as_str()),
        Some("launch_copy")
    );
    assert!(m.entries.is_empty());
    assert_eq!(m.variants.len(), 2);
    assert_eq!(m.variants[0].entries.len(), 2);
    assert!(m.variants[1].entries[0].subject);
}

#[test]
fn the_formatter_writes_one_line_per_body_and_is_stable() {
    let out = format(SRC).unwrap();
    assert_eq!(
        out,
        "/// Which copy sells.\nexperiment launch_copy {\n  variants control 50%, bold 50%\n}\n\nmessage launch via push by launch_copy {\n  variant control {\n    en    \"New.\"\n    zh-CN \"新品。\"\n  }\n  variant bold {\n    subject en \"Now\"\n    en \"Now!\"\n  }\n}\n"
    );
    assert_eq!(format(&out).unwrap(), out);
}

#[test]
fn a_broken_experiment_is_a_syntax_error_that_names_what_was_expected() {
    let p = parse("experiment x { variants }\nevent e {}\n", FileId(0));
    assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
    assert!(
        p.diagnostics[0]
            .message
            .contains("expected a name, found `}`"),
        "{}",
        p.diagnostics[0].message
    );
    // The next item is still read.
    assert!(p
        .file
        .items
        .iter()
        .any(|i| matches!(i.kind, ItemKind::Event(_))));
}
