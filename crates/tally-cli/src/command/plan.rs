//! `tally plan`: the invoice lines of every customer file, as a table, JSON or CSV.

use crate::command::{period, read_snapshot};
use crate::exit::Failure;
use crate::load::load;
use crate::{output, render};
use std::path::PathBuf;
use tally_db::Database;

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Table,
    Json,
    Csv,
}

#[derive(clap::Args)]
pub(crate) struct PlanArgs {
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
}

/// Customers whose plan fails are reported and left out; the others are still planned, and the
/// plan lists the missing ones in `incomplete` (exit 1). Nothing is written if none planned.
pub(crate) fn run(args: PlanArgs) -> Result<(), Failure> {
    let loaded = load(Database::default(), &args.paths)?;
    let db = &loaded.db;
    let problems = tally_driver::diagnostics(db, &loaded.roots);
    render::print_human(db, &problems);
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        return Err(Failure::Reported);
    }
    let (snapshot, input) = read_snapshot(&args.snapshot)?;
    let period = period(&snapshot, args.period.as_deref(), &args.snapshot)?;
    let run = tally_driver::plan(db, &loaded.roots, &snapshot, input, period)?;
    for (_, problems) in &run.failures {
        render::print_human(db, problems);
    }
    for line in run.plan.customers.iter().flat_map(|c| &c.lines) {
        for flag in &line.provenance.flags {
            eprintln!("warning: {}: {flag}", line.id);
        }
    }
    if run.plan.customers.is_empty() {
        return Err(Failure::Reported);
    }
    let plan = &run.plan;
    let text = match args.format {
        PlanFormat::Json => tally_plan::to_json(plan).map_err(|e| Failure::Usage(e.to_string()))?,
        PlanFormat::Csv => tally_plan::to_csv(plan).map_err(|e| Failure::Usage(e.to_string()))?,
        PlanFormat::Table => tally_plan::to_table(plan),
    };
    match &args.output {
        Some(path) => output::write_whole(path, &text)?,
        None => output::print(&text)?,
    }
    if run.failures.is_empty() {
        Ok(())
    } else {
        eprintln!(
            "error: {} of {} customer files could not be planned; the plan lists them under `incomplete`",
            run.failures.len(),
            run.failures.len() + plan.customers.len()
        );
        Err(Failure::Reported)
    }
}
