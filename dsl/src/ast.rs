//! The untyped syntax tree of one `.camp` file, with byte spans.
//!
//! Nothing here is resolved: names are plain identifiers. The compiler turns this into
//! a checked model. Parsing is error-tolerant, so some nodes carry an error form
//! ([`LitKind::Invalid`], [`ExprKind::Error`]) whose diagnostic was already reported.

use crate::literal::{DateTimeLit, Duration, Money};
use crate::span::Span;
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;

/// A name as written, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// `///` lines above a definition, joined with newlines, without the slashes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Docs {
    /// One entry per `///` line, with the single leading space removed.
    pub lines: Vec<String>,
}

impl Docs {
    /// The lines joined by `\n`, or `None` when there are none.
    pub fn text(&self) -> Option<String> {
        if self.lines.is_empty() {
            None
        } else {
            Some(self.lines.join("\n"))
        }
    }
}

/// A comment (not a doc comment), kept for the formatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment's bytes, including `//` or `/* */`.
    pub span: Span,
    /// Whether code precedes it on its line.
    pub trailing: bool,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// The items in source order.
    pub items: Vec<Item>,
    /// Every plain comment in source order.
    pub comments: Vec<Comment>,
    /// Text the parser could not read, in source order: the rest of an item after a
    /// syntax error, and everything after an unterminated string or comment. Names
    /// written there may be defined or used there, so the checker does not call them
    /// unknown or unused.
    pub unread: Vec<Span>,
}

/// A top-level item with its doc comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its `///` lines.
    pub docs: Docs,
    /// What it is.
    pub kind: ItemKind,
    /// From the first doc line (or keyword) to the end.
    pub span: Span,
}

/// The kinds of top-level items.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `import "path"`.
    Import(Import),
    /// `campaign NAME { ... }`.
    Campaign(Campaign),
    /// `user { ... }`.
    User(UserBlock),
    /// `event NAME { ... }`.
    Event(EventDef),
    /// `reward NAME = ...`.
    Reward(RewardDef),
    /// `segment NAME = EXPR`.
    Segment(SegmentDef),
    /// `message NAME via CHANNEL { ... }`.
    Message(MessageDef),
    /// `phase NAME ... { ... }`.
    Phase(PhaseDef),
    /// `tiers { ... }`.
    Tiers(TiersDef),
    /// `kpi NAME = EXPR target OP VALUE`.
    Kpi(KpiDef),
    /// `group NAME { size N  within D  filled => ACTIONS  expired => ACTIONS }`.
    Group(GroupDef),
    /// `experiment NAME { variants A 50%, B 50% }`.
    Experiment(ExperimentDef),
}

/// `import "lib/rewards.camp"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The path, relative to the importing file.
    pub path: StrLit,
}

/// A string literal, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// The decoded text (escapes resolved, common indentation removed).
    pub value: String,
    /// The literal including its quotes.
    pub span: Span,
    /// Whether it was written `"""..."""`.
    pub multiline: bool,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub struct Lit {
    /// The value.
    pub kind: LitKind,
    /// Where.
    pub span: Span,
}

/// The literal forms.
#[derive(Debug, Clone, PartialEq)]
pub enum LitKind {
    /// `50_000`.
    Int(i64),
    /// `12.5`.
    Decimal(Decimal),
    /// `15%`, stored as the number before `%` (15).
    Percent(Decimal),
    /// `20 CNY`.
    Money(Money),
    /// `1d12h`.
    Duration(Duration),
    /// `2027-01-20`.
    Date(NaiveDate),
    /// `2027-01-20T09:00`, local or with an offset.
    DateTime(DateTimeLit),
    /// `20:00`.
    Time(NaiveTime),
    /// A malformed literal; its E0002 was already reported.
    Invalid,
}

/// `campaign NAME { settings }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    /// The campaign's identifier.
    pub name: Ident,
    /// Settings in source order.
    pub settings: Vec<Setting>,
}

/// One campaign setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The keyword (`timezone`, ...).
    pub key: Ident,
    /// Its value.
    pub value: SettingValue,
    /// The whole setting.
    pub span: Span,
}

/// The value of a campaign setting.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingValue {
    /// `name "..."`.
    Name(StrLit),
    /// `timezone "Asia/Shanghai"`.
    Timezone(StrLit),
    /// `start 2027-01-20T00:00`.
    Start(Lit),
    /// `locales zh-CN, en`.
    Locales(Vec<Ident>),
    /// `budget 200_000 CNY`.
    Budget(Lit),
    /// `audience EXPR`.
    Audience(Expr),
    /// `holdout 5%`.
    Holdout(Lit),
    /// `cap N messages per day`.
    Cap(Lit),
    /// `quiet 22:00 .. 08:00`.
    Quiet(Lit, Lit),
    /// `enroll audience`: who enrolls without a counted event (only `audience` is
    /// meaningful; the checker reports any other name).
    Enroll(Ident),
}

/// A typed field of the user or an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its `///` lines.
    pub docs: Docs,
    /// The field name.
    pub name: Ident,
    /// Its declared type.
    pub ty: TypeRef,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    /// `int`, `string`, ... (validated by the compiler).
    Named(Ident),
    /// `list<T>`.
    List(Box<TypeRef>, Span),
}

impl TypeRef {
    /// Where the type is written.
    pub fn span(&self) -> Span {
        match self {
            TypeRef::Named(i) => i.span,
            TypeRef::List(_, s) => *s,
        }
    }
}

/// `user { attr: type ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserBlock {
    /// The `user` keyword.
    pub keyword: Span,
    /// The attributes.
    pub fields: Vec<Field>,
}

/// `event NAME { field: type ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDef {
    /// The event type's name.
    pub name: Ident,
    /// Its fields.
    pub fields: Vec<Field>,
}

/// `reward NAME = KIND { props }`.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardDef {
    /// The reward's name.
    pub name: Ident,
    /// What it is.
    pub kind: RewardKind,
    /// The kind keyword (`coupon`, `draw`, ...).
    pub kind_span: Span,
    /// Properties in source order.
    pub props: Vec<RewardProp>,
}

/// The reward kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum RewardKind {
    /// `points N`.
    Points(Lit),
    /// `coupon`.
    Coupon,
    /// `item "label"`.
    Item(StrLit),
    /// `badge "label"`.
    Badge(StrLit),
    /// `draw { weight reward ... }`.
    Draw(Vec<DrawEntry>),
    /// `pool AMOUNT`: money shared among the recipients of one firing of a mass grant.
    Pool(Lit),
}

/// `30% fu_wealth`.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawEntry {
    /// The weight (a percent).
    pub weight: Lit,
    /// The reward won.
    pub reward: Ident,
}

/// A reward property.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardProp {
    /// The keyword.
    pub key: Ident,
    /// The value.
    pub value: PropValue,
    /// The whole property.
    pub span: Span,
}

/// A reward property's value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// `stock N`.
    Stock(Lit),
    /// `stock N per day`.
    StockPerDay(Lit),
    /// `per_user N`.
    PerUser(Lit),
    /// `label "..."`.
    Label(StrLit),
    /// `value 20 CNY`.
    Value(Lit),
    /// `expires 14d`.
    Expires(Lit),
    /// `cost 1_999 CNY`.
    Cost(Lit),
}

/// `segment NAME = EXPR`.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDef {
    /// The segment's name.
    pub name: Ident,
    /// Its condition.
    pub condition: Expr,
}

/// `message NAME via CHANNEL [by EXPERIMENT] { entries | variant blocks }`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDef {
    /// The message's name.
    pub name: Ident,
    /// The channel as written.
    pub channel: Ident,
    /// `by EXPERIMENT`: the experiment whose variants have a body each.
    pub experiment: Option<Ident>,
    /// Bodies and subjects outside variant blocks.
    pub entries: Vec<MessageEntry>,
    /// `variant NAME { ... }` blocks, in source order.
    pub variants: Vec<VariantBody>,
}

/// `variant NAME { entries }` in a message `by` an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantBody {
    /// The variant's name.
    pub name: Ident,
    /// Its bodies and subjects.
    pub entries: Vec<MessageEntry>,
    /// From `variant` to the closing brace.
    pub span: Span,
}

/// `experiment NAME { variants A 50%, B 50% }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentDef {
    /// The experiment's name.
    pub name: Ident,
    /// The `variants` keyword.
    pub keyword: Span,
    /// Its variants in the order written.
    pub variants: Vec<VariantWeight>,
}

/// `bold 50%`: a variant and the share of participants it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantWeight {
    /// The variant's name.
    pub name: Ident,
    /// Its weight (a percent).
    pub weight: Lit,
}

/// A body or subject for one locale.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEntry {
    /// Whether this is a `subject` line.
    pub subject: bool,
    /// The locale tag.
    pub locale: Ident,
    /// The template.
    pub text: StrLit,
}

/// `phase NAME TIMING [until ...] { statements }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseDef {
    /// The phase's name.
    pub name: Ident,
    /// Its duration or window.
    pub timing: PhaseTiming,
    /// Early exit.
    pub until: Option<Until>,
    /// Its statements.
    pub stmts: Vec<PhaseStmt>,
}

/// When a phase runs.
#[derive(Debug, Clone, PartialEq)]
pub enum PhaseTiming {
    /// `for 5d`.
    For(Lit),
    /// `from A to B`.
    Window(Lit, Lit),
}

/// A phase's early exit.
#[derive(Debug, Clone, PartialEq)]
pub enum Until {
    /// `until budget exhausted`.
    BudgetExhausted(Span),
    /// `until EXPR` over KPIs and metrics.
    Condition(Expr),
}

/// A statement in a phase, with its doc comment.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseStmt {
    /// Its `///` lines.
    pub docs: Docs,
    /// What it is.
    pub kind: PhaseStmtKind,
    /// Where.
    pub span: Span,
}

/// The statements of a phase.
#[derive(Debug, Clone, PartialEq)]
pub enum PhaseStmtKind {
    /// `task NAME { ... }`.
    Task(TaskDef),
    /// `leaderboard NAME { ... }`.
    Leaderboard(LeaderboardDef),
    /// `award LB rank A..B => ACTIONS`.
    Award(AwardStmt),
    /// `goal NAME when EXPR => ACTIONS`.
    Goal(GoalStmt),
    /// `send MESSAGE TRIGGER [to ...]`.
    Send(SendStmt),
    /// `grant REWARD on enroll|enter`.
    Grant(GrantStmt),
    /// `raffle NAME at TIMES pick N [from participants|audience|SEGMENT] [where EXPR] => ACTIONS`.
    Raffle(RaffleStmt),
}

/// `task NAME { statements }`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDef {
    /// The task's name.
    pub name: Ident,
    /// Its statements in source order.
    pub stmts: Vec<TaskStmt>,
}

/// A statement inside a task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStmt {
    /// `on EVENT [where EXPR]`.
    On {
        /// The `on` keyword.
        keyword: Span,
        /// The event type.
        event: Ident,
        /// The filter.
        filter: Option<Expr>,
    },
    /// `limit N per PERIOD`.
    Limit {
        /// The `limit` keyword.
        keyword: Span,
        /// How many.
        count: Lit,
        /// Per what.
        period: Period,
        /// Where the period word is.
        period_span: Span,
    },
    /// `within DURATION of enroll|TASK`.
    Within {
        /// The `within` keyword.
        keyword: Span,
        /// How long the window lasts.
        duration: Lit,
        /// `enroll` (the built-in) or the task whose first counted completion opens it.
        of: Ident,
    },
    /// An action line: `grant x`, `send m to event.invitee`, `use 200 points`,
    /// `open team by event.team_id`, ...
    Action(Action),
    /// `streak N days => ACTIONS`.
    Streak {
        /// The `streak` keyword.
        keyword: Span,
        /// Consecutive days.
        days: Lit,
        /// What happens on reaching the streak.
        actions: Actions,
    },
    /// `after N => ACTIONS`.
    After {
        /// The `after` keyword.
        keyword: Span,
        /// The completion number.
        count: Lit,
        /// What happens on the N-th completion.
        actions: Actions,
    },
    /// `every N => ACTIONS`.
    Every {
        /// The `every` keyword.
        keyword: Span,
        /// Every how many completions.
        count: Lit,
        /// What happens on the N-th, 2N-th, ... completion.
        actions: Actions,
    },
}

/// What a task's `limit` counts per.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    /// Calendar day in the campaign time zone.
    Day,
    /// Per participant, for the whole campaign.
    User,
    /// Per participant, per phase.
    Phase,
    /// `per event.FIELD`: per distinct value of that field, per participant.
    Field(Target),
}

/// One action, or several in braces, after `=>` (or one task line).
#[derive(Debug, Clone, PartialEq)]
pub struct Actions {
    /// The actions in source order.
    pub list: Vec<Action>,
    /// From the first token after `=>` to the end (the braces included).
    pub span: Span,
}

/// One action: what a task line, an action block or a group outcome does.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// The whole action.
    pub span: Span,
}

/// The actions.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// `grant REWARD [to TARGET]`.
    Grant {
        /// The reward.
        reward: Ident,
        /// Who gets it, when not the participant.
        to: Option<Target>,
    },
    /// `send MESSAGE [to TARGET]`.
    Send {
        /// The message.
        message: Ident,
        /// Who gets it, when not the participant.
        to: Option<Target>,
    },
    /// `use REWARD [N]` / `use N points`.
    Use {
        /// What is used up.
        units: Units,
        /// How many (default 1); always given for points.
        count: Option<Lit>,
    },
    /// `give REWARD [N] to TARGET` / `give N points to TARGET`.
    Give {
        /// What is given.
        units: Units,
        /// How many (default 1); always given for points.
        count: Option<Lit>,
        /// Who receives it.
        to: Target,
    },
    /// `revoke REWARD [N] [from TARGET]` / `revoke N points [from TARGET]`.
    Revoke {
        /// What is taken back.
        units: Units,
        /// How many (default all); always given for points.
        count: Option<Lit>,
        /// Who it is taken from, when not the participant.
        from: Option<Target>,
    },
    /// `open GROUP by event.FIELD`.
    Open {
        /// The group kind.
        group: Ident,
        /// The group's key.
        key: Target,
    },
    /// `join GROUP by event.FIELD`.
    Join {
        /// The group kind.
        group: Ident,
        /// The group's key.
        key: Target,
    },
}

/// What `use`, `give` and `revoke` move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Units {
    /// A reward, by name.
    Reward(Ident),
    /// Points: the `points` keyword's span. (`count` is then the N written before
    /// `points`, always `Some` for points.)
    Points(Span),
}

/// Who an action is for, or a group key: a dotted path as written
/// (`event.invitee`, `user.invited_by`, `members`, `opener`, `event.team_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path's parts.
    pub path: Vec<Ident>,
    /// The whole path.
    pub span: Span,
}

/// `leaderboard NAME { score EXPR  show top N  every DURATION }`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardDef {
    /// The leaderboard's name.
    pub name: Ident,
    /// The score formula (the first `score` line).
    pub score: Option<Expr>,
    /// `show top N` (the first `show top` line).
    pub show: Option<Lit>,
    /// `every DURATION` (the first `every` line): the board is periodic.
    pub every: Option<Lit>,
    /// Every `score`, `show top` or `every` line after the first of its kind, in source order:
    /// a leaderboard has one of each (E0101), but nothing written is dropped.
    pub repeated: Vec<LeaderboardLine>,
}

/// A `score`, `show top` or `every` line of a leaderboard.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaderboardLine {
    /// `score EXPR`.
    Score {
        /// The whole line.
        span: Span,
        /// The formula.
        expr: Expr,
    },
    /// `show top N`.
    Show {
        /// The whole line.
        span: Span,
        /// N.
        top: Lit,
    },
    /// `every DURATION`.
    Every {
        /// The whole line.
        span: Span,
        /// The period.
        every: Lit,
    },
}

/// `award LB rank A[..B] => ACTIONS`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwardStmt {
    /// The leaderboard.
    pub leaderboard: Ident,
    /// First rank.
    pub from: Lit,
    /// Last rank, when a range.
    pub to: Option<Lit>,
    /// The whole `A..B`.
    pub range_span: Span,
    /// What the ranked participants get.
    pub actions: Actions,
}

/// `goal NAME when EXPR => ACTIONS`.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalStmt {
    /// The goal's name.
    pub name: Ident,
    /// When it is reached.
    pub condition: Expr,
    /// What happens when it is reached.
    pub actions: Actions,
}

/// `send MESSAGE TRIGGER [to RECIPIENTS] [if EXPR]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SendStmt {
    /// The message.
    pub message: Ident,
    /// When it goes out.
    pub trigger: SendTrigger,
    /// `to audience|participants|SEGMENT`.
    pub to: Option<Ident>,
    /// `if EXPR`: evaluated for each recipient when the send is due.
    pub condition: Option<Expr>,
}

/// When a phase-level send goes out.
#[derive(Debug, Clone, PartialEq)]
pub enum SendTrigger {
    /// `at HH:MM[, HH:MM...] [daily]` or `at DATETIME[, DATETIME...]`.
    At {
        /// The times as written, one or more: times of day or datetimes.
        times: Vec<Lit>,
        /// Every day of the phase, or only the first occurrence of each time.
        daily: bool,
    },
    /// `on enter`.
    OnEnter(Span),
    /// `on enroll`.
    OnEnroll(Span),
    /// `after DURATION inactive`.
    Inactive(Lit),
    /// `DURATION after enroll|TASK`: once per participant.
    After {
        /// How long after.
        delay: Lit,
        /// `enroll` (the built-in) or the task whose first counted completion starts it.
        from: Ident,
    },
}

/// `grant REWARD on enroll|on enter|at TIMES [to RECIPIENTS] [if EXPR]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantStmt {
    /// The reward.
    pub reward: Ident,
    /// `enroll`, `enter` or `at`.
    pub on: GrantOn,
    /// The `enroll`/`enter`/`at` word.
    pub on_span: Span,
    /// With [`GrantOn::At`], the times as written (times of day or datetimes); else empty.
    pub times: Vec<Lit>,
    /// `to audience|participants|SEGMENT`.
    pub to: Option<Ident>,
    /// `if EXPR`: evaluated for each recipient when the grant is due.
    pub condition: Option<Expr>,
}

/// `raffle NAME at TIMES pick N [from participants|audience|SEGMENT] [where EXPR] => ACTIONS`.
#[derive(Debug, Clone, PartialEq)]
pub struct RaffleStmt {
    /// The raffle's name.
    pub name: Ident,
    /// The `at` keyword.
    pub at: Span,
    /// The times as written: `HH:MM` or datetime literals, one or more, comma-separated.
    pub times: Vec<Lit>,
    /// `daily` after the times.
    pub daily: bool,
    /// How many winners each round.
    pub pick: Lit,
    /// `from participants|audience|SEGMENT`.
    pub from: Option<Ident>,
    /// `where EXPR`: who may win.
    pub filter: Option<Expr>,
    /// What each winner gets.
    pub actions: Actions,
}

/// When a phase-level grant fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOn {
    /// When a participant enrolls in this phase.
    Enroll,
    /// To each participant when the phase starts.
    Enter,
    /// At the given times inside the phase.
    At,
}

/// `tiers { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct TiersDef {
    /// The `tiers` keyword.
    pub keyword: Span,
    /// The tiers in source order.
    pub tiers: Vec<TierDef>,
}

/// `silver at 500 points => ACTIONS`.
#[derive(Debug, Clone, PartialEq)]
pub struct TierDef {
    /// Its `///` lines.
    pub docs: Docs,
    /// The tier's name.
    pub name: Ident,
    /// The point threshold.
    pub threshold: Lit,
    /// What happens on reaching it.
    pub actions: Option<Actions>,
}

/// `group NAME { size N  within D  filled => ACTIONS  expired => ACTIONS }`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDef {
    /// The group kind's name.
    pub name: Ident,
    /// Lines in source order (a repeated line is kept; the compiler reports E0101).
    pub lines: Vec<GroupLine>,
}

/// A line of a group kind.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupLine {
    /// `size N`.
    Size {
        /// The `size` keyword.
        keyword: Span,
        /// Members needed to fill a group, the opener included.
        size: Lit,
    },
    /// `within DURATION`.
    Within {
        /// The `within` keyword.
        keyword: Span,
        /// How long a group stays open.
        within: Lit,
    },
    /// `filled => ACTIONS`.
    Filled {
        /// The `filled` keyword.
        keyword: Span,
        /// What happens when a group fills.
        actions: Actions,
    },
    /// `expired => ACTIONS`.
    Expired {
        /// The `expired` keyword.
        keyword: Span,
        /// What happens when a group expires unfilled.
        actions: Actions,
    },
}

/// `kpi NAME = EXPR target OP VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiDef {
    /// The KPI's name.
    pub name: Ident,
    /// The formula over metrics.
    pub formula: Expr,
    /// The comparison in the target.
    pub op: CompareOp,
    /// The target value.
    pub target: Lit,
    /// `by holdout` or `by EXPERIMENT`: the arms it is reported for.
    pub by: Option<Ident>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl CompareOp {
    /// As written.
    pub fn as_str(self) -> &'static str {
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

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// A comparison.
    Compare(CompareOp),
    /// `in`.
    In,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinOp {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Compare(c) => c.as_str(),
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// The expression forms.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Lit(LitKind),
    /// A string.
    Str(String),
    /// `a.b.c`, or a bare name.
    Path(Vec<Ident>),
    /// `name(args)`.
    Call(Ident, Vec<Expr>),
    /// `EVENT where COND`: a metric's argument with its filter (`count(purchase where
    /// event.amount >= 100 CNY)`), the last argument of a call.
    Where(Box<Expr>, Box<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `a OP b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `OP a`.
    Unary(UnOp, Box<Expr>),
    /// `( a )`.
    Paren(Box<Expr>),
    /// A node that could not be built; its diagnostic was already reported.
    Error,
}
