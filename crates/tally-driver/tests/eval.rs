//! The evaluation corpus: every folder under `tests/eval/` holds `rules.tally` (one customer
//! file) and `snapshot.json`; its plan table, or the runtime errors, is an insta snapshot. A
//! newcomer adds a case by adding a folder (`tests/eval/README.md`). In-process and fast: the
//! same pipeline `tally plan` runs, without the binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::fmt::Write;
use std::path::Path;
use tally_db::Database;
use tally_diagnostics::LineIndex;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The plan table, or each problem as `file:line:col: CODE message` with its help.
fn run_case(rules: &Path) -> String {
    let root = workspace().canonicalize().unwrap();
    let rules = rules.canonicalize().unwrap();
    let key = rules
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let mut db = Database::default();
    let file = db.set_file(&key, std::fs::read_to_string(&rules).unwrap());
    let snapshot_path = rules.with_file_name("snapshot.json");
    let snapshot_text = std::fs::read_to_string(&snapshot_path).unwrap();
    let snapshot = tally_snapshot::from_json(&snapshot_text)
        .unwrap_or_else(|e| panic!("{}: {e}", snapshot_path.display()));
    let problems = tally_driver::diagnostics(&db, &[file]);
    assert!(
        problems.iter().all(|p| !p.diagnostic.is_error()),
        "{key} must check cleanly (the corpus is about evaluation): {problems:?}"
    );
    let period = tally_driver::plan_period(&snapshot, None, "snapshot.json").unwrap();
    let input = tally_driver::input_file("snapshot.json", snapshot_text.as_bytes());
    let run = tally_driver::plan(&db, &[file], &snapshot, input.clone(), period).unwrap();
    // Without steps (no provenance text), the plan is the same but for the drivers.
    let amounts = tally_driver::plan_with(
        &db,
        &[file],
        &snapshot,
        input,
        period,
        tally_driver::Detail::Amounts,
    )
    .unwrap();
    let without_drivers = |plan: &tally_plan::Plan| {
        let mut plan = plan.clone();
        for line in plan.customers.iter_mut().flat_map(|c| &mut c.lines) {
            line.provenance.drivers.clear();
        }
        plan
    };
    assert_eq!(
        without_drivers(&amounts.plan),
        without_drivers(&run.plan),
        "{key}: amounts differ without steps"
    );
    assert_eq!(amounts.failures, run.failures, "{key}");
    let mut out = String::new();
    if !run.plan.customers.is_empty() {
        out.push_str(&tally_plan::to_table(&run.plan));
    }
    for (_, problems) in &run.failures {
        for problem in problems {
            let text = db.file(&problem.file).unwrap().text(&db).clone();
            let d = &problem.diagnostic;
            let (line, column) =
                LineIndex::new(&text).line_col(&text, d.primary_span().start as usize);
            let at = problem.file.rsplit('/').next().unwrap_or_default();
            writeln!(out, "{at}:{line}:{column}: {} {}", d.code, d.message).unwrap();
            if let Some(help) = &d.help {
                writeln!(out, "  help: {help}").unwrap();
            }
        }
    }
    out
}

#[test]
fn every_case_plans_as_snapshotted() {
    insta::glob!("../../../tests/eval", "*/rules.tally", |rules| {
        insta::assert_snapshot!(run_case(rules));
    });
}

#[test]
fn the_corpus_is_substantial() {
    let cases = std::fs::read_dir(workspace().join("tests/eval"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("rules.tally").is_file())
        .count();
    assert!(cases >= 30, "tests/eval has only {cases} cases");
}
