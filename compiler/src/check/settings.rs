//! The campaign block: required settings (E0104), their types (E0201), the time zone
//! (E0204), settings given twice (E0101) and `enroll audience` (E0201 for any other
//! value).

use super::exprs::{self, Scope};
use super::Ctx;
use camp_dsl::ast::{LitKind, PhaseTiming, SettingValue};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use camp_plan::literal::Money;
use camp_plan::QuietHours;
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The campaign settings after validation. Missing or invalid ones are `None`.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The campaign identifier.
    pub id: String,
    /// `name`.
    pub title: Option<String>,
    /// `timezone`.
    pub tz: Option<Tz>,
    /// `start`, in UTC.
    pub start: Option<DateTime<Utc>>,
    /// `locales`, first is default.
    pub locales: Vec<String>,
    /// `budget`, and where its amount is written.
    pub budget: Option<(Money, Loc)>,
    /// `holdout` as a percent (5 for 5%).
    pub holdout: Option<Decimal>,
    /// `cap N messages per day`.
    pub cap: Option<i64>,
    /// `quiet A .. B`.
    pub quiet: Option<QuietHours>,
    /// `enroll audience`.
    pub enroll_audience: bool,
    /// The campaign block's file and name span.
    pub loc: Option<Loc>,
}

impl Settings {
    /// The campaign currency: the budget's.
    pub fn currency(&self) -> Option<camp_plan::literal::Currency> {
        self.budget.as_ref().map(|(m, _)| m.currency)
    }

    /// Whether a local time of day falls in the quiet hours.
    pub fn is_quiet(&self, t: NaiveTime) -> bool {
        self.quiet.is_some_and(|q| q.contains(t))
    }
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let Some(campaign) = ctx.syms.campaign else {
        return;
    };
    let file = campaign.file;
    let c = campaign.node;
    let mut s = Settings {
        id: c.name.name.clone(),
        loc: Some(campaign.loc()),
        ..Settings::default()
    };
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut start_lit = None;
    let mut audience = None;
    for setting in &c.settings {
        if let Some(first) = seen.insert(setting.key.name.as_str(), setting.key.span) {
            ctx.report(
                Diagnostic::new(
                    Code::E0101,
                    Loc::new(file, setting.key.span),
                    format!("the setting `{}` is given twice", setting.key.name),
                    "given again here",
                )
                .with_label(Loc::new(file, first), "first given here")
                .with_help("keep one of them"),
            );
            continue;
        }
        match &setting.value {
            SettingValue::Name(t) => s.title = Some(t.value.clone()),
            SettingValue::Timezone(t) => match t.value.parse::<Tz>() {
                Ok(tz) => s.tz = Some(tz),
                Err(_) => {
                    let names = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                    let help = crate::suggest::did_you_mean(&t.value, names)
                        .unwrap_or_else(|| "use an IANA time zone name such as `Asia/Shanghai` or `America/New_York`".into());
                    ctx.report(
                        Diagnostic::new(
                            Code::E0204,
                            Loc::new(file, t.span),
                            format!("unknown time zone `{}`", t.value),
                            "not an IANA time zone",
                        )
                        .with_help(help),
                    );
                }
            },
            SettingValue::Start(lit) => start_lit = Some(lit),
            SettingValue::Locales(ls) => {
                let mut seen_locales: HashMap<&str, Span> = HashMap::new();
                for l in ls {
                    if let Some(first) = seen_locales.insert(l.name.as_str(), l.span) {
                        ctx.report(crate::symbols::duplicate(
                            "locale",
                            &l.name,
                            Loc::new(file, l.span),
                            Loc::new(file, first),
                        ));
                    } else {
                        s.locales.push(l.name.clone());
                    }
                }
            }
            SettingValue::Budget(lit) => match &lit.kind {
                LitKind::Money(m) if m.amount > Decimal::ZERO => {
                    s.budget = Some((*m, Loc::new(file, lit.span)))
                }
                LitKind::Money(_) => ctx.error(
                    Code::E0402,
                    file,
                    lit.span,
                    "the budget must be more than zero",
                    "not a usable budget",
                ),
                LitKind::Invalid => {}
                other => type_error(
                    ctx,
                    file,
                    lit.span,
                    "the budget",
                    "an amount of money like `200_000 CNY`",
                    other,
                ),
            },
            // Checked once the budget, and so the campaign currency, is known.
            SettingValue::Audience(e) => audience = Some(e),
            SettingValue::Holdout(lit) => match &lit.kind {
                LitKind::Percent(p) if *p >= Decimal::ZERO && *p < Decimal::ONE_HUNDRED => {
                    s.holdout = Some(*p)
                }
                LitKind::Percent(_) => ctx.error(
                    Code::E0201,
                    file,
                    lit.span,
                    "the holdout must be at least 0% and below 100%",
                    "out of range",
                ),
                LitKind::Invalid => {}
                other => type_error(
                    ctx,
                    file,
                    lit.span,
                    "the holdout",
                    "a percent like `5%`",
                    other,
                ),
            },
            SettingValue::Cap(lit) => match &lit.kind {
                LitKind::Int(n) if *n > super::MAX_COUNT => {
                    let d = ctx.too_large(
                        file,
                        lit.span,
                        format!("the message cap goes up to {}", super::MAX_COUNT_TEXT),
                    );
                    ctx.report(d);
                }
                LitKind::Int(n) if *n >= 1 => s.cap = Some(*n),
                LitKind::Invalid => {}
                other => type_error(
                    ctx,
                    file,
                    lit.span,
                    "the message cap",
                    "a whole number of at least 1",
                    other,
                ),
            },
            SettingValue::Enroll(who) if who.name == "audience" => s.enroll_audience = true,
            SettingValue::Enroll(who) => ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, who.span),
                    format!("`enroll` takes `audience`, not `{}`", who.name),
                    "not `audience`",
                )
                .with_help("write `enroll audience` to make every eligible user a participant from the start, or remove the setting: users then enroll on their first counted event"),
            ),
            SettingValue::Quiet(a, b) => match (&a.kind, &b.kind) {
                (LitKind::Time(x), LitKind::Time(y)) if x != y => {
                    s.quiet = Some(QuietHours { start: *x, end: *y })
                }
                (LitKind::Time(_), LitKind::Time(_)) => ctx.error(
                    Code::E0201,
                    file,
                    a.span.to(b.span),
                    "quiet hours must start and end at different times",
                    "empty window",
                ),
                (LitKind::Invalid, _) | (_, LitKind::Invalid) => {}
                (LitKind::Time(_), other) => type_error(
                    ctx,
                    file,
                    b.span,
                    "quiet hours",
                    "a time like `08:00`",
                    other,
                ),
                (other, _) => type_error(
                    ctx,
                    file,
                    a.span,
                    "quiet hours",
                    "a time like `22:00`",
                    other,
                ),
            },
        }
    }
    if !seen.contains_key("timezone") {
        ctx.report(
            Diagnostic::new(Code::E0104, campaign.loc(), format!("the campaign `{}` has no `timezone`", c.name.name), "timezone missing")
                .with_help("add `timezone \"Asia/Shanghai\"` (an IANA name): phases, daily limits and sends use it"),
        );
    }
    if let Some(lit) = start_lit {
        s.start = super::phases::datetime(ctx, file, lit, s.tz, "the start");
    }
    let needs_start = ctx
        .syms
        .phases
        .iter()
        .any(|p| matches!(p.node.timing, PhaseTiming::For(_)));
    if needs_start && !seen.contains_key("start") {
        let first_for = ctx
            .syms
            .phases
            .iter()
            .find(|p| matches!(p.node.timing, PhaseTiming::For(_)))
            .map(|p| p.name.name.clone());
        ctx.report(
            Diagnostic::new(Code::E0104, campaign.loc(), format!("the campaign `{}` has no `start`", c.name.name), "start missing")
                .with_help(format!(
                    "phase `{}` is given by duration, so the campaign needs `start 2027-01-20T00:00` to place it",
                    first_for.unwrap_or_default()
                )),
        );
    }
    if !ctx.syms.messages.is_empty() && !seen.contains_key("locales") {
        ctx.report(
            Diagnostic::new(Code::E0104, campaign.loc(), format!("the campaign `{}` has messages but no `locales`", c.name.name), "locales missing")
                .with_help("add `locales en` (or several, like `locales zh-CN, en`); every message needs a body for each"),
        );
    }
    ctx.settings = s;
    if let Some(e) = audience {
        exprs::check_condition(ctx, file, e, &Scope::audience());
    }
}

/// "`what` must be `expected`, but this is a ...".
pub(super) fn type_error(
    ctx: &mut Ctx<'_>,
    file: FileId,
    span: Span,
    what: &str,
    expected: &str,
    found: &LitKind,
) {
    ctx.report(
        Diagnostic::new(
            Code::E0201,
            Loc::new(file, span),
            format!("{what} must be {expected}"),
            format!("this is {}", lit_kind_name(found)),
        )
        .with_help(format!("write {expected}")),
    );
}

/// How a literal kind is named in messages.
pub(super) fn lit_kind_name(k: &LitKind) -> &'static str {
    match k {
        LitKind::Int(_) => "a whole number",
        LitKind::Decimal(_) => "a decimal number",
        LitKind::Percent(_) => "a percent",
        LitKind::Money(_) => "an amount of money",
        LitKind::Duration(_) => "a duration",
        LitKind::Date(_) => "a date",
        LitKind::DateTime(_) => "a date and time",
        LitKind::Time(_) => "a time of day",
        LitKind::Invalid => "an invalid value",
    }
}
