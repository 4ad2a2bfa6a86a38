//! The daemon's durable record, behind the [`Store`] trait (SQLite by default:
//! [`sqlite::SqliteStore`]).
//!
//! The engine is deterministic, so what must be durable is what it was fed, in order:
//! an append-only **input log** (users, events, clock moves, each with the daemon's time),
//! plus, in the same transaction, what each input did: its **effects** (the grant and
//! deny rows are the ledger) and, for each send, an **outbox** entry. Counters,
//! leaderboard scores and stock are the engine's state: a periodic **snapshot** of it
//! plus the inputs logged after the snapshot rebuild them exactly. Every write appends in
//! key order, which is what lets one transaction of a thousand events cost about what one
//! costs (see `docs/daemon.md`).

pub mod sqlite;

use crate::ServeError;
use chrono::{DateTime, Utc};

/// What kind of input a log row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A user created or updated: the body is `{"id": ..., "attrs": {...}}`.
    User,
    /// An event: the body is the event as received (its `at`, if any, is the sender's).
    Event,
    /// The clock moved (a manual clock set, or the scheduler firing what was due).
    Clock,
}

impl InputKind {
    /// The code stored in the log.
    pub fn code(self) -> i64 {
        match self {
            InputKind::User => 0,
            InputKind::Event => 1,
            InputKind::Clock => 2,
        }
    }

    /// The kind of a stored code.
    pub fn of_code(code: i64) -> Option<InputKind> {
        match code {
            0 => Some(InputKind::User),
            1 => Some(InputKind::Event),
            2 => Some(InputKind::Clock),
            _ => None,
        }
    }
}

/// One input, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Its place in the log, from 1.
    pub seq: u64,
    /// When the daemon took it: the engine ran it at this instant.
    pub at: DateTime<Utc>,
    /// What it is.
    pub kind: InputKind,
    /// The event's or user's id (none for a clock move).
    pub key: Option<String>,
    /// The input as JSON.
    pub body: String,
}

/// One effect, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectRow {
    /// Its place among all effects, from 1.
    pub seq: u64,
    /// The input that caused it.
    pub input: u64,
    /// The effect's `kind`.
    pub kind: &'static str,
    /// The user it concerns, if any.
    pub user: Option<String>,
    /// The effect as JSON (the line `camp run` prints).
    pub body: String,
}

/// A message to deliver: the outbox entry of one `send` effect.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRow {
    /// The `send` effect's sequence number.
    pub seq: u64,
    /// The idempotency key, stable across retries and restarts.
    pub key: String,
    /// What the sink receives: the send effect with its key, as JSON.
    pub body: String,
}

/// Everything one group commit writes: all of it or none of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Inputs, in order.
    pub inputs: Vec<Input>,
    /// Their effects, in order.
    pub effects: Vec<EffectRow>,
    /// Outbox entries for the sends among them.
    pub sends: Vec<SendRow>,
    /// The ledger's counts after the batch (grants per reward, spend), as JSON: kept
    /// on the batch's last input, so that recovery can tell a state that disagrees
    /// with the log.
    pub tally: Option<String>,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// Where the log stands: the last sequence numbers used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Heads {
    /// The last input's sequence number (0: none yet).
    pub input: u64,
    /// The last effect's.
    pub effect: u64,
}

/// The newest snapshot of the engine state.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The last input it includes.
    pub input: u64,
    /// The state, serialized.
    pub state: Vec<u8>,
}

/// What reading the snapshot found. A snapshot is only a shortcut: one that cannot be
/// trusted is set aside and the state is rebuilt from the log.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotRead {
    /// There is none.
    Missing,
    /// It is whole, of this store, and the input it ends at is the log's.
    Usable(Snapshot),
    /// It is there but cannot be used: why.
    Unusable(String),
}

/// Writes a snapshot's state into the sink it is given.
pub type StateWriter<'a> = dyn FnMut(&mut dyn std::io::Write) -> Result<(), String> + 'a;

/// An outbox entry due for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The send effect's sequence number.
    pub seq: u64,
    /// Its idempotency key.
    pub key: String,
    /// What to deliver.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The sink took it.
    Delivered,
    /// It failed; try again at `retry_at`.
    Retry {
        /// When to try again.
        retry_at: DateTime<Utc>,
        /// Why it failed.
        error: String,
    },
    /// It failed for good: move it to the dead letters.
    Dead {
        /// Why it failed.
        error: String,
    },
}

/// The outbox at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct OutboxCounts {
    /// Waiting for (another) attempt.
    pub pending: u64,
    /// Delivered.
    pub delivered: u64,
    /// Given up on.
    pub dead: u64,
}

/// A send given up on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    /// Its idempotency key.
    pub key: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
    /// What was to be delivered, as JSON.
    pub send: serde_json::Value,
}

/// A durable record of a running campaign.
pub trait Store: Send {
    /// The last sequence numbers used.
    fn heads(&mut self) -> Result<Heads, ServeError>;
    /// The newest snapshot, checked: whole (its checksum), of this format, of this
    /// store, and ending at an input the log has, unchanged.
    fn snapshot(&mut self) -> Result<SnapshotRead, ServeError>;
    /// The ledger's counts as of the last input (see [`Batch::tally`]), if recorded.
    fn tally(&mut self) -> Result<Option<String>, ServeError>;
    /// Hands every input after `after` to `each`, in order.
    fn inputs_after(
        &mut self,
        after: u64,
        each: &mut dyn FnMut(Input) -> Result<(), ServeError>,
    ) -> Result<(), ServeError>;
    /// Writes a batch in one transaction: durable when this returns `Ok`.
    fn commit(&mut self, batch: &Batch) -> Result<(), ServeError>;
    /// Replaces the snapshot with the state `write` writes, which includes every input
    /// up to `input` (atomically: a crash leaves the old one or the new one). Returns
    /// the bytes written.
    fn save_snapshot(&mut self, input: u64, write: &mut StateWriter<'_>)
        -> Result<u64, ServeError>;
    /// Moves committed pages from the write-ahead log into the database without
    /// blocking writers (the writer's own connection leaves this to another thread, so
    /// no commit ever pays for it).
    fn checkpoint(&mut self) -> Result<(), ServeError>;
    /// Up to `limit` outbox entries due by `now`, oldest first.
    fn due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Pending>, ServeError>;
    /// The earliest retry time among entries not yet due.
    fn next_retry(&mut self) -> Result<Option<DateTime<Utc>>, ServeError>;
    /// Records what became of delivery attempts, in one transaction.
    fn record(&mut self, outcomes: &[(u64, Delivery)]) -> Result<(), ServeError>;
    /// How many entries are pending, delivered and dead.
    fn outbox_counts(&mut self) -> Result<OutboxCounts, ServeError>;
    /// The newest dead letters, up to `limit`.
    fn dead_letters(&mut self, limit: usize) -> Result<Vec<DeadLetter>, ServeError>;
}
