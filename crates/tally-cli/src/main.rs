//! `tally`: check billing rules, plan invoice lines from a snapshot, explain any line.
//! The only crate that knows about terminals, files and exit codes.

mod explain;
mod import;
mod load;
mod plan;
mod reconcile;

pub(crate) use plan::write_whole;
mod render;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tally",
    version,
    about = "Billing rules as code for managed service providers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check rule files; report every problem.
    Check {
        /// Rule files or directories (searched for *.tally).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Also warn about counters the snapshot does not have.
        #[arg(long)]
        snapshot: Option<PathBuf>,
    },
    /// Evaluate rules against a snapshot and print the invoice lines.
    Plan {
        /// Customer rule files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The snapshot of licence and usage data (JSON).
        #[arg(long)]
        snapshot: PathBuf,
        /// The billing month, YYYY-MM (default: the snapshot's period).
        #[arg(long)]
        period: Option<String>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
        /// Write the plan to this file (whole or not at all) instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Build a snapshot from Microsoft Graph, Partner Center and other vendors' exports.
    Import(import::ImportArgs),
    /// Compare what Microsoft charges (reconciliation and usage files) with what a plan bills.
    Reconcile(reconcile::ReconcileArgs),
    /// Show how one line's quantity and amount were computed.
    Explain {
        /// The customer's rule file.
        rules: PathBuf,
        /// The snapshot (JSON).
        #[arg(long)]
        snapshot: PathBuf,
        /// The line's name, as written in the rule file.
        line: String,
        #[arg(long)]
        period: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CheckFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Table,
    Json,
    Csv,
}

/// Exit codes: 0 clean, 1 the rules or data have problems (diagnostics), 2 usage or I/O error.
pub(crate) enum Failure {
    Diagnostics,
    Usage(String),
}

fn main() -> ExitCode {
    // A bug in Tally must still read as an error report, not a Rust backtrace hint.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in tally: {info}");
        eprintln!(
            "This is a bug in Tally, not in your rules: please report it with the command you ran."
        );
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            paths,
            format,
            snapshot,
        } => plan::check(
            &paths,
            matches!(format, CheckFormat::Json),
            snapshot.as_deref(),
        ),
        Command::Plan {
            paths,
            snapshot,
            period,
            format,
            output,
        } => plan::plan(
            &paths,
            &snapshot,
            period.as_deref(),
            format,
            output.as_deref(),
        ),
        Command::Import(args) => import::import(args),
        Command::Reconcile(args) => reconcile::reconcile(args),
        Command::Explain {
            rules,
            snapshot,
            line,
            period,
        } => explain::explain(&rules, &snapshot, &line, period.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Diagnostics) => ExitCode::from(1),
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
