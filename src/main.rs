//! `camp`: the command line. Thin by design: parsing arguments, reading files, printing
//! results; all the work is in the library crates.

mod cmd_check;
mod cmd_explain;
mod cmd_fmt;
mod render;

use clap::{Parser, Subcommand, ValueEnum};
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
    };
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
    }
}
