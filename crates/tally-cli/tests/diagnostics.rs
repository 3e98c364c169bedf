//! Source and rendered diagnostics side by side, one snapshot per file in `tests/diagnostics/`.
//! Runs the real binary, so what is snapshotted is exactly what a user sees.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::Path;
use std::process::Command;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn every_case_renders_its_diagnostics() {
    let dir = workspace().join("tests/diagnostics");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tally"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "expected diagnostic cases in {}",
        dir.display()
    );
    for case in cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let relative = format!("tests/diagnostics/{name}.tally");
        let output = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["check", &relative])
            .current_dir(workspace())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
        assert!(
            !stderr.contains("RUST_BACKTRACE"),
            "{name} printed a backtrace hint:\n{stderr}"
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name} should fail the check:\n{stderr}"
        );
        let source = std::fs::read_to_string(&case).unwrap();
        let snapshot = format!("{source}\n──── tally check {relative} (exit 1) ────\n{stderr}");
        insta::assert_snapshot!(name, snapshot);
    }
}
