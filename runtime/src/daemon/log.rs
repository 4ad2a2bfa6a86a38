//! The daemon's inputs, and the one function that feeds an input to the engine —
//! used live and, after a restart, to rebuild the state from the store's log, so the two
//! can never disagree.

use crate::engine::input::{EventLine, UserLine};
use crate::engine::state::State;
use crate::engine::{Engine, Output, Verdict};
use crate::store::{Input, InputKind, Store};
use crate::RuntimeError;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An event as a client posts it: the replay shape, with `at` optional (it is only
/// recorded as the sender's time; the event happens when the daemon receives it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incoming {
    /// Unique per campaign; a repeated id is a duplicate.
    pub id: String,
    /// The event type's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The user's id.
    pub user: String,
    /// The sender's time, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<FixedOffset>>,
    /// The fields.
    #[serde(default)]
    pub data: Map<String, Value>,
}

impl Incoming {
    /// The event as the engine takes it, happening at `now`.
    fn line(&self, now: DateTime<Utc>) -> EventLine {
        EventLine {
            id: self.id.clone(),
            kind: self.kind.clone(),
            user: self.user.clone(),
            at: now.fixed_offset(),
            data: self.data.clone(),
        }
    }
}

/// One input, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Create or update a user.
    User(UserLine),
    /// An event.
    Event(Incoming),
    /// Move the clock (firing what is due).
    Clock,
}

impl Command {
    /// What kind of log row it is.
    pub fn kind(&self) -> InputKind {
        match self {
            Command::User(_) => InputKind::User,
            Command::Event(_) => InputKind::Event,
            Command::Clock => InputKind::Clock,
        }
    }

    /// The event's or user's id.
    pub fn key(&self) -> Option<&str> {
        match self {
            Command::User(u) => Some(&u.id),
            Command::Event(e) => Some(&e.id),
            Command::Clock => None,
        }
    }

    /// The log row's body.
    pub fn body(&self) -> String {
        match self {
            Command::User(u) => serde_json::json!({ "id": u.id, "attrs": u.attrs }).to_string(),
            Command::Event(e) => serde_json::to_string(e).unwrap_or_default(),
            Command::Clock => String::from("{}"),
        }
    }

    /// Reads a logged input back.
    pub fn of(input: &Input) -> Result<Command, RuntimeError> {
        let bad = |e: serde_json::Error| {
            RuntimeError::Store(format!("input {} does not read back: {e}", input.seq))
        };
        Ok(match input.kind {
            InputKind::User => Command::User(serde_json::from_str(&input.body).map_err(bad)?),
            InputKind::Event => Command::Event(serde_json::from_str(&input.body).map_err(bad)?),
            InputKind::Clock => Command::Clock,
        })
    }
}

/// What applying a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A user was stored.
    User,
    /// A user's attributes did not fit; nothing changed.
    BadUser,
    /// An event, with the engine's verdict; its own effects start at `own` in the output
    /// (those before are time-driven steps that came due first).
    Event {
        /// The engine's verdict.
        verdict: Verdict,
        /// Where the event's own effects start.
        own: usize,
    },
    /// The clock moved.
    Clock,
}

/// Feeds one command to the engine at `now`.
pub fn apply(
    engine: &Engine,
    state: &mut State,
    command: &Command,
    now: DateTime<Utc>,
    out: &mut Output,
) -> Applied {
    match command {
        Command::User(line) => match engine.user(state, line) {
            Ok(()) => Applied::User,
            Err(_) => Applied::BadUser,
        },
        Command::Event(incoming) => {
            engine.advance(state, now, out);
            let own = out.effects.len();
            let verdict = engine.event(state, &incoming.line(now), now, out);
            Applied::Event { verdict, own }
        }
        Command::Clock => {
            engine.advance(state, now, out);
            Applied::Clock
        }
    }
}

/// A state rebuilt from the store.
#[derive(Debug)]
pub struct Recovered {
    /// The state after every logged input.
    pub state: State,
    /// The last input the snapshot it started from includes (0: none).
    pub snapshot: u64,
    /// The last input applied.
    pub applied: u64,
}

/// Rebuilds the state from a store: its newest snapshot, then every input logged after
/// it, each at its logged time. A snapshot ahead of the log (the database restored from
/// an older backup) is ignored.
pub fn recover(engine: &Engine, store: &mut dyn Store) -> Result<Recovered, RuntimeError> {
    let heads = store.heads()?;
    let snapshot = store.snapshot()?.filter(|s| {
        let usable = s.input <= heads.input;
        if !usable {
            tracing::warn!(
                snapshot = s.input,
                log = heads.input,
                "the snapshot is ahead of the log; rebuilding from the log alone"
            );
        }
        usable
    });
    let (state, after) = match snapshot {
        Some(s) => {
            let state: State = serde_json::from_slice(&s.state).map_err(|e| {
                RuntimeError::Store(format!("the snapshot does not read back: {e}"))
            })?;
            (engine.restore(state)?, s.input)
        }
        None => (engine.start(), 0),
    };
    let mut recovered = Recovered {
        state,
        snapshot: after,
        applied: after,
    };
    follow(engine, store, &mut recovered.state, &mut recovered.applied)?;
    Ok(recovered)
}

/// Applies every input logged after `*applied` to `state`, advancing `*applied`.
pub fn follow(
    engine: &Engine,
    store: &mut dyn Store,
    state: &mut State,
    applied: &mut u64,
) -> Result<(), RuntimeError> {
    let mut out = Output::default();
    store.inputs_after(*applied, &mut |input| {
        let command = Command::of(&input)?;
        apply(engine, state, &command, input.at, &mut out);
        out.effects.clear();
        out.problems.clear();
        *applied = input.seq;
        Ok(())
    })
}
