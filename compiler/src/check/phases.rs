//! Phases and their statements: windows in UTC from the campaign time zone (E0301,
//! W0304), tasks, streaks (E0302), leaderboards and awards (E0303, E0405), goals,
//! sends (W0305, W0702, E0804), grants and `on birthday` (E0801).

use super::actions::{self, Site};
use super::exprs::{self, Scope};
use super::kpis;
use super::settings::type_error;
use super::timers::{self, Reaches};
use super::Ctx;
use crate::suggest;
use camp_dsl::ast::*;
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use camp_plan::calendar::{checked_add_duration, local_to_utc};
use camp_plan::literal::DateTimeLit;
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::HashMap;

/// A phase's window, half-open `[start, end)`, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PhaseWindow {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// How many local calendar days `[start, end)` touches.
pub fn calendar_days(tz: Tz, w: &PhaseWindow) -> i64 {
    let first = w.start.with_timezone(&tz).date_naive();
    let last = (w.end - TimeDelta::seconds(1))
        .with_timezone(&tz)
        .date_naive();
    (last - first).num_days() + 1
}

/// A date-and-time (or date, meaning its midnight) literal as UTC: local ones in `tz`.
/// `None` when it is invalid, or local with no valid time zone (both already reported);
/// E0201 naming `what` when it is another kind of value.
pub(super) fn datetime(
    ctx: &mut Ctx<'_>,
    file: FileId,
    lit: &Lit,
    tz: Option<Tz>,
    what: &str,
) -> Option<DateTime<Utc>> {
    match (&lit.kind, tz) {
        (LitKind::DateTime(DateTimeLit::Fixed(d)), _) => Some(d.with_timezone(&Utc)),
        (LitKind::DateTime(DateTimeLit::Local(d)), Some(tz)) => Some(local_to_utc(tz, *d)),
        (LitKind::Date(d), Some(tz)) => Some(local_to_utc(tz, d.and_time(NaiveTime::MIN))),
        (LitKind::DateTime(_) | LitKind::Date(_) | LitKind::Invalid, _) => None,
        (other, _) => {
            type_error(
                ctx,
                file,
                lit.span,
                what,
                "a date and time like `2027-05-01T10:00`",
                other,
            );
            None
        }
    }
}

pub(super) fn check(ctx: &mut Ctx<'_>) -> Vec<Option<PhaseWindow>> {
    let phases: Vec<_> = ctx.syms.phases.iter().copied().collect();
    let tz = ctx.settings.tz;
    let mut windows: Vec<Option<PhaseWindow>> = Vec::new();
    let mut prev: Option<(PhaseWindow, Loc, &str)> = None;
    let mut cursor = ctx.settings.start;
    for def in &phases {
        let p = def.node;
        let window = match &p.timing {
            PhaseTiming::For(lit) => match &lit.kind {
                LitKind::Duration(d) if d.is_zero() => {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0301,
                            def.loc(),
                            format!("the phase `{}` has zero length", p.name.name),
                            "zero length",
                        )
                        .with_help("give it a duration like `for 5d`"),
                    );
                    None
                }
                LitKind::Duration(d) => match (cursor, tz) {
                    (Some(start), Some(tz)) => match checked_add_duration(tz, start, *d) {
                        Some(end) => Some(PhaseWindow { start, end }),
                        None => {
                            let diag = ctx.too_large(
                                def.file,
                                lit.span,
                                format!(
                                    "the phase `{}` would end after the last date camp can compute with: shorten it",
                                    p.name.name
                                ),
                            );
                            ctx.report(diag);
                            None
                        }
                    },
                    _ => None,
                },
                LitKind::Invalid => None,
                other => {
                    type_error(
                        ctx,
                        def.file,
                        lit.span,
                        "a phase's length",
                        "a duration like `14d`",
                        other,
                    );
                    None
                }
            },
            PhaseTiming::Window(a, b) => {
                let start = datetime(ctx, def.file, a, tz, "a phase window");
                let end = datetime(ctx, def.file, b, tz, "a phase window");
                match (start, end) {
                    (Some(start), Some(end)) if end <= start => {
                        let what = if end == start {
                            "has zero length"
                        } else {
                            "ends before it starts"
                        };
                        ctx.report(
                            Diagnostic::new(
                                Code::E0301,
                                def.loc(),
                                format!("the phase `{}` {what}", p.name.name),
                                what.to_string(),
                            )
                            .with_label(Loc::new(def.file, b.span), "ends here")
                            .with_help("the `to` time must come after the `from` time"),
                        );
                        None
                    }
                    (Some(start), Some(end)) => Some(PhaseWindow { start, end }),
                    _ => None,
                }
            }
        };
        if let (Some(w), Some((pw, ploc, pname))) = (window, prev) {
            if w.start < pw.end {
                ctx.report(
                    Diagnostic::new(Code::E0301, def.loc(), format!("the phase `{}` starts before `{pname}` ends", p.name.name), "overlaps the phase before")
                        .with_label(ploc, "this phase is still running")
                        .with_help("phases run one after another in the order written: move its window after the previous phase, or reorder the phases"),
                );
            } else if w.start > pw.end {
                let tzname = tz.map_or(String::new(), |t| t.name().to_string());
                let at = tz.map_or_else(
                    || pw.end.to_rfc3339(),
                    |t| {
                        pw.end
                            .with_timezone(&t)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    },
                );
                ctx.report(
                    Diagnostic::new(Code::W0304, def.loc(), format!("a gap before the phase `{}`: nothing runs from {at} {tzname} until it starts", p.name.name), "starts after a gap")
                        .with_label(ploc, "the previous phase ends here")
                        .with_help("events in a gap are rejected as `outside`; start this phase when the previous one ends"),
                );
            }
        }
        if let Some(w) = window {
            prev = Some((w, def.loc(), p.name.name.as_str()));
            cursor = Some(w.end);
        } else if matches!(p.timing, PhaseTiming::For(_)) {
            cursor = None;
        }
        windows.push(window);
    }

    let enrolls: Vec<bool> = phases.iter().map(|d| can_enroll(ctx, d.node)).collect();
    let mut award_ranges: HashMap<String, Vec<(i64, i64, Loc)>> = HashMap::new();
    for (i, def) in phases.iter().enumerate() {
        let window = windows.get(i).copied().flatten();
        let enrolled_before = enrolls.iter().take(i).any(|b| *b);
        let enrolls_here = enrolls.get(i).copied().unwrap_or(false);
        let reach = Reach {
            before: enrolled_before,
            here: enrolls_here,
        };
        if let Some(u) = &def.node.until {
            until(ctx, def.file, u);
        }
        // The tasks so far in this phase, with the event each counts: `counted()` may
        // name the earlier ones on the same event.
        let mut so_far: Vec<(&str, Option<&str>)> = Vec::new();
        for stmt in &def.node.stmts {
            match &stmt.kind {
                PhaseStmtKind::Task(t) => {
                    let on = task_event(t);
                    let earlier: Vec<&str> = so_far
                        .iter()
                        .filter(|(_, e)| on.is_some() && *e == on)
                        .map(|(n, _)| *n)
                        .collect();
                    task(ctx, def.file, t, window, &earlier);
                    so_far.push((t.name.name.as_str(), on));
                }
                PhaseStmtKind::Leaderboard(l) => leaderboard(ctx, def.file, l, window),
                PhaseStmtKind::Award(a) => award(ctx, def.file, i, a, &mut award_ranges),
                PhaseStmtKind::Goal(g) => {
                    let scope = Scope::of("a goal");
                    exprs::check_condition(ctx, def.file, &g.condition, &scope);
                    actions::check(ctx, def.file, &g.actions.list, site("a goal", false));
                }
                PhaseStmtKind::Send(s) => {
                    send(ctx, def.file, &def.node.name.name, s, reach, window)
                }
                PhaseStmtKind::Raffle(r) => raffle(ctx, def.file, r, window),
                PhaseStmtKind::Grant(g) => timers::grant(ctx, def.file, g, window),
            }
        }
    }
    windows
}

/// An action list's site outside a task and a group; `mass` for a raffle or an award,
/// whose one firing reaches many (a pool may be granted there, E0406).
fn site(context: &'static str, mass: bool) -> Site<'static> {
    Site {
        event: None,
        group: false,
        mass,
        context,
    }
}

/// Whether anyone can enroll during phase `p`: a task counts an event that enrolls, a
/// leaderboard scores one, or a raffle draws from the audience.
fn can_enroll(ctx: &Ctx<'_>, p: &PhaseDef) -> bool {
    p.stmts.iter().any(|s| match &s.kind {
        PhaseStmtKind::Task(t) => t.stmts.iter().any(|st| matches!(st, TaskStmt::On { event, .. } if event.name != "birthday" && event.name != "enroll")),
        PhaseStmtKind::Leaderboard(_) => true,
        PhaseStmtKind::Raffle(r) => r.from.as_ref().is_some_and(|f| f.name == "audience"),
        _ => false,
    }) || ctx.syms.events.is_empty()
}

fn until(ctx: &mut Ctx<'_>, file: FileId, u: &Until) {
    match u {
        Until::BudgetExhausted(span) => {
            if ctx.settings.budget.is_none() && ctx.syms.campaign.is_some() {
                ctx.report(
                    Diagnostic::new(
                        Code::E0104,
                        Loc::new(file, *span),
                        "`until budget exhausted`, but the campaign has no `budget`",
                        "no budget to exhaust",
                    )
                    .with_help(
                        "add `budget 10_000 CNY` to the campaign block, or remove the `until`",
                    ),
                );
            }
        }
        Until::Condition(e) => kpis::condition(ctx, file, e),
    }
}

/// Resolves a reward name, reporting E0102 with a suggestion.
pub(super) fn reward_ref(ctx: &mut Ctx<'_>, file: FileId, id: &Ident) -> bool {
    exprs::resolve_reward(ctx, file, id, Code::E0102)
}

/// Resolves a sent message, recording what its templates may use: `reward.*` when the
/// sender grants, `group.*` when it is a group's outcome.
pub(super) fn message_ref(
    ctx: &mut Ctx<'_>,
    file: FileId,
    id: &Ident,
    with_reward: bool,
    in_group: bool,
) {
    if ctx.syms.messages.get(&id.name).is_some() {
        ctx.used.messages.insert(id.name.clone());
        if !in_group {
            ctx.used.messages_without_group.insert(id.name.clone());
        }
        if !with_reward {
            ctx.used.messages_without_reward.insert(id.name.clone());
        }
        return;
    }
    let help = suggest::did_you_mean(&id.name, ctx.syms.messages.names());
    ctx.report(
        Diagnostic::new(
            Code::E0102,
            Loc::new(file, id.span),
            format!("unknown message `{}`", id.name),
            "not defined",
        )
        .with_help_opt(help),
    );
}

pub(super) fn positive(ctx: &mut Ctx<'_>, file: FileId, lit: &Lit, what: &str) -> Option<i64> {
    match &lit.kind {
        LitKind::Int(n) if *n > super::MAX_COUNT => {
            let d = ctx.too_large(
                file,
                lit.span,
                format!("{what} goes up to {}", super::MAX_COUNT_TEXT),
            );
            ctx.report(d);
            None
        }
        LitKind::Int(n) if *n >= 1 => Some(*n),
        LitKind::Invalid => None,
        LitKind::Int(_) => {
            ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, lit.span),
                    format!("{what} must be at least 1"),
                    "zero or negative",
                )
                .with_help("write a whole number of at least 1"),
            );
            None
        }
        other => {
            type_error(ctx, file, lit.span, what, "a whole number", other);
            None
        }
    }
}

/// The event a task counts, as written.
fn task_event(t: &TaskDef) -> Option<&str> {
    t.stmts.iter().find_map(|s| match s {
        TaskStmt::On { event, .. } => Some(event.name.as_str()),
        _ => None,
    })
}

fn task(
    ctx: &mut Ctx<'_>,
    file: FileId,
    t: &TaskDef,
    window: Option<PhaseWindow>,
    earlier: &[&str],
) {
    let mut on_seen: Option<Span> = None;
    let mut ev: Option<&EventDef> = None;
    let mut limits: HashMap<&'static str, Span> = HashMap::new();
    for s in &t.stmts {
        match s {
            TaskStmt::On {
                keyword,
                event,
                filter,
            } => {
                if let Some(first) = on_seen {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0101,
                            Loc::new(file, *keyword),
                            format!("the task `{}` has two `on` lines", t.name.name),
                            "second `on`",
                        )
                        .with_label(Loc::new(file, first), "first `on`")
                        .with_help("a task counts one event type; split it into two tasks"),
                    );
                    continue;
                }
                on_seen = Some(*keyword);
                ev = on_event(ctx, file, event);
                if let Some(f) = filter {
                    let scope = Scope {
                        event: ev,
                        context: "a task's `where`",
                        counted: Some(earlier.to_vec()),
                    };
                    exprs::check_condition(ctx, file, f, &scope);
                }
            }
            TaskStmt::Limit {
                keyword,
                count,
                period,
                ..
            } => {
                let name = match period {
                    Period::Day => "day",
                    Period::User => "user",
                    Period::Phase => "phase",
                    Period::Field(f) => {
                        limit_field(ctx, file, f, ev);
                        "event field"
                    }
                };
                if let Some(first) = limits.insert(name, *keyword) {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0101,
                            Loc::new(file, *keyword),
                            format!("the task `{}` has two limits per {name}", t.name.name),
                            "second limit",
                        )
                        .with_label(Loc::new(file, first), "first limit")
                        .with_help("keep one of them"),
                    );
                }
                positive(ctx, file, count, "a limit");
            }
            TaskStmt::Within {
                keyword,
                duration,
                of,
            } => {
                if let Some(first) = limits.insert("within", *keyword) {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0101,
                            Loc::new(file, *keyword),
                            format!("the task `{}` has two `within` lines", t.name.name),
                            "second `within`",
                        )
                        .with_label(Loc::new(file, first), "first `within`")
                        .with_help("keep one of them"),
                    );
                }
                timers::duration(ctx, file, duration, "`within`");
                timers::anchor(ctx, file, of);
            }
            TaskStmt::Action(a) => {
                let grants = t.stmts.iter().any(|s| {
                    matches!(
                        s,
                        TaskStmt::Action(Action {
                            kind: ActionKind::Grant { .. },
                            ..
                        })
                    )
                });
                let list = std::slice::from_ref(a);
                if grants {
                    // `reward.*` is the first reward the task's lines grant.
                    check_with_reward(ctx, file, list, task_site(ev));
                } else {
                    actions::check(ctx, file, list, task_site(ev));
                }
            }
            TaskStmt::Streak {
                keyword,
                days,
                actions: list,
            } => {
                if let (Some(n), Some(w), Some(tz)) = (
                    positive(ctx, file, days, "a streak"),
                    window,
                    ctx.settings.tz,
                ) {
                    let available = calendar_days(tz, &w);
                    if n > available {
                        ctx.report(
                            Diagnostic::new(Code::E0302, Loc::new(file, *keyword), format!("a {n}-day streak can never happen in a phase of {available} days"), "too long for its phase")
                                .with_help(format!("shorten the streak to at most {available} days, or lengthen the phase")),
                        );
                    }
                }
                actions::check(ctx, file, &list.list, task_site(ev));
            }
            TaskStmt::After {
                count,
                actions: list,
                ..
            } => {
                positive(ctx, file, count, "`after`");
                actions::check(ctx, file, &list.list, task_site(ev));
            }
            TaskStmt::Every {
                count,
                actions: list,
                ..
            } => {
                positive(ctx, file, count, "`every`");
                actions::check(ctx, file, &list.list, task_site(ev));
            }
        }
    }
    actions::opens_and_joins(ctx, file, t);
    if on_seen.is_none() {
        ctx.report(
            Diagnostic::new(
                Code::E0104,
                Loc::new(file, t.name.span),
                format!("the task `{}` has no `on` line", t.name.name),
                "which event does it count?",
            )
            .with_help("add `on EVENT`, like `on checkin`"),
        );
    }
}

/// The site of a task's actions.
fn task_site(event: Option<&EventDef>) -> Site<'_> {
    Site {
        event,
        group: false,
        mass: false,
        context: "a task",
    }
}

/// Checks one task line of a task whose lines grant: a message it sends may show
/// `reward.*`.
fn check_with_reward(ctx: &mut Ctx<'_>, file: FileId, list: &[Action], site: Site<'_>) {
    for a in list {
        match &a.kind {
            ActionKind::Send { message, to } => {
                message_ref(ctx, file, message, true, false);
                if let Some(t) = to {
                    actions::target(ctx, file, t, site);
                }
            }
            _ => actions::check(ctx, file, std::slice::from_ref(a), site),
        }
    }
}

/// `limit N per event.FIELD`: a field of the task's event.
fn limit_field(ctx: &mut Ctx<'_>, file: FileId, f: &Target, ev: Option<&EventDef>) {
    match f.path.as_slice() {
        [root, _] if root.name == "event" => {
            if ev.is_some() {
                actions::event_field(ctx, file, f, task_site(ev));
            }
        }
        _ => ctx.report(
            Diagnostic::new(
                Code::E0202,
                Loc::new(file, f.span),
                "a limit counts per `day`, `user`, `phase` or `event.FIELD`",
                "not a period",
            )
            .with_help("write `limit 1 per event.invitee` to count each value of a field once"),
        ),
    }
}

/// Resolves the event of `on EVENT`, returning its definition for declared events.
fn on_event<'a>(ctx: &mut Ctx<'a>, file: FileId, event: &Ident) -> Option<&'a EventDef> {
    match event.name.as_str() {
        "enroll" => None,
        "birthday" => {
            let ok = ctx
                .syms
                .attrs
                .get("birthday")
                .is_some_and(|a| matches!(&a.node.ty, TypeRef::Named(i) if i.name == "date"));
            if !ok {
                ctx.report(
                    Diagnostic::new(
                        Code::E0801,
                        Loc::new(file, event.span),
                        "`on birthday` needs a `birthday: date` user attribute",
                        "no birthday known",
                    )
                    .with_help("declare it: `user { birthday: date }`"),
                );
            }
            None
        }
        name => match ctx.syms.events.get(name) {
            Some(def) => {
                ctx.used.events.insert(name.to_string());
                Some(def.node)
            }
            None => {
                let names: Vec<&str> = ctx
                    .syms
                    .events
                    .names()
                    .chain(["enroll", "birthday"])
                    .collect();
                let help = suggest::did_you_mean(name, names);
                ctx.report(
                    Diagnostic::new(
                        Code::E0102,
                        Loc::new(file, event.span),
                        format!("unknown event `{name}`"),
                        "not defined",
                    )
                    .with_help_opt(
                        help.or_else(|| Some(format!("declare it: `event {name} {{}}`"))),
                    ),
                );
                None
            }
        },
    }
}

fn leaderboard(ctx: &mut Ctx<'_>, file: FileId, l: &LeaderboardDef, window: Option<PhaseWindow>) {
    super::periods::every(ctx, file, l, window);
    match &l.score {
        Some(e) => kpis::score(ctx, file, e),
        None => ctx.report(
            Diagnostic::new(
                Code::E0104,
                Loc::new(file, l.name.span),
                format!("the leaderboard `{}` has no `score`", l.name.name),
                "what does it rank?",
            )
            .with_help("add `score count(EVENT)`, `score sum(EVENT.FIELD)` or `score points`"),
        ),
    }
    if let Some(show) = &l.show {
        positive(ctx, file, show, "`show top`");
    }
    // A second `score` or `show top` would silently replace the first.
    for line in &l.repeated {
        let (span, what, first) = match line {
            LeaderboardLine::Score { span, expr } => {
                kpis::score(ctx, file, expr);
                (span, "`score`", l.score.as_ref().map(|e| e.span))
            }
            LeaderboardLine::Show { span, top } => {
                positive(ctx, file, top, "`show top`");
                (span, "`show top`", l.show.as_ref().map(|n| n.span))
            }
            LeaderboardLine::Every { span, .. } => {
                (span, "`every`", l.every.as_ref().map(|n| n.span))
            }
        };
        let mut d = Diagnostic::new(
            Code::E0101,
            Loc::new(file, *span),
            format!("the leaderboard `{}` has two {what} lines", l.name.name),
            format!("second {what}"),
        )
        .with_help("a leaderboard has one of each: keep one of them");
        if let Some(first) = first {
            d = d.with_label(Loc::new(file, first), format!("first {what}"));
        }
        ctx.report(d);
    }
}

fn award(
    ctx: &mut Ctx<'_>,
    file: FileId,
    phase: usize,
    a: &AwardStmt,
    ranges: &mut HashMap<String, Vec<(i64, i64, Loc)>>,
) {
    actions::check(ctx, file, &a.actions.list, site("an award", true));
    let Some(lb) = ctx.syms.leaderboards.get(&a.leaderboard.name).copied() else {
        let help = suggest::did_you_mean(&a.leaderboard.name, ctx.syms.leaderboards.names());
        ctx.report(
            Diagnostic::new(
                Code::E0102,
                Loc::new(file, a.leaderboard.span),
                format!("unknown leaderboard `{}`", a.leaderboard.name),
                "not defined",
            )
            .with_help_opt(help),
        );
        return;
    };
    let periodic = super::periods::periodic_award(ctx, file, phase, a, &lb);
    if lb.phase >= phase && !periodic {
        let when = if lb.phase == phase {
            "in this same phase"
        } else {
            "in a later phase"
        };
        ctx.report(
            Diagnostic::new(Code::E0303, Loc::new(file, a.leaderboard.span), format!("the leaderboard `{}` is still open when this award fires", a.leaderboard.name), format!("scored {when}"))
                .with_label(lb.loc(), "the leaderboard is defined here")
                .with_help("awards fire when their phase starts: put the award in a phase after the leaderboard's"),
        );
    }
    let mut whole = true;
    for lit in std::iter::once(&a.from).chain(a.to.as_ref()) {
        match &lit.kind {
            LitKind::Int(_) => {}
            LitKind::Invalid => whole = false,
            other => {
                type_error(ctx, file, lit.span, "a rank", "a whole number", other);
                whole = false;
            }
        }
    }
    let from = match &a.from.kind {
        LitKind::Int(n) if whole => *n,
        _ => return,
    };
    let to = match a.to.as_ref().map(|l| &l.kind) {
        None => from,
        Some(LitKind::Int(n)) => *n,
        Some(_) => return,
    };
    let loc = Loc::new(file, a.range_span);
    for lit in std::iter::once(&a.from).chain(a.to.as_ref()) {
        if matches!(lit.kind, LitKind::Int(n) if n > super::MAX_COUNT) {
            let d = ctx.too_large(
                file,
                lit.span,
                format!("a rank goes up to {}", super::MAX_COUNT_TEXT),
            );
            ctx.report(d);
            return;
        }
    }
    if from < 1 || to < from {
        ctx.report(
            Diagnostic::new(Code::E0405, loc, format!("`{from}..{to}` is not a range of ranks"), "invalid ranks")
                .with_help("ranks start at 1, and a range goes from the better rank to the worse, like `2..10`"),
        );
        return;
    }
    let show = match lb.node.show.as_ref().map(|l| &l.kind) {
        Some(LitKind::Int(n)) => Some(*n),
        _ => None,
    };
    if let Some(n) = show {
        if to > n {
            ctx.report(
                Diagnostic::new(
                    Code::E0405,
                    loc,
                    format!(
                        "rank {to} is beyond the leaderboard `{}`, which shows the top {n}",
                        lb.name.name
                    ),
                    "beyond the leaderboard",
                )
                .with_label(lb.loc(), format!("shows the top {n}"))
                .with_help(format!("award ranks up to {n}, or raise `show top`")),
            );
        }
    }
    let list = ranges.entry(lb.name.name.clone()).or_default();
    if let Some((pf, pt, ploc)) = list.iter().find(|(pf, pt, _)| from <= *pt && *pf <= to) {
        let d = Diagnostic::new(
            Code::E0405,
            loc,
            format!("ranks {from}..{to} overlap ranks {pf}..{pt} already awarded"),
            "overlapping ranks",
        )
        .with_label(*ploc, "awarded here")
        .with_help("each rank gets one award: make the ranges disjoint");
        ctx.report(d);
    }
    list.push((from, to, loc));
}

/// Whether anyone can be a participant: enrolled in an earlier phase, or in this one.
#[derive(Clone, Copy)]
struct Reach {
    before: bool,
    here: bool,
}

fn send(
    ctx: &mut Ctx<'_>,
    file: FileId,
    phase: &str,
    s: &SendStmt,
    reach: Reach,
    window: Option<PhaseWindow>,
) {
    message_ref(ctx, file, &s.message, false, false);
    match &s.trigger {
        SendTrigger::At { times, daily } => at_times(ctx, file, times, *daily, window, true),
        SendTrigger::Inactive(lit) => match &lit.kind {
            LitKind::Duration(d) if !d.is_zero() => {}
            LitKind::Duration(_) => ctx.error(
                Code::E0201,
                file,
                lit.span,
                "`after ... inactive` needs a duration over zero",
                "zero",
            ),
            LitKind::Invalid => {}
            other => type_error(
                ctx,
                file,
                lit.span,
                "`after ... inactive`",
                "a duration like `2d`",
                other,
            ),
        },
        SendTrigger::After { delay, from } => {
            timers::duration(ctx, file, delay, "a timed send (`DURATION after ...`)");
            timers::anchor(ctx, file, from);
        }
        SendTrigger::OnEnter(_) | SendTrigger::OnEnroll(_) => {}
    }
    let per_participant = match s.trigger {
        SendTrigger::Inactive(_) => Some("an inactivity send (`after ... inactive`)"),
        SendTrigger::OnEnroll(_) => Some("a send `on enroll`"),
        SendTrigger::After { .. } => Some("a per-participant send (`DURATION after ...`)"),
        SendTrigger::At { .. } | SendTrigger::OnEnter(_) => None,
    };
    let instead = format!(
        "remove `to audience`, or send `{}` `on enter` or `at` a time to reach the audience",
        s.message.name
    );
    let to_participants = timers::recipients(ctx, file, s.to.as_ref(), per_participant, &instead)
        == Reaches::Participants;
    timers::condition(ctx, file, s.condition.as_ref(), "a send's `if`");
    // `on enter` fires at the phase's first instant, before anyone can enroll in it;
    // `on enroll` only in the phase itself; the others whenever the phase runs.
    // With `enroll audience` everyone eligible is a participant from the first phase's
    // start (enrolled before `on enter`), and users added later enroll when added.
    let never = !ctx.settings.enroll_audience
        && match s.trigger {
            SendTrigger::OnEnroll(_) => !reach.here,
            SendTrigger::OnEnter(_) => !reach.before,
            _ => !reach.before && !reach.here,
        };
    if to_participants && never {
        let why = match s.trigger {
            SendTrigger::OnEnroll(_) => format!("no one enrolls during `{phase}`: it has no task or leaderboard that counts an event"),
            SendTrigger::OnEnter(_) => format!("no one can have enrolled when `{phase}` starts: participants enroll through a task or leaderboard, and no earlier phase has one"),
            _ => format!("no one can have enrolled by `{phase}`: participants enroll through a task or leaderboard, and none comes before or in it"),
        };
        ctx.report(
            Diagnostic::new(
                Code::W0702,
                Loc::new(file, s.message.span),
                format!("`{}` goes to participants, but {why}", s.message.name),
                "no participants yet",
            )
            .with_help("send it `to audience`, or move it to a phase where people have enrolled"),
        );
    }
}

/// The times of an `at` (a send or a raffle): times of day (W0305 in the quiet hours
/// when `quiet_warning`, E0304 when none falls inside the phase) or dates and times
/// (E0304 outside the phase's window).
pub(super) fn at_times(
    ctx: &mut Ctx<'_>,
    file: FileId,
    times: &[Lit],
    daily: bool,
    window: Option<PhaseWindow>,
    quiet_warning: bool,
) {
    let tz = ctx.settings.tz;
    for time in times {
        match &time.kind {
            LitKind::Time(t) => {
                if quiet_warning && ctx.settings.is_quiet(*t) {
                    let (a, b) = ctx
                        .settings
                        .quiet
                        .map(|q| (q.start, q.end))
                        .unwrap_or_default();
                    ctx.report(
                        Diagnostic::new(
                            Code::W0305,
                            Loc::new(file, time.span),
                            format!("{} is inside the quiet hours {}..{}, so this send is always deferred", t.format("%H:%M"), a.format("%H:%M"), b.format("%H:%M")),
                            "in the quiet hours",
                        )
                        .with_help(format!("send it at {} or later, before {}", b.format("%H:%M"), a.format("%H:%M"))),
                    );
                }
                if let (Some(w), Some(tz)) = (window, tz) {
                    if local_times(tz, *t, false, w).is_empty() {
                        ctx.report(
                            Diagnostic::new(
                                Code::E0304,
                                Loc::new(file, time.span),
                                format!("{} never falls inside this phase", t.format("%H:%M")),
                                "never happens",
                            )
                            .with_help(format!(
                                "the phase runs {}; choose a time inside it",
                                window_text(tz, w)
                            )),
                        );
                    }
                }
            }
            LitKind::DateTime(_) | LitKind::Date(_) => {
                if daily {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0201,
                            Loc::new(file, time.span),
                            "`daily` repeats a time of day, not a date and time",
                            "a date and time",
                        )
                        .with_help("write `at 20:00 daily`, or remove `daily`"),
                    );
                }
                let at = datetime(ctx, file, time, tz, "`at`");
                if let (Some(at), Some(w), Some(tz)) = (at, window, tz) {
                    if at < w.start || at >= w.end {
                        ctx.report(
                            Diagnostic::new(
                                Code::E0304,
                                Loc::new(file, time.span),
                                "this time is outside its phase",
                                "outside the phase",
                            )
                            .with_help(format!(
                                "the phase runs {}; timed steps fire only while their phase runs",
                                window_text(tz, w)
                            )),
                        );
                    }
                }
            }
            LitKind::Invalid => {}
            other => type_error(
                ctx,
                file,
                time.span,
                "`at`",
                "a time of day like `20:00` or a date and time like `2027-01-28T10:00`",
                other,
            ),
        }
    }
}

/// A phase's window as a person reads it, in the campaign time zone.
fn window_text(tz: Tz, w: PhaseWindow) -> String {
    let f = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    format!("from {} to {}", f(w.start), f(w.end))
}

/// The instants a local time of day falls on inside `w`: every day of it with `daily`,
/// else only the first.
pub fn local_times(tz: Tz, time: NaiveTime, daily: bool, w: PhaseWindow) -> Vec<DateTime<Utc>> {
    let first = w.start.with_timezone(&tz).date_naive();
    let last = (w.end - TimeDelta::seconds(1))
        .with_timezone(&tz)
        .date_naive();
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let at = local_to_utc(tz, day.and_time(time));
        if at >= w.start && at < w.end {
            out.push(at);
            if !daily {
                break;
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

/// A segment named where `audience`, `participants` or a segment may stand (`role`:
/// what the name gives, as in "unknown recipients"): marks it used, or reports E0102
/// with the closest of the three kinds of name.
pub(super) fn segment(ctx: &mut Ctx<'_>, file: FileId, name: &Ident, role: &str) {
    let seg = name.name.as_str();
    if ctx.syms.segments.get(seg).is_some() {
        ctx.used.segments.insert(seg.to_string());
        return;
    }
    let names: Vec<&str> = ["audience", "participants"]
        .into_iter()
        .chain(ctx.syms.segments.names())
        .collect();
    let help = suggest::did_you_mean(seg, names);
    ctx.report(
        Diagnostic::new(
            Code::E0102,
            Loc::new(file, name.span),
            format!("unknown {role} `{seg}`"),
            "not `audience`, `participants` or a segment",
        )
        .with_help_opt(help),
    );
}

/// `raffle NAME at TIMES pick N [from …] [where …] => ACTIONS`.
fn raffle(ctx: &mut Ctx<'_>, file: FileId, r: &RaffleStmt, window: Option<PhaseWindow>) {
    at_times(ctx, file, &r.times, r.daily, window, false);
    positive(ctx, file, &r.pick, "`pick`");
    if let Some(from) = &r.from {
        if !matches!(from.name.as_str(), "participants" | "audience") {
            segment(ctx, file, from, "entrants");
        }
    }
    if let Some(f) = &r.filter {
        exprs::check_condition(ctx, file, f, &Scope::of("a raffle's `where`"));
        if matches!(&f.kind, ExprKind::Path(p) if matches!(p.as_slice(), [x] if x.name == "false"))
        {
            ctx.report(
                Diagnostic::new(
                    Code::W0703,
                    Loc::new(file, f.span),
                    format!("no one can enter the raffle `{}`", r.name.name),
                    "never true",
                )
                .with_help("remove the `where`, or write the condition entrants must meet"),
            );
        }
    }
    actions::check(ctx, file, &r.actions.list, site("a raffle", true));
}
