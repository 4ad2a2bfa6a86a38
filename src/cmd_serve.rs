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
    /// Most connections open at once; more wait to be accepted (fewer if the
    /// open-files limit leaves less room).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// When the clock catches up (after downtime), sends due longer ago than this are
    /// recorded as `suppress` with reason `stale`, not sent late; grants and every
    /// other step still apply. A duration like `1h`, `30m`, `2d`.
    #[arg(long, default_value = "1h", value_parser = parse_window)]
    catch_up_window: chrono::TimeDelta,
    /// A file holding the campaign's seed as 64 hex digits, for a new store (default: a
    /// random one). A store keeps its seed; a different one later is refused.
    #[arg(long)]
    seed_file: Option<PathBuf>,
}

/// Parses `--catch-up-window`: a duration as the language writes one (`1h`, `1d12h`).
fn parse_window(s: &str) -> Result<chrono::TimeDelta, String> {
    match camp_plan::literal::parse_number(s) {
        Ok(camp_plan::literal::Number::Duration(d)) => {
            Ok(chrono::TimeDelta::days(i64::from(d.days))
                + chrono::TimeDelta::minutes(i64::from(d.minutes)))
        }
        _ => Err(format!(
            "`{s}` is not a duration: write it like 1h, 30m or 2d"
        )),
    }
}

/// `camp seed`'s flags.
#[derive(clap::Args)]
pub struct SeedArgs {
    /// The daemon's SQLite store.
    #[arg(long)]
    db: PathBuf,
}

/// Prints the seed kept in a store as 64 hex digits. Read-only: it takes no lock, so
/// it works while the daemon runs.
pub fn seed(args: &SeedArgs) -> Outcome {
    match camp_serve::store::sqlite::read_seed(&args.db) {
        Ok(seed) => {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{}", seed.hex());
            Outcome::Success
        }
        Err(e) => {
            say(&format!("error: {e}"));
            Outcome::Usage
        }
    }
}

/// Writes a line to stderr; a stderr that cannot take it is not a reason to stop.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: Args) -> Outcome {
    tracing_subscriber::fmt()
        .with_writer(camp_serve::log::stderr)
        .with_target(false)
        .with_ansi(false)
        .log_internal_errors(false)
        .init();
    let plan = match compiled::load(&args.file) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let seed = match &args.seed_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => match camp_engine::random::Seed::from_hex(t.trim()) {
                Some(s) => Some(s),
                None => {
                    say(&format!(
                        "error: {} does not hold a seed: it must be 64 hex digits",
                        path.display()
                    ));
                    return Outcome::Usage;
                }
            },
            Err(e) => {
                say(&format!("error: cannot read {}: {e}", path.display()));
                return Outcome::Usage;
            }
        },
    };
    let token = match &args.token_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Ok(_) => {
                say(&format!(
                    "error: the token file {} is empty",
                    path.display()
                ));
                return Outcome::Usage;
            }
            Err(e) => {
                say(&format!("error: cannot read {}: {e}", path.display()));
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
        seed,
        max_connections: args.max_connections,
        catch_up_window: args.catch_up_window,
        ..Config::new(args.db)
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            say(&format!("error: cannot start the async runtime: {e}"));
            return Outcome::Usage;
        }
    };
    let served = runtime.block_on(camp_serve::serve(plan, config, |addr| {
        // The one line on stdout: scripts and tests read the address from it.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }));
    match served {
        Ok(()) => Outcome::Success,
        Err(e) => {
            say(&format!("error: {e}"));
            Outcome::Failed
        }
    }
}
