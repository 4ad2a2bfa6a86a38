//! Pools (language §3): one firing of a mass grant — a raffle round, an award, a group's
//! outcome, an `on enter` or `at` grant — shares the amount equally among its
//! recipients, rounded down to the currency's minor unit; a denied share is not paid to
//! anyone else. Every expected share here is worked out by hand.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;
use camp_engine::input::EventLine;
use common::{count, engine, ev, having, users};

fn head(budget: &str) -> String {
    format!(
        r#"
campaign c {{
  timezone "UTC"
  start    2027-01-01T00:00
  locales  en
  budget   {budget}
}}
user {{
  nickname: string
}}
event comment {{}}
"#
    )
}

fn at(h: u32, m: u32) -> String {
    format!("2027-01-01T{h:02}:{m:02}:00Z")
}

/// Runs `body` (after the campaign head with `budget`) for users a..e, with a comment by
/// each of `commenters` at 01:00, 01:01, ... (their enrollment, in that order), then
/// `more` events; returns the effects as JSON lines and the final report.
fn pooled(
    budget: &str,
    body: &str,
    commenters: &[&str],
    more: &[EventLine],
) -> (Vec<String>, serde_json::Value) {
    let e = engine(&format!("{}\n{body}", head(budget)));
    let people = users(
        &["a", "b", "c", "d", "e"]
            .map(|id| format!(r#"{{"id":"{id}","attrs":{{"nickname":"N{id}"}}}}"#))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let mut events: Vec<EventLine> = commenters
        .iter()
        .enumerate()
        .map(|(i, u)| ev(&format!("c{i}"), "comment", u, &at(1, i as u32), "{}"))
        .collect();
    events.extend_from_slice(more);
    let mut state = e.start();
    for u in &people {
        e.user(&mut state, u).unwrap();
    }
    let out =
        camp_engine::replay::run_events(&e, &mut state, &events, camp_engine::replay::Until::End);
    let lines: Vec<String> = out
        .effects
        .iter()
        .map(|x| serde_json::to_string(x).unwrap())
        .collect();
    let report = serde_json::to_value(e.report(&state)).unwrap();
    (lines, report)
}

/// The `value` of every grant of `reward`, in order.
fn shares(lines: &[String], reward: &str) -> Vec<String> {
    having(
        lines,
        &[r#""kind":"grant""#, &format!(r#""reward":"{reward}""#)],
    )
    .iter()
    .map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["value"].as_str().unwrap().to_string()
    })
    .collect()
}

#[test]
fn a_raffle_round_shares_the_pool_among_its_winners() {
    let (out, report) = pooled(
        "500 CNY",
        r#"
reward cash = pool 100 CNY
message won via push {
  en "you won {{ reward.value }} ({{ reward.amount }}) of {{ reward.label }}"
}
phase live for 1d {
  task talk { on comment }
  raffle lucky at 10:00, 11:00 pick 3 => { grant cash  send won }
}
"#,
        &["a", "b", "c", "d"],
        &[],
    );
    // 10:00: three winners of four share 100 CNY: 33.33 each, 0.01 not spent.
    // 11:00: the one entrant left wins alone: the whole 100 CNY.
    assert_eq!(
        shares(&out, "cash"),
        ["33.33 CNY", "33.33 CNY", "33.33 CNY", "100 CNY"],
        "{out:#?}"
    );
    assert_eq!(
        count(
            &out,
            &[r#""kind":"send""#, "you won 33.33 CNY (33.33) of cash"]
        ),
        3
    );
    assert_eq!(
        count(&out, &[r#""kind":"send""#, "you won 100 CNY (100)"]),
        1
    );
    assert_eq!(report["spend"], "199.99 CNY", "{report:#}");
}

#[test]
fn each_award_is_one_firing_over_its_ranks() {
    let (out, report) = pooled(
        "500 CNY",
        r#"
reward gold = pool 50 CNY
reward cash = pool 100 CNY
phase play for 1d {
  task talk { on comment }
  leaderboard board { score count(comment)  show top 3 }
}
phase wrap for 1d {
  award board rank 1 => grant gold
  award board rank 2..3 => grant cash
}
"#,
        &["a", "b", "b", "c", "c", "c", "d"],
        &[],
    );
    // Ranks: c (3), b (2), then a and d tie at 1: a reached it first. Rank 1 alone gets
    // the gold pool; ranks 2 and 3 share the cash pool: 50 CNY each.
    let gold = having(&out, &[r#""reward":"gold""#]);
    assert_eq!(gold.len(), 1);
    assert!(gold[0].contains(r#""user":"c""#) && gold[0].contains(r#""value":"50 CNY""#));
    assert_eq!(shares(&out, "cash"), ["50 CNY", "50 CNY"]);
    assert_eq!(
        count(&out, &[r#""reward":"cash""#, r#""user":"b""#]),
        1,
        "{out:#?}"
    );
    assert_eq!(count(&out, &[r#""reward":"cash""#, r#""user":"a""#]), 1);
    assert_eq!(report["spend"], "150 CNY");
}

#[test]
fn a_group_outcome_shares_among_the_members_it_reaches() {
    let e_open =
        |id: &str, u: &str, m: u32| ev(id, "team_opened", u, &at(2, m), r#"{"team_id":"t1"}"#);
    let e_join =
        |id: &str, u: &str, m: u32| ev(id, "team_joined", u, &at(2, m), r#"{"team_id":"t1"}"#);
    let (out, report) = pooled(
        "500 CNY",
        r#"
event team_opened { team_id: string }
event team_joined { team_id: string }
reward team_cash = pool 10 CNY
reward bonus     = pool 7 CNY
message done via push {
  en "your share: {{ reward.value }}"
}
group team {
  size 3
  within 24h
  filled => { grant team_cash  send done  grant bonus to opener }
}
phase p for 1d {
  task open_team { on team_opened  open team by event.team_id }
  task join_team { on team_joined  join team by event.team_id }
}
"#,
        &[],
        &[
            e_open("o", "a", 0),
            e_join("j1", "b", 1),
            e_join("j2", "c", 2),
        ],
    );
    // Three members share 10 CNY: 3.33 each. The opener alone gets the whole bonus.
    assert_eq!(
        shares(&out, "team_cash"),
        ["3.33 CNY", "3.33 CNY", "3.33 CNY"]
    );
    assert_eq!(shares(&out, "bonus"), ["7 CNY"]);
    assert_eq!(count(&out, &[r#""reward":"bonus""#, r#""user":"a""#]), 1);
    assert_eq!(count(&out, &["your share: 3.33 CNY"]), 3, "{out:#?}");
    assert_eq!(report["spend"], "16.99 CNY");
}

#[test]
fn on_enter_and_at_share_among_their_recipients() {
    let (out, report) = pooled(
        "500 CNY",
        r#"
reward enter_cash = pool 100 CNY
reward noon_cash  = pool 90 CNY
phase first for 12h {
  task talk { on comment }
}
phase second for 12h {
  task talk2 { on comment }
  grant enter_cash on enter
  grant noon_cash at 13:00, 14:00
}
"#,
        &["a", "b", "c", "d"],
        &[ev("late", "comment", "e", &at(13, 30), "{}")],
    );
    // Entering `second`, four participants share 100 CNY: 25 each.
    assert_eq!(shares(&out, "enter_cash"), ["25 CNY"; 4], "{out:#?}");
    // 13:00: the same four share 90 CNY (22.5 each); 14:00: e has joined, five share
    // it: 18 each.
    assert_eq!(
        shares(&out, "noon_cash"),
        [
            "22.5 CNY", "22.5 CNY", "22.5 CNY", "22.5 CNY", "18 CNY", "18 CNY", "18 CNY", "18 CNY",
            "18 CNY"
        ]
    );
    assert_eq!(report["spend"], "280 CNY");
}

#[test]
fn a_share_denied_by_the_budget_is_not_paid_to_anyone_else() {
    let (out, report) = pooled(
        "50 CNY",
        r#"
reward cash = pool 100 CNY
phase p for 1d {
  task talk { on comment }
  grant cash at 12:00
}
"#,
        &["a", "b", "c"],
        &[],
    );
    // 33.33 each: the first fits the 50 CNY budget, the second would make 66.66.
    assert_eq!(shares(&out, "cash"), ["33.33 CNY"]);
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"deny""#,
                r#""reward":"cash""#,
                r#""reason":"budget""#
            ]
        ),
        2
    );
    assert_eq!(report["spend"], "33.33 CNY");
}

#[test]
fn per_user_denies_a_share_and_the_rest_keep_theirs() {
    let (out, report) = pooled(
        "500 CNY",
        r#"
reward cash = pool 30 CNY { per_user 1 }
phase p for 1d {
  task talk { on comment }
  grant cash at 12:00, 13:00
}
"#,
        &["a", "b", "c"],
        &[ev("late", "comment", "d", &at(12, 30), "{}")],
    );
    // 12:00: three share 30 CNY (10 each). 13:00: four share it (7.5 each), but a, b and
    // c already had theirs: only d is paid, and their shares go to no one.
    assert_eq!(
        shares(&out, "cash"),
        ["10 CNY", "10 CNY", "10 CNY", "7.5 CNY"]
    );
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"deny""#,
                r#""reward":"cash""#,
                r#""reason":"per_user""#
            ]
        ),
        3
    );
    assert_eq!(report["spend"], "37.5 CNY");
}

#[test]
fn a_stock_counts_shares() {
    let (out, _) = pooled(
        "500 CNY",
        r#"
reward cash = pool 30 CNY { stock 2 }
phase p for 1d {
  task talk { on comment }
  grant cash at 12:00
}
"#,
        &["a", "b", "c"],
        &[],
    );
    assert_eq!(shares(&out, "cash"), ["10 CNY", "10 CNY"]);
    assert_eq!(count(&out, &[r#""kind":"deny""#, r#""reason":"stock""#]), 1);
}

#[test]
fn a_yen_pool_has_no_decimals() {
    let (out, report) = pooled(
        "1_000 JPY",
        r#"
reward cash = pool 100 JPY
phase p for 1d {
  task talk { on comment }
  grant cash at 12:00
}
"#,
        &["a", "b", "c"],
        &[],
    );
    assert_eq!(shares(&out, "cash"), ["33 JPY", "33 JPY", "33 JPY"]);
    assert_eq!(report["spend"], "99 JPY");
}
