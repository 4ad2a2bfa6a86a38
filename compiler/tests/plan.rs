//! The Plan of every example is pinned, round-trips through JSON, and validates against
//! the Plan's JSON Schema (`camp_plan::schema_json`, kept in docs/plan.schema.json).
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_compiler::{compile_file, FsLoader};
use camp_plan::Plan;
use std::path::Path;

mod common;
use common::campaigns;

fn plan_of(path: &Path) -> Plan {
    let result = compile_file(&FsLoader, path).unwrap();
    result.plan.unwrap_or_else(|| {
        panic!(
            "{} has errors: {:#?}",
            path.display(),
            result.check.diagnostics
        )
    })
}

#[test]
fn plans_are_pinned() {
    for (name, path) in campaigns() {
        let plan = plan_of(&path);
        insta::with_settings!({ snapshot_path => "snapshots/plans", prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!(name, plan);
        });
    }
}

#[test]
fn plans_round_trip_through_json() {
    for (_, path) in campaigns() {
        let plan = plan_of(&path);
        let json = serde_json::to_string(&plan).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(plan, back, "{}", path.display());
    }
}

#[test]
fn plans_validate_against_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(&camp_plan::schema_json()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (_, path) in campaigns() {
        let value = serde_json::to_value(plan_of(&path)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
    // And the schema is not vacuous: a plan with a wrong type fails.
    let mut bad = serde_json::to_value(plan_of(&campaigns()[0].1)).unwrap();
    bad["phases"] = serde_json::json!("not a list");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn phases_given_by_duration_follow_each_other_in_utc() {
    for (_, path) in campaigns() {
        let plan = plan_of(&path);
        for pair in plan.phases.windows(2) {
            assert!(
                pair[0].end <= pair[1].start,
                "{}: {} ends after {} starts",
                path.display(),
                pair[0].name,
                pair[1].name
            );
        }
        assert_eq!(plan.campaign.end, plan.phases.last().unwrap().end);
    }
}

#[test]
fn list_attributes_and_list_literals_lower() {
    // Regression: `"a" in user.tags` checked clean but failed to lower.
    let src = r#"
campaign c {
  timezone "UTC"
  start    2027-01-01T00:00
  audience "vip" in user.tags and user.tags != ["banned"] and user.region in [user.home, "CN"]
}
user {
  tags:   list<string>
  region: string
  home:   string
}
event checkin {}
phase p for 1d {
  task t {
    on checkin
  }
}
"#;
    let loader = camp_compiler::MemoryLoader::with(&[("c.camp", src)]);
    let result = compile_file(&loader, Path::new("c.camp")).unwrap();
    assert!(
        result.check.diagnostics.is_empty(),
        "{:#?}",
        result.check.diagnostics
    );
    let plan = result.plan.expect("a plan");
    let json = serde_json::to_string(&plan.campaign.audience).unwrap();
    assert!(
        json.contains(r#""op":"in""#) && json.contains(r#""op":"list""#),
        "{json}"
    );
}

#[test]
fn local_dates_and_times_in_conditions_lower_in_the_campaign_zone() {
    // Regression: a local datetime literal in a `where` checked clean but failed to lower.
    let src = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-01-01T00:00
}
event checkin {}
phase p for 2d {
  task early {
    on checkin where participant.enrolled_at < 2027-01-02T00:00
  }
}
"#;
    let loader = camp_compiler::MemoryLoader::with(&[("c.camp", src)]);
    let result = compile_file(&loader, Path::new("c.camp")).unwrap();
    assert!(
        result.check.diagnostics.is_empty(),
        "{:#?}",
        result.check.diagnostics
    );
    let plan = result.plan.expect("a plan");
    let json = serde_json::to_string(&plan.tasks[0].filter).unwrap();
    // Midnight in Shanghai is 16:00 UTC the day before.
    assert!(json.contains("2027-01-01T16:00:00Z"), "{json}");
}

#[test]
fn a_campaign_without_phases_or_start_lowers() {
    // Found by fuzzing: it checked clean but failed to lower.
    let src = "campaign c {\n  timezone \"Asia/Shanghai\"\n}\n";
    let loader = camp_compiler::MemoryLoader::with(&[("c.camp", src)]);
    let result = compile_file(&loader, Path::new("c.camp")).unwrap();
    let plan = result.plan.expect("a plan");
    assert!(plan.phases.is_empty());
    assert_eq!(plan.campaign.start, plan.campaign.end);
}
