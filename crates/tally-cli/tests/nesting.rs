//! Hostile nesting through the real binary: `tally check` must report T0003 and exit 1, never
//! exhaust the stack and abort; `tally plan` must refuse such rules the same way. Each case is
//! far past the limits (`docs/errors.md`, T0003).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::Path;
use std::process::Command;

const HEADER: &str =
    "customer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency GBP\n}\n\n";

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs `tally <args> <file>` on `rules` (after a header) and returns its exit code and errors.
fn run(name: &str, rules: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.tally"));
    std::fs::write(&file, format!("{HEADER}{rules}")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .arg(&file)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

fn refused(name: &str, rules: &str) {
    let (code, stderr) = run(name, rules, &["check"]);
    assert_eq!(
        code,
        Some(1),
        "{name}: expected exit 1 (not an abort):\n{stderr}"
    );
    assert!(stderr.contains("T0003"), "{name}: no T0003 in:\n{stderr}");
    assert!(!stderr.contains("overflow"), "{name}:\n{stderr}");
}

#[test]
fn deep_brackets_are_an_error_not_a_crash() {
    let n = 100_000;
    refused(
        "brackets",
        &format!("x qty = {}1{} price 1.00\n", "(".repeat(n), ")".repeat(n)),
    );
    refused(
        "calls",
        &format!(
            "x qty = {}1{} price 1.00\n",
            "max(1, ".repeat(n),
            ")".repeat(n)
        ),
    );
    refused(
        "lists",
        &format!("let x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
    );
}

#[test]
fn long_operator_chains_are_an_error_not_a_crash() {
    let terms = vec!["1"; 5_000].join(" + ");
    refused("plus", &format!("x qty = {terms} price 1.00\n"));
    let conditions = vec!["enabled"; 5_000].join(" and ");
    refused(
        "and",
        &format!("x qty = count(m365.users where {conditions}) price 1.00\n"),
    );
    refused(
        "not",
        &format!(
            "x qty = count(m365.users where {}enabled) price 1.00\n",
            "not ".repeat(5_000)
        ),
    );
    refused(
        "minus",
        &format!("x qty = {}1 price 1.00\n", "- ".repeat(5_000)),
    );
    refused(
        "fields",
        &format!(
            "x qty = count(m365.users{}) price 1.00\n",
            ".upn".repeat(5_000)
        ),
    );
}

#[test]
fn long_chains_of_definitions_are_an_error_not_a_crash() {
    let mut chain = "let a0 = 1\n".to_string();
    for i in 1..3_000 {
        chain.push_str(&format!("let a{i} = a{} + 1\n", i - 1));
    }
    let rules = format!("{chain}x qty = a2999 price 1.00\n");
    refused("chain", &rules);
    // `plan` refuses rules that do not check, so nothing evaluates the chain.
    let snapshot = workspace().join("examples/small-business/snapshot.json");
    let snapshot = snapshot.to_string_lossy().into_owned();
    let (code, stderr) = run("chain_plan", &rules, &["plan", "--snapshot", &snapshot]);
    assert_eq!(code, Some(1), "plan: expected exit 1:\n{stderr}");
    let mut cycle = String::new();
    for i in 0..3_000 {
        cycle.push_str(&format!("let c{i} = c{} + 1\n", (i + 1) % 3_000));
    }
    refused("cycle", &format!("{cycle}x qty = c0 price 1.00\n"));
}
