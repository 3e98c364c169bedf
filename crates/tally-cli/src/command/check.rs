//! `tally check`: every problem in the rule files, for people or for CI (JSON, GitHub workflow
//! annotations, SARIF).

use crate::command::read_snapshot;
use crate::exit::Failure;
use crate::load::load;
use crate::{output, render};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use tally_db::Database;

/// How `tally check` reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CheckFormat {
    /// For people, on standard error, with the source underlined.
    Human,
    /// One JSON array of diagnostics on standard output.
    Json,
    /// GitHub Actions workflow commands (`::error file=...::message`), shown as annotations.
    Github,
    /// A SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Rule files or directories (searched for *.tally).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    format: CheckFormat,
    /// Also warn about counters the snapshot does not have.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Fail (exit 1) on warnings too, not only on errors.
    #[arg(long)]
    deny_warnings: bool,
    /// No summary line on standard error.
    #[arg(long, short)]
    quiet: bool,
    /// Write the JSON, GitHub or SARIF report to this file (whole or not at all) instead of
    /// standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: CheckArgs) -> Result<(), Failure> {
    if args.output.is_some() && args.format == CheckFormat::Human {
        return Err(Failure::Usage(
            "`--output` writes a machine report: add `--format json`, `github` or `sarif`".into(),
        ));
    }
    let mut loaded = load(Database::default(), &args.paths)?;
    if let Some(path) = &args.snapshot {
        let (snapshot, _) = read_snapshot(path)?;
        let counters: BTreeMap<String, BTreeSet<String>> = snapshot
            .tenants
            .iter()
            .map(|t| {
                let names = t.counters.iter().map(|c| c.name.clone()).collect();
                (t.tenant.to_lowercase(), names)
            })
            .collect();
        loaded.db.set_snapshot_counters(Some(counters));
    }
    let db = &loaded.db;
    let problems = tally_driver::diagnostics(db, &loaded.roots);
    let report = match args.format {
        CheckFormat::Human => {
            render::print_human(db, &problems);
            None
        }
        CheckFormat::Json => {
            Some(render::json_report(db, &problems).map_err(|e| Failure::Usage(e.to_string()))?)
        }
        CheckFormat::Github => Some(render::github_report(db, &problems)),
        CheckFormat::Sarif => {
            let log = render::sarif_report(db, &problems);
            let text =
                serde_json::to_string_pretty(&log).map_err(|e| Failure::Usage(e.to_string()))?;
            Some(format!("{text}\n"))
        }
    };
    match (&report, &args.output) {
        (Some(text), Some(path)) => output::write_whole(path, text)?,
        (Some(text), None) => output::print(text)?,
        (None, _) => {}
    }
    let errors = problems.iter().filter(|p| p.diagnostic.is_error()).count();
    let warnings = problems.len() - errors;
    let summary = !args.quiet && matches!(args.format, CheckFormat::Human | CheckFormat::Github);
    let count = loaded.roots.len();
    let files = format!("{count} file{}", if count == 1 { "" } else { "s" });
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if errors > 0 {
        if summary && args.format == CheckFormat::Github {
            eprintln!("checked {files}: {}", plural(errors, "error"));
        }
        return Err(Failure::Reported);
    }
    if args.deny_warnings && warnings > 0 {
        if summary {
            eprintln!(
                "checked {files}: {}, denied by --deny-warnings",
                plural(warnings, "warning")
            );
        }
        return Err(Failure::Reported);
    }
    if summary {
        if warnings == 0 {
            eprintln!("checked {files}: no errors");
        } else {
            eprintln!(
                "checked {files}: no errors, {}",
                plural(warnings, "warning")
            );
        }
    }
    Ok(())
}
