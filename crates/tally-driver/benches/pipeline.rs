//! Checking and planning the bundled examples, cold and after an edit.
//! Run with `cargo bench -p tally-driver --bench pipeline`; figures are recorded in docs/performance.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks may panic

use std::path::{Path, PathBuf};
use tally_db::Database;

fn main() {
    divan::main();
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every rule file under examples/, by the key the CLI would give it.
fn example_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "tally") {
                let key = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((key, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = workspace();
    let mut out = Vec::new();
    walk(&root.join("examples"), &root, &mut out);
    assert!(!out.is_empty(), "no examples");
    out
}

fn loaded() -> (Database, Vec<tally_db::SourceFile>) {
    let mut db = Database::default();
    let files = example_files()
        .into_iter()
        .map(|(key, text)| db.set_file(&key, text))
        .collect();
    (db, files)
}

/// `tally check examples/` without the process: parse and check every file from nothing.
#[divan::bench]
fn check_examples_cold(bencher: divan::Bencher) {
    let examples = example_files();
    bencher.bench_local(|| {
        let mut db = Database::default();
        let files: Vec<_> = examples
            .iter()
            .map(|(k, t)| db.set_file(k, t.clone()))
            .collect();
        files
            .iter()
            .map(|f| tally_db::diagnostics(&db, *f).len())
            .sum::<usize>()
    });
}

/// An editor keystroke: one file changes, every file's diagnostics are asked for again.
#[divan::bench]
fn recheck_after_one_edit(bencher: divan::Bencher) {
    let (mut db, files) = loaded();
    let target = files
        .iter()
        .copied()
        .find(|f| tally_db::check(&db, *f).customer.is_some())
        .unwrap();
    let key = target.key(&db).clone();
    let original = target.text(&db).clone();
    let mut flip = false;
    bencher.bench_local(|| {
        flip = !flip;
        let text = if flip {
            format!("{original}\n// edited\n")
        } else {
            original.clone()
        };
        db.set_file(&key, text);
        files
            .iter()
            .map(|f| tally_db::diagnostics(&db, *f).len())
            .sum::<usize>()
    });
}

/// Evaluate and assemble the northwind plan from a checked program.
#[divan::bench]
fn plan_northwind(bencher: divan::Bencher) {
    let (db, _) = loaded();
    let file = db.file("examples/northwind/northwind.tally").unwrap();
    let program = tally_db::program(&db, file).as_ref().unwrap();
    let text =
        std::fs::read_to_string(workspace().join("examples/northwind/snapshot.json")).unwrap();
    let snapshot = tally_snapshot::from_json(&text).unwrap();
    let period = snapshot.period.unwrap();
    bencher.bench_local(|| {
        let evaluation = tally_eval::evaluate(program, &snapshot, &period).unwrap();
        tally_plan::assemble_customer(program, &evaluation, &period, "northwind.tally").unwrap()
    });
}

/// A customer of 200 lines (counts, filters, SKU seats, a markup over cost, a minimum) over the
/// northwind tenant, for the cost of evaluating one line.
const LINES: usize = 200;

fn many_lines_program() -> (Database, tally_db::SourceFile) {
    let header = std::fs::read_to_string(workspace().join("examples/northwind/northwind.tally"))
        .unwrap()
        .split("\n}\n")
        .next()
        .unwrap()
        .to_string();
    let mut rules = format!("{header}\n}}\nuse std.m365\n\n");
    let shapes = [
        "count(m365.users where enabled and department == \"Sales\") price 25.00",
        "count(m365.users where licensed) price 4.00 minimum 10",
        "m365.sku(\"SPB\").assigned price m365.sku(\"SPB\").cost * 115%",
        "max(count(m365.users), 10) price 3.50",
    ];
    for i in 0..LINES {
        rules.push_str(&format!("line{i} qty = {}\n", shapes[i % shapes.len()]));
    }
    let mut db = Database::default();
    let file = db.set_file("many.tally", rules);
    let errors: Vec<_> = tally_db::diagnostics(&db, file)
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    (db, file)
}

/// Evaluating a 200-line customer: with each clause's steps (the text a JSON plan's provenance
/// and `explain` show), and values only (`tally plan` as a table or CSV, `--no-provenance`).
/// Per line: the time divided by 200.
#[divan::bench(args = [tally_eval::Detail::Steps, tally_eval::Detail::Amounts])]
fn evaluate_200_lines(bencher: divan::Bencher, detail: tally_eval::Detail) {
    let (db, file) = many_lines_program();
    let program = tally_db::program(&db, file).as_ref().unwrap();
    let text =
        std::fs::read_to_string(workspace().join("examples/northwind/snapshot.json")).unwrap();
    let snapshot = tally_snapshot::from_json(&text).unwrap();
    let period = snapshot.period.unwrap();
    bencher.bench_local(|| {
        tally_eval::evaluate_with(program, &snapshot, &period, detail)
            .unwrap()
            .lines
            .len()
    });
}
