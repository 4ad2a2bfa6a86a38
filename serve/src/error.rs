//! The daemon's one error type.

use camp_engine::EngineError;

/// What can go wrong in the daemon: the engine refused the plan or a snapshot, or the
/// store failed (or belongs to another plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServeError {
    /// The engine's error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store failed (or belongs to another plan).
    #[error("store: {0}")]
    Store(String),
}
