//! Rewards: properties and their types, stock and `per_user` (E0402), draw weights
//! (E0401), unbounded liability (E0403) and the worst-case spend against the budget
//! (W0404). A daily stock (`stock N per day`) bounds the worst case by N for every local
//! day a phase runs, capped by the total stock.
//!
//! A pool counts its amount once per possible firing ([`super::pools`]), capped by its
//! stock (each share is at most the amount, so N shares cost at most N amounts). A pool
//! a group's outcome grants can fire without bound: without a stock it is E0403 when
//! the campaign has no budget, and, like any unlimited reward under a budget, it is left
//! out of the worst case (the budget caps it).

use super::exprs::report_currency_at;
use super::phases::PhaseWindow;
use super::pools::{self, Firings};
use super::settings::type_error;
use super::Ctx;
use crate::suggest;
use camp_dsl::ast::{LitKind, PropValue, RewardDef, RewardKind};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use camp_plan::literal::Money;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A reward's properties, validated.
#[derive(Debug, Default, Clone)]
pub(super) struct Props {
    pub stock: Option<i64>,
    /// `stock N per day`.
    pub stock_per_day: Option<i64>,
    pub per_user: Option<i64>,
    pub value: Option<Money>,
    pub cost: Option<Money>,
    /// Where the stock is written.
    pub stock_span: Option<Span>,
    /// Where the value (coupon) or cost (item) is written.
    pub money_span: Option<Span>,
}

/// Checks every reward; `windows` (the phases' windows) bound what a daily stock can
/// grant.
pub(super) fn check(ctx: &mut Ctx<'_>, windows: &[Option<PhaseWindow>]) {
    let days = campaign_days(ctx, windows);
    let firings = pools::firings(ctx, windows);
    let rewards: Vec<_> = ctx.syms.rewards.iter().copied().collect();
    // `None` once the sum no longer fits (reported as E0002): no W0404 then.
    let mut worst = Some(Decimal::ZERO);
    let mut worst_parts: Vec<Part> = Vec::new();
    for def in &rewards {
        let r = def.node;
        let props = props(ctx, def.file, r);
        let mut monetary = props.value.or(props.cost).map(|m| (m, units(&props, days)));
        match &r.kind {
            RewardKind::Points(lit) => match &lit.kind {
                LitKind::Int(n) if *n > 0 => {}
                LitKind::Int(_) => ctx.error(
                    Code::E0402,
                    def.file,
                    lit.span,
                    "a points reward must give more than zero points",
                    "zero or negative",
                ),
                LitKind::Invalid => {}
                other => type_error(
                    ctx,
                    def.file,
                    lit.span,
                    "points",
                    "a whole number like `10`",
                    other,
                ),
            },
            RewardKind::Coupon if props.value.is_none() && !has_prop(r, "value") => ctx.report(
                Diagnostic::new(
                    Code::E0104,
                    def.loc(),
                    format!("the coupon `{}` has no `value`", r.name.name),
                    "value missing",
                )
                .with_help(format!(
                    "give its face value: `reward {} = coupon {{ value 20 CNY }}`",
                    r.name.name
                )),
            ),
            RewardKind::Draw(entries) => draw(ctx, def.file, r, entries),
            RewardKind::Pool(lit) => {
                let fires = firings
                    .get(&r.name.name)
                    .copied()
                    .unwrap_or(Firings::AtMost(0));
                monetary = money(ctx, def.file, lit, "a pool's amount")
                    .map(|m| (m, pool_units(&props, days, fires)));
            }
            _ => {}
        }
        if let Some((m, liability)) = monetary {
            let money_span = props.money_span.or(match &r.kind {
                RewardKind::Pool(lit) => Some(lit.span),
                _ => None,
            });
            match liability {
                Liability::Units(stock) => {
                    let total = m.amount.checked_mul(Decimal::from(stock));
                    match (total, money_span, props.stock_span) {
                        (Some(total), _, _) => {
                            if let Some(sum) = worst {
                                worst = sum.checked_add(total);
                                if worst.is_none() {
                                    if let Some(span) = money_span {
                                        let d = ctx.too_large(def.file, span, format!("with `{}`, the worst case of all rewards (every stock granted) is more than camp can compute with: lower stocks or values", r.name.name));
                                        ctx.report(d);
                                    }
                                }
                            }
                            worst_parts.push(Part {
                                name: r.name.name.clone(),
                                total,
                                payouts: matches!(r.kind, RewardKind::Pool(_))
                                    .then_some((stock, m)),
                            });
                        }
                        (None, Some(money), Some(stock_span)) => {
                            let d = ctx
                                .too_large(def.file, money, format!("{m} times the stock of `{}` is more than camp can compute with: lower the stock or the amount", r.name.name))
                                .with_label(Loc::new(def.file, stock_span), "times this stock");
                            ctx.report(d);
                            worst = None;
                        }
                        (None, _, _) => worst = None,
                    }
                }
                // A daily stock whose days (or a pool whose firings) are unknown: the
                // missing time zone or window is already reported, and the worst case
                // cannot be counted.
                Liability::Unknown => worst = None,
                Liability::Unbounded if ctx.settings.budget.is_none() => {
                    let name = &r.name.name;
                    let (message, help) = if matches!(r.kind, RewardKind::Pool(_)) {
                        (
                            format!("`{name}` shares {m} at every group outcome, which can fire without limit, and the campaign has no budget"),
                            "give it a `stock` (the shares ever paid), or give the campaign a `budget` that caps all spend",
                        )
                    } else {
                        (
                            format!("`{name}` is worth {m} with no stock limit, and the campaign has no budget"),
                            "give it a `stock`, or give the campaign a `budget` that caps all spend",
                        )
                    };
                    ctx.report(
                        Diagnostic::new(Code::E0403, def.loc(), message, "unbounded liability")
                            .with_help(help),
                    );
                }
                Liability::Unbounded => {}
            }
        }
    }
    tiers(ctx);
    if let (Some((budget, loc)), Some(worst)) = (ctx.settings.budget, worst) {
        if worst > budget.amount {
            worst_parts.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.name.cmp(&b.name)));
            let biggest: Vec<String> = worst_parts
                .iter()
                .take(3)
                .map(
                    |Part {
                         name: n,
                         total,
                         payouts,
                     }| {
                        let total = Money {
                            amount: *total,
                            currency: budget.currency,
                        };
                        match payouts {
                            Some((1, _)) => format!("`{n}` {total} (one payout)"),
                            Some((firings, amount)) => {
                                format!("`{n}` {total} ({firings} payouts of {amount})")
                            }
                            None => format!("`{n}` {total}"),
                        }
                    },
                )
                .collect();
            let pools = worst_parts.iter().any(|p| p.payouts.is_some());
            let (every, lower) = if pools {
                (
                    "if every stock is granted and every pool paid out at each firing",
                    "lower stocks, values or pool amounts",
                )
            } else {
                ("if every stock is granted", "lower stocks or values")
            };
            let over = Money {
                amount: worst - budget.amount,
                currency: budget.currency,
            };
            let total = Money {
                amount: worst,
                currency: budget.currency,
            };
            ctx.report(
                Diagnostic::new(
                    Code::W0404,
                    loc,
                    format!("{every}, rewards cost {total}: {over} over the budget of {budget}"),
                    format!("{over} short in the worst case"),
                )
                .with_help(format!(
                    "largest: {}; {lower}, or raise the budget (grants beyond it will be denied)",
                    biggest.join(", ")
                )),
            );
        }
    }
}

/// One reward's share of the worst case (W0404).
struct Part {
    name: String,
    total: Decimal,
    /// For a pool: how many times it can pay out, and its amount.
    payouts: Option<(i64, Money)>,
}

/// How many local calendar days (the campaign time zone) any phase runs on, counted once
/// each; `None` without a time zone or when a window could not be computed (both already
/// reported).
///
/// The spec counts only the days of phases that can grant the reward; every phase's day
/// is a safe superset (a reward granted by a group outcome or a draw can be granted in
/// any phase), so the worst case is never under-counted.
fn campaign_days(ctx: &Ctx<'_>, windows: &[Option<PhaseWindow>]) -> Option<i64> {
    let tz = ctx.settings.tz?;
    let mut days = std::collections::BTreeSet::new();
    for w in windows {
        let w = (*w)?;
        let first = w.start.with_timezone(&tz).date_naive();
        let last = (w.end - chrono::TimeDelta::seconds(1))
            .with_timezone(&tz)
            .date_naive();
        let mut day = first;
        while day <= last {
            days.insert(day);
            day = day.succ_opt()?;
        }
    }
    i64::try_from(days.len()).ok()
}

/// What a monetary reward can cost at most, in units of its amount.
#[derive(Debug, Clone, Copy)]
enum Liability {
    /// At most this many times its amount.
    Units(i64),
    /// Without bound.
    Unbounded,
    /// Not computable (a window or the time zone is unknown, already reported).
    Unknown,
}

/// A coupon's or item's liability: its stock, else unbounded.
fn units(props: &Props, days: Option<i64>) -> Liability {
    match worst_units(props, days) {
        Some(n) => Liability::Units(n),
        None if props.stock_per_day.is_some() => Liability::Unknown,
        None => Liability::Unbounded,
    }
}

/// A pool's liability: its amount once per possible firing, and never more than its
/// stock (each share is at most the amount).
fn pool_units(props: &Props, days: Option<i64>, fires: Firings) -> Liability {
    let stock = units(props, days);
    match (fires, stock) {
        (Firings::Unknown, _) => Liability::Unknown,
        (Firings::AtMost(n), Liability::Units(s)) => {
            Liability::Units(i64::try_from(n).unwrap_or(i64::MAX).min(s))
        }
        (Firings::AtMost(n), _) => Liability::Units(i64::try_from(n).unwrap_or(i64::MAX)),
        (Firings::Unbounded, stock) => stock,
    }
}

/// The most units of a reward that can ever be granted: the total stock, or the daily
/// stock on every day of the campaign, whichever is less; `None` when unlimited (or the
/// days are unknown, already reported).
fn worst_units(props: &Props, days: Option<i64>) -> Option<i64> {
    let daily = props
        .stock_per_day
        .and_then(|n| days.map(|d| n.saturating_mul(d)));
    match (props.stock, daily) {
        (Some(total), Some(daily)) => Some(total.min(daily)),
        (total, daily) => total.or(daily),
    }
}

fn has_prop(r: &RewardDef, key: &str) -> bool {
    r.props.iter().any(|p| p.key.name == key)
}

fn kind_name(k: &RewardKind) -> &'static str {
    match k {
        RewardKind::Points(_) => "points",
        RewardKind::Coupon => "coupon",
        RewardKind::Item(_) => "item",
        RewardKind::Badge(_) => "badge",
        RewardKind::Draw(_) => "draw",
        RewardKind::Pool(_) => "pool",
    }
}

/// Validates the properties of one reward.
pub(super) fn props(ctx: &mut Ctx<'_>, file: FileId, r: &RewardDef) -> Props {
    let mut out = Props::default();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut per_user_span = None;
    let kind = kind_name(&r.kind);
    for p in &r.props {
        // `stock 50_000  stock 1_000 per day` are two properties.
        let key = match &p.value {
            PropValue::StockPerDay(_) => "stock per day",
            _ => p.key.name.as_str(),
        };
        if let Some(first) = seen.insert(key, p.key.span) {
            ctx.report(crate::symbols::duplicate(
                "property",
                key,
                Loc::new(file, p.key.span),
                Loc::new(file, first),
            ));
            continue;
        }
        let allowed = match &p.value {
            PropValue::Value(_) | PropValue::Expires(_) => matches!(r.kind, RewardKind::Coupon),
            PropValue::Cost(_) => matches!(r.kind, RewardKind::Item(_)),
            _ => true,
        };
        if !allowed {
            let valid: &[&str] = match r.kind {
                RewardKind::Coupon => &["stock", "per_user", "label", "value", "expires"],
                RewardKind::Item(_) => &["stock", "per_user", "label", "cost"],
                _ => &["stock", "per_user", "label"],
            };
            ctx.report(
                Diagnostic::new(
                    Code::E0001,
                    Loc::new(file, p.key.span),
                    format!("a {kind} has no `{}` property", p.key.name),
                    "not allowed here",
                )
                .with_help(format!("a {kind} takes: {}", valid.join(", "))),
            );
            continue;
        }
        match &p.value {
            PropValue::Stock(lit) => {
                out.stock = positive_int(ctx, file, lit, "the stock");
                out.stock_span = Some(lit.span);
            }
            PropValue::StockPerDay(lit) => {
                out.stock_per_day = positive_int(ctx, file, lit, "the daily stock");
                if out.stock_span.is_none() {
                    out.stock_span = Some(lit.span);
                }
            }
            PropValue::PerUser(lit) => {
                out.per_user = positive_int(ctx, file, lit, "`per_user`");
                per_user_span = Some(lit.span);
            }
            PropValue::Label(_) => {}
            PropValue::Value(lit) => {
                out.value = money(ctx, file, lit, "a coupon's value");
                out.money_span = Some(lit.span);
            }
            PropValue::Cost(lit) => {
                out.cost = money(ctx, file, lit, "an item's cost");
                out.money_span = Some(lit.span);
            }
            PropValue::Expires(lit) => match &lit.kind {
                LitKind::Duration(d) if !d.is_zero() => {}
                LitKind::Duration(_) => ctx.error(
                    Code::E0402,
                    file,
                    lit.span,
                    "a coupon cannot expire immediately",
                    "zero duration",
                ),
                LitKind::Invalid => {}
                other => type_error(
                    ctx,
                    file,
                    lit.span,
                    "`expires`",
                    "a duration like `14d`",
                    other,
                ),
            },
        }
    }
    if let (Some(per_user), Some(stock), Some(span)) = (out.per_user, out.stock, per_user_span) {
        if per_user > stock {
            ctx.report(
                Diagnostic::new(
                    Code::E0402,
                    Loc::new(file, span),
                    format!("`per_user {per_user}` is more than the whole stock of {stock}"),
                    "over the stock",
                )
                .with_help(format!(
                    "lower `per_user` to at most {stock}, or raise the stock"
                )),
            );
        }
    }
    if matches!(r.kind, RewardKind::Badge(_)) && out.per_user.is_some_and(|n| n > 1) {
        if let Some(span) = per_user_span {
            ctx.report(
                Diagnostic::new(
                    Code::E0402,
                    Loc::new(file, span),
                    "a badge is held at most once per participant",
                    "more than one",
                )
                .with_help("remove `per_user`, or use `per_user 1`"),
            );
        }
    }
    out
}

fn positive_int(
    ctx: &mut Ctx<'_>,
    file: FileId,
    lit: &camp_dsl::ast::Lit,
    what: &str,
) -> Option<i64> {
    match &lit.kind {
        LitKind::Int(n) if *n > 0 => Some(*n),
        LitKind::Int(n) => {
            ctx.report(
                Diagnostic::new(
                    Code::E0402,
                    Loc::new(file, lit.span),
                    format!("{what} must be more than zero, not {n}"),
                    "zero or negative",
                )
                .with_help("remove the reward if none should be granted"),
            );
            None
        }
        LitKind::Invalid => None,
        other => {
            type_error(
                ctx,
                file,
                lit.span,
                what,
                "a whole number like `1_000`",
                other,
            );
            None
        }
    }
}

fn money(ctx: &mut Ctx<'_>, file: FileId, lit: &camp_dsl::ast::Lit, what: &str) -> Option<Money> {
    match &lit.kind {
        LitKind::Money(m) if m.amount > Decimal::ZERO => {
            if let Some(c) = ctx.settings.currency() {
                if m.currency != c {
                    report_currency_at(
                        ctx,
                        Loc::new(file, lit.span),
                        m.currency,
                        c,
                        "the campaign budget",
                    );
                    return None;
                }
            }
            Some(*m)
        }
        LitKind::Money(m) => {
            ctx.report(Diagnostic::new(
                Code::E0402,
                Loc::new(file, lit.span),
                format!("{what} must be more than zero, not {m}"),
                "zero or negative",
            ));
            None
        }
        LitKind::Invalid => None,
        other => {
            type_error(
                ctx,
                file,
                lit.span,
                what,
                "an amount of money like `20 CNY`",
                other,
            );
            None
        }
    }
}

fn draw(ctx: &mut Ctx<'_>, file: FileId, r: &RewardDef, entries: &[camp_dsl::ast::DrawEntry]) {
    // `None` once the sum no longer fits (reported as E0002).
    let mut total = Some(Decimal::ZERO);
    for e in entries {
        match &e.weight.kind {
            LitKind::Percent(p) if *p > Decimal::ZERO => {
                if let Some(sum) = total {
                    total = sum.checked_add(*p);
                    if total.is_none() {
                        let d = ctx.too_large(
                            file,
                            e.weight.span,
                            "draw weights add up to at most 100%",
                        );
                        ctx.report(d);
                    }
                }
            }
            LitKind::Percent(_) => ctx.error(
                Code::E0402,
                file,
                e.weight.span,
                "a draw weight must be more than 0%",
                "zero or negative",
            ),
            LitKind::Invalid => {}
            other => type_error(
                ctx,
                file,
                e.weight.span,
                "a draw weight",
                "a percent like `30%`",
                other,
            ),
        }
        match ctx.syms.rewards.get(&e.reward.name) {
            Some(won) => {
                let (pool, draw) = (
                    matches!(won.node.kind, RewardKind::Pool(_)),
                    matches!(won.node.kind, RewardKind::Draw(_)),
                );
                ctx.used.rewards.insert(e.reward.name.clone());
                if pool {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0406,
                            Loc::new(file, e.reward.span),
                            format!("`{}` is a pool, which a draw cannot win", e.reward.name),
                            "not a mass grant",
                        )
                        .with_help("a pool is shared among everyone one firing of a mass grant reaches: grant it from a raffle, an award, a group's outcome, or `grant … on enter` / `grant … at`"),
                    );
                }
                if draw {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0201,
                            Loc::new(file, e.reward.span),
                            format!("`{}` is itself a draw", e.reward.name),
                            "a draw inside a draw",
                        )
                        .with_help("a draw is over points, coupons, items or badges"),
                    );
                }
            }
            None => {
                let help = suggest::did_you_mean(&e.reward.name, ctx.syms.rewards.names());
                ctx.report(
                    Diagnostic::new(
                        Code::E0102,
                        Loc::new(file, e.reward.span),
                        format!("unknown reward `{}`", e.reward.name),
                        "not defined",
                    )
                    .with_help_opt(help),
                );
            }
        }
    }
    let Some(total) = total else { return };
    if total > Decimal::ONE_HUNDRED {
        ctx.report(
            Diagnostic::new(
                Code::E0401,
                Loc::new(file, r.name.span),
                format!(
                    "the weights of `{}` add up to {}%",
                    r.name.name,
                    total.normalize()
                ),
                "over 100%",
            )
            .with_help(format!(
                "lower them by {}% in all; below 100% the rest wins nothing",
                (total - Decimal::ONE_HUNDRED).normalize()
            )),
        );
    }
}

/// Tiers: thresholds are whole numbers of points, rising; tier rewards exist.
fn tiers(ctx: &mut Ctx<'_>) {
    let tiers: Vec<_> = ctx.syms.tiers.iter().copied().collect();
    let mut last: Option<(i64, Loc)> = None;
    for t in tiers {
        if let Some(a) = &t.node.actions {
            super::actions::check(
                ctx,
                t.file,
                &a.list,
                super::actions::Site {
                    event: None,
                    group: false,
                    mass: false,
                    context: "a tier",
                },
            );
        }
        let lit = &t.node.threshold;
        match &lit.kind {
            LitKind::Int(n) if *n >= 0 => {
                if let Some((prev, prev_loc)) = last {
                    if *n <= prev {
                        ctx.report(
                            Diagnostic::new(
                                Code::E0201,
                                Loc::new(t.file, lit.span),
                                format!(
                                    "tier `{}` needs more points than the tier before it ({prev})",
                                    t.name.name
                                ),
                                "not above the previous tier",
                            )
                            .with_label(prev_loc, "the previous tier")
                            .with_help("list tiers from the lowest threshold to the highest"),
                        );
                    }
                }
                last = Some((*n, Loc::new(t.file, lit.span)));
            }
            LitKind::Int(_) => ctx.error(
                Code::E0201,
                t.file,
                lit.span,
                "a tier threshold cannot be negative",
                "negative",
            ),
            LitKind::Invalid => {}
            other => type_error(
                ctx,
                t.file,
                lit.span,
                "a tier threshold",
                "a whole number of points",
                other,
            ),
        }
    }
}
