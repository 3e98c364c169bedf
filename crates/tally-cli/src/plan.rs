//! `tally check` and `tally plan`.

use crate::load::{Loaded, load, read};
use crate::{Failure, PlanFormat, render};
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use tally_db::{Database, SourceFile};
use tally_diagnostics::Diagnostic;
use tally_plan::{InputFile, Inputs, PLAN_VERSION, Plan, PlanPeriod};
use tally_snapshot::{Period, Snapshot};

/// Prints every diagnostic of the loaded files and the modules they use; true if any is an error.
fn report(loaded: &Loaded, json: bool) -> Result<bool, Failure> {
    let db = &loaded.db;
    let mut files: Vec<SourceFile> = loaded.roots.clone();
    // Modules used by the roots are checked too: their errors break the roots.
    let workspace = tally_db::Db::workspace(db);
    for file in workspace.files(db).values() {
        if !file.key(db).starts_with("std.") && !files.contains(file) {
            files.push(*file);
        }
    }
    files.sort_by(|a, b| a.key(db).cmp(b.key(db)));
    let mut any_error = false;
    let mut machine = Vec::new();
    let mut stderr = std::io::stderr().lock();
    for file in files {
        let diagnostics = tally_db::diagnostics(db, file);
        any_error |= diagnostics.iter().any(Diagnostic::is_error);
        for d in diagnostics {
            if json {
                machine.push(render::json(file.key(db), file.text(db), d));
            } else {
                let _ = write!(stderr, "{}", render::human(file.key(db), file.text(db), d));
            }
        }
    }
    if json {
        let text =
            serde_json::to_string_pretty(&machine).map_err(|e| Failure::Usage(e.to_string()))?;
        println!("{text}");
    }
    Ok(any_error)
}

pub(crate) fn check(paths: &[PathBuf], json: bool, snapshot: Option<&Path>) -> Result<(), Failure> {
    let mut loaded = load(Database::default(), paths)?;
    if let Some(path) = snapshot {
        let snapshot = read_snapshot(path)?;
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
    if report(&loaded, json)? {
        return Err(Failure::Diagnostics);
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

pub(crate) fn read_snapshot(path: &Path) -> Result<Snapshot, Failure> {
    let text = read(path)?;
    tally_snapshot::from_json(&text).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
}

/// `2026-10` → 1 to 31 October 2026.
pub(crate) fn month(text: &str) -> Result<Period, Failure> {
    let bad = || {
        Failure::Usage(format!(
            "`--period {text}` is not a month: write YYYY-MM, e.g. 2026-10"
        ))
    };
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u32 = month.parse().map_err(|_| bad())?;
    let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    let end = next.and_then(|n| n.pred_opt()).ok_or_else(bad)?;
    Ok(Period { start, end })
}

/// The period to plan: `--period` if given (it must agree with the snapshot's), else the snapshot's.
pub(crate) fn period(
    snapshot: &Snapshot,
    requested: Option<&str>,
    snapshot_path: &Path,
) -> Result<Period, Failure> {
    match (requested.map(month).transpose()?, snapshot.period) {
        (Some(asked), Some(has))
            if (asked.start.year(), asked.start.month())
                != (has.start.year(), has.start.month()) =>
        {
            Err(Failure::Usage(format!(
                "the snapshot `{}` is for {} to {}, not {}-{:02}",
                snapshot_path.display(),
                has.start,
                has.end,
                asked.start.year(),
                asked.start.month()
            )))
        }
        (Some(asked), Some(has)) if asked.start.day() == 1 => Ok(has),
        (Some(asked), _) => Ok(asked),
        (None, Some(has)) => Ok(has),
        (None, None) => Err(Failure::Usage(format!(
            "the snapshot `{}` has no period: give one with `--period YYYY-MM`",
            snapshot_path.display()
        ))),
    }
}

/// A customer's billing period in the month `period` starts in: from its billing day to the day
/// before that day a month later (billing day 1: the calendar month). A snapshot whose period
/// already starts on the billing day is taken as it is.
pub(crate) fn customer_period(period: &Period, billing_day: u32) -> Result<Period, Failure> {
    if period.start.day() == billing_day {
        return Ok(*period);
    }
    let bad = || {
        Failure::Usage(format!(
            "no billing period starting on day {billing_day} of {}",
            period.start
        ))
    };
    let start = NaiveDate::from_ymd_opt(period.start.year(), period.start.month(), billing_day)
        .ok_or_else(bad)?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .ok_or_else(bad)?;
    Ok(Period { start, end })
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Renders runtime errors against the file that caused them.
pub(crate) fn report_eval_errors(db: &Database, errors: &[tally_eval::EvalError]) {
    let mut stderr = std::io::stderr().lock();
    for error in errors {
        let key = &error.module.0;
        let text = db.file(key).map(|f| f.text(db).clone()).unwrap_or_default();
        let _ = write!(stderr, "{}", render::human(key, &text, &error.diagnostic));
    }
}

pub(crate) fn plan(
    paths: &[PathBuf],
    snapshot_path: &Path,
    requested: Option<&str>,
    format: PlanFormat,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let loaded = load(Database::default(), paths)?;
    if report(&loaded, false)? {
        return Err(Failure::Diagnostics);
    }
    let snapshot_text = read(snapshot_path)?;
    let snapshot = tally_snapshot::from_json(&snapshot_text)
        .map_err(|e| Failure::Usage(format!("{}: {e}", snapshot_path.display())))?;
    let period = period(&snapshot, requested, snapshot_path)?;
    let db = &loaded.db;
    let mut customers = Vec::new();
    let mut failed = false;
    let customer_files: Vec<SourceFile> = loaded
        .roots
        .iter()
        .copied()
        .filter(|f| tally_db::check(db, *f).customer.is_some())
        .collect();
    if customer_files.is_empty() {
        return Err(Failure::Usage(
            "none of the files has a `customer` header, so there is nothing to plan".into(),
        ));
    }
    for file in &customer_files {
        let program = match tally_db::program(db, *file) {
            Ok(p) => p,
            Err(d) => {
                eprint!("{}", render::human(file.key(db), file.text(db), d));
                failed = true;
                continue;
            }
        };
        let period = customer_period(&period, program.customer.billing_day)?;
        match tally_eval::evaluate(program, &snapshot, &period) {
            Ok(evaluation) => {
                let customer =
                    tally_plan::assemble_customer(program, &evaluation, &period, file.key(db))
                        .map_err(|e| Failure::Usage(format!("{}: {e}", file.key(db))))?;
                for line in &customer.lines {
                    for flag in &line.provenance.flags {
                        eprintln!("warning: {}: {flag}", line.id);
                    }
                }
                customers.push(customer);
            }
            Err(errors) => {
                report_eval_errors(db, &errors);
                failed = true;
            }
        }
    }
    if failed {
        return Err(Failure::Diagnostics);
    }
    let workspace = tally_db::Db::workspace(db);
    let rules = workspace
        .files(db)
        .values()
        .filter(|f| !f.key(db).starts_with("std."))
        .map(|f| InputFile {
            path: f.key(db).clone(),
            sha256: sha256(f.text(db).as_bytes()),
        })
        .collect();
    let plan = Plan {
        version: PLAN_VERSION,
        period: PlanPeriod {
            start: period.start,
            end: period.end,
        },
        inputs: Inputs {
            rules,
            snapshot: InputFile {
                path: tally_db::normalise(snapshot_path),
                sha256: sha256(snapshot_text.as_bytes()),
            },
        },
        customers,
    };
    let text = match format {
        PlanFormat::Json => {
            tally_plan::to_json(&plan).map_err(|e| Failure::Usage(e.to_string()))?
        }
        PlanFormat::Csv => tally_plan::to_csv(&plan).map_err(|e| Failure::Usage(e.to_string()))?,
        PlanFormat::Table => tally_plan::to_table(&plan),
    };
    match output {
        Some(path) => write_whole(path, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes through a temporary file and a rename, so the file is never half-written.
pub(crate) fn write_whole(path: &Path, text: &str) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::Usage(format!("cannot write `{}`: {e}", path.display()));
    // Only a regular file (or a new one) is replaced by rename: renaming over `/dev/null`, a
    // pipe or a symbolic link would replace the device, pipe or link itself. Those are written
    // to directly.
    let follows = std::fs::metadata(path).ok();
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link || follows.as_ref().is_some_and(|m| !m.is_file()) {
        return std::fs::write(path, text).map_err(io);
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tally-tmp"));
    std::fs::write(&temporary, text).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        io(e)
    })
}
