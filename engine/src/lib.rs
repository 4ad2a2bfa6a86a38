//! `camp-engine`: runs a compiled [`Plan`](camp_plan::Plan). The engine is a pure,
//! deterministic step function — (state, input, time) → (state, effects) — and this
//! crate also holds what drives it without I/O of its own: message rendering
//! ([`render`], shared with `camp preview`), offline replay ([`replay`]) and scenario
//! tests ([`scenario`]).
//!
//! - [`Engine::user`] adds or updates a user;
//! - [`Engine::event`] takes one event at an instant (firing every time-driven step due
//!   by then first);
//! - [`Engine::advance`] moves the clock, firing time-driven steps in time order;
//! - the [`State`](state::State) is plain data: serialize it to snapshot,
//!   [`Engine::restore`] it.
//!
//! The rules live in [`rules`]; the state they change in [`state`]; one step of them is
//! a [`step::Step`].
//!
//! Architecture invariant: the engine does no I/O and never reads the clock (time is an
//! argument of every step). Its dependency closure has no async runtime, HTTP, SQL,
//! parser or diagnostic-rendering crate; the daemon (`camp-serve`) drives it exactly as
//! replay does.

pub mod effect;
mod engine;
pub mod eval;
pub mod hashes;
pub mod input;
mod invariant;
pub mod kpi;
pub mod measures;
pub mod random;
pub mod render;
pub mod replay;
pub mod rules;
pub mod run_report;
pub mod scenario;
pub mod state;
pub mod stats;
pub(crate) mod step;

pub use engine::{Engine, Output, Spill, Unmatched, Verdict, Why, SPILL_AT};
pub use render::{GroupVars, RenderContext, Rendered, Renderer};

/// What can go wrong in the engine: a plan it cannot run, a snapshot of another plan,
/// a template that fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
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
