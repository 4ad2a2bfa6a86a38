//! Per-participant windows and timers — a task's `within D of enroll|TASK`, a send's
//! `D after enroll|TASK` — and the parts phase-level sends and grants share: their
//! recipients (E0102, E0804) and their `if`.

use super::exprs::{self, Scope};
use super::phases::{self, PhaseWindow};
use super::settings::type_error;
use super::Ctx;
use crate::suggest;
use camp_dsl::ast::{Expr, GrantOn, GrantStmt, Ident, Lit, LitKind};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc};

/// A window's or timer's duration: a duration over zero (E0201).
pub(super) fn duration(ctx: &mut Ctx<'_>, file: FileId, lit: &Lit, what: &str) {
    match &lit.kind {
        LitKind::Duration(d) if !d.is_zero() => {}
        LitKind::Duration(_) => ctx.error(
            Code::E0201,
            file,
            lit.span,
            format!("{what} needs a duration over zero"),
            "zero",
        ),
        LitKind::Invalid => {}
        other => type_error(ctx, file, lit.span, what, "a duration like `3d`", other),
    }
}

/// What a window or timer counts from: `enroll` (the built-in) or a task (E0102).
pub(super) fn anchor(ctx: &mut Ctx<'_>, file: FileId, id: &Ident) {
    if id.name == "enroll" || ctx.syms.tasks.get(&id.name).is_some() {
        return;
    }
    let names: Vec<&str> = std::iter::once("enroll")
        .chain(ctx.syms.tasks.names())
        .collect();
    let help = suggest::did_you_mean(&id.name, names);
    ctx.report(
        Diagnostic::new(
            Code::E0102,
            Loc::new(file, id.span),
            format!("unknown task `{}`", id.name),
            "not `enroll` or a task",
        )
        .with_help_opt(help),
    );
}

/// The `if` of a phase-level send or grant: a condition on each recipient.
pub(super) fn condition(ctx: &mut Ctx<'_>, file: FileId, c: Option<&Expr>, context: &'static str) {
    if let Some(c) = c {
        exprs::check_condition(ctx, file, c, &Scope::of(context));
    }
}

/// Who a phase-level send or grant reaches, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reaches {
    /// Participants (the default).
    Participants,
    /// The whole audience.
    Audience,
    /// A segment (or an unknown name, already reported).
    Segment,
}

/// Resolves `to audience|participants|SEGMENT` (E0102 for an unknown one); a
/// statement that reaches participants only (`only`: what it is) may not go `to
/// audience` (E0804).
pub(super) fn recipients(
    ctx: &mut Ctx<'_>,
    file: FileId,
    to: Option<&Ident>,
    only: Option<&str>,
    instead: &str,
) -> Reaches {
    let Some(r) = to else {
        return Reaches::Participants;
    };
    match r.name.as_str() {
        "participants" => Reaches::Participants,
        "audience" => {
            if let Some(what) = only {
                ctx.report(
                    Diagnostic::new(
                        Code::E0804,
                        Loc::new(file, r.span),
                        format!("{what} reaches participants only, never the whole audience"),
                        "no one outside the participants gets it",
                    )
                    .with_help(instead.to_string()),
                );
            }
            Reaches::Audience
        }
        _ => {
            phases::segment(ctx, file, r, "recipients");
            Reaches::Segment
        }
    }
}

/// `grant REWARD on enroll|on enter|at TIMES [to …] [if …]`: the reward, the times
/// (inside the phase: E0304), the recipients and the condition.
pub(super) fn grant(ctx: &mut Ctx<'_>, file: FileId, g: &GrantStmt, window: Option<PhaseWindow>) {
    if phases::reward_ref(ctx, file, &g.reward) && g.on == GrantOn::Enroll {
        // Each enrollment is its own firing of one: nothing to share.
        super::actions::pool_outside_mass_grant(ctx, file, &g.reward, "`grant … on enroll`");
    }
    if g.on == GrantOn::At {
        phases::at_times(ctx, file, &g.times, false, window, false);
    }
    recipients(ctx, file, g.to.as_ref(), None, "");
    condition(ctx, file, g.condition.as_ref(), "a grant's `if`");
}
