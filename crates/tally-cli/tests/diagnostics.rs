//! Source and rendered diagnostics side by side, one snapshot per file in `tests/diagnostics/`
//! (insta::glob: add a case by adding a file). In-process, through the same loading and
//! rendering `tally check` uses, so what is snapshotted is what a user sees; colour is off.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .unwrap()
}

#[test]
fn every_case_renders_its_diagnostics() {
    // Keys (and so the file names in the output) are relative to the repository, as when
    // `tally check tests/diagnostics/NAME.tally` runs from its root.
    std::env::set_current_dir(workspace()).unwrap();
    // No colour: standard error is not a terminal under the test harness.
    insta::glob!("../../../tests/diagnostics", "*.tally", |case| {
        let relative = case
            .strip_prefix(workspace())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let (errors, rendered) = tally_cli::check_report(&[PathBuf::from(&relative)]).unwrap();
        assert!(errors, "{relative} should fail the check:\n{rendered}");
        let source = std::fs::read_to_string(case).unwrap();
        let snapshot = format!("{source}\n──── tally check {relative} (exit 1) ────\n{rendered}");
        insta::assert_snapshot!(snapshot);
    });
}

/// Every code a rule file can cause has an example in a corpus: check-time codes in
/// `tests/diagnostics/`, runtime codes in `tests/eval/error-*`. T0601 (asking to plan rules that
/// do not check) and T0901 (a bug in Tally) are tested where they arise.
#[test]
fn every_code_has_a_corpus_example() {
    let root = workspace();
    let mut text = String::new();
    for dir in [
        "crates/tally-cli/tests/snapshots",
        "crates/tally-driver/tests/snapshots",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "snap") {
                text.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let missing: Vec<&str> = tally_diagnostics::Code::ALL
        .into_iter()
        .filter(|c| {
            !matches!(
                c,
                tally_diagnostics::Code::RulesHaveErrors | tally_diagnostics::Code::Internal
            )
        })
        .map(|c| c.as_str())
        .filter(|code| {
            !text
                .lines()
                .any(|l| l == *code || l.contains(&format!(" {code} ")))
        })
        .collect();
    assert!(missing.is_empty(), "no corpus example for {missing:?}");
}
