//! The engine's building blocks: what it emits ([`effect`]), what it is fed
//! ([`input`]), and how it evaluates the Plan's conditions ([`eval`]).
//!
//! The step function itself — (state, input, time) → (state, effects) over the Plan —
//! is built on these; until it lands, nothing in the CLI runs campaigns.

pub mod effect;
pub mod eval;
pub mod grants;
pub mod input;
