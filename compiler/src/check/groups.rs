//! Group kinds (§7): `size` and `within` (E0805), their outcomes' actions, each line
//! once (E0101), and whether any task opens and joins them (W0703).

use super::actions::{self, Site};
use super::phases::positive;
use super::settings::type_error;
use super::Ctx;
use crate::symbols::duplicate;
use camp_dsl::ast::*;
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{Loc, Span};
use std::collections::{HashMap, HashSet};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let groups: Vec<_> = ctx.syms.groups.iter().copied().collect();
    let (opened, joined) = opened_and_joined(ctx);
    for def in &groups {
        let file = def.file;
        let g = def.node;
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut size = false;
        for line in &g.lines {
            let (word, keyword) = match line {
                GroupLine::Size { keyword, .. } => ("size", *keyword),
                GroupLine::Within { keyword, .. } => ("within", *keyword),
                GroupLine::Filled { keyword, .. } => ("filled", *keyword),
                GroupLine::Expired { keyword, .. } => ("expired", *keyword),
            };
            if let Some(first) = seen.insert(word, keyword) {
                ctx.report(duplicate(
                    &format!("`{word}` line of the group"),
                    &g.name.name,
                    Loc::new(file, keyword),
                    Loc::new(file, first),
                ));
                continue;
            }
            match line {
                GroupLine::Size { size: lit, .. } => {
                    size = true;
                    if let Some(n) = positive(ctx, file, lit, "a group's size") {
                        if n < 2 {
                            ctx.report(
                                Diagnostic::new(
                                    Code::E0805,
                                    Loc::new(file, lit.span),
                                    "a group needs a size of at least 2",
                                    "the opener alone",
                                )
                                .with_help("`size` counts the members, the opener included: a team of three is `size 3`"),
                            );
                        }
                    }
                }
                GroupLine::Within { within, .. } => match &within.kind {
                    LitKind::Duration(d) if d.is_zero() => ctx.report(
                        Diagnostic::new(
                            Code::E0805,
                            Loc::new(file, within.span),
                            "a group open for no time expires the moment it opens",
                            "zero",
                        )
                        .with_help("give it time to fill, like `within 24h`, or remove `within` to keep it open until the campaign ends"),
                    ),
                    LitKind::Duration(_) | LitKind::Invalid => {}
                    other => type_error(
                        ctx,
                        file,
                        within.span,
                        "a group's `within`",
                        "a duration like `24h`",
                        other,
                    ),
                },
                GroupLine::Filled { actions: a, .. } | GroupLine::Expired { actions: a, .. } => {
                    actions::check(
                        ctx,
                        file,
                        &a.list,
                        Site {
                            event: None,
                            group: true,
                            mass: true,
                            context: "a group's outcome",
                        },
                    );
                }
            }
        }
        if !size {
            ctx.report(
                Diagnostic::new(
                    Code::E0104,
                    def.loc(),
                    format!("the group `{}` has no `size`", g.name.name),
                    "how many members fill it?",
                )
                .with_help("add `size N`: the members, the opener included, that fill a group"),
            );
        }
        let name = g.name.name.as_str();
        let missing = match (opened.contains(name), joined.contains(name)) {
            (true, true) => None,
            (false, _) => Some((
                "no task opens it, so it never forms",
                format!("add a task with `open {name} by event.FIELD`"),
            )),
            (true, false) => Some((
                "no task joins it, so every group expires unfilled",
                format!("add a task with `join {name} by event.FIELD`"),
            )),
        };
        if let Some((why, help)) = missing {
            ctx.report(
                Diagnostic::new(
                    Code::W0703,
                    def.loc(),
                    format!("the group `{name}`: {why}"),
                    "never used by a task",
                )
                .with_help(help),
            );
        }
    }
}

/// The group kinds some task opens, and those some task joins.
fn opened_and_joined<'a>(ctx: &Ctx<'a>) -> (HashSet<&'a str>, HashSet<&'a str>) {
    let mut opened = HashSet::new();
    let mut joined = HashSet::new();
    for t in ctx.syms.tasks.iter() {
        for s in &t.node.stmts {
            if let TaskStmt::Action(a) = s {
                match &a.kind {
                    ActionKind::Open { group, .. } => {
                        opened.insert(group.name.as_str());
                    }
                    ActionKind::Join { group, .. } => {
                        joined.insert(group.name.as_str());
                    }
                    _ => {}
                }
            }
        }
    }
    (opened, joined)
}
