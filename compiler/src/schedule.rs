//! The schedule: a compiled campaign's concrete timeline, the time-driven steps a
//! launch review checks before go-live. Phase windows, every timed send, awards, grants
//! and sends on enter, and the rules that fire per participant (birthdays, inactivity),
//! each with its UTC instant and its local time in the campaign time zone. Owns the
//! three renderings `camp schedule` prints and `camp compile` writes: a plain-text
//! table, JSON and iCalendar.
//!
//! Entries come in the order the engine takes them (language §9): by time, and at one
//! instant phase end, phase start, awards, `on enter`, `at` sends, then per-participant
//! rules. The times are the planned ones; a phase that ends early (`until`) moves later
//! phases given by a duration, and the entries say so.

use camp_plan::literal::Duration;
use camp_plan::{
    Action, ArithOp, GrantOn, Measured, MessageId, Metric, Phase, Plan, QuietHours, Recipients,
    RewardId, SendWhen, TimerFrom, Trigger, Until, Value,
};
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, Event, EventLike, Property};
use serde::Serialize;

/// A campaign's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// The campaign's name (its `name`, else its identifier).
    pub campaign: String,
    /// The campaign's identifier.
    pub campaign_id: String,
    /// The IANA time zone every `local` time is in.
    pub timezone: String,
    /// The plan's source hash; calendar event UIDs derive from it.
    pub source_hash: String,
    /// The time-driven steps, in the order the engine takes them.
    pub entries: Vec<Entry>,
}

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// When it happens (a window or rule: when it starts).
    pub at: DateTime<Utc>,
    /// `at` in the campaign time zone, `2027-01-20 20:00`.
    pub local: String,
    /// The end of a window (a phase, or the phase a rule holds in); exclusive.
    pub until: Option<DateTime<Utc>>,
    /// What kind of step.
    pub kind: EntryKind,
    /// The phase it belongs to (for the campaign's end: the last phase).
    pub phase: String,
    /// What happens, in a line.
    pub what: String,
}

/// The kinds of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A phase's window.
    Phase,
    /// A message: at a time, on enter, or the rule of an `after … inactive` send.
    Send,
    /// `grant REWARD on enter`: to every participant when the phase starts.
    Grant,
    /// `award LEADERBOARD rank …`: when the phase starts.
    Award,
    /// The rule of a birthday task: 00:00 local on each participant's birthday.
    Birthday,
    /// A raffle round: winners drawn at that time.
    Raffle,
    /// The last phase ends.
    CampaignEnd,
}

impl EntryKind {
    /// The name used in JSON and in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Phase => "phase",
            EntryKind::Send => "send",
            EntryKind::Grant => "grant",
            EntryKind::Award => "award",
            EntryKind::Birthday => "birthday",
            EntryKind::Raffle => "raffle",
            EntryKind::CampaignEnd => "campaign_end",
        }
    }
}

/// The engine's order at one instant (language §9); rules, which describe what
/// happens later per participant, come last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    End,
    Start,
    Award,
    Enter,
    AtGrant,
    Raffle,
    At,
    Rule,
}

/// Local times and quiet hours of the campaign.
struct Clock {
    tz: Option<Tz>,
    quiet: Option<QuietHours>,
}

impl Clock {
    fn local(&self, t: DateTime<Utc>) -> String {
        match self.tz {
            Some(tz) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            None => t.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    fn time_of_day(&self, t: DateTime<Utc>) -> NaiveTime {
        match self.tz {
            Some(tz) => t.with_timezone(&tz).time(),
            None => t.time(),
        }
    }

    /// When a send due at local time `t` goes out, if the quiet hours defer it.
    fn deferred_to(&self, t: NaiveTime) -> Option<NaiveTime> {
        let q = self.quiet?;
        q.contains(t).then_some(q.end)
    }

    /// "quiet hours: goes out at 08:00" for a send due at local time `t`.
    fn quiet_note(&self, t: NaiveTime) -> Option<String> {
        self.deferred_to(t)
            .map(|end| format!("quiet hours: goes out at {}", end.format("%H:%M")))
    }

    /// "quiet hours: its messages go out at 08:00" for actions at local time `t` that
    /// send, when the quiet hours defer their messages.
    fn sends_note(&self, actions: &[Action], t: NaiveTime) -> Option<String> {
        if !actions.iter().any(|a| matches!(a, Action::Send { .. })) {
            return None;
        }
        self.deferred_to(t).map(|end| {
            format!(
                "quiet hours: its messages go out at {}",
                end.format("%H:%M")
            )
        })
    }
}

/// The ends of a periodic board's periods: `every` after another from the phase start,
/// the last one at the phase end.
fn period_ends(
    tz: Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    every: Duration,
) -> Vec<DateTime<Utc>> {
    let mut ends = Vec::new();
    let mut at = start;
    while let Some(next) = camp_plan::calendar::checked_add_duration(tz, at, every) {
        if next >= end || next <= at {
            break;
        }
        ends.push(next);
        at = next;
    }
    ends.push(end);
    ends
}

/// Lays out the timeline of `plan`.
pub fn build(plan: &Plan) -> Schedule {
    let tz = plan.campaign.timezone.parse::<Tz>().ok();
    let clock = Clock {
        tz,
        quiet: plan.campaign.quiet,
    };
    let early_ends = EarlyEnds::new(plan);
    let mut steps: Vec<(Step, Entry)> = Vec::new();
    let mut push = |step: Step,
                    at: DateTime<Utc>,
                    until: Option<DateTime<Utc>>,
                    kind: EntryKind,
                    phase: &Phase,
                    what: String| {
        let local = clock.local(at);
        steps.push((
            step,
            Entry {
                at,
                local,
                until,
                kind,
                phase: phase.name.clone(),
                what,
            },
        ));
    };
    for (index, phase) in plan.phases.iter().enumerate() {
        push(
            Step::Start,
            phase.start,
            Some(phase.end),
            EntryKind::Phase,
            phase,
            phase_what(plan, &clock, &early_ends, index, phase),
        );
        for a in &phase.awards {
            let ranks = if a.from_rank == a.to_rank {
                format!("rank {}", a.from_rank)
            } else {
                format!("rank {}..{}", a.from_rank, a.to_rank)
            };
            let board = plan.leaderboards.get(a.leaderboard.index());
            let name = board.map_or_else(|| format!("#{}", a.leaderboard.0), |b| b.name.clone());
            let scored = board
                .and_then(|b| plan.phases.get(b.phase.index()))
                .map(|p| format!(" (final ranks of phase `{}`)", p.name))
                .unwrap_or_default();
            let does = crate::describe::actions(plan, &a.actions, None);
            let every = board
                .filter(|b| b.phase.index() == index)
                .and_then(|b| b.every);
            if let (Some(every), Some(tz)) = (every, tz) {
                // A periodic board's award fires at the end of every period; the last
                // one ends with the phase.
                let ends = period_ends(tz, phase.start, phase.end, every);
                let count = ends.len();
                for (n, end) in ends.into_iter().enumerate() {
                    let what = format!(
                        "award `{name}` {ranks} → {does} (end of period {} of {count}){}",
                        n + 1,
                        in_parens(clock.sends_note(&a.actions, clock.time_of_day(end)))
                    );
                    let step = if end == phase.end {
                        Step::End
                    } else {
                        Step::Award
                    };
                    push(step, end, None, EntryKind::Award, phase, what);
                }
                continue;
            }
            let what = format!(
                "award `{name}` {ranks} → {does}{scored}{}",
                in_parens(clock.sends_note(&a.actions, clock.time_of_day(phase.start)))
            );
            push(
                Step::Award,
                phase.start,
                None,
                EntryKind::Award,
                phase,
                what,
            );
        }
        for g in &phase.grants {
            let pool = plan
                .rewards
                .get(g.reward.index())
                .and_then(|r| match &r.kind {
                    camp_plan::RewardKind::Pool { amount } => Some(*amount),
                    _ => None,
                });
            let cond = if g.condition.is_some() { " if …" } else { "" };
            let head = match pool {
                // One firing shares the amount among everyone it reaches.
                Some(amount) => format!(
                    "grant {} ({amount} shared) among {}",
                    reward(plan, g.reward),
                    match g.to {
                        Recipients::Participants => "the participants".to_string(),
                        other => recipients(plan, other),
                    }
                ),
                None => {
                    let to = match g.to {
                        Recipients::Participants => "every participant".to_string(),
                        other => format!("each of {}", recipients(plan, other)),
                    };
                    format!("grant {} to {to}", reward(plan, g.reward))
                }
            };
            match &g.on {
                GrantOn::Enter => push(
                    Step::Enter,
                    phase.start,
                    None,
                    EntryKind::Grant,
                    phase,
                    format!("{head} (on enter){cond}"),
                ),
                GrantOn::At { times } => {
                    for at in times {
                        let when = format!("at {}", clock.local(*at));
                        push(
                            Step::AtGrant,
                            *at,
                            None,
                            EntryKind::Grant,
                            phase,
                            format!("{head} ({when}){cond}"),
                        );
                    }
                }
                // Per participant, when they enroll: not on the clock.
                GrantOn::Enroll => {}
            }
        }
        for r in phase
            .raffles
            .iter()
            .filter_map(|r| plan.raffles.get(r.index()))
        {
            let from = recipients(plan, r.from);
            let filter = if r.filter.is_some() { " where …" } else { "" };
            let does = crate::describe::actions(plan, &r.actions, None);
            for (n, at) in r.times.iter().enumerate() {
                let what = format!(
                    "raffle `{}` round {} of {}: pick {} from {from}{filter} → {does}{}",
                    r.name,
                    n + 1,
                    r.times.len(),
                    r.pick,
                    in_parens(clock.sends_note(&r.actions, clock.time_of_day(*at)))
                );
                push(Step::Raffle, *at, None, EntryKind::Raffle, phase, what);
            }
        }
        let enter_quiet = clock.quiet_note(clock.time_of_day(phase.start));
        for s in &phase.sends {
            let head = format!(
                "send {} to {}",
                message(plan, s.message),
                recipients(plan, s.to)
            );
            match &s.when {
                SendWhen::Enter => {
                    let what =
                        format!("{head} ({})", notes(["on enter".to_string()], &enter_quiet));
                    push(Step::Enter, phase.start, None, EntryKind::Send, phase, what);
                }
                SendWhen::At { time, daily, times } => {
                    let quiet = clock.quiet_note(*time);
                    if times.is_empty() {
                        // Nothing checks this at compile time; a review should see it.
                        let what = format!(
                            "{head} (at {}): never goes out, the phase has no {} inside it",
                            time.format("%H:%M"),
                            time.format("%H:%M")
                        );
                        push(Step::Rule, phase.start, None, EntryKind::Send, phase, what);
                    }
                    for (n, at) in times.iter().enumerate() {
                        let when = if *daily {
                            format!(
                                "daily at {}, day {} of {}",
                                time.format("%H:%M"),
                                n + 1,
                                times.len()
                            )
                        } else {
                            format!("at {}", time.format("%H:%M"))
                        };
                        let what = format!("{head} ({})", notes([when], &quiet));
                        push(Step::At, *at, None, EntryKind::Send, phase, what);
                    }
                }
                SendWhen::Inactive { after } => {
                    let what = format!(
                        "{head} {after} after their last completion (rule: once per spell of inactivity, while the phase runs)"
                    );
                    push(
                        Step::Rule,
                        phase.start,
                        Some(phase.end),
                        EntryKind::Send,
                        phase,
                        what,
                    );
                }
                SendWhen::After { after, from } => {
                    let from = match from {
                        TimerFrom::Enroll => "enroll".to_string(),
                        TimerFrom::Task(t) => plan
                            .tasks
                            .get(t.index())
                            .map_or_else(|| format!("task #{}", t.0), |t| t.name.clone()),
                    };
                    let what = format!(
                        "send {} {after} after {from}, per participant (rule: once each, while the phase runs)",
                        message(plan, s.message)
                    );
                    push(
                        Step::Rule,
                        phase.start,
                        Some(phase.end),
                        EntryKind::Send,
                        phase,
                        what,
                    );
                }
                // Per participant, when they enroll: not on the clock.
                SendWhen::Enroll => {}
            }
        }
        for task in phase.tasks.iter().filter_map(|t| plan.tasks.get(t.index())) {
            if task.on != Trigger::Birthday {
                continue;
            }
            let mut what = format!(
                "birthday gifts: task `{}` at 00:00 local on each participant's birthday",
                task.name
            );
            if !task.actions.is_empty() {
                what.push_str(&format!(
                    ": {}",
                    crate::describe::actions(plan, &task.actions, None)
                ));
            }
            if let Some(quiet) = clock.sends_note(&task.actions, NaiveTime::MIN) {
                what.push_str(&format!("; {quiet}"));
            }
            push(
                Step::Rule,
                phase.start,
                Some(phase.end),
                EntryKind::Birthday,
                phase,
                what,
            );
        }
    }
    if let Some((index, last)) = plan.phases.iter().enumerate().next_back() {
        let mut what = format!("campaign ends (end of phase `{}`", last.name);
        if let Some(early) = early_ends.text(index) {
            what.push_str(&format!(", or earlier if {early} ends early"));
        }
        what.push(')');
        push(
            Step::End,
            plan.campaign.end,
            None,
            EntryKind::CampaignEnd,
            last,
            what,
        );
    }
    // Stable: entries of one instant and step keep phase and statement order.
    steps.sort_by_key(|(step, e)| (e.at, *step));
    Schedule {
        campaign: plan.campaign.name.clone(),
        campaign_id: plan.campaign.id.clone(),
        timezone: match tz {
            Some(tz) => tz.name().to_string(),
            None => "UTC".to_string(),
        },
        source_hash: plan.source_hash.clone(),
        entries: steps.into_iter().map(|(_, e)| e).collect(),
    }
}

/// "phase `main`, 14d to 2027-02-17 00:00 (or until budget exhausted; starts earlier if
/// `launch` ends early)".
fn phase_what(
    plan: &Plan,
    clock: &Clock,
    early_ends: &EarlyEnds<'_>,
    index: usize,
    phase: &Phase,
) -> String {
    let length = match phase.duration {
        Some(d) => d.to_string(),
        None => elapsed(phase.end - phase.start),
    };
    let mut notes = Vec::new();
    match &phase.until {
        Some(Until::BudgetExhausted) => notes.push("or until budget exhausted".to_string()),
        Some(Until::Condition { condition }) => {
            notes.push(format!("or until {}", metric(plan, condition, 0)))
        }
        None => {}
    }
    if phase.duration.is_some() && index > 0 {
        if let Some(early) = early_ends.text(index - 1) {
            notes.push(format!("starts earlier if {early} ends early"));
        }
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    format!(
        "phase `{}`, {length} to {}{notes}",
        phase.name,
        clock.local(phase.end)
    )
}

/// Which phases with an `until` can move the end of each phase: its own, and those
/// before it through an unbroken run of phases given by a duration (an explicit window
/// starts where it says). Computed once, so long campaigns stay linear.
struct EarlyEnds<'p> {
    plan: &'p Plan,
    /// For each phase, the first phase of its run.
    run_start: Vec<usize>,
    /// Indices of the phases with an `until`, ascending.
    untils: Vec<usize>,
}

impl<'p> EarlyEnds<'p> {
    fn new(plan: &'p Plan) -> Self {
        let mut run_start = Vec::with_capacity(plan.phases.len());
        let mut start = 0;
        for (i, p) in plan.phases.iter().enumerate() {
            if p.duration.is_none() {
                start = i;
            }
            run_start.push(start);
        }
        let untils = plan
            .phases
            .iter()
            .enumerate()
            .filter(|(_, p)| p.until.is_some())
            .map(|(i, _)| i)
            .collect();
        EarlyEnds {
            plan,
            run_start,
            untils,
        }
    }

    /// Up to the three nearest such phases before and at `index`, in order, and how
    /// many more there are.
    fn of(&self, index: usize) -> (Vec<&'p str>, usize) {
        let from = self.run_start.get(index).copied().unwrap_or(index);
        let lo = self.untils.partition_point(|i| *i < from);
        let hi = self.untils.partition_point(|i| *i <= index);
        let all = self.untils.get(lo..hi).unwrap_or(&[]);
        let shown = all.get(all.len().saturating_sub(3)..).unwrap_or(&[]);
        let names = shown
            .iter()
            .filter_map(|i| self.plan.phases.get(*i).map(|p| p.name.as_str()))
            .collect();
        (names, all.len() - shown.len())
    }

    /// "`a` or `b`" (with "or N earlier phases" when there are more), or `None`.
    fn text(&self, index: usize) -> Option<String> {
        let (names, more) = self.of(index);
        if names.is_empty() {
            return None;
        }
        let mut text = names_or(&names);
        if more > 0 {
            text.push_str(&format!(" (or one of {more} earlier phases)"));
        }
        Some(text)
    }
}

/// `when` and a quiet-hours note, if any, for inside parentheses.
fn notes<const N: usize>(when: [String; N], quiet: &Option<String>) -> String {
    when.into_iter()
        .chain(quiet.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// " (NOTE)", or nothing.
fn in_parens(note: Option<String>) -> String {
    note.map(|n| format!(" ({n})")).unwrap_or_default()
}

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
fn names_or(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// An explicit window's length as a duration literal (`3d10h`).
fn elapsed(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    let days = u32::try_from(minutes / 1440).unwrap_or(u32::MAX);
    let rest = u32::try_from(minutes % 1440).unwrap_or(0);
    Duration {
        days,
        minutes: rest,
    }
    .to_string()
}

/// "`teaser` (push)".
fn message(plan: &Plan, id: MessageId) -> String {
    match plan.messages.get(id.index()) {
        Some(m) => format!("`{}` ({})", m.name, m.channel),
        None => format!("message #{}", id.0),
    }
}

fn reward(plan: &Plan, id: RewardId) -> String {
    match plan.rewards.get(id.index()) {
        Some(r) => format!("`{}`", r.name),
        None => format!("reward #{}", id.0),
    }
}

fn recipients(plan: &Plan, to: Recipients) -> String {
    match to {
        Recipients::Audience => "audience".to_string(),
        Recipients::Participants => "participants".to_string(),
        Recipients::Segment(s) => match plan.segments.get(s.index()) {
            Some(seg) => format!("segment `{}`", seg.name),
            None => format!("segment #{}", s.0),
        },
    }
}

/// A measure as it is written (a filter shown as `where …`).
fn measure_text(plan: &Plan, id: camp_plan::MeasureId) -> String {
    let Some(m) = plan.measures.get(id.index()) else {
        return "?".to_string();
    };
    let event = |id: camp_plan::EventId| plan.events.get(id.index());
    let name = |id: camp_plan::EventId| event(id).map_or("?", |ev| ev.name.as_str());
    let field = |id: camp_plan::EventId, f: u32| {
        let ev = event(id);
        let field = ev
            .and_then(|ev| ev.fields.get(f as usize))
            .map_or("?", |f| f.name.as_str());
        format!("{}.{field}", ev.map_or("?", |ev| ev.name.as_str()))
    };
    let (func, arg) = match &m.of {
        Measured::Count { event } => ("count", name(*event).to_string()),
        Measured::Unique { event } => ("unique", name(*event).to_string()),
        Measured::Sum { event, field: f } => ("sum", field(*event, *f)),
        Measured::Repeat { event } => ("repeat", name(*event).to_string()),
        Measured::Returning { event, after } => (
            "returning",
            format!(
                "{}, {}",
                name(*event),
                value_text(&camp_plan::Value::Duration(*after))
            ),
        ),
        Measured::Nps { event, field: f } => ("nps", field(*event, *f)),
        Measured::Completions { task } => (
            "completions",
            plan.tasks
                .get(task.index())
                .map_or("?", |t| t.name.as_str())
                .to_string(),
        ),
        Measured::Sent { message } => (
            "sent",
            plan.messages
                .get(message.index())
                .map_or("?", |m| m.name.as_str())
                .to_string(),
        ),
    };
    let filter = if m.filter.is_some() { " where …" } else { "" };
    format!("{func}({arg}{filter})")
}

/// A metric condition as it would be written, with parentheses only where needed.
/// `outer` is the binding strength of the surrounding operator.
fn metric(plan: &Plan, m: &Metric, outer: u8) -> String {
    let event = |id: camp_plan::EventId| plan.events.get(id.index());
    let (strength, text) = match m {
        Metric::Const { value } => (9, value_text(value)),
        Metric::Count { event: e } => (
            9,
            format!("count({})", event(*e).map_or("?", |ev| ev.name.as_str())),
        ),
        Metric::Unique { event: e } => (
            9,
            format!("unique({})", event(*e).map_or("?", |ev| ev.name.as_str())),
        ),
        Metric::Sum { event: e, field } => {
            let ev = event(*e);
            let field = ev
                .and_then(|ev| ev.fields.get(*field as usize))
                .map_or("?", |f| f.name.as_str());
            (
                9,
                format!("sum({}.{field})", ev.map_or("?", |ev| ev.name.as_str())),
            )
        }
        Metric::Granted { reward } => (
            9,
            format!(
                "granted({})",
                plan.rewards
                    .get(reward.index())
                    .map_or("?", |r| r.name.as_str())
            ),
        ),
        Metric::Opened { group } => (9, format!("opened({})", group_name(plan, *group))),
        Metric::Joined { group } => (9, format!("joined({})", group_name(plan, *group))),
        Metric::Filled { group } => (9, format!("filled({})", group_name(plan, *group))),
        Metric::Expired { group } => (9, format!("expired({})", group_name(plan, *group))),
        Metric::Winners { raffle } => (
            9,
            format!(
                "winners({})",
                plan.raffles
                    .get(raffle.index())
                    .map_or("?", |r| r.name.as_str())
            ),
        ),
        Metric::Measure { measure } => (9, measure_text(plan, *measure)),
        Metric::Spend => (9, "spend".to_string()),
        Metric::Participants => (9, "participants".to_string()),
        Metric::Audience => (9, "audience".to_string()),
        Metric::Kpi { kpi } => (
            9,
            plan.kpis
                .get(kpi.index())
                .map_or("?", |k| k.name.as_str())
                .to_string(),
        ),
        Metric::Arith { arith, lhs, rhs } => {
            let (s, op) = match arith {
                ArithOp::Add => (5, "+"),
                ArithOp::Sub => (5, "-"),
                ArithOp::Mul => (6, "*"),
                ArithOp::Div => (6, "/"),
            };
            (
                s,
                format!("{} {op} {}", metric(plan, lhs, s), metric(plan, rhs, s + 1)),
            )
        }
        Metric::Neg { arg } => (7, format!("-{}", metric(plan, arg, 7))),
        Metric::Compare { cmp, lhs, rhs } => {
            let op = cmp.symbol();
            (
                4,
                format!("{} {op} {}", metric(plan, lhs, 5), metric(plan, rhs, 5)),
            )
        }
        Metric::Not { arg } => (3, format!("not {}", metric(plan, arg, 3))),
        Metric::And { lhs, rhs } => (
            2,
            format!("{} and {}", metric(plan, lhs, 2), metric(plan, rhs, 3)),
        ),
        Metric::Or { lhs, rhs } => (
            1,
            format!("{} or {}", metric(plan, lhs, 1), metric(plan, rhs, 2)),
        ),
    };
    if strength < outer {
        format!("({text})")
    } else {
        text
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Percent(p) => format!("{}%", p.normalize()),
        Value::Money(m) => m.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Datetime(t) => t.format("%Y-%m-%dT%H:%MZ").to_string(),
        Value::Time(t) => t.format("%H:%M").to_string(),
        Value::Duration(d) => d.to_string(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The table for a launch review: a header line, then `local time  kind  phase  what`
/// in aligned columns.
pub fn to_table(s: &Schedule) -> String {
    let mut out = if s.campaign == s.campaign_id {
        format!("{}, times in {}\n\n", s.campaign, s.timezone)
    } else {
        format!(
            "{} ({}), times in {}\n\n",
            s.campaign, s.campaign_id, s.timezone
        )
    };
    let header = ["local time", "kind", "phase", "what"];
    let rows: Vec<[&str; 4]> = s
        .entries
        .iter()
        .map(|e| {
            [
                e.local.as_str(),
                e.kind.as_str(),
                e.phase.as_str(),
                e.what.as_str(),
            ]
        })
        .collect();
    // Every padded column is ASCII (times, kinds, identifiers), so width is the
    // character count; the free text comes last and is never padded.
    let width = |col: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .filter_map(|r| r.get(col))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let rule = [
        "-".repeat(widths[0]),
        "-".repeat(widths[1]),
        "-".repeat(widths[2]),
        "-".repeat(4),
    ];
    let rule: [&str; 4] = [&rule[0], &rule[1], &rule[2], &rule[3]];
    for row in std::iter::once(&header)
        .chain(std::iter::once(&rule))
        .chain(rows.iter())
    {
        let mut line = String::new();
        for (col, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if let Some(w) = widths.get(col) {
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The schedule as pretty JSON, with a trailing newline.
pub fn to_json(s: &Schedule) -> String {
    // Plain structs of strings and times: serializing them cannot fail.
    let mut out = serde_json::to_string_pretty(s).unwrap_or_default();
    out.push('\n');
    out
}

/// The PRODID of every calendar written.
const PRODID: &str = "-//camp//campaign-as-code//EN";

/// An iCalendar file (RFC 5545, CRLF line endings) with one event per entry: phases and
/// rules span their window, the rest are points in time. Byte-identical for the same
/// schedule: UIDs derive from the source hash and the entry's position, and DTSTAMP is
/// the campaign's start, not the time of writing.
pub fn to_ics(s: &Schedule) -> String {
    let stamp = s.entries.first().map_or(DateTime::UNIX_EPOCH, |e| e.at);
    let hash = s.source_hash.get(..16).unwrap_or(&s.source_hash);
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        // The crate escapes the TEXT of the properties it knows (X- ones included), but
        // writes NAME (RFC 7986) verbatim.
        .append_property(Property::new("NAME", escape_text(&s.campaign)))
        .append_property(Property::new("X-WR-CALNAME", s.campaign.as_str()))
        .append_property(Property::new("X-WR-TIMEZONE", s.timezone.as_str()));
    for (index, e) in s.entries.iter().enumerate() {
        let kind = e.kind.as_str();
        let mut event = Event::new();
        event
            .uid(&format!("{hash}-{index:04}-{kind}@{}.camp", s.campaign_id))
            .timestamp(stamp)
            .starts(e.at)
            .summary(&format!("{}: {}", s.campaign, e.what.replace('`', "")))
            .description(&format!(
                "{}\n\nLocal time: {} ({})\nPhase: {}\nCampaign: {} ({})",
                e.what, e.local, s.timezone, e.phase, s.campaign, s.campaign_id
            ))
            .categories([kind])
            .add_property("TRANSP", "TRANSPARENT");
        // Without DTEND an event with a DTSTART date-time lasts zero time (RFC 5545
        // §3.6.1), which is what a send or an award is.
        if let Some(until) = e.until.filter(|u| *u > e.at) {
            event.ends(until);
        }
        cal.push(event.done());
    }
    // Writing into a String cannot fail.
    let written = TryInto::<String>::try_into(&cal).unwrap_or_default();
    refold(&written)
}

/// The longest content line RFC 5545 §3.1 allows, in octets, not counting its CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// Folds every content line of `ics` anew, so that no physical line is longer than
/// [`MAX_LINE_OCTETS`] octets: the icalendar crate's own folding can leave a last
/// continuation line of 76. Lines are first unfolded (RFC 5545 §3.1: a CRLF followed
/// by one space or tab is removed), then cut before the character that would pass the
/// limit, counting the octets of the escaped text as written and the space that starts
/// each continuation line; a UTF-8 character is never split.
fn refold(ics: &str) -> String {
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 25);
    for line in unfolded.split_terminator("\r\n") {
        let mut used = 0;
        for c in line.chars() {
            let octets = c.len_utf8();
            if used + octets > MAX_LINE_OCTETS {
                out.push_str("\r\n ");
                used = 1;
            }
            out.push(c);
            used += octets;
        }
        out.push_str("\r\n");
    }
    out
}

/// TEXT escaping (RFC 5545 §3.3.11) for the properties the icalendar crate writes
/// verbatim (NAME: the crate escapes only the properties it knows as TEXT).
fn escape_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn group_name(plan: &Plan, g: camp_plan::GroupId) -> &str {
    plan.groups.get(g.index()).map_or("?", |x| x.name.as_str())
}
