//! Where the daemon's log goes: stderr, through a writer that never fails. A log line
//! that cannot be written (a full disk, a log shipper that closed its pipe,
//! `2>/dev/full`) is dropped and counted; it never stops a thread, a request or the
//! daemon. `/healthz` and `/metrics` tell whether lines are being dropped.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether the last log line could not be written.
static FAILING: AtomicBool = AtomicBool::new(false);
/// Log lines dropped since the start.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// A writer to stderr that ignores errors (hand [`stderr`] to the log subscriber).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stderr;

/// A new [`Stderr`] writer: what a `tracing_subscriber` writer factory returns.
pub fn stderr() -> Stderr {
    Stderr
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stderr().write_all(buf) {
            Ok(()) => FAILING.store(false, Ordering::Relaxed),
            Err(_) => {
                FAILING.store(true, Ordering::Relaxed);
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Whether the last log line was dropped.
pub fn failing() -> bool {
    FAILING.load(Ordering::Relaxed)
}

/// How many log lines were dropped.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}
