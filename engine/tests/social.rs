//! One test per rule of the second edition's social campaigns (language §6–§8, §13):
//! actions and targets, `every`, `use`/`give`/`revoke`, per-field limits, `counted()`
//! and participant paths, groups, raffles, and why a matched task did not count.
#![allow(clippy::restriction)] // Tests may unwrap, panic and index.

mod common;
use camp_engine::input::EventLine;
use camp_engine::{Output, Verdict};
use common::{count, engine, ev, having, run, t, users};

const HEAD: &str = r#"
campaign c {
  timezone "UTC"
  start    2027-01-01T00:00
  locales  en
  budget   100 CNY
  audience user.ok
  holdout  10%
}
user {
  nickname:   string
  ok:         bool
  invited_by: user
}
"#;

fn campaign(body: &str) -> camp_engine::Engine {
    engine(&format!("{HEAD}\n{body}"))
}

/// Users a..e (eligible), x (not in the audience), and `held`, a user the holdout takes.
fn people() -> Vec<camp_engine::input::UserLine> {
    let mut lines: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|id| format!(r#"{{"id":"{id}","attrs":{{"nickname":"N{id}","ok":true}}}}"#))
        .collect();
    lines.push(r#"{"id":"x","attrs":{"nickname":"Nx","ok":false}}"#.into());
    lines.push(format!(
        r#"{{"id":"{}","attrs":{{"nickname":"H","ok":true}}}}"#,
        held_out()
    ));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    users(&refs)
}

/// A user id the 10% holdout of campaign `c` puts in the control group.
fn held_out() -> String {
    let e = campaign("event ping {}\nphase p for 1d {\n  task t { on ping }\n}");
    (0..10_000)
        .map(|i| format!("h{i}"))
        .find(|id| {
            let mut s = e.start();
            let line: camp_engine::input::UserLine = serde_json::from_str(&format!(
                r#"{{"id":"{id}","attrs":{{"nickname":"H","ok":true}}}}"#
            ))
            .unwrap();
            e.user(&mut s, &line).unwrap();
            let mut out = Output::default();
            let v = e.event(
                &mut s,
                &ev("p", "ping", id, "2027-01-01T01:00:00Z", "{}"),
                t("2027-01-01T01:00:00Z"),
                &mut out,
            );
            v == Verdict::Accepted && !out.effects.iter().any(|x| x.kind() == "enroll")
        })
        .unwrap()
}

fn at(h: u32) -> String {
    format!("2027-01-01T{h:02}:00:00Z")
}

#[test]
fn actions_reach_targets_carry_by_and_enroll_eligible_targets_first() {
    let e = campaign(
        r#"
event invite { invitee: user }
reward gift = coupon { value 5 CNY }
reward pts = points 10
message thanks via push {
  en "thanks, {{ reward.name }}"
}
message hello via push {
  en "hello {{ user.nickname }}"
}
phase p for 1d {
  task invited {
    on invite
    grant pts
    grant gift to event.invitee
    send hello to event.invitee
    send thanks
  }
}
"#,
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("e1", "invite", "a", &at(1), r#"{"invitee":"b"}"#),
            ev("e2", "invite", "a", &at(2), r#"{"invitee":"x"}"#),
            ev(
                "e3",
                "invite",
                "a",
                &at(3),
                &format!(r#"{{"invitee":"{}"}}"#, held_out()),
            ),
            ev("e4", "invite", "a", &at(4), r#"{"invitee":"nobody"}"#),
        ],
        None,
    );
    // b is eligible and not a participant: enrolled first, then receives, with `by`.
    let b = having(&out, &[r#""user":"b""#]);
    assert!(b[0].contains(r#""kind":"enroll""#), "{out:#?}");
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"grant""#,
                r#""user":"b""#,
                r#""reward":"gift""#,
                r#""by":"a""#,
                r#""cause":"task:invited""#
            ]
        ),
        1
    );
    // Own grants carry no `by`.
    assert!(having(&out, &[r#""user":"a""#, r#""reward":"pts""#])
        .iter()
        .all(|l| !l.contains("\"by\"")));
    // The send tells the block's first reward (points), to the participant.
    assert_eq!(
        count(&out, &[r#""kind":"send""#, r#""user":"a""#, "thanks, pts"]),
        3
    );
    assert_eq!(
        count(&out, &[r#""kind":"send""#, r#""user":"b""#, "hello Nb"]),
        1
    );
    // Not eligible, held out, unknown: deny and suppress with the reason; the rest goes on.
    for (who, reason) in [("x", "ineligible"), (held_out().as_str(), "holdout")] {
        assert_eq!(
            count(
                &out,
                &[
                    r#""kind":"deny""#,
                    &format!(r#""user":"{who}""#),
                    &format!(r#""reason":"{reason}""#)
                ]
            ),
            1,
            "{who}"
        );
        assert_eq!(
            count(
                &out,
                &[
                    r#""kind":"suppress""#,
                    &format!(r#""user":"{who}""#),
                    &format!(r#""reason":"{reason}""#)
                ]
            ),
            1,
            "{who}"
        );
    }
    // An event naming an unknown user in a `user` field is rejected as bad_field.
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"reject""#,
                r#""event":"e4""#,
                r#""reason":"bad_field""#
            ]
        ),
        1
    );
}

#[test]
fn an_attribute_target_that_names_nobody_is_denied_as_unknown_user() {
    let e = campaign(
        r#"
event buy {}
reward thanks = points 5
phase p for 1d {
  task bought {
    on buy
    grant thanks to user.invited_by
  }
}
"#,
    );
    let mut who = people();
    who.push(
        serde_json::from_str(
            r#"{"id":"f","attrs":{"nickname":"F","ok":true,"invited_by":"ghost"}}"#,
        )
        .unwrap(),
    );
    who.push(
        serde_json::from_str(r#"{"id":"g","attrs":{"nickname":"G","ok":true,"invited_by":"a"}}"#)
            .unwrap(),
    );
    let out = run(
        &e,
        &who,
        &[
            ev("1", "buy", "f", &at(1), "{}"),
            ev("2", "buy", "g", &at(2), "{}"),
        ],
        None,
    );
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"deny""#,
                r#""user":"ghost""#,
                r#""reason":"unknown_user""#
            ]
        ),
        1
    );
    assert_eq!(
        count(&out, &[r#""kind":"grant""#, r#""user":"a""#, r#""by":"g""#]),
        1
    );
}

#[test]
fn every_n_fires_on_each_multiple_and_after_once() {
    let e = campaign(
        r#"
event buy {}
reward stamp = item "Stamp"
reward drink = item "Drink"
reward bonus = item "Bonus"
phase p for 1d {
  task stamp_card {
    on buy
    grant stamp
    every 3 => grant drink
    after 2 => grant bonus
  }
}
"#,
    );
    let events: Vec<EventLine> = (1..=7)
        .map(|i| ev(&format!("e{i}"), "buy", "a", &at(i), "{}"))
        .collect();
    let out = run(&e, &people(), &events, None);
    let drinks = having(
        &out,
        &[r#""reward":"drink""#, r#""cause":"every:stamp_card""#],
    );
    assert_eq!(drinks.len(), 2);
    assert!(drinks[0].contains(r#""event":"e3""#) && drinks[1].contains(r#""event":"e6""#));
    assert_eq!(
        count(
            &out,
            &[
                r#""reward":"bonus""#,
                r#""cause":"after:stamp_card""#,
                r#""event":"e2""#
            ]
        ),
        1
    );
}

const MALL: &str = r#"
event order { order_id: string }
event refund { order_id: string }
event redeem {}
reward pts = points 100
reward tea = coupon { value 10 CNY  stock 3 }
message ok via push {
  en "{{ reward.label }} for {{ participant.points }} of {{ participant.earned }}"
}
tiers {
  silver at 0 points
  gold   at 200 points
}
phase p for 1d {
  task earn {
    on order
    limit 1 per event.order_id
    grant pts
  }
  task back {
    on refund
    revoke 150 points
    revoke tea
  }
  task buy_tea {
    on redeem
    use 150 points
    grant tea
    send ok
  }
}
"#;

#[test]
fn use_needs_the_balance_and_tiers_follow_earned() {
    let e = campaign(MALL);
    let out = run(
        &e,
        &people(),
        &[
            ev("r0", "redeem", "a", &at(1), "{}"),
            ev("o1", "order", "a", &at(2), r#"{"order_id":"A"}"#),
            ev("o2", "order", "a", &at(3), r#"{"order_id":"A"}"#),
            ev("o3", "order", "a", &at(4), r#"{"order_id":"B"}"#),
            ev("r1", "redeem", "a", &at(5), "{}"),
            ev("r2", "redeem", "a", &at(6), "{}"),
        ],
        None,
    );
    // The first redemption had no points: it counts for nothing (the user still enrolls
    // on `earn` later). `limit 1 per event.order_id`: order A counts once.
    assert_eq!(
        count(&out, &[r#""kind":"complete""#, r#""task":"earn""#]),
        2
    );
    assert_eq!(
        count(&out, &[r#""kind":"complete""#, r#""task":"buy_tea""#]),
        1
    );
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"use""#,
                r#""user":"a""#,
                r#""reward":null"#,
                r#""count":150"#,
                r#""cause":"task:buy_tea""#,
                r#""event":"r1""#
            ]
        ),
        1
    );
    // Spending does not lower the tier: gold came at 200 earned.
    assert_eq!(count(&out, &[r#""kind":"tier""#, r#""to":"gold""#]), 1);
    assert_eq!(count(&out, &[r#""kind":"send""#, "tea for 50 of 200"]), 1);
}

#[test]
fn a_matched_task_that_does_not_count_says_why() {
    let e = campaign(MALL);
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let mut out = Output::default();
    let mut take = |id: &str, kind: &str, data: &str, h: u32| {
        let v = e.event(
            &mut s,
            &ev(id, kind, "a", &at(h), data),
            t(&at(h)),
            &mut out,
        );
        assert_eq!(v, Verdict::Accepted);
        out.unmatched
            .iter()
            .map(|u| {
                format!(
                    "{}:{}",
                    u.task,
                    serde_json::to_value(u.why).unwrap().as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        take("o1", "order", r#"{"order_id":"A"}"#, 1),
        Vec::<String>::new()
    );
    assert_eq!(take("r1", "redeem", "{}", 2), vec!["buy_tea:balance"]);
    assert_eq!(
        take("o2", "order", r#"{"order_id":"A"}"#, 3),
        vec!["earn:limit"]
    );
}

#[test]
fn revoke_returns_stock_refunds_budget_and_keeps_earned_at_zero_or_more() {
    let e = campaign(MALL);
    let out = run(
        &e,
        &people(),
        &[
            ev("o1", "order", "a", &at(1), r#"{"order_id":"A"}"#),
            ev("o2", "order", "a", &at(2), r#"{"order_id":"B"}"#),
            ev("r1", "redeem", "a", &at(3), "{}"),
            ev("f1", "refund", "a", &at(4), r#"{"order_id":"A"}"#),
            ev("f2", "refund", "a", &at(5), r#"{"order_id":"B"}"#),
        ],
        None,
    );
    // 200 earned, 150 used: 50 left; the first refund takes those 50 and the coupon.
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"revoke""#,
                r#""reward":null"#,
                r#""count":50"#,
                r#""event":"f1""#
            ]
        ),
        1
    );
    assert_eq!(
        count(
            &out,
            &[
                r#""kind":"revoke""#,
                r#""reward":"tea""#,
                r#""count":1"#,
                r#""event":"f1""#
            ]
        ),
        1
    );
    // Nothing left to take: no effect.
    assert_eq!(count(&out, &[r#""kind":"revoke""#, r#""event":"f2""#]), 0);
    // The report: one tea granted, none held; spend refunded.
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let events = [
        ev("o1", "order", "a", &at(1), r#"{"order_id":"A"}"#),
        ev("o2", "order", "a", &at(2), r#"{"order_id":"B"}"#),
        ev("r1", "redeem", "a", &at(3), "{}"),
        ev("f1", "refund", "a", &at(4), r#"{"order_id":"A"}"#),
    ];
    let _ = camp_engine::replay::run_events(&e, &mut s, &events, camp_engine::replay::Until::End);
    let report = serde_json::to_value(e.report(&s)).unwrap();
    assert_eq!(report["spend"], "0 CNY", "{report:#}");
}

#[test]
fn stock_comes_back_with_a_revoke() {
    let e = campaign(
        r#"
event take {}
event undo {}
reward one = item "One" { stock 1 }
phase p for 1d {
  task t { on take  grant one }
  task u { on undo  revoke one }
}
"#,
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("1", "take", "a", &at(1), "{}"),
            ev("2", "take", "b", &at(2), "{}"),
            ev("3", "undo", "a", &at(3), "{}"),
            ev("4", "take", "b", &at(4), "{}"),
        ],
        None,
    );
    assert_eq!(
        count(
            &out,
            &[r#""kind":"deny""#, r#""user":"b""#, r#""reason":"stock""#]
        ),
        1
    );
    assert_eq!(
        count(
            &out,
            &[r#""kind":"grant""#, r#""user":"b""#, r#""event":"4""#]
        ),
        1
    );
}

const CARDS: &str = r#"
event gift { friend: user }
event draw {}
reward card = item "Card" { per_user 1 }
phase p for 1d {
  task get { on draw  grant card }
  task give_card {
    on gift
    give card to event.friend
  }
}
"#;

#[test]
fn gifts_move_units_and_need_a_target_who_can_receive() {
    let e = campaign(CARDS);
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let mut out = Output::default();
    let mut why = |id: &str, kind: &str, user: &str, data: &str, h: u32| {
        out.effects.clear();
        e.event(
            &mut s,
            &ev(id, kind, user, &at(h), data),
            t(&at(h)),
            &mut out,
        );
        let effects: Vec<String> = out
            .effects
            .iter()
            .map(|x| serde_json::to_string(x).unwrap())
            .collect();
        (
            out.unmatched
                .iter()
                .map(|u| {
                    serde_json::to_value(u.why)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>(),
            effects,
        )
    };
    assert_eq!(
        why("g0", "gift", "a", r#"{"friend":"b"}"#, 1).0,
        vec!["balance"]
    );
    why("d1", "draw", "a", "{}", 2);
    assert_eq!(
        why("g1", "gift", "a", r#"{"friend":"a"}"#, 3).0,
        vec!["target"]
    );
    assert_eq!(
        why("g2", "gift", "a", r#"{"friend":"x"}"#, 3).0,
        vec!["target"]
    );
    let (none, effects) = why("g3", "gift", "a", r#"{"friend":"b"}"#, 4);
    assert!(none.is_empty());
    assert!(
        effects
            .iter()
            .any(|l| l.contains(r#""kind":"enroll","at":"2027-01-01T04:00:00Z","user":"b""#)),
        "{effects:#?}"
    );
    assert!(
        effects.iter().any(|l| l.contains(r#""kind":"give""#)
            && l.contains(r#""user":"a","to":"b","reward":"card","count":1"#)),
        "{effects:#?}"
    );
    // a gave the card away: per_user still counts it (received, not held), so a second
    // card is denied; b holds one and cannot receive another.
    let (_, effects) = why("d2", "draw", "a", "{}", 5);
    assert!(
        effects.iter().any(|l| l.contains(r#""reason":"per_user""#)),
        "{effects:#?}"
    );
    why("d3", "draw", "c", "{}", 6);
    assert_eq!(
        why("g4", "gift", "c", r#"{"friend":"b"}"#, 7).0,
        vec!["target"]
    );
}

#[test]
fn per_field_limits_and_counted_and_today() {
    let e = campaign(
        r#"
event help { asker: user }
reward pts = points 1
reward first = points 10
phase p for 2d {
  task helping {
    on help where event.asker != user.id
    limit 1 per event.asker
    grant pts
  }
  task first_today {
    on help where counted(helping) and participant.today.helping == 1
    grant first
  }
}
"#,
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("1", "help", "a", &at(1), r#"{"asker":"b"}"#),
            ev("2", "help", "a", &at(2), r#"{"asker":"b"}"#),
            ev("3", "help", "a", &at(3), r#"{"asker":"c"}"#),
            ev("4", "help", "a", &at(4), r#"{"asker":"a"}"#),
            ev("5", "help", "a", "2027-01-02T01:00:00Z", r#"{"asker":"d"}"#),
        ],
        None,
    );
    assert_eq!(
        count(&out, &[r#""task":"helping""#, r#""kind":"complete""#]),
        3
    );
    let firsts = having(&out, &[r#""reward":"first""#]);
    assert_eq!(firsts.len(), 2, "{out:#?}");
    assert!(firsts[0].contains(r#""event":"1""#) && firsts[1].contains(r#""event":"5""#));
}

const TEAM: &str = r#"
event opened { key: string }
event joined { key: string }
reward team_coupon = coupon { value 1 CNY }
reward consolation = points 1
message done via push {
  en "{{ group.name }} {{ group.key }} {{ group.members }}/{{ group.size }} {{ reward.name }}"
}
message failed via push {
  en "only {{ group.members }}"
}
group team {
  size   3
  within 2h
  filled  => { grant team_coupon  send done }
  expired => { grant consolation to opener  send failed to opener }
}
phase p for 1d {
  task open_team { on opened  open team by event.key }
  task join_team { on joined  join team by event.key }
}
kpi fill_rate = filled(team) / opened(team) target >= 50%
kpi joins = joined(team) target >= 1
kpi lost = expired(team) target <= 1
"#;

#[test]
fn groups_fill_on_the_last_join_and_expire_once() {
    let e = campaign(TEAM);
    let out = run(
        &e,
        &people(),
        &[
            ev("1", "opened", "a", &at(1), r#"{"key":"K"}"#),
            ev("2", "opened", "b", &at(1), r#"{"key":"K"}"#),
            ev("3", "joined", "b", &at(1), r#"{"key":"K"}"#),
            ev("4", "joined", "b", &at(1), r#"{"key":"K"}"#),
            ev("5", "joined", "c", &at(2), r#"{"key":"K"}"#),
            ev("6", "joined", "d", &at(2), r#"{"key":"K"}"#),
            ev("7", "opened", "d", &at(4), r#"{"key":"L"}"#),
            ev("8", "joined", "e", &at(5), r#"{"key":"L"}"#),
            ev("9", "opened", "e", &at(23), r#"{"key":"M"}"#),
        ],
        None,
    );
    let groups: Vec<&String> = having(&out, &[r#""kind":"group""#]);
    let changes: Vec<String> = groups
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {} {}",
                v["at"].as_str().unwrap(),
                v["key"],
                v["user"],
                v["change"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            r#"2027-01-01T01:00:00Z "K" "a" open"#,
            r#"2027-01-01T01:00:00Z "K" "b" join"#,
            r#"2027-01-01T02:00:00Z "K" "c" join"#,
            r#"2027-01-01T02:00:00Z "K" null filled"#,
            r#"2027-01-01T04:00:00Z "L" "d" open"#,
            r#"2027-01-01T05:00:00Z "L" "e" join"#,
            r#"2027-01-01T06:00:00Z "L" null expired"#,
            r#"2027-01-01T23:00:00Z "M" "e" open"#,
            r#"2027-01-02T00:00:00Z "M" null expired"#,
        ]
    );
    // Filled: every member gets the coupon and the message, in join order.
    let coupons: Vec<&String> = having(
        &out,
        &[r#""reward":"team_coupon""#, r#""cause":"group:team""#],
    );
    assert_eq!(coupons.len(), 3);
    assert!(coupons[0].contains(r#""user":"a""#) && coupons[2].contains(r#""user":"c""#));
    assert_eq!(count(&out, &["team K 3/3 team_coupon"]), 3);
    // Expired: the opener only. The last group expires at the campaign's end, before
    // the phase ends.
    assert_eq!(count(&out, &[r#""reward":"consolation""#]), 2);
    assert_eq!(count(&out, &[r#""user":"d""#, "only 2"]), 1);
    let end_expiry = out
        .iter()
        .position(|l| l.contains(r#""change":"expired""#) && l.contains("\"M\""))
        .unwrap();
    let phase_end = out
        .iter()
        .position(|l| l.contains(r#""kind":"phase""#) && l.contains(r#""to":null"#))
        .unwrap();
    assert!(end_expiry < phase_end);
    // The second open of K and the second join by b did not count.
    assert_eq!(count(&out, &[r#""kind":"complete""#, r#""event":"2""#]), 0);
    assert_eq!(count(&out, &[r#""kind":"complete""#, r#""event":"4""#]), 0);
    // Joining a filled group does not count either.
    assert_eq!(count(&out, &[r#""kind":"complete""#, r#""event":"6""#]), 0);
}

#[test]
fn group_metrics_and_the_report() {
    let e = campaign(TEAM);
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let events = [
        ev("1", "opened", "a", &at(1), r#"{"key":"K"}"#),
        ev("3", "joined", "b", &at(1), r#"{"key":"K"}"#),
        ev("5", "joined", "c", &at(2), r#"{"key":"K"}"#),
        ev("7", "opened", "d", &at(4), r#"{"key":"L"}"#),
    ];
    let _ = camp_engine::replay::run_events(&e, &mut s, &events, camp_engine::replay::Until::End);
    let report = serde_json::to_value(e.report(&s)).unwrap();
    let kpi = |name: &str| {
        report["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(kpi("fill_rate"), serde_json::json!(0.5), "{report:#}");
    assert_eq!(kpi("joins"), serde_json::json!(2));
    assert_eq!(kpi("lost"), serde_json::json!(1));
    assert_eq!(report["groups"]["team"]["filled"], 1, "{report:#}");
    assert_eq!(report["groups"]["team"]["expired"], 1);
    assert_eq!(report["groups"]["team"]["open"], 0);
}

const RAFFLE: &str = r#"
event comment {}
reward prize = item "Prize" { stock 3 }
reward medal = badge "Medal"
message won via push {
  en "won {{ reward.label }}"
}
phase live for 1d {
  task talk { on comment }
  raffle lucky at 2027-01-01T10:00, 2027-01-01T11:00, 2027-01-01T12:00 pick 2 => { grant prize  send won }
  raffle grand at 2027-01-01T13:00 pick 1 from audience where user.nickname != "Na" => { grant medal  send won }
}
kpi drawn = winners(lucky) target >= 1
"#;

fn raffle_run(seed: &str) -> Vec<String> {
    let e = camp_engine::Engine::with_seed(
        campaign(RAFFLE).plan().clone(),
        camp_engine::random::Seed::from_text(seed),
    )
    .unwrap();
    let events: Vec<EventLine> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, u)| ev(&format!("e{i}"), "comment", u, &at(1), "{}"))
        .collect();
    run(&e, &people(), &events, None)
}

#[test]
fn raffles_draw_without_replacement_in_draw_order_from_the_seed() {
    let out = raffle_run("one");
    let lucky: Vec<String> = having(&out, &[r#""cause":"raffle:lucky""#])
        .into_iter()
        .cloned()
        .collect();
    // Three participants, two a round: two win at 10:00, the last at 11:00, none after.
    let winners: Vec<String> = lucky
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["user"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(winners.len(), 3, "{out:#?}");
    let mut distinct = winners.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct, vec!["a", "b", "c"]);
    assert_eq!(having(&lucky, &["T10:00"]).len(), 2);
    assert_eq!(having(&lucky, &["T11:00"]).len(), 1);
    // `from audience`: non-participants enter (and are enrolled when they win), the
    // holdout and the filtered never.
    let grand: Vec<&String> = having(&out, &["T13:00", r#""kind":"send""#]);
    assert_eq!(grand.len(), 1);
    assert!(!grand[0].contains(r#""user":"a""#) && !grand[0].contains(&held_out()));
    // The same seed draws the same; the draws depend on the seed.
    assert_eq!(raffle_run("one"), out);
    let firsts: std::collections::BTreeSet<String> = (0..12)
        .map(|i| {
            having(
                &raffle_run(&format!("s{i}")),
                &[r#""cause":"raffle:lucky""#],
            )[0]
            .clone()
        })
        .collect();
    assert!(firsts.len() > 1);
}

#[test]
fn a_raffle_winner_from_the_audience_is_enrolled_first() {
    let e = campaign(RAFFLE);
    let out = run(&e, &people(), &[], None);
    let at13: Vec<&String> = having(&out, &["T13:00"]);
    assert!(at13[0].contains(r#""kind":"enroll""#), "{at13:#?}");
    assert!(at13[1].contains(r#""kind":"grant""#) && at13[1].contains(r#""cause":"raffle:grand""#));
    assert!(at13[2].contains(r#""kind":"send""#));
}

#[test]
fn state_with_groups_and_raffles_snapshots_and_restores() {
    let e = campaign(TEAM);
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let mut out = Output::default();
    for (i, (kind, user)) in [("opened", "a"), ("joined", "b")].iter().enumerate() {
        e.event(
            &mut s,
            &ev(&format!("{i}"), kind, user, &at(1), r#"{"key":"K"}"#),
            t(&at(1)),
            &mut out,
        );
    }
    let json = serde_json::to_string(&s).unwrap();
    let back = e.restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(back, s);
    let (mut a, mut b) = (Output::default(), Output::default());
    let (mut s1, mut s2) = (s, back);
    e.event(
        &mut s1,
        &ev("9", "joined", "c", &at(2), r#"{"key":"K"}"#),
        t(&at(2)),
        &mut a,
    );
    e.event(
        &mut s2,
        &ev("9", "joined", "c", &at(2), r#"{"key":"K"}"#),
        t(&at(2)),
        &mut b,
    );
    e.finish(&mut s1, &mut a);
    e.finish(&mut s2, &mut b);
    assert_eq!(a, b);
    assert!(a.effects.iter().any(|x| x.kind() == "group"));
}

#[test]
fn an_event_that_no_task_can_carry_out_does_not_enroll() {
    let e = campaign(TEAM);
    let mut s = e.start();
    for u in people() {
        e.user(&mut s, &u).unwrap();
    }
    let mut out = Output::default();
    e.event(
        &mut s,
        &ev("1", "joined", "b", &at(1), r#"{"key":"nope"}"#),
        t(&at(1)),
        &mut out,
    );
    assert!(
        !out.effects.iter().any(|x| x.kind() == "enroll"),
        "{:?}",
        out.effects
    );
    assert_eq!(out.unmatched.len(), 1);
    assert_eq!(out.unmatched[0].why, camp_engine::Why::Group);
    assert!(!e.participant(&s, "b").unwrap().enrolled);
}

#[test]
fn participant_paths_in_conditions_and_templates() {
    let e = campaign(
        r#"
event checkin {}
reward pts = points 5
reward star = badge "Star"
message status via push {
  en "{{ participant.count.daily }}/{{ participant.today.daily }}/{{ participant.streak.daily }} {{ participant.earned }} {{ participant.enrolled_at | date }} {{ participant.rank.board }}"
}
phase p for 5d {
  task daily {
    on checkin
    grant pts
    send status
  }
  task early {
    on checkin where participant.rank.board == 1 and user.id == "a" and participant.earned >= 10
    grant star
  }
  leaderboard board {
    score points
    show top 10
  }
}
"#,
    );
    let out = run(
        &e,
        &people(),
        &[
            ev("1", "checkin", "a", "2027-01-01T10:00:00Z", "{}"),
            ev("2", "checkin", "a", "2027-01-01T11:00:00Z", "{}"),
            ev("3", "checkin", "a", "2027-01-02T10:00:00Z", "{}"),
            ev("4", "checkin", "b", "2027-01-02T11:00:00Z", "{}"),
        ],
        None,
    );
    let bodies: Vec<String> = having(&out, &[r#""kind":"send""#])
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        bodies,
        vec![
            "1/1/1 5 2027-01-01 1",
            "2/2/1 10 2027-01-01 1",
            "3/1/2 15 2027-01-01 1",
            "1/1/1 5 2027-01-02 2",
        ]
    );
    assert_eq!(count(&out, &[r#""reward":"star""#, r#""kind":"grant""#]), 1);
    assert_eq!(count(&out, &[r#""reward":"star""#, r#""kind":"deny""#]), 1);
}
