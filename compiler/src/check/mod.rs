//! Semantic checks over the collected definitions. Each submodule owns one area of
//! the language and its diagnostic codes; all of them report every problem they find.

mod actions;
mod cascade;
mod experiments;
mod exprs;
mod groups;
mod kpis;
mod periods;
pub mod phases;
mod rewards;
mod settings;
mod template_scope;
mod templates;
mod timers;
mod usage;

pub use exprs::Ty;
pub use phases::PhaseWindow;
pub use settings::Settings;

use crate::load::Program;
use crate::symbols::{self, Symbols};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use std::collections::HashSet;

/// Names referenced anywhere, for the "defined and never used" check.
#[derive(Debug, Default)]
pub struct Used {
    /// Rewards granted, drawn, held or counted.
    pub rewards: HashSet<String>,
    /// Messages sent.
    pub messages: HashSet<String>,
    /// Events counted, scored or measured.
    pub events: HashSet<String>,
    /// Segments referenced.
    pub segments: HashSet<String>,
    /// Messages sent somewhere `reward.*` has no value (not by a task that grants).
    pub messages_without_reward: HashSet<String>,
    /// Messages sent somewhere `group.*` has no value (not by a group's outcome).
    pub messages_without_group: HashSet<String>,
}

/// Everything the checks share.
pub struct Ctx<'a> {
    /// The loaded files.
    pub program: &'a Program,
    /// The definitions.
    pub syms: Symbols<'a>,
    /// Diagnostics so far.
    pub diags: Vec<Diagnostic>,
    /// The campaign settings, validated.
    pub settings: Settings,
    /// What is referenced.
    pub used: Used,
}

impl Ctx<'_> {
    /// Reports a diagnostic.
    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Reports a diagnostic with a primary label only.
    pub fn error(
        &mut self,
        code: Code,
        file: FileId,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, Loc::new(file, span), message, label));
    }

    /// Reports E0002 on a number too large to compute with: `why` says what it is used
    /// for and how large it may be.
    pub fn too_large(&mut self, file: FileId, span: Span, why: impl Into<String>) -> Diagnostic {
        let text = self
            .program
            .sources
            .get(file)
            .map_or("", |f| f.slice(span))
            .to_string();
        Diagnostic::new(
            Code::E0002,
            Loc::new(file, span),
            format!("`{text}` is too large to compute with"),
            "too large",
        )
        .with_help(why)
    }
}

/// The largest count the runtime keeps (limits, milestones, ranks, the message cap).
pub const MAX_COUNT: i64 = u32::MAX as i64;

/// [`MAX_COUNT`] as the language writes it.
const MAX_COUNT_TEXT: &str = "4_294_967_295";

/// What a check produced besides diagnostics: the validated settings and phase windows.
#[derive(Debug, Clone)]
pub struct CheckedCampaign {
    /// The campaign settings.
    pub settings: Settings,
    /// Each phase's computed window, in order (`None` where it could not be computed).
    pub windows: Vec<Option<PhaseWindow>>,
}

/// Runs every check on a loaded program.
pub fn run(program: &Program) -> (Vec<Diagnostic>, CheckedCampaign) {
    let (diags, checked, _) = run_with_symbols(program);
    (diags, checked)
}

/// Runs every check and also hands back the name tables, so lowering need not
/// collect them again.
pub fn run_with_symbols(program: &Program) -> (Vec<Diagnostic>, CheckedCampaign, Symbols<'_>) {
    let mut diags = program.diagnostics.clone();
    let syms = symbols::collect(program, &mut diags);
    let mut ctx = Ctx {
        program,
        syms,
        diags,
        settings: Settings::default(),
        used: Used::default(),
    };
    settings::check(&mut ctx);
    exprs::check_declarations(&mut ctx);
    exprs::check_segments(&mut ctx);
    let windows = phases::check(&mut ctx);
    // After the phases: a daily stock's worst case counts the days they run.
    rewards::check(&mut ctx, &windows);
    groups::check(&mut ctx);
    experiments::check(&mut ctx);
    templates::check(&mut ctx);
    kpis::check(&mut ctx);
    usage::check(&mut ctx);
    let mut diags = ctx.diags;
    cascade::drop_cascades(program, &mut diags);
    diags.sort_by_key(|d| (d.primary.loc.file, d.primary.loc.span.start, d.code));
    diags.dedup();
    (
        diags,
        CheckedCampaign {
            settings: ctx.settings,
            windows,
        },
        ctx.syms,
    )
}
