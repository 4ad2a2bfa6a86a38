//! The outbox's delivery thread: takes due entries oldest first, hands them to the
//! sink, and records each result. A failed send is retried with exponential backoff and
//! jitter; after `max_attempts` failures (or a failure that retrying cannot fix) it
//! becomes a dead letter, listed by `GET /v1/campaign`. Delivery is at least once: a
//! crash between the sink taking a send and the store recording it delivers it again,
//! with the same idempotency key.

use crate::prometheus::Prometheus;
use crate::sink::Sink;
use crate::store::{Delivery, Pending, Store};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Entries taken per round.
const ROUND: usize = 512;
/// The first retry waits about this long; each further one twice as long.
const BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
const CEILING: Duration = Duration::from_secs(600);
/// How long to sleep with nothing due, at most (a retry may come due meanwhile).
const IDLE: Duration = Duration::from_secs(1);

/// When to try again after `attempts` failures: `BASE · 2^(attempts-1)`, capped, times a
/// jitter factor in [0.5, 1) drawn from the key, so that sends failing together do not
/// retry together.
pub fn backoff(key: &str, attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let exp = attempts.saturating_sub(1).min(20);
    let full = BASE.saturating_mul(1u32 << exp).min(CEILING);
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(key.as_bytes(), u64::from(attempts));
    let jitter = 0.5 + (h >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
    let wait = full.mul_f64(jitter);
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

/// What a round did.
enum Round {
    /// Nothing was due (or nothing could be attempted).
    Idle,
    /// Entries were attempted and none failed for a while yet.
    Moved,
    /// An attempt failed and is retried at this instant.
    Failing(DateTime<Utc>),
}

/// The delivery thread's parts.
pub struct Deliverer {
    /// Its own connection to the store.
    pub store: Box<dyn Store>,
    /// Where sends go.
    pub sink: Box<dyn Sink>,
    /// Failures before a send becomes a dead letter.
    pub max_attempts: u32,
    /// Where metrics go.
    pub metrics: Arc<Prometheus>,
    /// Set at shutdown: no attempt starts after this instant.
    pub deadline: Arc<OnceLock<Instant>>,
}

impl Deliverer {
    /// Delivers until the writer is gone (its sender dropped), then makes one last pass,
    /// within the shutdown deadline; what it does not get to stays pending for the next
    /// start.
    pub fn run(mut self, wake: Receiver<()>) {
        loop {
            let round = self.round();
            let wait = match round {
                Round::Moved => continue,
                // The receiver is failing: leave it alone until the retry is due,
                // however many new sends arrive meanwhile.
                Round::Failing(retry_at) => {
                    if self.pause_until(retry_at, &wake) {
                        continue;
                    }
                    self.round();
                    break;
                }
                Round::Idle => match self.store.next_retry() {
                    Ok(Some(t)) => (t - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(IDLE),
                    _ => IDLE,
                },
            };
            match wake.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.round();
                    break;
                }
            }
        }
        tracing::info!("outbox stopped");
    }

    /// Waits until `t`; false if the writer went away meanwhile (shutdown).
    fn pause_until(&self, t: DateTime<Utc>, wake: &Receiver<()>) -> bool {
        loop {
            let left = (t - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                return true;
            }
            if let Err(RecvTimeoutError::Disconnected) = wake.recv_timeout(left) {
                return false;
            }
        }
    }

    /// One round: delivers what is due now.
    fn round(&mut self) -> Round {
        let now = Utc::now();
        let due = match self.store.due(now, ROUND) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                std::thread::sleep(IDLE);
                return Round::Idle;
            }
        };
        if due.is_empty() {
            return Round::Idle;
        }
        let deadline = Arc::clone(&self.deadline);
        let go_on = move || deadline.get().is_none_or(|d| Instant::now() < *d);
        let results = self.sink.deliver(&due, &go_on);
        // Backoff counts from when the round ended, not when it began: a round of
        // slow failures must not leave its retries already due.
        let failed_at = Utc::now();
        let outcomes: Vec<(u64, Delivery)> = due
            .iter()
            .zip(results)
            .map(|(p, r)| (p.seq, decide(p, r, failed_at, self.max_attempts)))
            .collect();
        if outcomes.is_empty() {
            return Round::Idle;
        }
        let failing = outcomes.iter().find_map(|(_, o)| match o {
            Delivery::Retry { retry_at, .. } => Some(*retry_at),
            _ => None,
        });
        for (_, o) in &outcomes {
            self.metrics.delivery(match o {
                Delivery::Delivered => "delivered",
                Delivery::Retry { .. } => "retry",
                Delivery::Dead { .. } => "dead",
            });
        }
        if let Err(e) = self.store.record(&outcomes) {
            // Not recorded: the entries stay pending and go out again (at least once).
            tracing::error!(error = %e, "cannot record deliveries");
            std::thread::sleep(IDLE);
        }
        failing.map_or(Round::Moved, Round::Failing)
    }
}

/// What becomes of an attempt at `p`: delivered; retried later; or, after
/// `max_attempts` failures or one retrying cannot fix, a dead letter.
fn decide(
    p: &Pending,
    result: Result<(), crate::sink::Failure>,
    now: DateTime<Utc>,
    max_attempts: u32,
) -> Delivery {
    match result {
        Ok(()) => Delivery::Delivered,
        Err(f) => {
            let attempts = p.attempts + 1;
            if f.permanent || attempts >= max_attempts {
                tracing::warn!(key = %p.key, error = %f.error, attempts, "send given up: dead letter");
                Delivery::Dead { error: f.error }
            } else {
                Delivery::Retry {
                    retry_at: backoff(&p.key, attempts, now),
                    error: f.error,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        let now = DateTime::UNIX_EPOCH;
        let wait = |attempts| (backoff("k", attempts, now) - now).as_seconds_f64();
        for attempts in 1..=8u32 {
            let full = f64::from(1u32 << (attempts - 1));
            let w = wait(attempts);
            assert!(w >= full * 0.5 && w < full, "attempt {attempts}: {w}");
        }
        assert!(wait(30) <= 600.0);
        // Keys spread out; one key is stable.
        assert_ne!(backoff("a", 3, now), backoff("b", 3, now));
        assert_eq!(backoff("a", 3, now), backoff("a", 3, now));
    }

    #[test]
    fn failures_retry_until_the_last_attempt_or_a_permanent_one() {
        let now = DateTime::UNIX_EPOCH;
        let pending = |attempts| Pending {
            seq: 1,
            key: "k".into(),
            body: "{}".into(),
            attempts,
        };
        let fail = |permanent| {
            Err(crate::sink::Failure {
                error: "no".into(),
                permanent,
            })
        };
        assert_eq!(decide(&pending(0), Ok(()), now, 3), Delivery::Delivered);
        assert!(matches!(
            decide(&pending(1), fail(false), now, 3),
            Delivery::Retry { retry_at, .. } if retry_at > now
        ));
        assert!(matches!(
            decide(&pending(2), fail(false), now, 3),
            Delivery::Dead { .. }
        ));
        assert!(matches!(
            decide(&pending(0), fail(true), now, 3),
            Delivery::Dead { .. }
        ));
    }
}
