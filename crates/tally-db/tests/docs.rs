//! The documentation tells the truth: every ```tally example in the language reference checks,
//! every ```tally-error example fails, and the error index lists every code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::Path;
use tally_db::Database;
use tally_diagnostics::Code;

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

fn check(code: &str) -> Vec<tally_diagnostics::Diagnostic> {
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
