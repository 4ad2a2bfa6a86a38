//! How often each `pool` can fire (§3): every firing of a mass grant that grants it
//! shares a fresh amount, so the worst case (W0404) counts the amount once per
//! possible firing. Where a pool may be granted at all (E0406) is checked with the
//! actions ([`super::actions`]).
//!
//! Firings per site: `grant … on enter` once (a phase starts once); `grant … at` once
//! per time written (each fires at its first occurrence inside the phase); a raffle
//! once per round (a time of day with `daily`, once per day of the phase it falls on);
//! an award once, or, for a periodic leaderboard, once per period. A group's outcome
//! fires once per group, and nothing in the language bounds how many groups open, so
//! its firings are unbounded: only the pool's stock (or the budget) bounds it.

use super::phases::{local_times, PhaseWindow};
use super::Ctx;
use camp_dsl::ast::{Action, ActionKind, GrantOn, GroupLine, LitKind, PhaseStmtKind};
use camp_plan::calendar::checked_add_duration;
use chrono_tz::Tz;
use std::collections::HashMap;

/// The most periods a periodic board is counted to; beyond it the firings are taken as
/// unknown (the worst case is not computed, as for any count camp cannot bound).
const MAX_PERIODS: u64 = 1_000_000;

/// How many times a pool can fire in the whole campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Firings {
    /// At most this many.
    AtMost(u64),
    /// Without bound: a group's outcome grants it.
    Unbounded,
    /// Not computable: a phase window or the time zone is unknown (already reported).
    Unknown,
}

impl Firings {
    fn add(self, other: Firings) -> Firings {
        match (self, other) {
            (Firings::Unknown, _) | (_, Firings::Unknown) => Firings::Unknown,
            (Firings::Unbounded, _) | (_, Firings::Unbounded) => Firings::Unbounded,
            (Firings::AtMost(a), Firings::AtMost(b)) => Firings::AtMost(a.saturating_add(b)),
        }
    }
}

/// The pools an action list grants (each once, however often it names them).
fn pools_in<'a>(ctx: &Ctx<'_>, list: &'a [Action]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for a in list {
        if let ActionKind::Grant { reward, .. } = &a.kind {
            if super::actions::is_pool(ctx, &reward.name) && !out.contains(&reward.name.as_str()) {
                out.push(&reward.name);
            }
        }
    }
    out
}

/// For every pool granted by a mass grant, how many times it can fire. A pool granted
/// nowhere (or only where E0406 is reported) is absent: it never fires.
pub(super) fn firings(ctx: &Ctx<'_>, windows: &[Option<PhaseWindow>]) -> HashMap<String, Firings> {
    let mut out: HashMap<String, Firings> = HashMap::new();
    let mut count = |name: &str, n: Firings| {
        let now = out.get(name).copied().unwrap_or(Firings::AtMost(0));
        out.insert(name.to_string(), now.add(n));
    };
    let tz = ctx.settings.tz;
    for (i, def) in ctx.syms.phases.iter().enumerate() {
        let window = windows.get(i).copied().flatten();
        for stmt in &def.node.stmts {
            match &stmt.kind {
                PhaseStmtKind::Grant(g) => {
                    if !super::actions::is_pool(ctx, &g.reward.name) {
                        continue;
                    }
                    let n = match g.on {
                        GrantOn::Enter => Firings::AtMost(1),
                        GrantOn::At => Firings::AtMost(g.times.len() as u64),
                        GrantOn::Enroll => continue,
                    };
                    count(&g.reward.name, n);
                }
                PhaseStmtKind::Raffle(r) => {
                    let pools = pools_in(ctx, &r.actions.list);
                    if pools.is_empty() {
                        continue;
                    }
                    let mut rounds = Firings::AtMost(0);
                    for t in &r.times {
                        let n = match (&t.kind, window, tz) {
                            (LitKind::Time(time), Some(w), Some(tz)) if r.daily => {
                                Firings::AtMost(local_times(tz, *time, true, w).len() as u64)
                            }
                            (LitKind::Time(_), _, _) if !r.daily => Firings::AtMost(1),
                            (LitKind::DateTime(_) | LitKind::Date(_), _, _) => Firings::AtMost(1),
                            _ => Firings::Unknown,
                        };
                        rounds = rounds.add(n);
                    }
                    for p in pools {
                        count(p, rounds);
                    }
                }
                PhaseStmtKind::Award(a) => {
                    let pools = pools_in(ctx, &a.actions.list);
                    if pools.is_empty() {
                        continue;
                    }
                    let board = ctx.syms.leaderboards.get(&a.leaderboard.name);
                    let n = match board.and_then(|b| b.node.every.as_ref().map(|e| (b, e))) {
                        None => Firings::AtMost(1),
                        Some((b, every)) => match (&every.kind, windows.get(b.phase), tz) {
                            (LitKind::Duration(d), Some(Some(w)), Some(tz)) => periods(tz, *w, *d),
                            _ => Firings::Unknown,
                        },
                    };
                    for p in pools {
                        count(p, n);
                    }
                }
                PhaseStmtKind::Task(_)
                | PhaseStmtKind::Leaderboard(_)
                | PhaseStmtKind::Goal(_)
                | PhaseStmtKind::Send(_) => {}
            }
        }
    }
    for def in ctx.syms.groups.iter() {
        for line in &def.node.lines {
            if let GroupLine::Filled { actions, .. } | GroupLine::Expired { actions, .. } = line {
                for p in pools_in(ctx, &actions.list) {
                    count(p, Firings::Unbounded);
                }
            }
        }
    }
    out
}

/// How many periods of `every` fit in `w`: they start at its start and follow each
/// other, the last ending with it.
fn periods(tz: Tz, w: PhaseWindow, every: camp_plan::literal::Duration) -> Firings {
    if every.is_zero() {
        return Firings::Unknown;
    }
    let mut n = 0u64;
    let mut at = w.start;
    while at < w.end {
        n += 1;
        if n > MAX_PERIODS {
            return Firings::Unknown;
        }
        match checked_add_duration(tz, at, every) {
            Some(next) if next > at => at = next,
            _ => return Firings::Unknown,
        }
    }
    Firings::AtMost(n)
}
