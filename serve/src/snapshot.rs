//! Snapshots that never stall ingest. The snapshotter keeps its own copy of the state
//! and follows the log: after commits, it reads the inputs committed since it last
//! looked (its own read connection) and applies them — the engine is deterministic, so
//! its copy is exactly the writer's at that input — and, every so often, serializes its
//! copy while the writer goes on. It costs a second copy of the state in memory and the
//! engine's time twice; it saves every request from waiting for a serialization.
//!
//! The same thread checkpoints SQLite's write-ahead log, which the writer's connection
//! never does, for the same reason.

use crate::input_log::follow;
use crate::store::Store;
use crate::writer::Shared;
use camp_engine::state::State;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the write-ahead log is checkpointed while commits come in.
const CHECKPOINT: Duration = Duration::from_millis(250);

/// The snapshotter's parts.
pub struct Snapshotter {
    /// The engine (the writer's state in it is never touched here).
    pub shared: Arc<Shared>,
    /// Its own copy of the state.
    pub state: State,
    /// The last input its copy includes.
    pub applied: u64,
    /// The last input the saved snapshot includes.
    pub saved: u64,
    /// Its own connection to the store.
    pub store: Box<dyn Store>,
    /// Snapshot after this many inputs, or as many as there are users if more (so the
    /// cost per input stays constant however large the campaign grows).
    pub every: u64,
}

impl Snapshotter {
    /// Follows commits (each message is the last input committed) until the writer is
    /// gone, then saves a last snapshot.
    pub fn run(mut self, committed: Receiver<u64>) {
        let shared = Arc::clone(&self.shared);
        let _running = crate::writer::Running(&shared.snapshotter_running);
        let mut checkpointed = Instant::now();
        while let Ok(mut head) = committed.recv() {
            while let Ok(h) = committed.try_recv() {
                head = h;
            }
            // The writer's connection never checkpoints; this thread does, off its path.
            if checkpointed.elapsed() >= CHECKPOINT {
                if let Err(e) = self.store.checkpoint() {
                    tracing::warn!(error = %e, "checkpoint failed");
                }
                checkpointed = Instant::now();
            }
            let due = self.every.max(self.state.user_count() as u64);
            if head.saturating_sub(self.saved) >= due {
                self.save();
            }
        }
        self.save();
        tracing::info!(input = self.saved, "snapshotter stopped");
    }

    /// Catches up with the log and saves the copy, if it moved since the last save.
    fn save(&mut self) {
        let engine = &self.shared.engine;
        if let Err(e) = follow(
            engine,
            self.store.as_mut(),
            &mut self.state,
            &mut self.applied,
        ) {
            tracing::error!(error = %e, "the snapshotter cannot read the log");
            return;
        }
        if self.applied == self.saved {
            return;
        }
        let state = &self.state;
        let saved = self.store.save_snapshot(self.applied, &mut |w| {
            serde_json::to_writer(w, state).map_err(|e| e.to_string())
        });
        match saved {
            Ok(bytes) => {
                self.saved = self.applied;
                tracing::info!(input = self.saved, bytes, "snapshot saved");
            }
            Err(e) => tracing::error!(error = %e, "cannot save a snapshot"),
        }
    }
}
