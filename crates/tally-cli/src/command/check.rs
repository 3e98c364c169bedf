//! `tally check`: every problem in the rule files, for people or for CI.

use crate::command::{ReportFormat, read_snapshot};
use crate::exit::Failure;
use crate::load::load;
use crate::render;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use tally_db::Database;

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Rule files or directories (searched for *.tally).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Also warn about counters the snapshot does not have.
    #[arg(long)]
    snapshot: Option<PathBuf>,
}

pub(crate) fn run(args: CheckArgs) -> Result<(), Failure> {
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
    let problems = tally_driver::diagnostics(&loaded.db, &loaded.roots);
    let json = args.format == ReportFormat::Json;
    if json {
        render::print_json(&loaded.db, &problems)?;
    } else {
        render::print_human(&loaded.db, &problems);
    }
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        return Err(Failure::Reported);
    }
    if !json {
        let count = loaded.roots.len();
        eprintln!(
            "checked {count} file{}: no errors",
            if count == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
