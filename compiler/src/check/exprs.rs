//! Type checking of conditions: `audience`, segments, a task's `where`, goals.
//! Reports type mismatches (E0201), unknown attributes, fields and tier names (E0202), money in
//! another currency (E0203), unknown segments, rewards or functions (E0102) and segments
//! that refer to themselves (E0106).

use super::Ctx;
use crate::suggest;
use camp_dsl::ast::{BinOp, EventDef, Expr, ExprKind, Ident, LitKind, TypeRef, UnOp};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc};
use camp_plan::literal::Currency;
use std::fmt;

/// The type of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// Whole number.
    Int,
    /// Decimal number.
    Decimal,
    /// Percent.
    Percent,
    /// `true`/`false`.
    Bool,
    /// Text.
    Str,
    /// Calendar date.
    Date,
    /// Date and time.
    DateTime,
    /// Time of day.
    Time,
    /// Money; the currency when known.
    Money(Option<Currency>),
    /// Duration.
    Duration,
    /// A list.
    List(Box<Ty>),
    /// A user id.
    User,
    /// Unknown after an error (already reported), or an empty list's element.
    Any,
}

impl Ty {
    fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Decimal | Ty::Percent | Ty::Any)
    }

    /// The type a declared attribute or field type stands for; `None` for an unknown
    /// type name.
    pub fn from_decl(t: &TypeRef) -> Option<Ty> {
        match t {
            TypeRef::Named(i) => Some(match i.name.as_str() {
                "int" => Ty::Int,
                "decimal" => Ty::Decimal,
                "bool" => Ty::Bool,
                "string" => Ty::Str,
                "date" => Ty::Date,
                "datetime" => Ty::DateTime,
                "money" => Ty::Money(None),
                "duration" => Ty::Duration,
                "user" => Ty::User,
                _ => return None,
            }),
            // Lists hold text only (`list<string>`): the plan has no other list type.
            TypeRef::List(inner, _) => match Ty::from_decl(inner)? {
                Ty::Str => Some(Ty::List(Box::new(Ty::Str))),
                _ => None,
            },
        }
    }
}

/// The names of the declarable types.
pub const TYPE_NAMES: &[&str] = &[
    "int",
    "decimal",
    "bool",
    "string",
    "date",
    "datetime",
    "money",
    "duration",
    "list<string>",
    "user",
];

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => f.write_str("a whole number"),
            Ty::Decimal => f.write_str("a decimal number"),
            Ty::Percent => f.write_str("a percent"),
            Ty::Bool => f.write_str("true or false"),
            Ty::Str => f.write_str("text"),
            Ty::Date => f.write_str("a date"),
            Ty::DateTime => f.write_str("a date and time"),
            Ty::Time => f.write_str("a time of day"),
            Ty::Money(Some(c)) => write!(f, "money in {c}"),
            Ty::Money(None) => f.write_str("money"),
            Ty::Duration => f.write_str("a duration"),
            Ty::List(_) => f.write_str("a list"),
            Ty::User => f.write_str("a user"),
            Ty::Any => f.write_str("a value"),
        }
    }
}

/// What a condition may refer to.
pub struct Scope<'a> {
    /// The event of the task whose `where` this is.
    pub event: Option<&'a EventDef>,
    /// What the expression is, for messages ("a task's `where`").
    pub context: &'static str,
    /// In a task's `where`: the tasks `counted(TASK)` may name (earlier tasks of the
    /// same phase on the same event). `None` elsewhere.
    pub counted: Option<Vec<&'a str>>,
}

impl<'a> Scope<'a> {
    /// A scope without an event or `counted()`.
    pub fn of(context: &'static str) -> Self {
        Scope {
            event: None,
            context,
            counted: None,
        }
    }

    /// The campaign's `audience`.
    pub fn audience() -> Self {
        Scope::of("the audience")
    }
}

/// Checks the declared types of user attributes and event fields (E0102 for an unknown
/// type name).
pub(super) fn check_declarations(ctx: &mut Ctx<'_>) {
    builtin_names(ctx);
    let mut fields: Vec<(FileId, &TypeRef)> = ctx
        .syms
        .attrs
        .iter()
        .map(|a| (a.file, &a.node.ty))
        .collect();
    for e in ctx.syms.events.iter() {
        fields.extend(e.node.fields.iter().map(|f| (e.file, &f.ty)));
    }
    for (file, ty) in fields {
        if Ty::from_decl(ty).is_none() {
            let name = match ty {
                TypeRef::Named(i) => i.name.clone(),
                TypeRef::List(inner, _) => match inner.as_ref() {
                    TypeRef::Named(i) => format!("list<{}>", i.name),
                    TypeRef::List(..) => "list<list>".to_string(),
                },
            };
            let help = suggest::did_you_mean(&name, TYPE_NAMES.iter().copied())
                .unwrap_or_else(|| format!("types are {}", TYPE_NAMES.join(", ")));
            ctx.report(
                Diagnostic::new(
                    Code::E0102,
                    Loc::new(file, ty.span()),
                    format!("unknown type `{name}`"),
                    "not a type",
                )
                .with_help(help),
            );
        }
    }
}

/// E0107: an attribute or event field named `id` (`user.id` is built in), a task named
/// `enroll` (the built-in event and timer).
fn builtin_names(ctx: &mut Ctx<'_>) {
    let mut found: Vec<(Loc, &'static str, &'static str)> = Vec::new();
    for a in ctx.syms.attrs.iter().filter(|a| a.name.name == "id") {
        found.push((
            a.loc(),
            "a user attribute",
            "`user.id` is built in: the user's own id",
        ));
    }
    for e in ctx.syms.events.iter() {
        for f in e.node.fields.iter().filter(|f| f.name.name == "id") {
            found.push((
                Loc::new(e.file, f.name.span),
                "an event field",
                "every event already has an `id`; name the field after what it holds",
            ));
        }
    }
    for t in ctx.syms.tasks.iter().filter(|t| t.name.name == "enroll") {
        found.push((
            t.loc(),
            "a task",
            "`enroll` is the built-in event of a user becoming a participant",
        ));
    }
    for (loc, what, why) in found {
        let name = if what == "a task" { "enroll" } else { "id" };
        ctx.report(
            Diagnostic::new(
                Code::E0107,
                loc,
                format!("{what} cannot be named `{name}`"),
                "a built-in name",
            )
            .with_help(format!("{why}: choose another name")),
        );
    }
}

pub(super) fn check_segments(ctx: &mut Ctx<'_>) {
    let segments: Vec<_> = ctx.syms.segments.iter().copied().collect();
    for seg in &segments {
        let scope = Scope::of("a segment");
        check_condition(ctx, seg.file, &seg.node.condition, &scope);
    }
    segment_cycles(ctx);
}

/// The segments a condition names, with where: `(index, span)`.
fn segment_refs(ctx: &Ctx<'_>, e: &Expr, out: &mut Vec<(usize, camp_dsl::span::Span)>) {
    match &e.kind {
        ExprKind::Path(parts) => {
            if let [one] = parts.as_slice() {
                if let Some(i) = ctx.syms.segments.position(&one.name) {
                    out.push((i, one.span));
                }
            }
        }
        ExprKind::Call(_, args) | ExprKind::List(args) => {
            args.iter().for_each(|a| segment_refs(ctx, a, out));
        }
        ExprKind::Binary(_, l, r) | ExprKind::Where(l, r) => {
            segment_refs(ctx, l, out);
            segment_refs(ctx, r, out);
        }
        ExprKind::Unary(_, x) | ExprKind::Paren(x) => segment_refs(ctx, x, out),
        ExprKind::Lit(_) | ExprKind::Str(_) | ExprKind::Error => {}
    }
}

/// E0106: a segment that refers to itself, directly or through other segments. Each
/// cycle is reported once, on the segment of it defined first, with every step.
fn segment_cycles(ctx: &mut Ctx<'_>) {
    let segments: Vec<_> = ctx.syms.segments.iter().copied().collect();
    let edges: Vec<Vec<(usize, camp_dsl::span::Span)>> = segments
        .iter()
        .map(|s| {
            let mut refs = Vec::new();
            segment_refs(ctx, &s.node.condition, &mut refs);
            refs
        })
        .collect();
    // Depth-first, without recursion (a chain of segments may be long): a reference to
    // a segment still on the path closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; segments.len()];
    let mut cycles: Vec<Vec<(usize, camp_dsl::span::Span)>> = Vec::new();
    for root in 0..segments.len() {
        if mark.get(root) != Some(&Mark::New) {
            continue;
        }
        // (segment, next edge to follow, the reference that led here)
        let mut path: Vec<(usize, usize, Option<camp_dsl::span::Span>)> = vec![(root, 0, None)];
        if let Some(m) = mark.get_mut(root) {
            *m = Mark::OnPath;
        }
        while let Some(top) = path.last_mut() {
            let (node, next) = (top.0, top.1);
            let Some(&(to, span)) = edges.get(node).and_then(|e| e.get(next)) else {
                if let Some(m) = mark.get_mut(node) {
                    *m = Mark::Done;
                }
                path.pop();
                continue;
            };
            top.1 = next.saturating_add(1);
            match mark.get(to) {
                Some(Mark::New) => {
                    if let Some(m) = mark.get_mut(to) {
                        *m = Mark::OnPath;
                    }
                    path.push((to, 0, Some(span)));
                }
                Some(Mark::OnPath) => {
                    // The cycle: from `to` along the path to `node`, then back to `to`.
                    let start = path.iter().position(|p| p.0 == to).unwrap_or(0);
                    let mut cycle: Vec<(usize, camp_dsl::span::Span)> = Vec::new();
                    let steps = path.get(start..).unwrap_or(&[]);
                    for (k, step) in steps.iter().enumerate() {
                        let via = steps
                            .get(k.saturating_add(1))
                            .and_then(|s| s.2)
                            .unwrap_or(span);
                        cycle.push((step.0, via));
                    }
                    cycles.push(cycle);
                }
                _ => {}
            }
        }
    }
    for cycle in cycles {
        // Start the cycle at the segment defined first.
        let first = cycle
            .iter()
            .enumerate()
            .min_by_key(|(_, (seg, _))| *seg)
            .map_or(0, |(k, _)| k);
        let mut ordered = cycle.clone();
        ordered.rotate_left(first);
        let names: Vec<&str> = ordered
            .iter()
            .filter_map(|(seg, _)| segments.get(*seg).map(|d| d.name.name.as_str()))
            .collect();
        let Some((head, _)) = ordered.first() else {
            continue;
        };
        let Some(head_def) = segments.get(*head) else {
            continue;
        };
        let shown = names
            .iter()
            .chain(names.first())
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" → ");
        let message = if ordered.len() == 1 {
            format!("the segment `{}` refers to itself", head_def.name.name)
        } else {
            format!(
                "the segment `{}` refers to itself through other segments: {shown}",
                head_def.name.name
            )
        };
        let mut d = Diagnostic::new(
            Code::E0106,
            head_def.loc(),
            message,
            "defined in terms of itself",
        );
        for (k, (seg, via)) in ordered.iter().enumerate() {
            let target = names
                .get(k.saturating_add(1))
                .or(names.first())
                .copied()
                .unwrap_or("");
            if let Some(def) = segments.get(*seg) {
                d = d.with_label(Loc::new(def.file, *via), format!("refers to `{target}`"));
            }
        }
        let help = if ordered.len() == 1 {
            format!(
                "a segment stands for its condition, so it cannot depend on itself: write \
                 the condition of `{}` without naming it",
                head_def.name.name
            )
        } else {
            "a segment stands for its condition, so it cannot depend on itself: write the \
             condition out in one of these segments instead of naming the next"
                .to_string()
        };
        ctx.report(d.with_help(help));
    }
}

/// Checks an expression that must be true or false.
pub fn check_condition(ctx: &mut Ctx<'_>, file: FileId, e: &Expr, scope: &Scope<'_>) {
    let ty = infer(ctx, file, e, scope);
    if ty != Ty::Bool && ty != Ty::Any {
        ctx.report(
            Diagnostic::new(
                Code::E0201,
                Loc::new(file, e.span),
                format!("{} must be a condition (true or false)", scope.context),
                format!("this is {ty}"),
            )
            .with_help("compare it with something, like `user.level >= 5`"),
        );
    }
}

fn mismatch(
    ctx: &mut Ctx<'_>,
    file: FileId,
    e: &Expr,
    message: String,
    found: &Ty,
    help: Option<String>,
) {
    ctx.report(
        Diagnostic::new(
            Code::E0201,
            Loc::new(file, e.span),
            message,
            format!("this is {found}"),
        )
        .with_help_opt(help),
    );
}

/// Infers the type of `e`, reporting every problem inside it.
pub fn infer(ctx: &mut Ctx<'_>, file: FileId, e: &Expr, scope: &Scope<'_>) -> Ty {
    match &e.kind {
        ExprKind::Error => Ty::Any,
        ExprKind::Lit(k) => lit_ty(k),
        ExprKind::Str(_) => Ty::Str,
        ExprKind::Paren(inner) => infer(ctx, file, inner, scope),
        ExprKind::Where(..) => {
            ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, e.span),
                    "`where` here filters nothing",
                    "not a condition",
                )
                .with_help(
                    "`where` filters the events of a KPI's metric, like `count(purchase where event.amount >= 100 CNY)`",
                ),
            );
            Ty::Any
        }
        ExprKind::List(items) => {
            let mut elem = Ty::Any;
            for it in items {
                let t = infer(ctx, file, it, scope);
                if elem == Ty::Any {
                    elem = t;
                } else if t != Ty::Any && !comparable(&elem, &t) {
                    mismatch(
                        ctx,
                        file,
                        it,
                        format!(
                            "a list holds values of one type; this one is {t}, the first is {elem}"
                        ),
                        &t,
                        None,
                    );
                }
            }
            Ty::List(Box::new(elem))
        }
        ExprKind::Path(parts) => path_ty(ctx, file, e, parts, scope),
        ExprKind::Call(name, args) => call_ty(ctx, file, name, args, scope),
        ExprKind::Unary(UnOp::Not, inner) => {
            let t = infer(ctx, file, inner, scope);
            if t != Ty::Bool && t != Ty::Any {
                mismatch(
                    ctx,
                    file,
                    inner,
                    format!("`not` needs a condition, not {t}"),
                    &t,
                    None,
                );
            }
            Ty::Bool
        }
        ExprKind::Unary(UnOp::Neg, inner) => {
            let t = infer(ctx, file, inner, scope);
            if !t.is_number() && !matches!(t, Ty::Money(_)) {
                mismatch(
                    ctx,
                    file,
                    inner,
                    format!("only numbers and money can be negated, not {t}"),
                    &t,
                    None,
                );
                return Ty::Any;
            }
            t
        }
        ExprKind::Binary(op, l, r) => binary_ty(ctx, file, *op, l, r, scope),
    }
}

/// The type of a literal.
pub fn lit_ty(k: &LitKind) -> Ty {
    match k {
        LitKind::Int(_) => Ty::Int,
        LitKind::Decimal(_) => Ty::Decimal,
        LitKind::Percent(_) => Ty::Percent,
        LitKind::Money(m) => Ty::Money(Some(m.currency)),
        LitKind::Duration(_) => Ty::Duration,
        LitKind::Date(_) => Ty::Date,
        LitKind::DateTime(_) => Ty::DateTime,
        LitKind::Time(_) => Ty::Time,
        LitKind::Invalid => Ty::Any,
    }
}

fn comparable(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Any, _) | (_, Ty::Any) => true,
        (x, y) if x.is_number() && y.is_number() => true,
        (Ty::Money(_), Ty::Money(_)) => true,
        (Ty::Date | Ty::DateTime, Ty::Date | Ty::DateTime) => true,
        (Ty::List(x), Ty::List(y)) => comparable(x, y),
        // A user id compares with another user or with text (§2).
        (Ty::User, Ty::User | Ty::Str) | (Ty::Str, Ty::User) => true,
        (x, y) => x == y,
    }
}

/// Reports money in a currency other than the campaign's (or the other operand's).
fn check_currency(ctx: &mut Ctx<'_>, file: FileId, l: (&Expr, &Ty), r: (&Expr, &Ty)) {
    let budget = ctx.settings.currency();
    for (e, t) in [l, r] {
        if let (Ty::Money(Some(c)), Some(b)) = (t, budget) {
            if *c != b {
                report_currency(ctx, file, e, *c, b, "the campaign budget");
                return;
            }
        }
    }
    if let (Ty::Money(Some(a)), Ty::Money(Some(b))) = (l.1, r.1) {
        if a != b {
            report_currency(ctx, file, r.0, *b, *a, "the other side");
        }
    }
}

/// E0203 on `e`, money in `found` where `expected` is used.
pub fn report_currency(
    ctx: &mut Ctx<'_>,
    file: FileId,
    e: &Expr,
    found: Currency,
    expected: Currency,
    whose: &str,
) {
    report_currency_at(ctx, Loc::new(file, e.span), found, expected, whose);
}

/// E0203 at `loc`.
pub fn report_currency_at(
    ctx: &mut Ctx<'_>,
    loc: Loc,
    found: Currency,
    expected: Currency,
    whose: &str,
) {
    ctx.report(
        Diagnostic::new(
            Code::E0203,
            loc,
            format!("money in {found}, but {whose} is in {expected}"),
            format!("in {found}"),
        )
        .with_help(format!(
            "a campaign uses one currency: write this amount in {expected}"
        )),
    );
}

fn binary_ty(
    ctx: &mut Ctx<'_>,
    file: FileId,
    op: BinOp,
    l: &Expr,
    r: &Expr,
    scope: &Scope<'_>,
) -> Ty {
    let lt = infer(ctx, file, l, scope);
    let rt = infer(ctx, file, r, scope);
    if matches!(op, BinOp::Compare(_) | BinOp::In) {
        tier_names(ctx, file, l, r);
        tier_names(ctx, file, r, l);
        variant_names(ctx, file, l, r);
        variant_names(ctx, file, r, l);
    }
    match op {
        BinOp::And | BinOp::Or => {
            for (e, t) in [(l, &lt), (r, &rt)] {
                if *t != Ty::Bool && *t != Ty::Any {
                    mismatch(
                        ctx,
                        file,
                        e,
                        format!("`{}` joins conditions, but this is {t}", op.as_str()),
                        t,
                        Some("compare it with something, like `user.level >= 5`".into()),
                    );
                }
            }
            Ty::Bool
        }
        BinOp::Compare(c) => {
            if !comparable(&lt, &rt) {
                mismatch(
                    ctx,
                    file,
                    r,
                    format!("cannot compare {lt} with {rt}"),
                    &rt,
                    Some(format!(
                        "the right side of `{}` must be {lt} too",
                        c.as_str()
                    )),
                );
            } else if !matches!(
                c,
                camp_dsl::ast::CompareOp::Eq | camp_dsl::ast::CompareOp::Ne
            ) && (lt == Ty::User || rt == Ty::User)
            {
                mismatch(
                    ctx,
                    file,
                    l,
                    format!("`{}` cannot order users", c.as_str()),
                    &lt,
                    Some("users compare with `==`, `!=` and `in`".into()),
                );
            } else if matches!(
                c,
                camp_dsl::ast::CompareOp::Eq | camp_dsl::ast::CompareOp::Ne
            ) || lt != Ty::Bool
            {
                check_currency(ctx, file, (l, &lt), (r, &rt));
            } else {
                mismatch(
                    ctx,
                    file,
                    l,
                    format!("`{}` cannot order true and false", c.as_str()),
                    &lt,
                    Some("use `==` or `!=`".into()),
                );
            }
            Ty::Bool
        }
        BinOp::In => {
            match &rt {
                Ty::List(elem) => {
                    if !comparable(&lt, elem) {
                        mismatch(
                            ctx,
                            file,
                            l,
                            format!("this is {lt}, but the list holds {elem}"),
                            &lt,
                            None,
                        );
                    }
                }
                Ty::Any => {}
                other => mismatch(
                    ctx,
                    file,
                    r,
                    format!("`in` needs a list like `[\"CN\", \"HK\"]`, not {other}"),
                    other,
                    None,
                ),
            }
            Ty::Bool
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
            arith_ty(ctx, file, op, (l, lt), (r, rt))
        }
    }
}

/// Whether `e` is the path `participant.tier`.
fn is_tier(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Path(p) => {
            matches!(p.as_slice(), [a, b] if a.name == "participant" && b.name == "tier")
        }
        ExprKind::Paren(inner) => is_tier(inner),
        _ => false,
    }
}

/// E0202 for a text compared with `participant.tier` (`==`, `!=`, `in [...]`) that is
/// not the name of a tier.
fn tier_names(ctx: &mut Ctx<'_>, file: FileId, tier: &Expr, other: &Expr) {
    if !is_tier(tier) {
        return;
    }
    let mut texts: Vec<&Expr> = Vec::new();
    match &other.kind {
        ExprKind::Str(_) => texts.push(other),
        ExprKind::List(items) => texts.extend(items.iter()),
        ExprKind::Paren(inner) if matches!(inner.kind, ExprKind::Str(_)) => texts.push(inner),
        _ => {}
    }
    for t in texts {
        let ExprKind::Str(name) = &t.kind else {
            continue;
        };
        if ctx.syms.tiers.get(name).is_some() {
            continue;
        }
        let names: Vec<&str> = ctx.syms.tiers.names().collect();
        let help = suggest::closest(name, names.iter().copied())
            .map(|c| format!("did you mean `\"{c}\"`?"))
            .unwrap_or_else(|| {
                if names.is_empty() {
                    "the campaign has no `tiers` block, so no participant has a tier".into()
                } else {
                    format!("the tiers are {}", quoted(&names))
                }
            });
        ctx.report(
            Diagnostic::new(
                Code::E0202,
                Loc::new(file, t.span),
                format!("unknown tier `{name}`"),
                "not a tier",
            )
            .with_help(help),
        );
    }
}

/// Names as texts in a help line: `` `"a"`, `"b"` ``.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`\"{n}\"`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The experiment of `participant.variant.EXPERIMENT`, when `e` is that path.
fn variant_path(e: &Expr) -> Option<&Ident> {
    match &e.kind {
        ExprKind::Path(p) => match p.as_slice() {
            [a, b, x] if a.name == "participant" && b.name == "variant" => Some(x),
            _ => None,
        },
        ExprKind::Paren(inner) => variant_path(inner),
        _ => None,
    }
}

/// E0202 for a text compared with `participant.variant.EXPERIMENT` (`==`, `!=`,
/// `in [...]`) that is not the name of one of the experiment's variants.
fn variant_names(ctx: &mut Ctx<'_>, file: FileId, path: &Expr, other: &Expr) {
    let Some(x) = variant_path(path) else { return };
    let Some(def) = ctx.syms.experiments.get(&x.name).copied() else {
        return;
    };
    let names: Vec<&str> = def
        .node
        .variants
        .iter()
        .map(|v| v.name.name.as_str())
        .collect();
    for t in texts(other) {
        let ExprKind::Str(name) = &t.kind else {
            continue;
        };
        if names.contains(&name.as_str()) {
            continue;
        }
        let help = suggest::closest(name, names.iter().copied())
            .map(|c| format!("did you mean `\"{c}\"`?"))
            .unwrap_or_else(|| format!("the variants of `{}` are {}", x.name, quoted(&names)));
        ctx.report(
            Diagnostic::new(
                Code::E0202,
                Loc::new(file, t.span),
                format!("`{name}` is not a variant of the experiment `{}`", x.name),
                "not a variant",
            )
            .with_help(help),
        );
    }
}

/// The strings a path is compared with: the string itself, or a list's items.
fn texts(other: &Expr) -> Vec<&Expr> {
    match &other.kind {
        ExprKind::Str(_) => vec![other],
        ExprKind::List(items) => items.iter().collect(),
        ExprKind::Paren(inner) if matches!(inner.kind, ExprKind::Str(_)) => vec![&**inner],
        _ => Vec::new(),
    }
}

fn arith_ty(
    ctx: &mut Ctx<'_>,
    file: FileId,
    op: BinOp,
    (l, lt): (&Expr, Ty),
    (r, rt): (&Expr, Ty),
) -> Ty {
    match (&lt, &rt, op) {
        (Ty::Any, _, _) | (_, Ty::Any, _) => Ty::Any,
        (Ty::Money(_), Ty::Money(_), BinOp::Add | BinOp::Sub) => {
            check_currency(ctx, file, (l, &lt), (r, &rt));
            lt
        }
        (Ty::Money(_), Ty::Money(_), BinOp::Div) => {
            check_currency(ctx, file, (l, &lt), (r, &rt));
            Ty::Decimal
        }
        (Ty::Money(_), n, BinOp::Mul | BinOp::Div) if n.is_number() => lt,
        (n, Ty::Money(_), BinOp::Mul) if n.is_number() => rt,
        (Ty::Int, Ty::Int, BinOp::Add | BinOp::Sub | BinOp::Mul) => Ty::Int,
        (a, b, _) if a.is_number() && b.is_number() => Ty::Decimal,
        (a, b, _) => {
            let (bad, t) = if a.is_number() || matches!(a, Ty::Money(_)) {
                (r, b)
            } else {
                (l, a)
            };
            mismatch(
                ctx,
                file,
                bad,
                format!("`{}` works on numbers and money, not {t}", op.as_str()),
                t,
                None,
            );
            Ty::Any
        }
    }
}

fn path_ty(ctx: &mut Ctx<'_>, file: FileId, e: &Expr, parts: &[Ident], scope: &Scope<'_>) -> Ty {
    let whole = || {
        parts
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    };
    let loc = Loc::new(file, e.span);
    match parts {
        [single] => {
            match single.name.as_str() {
                "true" | "false" => Ty::Bool,
                name => {
                    if ctx.syms.segments.get(name).is_some() {
                        ctx.used.segments.insert(name.to_string());
                        return Ty::Bool;
                    }
                    let mut help = suggest::did_you_mean(name, ctx.syms.segments.names());
                    if help.is_none() && ctx.syms.attrs.get(name).is_some() {
                        help = Some(format!("user attributes are written `user.{name}`"));
                    }
                    ctx.report(
                    Diagnostic::new(Code::E0102, loc, format!("unknown segment `{name}`"), "not defined")
                        .with_help_opt(help.or_else(|| Some("a bare name must be a segment; attributes are written `user.level`".into()))),
                );
                    Ty::Any
                }
            }
        }
        [root, attr] if root.name == "user" && attr.name == "id" => Ty::User,
        [root, attr] if root.name == "user" => match ctx.syms.attrs.get(&attr.name) {
            Some(def) => Ty::from_decl(&def.node.ty).unwrap_or(Ty::Any),
            None => {
                unknown_attr(ctx, loc, &attr.name, "string");
                Ty::Any
            }
        },
        [root, field] if root.name == "event" => match scope.event {
            Some(ev) => match ev.fields.iter().find(|f| f.name.name == field.name) {
                Some(f) => Ty::from_decl(&f.ty).unwrap_or(Ty::Any),
                None => {
                    let help = suggest::did_you_mean(
                        &field.name,
                        ev.fields.iter().map(|f| f.name.name.as_str()),
                    )
                    .map(|h| h.replacen('`', "`event.", 1));
                    ctx.report(
                        Diagnostic::new(
                            Code::E0202,
                            loc,
                            format!("the event `{}` has no field `{}`", ev.name.name, field.name),
                            "unknown field",
                        )
                        .with_help_opt(help),
                    );
                    Ty::Any
                }
            },
            None => {
                ctx.report(
                    Diagnostic::new(
                        Code::E0202,
                        loc,
                        format!("`{}` cannot be used in {}", whole(), scope.context),
                        "no event here",
                    )
                    .with_help("event fields are only available in a task's `on EVENT where ...`"),
                );
                Ty::Any
            }
        },
        [root, kind, name]
            if root.name == "participant"
                && matches!(kind.name.as_str(), "count" | "today" | "streak" | "rank") =>
        {
            participant_of(ctx, file, kind, name);
            Ty::Int
        }
        [root, kind, name] if root.name == "participant" && kind.name == "variant" => {
            if ctx.syms.experiments.get(&name.name).is_none() {
                let help = suggest::did_you_mean(&name.name, ctx.syms.experiments.names())
                    .unwrap_or_else(|| {
                        format!(
                            "define it: `experiment {} {{ variants a 50%, b 50% }}`",
                            name.name
                        )
                    });
                ctx.report(
                    Diagnostic::new(
                        Code::E0102,
                        Loc::new(file, name.span),
                        format!("unknown experiment `{}`", name.name),
                        "not defined",
                    )
                    .with_help(help),
                );
            }
            Ty::Str
        }
        [root, attr] if root.name == "participant" => match attr.name.as_str() {
            "points" | "earned" => Ty::Int,
            "tier" => Ty::Str,
            "enrolled" => Ty::Bool,
            "enrolled_at" => Ty::DateTime,
            "count" | "today" | "streak" | "rank" | "variant" => {
                let what = match attr.name.as_str() {
                    "rank" => "LEADERBOARD",
                    "variant" => "EXPERIMENT",
                    _ => "TASK",
                };
                ctx.report(
                    Diagnostic::new(
                        Code::E0202,
                        loc,
                        format!("`participant.{}` needs a name after it", attr.name),
                        "incomplete",
                    )
                    .with_help(format!("write `participant.{}.{what}`", attr.name)),
                );
                Ty::Any
            }
            other => {
                let help = suggest::did_you_mean(other, PARTICIPANT_PATHS.iter().copied())
                    .map(|h| h.replacen('`', "`participant.", 1));
                ctx.report(
                    Diagnostic::new(
                        Code::E0202,
                        loc,
                        format!("unknown participant attribute `{other}`"),
                        "unknown attribute",
                    )
                    .with_help_opt(help.or_else(|| {
                        Some(format!(
                            "a participant has {}",
                            PARTICIPANT_PATHS
                                .iter()
                                .map(|p| format!("`{p}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })),
                );
                Ty::Any
            }
        },
        _ => {
            let root = parts.first().map_or("", |p| p.name.as_str());
            let help = match root {
                "user" | "event" | "participant" => {
                    format!("write `{root}.NAME` with a single name")
                }
                _ => suggest::did_you_mean(root, ["user", "event", "participant"]).unwrap_or_else(
                    || "paths start with `user.`, `event.` or `participant.`".into(),
                ),
            };
            ctx.report(
                Diagnostic::new(
                    Code::E0202,
                    loc,
                    format!("unknown attribute `{}`", whole()),
                    "unknown",
                )
                .with_help(help),
            );
            Ty::Any
        }
    }
}

/// E0202 for `user.NAME` that is not declared, suggesting the closest attribute, else
/// its declaration with the type `ty`.
pub fn unknown_attr(ctx: &mut Ctx<'_>, loc: Loc, name: &str, ty: &str) {
    let help = suggest::did_you_mean(name, ctx.syms.attrs.names())
        .map(|h| h.replacen('`', "`user.", 1))
        .unwrap_or_else(|| format!("declare it: `user {{ {name}: {ty} }}`"));
    ctx.report(
        Diagnostic::new(
            Code::E0202,
            loc,
            format!("unknown user attribute `{name}`"),
            "not declared in `user { }`",
        )
        .with_help(help),
    );
}

/// What `participant.` may be followed by.
const PARTICIPANT_PATHS: &[&str] = &[
    "points",
    "earned",
    "tier",
    "enrolled",
    "enrolled_at",
    "count",
    "today",
    "streak",
    "rank",
    "variant",
];

/// Resolves the task (or leaderboard, for `rank`) of `participant.KIND.NAME`.
fn participant_of(ctx: &mut Ctx<'_>, file: FileId, kind: &Ident, name: &Ident) {
    let (found, names, what): (bool, Vec<&str>, &str) = if kind.name == "rank" {
        (
            ctx.syms.leaderboards.get(&name.name).is_some(),
            ctx.syms.leaderboards.names().collect(),
            "leaderboard",
        )
    } else {
        (
            ctx.syms.tasks.get(&name.name).is_some(),
            ctx.syms.tasks.names().collect(),
            "task",
        )
    };
    if !found {
        let help = suggest::did_you_mean(&name.name, names);
        ctx.report(
            Diagnostic::new(
                Code::E0102,
                Loc::new(file, name.span),
                format!("unknown {what} `{}`", name.name),
                "not defined",
            )
            .with_help_opt(help),
        );
    }
}

/// `counted(TASK)`: E0207 outside a task's `where`, or for a task that is not an
/// earlier task of the same phase on the same event.
fn counted_ty(
    ctx: &mut Ctx<'_>,
    file: FileId,
    name: &Ident,
    args: &[Expr],
    scope: &Scope<'_>,
) -> Ty {
    let task = match args {
        [Expr {
            kind: ExprKind::Path(p),
            ..
        }] => match p.as_slice() {
            [t] => Some(t),
            _ => None,
        },
        _ => None,
    };
    let Some(task) = task else {
        ctx.report(
            Diagnostic::new(
                Code::E0201,
                Loc::new(file, name.span),
                "`counted` takes one task",
                "wrong arguments",
            )
            .with_help("write `counted(daily_checkin)`"),
        );
        return Ty::Bool;
    };
    match &scope.counted {
        None => ctx.report(
            Diagnostic::new(
                Code::E0207,
                Loc::new(file, name.span),
                format!(
                    "`counted()` can only be used in a task's `where`, not in {}",
                    scope.context
                ),
                "not in a task's `where`",
            )
            .with_help("`counted(TASK)` asks whether an earlier task counted the same event"),
        ),
        Some(earlier) if !earlier.contains(&task.name.as_str()) => {
            let help = suggest::did_you_mean(&task.name, earlier.iter().copied()).or_else(|| {
                Some(if earlier.is_empty() {
                    "no earlier task of this phase counts the same event".to_string()
                } else {
                    format!(
                        "earlier tasks of this phase on the same event: {}",
                        earlier
                            .iter()
                            .map(|t| format!("`{t}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            });
            ctx.report(
                Diagnostic::new(
                    Code::E0207,
                    Loc::new(file, task.span),
                    format!(
                        "`{}` is not an earlier task of this phase on the same event",
                        task.name
                    ),
                    "cannot be asked here",
                )
                .with_help_opt(help),
            );
        }
        Some(_) => {}
    }
    Ty::Bool
}

fn call_ty(ctx: &mut Ctx<'_>, file: FileId, name: &Ident, args: &[Expr], scope: &Scope<'_>) -> Ty {
    if name.name == "counted" {
        return counted_ty(ctx, file, name, args, scope);
    }
    if name.name != "holds" {
        ctx.report(
            Diagnostic::new(
                Code::E0102,
                Loc::new(file, name.span),
                format!("unknown function `{}`", name.name),
                "not a function",
            )
            .with_help(
                "conditions can use `holds(REWARD)` and `counted(TASK)`; metrics like `count(...)` belong in KPIs",
            ),
        );
        return Ty::Any;
    }
    match args {
        [arg] => {
            reward_arg(ctx, file, arg, "holds");
            Ty::Int
        }
        _ => {
            ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, name.span),
                    "`holds` takes one reward",
                    "wrong number of arguments",
                )
                .with_help("write `holds(coupon_20)`"),
            );
            Ty::Int
        }
    }
}

/// Resolves a reward given as a function argument (`holds(x)`, `granted(x)`), reporting
/// `code` for an unknown one. Returns whether it resolved.
pub fn reward_arg(ctx: &mut Ctx<'_>, file: FileId, arg: &Expr, func: &str) -> bool {
    reward_arg_with(ctx, file, arg, func, Code::E0102)
}

/// Like [`reward_arg`], with the code to use for an unknown reward.
pub fn reward_arg_with(
    ctx: &mut Ctx<'_>,
    file: FileId,
    arg: &Expr,
    func: &str,
    code: Code,
) -> bool {
    match &arg.kind {
        ExprKind::Path(p) if p.len() == 1 => {
            let Some(id) = p.first() else { return false };
            resolve_reward(ctx, file, id, code)
        }
        _ => {
            ctx.report(
                Diagnostic::new(
                    Code::E0201,
                    Loc::new(file, arg.span),
                    format!("`{func}` takes the name of a reward"),
                    "not a reward name",
                )
                .with_help(format!("write `{func}(coupon_20)`")),
            );
            false
        }
    }
}

/// Resolves a reward name and marks it used; reports `code` (E0102, or E0602 inside a
/// KPI) with a suggestion when there is no such reward.
pub fn resolve_reward(ctx: &mut Ctx<'_>, file: FileId, id: &Ident, code: Code) -> bool {
    if ctx.syms.rewards.get(&id.name).is_some() {
        ctx.used.rewards.insert(id.name.clone());
        return true;
    }
    let help = suggest::did_you_mean(&id.name, ctx.syms.rewards.names());
    ctx.report(
        Diagnostic::new(
            code,
            Loc::new(file, id.span),
            format!("unknown reward `{}`", id.name),
            "not defined",
        )
        .with_help_opt(help),
    );
    false
}
