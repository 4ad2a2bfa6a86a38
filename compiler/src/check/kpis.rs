//! Metric expressions: KPI formulas and targets (E0601, E0602, W0603), `until`
//! conditions and leaderboard scores.

use super::exprs::{lit_ty, report_currency_at, Ty};
use super::Ctx;
use crate::suggest;
use camp_dsl::ast::{BinOp, CompareOp, Expr, ExprKind, Ident, LitKind, UnOp};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use camp_plan::literal::Currency;
use rust_decimal::Decimal;
use std::fmt;

/// What a metric expression measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of events or grants.
    Count,
    /// A number of distinct users, and which.
    Users(UserSet),
    /// An amount of money.
    Money(Option<Currency>),
    /// A plain number.
    Number,
    /// A ratio; a `share` when its numerator's users are a subset of its
    /// denominator's (it can never exceed 100%).
    Ratio {
        /// Users over users who include them.
        share: bool,
    },
    /// A condition (in `until`).
    Bool,
    /// Unknown after an error.
    Any,
}

/// Which users a count of distinct users counts, to tell a share of a group (never
/// over 100%) from a ratio of two groups (`unique(team_joined) / unique(team_opened)`
/// can be 300%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSet {
    /// `audience`: every eligible user known.
    Audience,
    /// `participants`.
    Participants,
    /// `unique(EVENT)`: the users who sent the event (`event`: which, when it is
    /// known; `filtered`: only the events passing a `where`).
    Senders {
        /// The event type ([`event_key`]).
        event: Option<u64>,
        /// Whether a `where` filters the events.
        filtered: bool,
    },
    /// `repeat(EVENT)`: the users who sent it twice or more (senders of it).
    Repeaters {
        /// The event type ([`event_key`]).
        event: Option<u64>,
    },
    /// `returning(EVENT, D)`: participants who came back.
    Returning,
    /// A sum, difference or multiple of counts of users.
    Mixed,
}

impl UserSet {
    /// Whether every user counted by `self` is also counted by `of`: participants and
    /// senders of an event are eligible users (an ineligible user's event is
    /// rejected), the language counts a share of participants as at most 100%, and the
    /// users who sent an event twice are among those who sent it (not among those who
    /// sent another event, or only the events a `where` lets through).
    fn within(self, of: UserSet) -> bool {
        use UserSet::*;
        match (self, of) {
            (Audience | Participants | Senders { .. } | Repeaters { .. } | Returning, Audience) => {
                true
            }
            (Participants | Senders { .. } | Repeaters { .. } | Returning, Participants) => true,
            (
                Repeaters { event: Some(a) },
                Senders {
                    event: Some(b),
                    filtered: false,
                },
            ) => a == b,
            _ => false,
        }
    }
}

/// Which event type a metric counts, to compare two metrics' events.
fn event_key(event: Option<&camp_dsl::ast::EventDef>) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    event.map(|e| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        e.name.name.hash(&mut h);
        h.finish()
    })
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Count => "a count",
            Unit::Users(_) => "a number of users",
            Unit::Money(_) => "an amount of money",
            Unit::Number => "a number",
            Unit::Ratio { .. } => "a ratio",
            Unit::Bool => "a condition",
            Unit::Any => "a value",
        })
    }
}

/// Where a metric expression stands, which decides the codes of unknown names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricMode {
    /// A KPI formula: unknown names are E0602.
    Kpi,
    /// An `until` condition or a leaderboard score: E0102 and E0202.
    Other,
}

impl MetricMode {
    fn unknown_name(self) -> Code {
        match self {
            MetricMode::Kpi => Code::E0602,
            MetricMode::Other => Code::E0102,
        }
    }
    fn unknown_field(self) -> Code {
        match self {
            MetricMode::Kpi => Code::E0602,
            MetricMode::Other => Code::E0202,
        }
    }
}

const METRICS: &[&str] = &[
    "count",
    "unique",
    "sum",
    "repeat",
    "returning",
    "nps",
    "completions",
    "sent",
    "granted",
    "spend",
    "participants",
    "audience",
    "opened",
    "joined",
    "filled",
    "expired",
    "winners",
];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let kpis: Vec<_> = ctx.syms.kpis.iter().copied().collect();
    for def in kpis {
        let k = def.node;
        let unit = metric(ctx, def.file, &k.formula, MetricMode::Kpi);
        target(ctx, def.file, unit, k.op, &k.target);
        if let Some(by) = &k.by {
            if let Some(arms) = arms(ctx, def.file, by) {
                per_arm(ctx, def.file, &k.formula, arms);
            }
        }
    }
}

/// What a KPI is reported `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArmsOf {
    /// The holdout and everyone else eligible, over the audience.
    Holdout,
    /// An experiment's variants, over participants.
    Experiment,
}

/// Resolves `by NAME` (E0602 for a name that is not `holdout`, or `holdout` in a
/// campaign without one).
fn arms(ctx: &mut Ctx<'_>, file: FileId, by: &Ident) -> Option<ArmsOf> {
    if by.name == "holdout" {
        if ctx.settings.holdout.is_some_and(|h| h > Decimal::ZERO) {
            return Some(ArmsOf::Holdout);
        }
        ctx.report(
            Diagnostic::new(
                Code::E0602,
                Loc::new(file, by.span),
                "`by holdout` needs a holdout, but the campaign has none",
                "no holdout",
            )
            .with_help("set one in the campaign block, like `holdout 5%`"),
        );
        return None;
    }
    if ctx.syms.experiments.get(&by.name).is_some() {
        return Some(ArmsOf::Experiment);
    }
    let names: Vec<&str> = std::iter::once("holdout")
        .chain(ctx.syms.experiments.names())
        .collect();
    let help = suggest::did_you_mean(&by.name, names.iter().copied());
    unknown(
        ctx,
        Code::E0602,
        file,
        by.span,
        format!(
            "unknown arms `{}`: a KPI is reported `by holdout` or `by` an experiment",
            by.name
        ),
        help,
    );
    None
}

/// E0601 for what a KPI `by` arms reads that the arms cannot split: the other
/// population (`participants` by holdout, whose users never participate), `returning`
/// by holdout, and metrics not kept per user (`spend`, `granted`, groups, raffles,
/// other KPIs).
fn per_arm(ctx: &mut Ctx<'_>, file: FileId, e: &Expr, arms: ArmsOf) {
    let wrong = |ctx: &mut Ctx<'_>, span: Span, message: String, help: &str| {
        ctx.report(
            Diagnostic::new(
                Code::E0601,
                Loc::new(file, span),
                message,
                "not measured per arm",
            )
            .with_help(help.to_string()),
        );
    };
    match &e.kind {
        ExprKind::Paren(x) | ExprKind::Unary(_, x) => per_arm(ctx, file, x, arms),
        ExprKind::Binary(_, l, r) => {
            per_arm(ctx, file, l, arms);
            per_arm(ctx, file, r, arms);
        }
        ExprKind::Path(p) => match (p.first().map(|i| i.name.as_str()), arms) {
            (Some("participants"), ArmsOf::Holdout) => wrong(
                ctx,
                e.span,
                "the arms of `by holdout` are over the audience, and holdout users never participate".into(),
                "divide by `audience`, like `unique(purchase) / audience`",
            ),
            (Some("audience"), ArmsOf::Experiment) => wrong(
                ctx,
                e.span,
                "the arms of an experiment are its variants, over participants: only participants get a variant".into(),
                "divide by `participants`, like `unique(purchase) / participants`",
            ),
            (Some("audience" | "participants"), _) => {}
            (Some(name), _) => wrong(
                ctx,
                e.span,
                format!("`{name}` is not measured per arm"),
                "a KPI `by` arms reads event metrics (`count`, `unique`, `sum`, `repeat`, `returning`, `nps`), `completions`, `sent` and the arm's population",
            ),
            (None, _) => {}
        },
        ExprKind::Call(name, _) => match (name.name.as_str(), arms) {
            ("returning", ArmsOf::Holdout) => wrong(
                ctx,
                e.span,
                "`returning` counts participants, and holdout users never participate".into(),
                "compare the holdout with `unique(...)`, `repeat(...)` or `count(...)` over `audience`",
            ),
            ("count" | "unique" | "sum" | "repeat" | "returning" | "nps" | "completions" | "sent", _) => {}
            (other, _) => wrong(
                ctx,
                e.span,
                format!("`{other}(...)` is not measured per arm"),
                "a KPI `by` arms reads event metrics (`count`, `unique`, `sum`, `repeat`, `returning`, `nps`), `completions`, `sent` and the arm's population",
            ),
        },
        _ => {}
    }
}

/// Checks an `until` condition over KPIs and metrics.
pub(super) fn condition(ctx: &mut Ctx<'_>, file: FileId, e: &Expr) {
    let unit = metric(ctx, file, e, MetricMode::Other);
    if unit != Unit::Bool && unit != Unit::Any {
        ctx.report(
            Diagnostic::new(
                Code::E0201,
                Loc::new(file, e.span),
                "`until` needs a condition",
                format!("this is {unit}"),
            )
            .with_help(
                "compare a metric or KPI with a target, like `until count(checkin) >= 100_000`",
            ),
        );
    }
}

/// Checks a leaderboard's `score`: `points`, `count(EVENT)` or `sum(EVENT.FIELD)`.
pub(super) fn score(ctx: &mut Ctx<'_>, file: FileId, e: &Expr) {
    let ok = match &e.kind {
        ExprKind::Path(p) => p.len() == 1 && p.first().is_some_and(|i| i.name == "points"),
        ExprKind::Call(name, _) => matches!(name.name.as_str(), "count" | "sum" | "holds"),
        _ => false,
    };
    if !ok {
        ctx.report(
            Diagnostic::new(
                Code::E0201,
                Loc::new(file, e.span),
                "a leaderboard scores `points`, `count(EVENT)`, `count(TASK)`, `sum(EVENT.FIELD)` or `holds(REWARD)`",
                "not a score",
            )
            .with_help("for example `score count(invite_accepted)`"),
        );
        return;
    }
    // `points` needs nothing more; the rest are calls.
    let ExprKind::Call(name, args) = &e.kind else {
        return;
    };
    if let Some(w) = args.iter().find(|a| matches!(a.kind, ExprKind::Where(..))) {
        ctx.report(
            Diagnostic::new(
                Code::E0201,
                Loc::new(file, w.span),
                "a leaderboard's score takes no `where`",
                "not a score",
            )
            .with_help("score the events a task counts with `count(TASK)`"),
        );
        return;
    }
    match (name.name.as_str(), args.as_slice()) {
        ("holds", [arg]) => {
            super::exprs::reward_arg(ctx, file, arg, "holds");
            return;
        }
        (
            "count",
            [Expr {
                kind: ExprKind::Path(p),
                ..
            }],
        ) if matches!(p.as_slice(), [t] if ctx.syms.events.get(&t.name).is_none()
                && ctx.syms.tasks.get(&t.name).is_some()) =>
        {
            return;
        }
        _ => {}
    }
    let unit = metric(ctx, file, e, MetricMode::Other);
    if !matches!(
        unit,
        Unit::Money(_) | Unit::Count | Unit::Number | Unit::Any
    ) {
        ctx.report(Diagnostic::new(
            Code::E0201,
            Loc::new(file, e.span),
            format!("a score must be a number, not {unit}"),
            "not a score",
        ));
    }
}

fn unknown(
    ctx: &mut Ctx<'_>,
    code: Code,
    file: FileId,
    span: Span,
    message: String,
    help: Option<String>,
) -> Unit {
    ctx.report(Diagnostic::new(code, Loc::new(file, span), message, "unknown").with_help_opt(help));
    Unit::Any
}

/// The unit of a metric expression, reporting every problem in it.
pub(super) fn metric(ctx: &mut Ctx<'_>, file: FileId, e: &Expr, mode: MetricMode) -> Unit {
    match &e.kind {
        ExprKind::Error => Unit::Any,
        ExprKind::Paren(inner) => metric(ctx, file, inner, mode),
        ExprKind::Lit(k) => match k {
            LitKind::Int(_) | LitKind::Decimal(_) => Unit::Number,
            LitKind::Percent(_) => Unit::Ratio { share: false },
            LitKind::Money(m) => Unit::Money(Some(m.currency)),
            LitKind::Invalid => Unit::Any,
            other => {
                ctx.report(Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, e.span),
                    format!("{} cannot be used in a metric", lit_ty(other)),
                    "not a metric",
                ));
                Unit::Any
            }
        },
        ExprKind::Path(parts) => match parts.as_slice() {
            [one] => bare(ctx, file, one, mode),
            _ => {
                let text = parts
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(".");
                let help = Some("metrics are `count(EVENT)`, `unique(EVENT)`, `sum(EVENT.FIELD)`, `granted(REWARD)`, `spend`, `participants` and `audience`".to_string());
                unknown(
                    ctx,
                    mode.unknown_name(),
                    file,
                    e.span,
                    format!("`{text}` is not a metric"),
                    help,
                )
            }
        },
        ExprKind::Call(name, args) => call(ctx, file, name, args, mode),
        ExprKind::Unary(UnOp::Neg, inner) => metric(ctx, file, inner, mode),
        ExprKind::Unary(UnOp::Not, inner) => {
            let u = metric(ctx, file, inner, mode);
            if u != Unit::Bool && u != Unit::Any {
                ctx.report(Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, inner.span),
                    format!("`not` needs a condition, not {u}"),
                    "not a condition",
                ));
            }
            Unit::Bool
        }
        ExprKind::Binary(op, l, r) => {
            let lu = metric(ctx, file, l, mode);
            let ru = metric(ctx, file, r, mode);
            binary(ctx, file, *op, (l, lu), (r, ru))
        }
        ExprKind::Where(..) => {
            ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, e.span),
                    "`where` filters the events of a metric, inside its parentheses",
                    "not in a metric",
                )
                .with_help("write `count(purchase where event.amount >= 100 CNY)`"),
            );
            Unit::Any
        }
        ExprKind::Str(_) | ExprKind::List(_) => {
            ctx.report(Diagnostic::new(
                Code::E0201,
                Loc::new(file, e.span),
                "text and lists cannot be used in a metric",
                "not a metric",
            ));
            Unit::Any
        }
    }
}

fn bare(ctx: &mut Ctx<'_>, file: FileId, id: &Ident, mode: MetricMode) -> Unit {
    match id.name.as_str() {
        "spend" => Unit::Money(ctx.settings.currency()),
        "participants" => Unit::Users(UserSet::Participants),
        "audience" => Unit::Users(UserSet::Audience),
        name => {
            if mode == MetricMode::Other {
                if let Some(k) = ctx.syms.kpis.get(name).copied() {
                    return metric_quiet(ctx, k.file, &k.node.formula);
                }
            }
            let mut names: Vec<&str> = METRICS.to_vec();
            if mode == MetricMode::Other {
                names.extend(ctx.syms.kpis.names());
            }
            let help = suggest::did_you_mean(name, names.iter().copied());
            let what = if mode == MetricMode::Other {
                "metric or KPI"
            } else {
                "metric"
            };
            unknown(
                ctx,
                mode.unknown_name(),
                file,
                id.span,
                format!("unknown {what} `{name}`"),
                help,
            )
        }
    }
}

/// The unit of a KPI formula referenced from elsewhere, without reporting twice.
fn metric_quiet(ctx: &mut Ctx<'_>, file: FileId, e: &Expr) -> Unit {
    let before = ctx.diags.len();
    let u = metric(ctx, file, e, MetricMode::Kpi);
    ctx.diags.truncate(before);
    u
}

fn event_arg<'a>(
    ctx: &mut Ctx<'a>,
    file: FileId,
    arg: &Expr,
    mode: MetricMode,
) -> Option<&'a camp_dsl::ast::EventDef> {
    let ExprKind::Path(p) = &arg.kind else {
        ctx.report(Diagnostic::new(
            Code::E0201,
            Loc::new(file, arg.span),
            "expected the name of an event",
            "not an event",
        ));
        return None;
    };
    let id = p.first()?;
    match ctx.syms.events.get(&id.name).copied() {
        Some(def) => {
            ctx.used.events.insert(id.name.clone());
            Some(def.node)
        }
        None => {
            let help = suggest::did_you_mean(&id.name, ctx.syms.events.names());
            unknown(
                ctx,
                mode.unknown_name(),
                file,
                id.span,
                format!("unknown event `{}`", id.name),
                help,
            );
            None
        }
    }
}

fn call(ctx: &mut Ctx<'_>, file: FileId, name: &Ident, args: &[Expr], mode: MetricMode) -> Unit {
    // `where` ends the only argument of `count`, `unique` and `sum`.
    let filtered = args.iter().any(|a| matches!(a.kind, ExprKind::Where(..)));
    let mut plain = Vec::with_capacity(args.len());
    for a in args {
        match &a.kind {
            ExprKind::Where(subject, filter) => {
                if matches!(name.name.as_str(), "count" | "unique" | "sum") && args.len() == 1 {
                    where_filter(ctx, file, subject, filter);
                } else {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0201,
                            Loc::new(file, filter.span),
                            format!("`{}` takes no `where`", name.name),
                            "no filter here",
                        )
                        .with_help("`where` filters the events of `count`, `unique` and `sum`"),
                    );
                }
                plain.push((**subject).clone());
            }
            _ => plain.push(a.clone()),
        }
    }
    let args = plain.as_slice();
    match (name.name.as_str(), args) {
        ("returning", [event, after]) => {
            event_arg(ctx, file, event, mode);
            if !matches!(after.kind, ExprKind::Lit(LitKind::Duration(d)) if !d.is_zero()) {
                ctx.report(
                    Diagnostic::new(
                        Code::E0201,
                        Loc::new(file, after.span),
                        "`returning` takes an event and a duration",
                        "not a duration",
                    )
                    .with_help("write `returning(checkin, 7d)`"),
                );
            }
            return Unit::Users(UserSet::Returning);
        }
        ("returning", _) => {
            ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, name.span),
                    "`returning` takes an event and a duration",
                    "wrong number of arguments",
                )
                .with_help("write `returning(checkin, 7d)`"),
            );
            return Unit::Any;
        }
        _ => {}
    }
    let [arg] = args else {
        if METRICS.contains(&name.name.as_str()) {
            ctx.report(Diagnostic::new(
                Code::E0201,
                Loc::new(file, name.span),
                format!("`{}` takes one argument", name.name),
                "wrong number of arguments",
            ));
            return Unit::Any;
        }
        let help = suggest::did_you_mean(&name.name, METRICS.iter().copied());
        return unknown(
            ctx,
            mode.unknown_name(),
            file,
            name.span,
            format!("unknown metric `{}`", name.name),
            help,
        );
    };
    match name.name.as_str() {
        "repeat" => {
            let event = event_key(event_arg(ctx, file, arg, mode));
            Unit::Users(UserSet::Repeaters { event })
        }
        "nps" => {
            nps_field(ctx, file, arg, mode);
            Unit::Number
        }
        "completions" => {
            named_arg(ctx, file, arg, mode, "task");
            Unit::Count
        }
        "sent" => {
            named_arg(ctx, file, arg, mode, "message");
            Unit::Count
        }
        "count" | "unique" => {
            if let ExprKind::Path(p) = &arg.kind {
                if p.len() > 1 {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0201,
                            Loc::new(file, arg.span),
                            format!("`{}` takes an event, not a field", name.name),
                            "a field",
                        )
                        .with_help("use `sum(EVENT.FIELD)` to add up a field"),
                    );
                    return Unit::Any;
                }
            }
            let event = event_key(event_arg(ctx, file, arg, mode));
            if name.name == "count" {
                Unit::Count
            } else {
                Unit::Users(UserSet::Senders { event, filtered })
            }
        }
        "sum" => {
            let ExprKind::Path(p) = &arg.kind else {
                ctx.report(Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, arg.span),
                    "`sum` takes an event field like `purchase.amount`",
                    "not a field",
                ));
                return Unit::Any;
            };
            let [ev, field] = p.as_slice() else {
                ctx.report(
                    Diagnostic::new(
                        Code::E0201,
                        Loc::new(file, arg.span),
                        "`sum` takes an event field like `purchase.amount`",
                        "not a field",
                    )
                    .with_help("to count events, use `count(EVENT)`"),
                );
                return Unit::Any;
            };
            let ev_expr = Expr {
                kind: ExprKind::Path(vec![ev.clone()]),
                span: ev.span,
            };
            let Some(def) = event_arg(ctx, file, &ev_expr, mode) else {
                return Unit::Any;
            };
            match def.fields.iter().find(|f| f.name.name == field.name) {
                Some(f) => match Ty::from_decl(&f.ty) {
                    Some(Ty::Money(_)) => Unit::Money(ctx.settings.currency()),
                    Some(Ty::Int | Ty::Decimal) => Unit::Number,
                    _ => {
                        ctx.report(Diagnostic::new(
                            Code::E0201,
                            Loc::new(file, arg.span),
                            format!(
                                "`{}.{}` is not a number or money, so it cannot be summed",
                                ev.name, field.name
                            ),
                            "not a number",
                        ));
                        Unit::Any
                    }
                },
                None => {
                    let help = suggest::did_you_mean(
                        &field.name,
                        def.fields.iter().map(|f| f.name.name.as_str()),
                    )
                    .map(|h| h.replacen('`', &format!("`{}.", ev.name), 1));
                    unknown(
                        ctx,
                        mode.unknown_field(),
                        file,
                        arg.span,
                        format!("the event `{}` has no field `{}`", ev.name, field.name),
                        help,
                    )
                }
            }
        }
        "granted" => {
            super::exprs::reward_arg_with(ctx, file, arg, "granted", mode.unknown_name());
            Unit::Count
        }
        "opened" | "joined" | "filled" | "expired" | "winners" => {
            let (kind, names): (&str, Vec<&str>) = if name.name == "winners" {
                ("raffle", ctx.syms.raffles.names().collect())
            } else {
                ("group", ctx.syms.groups.names().collect())
            };
            match &arg.kind {
                ExprKind::Path(p) if matches!(p.as_slice(), [one] if names.contains(&one.name.as_str())) =>
                    {}
                ExprKind::Path(p) if p.len() == 1 => {
                    let given = p.first().map_or("", |i| i.name.as_str());
                    let help = suggest::did_you_mean(given, names.iter().copied());
                    return unknown(
                        ctx,
                        mode.unknown_name(),
                        file,
                        arg.span,
                        format!("unknown {kind} `{given}`"),
                        help,
                    );
                }
                _ => {
                    ctx.report(Diagnostic::new(
                        Code::E0201,
                        Loc::new(file, arg.span),
                        format!("`{}` takes a {kind}", name.name),
                        format!("not a {kind}"),
                    ));
                    return Unit::Any;
                }
            }
            Unit::Count
        }
        other => {
            let help = suggest::did_you_mean(other, METRICS.iter().copied());
            unknown(
                ctx,
                mode.unknown_name(),
                file,
                name.span,
                format!("unknown metric `{other}`"),
                help,
            )
        }
    }
}

/// `nps(EVENT.FIELD)`: an `int` field.
fn nps_field(ctx: &mut Ctx<'_>, file: FileId, arg: &Expr, mode: MetricMode) {
    let ExprKind::Path(p) = &arg.kind else {
        ctx.report(Diagnostic::new(
            Code::E0201,
            Loc::new(file, arg.span),
            "`nps` takes an event field like `survey.score`",
            "not a field",
        ));
        return;
    };
    let [ev, field] = p.as_slice() else {
        ctx.report(Diagnostic::new(
            Code::E0201,
            Loc::new(file, arg.span),
            "`nps` takes an event field like `survey.score`",
            "not a field",
        ));
        return;
    };
    let ev_expr = Expr {
        kind: ExprKind::Path(vec![ev.clone()]),
        span: ev.span,
    };
    let Some(def) = event_arg(ctx, file, &ev_expr, mode) else {
        return;
    };
    match def.fields.iter().find(|f| f.name.name == field.name) {
        Some(f) if Ty::from_decl(&f.ty) == Some(Ty::Int) => {}
        Some(_) => ctx.report(
            Diagnostic::new(
                Code::E0201,
                Loc::new(file, arg.span),
                format!(
                    "`{}.{}` is not an `int`, so it cannot be a score from 0 to 10",
                    ev.name, field.name
                ),
                "not an int",
            )
            .with_help("declare the answer as `int`; scores outside 0–10 are not counted"),
        ),
        None => {
            let help =
                suggest::did_you_mean(&field.name, def.fields.iter().map(|f| f.name.name.as_str()))
                    .map(|h| h.replacen('`', &format!("`{}.", ev.name), 1));
            unknown(
                ctx,
                mode.unknown_field(),
                file,
                arg.span,
                format!("the event `{}` has no field `{}`", ev.name, field.name),
                help,
            );
        }
    }
}

/// `completions(TASK)` and `sent(MESSAGE)`: the name of a task or a message.
fn named_arg(ctx: &mut Ctx<'_>, file: FileId, arg: &Expr, mode: MetricMode, kind: &str) {
    let names: Vec<&str> = if kind == "task" {
        ctx.syms.tasks.names().collect()
    } else {
        ctx.syms.messages.names().collect()
    };
    match &arg.kind {
        ExprKind::Path(p) if matches!(p.as_slice(), [one] if names.contains(&one.name.as_str())) => {
        }
        ExprKind::Path(p) if p.len() == 1 => {
            let given = p.first().map_or("", |i| i.name.as_str());
            let help = suggest::did_you_mean(given, names.iter().copied());
            unknown(
                ctx,
                mode.unknown_name(),
                file,
                arg.span,
                format!("unknown {kind} `{given}`"),
                help,
            );
        }
        _ => ctx.report(Diagnostic::new(
            Code::E0201,
            Loc::new(file, arg.span),
            format!("expected the name of a {kind}"),
            format!("not a {kind}"),
        )),
    }
}

/// A metric's `where`: a condition over the event's fields and its sender's
/// attributes (no participant state: the event may come from a user who never
/// enrolls).
fn where_filter(ctx: &mut Ctx<'_>, file: FileId, subject: &Expr, filter: &Expr) {
    let event = match &subject.kind {
        ExprKind::Path(p) => p
            .first()
            .and_then(|ev| ctx.syms.events.get(&ev.name).copied()),
        _ => None,
    };
    let Some(event) = event else {
        // The event itself is reported as the metric's argument.
        return;
    };
    if let Some(span) = participant_path(filter) {
        ctx.report(
            Diagnostic::new(
                Code::E0202,
                Loc::new(file, span),
                "a metric's `where` sees the event's fields and its sender's attributes, not the participant",
                "not available here",
            )
            .with_help("filter on `event.FIELD` or `user.ATTR`"),
        );
        return;
    }
    let scope = super::exprs::Scope {
        event: Some(event.node),
        context: "a metric's `where`",
        counted: None,
    };
    super::exprs::check_condition(ctx, file, filter, &scope);
}

/// The first `participant.…` path in `e`.
fn participant_path(e: &Expr) -> Option<Span> {
    match &e.kind {
        ExprKind::Path(p) if p.first().is_some_and(|i| i.name == "participant") => Some(e.span),
        ExprKind::Binary(_, l, r) | ExprKind::Where(l, r) => {
            participant_path(l).or_else(|| participant_path(r))
        }
        ExprKind::Unary(_, x) | ExprKind::Paren(x) => participant_path(x),
        ExprKind::Call(_, items) | ExprKind::List(items) => items.iter().find_map(participant_path),
        _ => None,
    }
}

fn binary(
    ctx: &mut Ctx<'_>,
    file: FileId,
    op: BinOp,
    (l, lu): (&Expr, Unit),
    (r, ru): (&Expr, Unit),
) -> Unit {
    use Unit::*;
    let mismatch = |ctx: &mut Ctx<'_>, msg: String| {
        ctx.report(Diagnostic::new(
            Code::E0201,
            Loc::new(file, r.span),
            msg,
            format!("this is {ru}"),
        ));
        Any
    };
    match op {
        BinOp::And | BinOp::Or => {
            for (e, u) in [(l, lu), (r, ru)] {
                if u != Bool && u != Any {
                    ctx.report(Diagnostic::new(
                        Code::E0201,
                        Loc::new(file, e.span),
                        format!("`{}` joins conditions, but this is {u}", op.as_str()),
                        "not a condition",
                    ));
                }
            }
            Bool
        }
        BinOp::Compare(_) => {
            let ok = match (lu, ru) {
                (Any, _) | (_, Any) => true,
                (Money(a), Money(b)) => {
                    if let (Some(a), Some(b)) = (a, b) {
                        if a != b {
                            report_currency_at(ctx, Loc::new(file, r.span), b, a, "the other side");
                        }
                    }
                    true
                }
                (Money(_), _) | (_, Money(_)) | (Bool, _) | (_, Bool) => false,
                _ => true,
            };
            if ok {
                Bool
            } else {
                mismatch(ctx, format!("cannot compare {lu} with {ru}"))
            }
        }
        BinOp::In => mismatch(ctx, "`in` cannot be used with metrics".into()),
        BinOp::Div => match (lu, ru) {
            (Any, _) | (_, Any) => Any,
            (Users(a), Users(b)) => Ratio { share: a.within(b) },
            (Money(_), Money(_)) => Ratio { share: false },
            (Money(c), Count | Users(_) | Number) => Money(c),
            (
                Count | Users(_) | Number | Ratio { .. },
                Count | Users(_) | Number | Ratio { .. },
            ) => Ratio { share: false },
            _ => mismatch(ctx, format!("cannot divide {lu} by {ru}")),
        },
        BinOp::Mul => match (lu, ru) {
            (Any, _) | (_, Any) => Any,
            (Money(c), Number | Ratio { .. }) | (Number | Ratio { .. }, Money(c)) => Money(c),
            (Bool, _) | (_, Bool) | (Money(_), _) | (_, Money(_)) => {
                mismatch(ctx, format!("cannot multiply {lu} by {ru}"))
            }
            (Users(_), Number) | (Number, Users(_)) => Users(UserSet::Mixed),
            (Ratio { .. }, Number) | (Number, Ratio { .. }) => Ratio { share: false },
            (a, Number) => a,
            (Number, b) => b,
            _ => Number,
        },
        BinOp::Add | BinOp::Sub => match (lu, ru) {
            (Any, _) | (_, Any) => Any,
            (Money(a), Money(_)) => Money(a),
            (Bool, _) | (_, Bool) | (Money(_), _) | (_, Money(_)) => {
                mismatch(ctx, format!("cannot add or subtract {lu} and {ru}"))
            }
            (Users(_), Users(_)) => Users(UserSet::Mixed),
            (Ratio { .. }, Ratio { .. }) => Ratio { share: false },
            (a, b) if a == b => a,
            _ => Number,
        },
    }
}

fn target(ctx: &mut Ctx<'_>, file: FileId, unit: Unit, op: CompareOp, lit: &camp_dsl::ast::Lit) {
    let loc = Loc::new(file, lit.span);
    let fits = match (&unit, &lit.kind) {
        (Unit::Any, _) | (_, LitKind::Invalid) => true,
        (Unit::Ratio { .. }, LitKind::Percent(_) | LitKind::Int(_) | LitKind::Decimal(_)) => true,
        (Unit::Money(c), LitKind::Money(m)) => {
            let expected = c.or(ctx.settings.currency());
            if let Some(expected) = expected {
                if m.currency != expected {
                    report_currency_at(ctx, loc, m.currency, expected, "the campaign budget");
                }
            }
            true
        }
        (Unit::Count | Unit::Users(_) | Unit::Number, LitKind::Int(_) | LitKind::Decimal(_)) => {
            true
        }
        _ => false,
    };
    if !fits {
        let want = match unit {
            Unit::Ratio { .. } => "a percent like `20%` or a plain number like `0.5`",
            Unit::Money(_) => "an amount of money like `5 CNY`",
            _ => "a plain number like `1_000`",
        };
        ctx.report(
            Diagnostic::new(
                Code::E0601,
                loc,
                format!(
                    "the formula is {unit}, but the target is {}",
                    super::settings::lit_kind_name(&lit.kind)
                ),
                "unit does not match",
            )
            .with_help(format!("write the target as {want}")),
        );
        return;
    }
    if let Unit::Ratio { share: true } = unit {
        let ratio = match &lit.kind {
            LitKind::Percent(p) => Some(*p / Decimal::ONE_HUNDRED),
            LitKind::Int(n) => Some(Decimal::from(*n)),
            LitKind::Decimal(d) => Some(*d),
            _ => None,
        };
        let impossible = ratio.is_some_and(|r| match op {
            CompareOp::Ge | CompareOp::Eq => r > Decimal::ONE,
            CompareOp::Gt => r >= Decimal::ONE,
            CompareOp::Lt => r <= Decimal::ZERO,
            CompareOp::Le | CompareOp::Ne => false,
        });
        if impossible {
            ctx.report(
                Diagnostic::new(
                    Code::W0603,
                    loc,
                    "this target can never be met: a share of users is between 0% and 100%",
                    "out of reach",
                )
                .with_help("every user counted above the line is also counted below it (participants and senders of an event are among the audience; senders among participants; repeat senders of an event among all its senders), so the share is at most 100%"),
            );
        }
    }
}
