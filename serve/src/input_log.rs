//! The daemon's inputs, and the one function that feeds an input to the engine —
//! used live and, after a restart, to rebuild the state from the store's log, so the two
//! can never disagree.

use crate::store::{Heads, Input, InputKind, SnapshotRead, Store};
use crate::ServeError;
use camp_engine::input::{AttrError, EventRef, UserLine};
use camp_engine::state::State;
use camp_engine::{Engine, Output, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An event as a client posts it: the replay shape, with `at` optional (it is only
/// recorded as the sender's time; the event happens when the daemon receives it). It
/// must be a JSON object: an array of the same values is not an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incoming {
    /// Unique per campaign; a repeated id is a duplicate.
    pub id: String,
    /// The event type's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The user's id.
    pub user: String,
    /// The sender's time, if given, as sent: recorded, never used as the event's time.
    /// With an offset, or local to the campaign's time zone (as replay reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The fields.
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// [`Incoming`]'s fields, read from an object only (see [`Object`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncomingFields {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    user: String,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    data: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Incoming, D::Error> {
        let f: IncomingFields = object(
            d,
            "an event object, like {\"id\": \"e1\", \"type\": \"checkin\", \"user\": \"u1\"}",
        )?;
        if let Some(at) = &f.at {
            camp_engine::input::parse_at(at).map_err(serde::de::Error::custom)?;
        }
        Ok(Incoming {
            id: f.id,
            kind: f.kind,
            user: f.user,
            at: f.at,
            data: f.data,
        })
    }
}

/// Reads a `T` from a JSON object only. serde's derived structs also take an array of
/// their fields in order, so `["e1", "checkin", "u1"]` would pass for an event; and
/// their errors name the Rust type. This takes a map or says what was `expected`.
pub fn object<'de, D, T>(d: D, expected: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Object<T>(&'static str, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Object(expected, std::marker::PhantomData))
}

impl<'a> From<&'a Incoming> for EventRef<'a> {
    /// The event as the engine reads it, borrowed: the daemon's clock gives its time.
    fn from(e: &'a Incoming) -> Self {
        EventRef {
            id: &e.id,
            kind: &e.kind,
            user: &e.user,
            data: &e.data,
            user_number: None,
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
    /// Move the clock (firing what is due). A catch-up after downtime names the instant
    /// before which sends are stale (suppressed, not sent): the window is the daemon's
    /// flag, so the log keeps the instant it gave, and a replay does the same.
    Clock {
        /// Sends due before this are suppressed as `stale`.
        stale_before: Option<DateTime<Utc>>,
    },
}

/// A clock input's body.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ClockLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale_before: Option<DateTime<Utc>>,
}

impl Command {
    /// What kind of log row it is.
    pub fn kind(&self) -> InputKind {
        match self {
            Command::User(_) => InputKind::User,
            Command::Event(_) => InputKind::Event,
            Command::Clock { .. } => InputKind::Clock,
        }
    }

    /// The event's or user's id.
    pub fn key(&self) -> Option<&str> {
        match self {
            Command::User(u) => Some(&u.id),
            Command::Event(e) => Some(&e.id),
            Command::Clock { .. } => None,
        }
    }

    /// The log row's body.
    pub fn body(&self) -> String {
        match self {
            Command::User(u) => serde_json::json!({ "id": u.id, "attrs": u.attrs }).to_string(),
            Command::Event(e) => serde_json::to_string(e).unwrap_or_default(),
            Command::Clock { stale_before } => serde_json::to_string(&ClockLine {
                stale_before: *stale_before,
            })
            .unwrap_or_default(),
        }
    }

    /// Reads a logged input back.
    pub fn of(input: &Input) -> Result<Command, ServeError> {
        let bad = |e: serde_json::Error| {
            ServeError::Store(format!("input {} does not read back: {e}", input.seq))
        };
        Ok(match input.kind {
            InputKind::User => Command::User(serde_json::from_str(&input.body).map_err(bad)?),
            InputKind::Event => Command::Event(serde_json::from_str(&input.body).map_err(bad)?),
            InputKind::Clock => {
                let line: ClockLine = serde_json::from_str(&input.body).map_err(bad)?;
                Command::Clock {
                    stale_before: line.stale_before,
                }
            }
        })
    }
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A user was stored.
    User,
    /// A user's attributes did not fit; nothing changed.
    BadUser(AttrError),
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
            Ok(()) => {
                // With `enroll audience`, a user who becomes known while the campaign
                // runs enrolls now (§13.2), not at whatever input comes next; and
                // whatever else is due by now fires first, as for any input.
                engine.advance(state, now, out);
                Applied::User
            }
            Err(e) => Applied::BadUser(e),
        },
        Command::Event(incoming) => {
            engine.advance(state, now, out);
            let own = out.effects.len();
            let verdict = engine.event(state, incoming, now, out);
            Applied::Event { verdict, own }
        }
        Command::Clock { stale_before } => {
            match stale_before {
                Some(s) => engine.catch_up(state, now, *s, out),
                None => engine.advance(state, now, out),
            }
            Applied::Clock
        }
    }
}

/// The ledger's counts: grants per reward (in plan order) and the spend. Committed
/// with every group; a recovered state must agree with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Grants issued per reward.
    pub granted: Vec<u64>,
    /// Money spent, `"20 USD"`, if the campaign has a budget currency.
    pub spend: Option<String>,
}

impl Tally {
    /// The counts of `state`.
    pub fn of(engine: &Engine, state: &State) -> Tally {
        Tally {
            granted: engine.rewards(state).iter().map(|r| r.granted).collect(),
            spend: engine.summary(state).spend,
        }
    }

    /// As stored.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A state rebuilt from the store.
#[derive(Debug)]
pub struct Recovered {
    /// The state after every logged input.
    pub state: State,
    /// The last input the snapshot it started from includes (0: none).
    pub snapshot: u64,
    /// The log's last sequence numbers: every input up to `heads.input` is applied.
    pub heads: Heads,
    /// Why a snapshot there was set aside, if one was.
    pub set_aside: Option<String>,
}

/// Rebuilds the state from a store. The log is the truth and a snapshot only a
/// shortcut: the newest snapshot, if it is whole and this store's and ends at an input
/// the log has, plus every input logged after it, each at its logged time. A snapshot
/// that fails any of that, does not read back, or gives a state whose counts disagree
/// with the ledger's (grants per reward, spend) is set aside with a warning, and the
/// state is rebuilt from the whole log.
pub fn recover(engine: &Engine, store: &mut dyn Store) -> Result<Recovered, ServeError> {
    let heads = store.heads()?;
    let tally = store
        .tally()?
        .and_then(|t| serde_json::from_str::<Tally>(&t).ok());
    let set_aside = match store.snapshot()? {
        SnapshotRead::Missing => None,
        SnapshotRead::Unusable(why) => Some(why),
        SnapshotRead::Usable(s) => match from_snapshot(engine, store, s.input, &s.state) {
            Ok(state)
                if tally
                    .as_ref()
                    .is_none_or(|t| *t == Tally::of(engine, &state)) =>
            {
                return Ok(Recovered {
                    state,
                    snapshot: s.input,
                    heads,
                    set_aside: None,
                })
            }
            Ok(_) => Some("the state it gives disagrees with the ledger's counts".into()),
            Err(why) => Some(why),
        },
    };
    if let Some(why) = &set_aside {
        tracing::warn!(reason = %why, "the snapshot is set aside; rebuilding the state from the log alone");
    }
    let mut state = engine.start();
    let mut applied = 0;
    follow(engine, store, &mut state, &mut applied)?;
    if let Some(t) = tally.filter(|t| *t != Tally::of(engine, &state)) {
        tracing::error!(
            recorded = %t.json(),
            rebuilt = %Tally::of(engine, &state).json(),
            "the log does not give the counts recorded with it; going on with the log's"
        );
    }
    Ok(Recovered {
        state,
        snapshot: 0,
        heads,
        set_aside,
    })
}

/// A snapshot's state brought up to the log's head, or why it cannot be.
fn from_snapshot(
    engine: &Engine,
    store: &mut dyn Store,
    input: u64,
    bytes: &[u8],
) -> Result<State, String> {
    let state: State =
        serde_json::from_slice(bytes).map_err(|e| format!("it does not read back: {e}"))?;
    let mut state = engine.restore(state).map_err(|e| e.to_string())?;
    let mut applied = input;
    follow(engine, store, &mut state, &mut applied).map_err(|e| e.to_string())?;
    Ok(state)
}

/// Applies every input logged after `*applied` to `state`, advancing `*applied`.
pub fn follow(
    engine: &Engine,
    store: &mut dyn Store,
    state: &mut State,
    applied: &mut u64,
) -> Result<(), ServeError> {
    let mut out = Output::default();
    store.inputs_after(*applied, &mut |input| {
        let command = Command::of(&input)?;
        apply(engine, state, &command, input.at, &mut out);
        out.effects.clear();
        *applied = input.seq;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::Batch;
    use camp_compiler::{compile_file, MemoryLoader};

    const SRC: &str = r#"
campaign c {
  timezone "UTC"
  start    2027-01-01T00:00
}
user { nickname: string }
event checkin {}
reward p = points 1
phase main for 3d {
  task t {
    on checkin
    grant p
  }
}
"#;

    fn engine() -> Engine {
        let plan = compile_file(
            &MemoryLoader::with(&[("c.camp", SRC)]),
            std::path::Path::new("c.camp"),
        )
        .unwrap()
        .plan
        .unwrap();
        Engine::new(plan).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn input(seq: u64, when: &str, command: &Command) -> Input {
        Input {
            seq,
            at: at(when),
            kind: command.kind(),
            key: command.key().map(str::to_string),
            body: command.body(),
        }
    }

    fn store(name: &str) -> SqliteStore {
        let dir = std::env::temp_dir().join(format!("camp-log-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = SqliteStore::open(&dir.join("camp.db")).unwrap();
        store.bind("abc", "c", None).unwrap();
        store
    }

    fn snapshot(store: &mut SqliteStore, input: u64, state: &State) {
        store
            .save_snapshot(input, &mut |w| {
                serde_json::to_writer(w, state).map_err(|e| e.to_string())
            })
            .unwrap();
    }

    fn checkin(id: &str) -> Command {
        Command::Event(
            serde_json::from_str(&format!(r#"{{"id":"{id}","type":"checkin","user":"u1"}}"#))
                .unwrap(),
        )
    }

    fn log() -> Vec<Input> {
        let user = Command::User(serde_json::from_str(r#"{"id":"u1","attrs":{}}"#).unwrap());
        vec![
            input(1, "2027-01-01T01:00:00Z", &user),
            input(2, "2027-01-01T02:00:00Z", &checkin("e1")),
            input(3, "2027-01-01T03:00:00Z", &checkin("e1")),
            input(4, "2027-01-02T02:00:00Z", &checkin("e2")),
        ]
    }

    #[test]
    fn a_snapshot_plus_the_log_after_it_is_the_whole_log() {
        let e = engine();
        let mut whole = store("whole");
        whole
            .commit(&Batch {
                inputs: log(),
                ..Batch::default()
            })
            .unwrap();
        let from_log = recover(&e, &mut whole).unwrap();
        assert_eq!(from_log.snapshot, 0);
        assert_eq!(from_log.heads.input, 4);
        let points = |s: &State| e.participant(s, "u1").map(|p| p.points);
        assert_eq!(
            points(&from_log.state),
            Some(2),
            "the duplicate counts once"
        );

        // A snapshot after input 2, then inputs 3 and 4 from the log.
        let mut split = store("split");
        let mut head = log();
        let tail = head.split_off(2);
        split
            .commit(&Batch {
                inputs: head,
                ..Batch::default()
            })
            .unwrap();
        let at_two = recover(&e, &mut split).unwrap();
        snapshot(&mut split, 2, &at_two.state);
        split
            .commit(&Batch {
                inputs: tail,
                ..Batch::default()
            })
            .unwrap();
        let from_snapshot = recover(&e, &mut split).unwrap();
        assert_eq!(from_snapshot.snapshot, 2);
        assert_eq!(from_snapshot.state, from_log.state);
    }

    #[test]
    fn a_snapshot_that_disagrees_with_the_ledgers_counts_is_set_aside() {
        let e = engine();
        let mut whole = store("counts-whole");
        whole
            .commit(&Batch {
                inputs: log(),
                ..Batch::default()
            })
            .unwrap();
        let expected = recover(&e, &mut whole).unwrap().state;

        let mut s = store("counts");
        let mut head = log();
        let tail = head.split_off(2);
        s.commit(&Batch {
            inputs: head,
            ..Batch::default()
        })
        .unwrap();
        let at_two = recover(&e, &mut s).unwrap().state;
        s.commit(&Batch {
            inputs: tail,
            tally: Some(Tally::of(&e, &expected).json()),
            ..Batch::default()
        })
        .unwrap();
        // A whole, checksummed snapshot of this store that claims input 4 but holds
        // the state after input 2 (one grant short): the counts give it away.
        snapshot(&mut s, 4, &at_two);
        let again = recover(&e, &mut s).unwrap();
        assert_eq!(again.snapshot, 0);
        assert!(again
            .set_aside
            .as_deref()
            .is_some_and(|w| w.contains("ledger's counts")));
        assert_eq!(again.state, expected);
        // The same snapshot at input 2, where it belongs, is taken.
        snapshot(&mut s, 2, &at_two);
        let taken = recover(&e, &mut s).unwrap();
        assert_eq!((taken.snapshot, taken.set_aside), (2, None));
        assert_eq!(taken.state, expected);
    }

    #[test]
    fn a_snapshot_that_does_not_read_back_is_set_aside() {
        let e = engine();
        let mut s = store("garbage");
        s.commit(&Batch {
            inputs: log(),
            ..Batch::default()
        })
        .unwrap();
        let expected = recover(&e, &mut s).unwrap().state;
        s.save_snapshot(4, &mut |w| {
            w.write_all(b"{\"not\": 1}").map_err(|e| e.to_string())
        })
        .unwrap();
        let again = recover(&e, &mut s).unwrap();
        assert_eq!(again.snapshot, 0);
        assert!(again.set_aside.is_some());
        assert_eq!(again.state, expected);
    }
}
