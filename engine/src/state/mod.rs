//! The engine's state: plain data, serializable, so the daemon can persist it and a run
//! can be snapshotted and restored mid-stream. Nothing here decides anything; the rules
//! live in the step modules.

pub mod attrs;
pub mod index;
pub mod packed;
pub mod users;

use crate::effect::UserId;
use crate::kpi::Metrics;
use crate::rules::board::Board;
use crate::rules::grants::Ledger;
use attrs::{Attrs, AttrsRef};
use camp_plan::calendar::Day;
use camp_plan::{ExperimentId, LeaderboardId, MessageId, PhaseId, RewardId, TaskId, TierId};
use chrono::{DateTime, Utc};
pub use index::UserIndex;
use packed::{Packed, Write};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};
use std::num::NonZeroI64;
pub use users::{Span, UserMut, UserRef, Users};

/// An instant to the second in eight bytes (`Option<Stamp>` too): the participant
/// state keeps a few of these per user, so their size counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub struct Stamp(NonZeroI64);

impl Stamp {
    /// The second `t` falls in.
    pub fn of(t: DateTime<Utc>) -> Self {
        // XOR with MIN maps every real timestamp (0 included) to a non-zero value.
        Stamp(NonZeroI64::new(t.timestamp() ^ i64::MIN).unwrap_or(NonZeroI64::MIN))
    }

    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.get() ^ i64::MIN, 0).unwrap_or_default()
    }
}

impl From<Stamp> for i64 {
    fn from(s: Stamp) -> i64 {
        s.at().timestamp()
    }
}

impl TryFrom<i64> for Stamp {
    type Error = &'static str;
    fn try_from(secs: i64) -> Result<Self, Self::Error> {
        DateTime::from_timestamp(secs, 0)
            .map(Stamp::of)
            .ok_or("a timestamp out of range")
    }
}

/// Where the campaign is in its phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "phase", rename_all = "snake_case")]
pub enum Cursor {
    /// Before the first phase starts.
    Before,
    /// A phase is running.
    Running(PhaseId),
    /// Between a phase that ended early and an explicit window that has not started.
    Between(PhaseId),
    /// The last phase ended.
    Ended,
}

/// A phase's actual window, once it started (it may differ from the plan's when an
/// earlier phase ended early).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it ends (or ended).
    pub end: DateTime<Utc>,
}

/// Where a user stands with the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not in the audience.
    Ineligible,
    /// In the audience, in the control group: tracked, never rewarded or messaged.
    Holdout,
    /// In the audience, not enrolled yet.
    Eligible,
    /// Enrolled.
    Participant,
}

/// A participant's progress in one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The task.
    pub task: TaskId,
    /// Counted completions (the task belongs to one phase, so this is also per phase).
    pub count: u32,
    /// The local day of the last counted completion.
    pub day: Day,
    /// Counted completions on that day.
    pub today: u32,
    /// Consecutive days with a completion, up to `day`.
    pub streak: u32,
    /// The longest streak reached so far: a `streak` line pays the first time the
    /// streak reaches its count, which a streak (growing one day at a time) does exactly
    /// when it equals the count and this is below it. At most a phase's length in days,
    /// which a duration caps far below `u16::MAX`.
    pub best_streak: u16,
}

/// A participant's score on one leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// The leaderboard.
    pub board: LeaderboardId,
    /// The score.
    pub score: Decimal,
    /// Input order when the score was last reached: ties go to the smaller.
    pub seq: u64,
}

/// One user known to the campaign: what every user has, inline. Their attributes and
/// lists are packed in their chunk's arena (see [`crate::state::users`]); [`Users::get`] reads
/// both, [`Users::get_mut`] changes both. Snapshots write a user field by field
/// ([`UserWire`]), never the packing.
#[derive(Debug, Clone)]
pub struct User {
    /// Their id, inline when short (most are): the user index compares it on every
    /// lookup, and this way it sits in the record the lookup reads anyway; effects
    /// copy it.
    pub id: UserId,
    /// Where their packed block is.
    pub(super) span: Span,
    /// Point balance.
    pub points: i64,
    /// The last counted completion, else enrollment: inactivity counts from it.
    pub last_active: Option<Stamp>,
    /// Messages already sent on inactivity in this spell, whichever statement or phase
    /// sent them: a bit per message (`Index::nudge_bit`). A counted completion ends the
    /// spell; a phase change does not.
    pub nudged: u64,
    /// Event types this user sent (for `unique`): a bit per event index below 64; the
    /// others are in the packed lists.
    pub sent: u64,
    /// The local day of the last message and how many went out that day.
    pub cap: (Day, u32),
    /// The current tier's index plus one; zero for none.
    tier: u32,
    /// Eligible, held out, enrolled.
    pub standing: Standing,
}

/// Records compare by what they say, not where their blocks lie.
impl PartialEq for User {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.id,
            self.points,
            self.last_active,
            self.nudged,
            self.sent,
            self.cap,
            self.tier,
            self.standing,
        ) == (
            &o.id,
            o.points,
            o.last_active,
            o.nudged,
            o.sent,
            o.cap,
            o.tier,
            o.standing,
        )
    }
}

impl User {
    /// Reads the record's first and last bytes (its id and its standing, the two
    /// cache lines it may lie across), to bring it into cache early.
    pub fn touch(&self) -> u64 {
        self.id.len() as u64 ^ self.points as u64 ^ self.standing as u64
    }

    /// A user who has done nothing yet.
    pub fn new(id: UserId, standing: Standing) -> Self {
        User {
            id,
            span: Span::default(),
            points: 0,
            last_active: None,
            nudged: 0,
            sent: 0,
            cap: (Day::MIN, 0),
            tier: 0,
            standing,
        }
    }

    /// Their current tier.
    pub fn tier(&self) -> Option<TierId> {
        self.tier.checked_sub(1).map(TierId)
    }

    /// Moves them to a tier.
    pub fn set_tier(&mut self, tier: TierId) {
        self.tier = tier.0.saturating_add(1);
    }

    /// Whether they are in the audience (held out or not).
    pub fn eligible(&self) -> bool {
        self.standing != Standing::Ineligible
    }

    /// Whether they are enrolled.
    pub fn enrolled(&self) -> bool {
        self.standing == Standing::Participant
    }
}

/// A user as snapshots write it: every list in full.
#[derive(Serialize, Deserialize)]
pub struct UserWire {
    id: UserId,
    attrs: Attrs,
    standing: Standing,
    points: i64,
    tier: Option<TierId>,
    held: Vec<(RewardId, u64)>,
    tasks: Vec<Progress>,
    last_active: Option<Stamp>,
    nudged: u64,
    goals: Vec<u32>,
    sent: u64,
    sent_more: Vec<u32>,
    cap: (Day, u32),
    scores: Vec<Score>,
    seen: Vec<u64>,
    #[serde(default)]
    counters: Vec<(u32, i64)>,
    /// Their variant of each experiment, a byte each (the variant's index plus one,
    /// zero for none); empty when they have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    variants: Vec<u8>,
}

impl UserWire {
    /// A user written out, with their variant bytes (see [`Users::variant`]).
    pub fn of(user: &User, p: Packed<'_>, variants: &[u8]) -> Self {
        UserWire {
            id: user.id.clone(),
            attrs: Attrs::new(&p.attrs().values()),
            standing: user.standing,
            points: user.points,
            tier: user.tier(),
            held: p.holdings().collect(),
            tasks: p.tasks().collect(),
            last_active: user.last_active,
            nudged: user.nudged,
            goals: p.goals().collect(),
            sent: user.sent,
            sent_more: p.types().collect(),
            cap: user.cap,
            scores: p.scores().collect(),
            seen: p.seen().collect(),
            counters: p.counters().collect(),
            variants: if variants.iter().any(|&b| b != 0) {
                variants.to_vec()
            } else {
                Vec::new()
            },
        }
    }

    /// Their variant bytes as written.
    pub fn variants(&self) -> &[u8] {
        &self.variants
    }

    /// The record read back, and the attributes to pack with it.
    pub fn record(&self) -> (User, &Attrs) {
        let mut u = User::new(self.id.clone(), self.standing);
        u.points = self.points;
        if let Some(t) = self.tier {
            u.set_tier(t);
        }
        u.last_active = self.last_active;
        u.nudged = self.nudged;
        u.sent = self.sent;
        u.cap = self.cap;
        (u, &self.attrs)
    }

    /// Writes the lists into the user's block.
    pub fn lists_into(&self, w: &mut impl Write) {
        for &(r, n) in &self.held {
            w.set_held(r, n);
        }
        for t in &self.tasks {
            w.set_task(None, t);
        }
        for &g in &self.goals {
            w.reach(g);
        }
        for &k in &self.sent_more {
            w.first_type(k);
        }
        for sc in &self.scores {
            w.set_score(sc);
        }
        for &fp in &self.seen {
            w.first_sight(fp);
        }
        for &(k, v) in &self.counters {
            w.set_counter(k, v);
        }
    }
}

/// A send waiting for the quiet hours to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// When it goes out.
    pub due: DateTime<Utc>,
    /// To whom (index into the users).
    pub user: u32,
    /// Which message.
    pub message: MessageId,
    /// The phase whose statement sent it (`phase.*`).
    pub phase: Option<PhaseId>,
    /// The reward it tells about (`reward.*`).
    pub reward: Option<RewardId>,
    /// The group whose outcome sent it (`group.*`): its kind and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<(u32, u32)>,
}

/// A pending `after D inactive` check for one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timer {
    /// When it is due.
    pub due: DateTime<Utc>,
    /// Who (index into the users).
    pub user: u32,
    /// Which inactivity send of the running phase.
    pub send: u32,
}

/// A pending per-participant timed send (`send M D after enroll|TASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Due {
    /// When it is due.
    pub due: DateTime<Utc>,
    /// Who (index into the users).
    pub user: u32,
    /// The phase whose statement it is: it fires only while that phase runs.
    pub phase: u32,
    /// The send's position among the phase's sends.
    pub send: u32,
}

/// Time-driven steps of the running phase not yet fired, in time order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Agenda {
    /// `at` sends: when, and the send's index among the phase's sends.
    pub sends: VecDeque<(DateTime<Utc>, u32)>,
    /// Local midnights, for birthdays.
    pub midnights: VecDeque<DateTime<Utc>>,
    /// Raffle rounds: when, and the raffle.
    #[serde(default)]
    pub raffles: VecDeque<(DateTime<Utc>, u32)>,
    /// The next period end of each periodic board of the phase (before the phase's
    /// end, which ends the last period): when, and the board; in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<(DateTime<Utc>, u32)>,
    /// `at` grants: when, and the grant's position among the phase's grants.
    #[serde(default)]
    pub grants: VecDeque<(DateTime<Utc>, u32)>,
}

/// Everything the engine knows: the whole campaign's state at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The plan it belongs to ([`camp_plan::Plan::source_hash`]).
    pub(crate) plan_hash: String,
    /// The last instant the engine was moved to.
    pub(crate) clock: Option<DateTime<Utc>>,
    /// The campaign's phase.
    pub(crate) cursor: Cursor,
    /// Actual windows of phases that started.
    pub(crate) windows: Vec<Option<Window>>,
    /// The running phase's time-driven steps.
    pub(crate) agenda: Agenda,
    /// Users in the order they became known.
    pub(crate) users: Users,
    /// User id → index into `users`; rebuilt on restore.
    #[serde(skip)]
    pub(crate) index: UserIndex,
    /// Issuance and spend.
    pub(crate) ledger: Ledger,
    /// Denials per reward.
    pub(crate) denied: Vec<u64>,
    /// Event metrics.
    pub(crate) metrics: Metrics,
    /// Leaderboards, by index.
    pub(crate) boards: Vec<Board>,
    /// Input order: one more for every user, event and time-driven step taken.
    pub(crate) seq: u64,
    /// Sends deferred by quiet hours, in the order they go out.
    pub(crate) deferred: VecDeque<Deferred>,
    /// Pending inactivity checks.
    pub(crate) timers: BTreeSet<Timer>,
    /// Pending per-participant timed sends, of the running phase and later ones.
    #[serde(default)]
    pub(crate) dues: BTreeSet<Due>,
    /// How many users are eligible (the `audience` metric).
    pub(crate) audience: u64,
    /// Participants' user numbers, in the order they enrolled: mass grants serve them
    /// in this order (first enrolled, first served).
    pub(crate) enrolled: Vec<u32>,
    /// Groups of every kind (§7).
    #[serde(default)]
    pub(crate) groups: crate::rules::groups::Groups,
    /// `enroll audience`: users who became known or eligible while the campaign runs,
    /// in that order, to enroll at the next step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) joining: Vec<u32>,
    /// Raffle winners, per raffle, in draw order (§8).
    #[serde(default)]
    pub(crate) winners: Vec<Vec<u32>>,
    /// Completions counted per participant, task and value of a `limit N per
    /// event.FIELD` field (the value's stable hash).
    #[serde(default, with = "pairs")]
    pub(crate) per_field: std::collections::BTreeMap<(u32, u32, u64), u32>,
}

/// A map whose keys are not strings, written as a list of pairs (JSON keys must be
/// strings).
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

impl State {
    /// Rebuilds what a snapshot leaves out (the user index).
    pub fn reindex(&mut self) {
        let mut index = UserIndex::default();
        for (i, u) in self.users.iter().enumerate() {
            if let Ok(i) = u32::try_from(i) {
                index.insert(&self.users, &u.id, i);
            }
        }
        self.index = index;
    }

    /// The engine's clock: the instant of the last step, if any.
    pub fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    /// How many users are known (participants or not).
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// How many users have enrolled.
    pub fn participants(&self) -> u64 {
        self.enrolled.len() as u64
    }

    /// How many participants a leaderboard ranks (those with a score), if it exists.
    pub fn ranked(&self, board: usize) -> Option<u64> {
        self.boards.get(board).map(Board::len)
    }

    /// A user's index by id.
    pub fn find(&self, id: &str) -> Option<u32> {
        self.index.get(&self.users, id)
    }

    /// Adds a new user (the id must not be known yet); returns their index.
    pub fn add_user(&mut self, user: User, attrs: AttrsRef<'_>) -> u32 {
        let i = u32::try_from(self.users.len()).unwrap_or(u32::MAX);
        let id = user.id.clone();
        self.users.push(user, attrs);
        self.index.insert(&self.users, &id, i);
        i
    }

    /// A user by index.
    pub fn user(&self, i: u32) -> Option<UserRef<'_>> {
        self.users.get(i as usize)
    }

    /// User number `user`'s variant of `experiment` (its index among the experiment's
    /// variants), if they have one.
    pub fn variant(&self, user: u32, experiment: ExperimentId) -> Option<u16> {
        self.users.variant(user as usize, experiment.index())
    }

    /// A user by index, to change.
    pub fn user_mut(&mut self, i: u32) -> Option<UserMut<'_>> {
        self.users.get_mut(i as usize)
    }

    /// The running phase, if any.
    pub fn running(&self) -> Option<PhaseId> {
        match self.cursor {
            Cursor::Running(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_participant_stays_small() {
        // The engine keeps one of these per known user: watch its size.
        assert!(
            std::mem::size_of::<User>() <= 80,
            "{}",
            std::mem::size_of::<User>()
        );
        assert_eq!(std::mem::size_of::<Option<Stamp>>(), 8);
    }

    #[test]
    fn stamps_round_trip_to_the_second() {
        for secs in [0i64, 1, -1, 1_800_000_000] {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            assert_eq!(Stamp::of(t).at(), t);
            let json = serde_json::to_string(&Stamp::of(t)).unwrap();
            assert_eq!(serde_json::from_str::<Stamp>(&json).unwrap(), Stamp::of(t));
        }
    }

    #[test]
    fn ids_are_seen_once_and_types_counted_once() {
        let mut users = Users::default();
        users.push(
            User::new(UserId::new("u"), Standing::Eligible),
            AttrsRef::new(&[]),
        );
        let mut u = users.get_mut(0).unwrap();
        assert!(u.first_sight(5) && u.first_sight(1) && u.first_sight(9));
        assert!(!u.first_sight(5));
        assert_eq!(u.packed().seen().collect::<Vec<_>>(), [1, 5, 9]);
        assert!(u.first_of_type(3) && !u.first_of_type(3));
        assert!(u.first_of_type(70) && !u.first_of_type(70));
    }

    #[test]
    fn the_index_finds_users_by_id() {
        let mut s = State {
            plan_hash: String::new(),
            clock: None,
            cursor: Cursor::Before,
            windows: Vec::new(),
            agenda: Agenda::default(),
            users: Users::default(),
            index: UserIndex::default(),
            ledger: Ledger::default(),
            denied: Vec::new(),
            metrics: Metrics::default(),
            boards: Vec::new(),
            seq: 0,
            deferred: VecDeque::new(),
            timers: BTreeSet::new(),
            dues: BTreeSet::new(),
            audience: 0,
            enrolled: Vec::new(),
            groups: Default::default(),
            joining: Vec::new(),
            winners: Vec::new(),
            per_field: Default::default(),
        };
        for i in 0..1000 {
            s.add_user(
                User::new(UserId::new(format!("u{i}")), Standing::Eligible),
                AttrsRef::new(&[]),
            );
        }
        assert_eq!(s.find("u777"), Some(777));
        assert_eq!(s.find("nobody"), None);
        let mut back = s.clone();
        back.index = UserIndex::default();
        back.reindex();
        assert_eq!(back.find("u5"), Some(5));
    }
}
