//! The Plan: a campaign compiled for execution. Everything is resolved (definitions
//! refer to each other by index, never by name), every time is in UTC, every phase
//! window is concrete. The runtime loads it without the source.
//!
//! Indices: `RewardId(3)` is `plan.rewards[3]`, and so on for every `*Id`.

use crate::literal::{Duration, Money};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The plan format this build writes and reads. Bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 2;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into its list.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

ids! {
    /// Index into [`Plan::attrs`].
    AttrId;
    /// Index into [`Plan::events`].
    EventId;
    /// Index into [`Plan::rewards`].
    RewardId;
    /// Index into [`Plan::segments`].
    SegmentId;
    /// Index into [`Plan::messages`].
    MessageId;
    /// Index into [`Plan::phases`].
    PhaseId;
    /// Index into [`Plan::tasks`].
    TaskId;
    /// Index into [`Plan::leaderboards`].
    LeaderboardId;
    /// Index into [`Plan::tiers`].
    TierId;
    /// Index into [`Plan::kpis`].
    KpiId;
    /// Index into [`Plan::measures`].
    MeasureId;
    /// Index into [`Plan::groups`].
    GroupId;
    /// Index into [`Plan::raffles`].
    RaffleId;
    /// Index into [`Plan::experiments`].
    ExperimentId;
}

/// A compiled campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// [`FORMAT_VERSION`] at the time of writing.
    pub format_version: u32,
    /// SHA-256 over the source texts in load order (each prefixed by its length), so the
    /// hash does not depend on where the files are.
    pub source_hash: String,
    /// The campaign block.
    pub campaign: Campaign,
    /// Declared user attributes.
    pub attrs: Vec<Attr>,
    /// Event types clients send.
    pub events: Vec<EventType>,
    /// Rewards.
    pub rewards: Vec<Reward>,
    /// Named conditions.
    pub segments: Vec<Segment>,
    /// Messages with a template per locale.
    pub messages: Vec<Message>,
    /// Phases in running order, with concrete windows.
    pub phases: Vec<Phase>,
    /// Tasks of all phases.
    pub tasks: Vec<Task>,
    /// Leaderboards of all phases.
    pub leaderboards: Vec<Leaderboard>,
    /// Tiers from the lowest threshold up.
    pub tiers: Vec<Tier>,
    /// KPIs.
    pub kpis: Vec<Kpi>,
    /// The metrics KPIs read that the engine keeps slot by slot: filtered ones, those
    /// that need per-user facts (`repeat`, `returning`, `nps`), `completions`, `sent`,
    /// and every metric of a KPI reported per arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measures: Vec<Measure>,
    /// Group kinds (§7).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Raffles of all phases (§8).
    #[serde(default)]
    pub raffles: Vec<Raffle>,
    /// Experiments (§11), in declaration order: the order of `assign` effects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<Experiment>,
    /// The campaign's and the participant's state machines.
    pub machines: Machines,
}

/// The campaign block, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Campaign {
    /// The identifier after `campaign`.
    pub id: String,
    /// `name`, else the identifier.
    pub name: String,
    /// Its doc comment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub docs: Option<String>,
    /// IANA time zone name.
    pub timezone: String,
    /// When the first phase starts.
    pub start: DateTime<Utc>,
    /// When the last phase ends (before any early exit).
    pub end: DateTime<Utc>,
    /// Locales; the first is the default.
    pub locales: Vec<String>,
    /// The cap on monetary spend.
    pub budget: Option<Money>,
    /// Who is eligible; `None`: everyone.
    pub audience: Option<Expr>,
    /// Percent of eligible users held out (5 for 5%).
    pub holdout_percent: Decimal,
    /// Messages per user per local day, all channels.
    pub cap_per_day: Option<u32>,
    /// Quiet hours, local.
    pub quiet: Option<QuietHours>,
    /// `enroll audience`: every eligible, non-holdout user is a participant as soon as
    /// both they are known and the campaign has started.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enroll_audience: bool,
}

/// Sends in `[start, end)` local time are deferred to `end`; the window may wrap midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuietHours {
    /// Start, local.
    pub start: NaiveTime,
    /// End, local.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether a local time of day is inside the quiet hours: `[start, end)`, wrapping
    /// midnight when start is after end; an empty window when they are equal.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else if self.start > self.end {
            t >= self.start || t < self.end
        } else {
            false
        }
    }
}

/// The type of an attribute or event field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Whole number.
    Int,
    /// Decimal number.
    Decimal,
    /// `true`/`false`.
    Bool,
    /// Text.
    String,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339.
    Datetime,
    /// `"20 CNY"`.
    Money,
    /// Duration.
    Duration,
    /// A list of strings.
    ListString,
    /// A user id (a JSON string) naming a user of the campaign.
    User,
}

/// A user attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Attr {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ValueType,
}

/// An event type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventType {
    /// Its name (the `type` of incoming events).
    pub name: String,
    /// Its fields (the `data` of incoming events).
    pub fields: Vec<Attr>,
}

/// A reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reward {
    /// Its name.
    pub name: String,
    /// `label`, else an item's or badge's text, else the name.
    pub label: String,
    /// What it is.
    pub kind: RewardKind,
    /// Total that can ever be granted; `None`: unlimited.
    pub stock: Option<u64>,
    /// At most this many granted per local calendar day (the campaign time zone);
    /// `None`: no daily limit.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stock_per_day: Option<u64>,
    /// Per participant; `None`: unlimited (a badge: 1).
    pub per_user: Option<u64>,
    /// What one grant costs against the budget (a coupon's value, an item's cost);
    /// `None` for a pool, whose grants cost their share.
    pub cost: Option<Money>,
    /// `reward.value` in templates: a coupon's value, an item's cost, `N points` for points.
    pub value: Option<String>,
}

/// The kinds of reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RewardKind {
    /// Adds to the point balance.
    Points {
        /// How many.
        amount: i64,
    },
    /// A coupon.
    Coupon {
        /// Its face value.
        value: Money,
        /// Validity after grant.
        expires: Option<Duration>,
    },
    /// A good.
    Item,
    /// Held at most once.
    Badge,
    /// A lottery over other rewards.
    Draw {
        /// Each possible win with its chance in percent; the rest wins nothing.
        outcomes: Vec<DrawOutcome>,
    },
    /// Money shared equally among the recipients of one firing of a mass grant (a
    /// raffle round, an award, a group outcome, an `on enter` or `at` grant): each
    /// share is the amount divided by their number, rounded down to the currency's
    /// minor unit ([`Money::share`]).
    Pool {
        /// What one firing shares out.
        amount: Money,
    },
}

impl Reward {
    /// The money the reward is in, if any: a coupon's value, an item's cost, a pool's
    /// amount (what one firing shares, not what one grant costs).
    pub fn money(&self) -> Option<Money> {
        match &self.kind {
            RewardKind::Pool { amount } => Some(*amount),
            _ => self.cost,
        }
    }
}

/// One possible win of a draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrawOutcome {
    /// Chance in percent.
    pub percent: Decimal,
    /// The reward won.
    pub reward: RewardId,
}

/// A named condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Segment {
    /// Its name.
    pub name: String,
    /// Its condition.
    pub condition: Expr,
}

/// A message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// Its name.
    pub name: String,
    /// `push`, `sms`, `email`, `in_app`, `wechat` or `webhook`.
    pub channel: String,
    /// One template per campaign locale, in the campaign's locale order; empty for a
    /// message `by` an experiment (its templates are in `by`).
    pub templates: Vec<Template>,
    /// `by EXPERIMENT`: a body per variant.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by: Option<MessageVariants>,
}

/// The bodies of a message `by` an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageVariants {
    /// The experiment.
    pub experiment: ExperimentId,
    /// For each variant of the experiment, in its order, one template per campaign
    /// locale, in the campaign's locale order.
    pub templates: Vec<Vec<Template>>,
}

impl Message {
    /// The templates of variant `variant` of the message's experiment (its index among
    /// the experiment's variants); the first variant's for `None` or a variant out of
    /// range, and the message's only templates when it has no experiment.
    pub fn templates_for(&self, variant: Option<usize>) -> &[Template] {
        match &self.by {
            None => &self.templates,
            Some(by) => variant
                .and_then(|v| by.templates.get(v))
                .or_else(|| by.templates.first())
                .map_or(&[][..], Vec::as_slice),
        }
    }

    /// Every template, each with its variant's index (`None` when the message has no
    /// experiment).
    pub fn all_templates(&self) -> impl Iterator<Item = (Option<usize>, &Template)> + '_ {
        let plain = self.templates.iter().map(|t| (None, t));
        let variants = self.by.iter().flat_map(|by| {
            by.templates
                .iter()
                .enumerate()
                .flat_map(|(v, ts)| ts.iter().map(move |t| (Some(v), t)))
        });
        plain.chain(variants)
    }
}

/// The most variants one experiment may have: the engine keeps a participant's variant
/// of each experiment in one byte (its index plus one, zero for none). The compiler
/// reports more (E0409); the engine refuses a plan with more.
pub const MAX_VARIANTS: usize = u8::MAX as usize;

/// An experiment (§11): each participant gets one of its variants when they enroll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Experiment {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub docs: Option<String>,
    /// Its variants, in the order written; their weights total 100.
    pub variants: Vec<Variant>,
}

/// One variant of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Variant {
    /// Its name.
    pub name: String,
    /// The percent of participants it gets (50 for 50%).
    pub weight: Decimal,
}

/// A message's text in one locale: minijinja templates, checked at compile time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Template {
    /// The locale.
    pub locale: String,
    /// Email only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<String>,
    /// The body.
    pub body: String,
}

/// A phase with its concrete window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Phase {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub docs: Option<String>,
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive), unless it ends early.
    pub end: DateTime<Utc>,
    /// Given by duration (`for 5d`): moves earlier when a phase before it ends early.
    /// `None`: an explicit window that stays put.
    pub duration: Option<Duration>,
    /// Early exit.
    pub until: Option<Until>,
    /// The tasks of this phase.
    pub tasks: Vec<TaskId>,
    /// The leaderboards scored in this phase.
    pub leaderboards: Vec<LeaderboardId>,
    /// Awards fired when this phase starts.
    pub awards: Vec<Award>,
    /// Goals checked while this phase runs.
    pub goals: Vec<Goal>,
    /// Phase-level sends.
    pub sends: Vec<Send>,
    /// `grant REWARD on enroll|enter`.
    pub grants: Vec<PhaseGrant>,
    /// The raffles drawn while this phase runs.
    #[serde(default)]
    pub raffles: Vec<RaffleId>,
}

/// A phase's early exit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Until {
    /// At the first grant denied for budget.
    BudgetExhausted,
    /// When a condition over metrics and KPIs holds.
    Condition {
        /// The condition.
        condition: Metric,
    },
}

/// A task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub docs: Option<String>,
    /// The phase it belongs to.
    pub phase: PhaseId,
    /// What it counts.
    pub on: Trigger,
    /// Which of those events count.
    pub filter: Option<Expr>,
    /// Completion limits.
    pub limits: Limits,
    /// `within DURATION of enroll|TASK`: counts only inside that window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Within>,
    /// Run on every counted completion, in the order written.
    pub actions: Vec<Action>,
    /// Consecutive local days with a completion: every `streak` line, in order, each
    /// running once per participant (the first time the streak reaches its count).
    pub streaks: Vec<Milestone>,
    /// `after N`: the N-th completion, once per participant per line.
    pub after: Vec<Milestone>,
    /// `every N`: the N-th, 2N-th, 3N-th … completion.
    #[serde(default)]
    pub every: Vec<Milestone>,
}

/// A task's window: `within DURATION of enroll|TASK` (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Within {
    /// How long it lasts.
    pub duration: Duration,
    /// When it opens, per participant (inclusive).
    pub of: TimerFrom,
}

/// The per-participant instant a task window or a timed send counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", content = "task", rename_all = "snake_case")]
pub enum TimerFrom {
    /// Their enrollment.
    Enroll,
    /// Their first counted completion of a task.
    Task(TaskId),
}

/// What an action does: one line of an action block (§6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `grant REWARD [to TARGET]`: stock, `per_user` and budget apply.
    Grant {
        /// The reward.
        reward: RewardId,
        /// Who receives it.
        to: Target,
    },
    /// `send MESSAGE [to TARGET]`: holdout, cap and quiet hours apply.
    Send {
        /// The message.
        message: MessageId,
        /// Who receives it.
        to: Target,
    },
    /// `use REWARD [N]` / `use N points`: consumes held units of the participant whose
    /// completion it is; the completion needs them.
    Use {
        /// What is used.
        units: Units,
        /// How many (at least 1).
        count: u64,
    },
    /// `give REWARD [N] to TARGET` / `give N points to TARGET`: moves held units; no stock
    /// or budget change; the receiver's `per_user` applies.
    Give {
        /// What is given.
        units: Units,
        /// How many (at least 1).
        count: u64,
        /// Who receives them.
        to: Target,
    },
    /// `revoke REWARD [N] [from TARGET]`: takes back up to N (all when `None`) units;
    /// stock comes back, money is refunded to the budget, points lower the balance and
    /// `earned`.
    Revoke {
        /// What is taken back.
        units: Units,
        /// Up to how many; `None`: every unit held.
        count: Option<u64>,
        /// From whom.
        from: Target,
    },
    /// `open GROUP by event.FIELD`: needs a key never opened in that group kind.
    Open {
        /// The group kind.
        group: GroupId,
        /// The `string` field of the task's event that holds the key.
        key: u32,
    },
    /// `join GROUP by event.FIELD`: needs an open, unfilled group with that key the
    /// participant is not in.
    Join {
        /// The group kind.
        group: GroupId,
        /// The `string` field of the task's event that holds the key.
        key: u32,
    },
}

/// What `use`, `give` and `revoke` move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "units", content = "reward", rename_all = "snake_case")]
pub enum Units {
    /// The point balance.
    Points,
    /// Units of a reward (never a draw).
    Reward(RewardId),
}

/// Who an action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "target", content = "index", rename_all = "snake_case")]
pub enum Target {
    /// The participant whose completion it is (in a mass grant, each recipient).
    Own,
    /// A `user` attribute of that participant (`user.invited_by`).
    Attr(AttrId),
    /// A `user` field of the triggering event (`event.invitee`), by index.
    Field(u32),
    /// Every member of the group, in join order, opener first (a group's outcome).
    Members,
    /// The one who opened the group (a group's outcome).
    Opener,
}

/// What a task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "event", rename_all = "snake_case")]
pub enum Trigger {
    /// A declared event type.
    Event(EventId),
    /// A user becoming a participant.
    Enroll,
    /// 00:00 local on the participant's birthday.
    Birthday,
}

/// Completion limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    /// Per local calendar day.
    pub per_day: Option<u32>,
    /// Per participant, whole campaign.
    pub per_user: Option<u32>,
    /// Per participant, this phase.
    pub per_phase: Option<u32>,
    /// Per participant and distinct value of one event field (`limit 1 per
    /// event.invitee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_field: Option<FieldLimit>,
}

/// `limit N per event.FIELD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldLimit {
    /// The field's index in the task's event type.
    pub field: u32,
    /// Completions per distinct value.
    pub count: u32,
}

/// A count that runs actions: `streak N days`, `after N`, `every N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Milestone {
    /// Days (streak) or completions (after, every).
    pub count: u32,
    /// What it does, in order.
    pub actions: Vec<Action>,
}

/// A leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Leaderboard {
    /// Its name.
    pub name: String,
    /// The phase it is scored over.
    pub phase: PhaseId,
    /// What it scores.
    pub score: Score,
    /// How many ranks are shown and awardable; `None`: all.
    pub show_top: Option<u32>,
    /// `every DURATION`: the board is periodic. Periods start at the phase start and
    /// follow each other (the last one ends with the phase); scores start from zero in
    /// each, and the phase's awards for the board fire at the end of every period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Duration>,
}

/// What a leaderboard scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum Score {
    /// Points earned in the phase.
    Points,
    /// Counted events.
    Count {
        /// The event.
        event: EventId,
    },
    /// The sum of a numeric or money field.
    Sum {
        /// The event.
        event: EventId,
        /// The field's index in the event's fields.
        field: u32,
    },
    /// `count(TASK)`: counted completions of the task in the phase.
    Completions {
        /// The task.
        task: TaskId,
    },
    /// `holds(REWARD)`: units held now (votes granted to an author rank authors).
    Holds {
        /// The reward.
        reward: RewardId,
    },
}

/// `award LB rank A..B => ACTIONS`, fired when its phase starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Award {
    /// The leaderboard (of an earlier phase).
    pub leaderboard: LeaderboardId,
    /// First rank, from 1.
    pub from_rank: u32,
    /// Last rank, inclusive.
    pub to_rank: u32,
    /// What each ranked participant gets, in rank order.
    pub actions: Vec<Action>,
}

/// `goal NAME when EXPR => ACTIONS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Goal {
    /// Its name.
    pub name: String,
    /// When it is reached.
    pub condition: Expr,
    /// What it does, once per participant.
    pub actions: Vec<Action>,
}

/// A phase-level send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Send {
    /// The message.
    pub message: MessageId,
    /// When.
    pub when: SendWhen,
    /// To whom.
    pub to: Recipients,
    /// `if EXPR`, evaluated for each recipient when the send is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Expr>,
}

/// When a phase-level send goes out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum SendWhen {
    /// At a local time: on the phase's first day, or every day of it.
    At {
        /// Local time of day.
        time: NaiveTime,
        /// Every day of the phase.
        daily: bool,
        /// The concrete instants, in UTC, in order (DST applied).
        times: Vec<DateTime<Utc>>,
    },
    /// When the phase starts.
    Enter,
    /// When a participant enrolls in this phase.
    Enroll,
    /// This long after a participant's last counted completion.
    Inactive {
        /// The spell of inactivity.
        after: Duration,
    },
    /// Once per participant, this long after their enrollment or their first counted
    /// completion of a task.
    After {
        /// How long after.
        after: Duration,
        /// After what.
        from: TimerFrom,
    },
}

/// Who receives a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "to", content = "segment", rename_all = "snake_case")]
pub enum Recipients {
    /// Every eligible user known.
    Audience,
    /// Every participant.
    Participants,
    /// Users matching a segment.
    Segment(SegmentId),
}

/// `grant REWARD on enroll|on enter|at TIMES [to RECIPIENTS] [if EXPR]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseGrant {
    /// The reward.
    pub reward: RewardId,
    /// When.
    pub on: GrantOn,
    /// To whom (a mass grant; `on enroll` reaches the enrolling participant if they
    /// are among these).
    #[serde(default = "participants")]
    pub to: Recipients,
    /// `if EXPR`, evaluated for each recipient when the grant is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Expr>,
}

fn participants() -> Recipients {
    Recipients::Participants
}

/// When a phase-level grant fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantOn {
    /// To each participant enrolling in the phase.
    Enroll,
    /// To each recipient when the phase starts.
    Enter,
    /// To each recipient at these instants.
    At {
        /// The instants, in UTC, in order, inside the phase as planned.
        times: Vec<DateTime<Utc>>,
    },
}

/// A tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tier {
    /// Its name.
    pub name: String,
    /// `earned` points needed.
    pub threshold: i64,
    /// What reaching it does.
    pub actions: Vec<Action>,
}

/// A group kind (§7): members form groups by key; a group fills or expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub docs: Option<String>,
    /// Members, the opener included, that fill a group (at least 2).
    pub size: u32,
    /// How long a group stays open; `None`: until the campaign ends.
    pub within: Option<Duration>,
    /// Run when a group fills (default target: every member).
    pub filled: Vec<Action>,
    /// Run when a group expires unfilled (default target: every member).
    pub expired: Vec<Action>,
}

/// `raffle NAME at TIMES pick N [from …] [where …] => ACTIONS` (§8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Raffle {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub docs: Option<String>,
    /// The phase it stands in.
    pub phase: PhaseId,
    /// The rounds' instants, in UTC, in order.
    pub times: Vec<DateTime<Utc>>,
    /// Winners per round.
    pub pick: u32,
    /// Who enters (participants by default; holdout users never).
    pub from: Recipients,
    /// Which of them enter.
    pub filter: Option<Expr>,
    /// What each winner gets, in draw order.
    pub actions: Vec<Action>,
}

/// A KPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Kpi {
    /// Its name.
    pub name: String,
    /// The formula.
    pub formula: Metric,
    /// The comparison with the target.
    pub op: CompareOp,
    /// The target.
    pub target: Value,
    /// `by holdout` or `by EXPERIMENT`: the arms it is reported for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Arms>,
    /// For a KPI reported per arm whose formula is a share of users or a per-user mean
    /// over the arms' population: the test comparing the arms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<ArmTest>,
}

/// What a KPI's arms are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "arms", rename_all = "snake_case")]
pub enum Arms {
    /// `by holdout`: the holdout, then everyone else eligible, over the audience.
    Holdout,
    /// `by EXPERIMENT`: its variants in the order written, over participants.
    Experiment {
        /// The experiment.
        experiment: ExperimentId,
    },
}

/// How a KPI's arms are compared (language §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum ArmTest {
    /// A share of users (`unique`, `repeat`, `returning` over the arm's population):
    /// a two-proportion z-test.
    Proportion {
        /// The users counted.
        measure: MeasureId,
    },
    /// A per-user mean (`count`, `sum` over the arm's population): Welch's t-test.
    Mean {
        /// The per-user total.
        measure: MeasureId,
    },
}

/// A metric kept in its own slot (see [`Plan::measures`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measure {
    /// What it counts.
    pub of: Measured,
    /// `where`: the events it counts (over the event's fields and its sender).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Expr>,
    /// The arms it is also kept per arm for (the KPIs `by` them read it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arms: Vec<Arms>,
    /// Whether each user's own total is kept (for the spread of a per-user mean).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_user: bool,
    /// Whether only participants count: the metric is divided by `participants` in its
    /// KPI, so it counts what participants did (events, answers, sends while they
    /// participate), never a holdout user's or a not-yet-enrolled user's. A share of
    /// participants is then at most 100%, and a per-participant mean is over them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub participants_only: bool,
}

/// What a [`Measure`] counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Measured {
    /// `count(EVENT)`: accepted events.
    Count {
        /// The event.
        event: EventId,
    },
    /// `unique(EVENT)`: distinct users who sent one.
    Unique {
        /// The event.
        event: EventId,
    },
    /// `sum(EVENT.FIELD)`.
    Sum {
        /// The event.
        event: EventId,
        /// The field's index.
        field: u32,
    },
    /// `repeat(EVENT)`: users who sent two or more.
    Repeat {
        /// The event.
        event: EventId,
    },
    /// `returning(EVENT, DURATION)`: participants who sent one at least `after` after
    /// they enrolled.
    Returning {
        /// The event.
        event: EventId,
        /// How long after enrolling.
        after: Duration,
    },
    /// `nps(EVENT.FIELD)`: promoters (9–10) less detractors (0–6), in percent of the
    /// users who answered, over each user's latest answer.
    Nps {
        /// The event.
        event: EventId,
        /// The `int` field's index.
        field: u32,
    },
    /// `completions(TASK)`: counted completions.
    Completions {
        /// The task.
        task: TaskId,
    },
    /// `sent(MESSAGE)`: sends that went out.
    Sent {
        /// The message.
        message: MessageId,
    },
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CompareOp {
    /// `==`.
    #[serde(rename = "==")]
    Eq,
    /// `!=`.
    #[serde(rename = "!=")]
    Ne,
    /// `<`.
    #[serde(rename = "<")]
    Lt,
    /// `<=`.
    #[serde(rename = "<=")]
    Le,
    /// `>`.
    #[serde(rename = ">")]
    Gt,
    /// `>=`.
    #[serde(rename = ">=")]
    Ge,
}

impl CompareOp {
    /// The operator as written: `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// Arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ArithOp {
    /// `+`.
    #[serde(rename = "+")]
    Add,
    /// `-`.
    #[serde(rename = "-")]
    Sub,
    /// `*`.
    #[serde(rename = "*")]
    Mul,
    /// `/`.
    #[serde(rename = "/")]
    Div,
}

/// A constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// Whole number.
    Int(i64),
    /// Decimal number.
    Decimal(Decimal),
    /// A percent (15 for 15%).
    Percent(Decimal),
    /// Money.
    Money(Money),
    /// Text.
    String(String),
    /// `true`/`false`.
    Bool(bool),
    /// A calendar date.
    Date(NaiveDate),
    /// An instant.
    Datetime(DateTime<Utc>),
    /// A local time of day.
    Time(NaiveTime),
    /// A duration.
    Duration(Duration),
    /// A list.
    List(Vec<Value>),
}

/// A resolved condition or value over a user, a participant and an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Expr {
    /// A constant.
    Const {
        /// The value.
        value: Value,
    },
    /// `user.<attr>`.
    UserAttr {
        /// The attribute.
        attr: AttrId,
    },
    /// `event.<field>` (in a task's filter).
    EventField {
        /// The field's index in the task's event type.
        field: u32,
    },
    /// `user.id`.
    UserId,
    /// `participant.points`: the point balance.
    Points,
    /// `participant.earned`: points ever granted less those revoked.
    Earned,
    /// `participant.enrolled_at`.
    EnrolledAt,
    /// `participant.count.TASK`: counted completions.
    TaskCount {
        /// The task.
        task: TaskId,
    },
    /// `participant.today.TASK`: counted completions on the current local day.
    TaskToday {
        /// The task.
        task: TaskId,
    },
    /// `participant.streak.TASK`: the current run of consecutive days.
    TaskStreak {
        /// The task.
        task: TaskId,
    },
    /// `participant.rank.LEADERBOARD`: the current rank, null when unranked.
    Rank {
        /// The leaderboard.
        leaderboard: LeaderboardId,
    },
    /// `counted(TASK)`: whether TASK (earlier, same phase, same event) counted this
    /// very event.
    Counted {
        /// The task.
        task: TaskId,
    },
    /// `participant.tier` (the tier's name; empty before enrollment).
    Tier,
    /// `participant.variant.EXPERIMENT`: the name of the participant's variant, null
    /// for a user who has none (not enrolled).
    Variant {
        /// The experiment.
        experiment: ExperimentId,
    },
    /// `participant.enrolled`.
    Enrolled,
    /// `holds(REWARD)`: how many the participant holds now (received, less used,
    /// given away and revoked).
    Holds {
        /// The reward.
        reward: RewardId,
    },
    /// A segment's condition.
    Segment {
        /// The segment.
        segment: SegmentId,
    },
    /// `not`.
    Not {
        /// The operand.
        arg: Box<Expr>,
    },
    /// Unary minus.
    Neg {
        /// The operand.
        arg: Box<Expr>,
    },
    /// `and` (short-circuit).
    And {
        /// Left.
        lhs: Box<Expr>,
        /// Right.
        rhs: Box<Expr>,
    },
    /// `or` (short-circuit).
    Or {
        /// Left.
        lhs: Box<Expr>,
        /// Right.
        rhs: Box<Expr>,
    },
    /// A comparison.
    Compare {
        /// Which.
        cmp: CompareOp,
        /// Left.
        lhs: Box<Expr>,
        /// Right.
        rhs: Box<Expr>,
    },
    /// `lhs in [..]`, or `lhs in user.tags`.
    In {
        /// The value.
        lhs: Box<Expr>,
        /// The items to look in; an item whose value is a list contributes its elements.
        list: Vec<Expr>,
    },
    /// A list written out, `[a, b]`, outside `in`.
    List {
        /// Its items.
        items: Vec<Expr>,
    },
    /// Arithmetic.
    Arith {
        /// Which.
        arith: ArithOp,
        /// Left.
        lhs: Box<Expr>,
        /// Right.
        rhs: Box<Expr>,
    },
}

/// A metric expression (KPI formulas, `until` conditions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Metric {
    /// A constant.
    Const {
        /// The value.
        value: Value,
    },
    /// `count(EVENT)`: accepted events of that type.
    Count {
        /// The event.
        event: EventId,
    },
    /// `unique(EVENT)`: distinct users who sent one.
    Unique {
        /// The event.
        event: EventId,
    },
    /// `sum(EVENT.FIELD)`.
    Sum {
        /// The event.
        event: EventId,
        /// The field's index.
        field: u32,
    },
    /// `granted(REWARD)`: grants (a draw's winnings included).
    Granted {
        /// The reward.
        reward: RewardId,
    },
    /// Monetary spend of all grants.
    Spend,
    /// Participants.
    Participants,
    /// Eligible users known.
    Audience,
    /// `opened(GROUP)`: groups opened.
    Opened {
        /// The group kind.
        group: GroupId,
    },
    /// `joined(GROUP)`: joins, openers excluded.
    Joined {
        /// The group kind.
        group: GroupId,
    },
    /// `filled(GROUP)`: groups that filled.
    Filled {
        /// The group kind.
        group: GroupId,
    },
    /// `expired(GROUP)`: groups that expired unfilled.
    Expired {
        /// The group kind.
        group: GroupId,
    },
    /// `winners(RAFFLE)`: winners drawn over all rounds.
    Winners {
        /// The raffle.
        raffle: RaffleId,
    },
    /// A metric kept in its own slot: filtered, per-user or per-arm.
    Measure {
        /// The measure.
        measure: MeasureId,
    },
    /// Another KPI's formula.
    Kpi {
        /// The KPI.
        kpi: KpiId,
    },
    /// Arithmetic.
    Arith {
        /// Which.
        arith: ArithOp,
        /// Left.
        lhs: Box<Metric>,
        /// Right.
        rhs: Box<Metric>,
    },
    /// Negation.
    Neg {
        /// The operand.
        arg: Box<Metric>,
    },
    /// A comparison (in `until`).
    Compare {
        /// Which.
        cmp: CompareOp,
        /// Left.
        lhs: Box<Metric>,
        /// Right.
        rhs: Box<Metric>,
    },
    /// `and`.
    And {
        /// Left.
        lhs: Box<Metric>,
        /// Right.
        rhs: Box<Metric>,
    },
    /// `or`.
    Or {
        /// Left.
        lhs: Box<Metric>,
        /// Right.
        rhs: Box<Metric>,
    },
    /// `not`.
    Not {
        /// The operand.
        arg: Box<Metric>,
    },
}

/// The two state machines the engine runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Machines {
    /// scheduled → each phase → ended, with early exits.
    pub campaign: StateMachine,
    /// eligible → enrolled → task progress, streaks, milestones, tiers.
    pub participant: StateMachine,
}

/// A state machine as a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StateMachine {
    /// The states; the first is initial.
    pub states: Vec<State>,
    /// The transitions.
    pub transitions: Vec<Transition>,
}

/// A state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct State {
    /// A stable identifier (`phase_main`, `task_daily_checkin`).
    pub id: String,
    /// What a person reads.
    pub label: String,
    /// Whether the machine stops here.
    #[serde(default)]
    pub terminal: bool,
}

/// A transition between two states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    /// From state id.
    pub from: String,
    /// To state id.
    pub to: String,
    /// What causes it.
    pub on: String,
}

/// One action list of a plan, with where it stands: what a message sent from it can
/// show (`phase.*`, `group.*`, `reward.*`).
#[derive(Debug, Clone, Copy)]
pub struct ActionList<'p> {
    /// The phase it runs in; `None` for tiers and group outcomes (any phase).
    pub phase: Option<PhaseId>,
    /// The group kind whose outcome it is.
    pub group: Option<GroupId>,
    /// The actions, in order.
    pub actions: &'p [Action],
}

fn list(phase: Option<PhaseId>, group: Option<GroupId>, actions: &[Action]) -> ActionList<'_> {
    ActionList {
        phase,
        group,
        actions,
    }
}

impl Plan {
    /// Every action list: tasks (their lines and milestones), awards, goals, raffles,
    /// tiers and group outcomes, in that order.
    pub fn action_lists(&self) -> impl Iterator<Item = ActionList<'_>> {
        let tasks = self.tasks.iter().flat_map(move |t| {
            let p = Some(t.phase);
            std::iter::once(list(p, None, t.actions.as_slice())).chain(
                t.streaks
                    .iter()
                    .chain(&t.after)
                    .chain(&t.every)
                    .map(move |m| list(p, None, m.actions.as_slice())),
            )
        });
        let phases = self.phases.iter().enumerate().flat_map(move |(i, ph)| {
            let p = u32::try_from(i).ok().map(PhaseId);
            ph.awards
                .iter()
                .map(move |a| list(p, None, a.actions.as_slice()))
                .chain(
                    ph.goals
                        .iter()
                        .map(move |g| list(p, None, g.actions.as_slice())),
                )
        });
        let raffles = self
            .raffles
            .iter()
            .map(move |r| list(Some(r.phase), None, r.actions.as_slice()));
        let tiers = self
            .tiers
            .iter()
            .map(move |t| list(None, None, t.actions.as_slice()));
        let groups = self.groups.iter().enumerate().flat_map(move |(i, g)| {
            let id = u32::try_from(i).ok().map(GroupId);
            [
                list(None, id, g.filled.as_slice()),
                list(None, id, g.expired.as_slice()),
            ]
        });
        tasks
            .chain(phases)
            .chain(raffles)
            .chain(tiers)
            .chain(groups)
    }
}
