//! `camp fmt` on every real campaign we have: the spec's examples, the project's
//! examples and the compiler's fixtures (those without syntax errors).
//!
//! For each file: formatting is idempotent, the AST (spans aside) is unchanged, and
//! every comment is kept, in order.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_dsl::diag::Code;
use camp_dsl::span::FileId;
use camp_dsl::{format, parse, FormatError};
use std::path::{Path, PathBuf};

mod common;
use common::{comments, meaning};

fn is_clean(src: &str) -> bool {
    !parse(src, FileId(0))
        .diagnostics
        .iter()
        .any(|d| matches!(d.code, Code::E0001 | Code::E0002 | Code::E0003))
}

/// Checks the three properties on one source; returns the formatted text.
fn check(name: &str, src: &str) -> String {
    let once = format(src).unwrap_or_else(|e| panic!("{name}: {e}"));
    let twice = format(&once).unwrap_or_else(|e| panic!("{name}, formatted: {e}\n{once}"));
    assert_eq!(twice, once, "{name}: formatting is not idempotent");
    assert_eq!(
        meaning(&once),
        meaning(src),
        "{name}: formatting changed the AST\n{once}"
    );
    assert_eq!(
        comments(&once),
        comments(src),
        "{name}: formatting changed the comments\n{once}"
    );
    assert!(
        once.ends_with('\n') && !once.ends_with("\n\n"),
        "{name}: not one trailing newline"
    );
    assert!(
        !once
            .lines()
            .any(|l| l.ends_with(' ') && !l.trim().is_empty()),
        "{name}: trailing spaces\n{once}"
    );
    once
}

fn camp_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "camp"))
        .collect();
    files.sort();
    files
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_known_campaign_formats_stably_and_keeps_its_meaning() {
    let root = manifest_dir();
    let dirs = [
        root.join("../../shared/spec/examples"),
        root.join("../examples"),
        root.join("../compiler/tests/fixtures"),
        root.join("../compiler/tests/fixtures/lib"),
    ];
    let mut checked = 0;
    for dir in dirs {
        for path in camp_files(&dir) {
            let src = std::fs::read_to_string(&path).expect("readable");
            let name = path.display().to_string();
            if is_clean(&src) {
                check(&name, &src);
                checked += 1;
            } else {
                assert!(
                    matches!(format(&src), Err(FormatError::Syntax { count }) if count > 0),
                    "{name}"
                );
            }
        }
    }
    eprintln!("checked {checked} files");
}

#[test]
fn spec_examples_are_nearly_fixed_points() {
    // The spec's examples are hand-aligned; formatting moves few of their lines.
    for path in camp_files(&manifest_dir().join("../../shared/spec/examples")) {
        let src = std::fs::read_to_string(&path).expect("readable");
        let out = check(&path.display().to_string(), &src);
        let before: Vec<&str> = src.lines().collect();
        let changed = out.lines().zip(&before).filter(|(a, b)| a != *b).count();
        assert_eq!(
            out.lines().count(),
            before.len(),
            "{}\n{out}",
            path.display()
        );
        assert!(
            changed * 8 <= before.len(),
            "{}: {changed} lines changed\n{out}",
            path.display()
        );
    }
}

#[test]
fn snapshot_of_the_spring_checkin_example() {
    let path = manifest_dir().join("../../shared/spec/examples/spring_checkin.camp");
    let Ok(src) = std::fs::read_to_string(&path) else {
        return;
    };
    let out = check("spring_checkin.camp", &src);
    assert_eq!(out, src, "the spring check-in example is a fixed point");
    insta::assert_snapshot!("spring_checkin", out);
}

#[test]
fn snapshot_of_a_messy_campaign() {
    let src = r#"// A campaign written in a hurry.
import "lib/rewards.camp"
campaign   demo{name "Demo" timezone "Asia/Shanghai"   // zone
start 2027-01-20T00:00 locales zh-CN,en budget 1000  CNY
audience user.level>=5 and
   user.region in ["CN","HK"]
   }
user{nickname:string registered_days :int}
event checkin{}
event purchase{amount:money,sku:string}
/// The daily reward.
reward points_10=points 10
reward coupon_20=coupon{value 20 CNY stock 50_000 per_user 1 expires 14d}
reward fu=draw{30% points_10 70% coupon_20}
segment vip=user.level>=10
message hello via push{zh-CN "你好" en "Hello"}
message recap via email{subject zh-CN "回顾" subject en "Recap"
en """
      Hi {{ user.nickname }},
        thanks.
      """}
phase main for 14d until budget exhausted{


task daily{on checkin limit 1 per day grant points_10 streak 7 days=>grant coupon_20}   // daily

leaderboard top{score count(checkin) show top 10}
send hello at 20:00 daily to vip
/* done */ }
kpi reach=unique(checkin)/audience target>=20%
kpi spend_per_head=spend/participants target<=5 CNY
"#;
    let out = check("messy", src);
    insta::assert_snapshot!("messy", out);
}
