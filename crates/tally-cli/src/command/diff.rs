//! `tally diff OLD NEW`: what changed between two plans, per customer and line.

use crate::exit::Failure;
use crate::load::read;
use crate::output;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tally_money::Decimal;
use tally_plan::Plan;

#[derive(Clone, Copy, clap::ValueEnum)]
enum DiffFormat {
    /// Aligned text for a terminal.
    Table,
    /// Exact figures for scripts.
    Json,
    /// GitHub-flavoured Markdown, for a pull-request comment.
    Markdown,
}

#[derive(clap::Args)]
pub(crate) struct DiffArgs {
    /// The earlier plan, as written by `tally plan --format json` (version 1 plans are read too).
    old: PathBuf,
    /// The later plan.
    new: PathBuf,
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    format: DiffFormat,
    /// Exit 1 when any customer's total moves by more than this percentage (e.g. 10 or 10%),
    /// naming the customers on standard error.
    #[arg(long, value_name = "PCT")]
    fail_on_change_above: Option<String>,
    /// Write the diff to this file (whole or not at all) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// A plan file: unreadable is a usage error (exit 2), not a plan a data error (exit 1).
pub(crate) fn read_plan(path: &Path) -> Result<Plan, Failure> {
    let text = read(path)?;
    tally_plan::from_json(&text).map_err(|e| {
        Failure::Data(format!(
            "`{}` is not a plan (write one with `tally plan ... --format json`): {e}",
            path.display()
        ))
    })
}

/// `10`, `10%`, `2.5`: a percentage of zero or more.
pub(crate) fn percentage(text: &str, flag: &str) -> Result<Decimal, Failure> {
    Decimal::from_str(text.trim().trim_end_matches('%').trim())
        .ok()
        .filter(|p| !p.is_sign_negative())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "`{flag} {text}` is not a percentage: write e.g. 10 or 10%"
            ))
        })
}

pub(crate) fn run(args: DiffArgs) -> Result<(), Failure> {
    let limit = args
        .fail_on_change_above
        .as_deref()
        .map(|p| percentage(p, "--fail-on-change-above"))
        .transpose()?;
    let old = read_plan(&args.old)?;
    let new = read_plan(&args.new)?;
    let diff = tally_review::diff::diff(&old, &new).map_err(|e| Failure::Data(e.to_string()))?;
    let text = match args.format {
        DiffFormat::Table => tally_review::diff::to_table(&diff),
        DiffFormat::Markdown => tally_review::diff::to_markdown(&diff),
        DiffFormat::Json => {
            tally_review::diff::to_json(&diff).map_err(|e| Failure::Usage(e.to_string()))?
        }
    };
    match &args.output {
        Some(path) => output::write_whole(path, &text)?,
        None => output::print(&text)?,
    }
    let Some(limit) = limit else {
        return Ok(());
    };
    let breaches = tally_review::changes_above(&diff, limit);
    for breach in &breaches {
        eprintln!("change above {limit}%: {breach}");
    }
    if breaches.is_empty() {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}
