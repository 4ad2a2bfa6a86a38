//! `camp preview` renders a message for a sample user or one read from a file, and
//! reports a wrong message name, locale or user file as a usage error (exit 2).
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.camp"))
}

fn preview(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camp"))
        .arg("preview")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A file in a directory of this test run's own.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("camp-preview-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn previews_with_sample_values_in_the_first_locale() {
    let file = example("checkin_festival");
    let o = preview(&[file.to_str().unwrap(), "recap"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out,
        "# recap via email (zh-CN)\n\
         Subject: 你的中秋签到节战绩\n\
         \n\
         Sample nickname，你好！\n\
         \n\
         本次签到节你共获得 120 积分，当前等级：newcomer。\n\
         你在签到之星榜上排名第 1 名。\n\
         \n\
         感谢参与，明年中秋再见！\n"
    );
}

#[test]
fn sample_reward_and_phase_come_from_the_sender() {
    // `thanks` is sent by `sprint_purchase`, which grants points_20.
    let o = preview(&[
        example("checkin_festival").to_str().unwrap(),
        "thanks",
        "--locale",
        "en",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "# thanks via push (en)\n\nThanks for your order! +20 points, 120 in total.\n"
    );
    // `card_drawn` is sent by a task granting a draw: its first outcome is shown.
    let o = preview(&[example("five_fu").to_str().unwrap(), "card_drawn"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("「富强福」"), "{}", stdout(&o));
    // `preheat_ad` is sent in `reserve`, whose end is the stream's start.
    let o = preview(&[example("live_lottery").to_str().unwrap(), "preheat_ad"]);
    assert!(
        stdout(&o).contains("618 直播 2027-06-18 20:00 开播"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn locale_flag_picks_the_template() {
    let o = preview(&[
        example("referral").to_str().unwrap(),
        "credit_mail",
        "--locale",
        "es",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "# credit_mail via email (es)\nSubject: Has ganado 10 USD\n\nHola Sample first name:\n"
        ),
        "{out}"
    );
}

#[test]
fn user_file_supplies_the_attributes_and_locale() {
    let user = temp_file(
        "user.json",
        r#"{"nickname": "<b>Lin</b>", "locale": "en", "country": "SG"}"#,
    );
    let file = example("checkin_festival");
    let o = preview(&[
        file.to_str().unwrap(),
        "recap",
        "--user",
        user.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // The user's `locale` attribute picks English; the email body is HTML-escaped.
    assert!(out.starts_with("# recap via email (en)\nSubject: Your Mid-Autumn Festival recap\n\nHi &lt;b&gt;Lin&lt;&#x2f;b&gt;,\n"), "{out}");
    // A push is plain text, and `--locale` wins over the attribute.
    let o = preview(&[
        file.to_str().unwrap(),
        "teaser",
        "--user",
        user.to_str().unwrap(),
        "--locale",
        "zh-CN",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "# teaser via push (zh-CN)\n\n<b>Lin</b>，中秋签到节 2027-09-06 开启，连签有好礼！\n"
    );
}

#[test]
fn variant_flag_picks_the_body_of_a_message_by_an_experiment() {
    let file = example("ab_launch");
    let o = preview(&[file.to_str().unwrap(), "launch", "--locale", "en"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "# launch via push, variant control (en)\n\nSample nickname, new arrivals are in.\n"
    );
    let o = preview(&[file.to_str().unwrap(), "launch", "--variant", "bold"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "# launch via push, variant bold (zh-CN)\n\nSample nickname,限时 72 小时!立即抢购!\n"
    );
    let o = preview(&[file.to_str().unwrap(), "launch", "--variant", "bolt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `bold`?"),
        "{}",
        stderr(&o)
    );
    let o = preview(&[file.to_str().unwrap(), "bonus_sent", "--variant", "bold"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no variants"), "{}", stderr(&o));
}

#[test]
fn unknown_message_is_a_usage_error_with_a_suggestion() {
    let o = preview(&[example("checkin_festival").to_str().unwrap(), "recapp"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.contains("no message `recapp`"), "{err}");
    assert!(err.contains("did you mean `recap`?"), "{err}");
}

#[test]
fn unknown_locale_is_a_usage_error_with_a_suggestion() {
    let o = preview(&[
        example("checkin_festival").to_str().unwrap(),
        "recap",
        "--locale",
        "zh-cn",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `zh-CN`?"),
        "{}",
        stderr(&o)
    );
    let o = preview(&[
        example("checkin_festival").to_str().unwrap(),
        "recap",
        "--locale",
        "fr",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("zh-CN, en"), "{}", stderr(&o));
}

#[test]
fn malformed_user_file_is_a_usage_error() {
    let file = example("checkin_festival");
    for (name, text, says) in [
        ("broken.json", r#"{"nickname": "#, "not valid JSON"),
        ("list.json", "[1, 2]", "must hold a JSON object"),
    ] {
        let user = temp_file(name, text);
        let o = preview(&[
            file.to_str().unwrap(),
            "recap",
            "--user",
            user.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(stdout(&o).is_empty(), "{name}");
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
    }
    let missing = std::env::temp_dir().join("camp-preview-no-such-user.json");
    let o = preview(&[
        file.to_str().unwrap(),
        "recap",
        "--user",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

#[test]
fn a_group_outcome_message_shows_the_group() {
    // `team_done` goes out when a team of three fills; `team_failed` when one expires.
    let o = preview(&[example("team_buy").to_str().unwrap(), "team_done"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "# team_done via push (zh-CN)\n\nSample nickname,你的 3 人团已成团!拼团券已到账。\n"
    );
    let o = preview(&[example("team_buy").to_str().unwrap(), "team_failed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("只凑到 2 人"), "{}", stdout(&o));
    // The balance after a redemption, and `reward.value` of points with its unit.
    let o = preview(&[example("team_buy").to_str().unwrap(), "thanks_helper"]);
    assert!(stdout(&o).contains("送你 20 points。"), "{}", stdout(&o));
}
