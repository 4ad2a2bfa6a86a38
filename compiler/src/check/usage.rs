//! Definitions in the campaign file that nothing uses (W0701). Definitions in imported
//! files are a library's offer, so they are not reported.

use super::Ctx;
use camp_dsl::diag::{Code, Diagnostic};
use std::collections::HashSet;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let root = ctx.syms.root;
    let mut found = Vec::new();
    let mut scan = |kind: &str,
                    names: Vec<(String, camp_dsl::span::Loc)>,
                    used: &HashSet<String>,
                    how: &str| {
        for (name, loc) in names {
            if loc.file == root && !used.contains(&name) {
                found.push(
                    Diagnostic::new(
                        Code::W0701,
                        loc,
                        format!("the {kind} `{name}` is never used"),
                        "defined here, never used",
                    )
                    .with_help(format!("{how}, or remove it")),
                );
            }
        }
    };
    let defs = |t: &dyn Fn() -> Vec<(String, camp_dsl::span::Loc)>| t();
    scan(
        "reward",
        defs(&|| {
            ctx.syms
                .rewards
                .iter()
                .map(|d| (d.name.name.clone(), d.loc()))
                .collect()
        }),
        &ctx.used.rewards,
        "grant it in a task, award, goal, tier or draw",
    );
    scan(
        "message",
        defs(&|| {
            ctx.syms
                .messages
                .iter()
                .map(|d| (d.name.name.clone(), d.loc()))
                .collect()
        }),
        &ctx.used.messages,
        "send it from a phase or task",
    );
    scan(
        "event",
        defs(&|| {
            ctx.syms
                .events
                .iter()
                .map(|d| (d.name.name.clone(), d.loc()))
                .collect()
        }),
        &ctx.used.events,
        "count it in a task, leaderboard or KPI",
    );
    scan(
        "segment",
        defs(&|| {
            ctx.syms
                .segments
                .iter()
                .map(|d| (d.name.name.clone(), d.loc()))
                .collect()
        }),
        &ctx.used.segments,
        "use it in a condition or as `to SEGMENT`",
    );
    ctx.diags.extend(found);
}
