//! One module per subcommand: its arguments and its run function.

pub(crate) mod check;
pub(crate) mod diff;
pub(crate) mod explain;
pub(crate) mod fmt;
pub(crate) mod import;
pub(crate) mod lsp;
pub(crate) mod plan;
pub(crate) mod push;
pub(crate) mod reconcile;
pub(crate) mod test;

use crate::exit::Failure;
use crate::load::read;
use std::path::Path;
use tally_plan::InputFile;
use tally_snapshot::{Period, Snapshot};

/// `human` for people, `json` for machines (CI annotations, scripts).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    Human,
    Json,
}

/// Reads and parses a snapshot, with its content hash for the plan's inputs. A file that
/// cannot be read is a usage error (exit 2); one that is not a valid snapshot is a data error
/// (exit 1) naming the JSON path.
pub(crate) fn read_snapshot(path: &Path) -> Result<(Snapshot, InputFile), Failure> {
    let text = read(path)?;
    let snapshot = tally_snapshot::from_json(&text)
        .map_err(|e| Failure::Data(format!("{}: {e}", path.display())))?;
    let input = tally_driver::input_file(&tally_db::normalise(path), text.as_bytes());
    Ok((snapshot, input))
}

/// `--period YYYY-MM`, checked against the snapshot.
pub(crate) fn period(
    snapshot: &Snapshot,
    requested: Option<&str>,
    snapshot_path: &Path,
) -> Result<Period, Failure> {
    let requested = requested
        .map(|text| {
            tally_driver::month(text).map_err(|_| {
                Failure::Usage(format!(
                    "`--period {text}` is not a month: write YYYY-MM, e.g. 2026-10"
                ))
            })
        })
        .transpose()?;
    Ok(tally_driver::plan_period(
        snapshot,
        requested,
        &snapshot_path.display().to_string(),
    )?)
}
