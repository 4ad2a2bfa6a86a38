//! `camp serve`: the runtime daemon. Parses its flags, sets up logging and the async
//! runtime, and hands over to `camp_serve`.

use crate::{compiled, Outcome};
use camp_serve::sink::SinkSpec;
use camp_serve::{Clock, Config};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Which clock the daemon runs on.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ClockArg {
    /// The system clock.
    System,
    /// Starts at the Unix epoch; moved by `POST /v1/clock` (tests only).
    Manual,
}

/// `camp serve`'s flags.
#[derive(clap::Args)]
pub struct Args {
    /// The campaign: a `.camp` source or a compiled `plan.json`.
    file: PathBuf,
    /// The SQLite store (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Where to listen; port 0 picks a free port (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A file holding the bearer token every route but /healthz then needs.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The clock: the system's, or a manual one for tests.
    #[arg(long, value_enum, default_value_t = ClockArg::System)]
    clock: ClockArg,
    /// Where sends go: `file:PATH` (JSON Lines) or `webhook:URL`; without it, sends
    /// stay pending in the outbox.
    #[arg(long)]
    sink: Option<SinkSpec>,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    max_body: usize,
    /// Snapshot the state after this many inputs, or after as many as there are users if
    /// that is more (a restart replays the inputs since the last snapshot).
    #[arg(long, default_value_t = 100_000)]
    snapshot_every: u64,
    /// Failed delivery attempts before a send becomes a dead letter.
    #[arg(long, default_value_t = 8)]
    max_attempts: u32,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: Args) -> Outcome {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .init();
    let engine = match compiled::engine(&args.file, None) {
        Ok(e) => e,
        Err(o) => return o,
    };
    let token = match &args.token_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Ok(_) => {
                eprintln!("error: the token file {} is empty", path.display());
                return Outcome::Usage;
            }
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return Outcome::Usage;
            }
        },
    };
    let config = Config {
        listen: args.listen,
        token,
        clock: match args.clock {
            ClockArg::System => Clock::System,
            ClockArg::Manual => Clock::Manual,
        },
        sink: args.sink,
        max_body: args.max_body,
        snapshot_every: args.snapshot_every,
        max_attempts: args.max_attempts,
        ..Config::new(args.db)
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Outcome::Usage;
        }
    };
    let served = runtime.block_on(camp_serve::serve(engine, config, |addr| {
        // The one line on stdout: scripts and tests read the address from it.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }));
    match served {
        Ok(()) => Outcome::Success,
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Failed
        }
    }
}
