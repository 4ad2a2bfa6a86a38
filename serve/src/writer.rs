//! The writer: one thread that owns the engine state and the store's write connection.
//! It takes every job waiting (up to a limit), runs them through the engine in arrival
//! order, commits all their inputs, effects and outbox entries in one transaction (group
//! commit: one flush for many events), and only then answers. If the commit fails, the
//! state is rebuilt from the store and every job in the group gets an error: nothing
//! unacknowledged is ever visible as durable.

use crate::input_log::{apply, recover, Applied, Command, Incoming, Tally};
use crate::prometheus::{EffectCounts, Prometheus};
use crate::store::{Batch, EffectRow, Heads, Input, SendRow, Store};
use crate::Clock;
use camp_engine::effect::{label, Effect, RejectReason};
use camp_engine::input::UserLine;
use camp_engine::state::State;
use camp_engine::{Engine, Output, Verdict};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;
use tokio::sync::{oneshot, watch};

/// Most events taken into one group commit.
const GROUP: usize = 8192;

/// The engine and its state, shared with the readers (the HTTP routes).
#[derive(Debug)]
pub struct Shared {
    /// The compiled campaign.
    pub engine: Engine,
    state: RwLock<State>,
    /// Whether the writer is taking jobs (`/healthz`).
    pub writer_running: AtomicBool,
    /// Whether the snapshotter is following the log (`/healthz`).
    pub snapshotter_running: AtomicBool,
}

/// Clears a running flag when its thread ends, however it ends (a panic included).
pub struct Running<'a>(pub &'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl Shared {
    /// Wraps a recovered state.
    pub fn new(engine: Engine, state: State) -> Shared {
        Shared {
            engine,
            state: RwLock::new(state),
            writer_running: AtomicBool::new(true),
            snapshotter_running: AtomicBool::new(true),
        }
    }

    /// Reads the state: what every acknowledged input made it (a group in flight is
    /// not visible until it is durable).
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What became of one posted event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventResult {
    /// The event's id.
    pub id: String,
    /// `accepted`, `duplicate` or `rejected`.
    pub result: &'static str,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// The `data` field the event type does not have (a `bad_field` the daemon found
    /// before the campaign saw the event: nothing of it is logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What it did (accepted events only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<Effect>,
    /// Accepted events only: each task whose `on` matched the event but that did not
    /// count it, with why (`where`, `limit`, `window`, `balance`, `target`, `group`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<camp_engine::Unmatched>,
}

/// Why a job was refused; it changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A user attribute of the wrong type.
    BadAttribute(String),
    /// The manual clock cannot move backwards; it reads this.
    ClockBackwards(DateTime<Utc>),
    /// The store failed; the job was not made durable.
    Unavailable(String),
}

/// A reply channel.
type Reply<T> = oneshot::Sender<Result<T, Refusal>>;

/// Work for the writer.
#[derive(Debug)]
pub enum Job {
    /// Events, in order.
    Events {
        /// The events.
        events: Vec<Incoming>,
        /// Where to answer.
        reply: Reply<Vec<EventResult>>,
    },
    /// Create or update a user.
    User {
        /// The user.
        line: UserLine,
        /// Where to answer: their standing.
        reply: Reply<String>,
    },
    /// Move the manual clock.
    Clock {
        /// To when.
        to: DateTime<Utc>,
        /// Where to answer: the clock now.
        reply: Reply<DateTime<Utc>>,
    },
    /// Fire what is due by the system clock (from the scheduler).
    Tick,
    /// Stop once the jobs already waiting are done (shutdown).
    Stop,
}

impl Job {
    fn weight(&self) -> usize {
        match self {
            Job::Events { events, .. } => events.len().max(1),
            _ => 1,
        }
    }
}

/// An answer held until the group is durable.
enum Answer {
    Events(Reply<Vec<EventResult>>, Vec<EventResult>),
    User(Reply<String>, Result<String, Refusal>),
    Clock(Reply<DateTime<Utc>>, Result<DateTime<Utc>, Refusal>),
}

impl Answer {
    fn send(self) {
        // A client that went away does not care; the work is durable either way.
        let _ = match self {
            Answer::Events(r, v) => r.send(Ok(v)).map_err(|_| ()),
            Answer::User(r, v) => r.send(v).map_err(|_| ()),
            Answer::Clock(r, v) => r.send(v).map_err(|_| ()),
        };
    }

    fn fail(self, why: &Refusal) {
        let _ = match self {
            Answer::Events(r, _) => r.send(Err(why.clone())).map_err(|_| ()),
            Answer::User(r, _) => r.send(Err(why.clone())).map_err(|_| ()),
            Answer::Clock(r, _) => r.send(Err(why.clone())).map_err(|_| ()),
        };
    }
}

/// The writer's parts.
pub struct Writer {
    /// The engine and state.
    pub shared: Arc<Shared>,
    /// The write connection.
    pub store: Box<dyn Store>,
    /// The last sequence numbers written.
    pub heads: Heads,
    /// The daemon's clock.
    pub clock: Clock,
    /// Sends that fell due longer ago than this when the clock catches up are
    /// suppressed as `stale`.
    pub catch_up_window: chrono::TimeDelta,
    /// Where metrics go.
    pub metrics: Arc<Prometheus>,
    /// Told when new sends are in the outbox.
    pub outbox: Sender<()>,
    /// Told when the next time-driven step is due, after every group.
    pub next_due: watch::Sender<Option<DateTime<Utc>>>,
    /// Told the last input committed, after every commit (the snapshotter follows).
    pub committed: Sender<u64>,
    /// What every idempotency key of this run starts with: `<campaign>-<run>`, where
    /// the run is drawn at random at each start, so a key is never handed out twice
    /// for the life of the store, even after its log went back (a restored backup, a
    /// lost `-wal` file) and effect numbers are used again.
    pub key_prefix: String,
}

impl Writer {
    /// Runs until every job sender is gone or [`Job::Stop`] comes.
    pub fn run(mut self, jobs: Receiver<Job>) {
        let shared = Arc::clone(&self.shared);
        let _running = Running(&shared.writer_running);
        self.publish_due();
        let mut stopping = false;
        while let Ok(first) = jobs.recv() {
            let mut weight = first.weight();
            let mut group = vec![first];
            while weight < GROUP {
                match jobs.try_recv() {
                    Ok(job) => {
                        weight += job.weight();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            stopping |= group.iter().any(|j| matches!(j, Job::Stop));
            self.group(group);
            if stopping {
                break;
            }
        }
        tracing::info!(inputs = self.heads.input, "writer stopped");
    }

    fn now(&self, state: &State) -> DateTime<Utc> {
        let engine_clock = state.clock().unwrap_or(DateTime::UNIX_EPOCH);
        match self.clock {
            Clock::Manual => engine_clock,
            // The log keeps microseconds, so the engine is given no finer a time: a
            // restart then replays exactly what ran.
            Clock::System => Utc::now().trunc_subsecs(6).max(engine_clock),
        }
    }

    /// Runs one group.
    fn group(&mut self, jobs: Vec<Job>) {
        let shared = Arc::clone(&self.shared);
        let engine = &shared.engine;
        let mut state = shared.write();
        let mut batch = Batch::default();
        let mut answers = Vec::with_capacity(jobs.len());
        let mut heads = self.heads;
        let mut verdicts = Vec::new();
        let mut effects = EffectCounts::default();
        let mut out = Output::default();
        for job in jobs {
            match job {
                Job::Events { events, reply } => {
                    let mut results = Vec::with_capacity(events.len());
                    for incoming in events {
                        if let Some(field) = undeclared(engine, &incoming) {
                            verdicts.push(Verdict::Rejected(RejectReason::BadField));
                            results.push(EventResult {
                                id: incoming.id,
                                result: "rejected",
                                reason: Some(RejectReason::BadField),
                                field: Some(field),
                                effects: Vec::new(),
                                unmatched: Vec::new(),
                            });
                            continue;
                        }
                        let now = self.now(&state);
                        // Steps missed for longer than the window go first, as a
                        // catch-up of their own, so their sends are stale.
                        if let Some(cutoff) = self.stale_before(&state, now) {
                            let catch_up = Command::Clock {
                                stale_before: Some(cutoff),
                            };
                            apply(engine, &mut state, &catch_up, now, &mut out);
                            self.log(&mut batch, &mut heads, now, &catch_up, &out);
                            self.drain(&mut out, &mut effects);
                        }
                        let command = Command::Event(incoming);
                        let applied = apply(engine, &mut state, &command, now, &mut out);
                        self.log(&mut batch, &mut heads, now, &command, &out);
                        if let (&Applied::Event { verdict, own }, Command::Event(incoming)) =
                            (&applied, command)
                        {
                            verdicts.push(verdict);
                            results.push(result(
                                incoming.id,
                                verdict,
                                out.effects.get(own..),
                                &out.unmatched,
                            ));
                        }
                        self.drain(&mut out, &mut effects);
                    }
                    answers.push(Answer::Events(reply, results));
                }
                Job::User { line, reply } => {
                    let now = self.now(&state);
                    let command = Command::User(line);
                    let result = match apply(engine, &mut state, &command, now, &mut out) {
                        Applied::BadUser(e) => Err(Refusal::BadAttribute(e.to_string())),
                        _ => {
                            self.log(&mut batch, &mut heads, now, &command, &out);
                            let standing = command
                                .key()
                                .and_then(|id| state.find(id))
                                .and_then(|i| state.user(i))
                                .map(|u| label(&u.standing))
                                .unwrap_or_default();
                            Ok(standing)
                        }
                    };
                    self.drain(&mut out, &mut effects);
                    answers.push(Answer::User(reply, result));
                }
                Job::Clock { to, reply } => {
                    let now = self.now(&state);
                    let result = if to < now {
                        Err(Refusal::ClockBackwards(now))
                    } else {
                        let command = Command::Clock {
                            stale_before: self.stale_before(&state, to),
                        };
                        apply(engine, &mut state, &command, to, &mut out);
                        self.log(&mut batch, &mut heads, to, &command, &out);
                        Ok(to)
                    };
                    self.drain(&mut out, &mut effects);
                    answers.push(Answer::Clock(reply, result));
                }
                Job::Stop => {}
                Job::Tick => {
                    let now = self.now(&state);
                    if engine.next_due(&state).is_some_and(|t| t <= now) {
                        let command = Command::Clock {
                            stale_before: self.stale_before(&state, now),
                        };
                        apply(engine, &mut state, &command, now, &mut out);
                        self.log(&mut batch, &mut heads, now, &command, &out);
                        self.drain(&mut out, &mut effects);
                    }
                }
            }
        }
        if batch.is_empty() {
            drop(state);
            for a in answers {
                a.send();
            }
            self.publish_due();
            return;
        }
        batch.tally = Some(Tally::of(engine, &state).json());
        let started = Instant::now();
        let committed = self.store.commit(&batch);
        self.metrics
            .commit(started.elapsed().as_secs_f64(), batch.inputs.len());
        match committed {
            Ok(()) => {
                self.heads = heads;
                drop(state);
                for v in verdicts {
                    self.metrics.event(v);
                }
                self.metrics.effects(&effects);
                if !batch.sends.is_empty() {
                    let _ = self.outbox.send(());
                }
                let _ = self.committed.send(self.heads.input);
                for a in answers {
                    a.send();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; rebuilding the state from the store");
                let why = Refusal::Unavailable(e.to_string());
                match recover(engine, self.store.as_mut()) {
                    Ok(r) => *state = r.state,
                    Err(e) => tracing::error!(error = %e, "cannot rebuild the state"),
                }
                drop(state);
                for a in answers {
                    a.fail(&why);
                }
            }
        }
        self.publish_due();
    }

    /// `now` less the catch-up window, if a step is due before it (its sends are then
    /// stale); none otherwise, so an input that only catches up within the window is
    /// logged as a plain clock move.
    fn stale_before(&self, state: &State, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cutoff = now.checked_sub_signed(self.catch_up_window)?;
        self.shared
            .engine
            .next_due(state)
            .filter(|t| *t < cutoff)
            .map(|_| cutoff)
    }

    /// Takes the effects out of `out`, counted for the metrics.
    fn drain(&self, out: &mut Output, effects: &mut EffectCounts) {
        effects.add(&out.effects);
        out.effects.clear();
    }

    /// Adds an input and the effects in `out` to the batch.
    fn log(
        &self,
        batch: &mut Batch,
        heads: &mut Heads,
        at: DateTime<Utc>,
        command: &Command,
        out: &Output,
    ) {
        heads.input += 1;
        let input = heads.input;
        batch.inputs.push(Input {
            seq: input,
            at,
            kind: command.kind(),
            key: command.key().map(str::to_string),
            body: command.body(),
        });
        for e in &out.effects {
            heads.effect += 1;
            let body = serde_json::to_string(e).unwrap_or_default();
            if let Effect::Send { .. } = e {
                let key = format!("{}-{}", self.key_prefix, heads.effect);
                batch.sends.push(SendRow {
                    seq: heads.effect,
                    body: serde_json::to_string(&Keyed { key: &key, send: e }).unwrap_or_default(),
                    key,
                });
            }
            batch.effects.push(EffectRow {
                seq: heads.effect,
                input,
                kind: e.kind(),
                user: e.user().map(|u| u.to_string()),
                body,
            });
        }
    }

    fn publish_due(&self) {
        let due = self.shared.engine.next_due(&self.shared.read());
        self.next_due.send_replace(due);
    }
}

/// A send as the sink receives it: its idempotency key, then the effect's fields.
#[derive(Serialize)]
struct Keyed<'a> {
    key: &'a str,
    #[serde(flatten)]
    send: &'a Effect,
}

/// The answer for one event: its own effects, and the tasks that matched it without
/// counting it, if accepted.
fn result(
    id: String,
    verdict: Verdict,
    own: Option<&[Effect]>,
    unmatched: &[camp_engine::Unmatched],
) -> EventResult {
    let unmatched = match verdict {
        Verdict::Accepted => unmatched.to_vec(),
        Verdict::Rejected(_) => Vec::new(),
    };
    let (result, reason, effects) = match verdict {
        Verdict::Accepted => ("accepted", None, own.unwrap_or_default().to_vec()),
        Verdict::Rejected(RejectReason::Duplicate) => ("duplicate", None, Vec::new()),
        Verdict::Rejected(r) => ("rejected", Some(r), Vec::new()),
    };
    EventResult {
        id,
        result,
        reason,
        field: None,
        effects,
        unmatched,
    }
}

/// The first `data` key that the event's type does not declare, if its type is the
/// campaign's (an unknown type is the campaign's to reject). The engine ignores such a
/// field; taking it silently would turn a typo (`amout`) into a missing field.
fn undeclared(engine: &Engine, e: &Incoming) -> Option<String> {
    if e.data.is_empty() {
        return None;
    }
    let ty = engine.plan().events.iter().find(|t| t.name == e.kind)?;
    e.data
        .keys()
        .find(|k| !ty.fields.iter().any(|f| f.name == **k))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_answer_lists_the_tasks_that_did_not_count_and_why() {
        let unmatched = [camp_engine::Unmatched {
            task: "buy_tea".into(),
            why: camp_engine::Why::Balance,
        }];
        let accepted = result("r1".into(), Verdict::Accepted, Some(&[]), &unmatched);
        assert_eq!(
            serde_json::to_string(&accepted).unwrap(),
            r#"{"id":"r1","result":"accepted","unmatched":[{"task":"buy_tea","why":"balance"}]}"#
        );
        let rejected = result(
            "r2".into(),
            Verdict::Rejected(RejectReason::Duplicate),
            None,
            &unmatched,
        );
        assert_eq!(
            serde_json::to_string(&rejected).unwrap(),
            r#"{"id":"r2","result":"duplicate"}"#
        );
    }
}
