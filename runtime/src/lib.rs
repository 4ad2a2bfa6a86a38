//! The engine that runs a compiled [`Plan`](camp_compiler::plan::Plan) ([`engine`]),
//! and its edges: message rendering ([`render`], the one renderer that `camp preview`
//! and the engine share), offline replay ([`replay`], [`scenario`]), the durable store
//! ([`store`]) and the daemon ([`daemon`]).
//!
//! Architecture invariant: the engine does no I/O. The clock is an argument; the store,
//! the HTTP server and the message sinks live in [`store`] and [`daemon`], which drive
//! the engine exactly as replay does.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod daemon;
pub mod engine;
mod plain;
pub mod render;
pub mod replay;
pub mod scenario;
pub mod store;

pub use render::{RenderContext, Rendered, Renderer};

/// What can go wrong in the runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The plan names a time zone this build does not know.
    #[error("the campaign time zone `{0}` is not a known IANA time zone")]
    TimeZone(String),
    /// An id that is not an index into the plan (a plan and state that do not match).
    #[error("the plan has no {what} #{index}")]
    UnknownId {
        /// `message`, `phase` or `reward`.
        what: &'static str,
        /// The index.
        index: u32,
    },
    /// A snapshot taken from another plan (or a damaged one).
    #[error("the snapshot belongs to plan {found}, not to this plan ({expected})")]
    Snapshot {
        /// This plan's source hash.
        expected: String,
        /// The snapshot's.
        found: String,
    },
    /// A message with no template at all (its campaign declares no locales).
    #[error("the message `{message}` has no text in any locale")]
    NoTemplate {
        /// The message.
        message: String,
    },
    /// A plan with more of something than one participant's lists can track.
    #[error("the plan has {count} {what}; the runtime tracks at most {max} per participant")]
    TooMany {
        /// `tasks`, `rewards`, `leaderboards`, `goals` or `event types`.
        what: &'static str,
        /// How many the plan has.
        count: usize,
        /// The most it can have.
        max: usize,
    },
    /// The store failed (or belongs to another plan).
    #[error("store: {0}")]
    Store(String),
    /// A template that does not parse or fails while rendering (a filter given a value
    /// it cannot format, say).
    #[error("the message `{message}` ({locale}) could not be rendered: {detail}")]
    Template {
        /// The message.
        message: String,
        /// The locale of the template.
        locale: String,
        /// What went wrong, from the template engine.
        detail: String,
    },
}
