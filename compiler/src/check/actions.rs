//! Action lists (§6): the rewards, messages and groups each action names, whom it is
//! for (E0205), how a group is opened or joined (E0206), where a pool may be granted
//! (E0406), and what may be used, given or taken back (E0407).

use super::exprs::Ty;
use super::phases::{message_ref, positive, reward_ref};
use super::Ctx;
use crate::suggest;
use camp_dsl::ast::*;
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc};

/// Where an action list stands.
#[derive(Clone, Copy)]
pub(super) struct Site<'a> {
    /// The event of the task the actions run for: `event.FIELD` targets and keys.
    pub event: Option<&'a EventDef>,
    /// A group's outcome: `members` and `opener` are targets here, and the default.
    pub group: bool,
    /// A mass grant's actions (a raffle, an award, a group's outcome): one firing
    /// reaches many, so a pool may be granted here (E0406 elsewhere).
    pub mass: bool,
    /// What the list belongs to, for messages ("an award").
    pub context: &'static str,
}

/// Checks every action of a list.
pub(super) fn check(ctx: &mut Ctx<'_>, file: FileId, list: &[Action], site: Site<'_>) {
    let grants = list
        .iter()
        .any(|a| matches!(a.kind, ActionKind::Grant { .. }));
    for a in list {
        action(ctx, file, a, site, grants);
    }
}

fn action(ctx: &mut Ctx<'_>, file: FileId, a: &Action, site: Site<'_>, grants: bool) {
    match &a.kind {
        ActionKind::Grant { reward, to } => {
            if reward_ref(ctx, file, reward) && !site.mass {
                pool_outside_mass_grant(ctx, file, reward, site.context);
            }
            if let Some(t) = to {
                target(ctx, file, t, site);
            }
        }
        ActionKind::Send { message, to } => {
            message_ref(ctx, file, message, grants, site.group);
            if let Some(t) = to {
                target(ctx, file, t, site);
            }
        }
        ActionKind::Use { units, count } => {
            moved(ctx, file, "use", units, count.as_ref(), true);
        }
        ActionKind::Give { units, count, to } => {
            moved(ctx, file, "give", units, count.as_ref(), false);
            target(ctx, file, to, site);
        }
        ActionKind::Revoke { units, count, from } => {
            moved(ctx, file, "revoke", units, count.as_ref(), false);
            if let Some(t) = from {
                target(ctx, file, t, site);
            }
        }
        ActionKind::Open { group, key } | ActionKind::Join { group, key } => {
            let verb = if matches!(a.kind, ActionKind::Open { .. }) {
                "open"
            } else {
                "join"
            };
            group_ref(ctx, file, group);
            group_key(ctx, file, verb, key, site);
        }
    }
}

/// Whether `name` is a `pool` reward.
pub(super) fn is_pool(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.syms
        .rewards
        .get(name)
        .is_some_and(|d| matches!(d.node.kind, RewardKind::Pool(_)))
}

/// E0406 when `reward` is a pool granted by `context`, which is not a mass grant.
pub(super) fn pool_outside_mass_grant(
    ctx: &mut Ctx<'_>,
    file: FileId,
    reward: &Ident,
    context: &str,
) {
    if !is_pool(ctx, &reward.name) {
        return;
    }
    ctx.report(
        Diagnostic::new(
            Code::E0406,
            Loc::new(file, reward.span),
            format!("the pool `{}` is granted by {context}", reward.name),
            "not a mass grant",
        )
        .with_help(
            "a pool is shared among everyone one firing reaches: grant it from a raffle, an \
             award, a group's outcome, or `grant … on enter` / `grant … at` in a phase",
        ),
    );
}

/// Resolves a group kind's name (E0102 with a suggestion).
pub(super) fn group_ref(ctx: &mut Ctx<'_>, file: FileId, id: &Ident) -> bool {
    if ctx.syms.groups.get(&id.name).is_some() {
        return true;
    }
    let help = suggest::did_you_mean(&id.name, ctx.syms.groups.names())
        .or_else(|| Some(format!("declare it: `group {} {{ size 3 }}`", id.name)));
    ctx.report(
        Diagnostic::new(
            Code::E0102,
            Loc::new(file, id.span),
            format!("unknown group `{}`", id.name),
            "not defined",
        )
        .with_help_opt(help),
    );
    false
}

/// `use`, `give`, `revoke`: the reward (never a draw or a pool, E0407) and the count.
fn moved(
    ctx: &mut Ctx<'_>,
    file: FileId,
    verb: &str,
    units: &Units,
    count: Option<&Lit>,
    spend: bool,
) {
    match units {
        Units::Reward(r) => {
            if reward_ref(ctx, file, r) {
                let draw = ctx
                    .syms
                    .rewards
                    .get(&r.name)
                    .is_some_and(|d| matches!(d.node.kind, RewardKind::Draw(_)));
                if is_pool(ctx, &r.name) {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0407,
                            Loc::new(file, r.span),
                            format!("`{verb}` of the pool `{}`", r.name),
                            "a pool is paid out, not held",
                        )
                        .with_help(
                            "a pool's shares are money paid to its recipients: nothing is left to use, give or take back",
                        ),
                    );
                }
                if draw {
                    ctx.report(
                        Diagnostic::new(
                            Code::E0407,
                            Loc::new(file, r.span),
                            format!("`{verb}` of the draw `{}`", r.name),
                            "a draw is never held",
                        )
                        .with_help(
                            "a participant holds what a draw won, not the draw: name the reward won",
                        ),
                    );
                }
            }
            if let Some(c) = count {
                positive(ctx, file, c, "a count");
            }
        }
        Units::Points(_) => match count.map(|c| (c, &c.kind)) {
            Some((c, LitKind::Int(n))) if *n <= 0 && spend => ctx.report(
                Diagnostic::new(
                    Code::E0407,
                    Loc::new(file, c.span),
                    format!("`use {n} points` uses no points"),
                    "zero or negative",
                )
                .with_help(
                    "a redemption costs at least 1 point: write the price, like `use 200 points`",
                ),
            ),
            Some((c, _)) => {
                positive(ctx, file, c, "a number of points");
            }
            None => {}
        },
    }
}

/// A target must name a user (E0205): `user.id`, a `user` attribute, a `user` field of
/// the task's event, or `members`/`opener` in a group's outcome.
pub(super) fn target(ctx: &mut Ctx<'_>, file: FileId, t: &Target, site: Site<'_>) {
    let loc = Loc::new(file, t.span);
    let not_user = |ctx: &mut Ctx<'_>, what: String, ty: Option<&Ty>| {
        let label = ty.map_or_else(|| "not a user".to_string(), |ty| format!("this is {ty}"));
        ctx.report(
            Diagnostic::new(Code::E0205, loc, format!("{what} is not a user"), label).with_help(
                "an action is for a user: a `user` field of the event (`event.invitee`), a \
                 `user` attribute (`user.invited_by`), or `members`/`opener` in a group's outcome",
            ),
        );
    };
    match t.path.as_slice() {
        [one] if one.name == "members" || one.name == "opener" => {
            if !site.group {
                ctx.report(
                    Diagnostic::new(
                        Code::E0205,
                        loc,
                        format!("`{}` outside a group's outcome", one.name),
                        format!("{} has no group", site.context),
                    )
                    .with_help("`members` and `opener` are the targets of a group's `filled` and `expired`"),
                );
            }
        }
        [root, attr] if root.name == "user" && attr.name == "id" => {}
        [root, attr] if root.name == "user" => {
            let ty = ctx
                .syms
                .attrs
                .get(&attr.name)
                .map(|d| Ty::from_decl(&d.node.ty));
            match ty {
                Some(Some(Ty::User)) | Some(None) => {}
                Some(Some(other)) => not_user(ctx, format!("`user.{}`", attr.name), Some(&other)),
                None => super::exprs::unknown_attr(ctx, loc, &attr.name, "user"),
            }
        }
        [root, field] if root.name == "event" => match event_field(ctx, file, t, site) {
            Some(Some(Ty::User)) | Some(None) | None => {}
            Some(Some(other)) => not_user(ctx, format!("`event.{}`", field.name), Some(&other)),
        },
        _ => {
            let whole: Vec<&str> = t.path.iter().map(|p| p.name.as_str()).collect();
            not_user(ctx, format!("`{}`", whole.join(".")), None);
        }
    }
}

/// The type of `event.FIELD` in the task's event: `None` when it does not resolve
/// (reported here), `Some(None)` for a field of an unknown type (reported elsewhere).
pub(super) fn event_field(
    ctx: &mut Ctx<'_>,
    file: FileId,
    t: &Target,
    site: Site<'_>,
) -> Option<Option<Ty>> {
    let loc = Loc::new(file, t.span);
    let field = match t.path.as_slice() {
        [_, field] => field,
        _ => return None,
    };
    let Some(ev) = site.event else {
        ctx.report(
            Diagnostic::new(
                Code::E0202,
                loc,
                format!("`event.{}` cannot be used in {}", field.name, site.context),
                "no event here",
            )
            .with_help("event fields are only available in a task, which counts an event"),
        );
        return None;
    };
    match ev.fields.iter().find(|f| f.name.name == field.name) {
        Some(f) => Some(Ty::from_decl(&f.ty)),
        None => {
            let help =
                suggest::did_you_mean(&field.name, ev.fields.iter().map(|f| f.name.name.as_str()))
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
            None
        }
    }
}

/// `open`/`join GROUP by event.FIELD`: the key is a `string` field of the task's event
/// (E0206).
fn group_key(ctx: &mut Ctx<'_>, file: FileId, verb: &str, key: &Target, site: Site<'_>) {
    let loc = Loc::new(file, key.span);
    match key.path.as_slice() {
        [root, _] if root.name == "event" => match event_field(ctx, file, key, site) {
            Some(Some(Ty::Str)) | Some(None) | None => {}
            Some(Some(other)) => ctx.report(
                Diagnostic::new(
                    Code::E0206,
                    loc,
                    format!("a group's key must be text, but this field is {other}"),
                    format!("this is {other}"),
                )
                .with_help(format!(
                    "declare the field as `string`: the platform names each group with a text key, and `{verb}` finds the group by it"
                )),
            ),
        },
        _ => ctx.report(
            Diagnostic::new(
                Code::E0206,
                loc,
                format!("`{verb}` finds the group by a `string` field of the task's event"),
                "not an event field",
            )
            .with_help(format!("write `{verb} GROUP by event.FIELD`, like `by event.team_id`")),
        ),
    }
}

/// E0206 for a task that both opens and joins.
pub(super) fn opens_and_joins(ctx: &mut Ctx<'_>, file: FileId, task: &TaskDef) {
    let actions = task.stmts.iter().filter_map(|s| match s {
        TaskStmt::Action(a) => Some(a),
        _ => None,
    });
    let mut open = None;
    let mut join = None;
    for a in actions {
        match a.kind {
            ActionKind::Open { .. } => open = open.or(Some(a.span)),
            ActionKind::Join { .. } => join = join.or(Some(a.span)),
            _ => {}
        }
    }
    if let (Some(o), Some(j)) = (open, join) {
        ctx.report(
            Diagnostic::new(
                Code::E0206,
                Loc::new(file, j),
                format!("the task `{}` both opens and joins a group", task.name.name),
                "joins",
            )
            .with_label(Loc::new(file, o), "opens")
            .with_help("one event either opens a group or joins one: split this into two tasks"),
        );
    }
}
