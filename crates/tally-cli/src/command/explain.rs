//! `tally explain`: how one line's numbers came about, step by step.

use crate::command::{period, read_snapshot};
use crate::exit::Failure;
use crate::load::load;
use crate::{output, render};
use std::path::PathBuf;
use tally_db::Database;

#[derive(clap::Args)]
pub(crate) struct ExplainArgs {
    /// The customer's rule file.
    rules: PathBuf,
    /// The snapshot (JSON).
    #[arg(long)]
    snapshot: PathBuf,
    /// The line's name, as written in the rule file.
    line: String,
    #[arg(long)]
    period: Option<String>,
}

pub(crate) fn run(args: ExplainArgs) -> Result<(), Failure> {
    let loaded = load(Database::default(), std::slice::from_ref(&args.rules))?;
    let db = &loaded.db;
    let Some(file) = loaded.roots.first().copied() else {
        return Err(Failure::Usage(format!(
            "cannot read `{}`",
            args.rules.display()
        )));
    };
    let (snapshot, _) = read_snapshot(&args.snapshot)?;
    let period = period(&snapshot, args.period.as_deref(), &args.snapshot)?;
    match tally_driver::explain(db, file, &snapshot, period, &args.line) {
        Ok(explanation) => output::print(&explanation.to_string()),
        Err(failure) => {
            if let tally_driver::Failure::Problems(problems) = &failure {
                render::print_human(db, problems);
            }
            Err(failure.into())
        }
    }
}
