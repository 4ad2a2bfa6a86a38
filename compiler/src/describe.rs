//! Plan parts written back as a person reads them (`grant coupon_20 to event.invitee`),
//! for the state machines and the schedule.

use camp_plan::{Action, Plan, Target, Units};

/// An action list as written, joined with `, `: `grant coupon_20, send streak_week`.
pub fn actions(plan: &Plan, list: &[Action], event: Option<camp_plan::EventId>) -> String {
    list.iter()
        .map(|a| action(plan, a, event))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One action as written. `event` is the triggering event type, which names
/// `event.FIELD` targets and keys.
pub fn action(plan: &Plan, a: &Action, event: Option<camp_plan::EventId>) -> String {
    let field = |i: u32| {
        event
            .and_then(|e| plan.events.get(e.index()))
            .and_then(|e| e.fields.get(i as usize))
            .map_or_else(|| format!("event.#{i}"), |f| format!("event.{}", f.name))
    };
    let target = |t: &Target| match t {
        Target::Own => String::new(),
        Target::Attr(a) => plan
            .attrs
            .get(a.index())
            .map_or_else(|| format!("user.#{}", a.0), |x| format!("user.{}", x.name)),
        Target::Field(i) => field(*i),
        Target::Members => "members".to_string(),
        Target::Opener => "opener".to_string(),
    };
    let to = |word: &str, t: &Target| match t {
        Target::Own => String::new(),
        other => format!(" {word} {}", target(other)),
    };
    let units = |u: &Units, n: Option<u64>| match u {
        Units::Points => format!(
            "{} points",
            n.map_or_else(|| "all".to_string(), |n| n.to_string())
        ),
        Units::Reward(r) => {
            let name = plan
                .rewards
                .get(r.index())
                .map_or_else(|| format!("#{}", r.0), |x| x.name.clone());
            match n {
                Some(1) | None => name,
                Some(n) => format!("{name} {n}"),
            }
        }
    };
    let group = |g: camp_plan::GroupId| {
        plan.groups
            .get(g.index())
            .map_or_else(|| format!("#{}", g.0), |x| x.name.clone())
    };
    match a {
        Action::Grant { reward, to: t } => format!(
            "grant {}{}",
            plan.rewards
                .get(reward.index())
                .map_or_else(|| format!("#{}", reward.0), |r| r.name.clone()),
            to("to", t)
        ),
        Action::Send { message, to: t } => format!(
            "send {}{}",
            plan.messages
                .get(message.index())
                .map_or_else(|| format!("#{}", message.0), |m| m.name.clone()),
            to("to", t)
        ),
        Action::Use { units: u, count } => format!("use {}", units(u, Some(*count))),
        Action::Give {
            units: u,
            count,
            to: t,
        } => format!("give {} to {}", units(u, Some(*count)), target(t)),
        Action::Revoke {
            units: u,
            count,
            from,
        } => format!("revoke {}{}", units(u, *count), to("from", from)),
        Action::Open { group: g, key } => format!("open {} by {}", group(*g), field(*key)),
        Action::Join { group: g, key } => format!("join {} by {}", group(*g), field(*key)),
    }
}
