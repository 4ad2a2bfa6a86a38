//! Properties of `camp fmt` on generated campaigns: small files assembled from random
//! items, with random spacing, line breaks and comments between their tokens.
//!
//! For every such file: formatting is idempotent, the AST (spans aside) is unchanged,
//! and every comment is kept, in order.
#![allow(clippy::restriction)] // Tests and benchmarks may unwrap, panic and index.

use camp_dsl::diag::Code;
use camp_dsl::span::FileId;
use camp_dsl::{format, parse};
use proptest::prelude::*;

mod common;
use common::{comments, meaning};
use proptest::sample::select;

/// A piece of generated source.
#[derive(Debug, Clone)]
enum Tok {
    /// A token; random space, line breaks or comments may come before it.
    Word(&'static str),
    /// A `///` line: starts a line and ends one.
    Doc(&'static str),
    /// The next token starts a new line (`5% cap` on one line would be money).
    Newline,
}

type Toks = Vec<Tok>;

fn words(ws: &[&'static str]) -> Toks {
    ws.iter().map(|w| Tok::Word(w)).collect()
}

fn cat(parts: Vec<Toks>) -> Toks {
    parts.concat()
}

fn opt(part: Option<Toks>) -> Toks {
    part.unwrap_or_default()
}

fn name() -> impl Strategy<Value = &'static str> {
    select(vec![
        "daily_one",
        "rw_one",
        "rw_two",
        "long_name_here",
        "seg_vip",
        "kpi_reach",
        "x_1",
    ])
}

fn doc() -> impl Strategy<Value = Toks> {
    prop::option::of(select(vec![
        "/// A doc line.",
        "///",
        "///  Indented doc.",
        "/// Two // slashes",
    ]))
    .prop_map(|d| d.map(|d| vec![Tok::Doc(d)]).unwrap_or_default())
}

fn expr() -> impl Strategy<Value = Toks> {
    let leaf = prop_oneof![
        select(vec![
            "user.level",
            "participant.points",
            "event.amount",
            "flag_a",
            "5",
            "1_000",
            "100 CNY",
            "20%",
            "0.5",
            "\"CN\"",
            "2027-01-20",
        ])
        .prop_map(|s| vec![Tok::Word(s)]),
        name().prop_map(|r| words(&["holds", "(", r, ")"])),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            4 => (inner.clone(), select(vec!["and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/"]), inner.clone())
                .prop_map(|(a, op, b)| cat(vec![a, vec![Tok::Word(op)], b])),
            1 => inner.clone().prop_map(|a| cat(vec![words(&["not"]), a])),
            1 => inner.clone().prop_map(|a| cat(vec![words(&["-"]), a])),
            1 => inner.clone().prop_map(|a| cat(vec![words(&["("]), a, words(&[")"])])),
            1 => (prop::collection::vec(inner.clone(), 0..3), any::<bool>()).prop_map(|(items, trailing_comma)| {
                let mut out = words(&["["]);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(Tok::Word(","));
                    }
                    out.extend(item.iter().cloned());
                }
                if trailing_comma && !items.is_empty() {
                    out.push(Tok::Word(","));
                }
                out.push(Tok::Word("]"));
                out
            }),
            1 => prop::collection::vec(inner, 1..3).prop_map(|args| {
                let mut out = words(&["count", "("]);
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push(Tok::Word(","));
                    }
                    out.extend(a.iter().cloned());
                }
                out.push(Tok::Word(")"));
                out
            }),
        ]
    })
}

fn string() -> impl Strategy<Value = &'static str> {
    select(vec![
        "\"Hello {{ user.nickname }}\"",
        "\"你好\"",
        "\"with \\\"escapes\\\" // not a comment\"",
        "\"\"\"one line\"\"\"",
        "\"\"\"\n      Hi {{ user.nickname }},\n\n        indented\n    \"\"\"",
        "\"\"\"\n\tTabbed\n\t  body\n\"\"\"",
        "\"\"\"first\n   second\"\"\"",
        "\"\"\"\n   \n\"\"\"",
    ])
}

fn setting() -> impl Strategy<Value = Toks> {
    prop_oneof![
        string().prop_map(|s| words(&["name", s])),
        Just(words(&["timezone", "\"Asia/Shanghai\""])),
        Just(words(&["start", "2027-01-20T00:00"])),
        Just(words(&["locales", "zh-CN", ",", "en"])),
        Just(words(&["budget", "1_000 CNY"])),
        expr().prop_map(|e| cat(vec![words(&["audience"]), e])),
        Just(words(&["holdout", "5%"])),
        Just(vec![
            Tok::Newline,
            Tok::Word("cap"),
            Tok::Word("3"),
            Tok::Word("messages"),
            Tok::Word("per"),
            Tok::Word("day")
        ]),
        Just(words(&["quiet", "22:00", "..", "08:00"])),
    ]
}

fn field() -> impl Strategy<Value = Toks> {
    (
        doc(),
        name(),
        select(vec!["int", "string", "money", "date"]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(doc, n, ty, list, comma)| {
            let ty = if list {
                words(&["list", "<", ty, ">"])
            } else {
                words(&[ty])
            };
            cat(vec![
                doc,
                words(&[n, ":"]),
                ty,
                if comma { words(&[","]) } else { Vec::new() },
            ])
        })
}

fn reward() -> impl Strategy<Value = Toks> {
    let kind = prop_oneof![
        select(vec!["10", "1_000"]).prop_map(|n| words(&["points", n])),
        Just(words(&["coupon"])),
        string().prop_map(|s| words(&["item", s])),
        Just(words(&["badge", "\"Early bird\""])),
        select(vec!["5_000_000 CNY", "100 JPY"]).prop_map(|m| words(&["pool", m])),
        prop::collection::vec((select(vec!["30%", "1%", "0.5%"]), name()), 0..3).prop_map(
            |entries| {
                let mut out = words(&["draw", "{"]);
                for (weight, reward) in entries {
                    out.extend(words(&[weight, reward]));
                }
                out.push(Tok::Word("}"));
                out
            }
        ),
    ];
    let prop = prop_oneof![
        Just(words(&["stock", "50_000"])),
        Just(words(&["per_user", "1"])),
        Just(words(&["label", "\"A label\""])),
        Just(words(&["value", "20 CNY"])),
        Just(words(&["expires", "14d"])),
        Just(words(&["cost", "1_999 CNY"])),
    ];
    (
        doc(),
        name(),
        kind,
        prop::option::of(prop::collection::vec(prop, 0..4)),
    )
        .prop_map(|(doc, n, kind, props)| {
            let props = props.map(|ps| cat(vec![words(&["{"]), ps.concat(), words(&["}"])]));
            cat(vec![doc, words(&["reward", n, "="]), kind, opt(props)])
        })
}

fn message() -> impl Strategy<Value = Toks> {
    let entry = (any::<bool>(), select(vec!["zh-CN", "en", "de"]), string()).prop_map(
        |(subject, locale, s)| {
            if subject {
                words(&["subject", locale, s])
            } else {
                words(&[locale, s])
            }
        },
    );
    (doc(), name(), prop::collection::vec(entry, 0..4)).prop_map(|(doc, n, entries)| {
        cat(vec![
            doc,
            words(&["message", n, "via", "push", "{"]),
            entries.concat(),
            words(&["}"]),
        ])
    })
}

/// Who an action is for.
fn target() -> impl Strategy<Value = &'static str> {
    select(vec![
        "event.invitee",
        "user.invited_by",
        "members",
        "opener",
    ])
}

/// What `use`, `give` and `revoke` move.
fn units() -> impl Strategy<Value = Toks> {
    prop_oneof![
        (name(), prop::option::of(select(vec!["1", "2"])))
            .prop_map(|(r, n)| cat(vec![words(&[r]), opt(n.map(|n| words(&[n])))])),
        select(vec!["200", "5"]).prop_map(|n| words(&[n, "points"])),
    ]
}

fn action() -> impl Strategy<Value = Toks> {
    prop_oneof![
        (
            select(vec!["grant", "send"]),
            name(),
            prop::option::of(target())
        )
            .prop_map(|(verb, r, to)| cat(vec![
                words(&[verb, r]),
                opt(to.map(|t| words(&["to", t])))
            ])),
        units().prop_map(|u| cat(vec![words(&["use"]), u])),
        (units(), target()).prop_map(|(u, t)| cat(vec![words(&["give"]), u, words(&["to", t])])),
        (units(), prop::option::of(target())).prop_map(|(u, from)| cat(vec![
            words(&["revoke"]),
            u,
            opt(from.map(|t| words(&["from", t])))
        ])),
        (
            select(vec!["open", "join"]),
            name(),
            select(vec!["event.team_id", "event.k"])
        )
            .prop_map(|(verb, g, key)| words(&[verb, g, "by", key])),
    ]
}

/// One action, or several in braces.
fn actions() -> impl Strategy<Value = Toks> {
    prop_oneof![
        3 => action(),
        1 => prop::collection::vec(action(), 0..3).prop_map(|list| cat(vec![
            words(&["{"]),
            list.concat(),
            words(&["}"])
        ])),
    ]
}

fn task_stmt() -> impl Strategy<Value = Toks> {
    prop_oneof![
        (name(), prop::option::of(expr())).prop_map(|(e, filter)| {
            cat(vec![
                words(&["on", e]),
                opt(filter.map(|f| cat(vec![words(&["where"]), f]))),
            ])
        }),
        select(vec!["day", "user", "phase", "event.invitee"])
            .prop_map(|p| words(&["limit", "1", "per", p])),
        action(),
        actions().prop_map(|a| cat(vec![words(&["streak", "7", "days", "=>"]), a])),
        actions().prop_map(|a| cat(vec![words(&["after", "3", "=>"]), a])),
        actions().prop_map(|a| cat(vec![words(&["every", "9", "=>"]), a])),
    ]
}

fn phase_stmt() -> impl Strategy<Value = Toks> {
    let kind = prop_oneof![
        (name(), prop::collection::vec(task_stmt(), 0..4)).prop_map(|(n, stmts)| cat(vec![
            words(&["task", n, "{"]),
            stmts.concat(),
            words(&["}"])
        ])),
        (
            name(),
            prop::option::of(expr()),
            prop::option::of(Just(words(&["show", "top", "10"]))),
            any::<bool>()
        )
            .prop_map(|(n, score, show, show_first)| {
                let score = opt(score.map(|s| cat(vec![words(&["score"]), s])));
                let show = opt(show);
                let body = if show_first {
                    cat(vec![show, score])
                } else {
                    cat(vec![score, show])
                };
                cat(vec![words(&["leaderboard", n, "{"]), body, words(&["}"])])
            }),
        (name(), select(vec!["1", "2..10"]), actions()).prop_map(|(lb, rank, a)| {
            let range = if rank == "1" {
                words(&["1"])
            } else {
                words(&["2", "..", "10"])
            };
            cat(vec![
                words(&["award", lb, "rank"]),
                range,
                words(&["=>"]),
                a,
            ])
        }),
        (name(), expr(), actions()).prop_map(|(n, e, a)| cat(vec![
            words(&["goal", n, "when"]),
            e,
            words(&["=>"]),
            a
        ])),
        (
            name(),
            prop::collection::vec(select(vec!["20:30", "21:00", "2027-01-20T10:00"]), 1..3),
            any::<bool>(),
            prop::option::of(select(vec!["participants", "audience", "seg_vip"])),
            prop::option::of(expr()),
            actions(),
        )
            .prop_map(|(n, times, daily, from, filter, a)| {
                cat(vec![
                    words(&["raffle", n, "at"]),
                    at_list(&times),
                    if daily { words(&["daily"]) } else { Vec::new() },
                    words(&["pick", "3"]),
                    opt(from.map(|f| words(&["from", f]))),
                    opt(filter.map(|f| cat(vec![words(&["where"]), f]))),
                    words(&["=>"]),
                    a,
                ])
            }),
        (
            name(),
            prop_oneof![
                Just(words(&["at", "20:00"])),
                Just(words(&["at", "20:00", "daily"])),
                Just(words(&["at", "12:00", ",", "20:00", "daily"])),
                Just(words(&["at", "2027-01-20T10:00", ",", "2027-01-21T10:00"])),
                Just(words(&["on", "enter"])),
                Just(words(&["on", "enroll"])),
                Just(words(&["after", "2d", "inactive"])),
            ],
            prop::option::of(name()),
        )
            .prop_map(|(m, trigger, to)| {
                cat(vec![
                    words(&["send", m]),
                    trigger,
                    opt(to.map(|t| words(&["to", t]))),
                ])
            }),
        (name(), select(vec!["enroll", "enter"]))
            .prop_map(|(r, on)| words(&["grant", r, "on", on])),
    ];
    (doc(), kind).prop_map(|(d, k)| cat(vec![d, k]))
}

fn phase() -> impl Strategy<Value = Toks> {
    let timing = prop_oneof![
        Just(words(&["for", "14d"])),
        Just(words(&[
            "from",
            "2027-01-20T00:00",
            "to",
            "2027-01-21T00:00+08:00"
        ])),
    ];
    let until = prop::option::of(prop_oneof![
        Just(words(&["until", "budget", "exhausted"])),
        expr().prop_map(|e| cat(vec![words(&["until"]), e])),
    ]);
    (
        doc(),
        name(),
        timing,
        until,
        prop::collection::vec(phase_stmt(), 0..5),
    )
        .prop_map(|(d, n, t, u, stmts)| {
            cat(vec![
                d,
                words(&["phase", n]),
                t,
                opt(u),
                words(&["{"]),
                stmts.concat(),
                words(&["}"]),
            ])
        })
}

/// `12:00 , 20:00`: times separated by commas.
fn at_list(times: &[&'static str]) -> Toks {
    let mut out = Vec::new();
    for (i, t) in times.iter().enumerate() {
        if i > 0 {
            out.push(Tok::Word(","));
        }
        out.push(Tok::Word(t));
    }
    out
}

fn group() -> impl Strategy<Value = Toks> {
    let line = prop_oneof![
        select(vec!["2", "11"]).prop_map(|n| words(&["size", n])),
        Just(words(&["within", "24h"])),
        (select(vec!["filled", "expired"]), actions())
            .prop_map(|(outcome, a)| cat(vec![words(&[outcome, "=>"]), a])),
    ];
    (doc(), name(), prop::collection::vec(line, 0..5)).prop_map(|(d, n, lines)| {
        cat(vec![
            d,
            words(&["group", n, "{"]),
            lines.concat(),
            words(&["}"]),
        ])
    })
}

fn item() -> impl Strategy<Value = Toks> {
    prop_oneof![
        group(),
        Just(words(&["import", "\"lib/rewards.camp\""])),
        (doc(), prop::collection::vec(setting(), 0..6)).prop_map(|(d, s)| cat(vec![
            d,
            words(&["campaign", "demo", "{"]),
            s.concat(),
            words(&["}"])
        ])),
        prop::collection::vec(field(), 0..4).prop_map(|f| cat(vec![
            words(&["user", "{"]),
            f.concat(),
            words(&["}"])
        ])),
        (doc(), name(), prop::collection::vec(field(), 0..3)).prop_map(|(d, n, f)| cat(vec![
            d,
            words(&["event", n, "{"]),
            f.concat(),
            words(&["}"])
        ])),
        reward(),
        reward(),
        (doc(), name(), expr()).prop_map(|(d, n, e)| cat(vec![d, words(&["segment", n, "="]), e])),
        message(),
        phase(),
        prop::collection::vec(
            (
                doc(),
                name(),
                select(vec!["0", "2_000"]),
                prop::option::of(actions())
            )
                .prop_map(|(d, n, at, r)| {
                    cat(vec![
                        d,
                        words(&[n, "at", at, "points"]),
                        opt(r.map(|r| cat(vec![words(&["=>"]), r]))),
                    ])
                }),
            0..3
        )
        .prop_map(|t| cat(vec![words(&["tiers", "{"]), t.concat(), words(&["}"])])),
        (
            doc(),
            name(),
            expr(),
            select(vec![">=", "<=", "=="]),
            select(vec!["20%", "5 CNY", "0.5"])
        )
            .prop_map(|(d, n, e, op, target)| cat(vec![
                d,
                words(&["kpi", n, "="]),
                e,
                words(&["target", op, target])
            ])),
        (
            doc(),
            name(),
            expr(),
            select(vec![">=", "<"]),
            select(vec!["20%", "1_000"])
        )
            .prop_map(|(d, n, e, op, target)| cat(vec![
                d,
                words(&["kpi", n, "="]),
                e,
                words(&["target", op, target])
            ])),
    ]
}

/// Puts a file together; `choices` decides every separator.
fn assemble(items: &[Toks], choices: &[u8]) -> String {
    let mut pick = choices.iter().copied().cycle();
    let mut next = move || pick.next().unwrap_or(0);
    let mut n = 0;
    let mut comment = |kind: u8| {
        n += 1;
        match kind {
            0 => format!(" /* c{n} */ "),
            1 => format!(" // c{n}\n"),
            2 => format!("\n// own {n}\n"),
            _ => format!("\n\n/* block {n}\n   spans lines */\n"),
        }
    };
    let mut src = String::new();
    if next() % 4 == 0 {
        src.push_str(&comment(2));
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            match next() % 6 {
                0 => src.push('\n'),
                1 => src.push_str("\n\n"),
                2 => src.push_str("\n\n\n"),
                3 => src.push_str(&comment(1)),
                4 => src.push_str(&comment(2)),
                _ => src.push_str(&comment(3)),
            }
        }
        // The grammar reads `a\n/// doc` after a segment's condition as `a /` and a
        // comment, so a doc comment never follows a segment here.
        let after_segment = i > 0
            && matches!(
                items
                    .get(i - 1)
                    .and_then(|p| p.iter().find(|t| matches!(t, Tok::Word(_)))),
                Some(Tok::Word("segment"))
            );
        let skip = if after_segment {
            item.iter().take_while(|t| matches!(t, Tok::Doc(_))).count()
        } else {
            0
        };
        let mut newline_next = false;
        for (j, tok) in item.iter().enumerate().skip(skip) {
            let j = j - skip;
            match tok {
                Tok::Newline => newline_next = true,
                Tok::Doc(text) => {
                    if j > 0 {
                        src.push('\n');
                    }
                    src.push_str(text);
                    newline_next = true;
                }
                Tok::Word(word) => {
                    if j > 0 {
                        if newline_next {
                            src.push('\n');
                        } else {
                            match next() % 20 {
                                0..=10 => src.push(' '),
                                11 => src.push_str("  "),
                                12 | 13 => src.push('\n'),
                                14 => src.push_str("\n      "),
                                15 => src.push_str("\n\n  "),
                                16 => src.push_str(&comment(0)),
                                17 => src.push_str(&comment(1)),
                                18 => src.push_str(&comment(2)),
                                _ => src.push('\t'),
                            }
                        }
                    }
                    newline_next = false;
                    src.push_str(word);
                }
            }
        }
    }
    match next() % 4 {
        0 => src.push_str(&comment(1)),
        1 => src.push_str("\n\n"),
        _ => src.push('\n'),
    }
    src
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_and_keeps_meaning_and_comments(
        items in prop::collection::vec(item(), 1..8),
        choices in prop::collection::vec(any::<u8>(), 64..256),
    ) {
        let src = assemble(&items, &choices);
        let parsed = parse(&src, FileId(0));
        let broken: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| matches!(d.code, Code::E0001 | Code::E0002 | Code::E0003))
            .map(|d| (d.code, d.message.clone()))
            .collect();
        prop_assert!(broken.is_empty(), "the generator made a broken file: {broken:?}\n{src}");

        let once = format(&src).map_err(|e| TestCaseError::fail(format!("{e}\n{src}")))?;
        let twice = format(&once).map_err(|e| TestCaseError::fail(format!("formatted file: {e}\n{once}")))?;
        prop_assert_eq!(&twice, &once, "not idempotent; source:\n{}", src);
        prop_assert_eq!(meaning(&once), meaning(&src), "meaning changed; source:\n{}\nformatted:\n{}", src, once);
        prop_assert_eq!(comments(&once), comments(&src), "comments changed; source:\n{}\nformatted:\n{}", src, once);
    }
}
