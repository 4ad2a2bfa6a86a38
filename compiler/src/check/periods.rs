//! Periodic leaderboards (`every DURATION`, §9): the period is a duration over zero
//! whose end can be computed (E0201, E0002), a periodic board does not score `holds()`
//! (E0306), and its awards stand in its own phase (E0306).

use super::phases::PhaseWindow;
use super::settings::type_error;
use super::Ctx;
use crate::symbols::Def;
use camp_dsl::ast::{AwardStmt, ExprKind, LeaderboardDef, LitKind};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc};
use camp_plan::calendar::checked_add_duration;

/// Checks a leaderboard's `every` line, if it has one.
pub(super) fn every(
    ctx: &mut Ctx<'_>,
    file: FileId,
    l: &LeaderboardDef,
    window: Option<PhaseWindow>,
) {
    let Some(lit) = &l.every else {
        return;
    };
    match &lit.kind {
        LitKind::Duration(d) if d.is_zero() => ctx.error(
            Code::E0201,
            file,
            lit.span,
            "a leaderboard's period must be a duration over zero",
            "zero",
        ),
        LitKind::Duration(d) => {
            // The first period's end must be computable; later ones end no later than
            // the phase, which is.
            if let (Some(w), Some(tz)) = (window, ctx.settings.tz) {
                if checked_add_duration(tz, w.start, *d).is_none() {
                    let diag = ctx.too_large(
                        file,
                        lit.span,
                        format!(
                            "the first period of `{}` would end after the last date camp can compute with: shorten it",
                            l.name.name
                        ),
                    );
                    ctx.report(diag);
                }
            }
        }
        LitKind::Invalid => {}
        other => type_error(
            ctx,
            file,
            lit.span,
            "`every`",
            "a duration like `7d`",
            other,
        ),
    }
    if let Some(score) = &l.score {
        if matches!(&score.kind, ExprKind::Call(name, _) if name.name == "holds") {
            ctx.report(
                Diagnostic::new(
                    Code::E0306,
                    Loc::new(file, score.span),
                    format!(
                        "the periodic leaderboard `{}` cannot score `holds()`",
                        l.name.name
                    ),
                    "units held do not start from zero each period",
                )
                .with_label(Loc::new(file, lit.span), "periodic here")
                .with_help("score what happens in the period (`count(EVENT)`, `sum(EVENT.FIELD)`, `points`), or remove `every`"),
            );
        }
    }
}

/// Whether an award's board is periodic; if so, reports E0306 when the award stands
/// outside the board's phase (a periodic board's awards fire at the end of each of its
/// periods, so they belong to its phase).
pub(super) fn periodic_award(
    ctx: &mut Ctx<'_>,
    file: FileId,
    phase: usize,
    a: &AwardStmt,
    lb: &Def<'_, LeaderboardDef>,
) -> bool {
    let Some(every) = &lb.node.every else {
        return false;
    };
    if lb.phase != phase {
        ctx.report(
            Diagnostic::new(
                Code::E0306,
                Loc::new(file, a.leaderboard.span),
                format!(
                    "the leaderboard `{}` is periodic: its awards stand in its own phase",
                    a.leaderboard.name
                ),
                "outside the leaderboard's phase",
            )
            .with_label(Loc::new(lb.file, every.span), "periodic here")
            .with_label(lb.loc(), "the leaderboard is defined here")
            .with_help("move the award into the leaderboard's phase: it fires at the end of every period, for that period's ranks"),
        );
    }
    true
}
