//! The documentation tells the truth: every ```tally example in the language reference checks,
//! every ```tally-error example fails, the error index lists every code, and each example in the
//! error index produces the code of its section (markdown tests: a block's fence says what it
//! must do).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::Path;
use tally_db::Database;
use tally_diagnostics::{Code, Diagnostic};

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Prepended to examples that are not whole customer files.
const HEADER: &str = "customer \"Example\" {\n  tenant \"example.onmicrosoft.com\"\n  currency GBP\n}\nuse std.m365\n";

/// (fence info, first line number, code) of every fenced block.
fn blocks(markdown: &str) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match current.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    current = Some((info.trim().to_string(), number + 2, String::new()));
                }
            }
            Some((info, start, mut code)) => {
                if trimmed.starts_with("```") {
                    out.push((info, start, code));
                } else {
                    code.push_str(line);
                    code.push('\n');
                    current = Some((info, start, code));
                }
            }
        }
    }
    out
}

fn check(code: &str) -> Vec<Diagnostic> {
    let mut db = Database::default();
    let text = if code.contains("customer \"") {
        code.to_string()
    } else {
        format!("{HEADER}{code}")
    };
    let file = db.set_file("example.tally", text);
    tally_db::diagnostics(&db, file).clone()
}

#[test]
fn language_reference_examples_check() {
    let path = workspace().join("docs/language.md");
    let markdown = std::fs::read_to_string(&path).unwrap();
    let blocks = blocks(&markdown);
    let good: Vec<_> = blocks.iter().filter(|(info, ..)| info == "tally").collect();
    let bad: Vec<_> = blocks
        .iter()
        .filter(|(info, ..)| info == "tally-error")
        .collect();
    assert!(
        good.len() >= 10,
        "the reference should show the language by example"
    );
    let mut failures = Vec::new();
    for (_, line, code) in &good {
        let errors: Vec<_> = check(code).into_iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            failures.push(format!(
                "docs/language.md:{line}: {:?}",
                errors.iter().map(|d| &d.message).collect::<Vec<_>>()
            ));
        }
    }
    for (_, line, code) in &bad {
        if !check(code).iter().any(|d| d.is_error()) {
            failures.push(format!(
                "docs/language.md:{line}: a `tally-error` example checks cleanly"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn readme_example_checks() {
    let markdown = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    for (info, line, code) in blocks(&markdown) {
        if info == "tally" {
            let errors: Vec<_> = check(&code).into_iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "README.md:{line}: {errors:?}");
        }
    }
}

#[test]
fn the_error_index_lists_every_code() {
    let index = std::fs::read_to_string(workspace().join("docs/errors.md")).unwrap();
    for code in Code::ALL {
        assert!(
            index.contains(&format!("## {}", code.as_str())),
            "docs/errors.md has no section `## {}` ({code:?})",
            code.as_str()
        );
    }
}

/// A customer whose snapshot (`tests/fixtures/acme-snapshot.json`) runtime examples run against.
const RUNTIME_HEADER: &str =
    "customer \"Acme Ltd\" {\n  tenant \"acme.onmicrosoft.com\"\n  currency GBP\n}\nuse std.m365\n";

/// The diagnostics of planning `code` against the Acme fixture snapshot.
fn plan_problems(code: &str) -> Vec<Diagnostic> {
    let mut db = Database::default();
    let text = if code.contains("customer \"") {
        code.to_string()
    } else {
        format!("{RUNTIME_HEADER}{code}")
    };
    let file = db.set_file("example.tally", text);
    let checked = tally_driver::diagnostics(&db, &[file]);
    if checked.iter().any(|p| p.diagnostic.is_error()) {
        return checked.into_iter().map(|p| p.diagnostic).collect();
    }
    let snapshot_text =
        std::fs::read_to_string(workspace().join("tests/fixtures/acme-snapshot.json")).unwrap();
    let snapshot = tally_snapshot::from_json(&snapshot_text).unwrap();
    let period = tally_driver::plan_period(&snapshot, None, "acme-snapshot.json").unwrap();
    let input = tally_driver::input_file("acme-snapshot.json", snapshot_text.as_bytes());
    let run = tally_driver::plan(&db, &[file], &snapshot, input, period).unwrap();
    run.failures
        .into_iter()
        .flat_map(|(_, problems)| problems.into_iter().map(|p| p.diagnostic))
        .collect()
}

/// In `docs/errors.md`, under `## TNNNN`: a ```tally-error block must produce TNNNN when
/// checked, a ```tally-runtime-error block when planned against the Acme fixture snapshot, and a
/// ```tally block under a warning's section must produce that warning and no error. A fence may
/// name another code (```tally-error T0102) when an example shows a neighbouring mistake.
#[test]
fn each_error_index_example_produces_its_code() {
    let index = std::fs::read_to_string(workspace().join("docs/errors.md")).unwrap();
    let mut section: Option<&str> = None;
    let mut sections = Vec::new();
    for (number, line) in index.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.split_whitespace().next();
        }
        sections.push((number + 1, section));
    }
    let code_of = |text: &str| Code::ALL.into_iter().find(|c| c.as_str() == text);
    let mut failures = Vec::new();
    let mut ran = 0;
    for (info, line, code) in blocks(&index) {
        let mut words = info.split_whitespace();
        let kind = words.next().unwrap_or("");
        let section_code = sections
            .get(line.saturating_sub(1))
            .and_then(|(_, s)| *s)
            .and_then(code_of);
        let wanted = words.next().and_then(code_of).or(section_code);
        let Some(wanted) = wanted else { continue };
        let produced = match kind {
            "tally-error" => check(&code),
            "tally-runtime-error" => plan_problems(&code),
            "tally" if wanted.as_str() == "T0401" => check(&code),
            _ => continue,
        };
        ran += 1;
        let codes: Vec<&str> = produced.iter().map(|d| d.code.as_str()).collect();
        if !codes.contains(&wanted.as_str()) {
            failures.push(format!(
                "docs/errors.md:{line}: a `{kind}` block should produce {wanted}, got {codes:?}"
            ));
        }
        if kind == "tally" && produced.iter().any(Diagnostic::is_error) {
            failures.push(format!(
                "docs/errors.md:{line}: a `tally` block has errors: {codes:?}"
            ));
        }
    }
    assert!(ran >= 20, "only {ran} runnable examples in docs/errors.md");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
