//! `camp-plan`: the Plan — a campaign compiled for execution — and what both the
//! compiler and the engine need to agree on it: the values and their written forms
//! ([`literal`]: money, durations, dates) and the calendar arithmetic in the campaign
//! time zone ([`calendar`]: local ↔ UTC, calendar durations, local days, quiet hours),
//! and "did you mean" for names either side reports ([`suggest`]).
//!
//! Everything in a Plan is resolved (definitions refer to each other by index, never by
//! name), every time is in UTC, every phase window is concrete. The runtime loads it
//! without the source. The Plan's JSON Schema (`docs/plan.schema.json`) is generated from
//! these types (`schemars`).
//!
//! Architecture invariant: this crate depends on no other crate of ours and does no I/O;
//! there is one copy of each calendar rule, here.

pub mod calendar;
pub mod literal;
mod plan;
pub mod suggest;

pub use plan::*;

/// The Plan's JSON Schema, pretty-printed with a final newline: the text of
/// `docs/plan.schema.json` (a test keeps that file current).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Plan);
    // A schema is a JSON value: turning it into text cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
