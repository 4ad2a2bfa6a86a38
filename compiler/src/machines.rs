//! The campaign's and the participant's state machines, laid out from the Plan, and
//! their export as Graphviz DOT and Mermaid.

use camp_plan::*;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

struct Graph {
    states: Vec<State>,
    seen: std::collections::HashSet<String>,
    transitions: Vec<Transition>,
}

impl Graph {
    fn new() -> Self {
        Graph {
            states: Vec::new(),
            seen: std::collections::HashSet::new(),
            transitions: Vec::new(),
        }
    }

    fn state(&mut self, id: impl Into<String>, label: impl Into<String>, terminal: bool) -> String {
        let id = id.into();
        if self.seen.insert(id.clone()) {
            self.states.push(State {
                id: id.clone(),
                label: label.into(),
                terminal,
            });
        }
        id
    }

    fn edge(&mut self, from: &str, to: &str, on: impl Into<String>) {
        self.transitions.push(Transition {
            from: from.to_string(),
            to: to.to_string(),
            on: on.into(),
        });
    }

    fn done(self) -> StateMachine {
        StateMachine {
            states: self.states,
            transitions: self.transitions,
        }
    }
}

fn local(plan: &Plan, t: DateTime<Utc>) -> String {
    match plan.campaign.timezone.parse::<Tz>() {
        Ok(tz) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// Lays out both machines.
pub fn build(plan: &Plan) -> Machines {
    Machines {
        campaign: campaign(plan),
        participant: participant(plan),
    }
}

fn campaign(plan: &Plan) -> StateMachine {
    let mut g = Graph::new();
    let mut prev = g.state("scheduled", "scheduled", false);
    for (i, p) in plan.phases.iter().enumerate() {
        let id = g.state(
            format!("phase_{}", p.name),
            format!("phase {}", p.name),
            false,
        );
        g.edge(&prev, &id, format!("at {}", local(plan, p.start)));
        for r in p.raffles.iter().filter_map(|r| plan.raffles.get(r.index())) {
            let times: Vec<String> = r.times.iter().map(|t| local(plan, *t)).collect();
            g.edge(
                &id,
                &id,
                format!(
                    "raffle {} at {}: pick {} → {}",
                    r.name,
                    times.join(", "),
                    r.pick,
                    crate::describe::actions(plan, &r.actions, None)
                ),
            );
        }
        if let Some(u) = &p.until {
            // An early exit goes where the normal end of its phase goes.
            let next = plan
                .phases
                .get(i + 1)
                .map_or_else(|| "ended".to_string(), |n| format!("phase_{}", n.name));
            let why = match u {
                Until::BudgetExhausted => "early: budget exhausted",
                Until::Condition { .. } => "early: until condition holds",
            };
            g.edge(&id, &next, why);
        }
        prev = id;
    }
    let end = g.state("ended", "ended", true);
    if let Some(last) = plan.phases.last() {
        g.edge(&prev, &end, format!("at {}", local(plan, last.end)));
    } else {
        g.edge(&prev, &end, "no phases");
    }
    g.done()
}

fn participant(plan: &Plan) -> StateMachine {
    let mut g = Graph::new();
    let eligible = g.state("eligible", "eligible", false);
    if plan.campaign.holdout_percent > rust_decimal::Decimal::ZERO {
        let holdout = g.state("holdout", "holdout (tracked, never rewarded)", true);
        g.edge(
            &eligible,
            &holdout,
            format!(
                "hashed into the {}% holdout",
                plan.campaign.holdout_percent.normalize()
            ),
        );
    }
    let enrolled = g.state("enrolled", "enrolled", false);
    let event_name = |t: &Task| match t.on {
        Trigger::Event(e) => plan
            .events
            .get(e.index())
            .map_or("event".to_string(), |ev| ev.name.clone()),
        Trigger::Enroll => "enroll".into(),
        Trigger::Birthday => "birthday".into(),
    };
    let enrolling: Vec<String> = plan
        .tasks
        .iter()
        .filter(|t| matches!(t.on, Trigger::Event(_)))
        .map(event_name)
        .collect();
    let mut seen = std::collections::HashSet::new();
    let uniq: Vec<String> = enrolling
        .into_iter()
        .filter(|e| seen.insert(e.clone()))
        .collect();
    g.edge(
        &eligible,
        &enrolled,
        if uniq.is_empty() {
            "first counted event".to_string()
        } else {
            format!("first counted {}", uniq.join(" | "))
        },
    );
    for t in &plan.tasks {
        let phase = plan
            .phases
            .get(t.phase.index())
            .map_or("?", |p| p.name.as_str());
        let id = g.state(
            format!("task_{}", t.name),
            format!("{phase} / task {}", t.name),
            false,
        );
        let mut on = format!("on {}", event_name(t));
        if t.filter.is_some() {
            on.push_str(" where …");
        }
        g.edge(&enrolled, &id, on);
        let mut limits = Vec::new();
        if let Some(n) = t.limits.per_day {
            limits.push(format!("{n}/day"));
        }
        if let Some(n) = t.limits.per_user {
            limits.push(format!("{n}/user"));
        }
        if let Some(n) = t.limits.per_phase {
            limits.push(format!("{n}/phase"));
        }
        let ev = match t.on {
            Trigger::Event(e) => Some(e),
            Trigger::Enroll | Trigger::Birthday => None,
        };
        let does = crate::describe::actions(plan, &t.actions, ev);
        let mut label = String::from("completion");
        if !limits.is_empty() {
            label.push_str(&format!(" (limit {})", limits.join(", ")));
        }
        if !does.is_empty() {
            label.push_str(&format!(" → {does}"));
        }
        g.edge(&id, &id, label);
        for s in &t.streaks {
            // One state per line: `streak_TASK`, with the days appended when a task has several.
            let suffix = if t.streaks.len() > 1 {
                format!("_{}", s.count)
            } else {
                String::new()
            };
            let sid = g.state(
                format!("streak_{}{suffix}", t.name),
                format!("{}-day streak", s.count),
                false,
            );
            g.edge(
                &id,
                &sid,
                format!(
                    "{} consecutive days → {}",
                    s.count,
                    crate::describe::actions(plan, &s.actions, ev)
                ),
            );
        }
        for a in &t.after {
            let aid = g.state(
                format!("after_{}_{}", t.name, a.count),
                format!("{} completions", a.count),
                false,
            );
            g.edge(
                &id,
                &aid,
                format!(
                    "completion #{} → {}",
                    a.count,
                    crate::describe::actions(plan, &a.actions, ev)
                ),
            );
        }
        for a in &t.every {
            let aid = g.state(
                format!("every_{}_{}", t.name, a.count),
                format!("every {} completions", a.count),
                false,
            );
            g.edge(
                &id,
                &aid,
                format!(
                    "completion #{n}, #{}, … → {}",
                    a.count.saturating_mul(2),
                    crate::describe::actions(plan, &a.actions, ev),
                    n = a.count
                ),
            );
        }
    }
    for p in &plan.phases {
        for goal in &p.goals {
            let id = g.state(
                format!("goal_{}", goal.name),
                format!("goal {}", goal.name),
                false,
            );
            g.edge(
                &enrolled,
                &id,
                format!(
                    "condition holds → {}",
                    crate::describe::actions(plan, &goal.actions, None)
                ),
            );
        }
    }
    for (gi, group) in plan.groups.iter().enumerate() {
        let open = g.state(
            format!("group_{}_open", group.name),
            format!("group {}: open", group.name),
            false,
        );
        let filled = g.state(
            format!("group_{}_filled", group.name),
            format!("group {}: filled", group.name),
            true,
        );
        let expired = g.state(
            format!("group_{}_expired", group.name),
            format!("group {}: expired", group.name),
            true,
        );
        let id = u32::try_from(gi).ok().map(GroupId);
        for t in &plan.tasks {
            let ev = match t.on {
                Trigger::Event(e) => Some(e),
                Trigger::Enroll | Trigger::Birthday => None,
            };
            for a in &t.actions {
                // Opening enters the open state; joining stays in it.
                let from = match a {
                    Action::Open { group, .. } if Some(*group) == id => &enrolled,
                    Action::Join { group, .. } if Some(*group) == id => &open,
                    _ => continue,
                };
                let label = format!("task {}: {}", t.name, crate::describe::action(plan, a, ev));
                g.edge(from, &open, label);
            }
        }
        let then = |list: &[Action]| {
            if list.is_empty() {
                String::new()
            } else {
                format!(" → {}", crate::describe::actions(plan, list, None))
            }
        };
        g.edge(
            &open,
            &filled,
            format!("member #{} joins{}", group.size, then(&group.filled)),
        );
        let when = group.within.map_or_else(
            || "the campaign ends".to_string(),
            |d| format!("{d} after opening, or the campaign ends"),
        );
        g.edge(
            &open,
            &expired,
            format!("{when} unfilled{}", then(&group.expired)),
        );
    }
    let mut prev: Option<String> = None;
    for t in &plan.tiers {
        let id = g.state(
            format!("tier_{}", t.name),
            format!("tier {}", t.name),
            false,
        );
        let grant = if t.actions.is_empty() {
            String::new()
        } else {
            format!(" → {}", crate::describe::actions(plan, &t.actions, None))
        };
        match &prev {
            None => g.edge(&enrolled, &id, format!("enrolled{grant}")),
            Some(p) => g.edge(p, &id, format!("earned ≥ {}{grant}", t.threshold)),
        }
        prev = Some(id);
    }
    g.done()
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Both machines as one Graphviz DOT document, a cluster each.
pub fn to_dot(m: &Machines) -> String {
    let mut out = String::from("digraph camp {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (name, sm) in [("campaign", &m.campaign), ("participant", &m.participant)] {
        out.push_str(&format!(
            "  subgraph cluster_{name} {{\n    label=\"{name}\";\n"
        ));
        for s in &sm.states {
            let shape = if s.terminal { ", peripheries=2" } else { "" };
            out.push_str(&format!(
                "    \"{name}.{}\" [label=\"{}\"{shape}];\n",
                dot_escape(&s.id),
                dot_escape(&s.label)
            ));
        }
        for t in &sm.transitions {
            out.push_str(&format!(
                "    \"{name}.{}\" -> \"{name}.{}\" [label=\"{}\"];\n",
                dot_escape(&t.from),
                dot_escape(&t.to),
                dot_escape(&t.on)
            ));
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(s: &str) -> String {
    // Mermaid labels cannot hold these characters raw; use its entity codes.
    s.replace('"', "#quot;")
        .replace('|', "#124;")
        .replace(';', "#59;")
}

fn mermaid_id(machine: &str, id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{machine}_{clean}")
}

/// Both machines as one Mermaid `stateDiagram-v2`.
pub fn to_mermaid(m: &Machines) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    for (name, sm) in [("campaign", &m.campaign), ("participant", &m.participant)] {
        out.push_str(&format!("  state \"{name}\" as {name} {{\n"));
        if let Some(first) = sm.states.first() {
            out.push_str(&format!("    [*] --> {}\n", mermaid_id(name, &first.id)));
        }
        for s in &sm.states {
            out.push_str(&format!(
                "    state \"{}\" as {}\n",
                mermaid_text(&s.label),
                mermaid_id(name, &s.id)
            ));
        }
        for t in &sm.transitions {
            out.push_str(&format!(
                "    {} --> {} : {}\n",
                mermaid_id(name, &t.from),
                mermaid_id(name, &t.to),
                mermaid_text(&t.on)
            ));
        }
        for s in sm.states.iter().filter(|s| s.terminal) {
            out.push_str(&format!("    {} --> [*]\n", mermaid_id(name, &s.id)));
        }
        out.push_str("  }\n");
    }
    out
}
