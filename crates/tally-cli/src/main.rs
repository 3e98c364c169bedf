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
    Import {
        /// Graph exports of one tenant, as TENANT=USERS.json[,SUBSCRIBED_SKUS.json] (repeatable).
        #[arg(long, value_name = "TENANT=USERS[,SKUS]")]
        graph: Vec<String>,
        /// Mapping CSV from Microsoft tenant or customer ids to tenant names (`microsoft_id,tenant`).
        #[arg(long)]
        mapping: Vec<PathBuf>,
        /// Price list CSV for SKUs without reconciliation data.
        #[arg(long = "price-list")]
        price_lists: Vec<PathBuf>,
        /// Partner Center NCE reconciliation files (CSV or the API's JSON).
        #[arg(long)]
        recon: Vec<PathBuf>,
        /// Azure daily rated usage files (CSV or JSON), as FILE or TENANT=FILE.
        #[arg(long, value_name = "[TENANT=]FILE")]
        usage: Vec<String>,
        /// Other vendors' counts CSV (`customer_or_tenant,counter,value,as_of`).
        #[arg(long)]
        counts: Vec<PathBuf>,
        /// The billing month the snapshot is for, YYYY-MM.
        #[arg(long)]
        period: Option<String>,
        /// Accept exports missing fields (e.g. Graph users without `accountEnabled`), with warnings.
        #[arg(long)]
        lenient: bool,
        /// Write the snapshot here (whole or not at all) instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Compare what Microsoft charges (reconciliation and usage files) with what a plan bills.
    Reconcile {
        /// The plan, as written by `tally plan --format json`.
        #[arg(long)]
        plan: PathBuf,
        /// Partner Center NCE reconciliation files for the period (CSV or JSON).
        #[arg(long)]
        recon: Vec<PathBuf>,
        /// Azure daily rated usage files for the period.
        #[arg(long)]
        usage: Vec<PathBuf>,
        /// Mapping CSV from Microsoft customer ids to tenant names.
        #[arg(long)]
        mapping: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Exit 1 when any licence is paid for but not billed.
        #[arg(long)]
        fail_on_leakage: bool,
        /// Exit 1 when anything is billed for less than it costs.
        #[arg(long)]
        fail_on_negative_margin: bool,
        /// Exit 1 when any item's margin is under this percentage (e.g. 10).
        #[arg(long)]
        min_margin: Option<String>,
    },
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
enum CheckFormat {
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
        Command::Import {
            graph,
            mapping,
            price_lists,
            recon,
            usage,
            counts,
            period,
            lenient,
            output,
        } => import::import(import::ImportArgs {
            graph,
            mapping,
            price_lists,
            recon,
            usage,
            counts,
            period,
            lenient,
            output,
        }),
        Command::Reconcile {
            plan,
            recon,
            usage,
            mapping,
            format,
            fail_on_leakage,
            fail_on_negative_margin,
            min_margin,
        } => reconcile::reconcile(reconcile::ReconcileArgs {
            plan,
            recon,
            usage,
            mapping,
            json: matches!(format, CheckFormat::Json),
            fail_on_leakage,
            fail_on_negative_margin,
            min_margin,
        }),
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
