//! `tally fmt` through the real binary: rewriting in place, `--check` for CI, files with syntax
//! errors left alone, exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use assert_cmd::Command;
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn fmt(dir: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("tally")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("fmt")
        .args(args)
        .output()
        .unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stderr.contains("panicked"), "panic:\n{}", run.stderr);
    run
}

const MESSY: &str = "// Contoso's rules\ncustomer \"Contoso\" { tenant \"contoso.onmicrosoft.com\" currency GBP }\nuse   std.m365\n\n\n\nsupport qty=count(licensed_users)   // per user\n price 25.00 minimum 10 split by department otherwise \"Shared\" term annual\n";

const FORMATTED: &str = "// Contoso's rules\ncustomer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency GBP\n}\nuse std.m365\n\nsupport qty = count(licensed_users)   // per user\n  price 25.00\n  minimum 10\n  split by department otherwise \"Shared\"\n  term annual\n";

#[test]
fn fmt_rewrites_files_in_place_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contoso.tally"), MESSY).unwrap();
    let run = fmt(dir.path(), &["contoso.tally"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("1 of 1 file reformatted"),
        "{}",
        run.stderr
    );
    let formatted = std::fs::read_to_string(dir.path().join("contoso.tally")).unwrap();
    assert_eq!(formatted, FORMATTED);

    let again = fmt(dir.path(), &["contoso.tally"]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("0 of 1 file reformatted"),
        "{}",
        again.stderr
    );
    let check = fmt(dir.path(), &["--check", "."]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(check.stdout, "");
}

#[test]
fn check_lists_unformatted_files_exits_1_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("customers")).unwrap();
    std::fs::write(rules.join("customers/contoso.tally"), MESSY).unwrap();
    std::fs::write(rules.join("clean.tally"), FORMATTED).unwrap();
    std::fs::write(rules.join("notes.txt"), "not rules   \n").unwrap();
    let run = fmt(dir.path(), &["--check", "rules"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "rules/customers/contoso.tally\n");
    assert!(
        run.stderr.contains("1 of 2 files would be reformatted"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(rules.join("customers/contoso.tally")).unwrap(),
        MESSY
    );

    // Without `--check`, a directory is formatted whole; other files are not touched.
    let run = fmt(dir.path(), &["rules"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(rules.join("customers/contoso.tally")).unwrap(),
        FORMATTED
    );
    assert_eq!(
        std::fs::read_to_string(rules.join("notes.txt")).unwrap(),
        "not rules   \n"
    );
}

#[test]
fn a_file_with_syntax_errors_is_left_untouched_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "let a = 1\nsupport qty = max(1, 2 price 25.00\nlet b = )\n";
    std::fs::write(dir.path().join("broken.tally"), broken).unwrap();
    std::fs::write(dir.path().join("good.tally"), MESSY).unwrap();
    let run = fmt(dir.path(), &["broken.tally", "good.tally"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("error: broken.tally:2:24: expected `)`, `,`, a currency code"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(the first of 2 syntax errors)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("broken.tally")).unwrap(),
        broken
    );
    // The other file is still formatted.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("good.tally")).unwrap(),
        FORMATTED
    );
    let check = fmt(dir.path(), &["--check", "broken.tally"]);
    assert_eq!(check.code, 1);
    assert_eq!(check.stdout, "");
}

#[test]
fn bad_paths_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = fmt(dir.path(), &["missing.tally"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("cannot read `missing.tally`"));
    let empty = fmt(dir.path(), &["."]);
    assert_eq!(empty.code, 2);
    assert!(empty.stderr.contains("no .tally files"), "{}", empty.stderr);
    let none = fmt(dir.path(), &[]);
    assert_eq!(none.code, 2);
}

#[test]
fn text_that_is_not_utf8_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("latin1.tally"), b"let a = \"caf\xe9\"\n").unwrap();
    let run = fmt(dir.path(), &["latin1.tally"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not UTF-8"), "{}", run.stderr);
}

#[test]
fn the_repository_rule_files_are_formatted() {
    let run = fmt(
        workspace(),
        &[
            "--check",
            "examples",
            "stdlib",
            "tests/eval",
            "tests/fixtures",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
