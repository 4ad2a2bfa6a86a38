//! `camp-serve`: the daemon (`camp serve`) — the engine behind an HTTP API, on a
//! durable store.
//!
//! - [`store`]: the `Store` trait (input log, effects, outbox, snapshots) and its
//!   SQLite implementation;
//! - [`http`]: the routes, bearer auth, JSON errors, request metrics;
//! - [`server`]: HTTP/1 connections with time limits, a cap, and a bounded drain;
//! - [`writer`]: one thread owning the state and the store's write connection, group
//!   committing every input with its effects and outbox entries;
//! - [`input_log`]: the inputs and the one function that applies them, live and on recovery;
//! - [`snapshot`]: a follower that snapshots its own copy of the state, off the
//!   writer's path;
//! - the scheduler (here): fires time-driven steps when the system clock reaches them;
//! - [`outbox`] and [`sink`]: delivery of sends, at least once, with retries;
//! - [`prometheus`]: the counters and histograms served at `/metrics`;
//! - [`log`]: a log writer that drops what it cannot write, never failing a thread.
//!
//! No rules live here: every decision is the engine's (`camp-engine`).

mod error;
pub mod http;
pub mod input_log;
pub mod log;
pub mod outbox;
pub mod prometheus;
pub mod server;
pub mod sink;
pub mod snapshot;
pub mod store;
pub mod writer;

pub use error::ServeError;

use crate::store::sqlite::SqliteStore;
use camp_engine::random::Seed;
use camp_engine::Engine;
use camp_plan::Plan;
use chrono::{DateTime, Utc};
use prometheus::Prometheus;
use sink::SinkSpec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use writer::{Job, Shared, Writer};

/// How long shutdown may take, from the signal: the requests in flight, the writer's
/// last commits, a last snapshot and one delivery pass.
pub const STOP: Duration = Duration::from_secs(10);

/// Whose time the daemon runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock (never going back: an earlier reading counts as the last one).
    System,
    /// A clock that starts at the Unix epoch and moves only by `POST /v1/clock` (tests).
    Manual,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The SQLite file.
    pub db: PathBuf,
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// The bearer token every route but `/healthz` needs, if any.
    pub token: Option<String>,
    /// The clock.
    pub clock: Clock,
    /// Where sends go; none keeps them pending in the outbox.
    pub sink: Option<SinkSpec>,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// Take a snapshot of the state after this many inputs (or after as many inputs as
    /// there are users, if that is more).
    pub snapshot_every: u64,
    /// Failed attempts before a send becomes a dead letter.
    pub max_attempts: u32,
    /// Most connections open at once (fewer if the open-files limit says so).
    pub max_connections: usize,
    /// When the clock catches up (after downtime, or a manual move), sends due longer
    /// ago than this are suppressed as `stale` instead of sent late.
    pub catch_up_window: chrono::TimeDelta,
    /// The campaign's seed for a new store (`--seed-file`); a store keeps the seed it
    /// was created with, and a different one given later is refused.
    pub seed: Option<Seed>,
}

impl Config {
    /// Defaults for everything but the store's path.
    pub fn new(db: PathBuf) -> Config {
        Config {
            db,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            clock: Clock::System,
            sink: None,
            max_body: 4 << 20,
            snapshot_every: 100_000,
            max_attempts: 8,
            max_connections: 1024,
            catch_up_window: chrono::TimeDelta::hours(1),
            seed: None,
        }
    }
}

/// Serves until SIGTERM or SIGINT, then stops accepting, finishes the requests in
/// flight, commits, snapshots, lets the outbox make a last pass, and returns.
/// `ready` is told the address once the daemon listens.
pub async fn serve(
    plan: Plan,
    config: Config,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let io = |what: &str, e: std::io::Error| ServeError::Store(format!("{what}: {e}"));
    let campaign = plan.campaign.id.clone();
    // One daemon per store: the writer assumes it is the only one. The lock is on the
    // database file itself (a link to it is the same lock) and goes with the process,
    // however it ends.
    let lock = SqliteStore::lock(&config.db)?;
    let mut store = SqliteStore::open(&config.db)?;
    store.check(&config.db)?;
    let seed = store.bind(&plan.source_hash, &campaign, config.seed.as_ref())?;
    let engine = Engine::with_seed(plan, seed)?;
    let run: [u8; 8] = store::sqlite::random_bytes()?;
    let key_prefix = format!(
        "{campaign}-{}",
        run.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let started = std::time::Instant::now();
    let recovered = input_log::recover(&engine, &mut store)?;
    let heads = recovered.heads;
    tracing::info!(
        inputs = heads.input,
        from_snapshot = recovered.snapshot,
        seconds = started.elapsed().as_secs_f64(),
        "state recovered"
    );
    let sink = match &config.sink {
        Some(spec) => Some(sink::open(spec).map_err(ServeError::Store)?),
        None => {
            tracing::warn!("no --sink: sends stay pending in the outbox");
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| io(&format!("cannot listen on {}", config.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| io("cannot read the listening address", e))?;

    let metrics = Arc::new(Prometheus::new());
    let copy = recovered.state.clone();
    let shared = Arc::new(Shared::new(engine, recovered.state));
    let follower = snapshot::Snapshotter {
        shared: Arc::clone(&shared),
        state: copy,
        applied: heads.input,
        saved: recovered.snapshot,
        store: Box::new(SqliteStore::open(&config.db)?),
        every: config.snapshot_every.max(1),
    };
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (committed, committed_rx) = mpsc::channel::<u64>();
    let (wake, wake_rx) = mpsc::channel::<()>();
    let (due_tx, due_rx) = watch::channel(None);
    let writer = Writer {
        shared: Arc::clone(&shared),
        store: Box::new(store.without_autocheckpoint()?),
        heads,
        clock: config.clock,
        catch_up_window: config.catch_up_window,
        metrics: Arc::clone(&metrics),
        outbox: wake,
        next_due: due_tx,
        committed,
        key_prefix,
    };
    let writer = std::thread::Builder::new()
        .name("camp-writer".into())
        .spawn(move || writer.run(job_rx))
        .map_err(|e| io("cannot start the writer", e))?;
    let follower = std::thread::Builder::new()
        .name("camp-snapshot".into())
        .spawn(move || follower.run(committed_rx))
        .map_err(|e| io("cannot start the snapshotter", e))?;
    let deadline = Arc::new(OnceLock::new());
    let deliverer = match sink {
        Some(sink) => {
            let d = outbox::Deliverer {
                store: Box::new(SqliteStore::open(&config.db)?),
                sink,
                max_attempts: config.max_attempts.max(1),
                metrics: Arc::clone(&metrics),
                deadline: Arc::clone(&deadline),
            };
            Some(
                std::thread::Builder::new()
                    .name("camp-outbox".into())
                    .spawn(move || d.run(wake_rx))
                    .map_err(|e| io("cannot start the outbox", e))?,
            )
        }
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = (config.clock == Clock::System)
        .then(|| tokio::spawn(schedule(due_rx, jobs.clone(), stop_rx)));

    let stopper = jobs.clone();
    let app = http::App::new(http::AppParts {
        shared,
        jobs,
        metrics,
        token: config.token.as_deref(),
        manual: config.clock == Clock::Manual,
        reader: SqliteStore::open(&config.db)?,
        max_body: config.max_body,
    });
    let cap = server::connection_cap(config.max_connections);
    let signalled = Arc::clone(&deadline);
    let signal = shutdown_signal()?;
    ready(addr);
    tracing::info!(%addr, connections = cap, "listening");
    server::run(listener, app.router(), cap, async move {
        signal.await;
        let _ = signalled.set(Instant::now() + STOP);
        tracing::info!("shutting down");
    })
    .await;
    drop(app);
    let _ = stop_tx.send(true);
    if let Some(s) = scheduler {
        let _ = s.await;
    }
    // The writer finishes the jobs already waiting and stops (connections still open
    // after the drain hold job senders, so it is told); its senders go with it, which
    // tells the snapshotter to save a last snapshot and the deliverer to make one last
    // pass. Whatever is not done by the deadline is left: the log has every
    // acknowledged input, and sends not delivered stay pending for the next start.
    let _ = stopper.send(Job::Stop);
    drop(stopper);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    for thread in [Some(writer), Some(follower), deliverer]
        .into_iter()
        .flatten()
    {
        let done = done_tx.clone();
        std::thread::spawn(move || {
            let _ = thread.join();
            let _ = done.send(());
        });
    }
    drop(done_tx);
    let deadline = deadline
        .get()
        .copied()
        .unwrap_or_else(|| Instant::now() + STOP);
    let finished = tokio::task::spawn_blocking(move || loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return true,
            Err(mpsc::RecvTimeoutError::Timeout) => return false,
        }
    })
    .await
    .unwrap_or(false);
    if !finished {
        tracing::warn!(
            "shutdown took its {} s: leaving the rest (pending sends stay pending)",
            STOP.as_secs()
        );
    }
    drop(lock);
    Ok(())
}

/// Fires time-driven steps when the system clock reaches them: sleeps until the next
/// step is due (or the writer reports a new one), then asks the writer to catch up.
/// After downtime the first tick fires everything missed, in order.
async fn schedule(
    mut due: watch::Receiver<Option<DateTime<Utc>>>,
    jobs: mpsc::Sender<Job>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let next = *due.borrow_and_update();
        let sleep = async {
            match next {
                Some(t) => {
                    let wait = (t - Utc::now()).to_std().unwrap_or_default();
                    // Timers are coarse: wake just after the instant, not just before.
                    tokio::time::sleep(wait + std::time::Duration::from_millis(1)).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = sleep => {
                if jobs.send(Job::Tick).is_err() {
                    return;
                }
                // Wait for the writer to publish what is due after the tick.
                tokio::select! {
                    r = due.changed() => if r.is_err() { return },
                    _ = stop.changed() => return,
                }
            }
            r = due.changed() => if r.is_err() { return },
            _ = stop.changed() => return,
        }
    }
}

/// SIGTERM or SIGINT, listened for from the moment this is called (before the
/// address is announced, so a signal sent right after it is never the default one,
/// which would kill the process).
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind| {
        signal(kind).map_err(|e| ServeError::Store(format!("cannot listen for signals: {e}")))
    };
    let mut interrupt = listen(SignalKind::interrupt())?;
    let mut terminate = listen(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}
