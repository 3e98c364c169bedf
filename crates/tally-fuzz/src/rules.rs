//! The rule-file target: parse, check, render the diagnostics (human and JSON), plan against a
//! small snapshot, read the plan back, format and check again.

use crate::data;
use std::sync::OnceLock;
use tally_cli::render;
use tally_db::{Database, SourceFile};
use tally_diagnostics::{Code, Diagnostic};
use tally_driver::{Failure, FileDiagnostic};
use tally_snapshot::Snapshot;

/// The key the fuzzed file has: beside `examples/northwind`, so `use "../shared/msp.tally"`
/// resolves as it does for the examples.
const KEY: &str = "examples/fuzz/rules.tally";
const MODULE: &str = "examples/shared/msp.tally";

fn module_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        std::fs::read_to_string(crate::seeds::root().join(MODULE)).unwrap_or_default()
    })
}

fn database(text: &str) -> (Database, SourceFile) {
    let mut db = Database::default();
    db.set_file(MODULE, module_text().to_string());
    let file = db.set_file(KEY, text.to_string());
    (db, file)
}

/// The property of a rule file (the bytes are taken as UTF-8, invalid sequences replaced: the
/// CLI refuses text that is not UTF-8 with its line and column before any of this runs).
pub fn rule_file(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (db, file) = database(&text);
    let problems = tally_driver::diagnostics(&db, &[file]);
    located(&db, &problems)?;
    rendered(&db, &problems)?;
    let clean = !problems.iter().any(|p| p.diagnostic.is_error());
    let planned = if clean { plan(&db, file)? } else { None };
    formatted(&text, &problems, clean, planned.as_ref())
}

/// Every label inside its file, on character boundaries; a message; a primary label.
pub fn located(db: &Database, problems: &[FileDiagnostic]) -> Result<(), String> {
    for problem in problems {
        let d = &problem.diagnostic;
        let own = text_of(db, &problem.file)?;
        if d.labels.is_empty() {
            return Err(format!(
                "{} {} has no label: {}",
                d.code, problem.file, d.message
            ));
        }
        if d.message.is_empty() {
            return Err(format!("{} has an empty message", d.code));
        }
        for label in &d.labels {
            let text = match &label.file {
                Some(other) => text_of(db, other)?,
                None => own.clone(),
            };
            let (start, end) = (label.span.start as usize, label.span.end as usize);
            if start > end || end > text.len() {
                return Err(format!(
                    "{} `{}`: label {start}..{end} outside the file ({} bytes)",
                    d.code,
                    d.message,
                    text.len()
                ));
            }
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                return Err(format!(
                    "{} `{}`: label {start}..{end} splits a character",
                    d.code, d.message
                ));
            }
        }
    }
    Ok(())
}

fn text_of(db: &Database, key: &str) -> Result<String, String> {
    if key.starts_with("std.") {
        return Ok(tally_db::std_source(key).unwrap_or_default().to_string());
    }
    db.file(key)
        .map(|f| f.text(db).clone())
        .ok_or_else(|| format!("a diagnostic points into `{key}`, which is not loaded"))
}

/// Human output names every code; JSON gives every diagnostic a line and column from 1.
fn rendered(db: &Database, problems: &[FileDiagnostic]) -> Result<(), String> {
    let human = render::human_report(db, problems);
    for problem in problems {
        let code = problem.diagnostic.code.as_str();
        if !human.contains(code) {
            return Err(format!("the human report leaves out {code}"));
        }
        let source = render::Source::new(&problem.file, &text_of(db, &problem.file)?);
        let json = serde_json::to_value(render::json(&source, &problem.diagnostic))
            .map_err(|e| format!("JSON diagnostic: {e}"))?;
        for field in ["line", "column", "end_line", "end_column"] {
            if json
                .get(field)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
                == 0
            {
                return Err(format!(
                    "the JSON diagnostic for {code} has no `{field}`: {json}"
                ));
            }
        }
    }
    Ok(())
}

/// What a plan run gave, for comparing a file with its formatting.
#[derive(Debug, PartialEq)]
pub struct Planned {
    customers: Vec<tally_plan::CustomerPlan>,
    failures: Vec<(Code, String)>,
}

/// Plans a file that checks clean against a snapshot with its tenant. `None` for a module.
fn plan(db: &Database, file: SourceFile) -> Result<Option<Planned>, String> {
    let tenant = match tally_db::program(db, file) {
        Ok(program) => program.customer.tenant.clone(),
        Err(d) => {
            if d.code == Code::Internal {
                return Err(format!("linking a clean file: {}", d.message));
            }
            return Ok(None);
        }
    };
    let snapshot = data::snapshot_with_tenant(&tenant);
    let period = tally_driver::plan_period(&snapshot, None, "snapshot.json")
        .map_err(|e| format!("the fuzz snapshot has no period: {e:?}"))?;
    let input = tally_driver::input_file("snapshot.json", b"");
    let run = match tally_driver::plan(db, &[file], &snapshot, input, period) {
        Ok(run) => run,
        Err(Failure::Refusal(_)) => return Ok(None),
        Err(Failure::Problems(problems)) => {
            located(db, &problems)?;
            no_internal(&problems)?;
            return Ok(None);
        }
    };
    let mut failures = Vec::new();
    for (_, problems) in &run.failures {
        located(db, problems)?;
        no_internal(problems)?;
        rendered(db, problems)?;
        failures.extend(
            problems
                .iter()
                .map(|p| (p.diagnostic.code, p.diagnostic.message.clone())),
        );
    }
    data::plan_reads_back(&run.plan)?;
    let _ = tally_plan::to_table(&run.plan);
    tally_plan::to_csv(&run.plan).map_err(|e| format!("plan CSV: {e}"))?;
    explained(db, file, &snapshot, period, &run.plan)?;
    Ok(Some(Planned {
        customers: run.plan.customers,
        failures,
    }))
}

fn no_internal(problems: &[FileDiagnostic]) -> Result<(), String> {
    match problems
        .iter()
        .find(|p| p.diagnostic.code == Code::Internal)
    {
        Some(p) => Err(format!(
            "a file that checks clean fails with an internal error: {}",
            p.diagnostic.message
        )),
        None => Ok(()),
    }
}

/// `explain` of the first line planned gives an explanation or a located problem.
fn explained(
    db: &Database,
    file: SourceFile,
    snapshot: &Snapshot,
    period: tally_snapshot::Period,
    plan: &tally_plan::Plan,
) -> Result<(), String> {
    let Ok(program) = tally_db::program(db, file) else {
        return Ok(());
    };
    let Some(line) = program.lines.first() else {
        return Ok(());
    };
    if plan.customers.is_empty() {
        return Ok(());
    }
    match tally_driver::explain(db, file, snapshot, period, &line.name) {
        Ok(_) | Err(Failure::Refusal(_)) => Ok(()),
        Err(Failure::Problems(problems)) => {
            located(db, &problems)?;
            no_internal(&problems)
        }
    }
}

/// Formatting is idempotent; of a file that checks clean, it checks with the same diagnostics
/// and plans to the same plan.
fn formatted(
    text: &str,
    problems: &[FileDiagnostic],
    clean: bool,
    planned: Option<&Planned>,
) -> Result<(), String> {
    let once = match tally_fmt::format(text) {
        Ok(once) => once,
        Err(tally_fmt::FormatError::Unsound(why)) => return Err(format!("tally fmt: {why}")),
        Err(_) => return Ok(()),
    };
    match tally_fmt::format(&once) {
        Ok(twice) if twice == once => {}
        Ok(_) => return Err("formatting is not idempotent".into()),
        Err(e) => return Err(format!("the formatted text does not format again: {e}")),
    }
    if !clean {
        return Ok(());
    }
    let (db, file) = database(&once);
    let again = tally_driver::diagnostics(&db, &[file]);
    let words = |ps: &[FileDiagnostic]| -> Vec<(String, Code, String)> {
        ps.iter()
            .map(|p| {
                (
                    p.file.clone(),
                    p.diagnostic.code,
                    p.diagnostic.message.clone(),
                )
            })
            .collect()
    };
    if words(problems) != words(&again) {
        return Err(format!(
            "the formatted file checks differently: {:?} became {:?}",
            words(problems),
            words(&again)
        ));
    }
    if let Some(before) = planned {
        match plan(&db, file)? {
            Some(after) if same_meaning(&after, before) => {}
            other => {
                return Err(format!(
                    "the formatted file plans differently: {}",
                    difference(before, other.as_ref())
                ));
            }
        }
    }
    Ok(())
}

/// Diagnostics of `text` as the fuzz target sees them (for tests of the target itself).
pub fn diagnostics_of(text: &str) -> Vec<Diagnostic> {
    let (db, file) = database(text);
    tally_driver::diagnostics(&db, &[file])
        .into_iter()
        .filter(|p| p.file == KEY)
        .map(|p| p.diagnostic)
        .collect()
}

/// The first line where two plan runs differ, as JSON.
fn difference(before: &Planned, after: Option<&Planned>) -> String {
    let Some(after) = after else {
        return "it no longer plans".into();
    };
    if before.failures != after.failures {
        return format!("{:?} became {:?}", before.failures, after.failures);
    }
    let json = |p: &Planned| {
        serde_json::to_string_pretty(&without_positions(&p.customers)).unwrap_or_default()
    };
    let (a, b) = (json(before), json(after));
    a.lines()
        .zip(b.lines())
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("`{}` became `{}`", x.trim(), y.trim()))
        .unwrap_or_else(|| "the plans differ in length".into())
}

/// Two plan runs alike but for the provenance of each line (where in the file the rule is, and
/// its text as written, which formatting changes).
fn same_meaning(a: &Planned, b: &Planned) -> bool {
    a.failures == b.failures && without_positions(&a.customers) == without_positions(&b.customers)
}

fn without_positions(customers: &[tally_plan::CustomerPlan]) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                // Provenance quotes the rule's text and where it is, which the layout changes.
                map.remove("provenance");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(customers).unwrap_or_default();
    strip(&mut value);
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_diagnostics::Span;

    fn at(span: Span) -> Vec<FileDiagnostic> {
        vec![FileDiagnostic {
            file: KEY.into(),
            diagnostic: Diagnostic::error(Code::Syntax, "broken", span),
        }]
    }

    #[test]
    fn a_label_outside_its_file_or_inside_a_character_breaks_the_property() {
        let (db, _) = database("let café = 1\n");
        // `é` is bytes 7 and 8.
        assert!(located(&db, &at(Span::new(4, 9))).is_ok());
        assert!(located(&db, &at(Span::new(4, 500))).is_err());
        assert!(located(&db, &at(Span::new(9, 4))).is_err());
        assert!(located(&db, &at(Span::new(4, 8))).is_err());
        assert!(located(&db, &at(Span::new(8, 9))).is_err());
    }

    #[test]
    fn a_clean_file_plans_and_a_broken_one_is_located() {
        assert!(rule_file(b"customer \"A\" {\n  tenant \"a.onmicrosoft.com\"\n  currency GBP\n}\nx qty = 3 price 1.00\n").is_ok());
        assert!(rule_file(b"customer {{{ ((((\n").is_ok());
        assert!(!diagnostics_of("customer {{{ ((((\n").is_empty());
    }
}
