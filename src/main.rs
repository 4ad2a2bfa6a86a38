//! `camp`: the command line. Thin by design: parsing arguments, reading files, printing
//! results; all the work is in the library crates.

mod cmd_check;
mod cmd_compile;
mod cmd_explain;
mod cmd_fmt;
mod cmd_graph;
mod cmd_preview;
mod cmd_run;
mod cmd_schedule;
mod cmd_serve;
mod cmd_test;
mod compiled;
mod diagnostics;

use clap::{Parser, Subcommand, ValueEnum};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::process::ExitCode;

/// Campaign-as-code: check, format and explain `.camp` campaigns.
#[derive(Parser)]
#[command(name = "camp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate campaigns, reporting every problem at once.
    Check {
        /// The campaign files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Fail on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Rewrite campaigns in the canonical layout, comments kept.
    Fmt {
        /// The files to format.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; exit 1 if any file would change.
        #[arg(long)]
        check: bool,
    },
    /// Explain a diagnostic code, with an example and its fix.
    Explain {
        /// The code, like E0102.
        code: String,
    },
    /// Compile a campaign into the artifacts the runtime and a launch review need.
    Compile {
        /// The campaign file.
        file: PathBuf,
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// The concrete timeline: phase windows, timed sends, awards, birthday rules.
    Schedule {
        /// The campaign file.
        file: PathBuf,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = ScheduleFormat::Table)]
        format: ScheduleFormat,
    },
    /// Render a message for a sample user.
    Preview {
        /// The campaign file.
        file: PathBuf,
        /// The message's name.
        message: String,
        /// The locale (default: the campaign's first).
        #[arg(long)]
        locale: Option<String>,
        /// A JSON file with the user's attributes (default: documented sample values).
        #[arg(long)]
        user: Option<PathBuf>,
        /// For a message `by` an experiment: the variant whose body to show (default:
        /// the first).
        #[arg(long)]
        variant: Option<String>,
    },
    /// Replay recorded users and events through a campaign; effects as JSON Lines.
    Run {
        /// The campaign: a `.camp` source or a compiled `plan.json`.
        file: PathBuf,
        /// Users, one JSON object a line: `{"id": "u1", "attrs": {...}}`.
        #[arg(long)]
        users: PathBuf,
        /// Events, one JSON object a line, taken in `at` order.
        #[arg(long)]
        events: PathBuf,
        /// Stop at this instant (RFC 3339); default: run to the campaign's end.
        #[arg(long, value_parser = cmd_run::parse_until)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Write final KPIs, leaderboards, spend and per-reward counts as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The seed of draws and raffles: 64 hex digits (a daemon's revealed seed), or
        /// any text, whose SHA-256 is then the seed. Default: derived from the plan.
        #[arg(long)]
        seed: Option<String>,
    },
    /// Run scenario tests (`*.test.yaml`) and report like `cargo test`.
    Test {
        /// Scenario files, directories to search, or campaigns whose scenarios to run
        /// (default: the current directory).
        paths: Vec<PathBuf>,
    },
    /// Run a campaign live: an HTTP API on a durable SQLite store.
    Serve(cmd_serve::Args),
    /// Print the seed a daemon's store keeps, as 64 hex digits (to reveal after the
    /// campaign; read-only, also while the daemon runs).
    Seed(cmd_serve::SeedArgs),
    /// The campaign's and the participant's state machines.
    Graph {
        /// The campaign file.
        file: PathBuf,
        /// The graph language.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

/// Output formats of `camp schedule`.
#[derive(Clone, Copy, ValueEnum)]
pub enum ScheduleFormat {
    /// A table for a launch review, in the campaign time zone.
    Table,
    /// JSON.
    Json,
    /// iCalendar.
    Ics,
}

/// Output formats of `camp graph`.
#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// Mermaid.
    Mermaid,
}

/// Output formats of `camp check`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// Graphical reports with source snippets.
    Human,
    /// One JSON document.
    Json,
    /// GitHub Actions annotations.
    Github,
}

/// What a command reports back to `main`.
pub enum Outcome {
    /// Done, no errors.
    Success,
    /// The input has errors (exit 1).
    Failed,
    /// Usage or I/O error (exit 2); the message was printed.
    Usage,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
        } => cmd_check::run(&files, format, deny_warnings),
        Command::Fmt { files, check } => cmd_fmt::run(&files, check),
        Command::Explain { code } => cmd_explain::run(&code),
        Command::Compile { file, out } => cmd_compile::run(&file, &out),
        Command::Schedule { file, format } => cmd_schedule::run(&file, format),
        Command::Preview {
            file,
            message,
            locale,
            user,
            variant,
        } => cmd_preview::run(
            &file,
            &message,
            locale.as_deref(),
            user.as_deref(),
            variant.as_deref(),
        ),
        Command::Graph { file, format } => cmd_graph::run(&file, format),
        Command::Test { paths } => cmd_test::run(&paths),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Seed(args) => cmd_serve::seed(&args),
        Command::Run {
            file,
            users,
            events,
            until,
            report,
            seed,
        } => cmd_run::run(
            &file,
            &users,
            &events,
            until,
            report.as_deref(),
            seed.as_deref().map(camp_engine::random::Seed::from_text),
        ),
    };
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
    }
}
