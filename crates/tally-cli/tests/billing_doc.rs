#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! `docs/billing.md` tells the truth: each example (a ```tally rule file, a ```json snapshot and
//! the ```text plan) is planned with the real binary and must print exactly that plan.

use std::path::Path;
use std::process::Command;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Fenced blocks as (info string, first line number, body).
fn blocks(markdown: &str) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((info.trim().to_string(), number + 2, String::new()));
                }
            }
            Some((info, start, mut body)) => {
                if line.starts_with("```") {
                    out.push((info, start, body));
                } else {
                    body.push_str(line);
                    body.push('\n');
                    open = Some((info, start, body));
                }
            }
        }
    }
    out
}

#[test]
fn every_billing_example_prints_the_plan_it_shows() {
    let markdown = std::fs::read_to_string(workspace().join("docs/billing.md")).unwrap();
    let blocks = blocks(&markdown);
    let mut checked = 0;
    let mut failures = Vec::new();
    for window in blocks.windows(3) {
        let [(a, line, rules), (b, _, snapshot), (c, _, expected)] = window else {
            continue;
        };
        if (a.as_str(), b.as_str(), c.as_str()) != ("tally", "json", "text") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.tally"), rules).unwrap();
        std::fs::write(dir.path().join("snapshot.json"), snapshot).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["plan", "rules.tally", "--snapshot", "snapshot.json"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            failures.push(format!(
                "docs/billing.md:{line}: tally plan failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        } else if printed.trim_end() != expected.trim_end() {
            failures.push(format!(
                "docs/billing.md:{line}: the plan differs\n--- documented\n{expected}--- printed\n{printed}"
            ));
        }
        checked += 1;
    }
    assert!(
        checked >= 4,
        "expected at least 4 worked examples, found {checked}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
