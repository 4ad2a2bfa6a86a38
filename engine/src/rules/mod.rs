//! The rules, as methods of [`Step`](crate::step::Step) and the data they keep:
//!
//! - [`participant`]: enrollment, counted completions with their limits, grants,
//!   streaks and `after` milestones, tiers, goals, leaderboard scores;
//! - [`timeline`]: phase changes, awards, `on enter`, `at` sends, deferred sends,
//!   inactivity, birthdays, `until`;
//! - [`timers`]: task windows (`within`), per-participant timed sends, the `if` of
//!   phase-level sends and grants, mass grants;
//! - [`sends`]: holdout, quiet hours, the cap, rendering;
//! - [`grants`]: `per_user` → stock → budget, seeded draws, the ledger;
//! - [`board`]: the ordered leaderboard index;
//! - [`actions`]: action blocks and their targets (`grant`, `send`, `use`, `give`,
//!   `revoke`, `open`, `join`), and whether a task's can be carried out;
//! - [`groups`]: groups opened, joined, filled and expired;
//! - [`raffles`]: raffle rounds drawn from the seed;
//! - [`periods`]: periodic leaderboards' period ends, awards, and `enroll audience`;
//! - [`pools`]: the share each recipient of one firing of a mass grant gets of a pool.

pub(crate) mod actions;
pub mod board;
pub mod grants;
pub mod groups;
pub(crate) mod participant;
pub(crate) mod periods;
pub(crate) mod pools;
pub(crate) mod raffles;
pub(crate) mod sends;
pub(crate) mod timeline;
pub(crate) mod timers;
