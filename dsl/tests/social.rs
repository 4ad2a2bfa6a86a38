//! The second edition's social syntax (language spec §6–§8): actions and targets,
//! action blocks, `use`/`give`/`revoke`, `open`/`join`, `limit … per event.FIELD`,
//! `every N`, `group` items, `raffle` statements and `send … at` with several times.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_dsl::ast::*;
use camp_dsl::span::{FileId, Span};
use camp_dsl::{format, parse};

/// Parses `src`, asserting it has no diagnostics.
fn clean(src: &str) -> File {
    let p = parse(src, FileId(0));
    assert!(p.diagnostics.is_empty(), "{src}\n{:#?}", p.diagnostics);
    p.file
}

/// The text a span covers.
fn at(src: &str, span: Span) -> &str {
    &src[span.start as usize..span.end as usize]
}

/// The statements of the one task in `phase p for 1d { task t { BODY } }`.
fn task(body: &str) -> (String, Vec<TaskStmt>) {
    let src = format!("phase p for 1d {{\n  task t {{\n    on e\n{body}\n  }}\n}}\n");
    let file = clean(&src);
    let Some(ItemKind::Phase(p)) = file.items.first().map(|i| i.kind.clone()) else {
        panic!("a phase")
    };
    let Some(PhaseStmtKind::Task(t)) = p.stmts.first().map(|s| s.kind.clone()) else {
        panic!("a task")
    };
    (src, t.stmts.into_iter().skip(1).collect())
}

/// The statements of `phase p for 1d { BODY }`.
fn phase(body: &str) -> (String, Vec<PhaseStmtKind>) {
    let src = format!("phase p for 1d {{\n{body}\n}}\n");
    let file = clean(&src);
    let Some(ItemKind::Phase(p)) = file.items.first().map(|i| i.kind.clone()) else {
        panic!("a phase")
    };
    (src, p.stmts.into_iter().map(|s| s.kind).collect())
}

/// The actions of task lines, one per line.
fn actions(body: &str) -> (String, Vec<Action>) {
    let (src, stmts) = task(body);
    let actions = stmts
        .into_iter()
        .map(|s| match s {
            TaskStmt::Action(a) => a,
            other => panic!("not an action: {other:?}"),
        })
        .collect();
    (src, actions)
}

fn names(path: &[Ident]) -> Vec<&str> {
    path.iter().map(|i| i.name.as_str()).collect()
}

fn target(t: Option<&Target>) -> Option<Vec<&str>> {
    t.map(|t| names(&t.path))
}

fn int(lit: Option<&Lit>) -> Option<i64> {
    lit.map(|l| match l.kind {
        LitKind::Int(n) => n,
        ref other => panic!("not an integer: {other:?}"),
    })
}

#[test]
fn grant_and_send_with_and_without_a_target() {
    let (src, list) = actions(
        "    grant a\n    grant b to event.invitee\n    send m\n    send n to user.invited_by",
    );
    let shapes: Vec<(&str, &str, Option<Vec<&str>>)> = list
        .iter()
        .map(|a| match &a.kind {
            ActionKind::Grant { reward, to } => {
                ("grant", reward.name.as_str(), target(to.as_ref()))
            }
            ActionKind::Send { message, to } => {
                ("send", message.name.as_str(), target(to.as_ref()))
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [
            ("grant", "a", None),
            ("grant", "b", Some(vec!["event", "invitee"])),
            ("send", "m", None),
            ("send", "n", Some(vec!["user", "invited_by"])),
        ]
    );
    let spans: Vec<&str> = list.iter().map(|a| at(&src, a.span)).collect();
    assert_eq!(
        spans,
        [
            "grant a",
            "grant b to event.invitee",
            "send m",
            "send n to user.invited_by"
        ]
    );
    let ActionKind::Grant { to: Some(t), .. } = &list[1].kind else {
        panic!()
    };
    assert_eq!(at(&src, t.span), "event.invitee");
    assert_eq!(at(&src, t.path[1].span), "invitee");
}

/// An action that moves units: its verb, the reward (`None` for points), the count and
/// the other user.
type Moved<'a> = (&'a str, Option<&'a str>, Option<i64>, Option<Vec<&'a str>>);

#[test]
fn use_give_and_revoke_rewards_and_points() {
    let (src, list) = actions(
        "    use fu_card\n    use fu_card 2\n    use 200 points\n    give fu_wealth to event.friend\n    give fu_wealth 1 to event.friend\n    give 50 points to event.friend\n    revoke stamp_card\n    revoke stamp_card 1\n    revoke stamp_card 2 from user.invited_by\n    revoke 10 points\n    revoke 10 points from event.friend",
    );
    let shapes: Vec<Moved> = list
        .iter()
        .map(|a| {
            let (verb, units, count, who) = match &a.kind {
                ActionKind::Use { units, count } => ("use", units, count, None),
                ActionKind::Give { units, count, to } => ("give", units, count, Some(to)),
                ActionKind::Revoke { units, count, from } => {
                    ("revoke", units, count, from.as_ref())
                }
                other => panic!("{other:?}"),
            };
            let reward = match units {
                Units::Reward(r) => Some(r.name.as_str()),
                Units::Points(span) => {
                    assert_eq!(at(&src, *span), "points");
                    None
                }
            };
            (verb, reward, int(count.as_ref()), target(who))
        })
        .collect();
    let friend = || Some(vec!["event", "friend"]);
    assert_eq!(
        shapes,
        [
            ("use", Some("fu_card"), None, None),
            ("use", Some("fu_card"), Some(2), None),
            ("use", None, Some(200), None),
            ("give", Some("fu_wealth"), None, friend()),
            ("give", Some("fu_wealth"), Some(1), friend()),
            ("give", None, Some(50), friend()),
            ("revoke", Some("stamp_card"), None, None),
            ("revoke", Some("stamp_card"), Some(1), None),
            (
                "revoke",
                Some("stamp_card"),
                Some(2),
                Some(vec!["user", "invited_by"])
            ),
            ("revoke", None, Some(10), None),
            ("revoke", None, Some(10), friend()),
        ]
    );
}

#[test]
fn open_and_join_a_group_by_its_key() {
    let (src, list) = actions("    open team by event.team_id\n    join cut by event.cut_id");
    match (&list[0].kind, &list[1].kind) {
        (ActionKind::Open { group, key }, ActionKind::Join { group: g2, key: k2 }) => {
            assert_eq!(
                (group.name.as_str(), names(&key.path)),
                ("team", vec!["event", "team_id"])
            );
            assert_eq!(
                (g2.name.as_str(), names(&k2.path)),
                ("cut", vec!["event", "cut_id"])
            );
            assert_eq!(at(&src, key.span), "event.team_id");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_optional_count_or_target_never_swallows_the_next_line() {
    // `use fu_card` then a line that starts with a keyword: no count, no target.
    let (_, stmts) = task("    use fu_card\n    limit 1 per day\n    grant x\n    send m\n    after 2 => grant y\n    revoke z\n    every 3 => send n");
    let kinds: Vec<&str> = stmts
        .iter()
        .map(|s| match s {
            TaskStmt::Action(a) => match a.kind {
                ActionKind::Use { count: None, .. } => "use",
                ActionKind::Grant { to: None, .. } => "grant",
                ActionKind::Send { to: None, .. } => "send",
                ActionKind::Revoke {
                    count: None,
                    from: None,
                    ..
                } => "revoke",
                _ => "other action",
            },
            TaskStmt::Limit { .. } => "limit",
            TaskStmt::After { .. } => "after",
            TaskStmt::Every { .. } => "every",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["use", "limit", "grant", "send", "after", "revoke", "every"]
    );
}

#[test]
fn a_task_written_on_one_line() {
    // `2  use` is a number and an action, not money in the currency `use`.
    let (_, stmts) = task("    limit 3 per day  open team by event.team_id  use fu 2  give 5 points to event.x  grant help_points");
    assert_eq!(stmts.len(), 5, "{stmts:#?}");
    let (_, stmts) = task("    where event.n >= 2  use 200 points");
    let TaskStmt::Action(Action {
        kind: ActionKind::Use { count, .. },
        ..
    }) = &stmts[0]
    else {
        panic!("{stmts:#?}")
    };
    assert_eq!(int(count.as_ref()), Some(200));
}

#[test]
fn limit_per_event_field() {
    let (src, stmts) = task("    limit 1 per event.invitee\n    limit 10 per user\n    limit 1 per day\n    limit 2 per phase");
    let periods: Vec<Period> = stmts
        .iter()
        .map(|s| match s {
            TaskStmt::Limit { period, .. } => period.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let Period::Field(field) = &periods[0] else {
        panic!("{periods:?}")
    };
    assert_eq!(names(&field.path), ["event", "invitee"]);
    assert_eq!(&periods[1..], [Period::User, Period::Day, Period::Phase]);
    let TaskStmt::Limit { period_span, .. } = &stmts[0] else {
        panic!()
    };
    assert_eq!(at(&src, *period_span), "event.invitee");
}

#[test]
fn streak_after_and_every_take_one_action_or_a_block() {
    let (src, stmts) = task(
        "    streak 3 days => grant small_coupon\n    streak 7 days => { grant coupon_20  send streak_week }\n    after 3 => grant coupon_20 to event.invitee\n    every 9 => {\n      grant free_drink\n      send free_drink_ready\n    }",
    );
    let blocks: Vec<(&str, &Actions)> = stmts
        .iter()
        .map(|s| match s {
            TaskStmt::Streak { actions, .. } => ("streak", actions),
            TaskStmt::After { actions, .. } => ("after", actions),
            TaskStmt::Every { actions, .. } => ("every", actions),
            other => panic!("{other:?}"),
        })
        .collect();
    let lens: Vec<(&str, usize)> = blocks.iter().map(|(k, a)| (*k, a.list.len())).collect();
    assert_eq!(
        lens,
        [("streak", 1), ("streak", 2), ("after", 1), ("every", 2)]
    );
    assert_eq!(at(&src, blocks[0].1.span), "grant small_coupon");
    assert_eq!(
        at(&src, blocks[1].1.span),
        "{ grant coupon_20  send streak_week }"
    );
    assert!(at(&src, blocks[3].1.span).starts_with('{'));
    assert!(at(&src, blocks[3].1.span).ends_with('}'));
    let TaskStmt::Every { keyword, count, .. } = &stmts[3] else {
        panic!()
    };
    assert_eq!((at(&src, *keyword), int(Some(count))), ("every", Some(9)));
}

#[test]
fn an_action_span_ends_at_its_last_token() {
    let (src, list) =
        actions("    grant a to members // why\n    send m  /* note */\n    use x 2 // two");
    let spans: Vec<&str> = list.iter().map(|a| at(&src, a.span)).collect();
    assert_eq!(spans, ["grant a to members", "send m", "use x 2"]);
}

#[test]
fn an_empty_action_block() {
    let (_, stmts) = task("    after 2 => {}");
    let TaskStmt::After { actions, .. } = &stmts[0] else {
        panic!()
    };
    assert!(actions.list.is_empty());
}

#[test]
fn award_goal_and_tier_take_actions() {
    let (_, stmts) = phase(
        "  award top rank 1 => grant smart_watch\n  award top rank 2..10 => { grant coupon_20  send runner_up }\n  goal g when holds(a) > 0 => { grant b  send c to user.invited_by }",
    );
    let counts: Vec<usize> = stmts
        .iter()
        .map(|s| match s {
            PhaseStmtKind::Award(a) => a.actions.list.len(),
            PhaseStmtKind::Goal(g) => g.actions.list.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(counts, [1, 2, 2]);

    let src = "tiers {\n  bronze at 0 points\n  silver at 500 points => { grant coupon_20  send tier_up }\n  gold at 2_000 points => grant smart_watch\n}\n";
    let file = clean(src);
    let Some(ItemKind::Tiers(t)) = file.items.first().map(|i| &i.kind) else {
        panic!()
    };
    let counts: Vec<Option<usize>> = t
        .tiers
        .iter()
        .map(|t| t.actions.as_ref().map(|a| a.list.len()))
        .collect();
    assert_eq!(counts, [None, Some(2), Some(1)]);
}

#[test]
fn a_tier_may_be_named_to_or_from() {
    // `grant x` then the tier `to`: not a grant to `at`.
    let src = "tiers {\n  a at 0 points => grant x\n  to at 10 points => revoke y\n  from at 20 points => grant z to members\n  by at 30 points\n}\n";
    let file = clean(src);
    let Some(ItemKind::Tiers(t)) = file.items.first().map(|i| &i.kind) else {
        panic!()
    };
    let tier_names: Vec<&str> = t.tiers.iter().map(|t| t.name.name.as_str()).collect();
    assert_eq!(tier_names, ["a", "to", "from", "by"]);
}

#[test]
fn keywords_still_name_things() {
    // Keywords are contextual: a group, reward or message may be named like one.
    let (_, list) = actions(
        "    open open by event.k\n    grant use\n    give points 2 to event.x\n    send to to event.x\n    use every",
    );
    assert!(matches!(&list[0].kind, ActionKind::Open { group, .. } if group.name == "open"));
    assert!(
        matches!(&list[1].kind, ActionKind::Grant { reward, to: None } if reward.name == "use")
    );
    assert!(
        matches!(&list[2].kind, ActionKind::Give { units: Units::Reward(r), count: Some(_), .. } if r.name == "points")
    );
    assert!(
        matches!(&list[3].kind, ActionKind::Send { message, to: Some(_) } if message.name == "to")
    );
    assert!(
        matches!(&list[4].kind, ActionKind::Use { units: Units::Reward(r), .. } if r.name == "every")
    );
    let file = clean("group group {\n  size 2\n}\n");
    assert!(matches!(&file.items[0].kind, ItemKind::Group(g) if g.name.name == "group"));
}

#[test]
fn group_items() {
    let src = "/// A team of three.\ngroup team {\n  size   3\n  within 24h\n  filled  => { grant team_coupon  send team_done }\n  expired => send team_failed to opener\n}\n\ngroup cut {\n  size 11\n  filled => grant free_gift to opener\n  size 12\n}\n";
    let file = clean(src);
    assert_eq!(file.items.len(), 2);
    let ItemKind::Group(team) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(team.name.name, "team");
    assert_eq!(
        file.items[0].docs.text().as_deref(),
        Some("A team of three.")
    );
    let lines: Vec<(&str, String)> = team
        .lines
        .iter()
        .map(|l| match l {
            GroupLine::Size { keyword, size } => {
                (at(src, *keyword), at(src, size.span).to_string())
            }
            GroupLine::Within { keyword, within } => {
                assert!(matches!(within.kind, LitKind::Duration(_)));
                (at(src, *keyword), at(src, within.span).to_string())
            }
            GroupLine::Filled { keyword, actions } | GroupLine::Expired { keyword, actions } => {
                (at(src, *keyword), at(src, actions.span).to_string())
            }
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("size", "3".to_string()),
            ("within", "24h".to_string()),
            (
                "filled",
                "{ grant team_coupon  send team_done }".to_string()
            ),
            ("expired", "send team_failed to opener".to_string()),
        ]
    );
    // A repeated line is kept for the compiler to report.
    let ItemKind::Group(cut) = &file.items[1].kind else {
        panic!()
    };
    assert_eq!(cut.lines.len(), 3);
    assert!(matches!(cut.lines[2], GroupLine::Size { .. }));
}

#[test]
fn raffles() {
    let (src, stmts) = phase(
        "  raffle lucky at 20:30, 21:00, 21:30 pick 10 => grant prize\n  raffle grand at 21:55 pick 1 from participants where participant.count.comment >= 5\n    => { grant phone  send you_won }\n  raffle weekly at 2027-01-01T20:00 daily pick 3 from vip => grant a",
    );
    let raffles: Vec<&RaffleStmt> = stmts
        .iter()
        .map(|s| match s {
            PhaseStmtKind::Raffle(r) => r,
            other => panic!("{other:?}"),
        })
        .collect();
    let lucky = raffles[0];
    assert_eq!(lucky.name.name, "lucky");
    assert_eq!(at(&src, lucky.at), "at");
    let times: Vec<&str> = lucky.times.iter().map(|t| at(&src, t.span)).collect();
    assert_eq!(times, ["20:30", "21:00", "21:30"]);
    assert!(lucky
        .times
        .iter()
        .all(|t| matches!(t.kind, LitKind::Time(_))));
    assert!(!lucky.daily && lucky.from.is_none() && lucky.filter.is_none());
    assert_eq!(int(Some(&lucky.pick)), Some(10));

    let grand = raffles[1];
    assert_eq!(
        grand.from.as_ref().map(|f| f.name.as_str()),
        Some("participants")
    );
    assert_eq!(
        grand.filter.as_ref().map(|f| at(&src, f.span)),
        Some("participant.count.comment >= 5")
    );
    assert_eq!(grand.actions.list.len(), 2);

    let weekly = raffles[2];
    assert!(weekly.daily);
    assert!(matches!(weekly.times[0].kind, LitKind::DateTime(_)));
    assert_eq!(weekly.from.as_ref().map(|f| f.name.as_str()), Some("vip"));
}

#[test]
fn send_at_several_times() {
    let (src, stmts) = phase(
        "  send teaser at 12:00, 20:00 daily to audience\n  send greeting at 2027-01-28T10:00 to audience\n  send m at 20:00",
    );
    let triggers: Vec<(Vec<&str>, bool)> = stmts
        .iter()
        .map(|s| match s {
            PhaseStmtKind::Send(SendStmt {
                trigger: SendTrigger::At { times, daily },
                ..
            }) => (times.iter().map(|t| at(&src, t.span)).collect(), *daily),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        triggers,
        [
            (vec!["12:00", "20:00"], true),
            (vec!["2027-01-28T10:00"], false),
            (vec!["20:00"], false),
        ]
    );
}

#[test]
fn first_edition_forms_keep_their_meaning() {
    // `=> grant R` is now one action; `grant R` and `send M` in a task are actions.
    let (_, stmts) =
        task("    grant p\n    send m\n    streak 7 days => grant c\n    after 3 => grant d");
    let TaskStmt::Streak { actions, .. } = &stmts[2] else {
        panic!()
    };
    assert!(
        matches!(&actions.list[..], [Action { kind: ActionKind::Grant { reward, to: None }, .. }] if reward.name == "c")
    );
    assert!(matches!(
        &stmts[0],
        TaskStmt::Action(Action {
            kind: ActionKind::Grant { .. },
            ..
        })
    ));
    assert!(matches!(
        &stmts[1],
        TaskStmt::Action(Action {
            kind: ActionKind::Send { .. },
            ..
        })
    ));
}

/// Syntax errors name what was expected in the user's words.
fn error(src: &str) -> String {
    let p = parse(src, FileId(0));
    let codes: Vec<&str> = p.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0001"], "{src}");
    p.diagnostics[0].message.clone()
}

#[test]
fn syntax_errors_in_the_new_forms() {
    let cases = [
        (
            "phase p for 1d {\n  task t { on e give x to }\n}\n",
            "who it is for",
        ),
        ("phase p for 1d {\n  task t { on e give x }\n}\n", "`to`"),
        (
            "phase p for 1d {\n  task t { on e open g by }\n}\n",
            "the group's key",
        ),
        (
            "phase p for 1d {\n  task t { on e use }\n}\n",
            "a number of points",
        ),
        (
            "phase p for 1d {\n  task t { on e limit 1 per week }\n}\n",
            "an event field",
        ),
        (
            "phase p for 1d {\n  task t { on e every 3 => }\n}\n",
            "an action, or several in `{ }`",
        ),
        (
            "phase p for 1d {\n  task t { on e grnt x }\n}\n",
            "a task line",
        ),
        (
            "phase p for 1d {\n  raffle r at 20:00 => grant x\n}\n",
            "`pick`",
        ),
        (
            "phase p for 1d {\n  raffle r pick 1 => grant x\n}\n",
            "`at`",
        ),
        ("group g {\n  size 2\n  filled grant x\n}\n", "`=>`"),
        ("group g {\n  sise 2\n}\n", "a group line"),
    ];
    for (src, words) in cases {
        let message = error(src);
        assert!(message.contains(words), "{src}: {message}");
        for rule_words in [
            "kw_", "act_", "units_", "_clause", "_stmt", "_def", "action_",
        ] {
            assert!(
                !message.contains(rule_words),
                "a rule name leaked: {message}"
            );
        }
    }
}

#[test]
fn a_broken_group_does_not_hide_the_next_item() {
    let src = "group g {\n  size\n}\ngroup h {\n  size 2\n}\nreward r = points 1\n";
    let p = parse(src, FileId(0));
    let codes: Vec<&str> = p.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0001"]);
    assert_eq!(p.file.items.len(), 2, "{:#?}", p.file.items);
}

#[test]
fn every_prefix_of_a_social_campaign_parses_without_panicking() {
    let src = include_str!("fixtures/social.camp");
    // Every token edge, and one character into every word (`g` of `grant`).
    let word = |i: usize| {
        src.as_bytes()
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    let cuts = (0..=src.len()).filter(|&i| {
        src.is_char_boundary(i) && (i < 1 || !word(i - 1) || !word(i) || i < 2 || !word(i - 2))
    });
    for cut in cuts {
        let prefix = &src[..cut];
        let p = parse(prefix, FileId(0));
        for d in &p.diagnostics {
            let span = d.primary.loc.span;
            assert!(span.end as usize <= prefix.len(), "{cut}: {d:?}");
        }
        if p.diagnostics.is_empty() {
            let out = format(prefix).unwrap_or_else(|e| panic!("at {cut}: {e}"));
            assert_eq!(format(&out).as_deref(), Ok(out.as_str()), "at {cut}");
        }
    }
}
