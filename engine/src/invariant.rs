//! Bindings the engine's own invariants guarantee: a user number names a user, a plan
//! id indexes the plan, a list kept per event type has an entry for each. Only a bug
//! in the engine breaks one; [`guaranteed!`] says which, where it is written.

/// Reports a broken engine invariant. Debug builds and tests stop at once, so the bug
/// shows where it happens; a release build skips only the step that needed it (the
/// caller's `else`), so one bad record never takes a running campaign down.
#[cold]
#[track_caller]
#[allow(clippy::panic)] // The one place a broken invariant stops a (debug) build.
pub(crate) fn broken(what: &str) {
    if cfg!(debug_assertions) {
        panic!("engine invariant broken: {what}");
    }
}

/// `let PATTERN = EXPR else { … }` where only a broken engine invariant takes `else`:
///
/// ```ignore
/// guaranteed!(let Some(user) = state.user(u), "a user number names a user" else return);
/// ```
macro_rules! guaranteed {
    (let $pat:pat = $e:expr, $why:literal else $($else:tt)+) => {
        let $pat = $e else {
            $crate::invariant::broken($why);
            $($else)+
        };
    };
}
pub(crate) use guaranteed;
