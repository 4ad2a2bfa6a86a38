//! The rules, as methods of [`Step`](crate::step::Step) and the data they keep:
//!
//! - [`participant`]: enrollment, counted completions with their limits, grants,
//!   streaks and `after` milestones, tiers, goals, leaderboard scores;
//! - [`timeline`]: phase changes, awards, `on enter`, `at` sends, deferred sends,
//!   inactivity, birthdays, `until`;
//! - [`sends`]: holdout, quiet hours, the cap, rendering;
//! - [`grants`]: `per_user` → stock → budget, seeded draws, the ledger;
//! - [`board`]: the ordered leaderboard index.

pub mod board;
pub mod grants;
pub(crate) mod participant;
pub(crate) mod sends;
pub(crate) mod timeline;
