//! Experiments (§11): each has variants named once, whose weights are percents
//! totalling exactly 100% (E0409).

use super::settings::type_error;
use super::Ctx;
use camp_dsl::ast::{ExperimentDef, LitKind};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use camp_plan::MAX_VARIANTS;
use rust_decimal::Decimal;
use std::collections::HashMap;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let experiments: Vec<_> = ctx.syms.experiments.iter().copied().collect();
    for x in experiments {
        experiment(ctx, x.file, x.node);
    }
}

fn experiment(ctx: &mut Ctx<'_>, file: FileId, x: &ExperimentDef) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for v in &x.variants {
        if let Some(first) = seen.insert(&v.name.name, v.name.span) {
            ctx.report(
                Diagnostic::new(
                    Code::E0409,
                    Loc::new(file, v.name.span),
                    format!(
                        "the experiment `{}` names the variant `{}` twice",
                        x.name.name, v.name.name
                    ),
                    "named again here",
                )
                .with_label(Loc::new(file, first), "first named here")
                .with_help("give each variant its own name, or remove the second one"),
            );
        }
    }
    if x.variants.len() > MAX_VARIANTS {
        ctx.report(
            Diagnostic::new(
                Code::E0409,
                Loc::new(file, x.name.span),
                format!(
                    "the experiment `{}` has {} variants",
                    x.name.name,
                    x.variants.len()
                ),
                "too many variants",
            )
            .with_help(format!("an experiment has at most {MAX_VARIANTS} variants")),
        );
    }
    // `None` once a weight is not a percent (reported) or the sum no longer fits.
    let mut total = Some(Decimal::ZERO);
    for v in &x.variants {
        match &v.weight.kind {
            LitKind::Percent(p) => {
                if let Some(sum) = total {
                    total = sum.checked_add(*p);
                    if total.is_none() {
                        let d = ctx.too_large(
                            file,
                            v.weight.span,
                            "variant weights add up to exactly 100%",
                        );
                        ctx.report(d);
                    }
                }
            }
            LitKind::Invalid => total = None,
            other => {
                type_error(
                    ctx,
                    file,
                    v.weight.span,
                    "a variant's weight",
                    "a percent like `50%`",
                    other,
                );
                total = None;
            }
        }
    }
    let Some(total) = total else { return };
    if total != Decimal::ONE_HUNDRED {
        let (label, help) = if total > Decimal::ONE_HUNDRED {
            (
                "over 100%",
                format!(
                    "lower them by {}% in all: every participant gets exactly one variant",
                    (total - Decimal::ONE_HUNDRED).normalize()
                ),
            )
        } else {
            (
                "under 100%",
                format!(
                    "raise them by {}% in all: every participant gets exactly one variant",
                    (Decimal::ONE_HUNDRED - total).normalize()
                ),
            )
        };
        ctx.report(
            Diagnostic::new(
                Code::E0409,
                Loc::new(file, x.name.span),
                format!(
                    "the variants of `{}` add up to {}%, not 100%",
                    x.name.name,
                    total.normalize()
                ),
                label,
            )
            .with_help(help),
        );
    }
}
