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
        root.join("tests/fixtures"),
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

#[test]
fn the_social_fixture_is_a_fixed_point() {
    let src = include_str!("fixtures/social.camp");
    let out = check("social.camp", src);
    assert_eq!(out, src);
}

#[test]
fn snapshot_of_every_social_construct_written_in_a_hurry() {
    let src = r#"group team{size 3 within 24h
filled=>{grant team_coupon send team_done}   // to every member
expired=>send team_failed   to    opener}
group cut{ size 11 filled => { grant free_gift to opener
  // helpers
  send thanks to members } expired => {} }
phase live from 2027-06-18T20:00 to 2027-06-18T22:00{
task comment{on live_comment}
raffle lucky at 20:30,21:00 ,  21:30 pick 10=>grant prize
raffle grand at 21:55 daily pick 1 from participants where participant.count.comment>=5 and
    user.level > 2   // regulars only
    =>{grant phone send you_won}
raffle quick at 2027-06-18T21:00 pick 2 => /* one */ grant a
}
phase main for 14d{
task stamp{on purchase limit 1 per   event.order_id grant stamp_card every 9=>{grant free_drink   use stamp_card 9}}
task redeem{on redeem where event.n>=2  use 200 points use fu_card 2 use fu_card}
task gifts{on card_gifted give fu_wealth 1 to event.friend give 5 points to event.friend revoke x
  revoke 10 points from user.invited_by revoke y 2}
task teams{on team_opened open team by event.team_id join cut by event.cut_id grant a to event.x send m to user.invited_by}
task streaky{on checkin streak 7 days
  => grant c after 3 => {
  grant d /* why */ send e }}
send teaser at 12:00,20:00 daily to audience
send greeting at 2027-06-10T10:00 , 2027-06-12T10:00 to audience
goal g when holds(a)>0=>{grant b send c to user.invited_by}
award top rank 2..10=>{grant coupon_20 send runner_up}
}
tiers{bronze at 0 points silver at 500 points=>{grant coupon_20 send tier_up}
gold at 2_000 points=>grant phone}
"#;
    let out = check("social, messy", src);
    insta::assert_snapshot!("social_messy", out);
}
