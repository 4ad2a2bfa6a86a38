//! `camp preview`: renders one message for a sample user (or one read from a file)
//! with the renderer the engine uses. The sample values are documented in
//! `docs/preview.md`.

use crate::{compiled, Outcome};
use camp_compiler::suggest::did_you_mean;
use camp_engine::{GroupVars, RenderContext, Renderer};
use camp_plan::{Action, MessageId, PhaseId, Plan, RewardId, RewardKind, ValueType};
use serde_json::{json, Map, Value};
use std::path::Path;

pub fn run(
    file: &Path,
    message: &str,
    locale: Option<&str>,
    user: Option<&Path>,
    variant: Option<&str>,
) -> Outcome {
    let plan = match compiled::plan(file) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let Some(index) = plan.messages.iter().position(|m| m.name == message) else {
        return usage(
            &format!("the campaign has no message `{message}`"),
            did_you_mean(message, plan.messages.iter().map(|m| m.name.as_str())),
            &plan
                .messages
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>(),
            "its messages are",
        );
    };
    let id = MessageId(u32::try_from(index).unwrap_or(u32::MAX));
    // The experiment the message's bodies are by, and the variant to show.
    let experiment = plan
        .messages
        .get(index)
        .and_then(|m| m.by.as_ref())
        .and_then(|by| plan.experiments.get(by.experiment.index()));
    let shown = match (experiment, variant) {
        (None, None) => None,
        (None, Some(_)) => {
            eprintln!("error: the message `{message}` has no variants");
            eprintln!("  help: `--variant` applies to a message `by` an experiment");
            return Outcome::Usage;
        }
        (Some(x), None) => x.variants.first().map(|v| (x, v.name.clone())),
        (Some(x), Some(v)) => {
            let names: Vec<&str> = x.variants.iter().map(|v| v.name.as_str()).collect();
            if !names.contains(&v) {
                return usage(
                    &format!("`{v}` is not a variant of the experiment `{}`", x.name),
                    did_you_mean(v, names.iter().copied()),
                    &names,
                    "its variants are",
                );
            }
            Some((x, v.to_string()))
        }
    };
    if let Some(l) = locale {
        if !plan.campaign.locales.iter().any(|c| c == l) {
            return usage(
                &format!("`{l}` is not one of the campaign's locales"),
                did_you_mean(l, plan.campaign.locales.iter().map(String::as_str)),
                &plan
                    .campaign
                    .locales
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                "its locales are",
            );
        }
    }
    let renderer = match Renderer::new(&plan) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let attrs = match user {
        Some(path) => match read_user(path) {
            Ok(attrs) => {
                warn_undeclared(&plan, path, &attrs);
                attrs
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::Usage;
            }
        },
        None => sample_user(&plan, &renderer),
    };
    let user_locale = attrs.get("locale").and_then(Value::as_str);
    let locale = locale
        .unwrap_or_else(|| renderer.pick_locale(user_locale))
        .to_string();
    let mut ctx = sample_context(&plan, id, attrs);
    if let Some((x, v)) = &shown {
        ctx.variants.insert(x.name.clone(), v.clone());
    }
    let rendered = match renderer.render(id, &locale, &ctx) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let channel = renderer.channel(id).unwrap_or("");
    match &shown {
        Some((_, v)) => println!(
            "# {message} via {channel}, variant {v} ({})",
            rendered.locale
        ),
        None => println!("# {message} via {channel} ({})", rendered.locale),
    }
    if let Some(subject) = &rendered.subject {
        println!("Subject: {subject}");
    }
    println!();
    println!("{}", rendered.body);
    Outcome::Success
}

/// Prints a usage error with a suggestion, or the list of what exists.
fn usage(what: &str, suggestion: Option<String>, known: &[&str], known_are: &str) -> Outcome {
    eprintln!("error: {what}");
    match suggestion {
        Some(s) => eprintln!("  help: {s}"),
        None if known.is_empty() => {}
        None => eprintln!("  help: {known_are} {}", known.join(", ")),
    }
    Outcome::Usage
}

/// The bare attributes object of `--user`.
fn read_user(path: &Path) -> Result<Map<String, Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "{} must hold a JSON object of user attributes, like {{\"nickname\": \"Lin\"}}, not {}",
            path.display(),
            kind(&other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Templates see declared attributes only: say so about the others, they may be typos.
fn warn_undeclared(plan: &Plan, path: &Path, attrs: &Map<String, Value>) {
    for name in attrs.keys() {
        if plan.attrs.iter().any(|a| &a.name == name) {
            continue;
        }
        let hint = did_you_mean(name, plan.attrs.iter().map(|a| a.name.as_str()))
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        eprintln!(
            "warning: {}: `{name}` is not a declared user attribute; messages cannot use it{hint}",
            path.display()
        );
    }
}

/// One documented sample value per declared attribute (docs/preview.md).
fn sample_user(plan: &Plan, renderer: &Renderer) -> Map<String, Value> {
    // `2027-01-20T00:00:00+08:00`: the campaign start on its own clock.
    let start = renderer.local_time(plan.campaign.start);
    let start_date = start.get(..10).unwrap_or(&start).to_string();
    let currency = plan
        .campaign
        .budget
        .as_ref()
        .or_else(|| plan.rewards.iter().find_map(|r| r.cost.as_ref()))
        .map_or_else(|| "USD".to_string(), |m| m.currency.to_string());
    let first_locale = plan.campaign.locales.first();
    plan.attrs
        .iter()
        .map(|a| {
            let value = match a.ty {
                // A sample `locale` that is no campaign locale would only hide the default.
                ValueType::String if a.name == "locale" && first_locale.is_some() => {
                    json!(first_locale)
                }
                ValueType::String => json!(format!("Sample {}", a.name.replace('_', " "))),
                ValueType::Int => json!(7),
                ValueType::Decimal => json!(7.5),
                ValueType::Bool => json!(true),
                ValueType::Date => json!(start_date),
                ValueType::Datetime => json!(start),
                ValueType::Money => json!(format!("10 {currency}")),
                ValueType::Duration => json!("1d"),
                ValueType::ListString => json!(["a", "b"]),
                ValueType::User => json!("sample-friend"),
            };
            (a.name.clone(), value)
        })
        .collect()
}

/// The sample participant: 120 points (150 earned), the first tier, rank 1 everywhere,
/// the first variant of every experiment,
/// 3 completions of every task (1 today, a 3-day streak), in the phase that sends the
/// message, with the reward that sender grants; a group's outcome shows a group with
/// the key `sample-key`, full when it filled, one short when it expired.
fn sample_context(plan: &Plan, message: MessageId, user: Map<String, Value>) -> RenderContext {
    let sender = sender(plan, message);
    let per_task = |n: u32| plan.tasks.iter().map(|t| (t.name.clone(), n)).collect();
    RenderContext {
        user,
        participant_points: 120,
        participant_earned: 150,
        participant_enrolled_at: Some(plan.campaign.start),
        participant_tier: plan.tiers.first().map(|t| t.name.clone()),
        ranks: plan
            .leaderboards
            .iter()
            .map(|l| (l.name.clone(), 1))
            .collect(),
        variants: plan
            .experiments
            .iter()
            .filter_map(|x| Some((x.name.clone(), x.variants.first()?.name.clone())))
            .collect(),
        counts: per_task(3),
        today: per_task(1),
        streaks: per_task(3),
        phase: sender.phase,
        reward: sender.reward,
        group: sender
            .group
            .and_then(|g| plan.groups.get(g.index()))
            .map(|g| {
                // An expired group is one short of full; a filled one is full.
                let sends = |list: &[Action]| {
                    list.iter()
                        .any(|a| matches!(a, Action::Send { message: m, .. } if *m == message))
                };
                let expired = sends(&g.expired) && !sends(&g.filled);
                GroupVars {
                    name: g.name.clone(),
                    key: "sample-key".to_string(),
                    size: g.size,
                    members: if expired {
                        g.size.saturating_sub(1)
                    } else {
                        g.size
                    },
                }
            }),
    }
}

/// What sends a message, as far as a preview shows it.
struct Sender {
    phase: Option<PhaseId>,
    reward: Option<RewardId>,
    group: Option<camp_plan::GroupId>,
}

/// The first action list or phase-level send that sends `message`: its phase (else the
/// first phase), the first reward that list grants (a draw's first outcome) and the
/// group whose outcome it is.
fn sender(plan: &Plan, message: MessageId) -> Sender {
    let first = plan.phases.first().and(Some(PhaseId(0)));
    let sends = |a: &Action| matches!(a, Action::Send { message: m, .. } if *m == message);
    if let Some(list) = plan.action_lists().find(|l| l.actions.iter().any(sends)) {
        let reward = list.actions.iter().find_map(|a| match a {
            Action::Grant { reward, .. } => Some(won(plan, *reward)),
            _ => None,
        });
        return Sender {
            phase: list.phase.or(first),
            reward,
            group: list.group,
        };
    }
    let id = |i: usize| u32::try_from(i).ok().map(PhaseId);
    let phase = plan
        .phases
        .iter()
        .position(|p| p.sends.iter().any(|s| s.message == message))
        .and_then(id);
    Sender {
        phase: phase.or(first),
        reward: None,
        group: None,
    }
}

/// What a preview shows as granted: a draw's first outcome, else the reward itself.
fn won(plan: &Plan, reward: RewardId) -> RewardId {
    match plan.rewards.get(reward.index()).map(|r| &r.kind) {
        Some(RewardKind::Draw { outcomes }) => outcomes.first().map_or(reward, |o| o.reward),
        _ => reward,
    }
}
