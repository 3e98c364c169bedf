//! The review commands against the real binary: `tally diff`, `tally test` (running the bundled
//! examples' tests), `tally check --format github|sarif` with `--deny-warnings` and `--quiet`,
//! and the GitHub Actions workflow that `docs/ci.md` documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .unwrap()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("tally")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("internal error"),
        "tally {args:?} crashed:\n{}",
        run.stderr
    );
    run
}

fn run(args: &[&str]) -> Run {
    run_in(&workspace(), args)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary copy of `examples/` (with a `.git` marker, so `use` stays inside it).
fn examples_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&workspace().join("examples"), &dir.path().join("examples"));
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

/// The Northwind example's plan with backup at 48 users, network management missing and an
/// old fax line: what "last month" looked like.
fn last_month(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(workspace().join("examples/northwind/expected-plan.json")).unwrap();
    let mut plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    plan["period"]["start"] = "2026-09-01".into();
    plan["period"]["end"] = "2026-09-30".into();
    let customer = &mut plan["customers"][0];
    let lines = customer["lines"].as_array_mut().unwrap();
    for line in lines.iter_mut() {
        if line["line"] == "backup" {
            line["quantity"] = 48.into();
            line["amount"] = "180.00".into();
        }
    }
    let mut fax = lines[0].clone();
    fax["id"] = "northwindtraders.onmicrosoft.com/fax".into();
    fax["line"] = "fax".into();
    fax["description"] = "Fax | line".into();
    fax["quantity"] = 2.into();
    fax["unit_price"] = "6.00".into();
    fax["amount"] = "12.00".into();
    lines.retain(|l| l["line"] != "network_management");
    lines.push(fax);
    customer["total"] = "4090.76".into();
    let path = dir.join("september.json");
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    path
}

// ---- tally diff ---------------------------------------------------------------------------

#[test]
fn diff_prints_the_change_per_customer_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let old = last_month(dir.path());
    let run = run(&[
        "diff",
        old.to_str().unwrap(),
        "examples/northwind/expected-plan.json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "\
plan of 2026-10-01 to 2026-10-31 compared with 2026-09-01 to 2026-09-30

Northwind Traders (northwindtraders.onmicrosoft.com): 4090.76 → 4365.01 GBP, +274.25 (+6.7%)
  change   line                    qty  unit price           amount  note
  changed  backup              48 → 51        3.75  180.00 → 191.25  +11.25
  new      network_management        1      275.00           275.00  +275.00
  removed  fax                       2        6.00            12.00  -12.00
  25 lines unchanged

total GBP: 4090.76 → 4365.01, +274.25 (+6.7%)
"
    );
}

#[test]
fn diff_as_markdown_and_json_for_pull_requests_and_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let old = last_month(dir.path());
    let new = "examples/northwind/expected-plan.json";
    let markdown = run(&["diff", old.to_str().unwrap(), new, "--format", "markdown"]);
    assert_eq!(markdown.code, 0);
    assert!(markdown.stdout.starts_with("### Billing plan changes\n"));
    for row in [
        "| Northwind Traders | 4090.76 GBP | 4365.01 GBP | +274.25 (+6.7%) |",
        "| **total GBP** | **4090.76** | **4365.01** | **+274.25 (+6.7%)** |",
        "<details><summary>Northwind Traders: 1 changed, 1 new, 1 removed</summary>",
        "| changed | backup | 48 → 51 | 3.75 | 180.00 → 191.25 | +11.25 |",
        "| new | network\\_management | 1 | 275.00 | 275.00 | +275.00 |",
        "| removed | fax | 2 | 6.00 | 12.00 | -12.00 |",
    ] {
        assert!(
            markdown.stdout.contains(row),
            "no `{row}` in:\n{}",
            markdown.stdout
        );
    }
    let json = run(&["diff", old.to_str().unwrap(), new, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["customers"][0]["change"], "274.25");
    assert_eq!(value["customers"][0]["lines"][2]["status"], "removed");
    assert_eq!(value["totals"][0]["after"], "4365.01");
    // -o writes the same text to a file.
    let out = dir.path().join("diff.md");
    let written = run(&[
        "diff",
        old.to_str().unwrap(),
        new,
        "--format",
        "markdown",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(written.code, 0);
    assert_eq!(written.stdout, "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), markdown.stdout);
}

#[test]
fn the_guardrail_fails_naming_the_customers_above_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let old = last_month(dir.path());
    let old = old.to_str().unwrap();
    let new = "examples/northwind/expected-plan.json";
    let crossed = run(&["diff", old, new, "--fail-on-change-above", "5%"]);
    assert_eq!(crossed.code, 1);
    assert_eq!(
        crossed.stderr,
        "change above 5%: Northwind Traders (northwindtraders.onmicrosoft.com): 4090.76 → 4365.01 GBP (+6.7%), more than 5%\n"
    );
    assert!(
        crossed.stdout.contains("total GBP: 4090.76 → 4365.01"),
        "the diff is still printed"
    );
    let within = run(&["diff", old, new, "--fail-on-change-above", "7"]);
    assert_eq!(within.code, 0, "{}", within.stderr);
    assert_eq!(within.stderr, "");
    let bad = run(&["diff", old, new, "--fail-on-change-above", "ten"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("`--fail-on-change-above ten` is not a percentage")
    );
}

#[test]
fn diff_refuses_files_that_are_not_plans() {
    let not_a_plan = run(&[
        "diff",
        "examples/northwind/snapshot.json",
        "examples/northwind/expected-plan.json",
    ]);
    assert_eq!(not_a_plan.code, 1);
    assert!(
        not_a_plan
            .stderr
            .contains("`examples/northwind/snapshot.json` is not a plan"),
        "{}",
        not_a_plan.stderr
    );
    let missing = run(&[
        "diff",
        "nowhere.json",
        "examples/northwind/expected-plan.json",
    ]);
    assert_eq!(missing.code, 2);
}

#[test]
fn a_version_1_plan_diffs_line_for_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(workspace().join("examples/northwind/expected-plan.json"))
        .unwrap()
        .replace("\"version\": 2", "\"version\": 1")
        .replace(
            "\"id\": \"northwindtraders.onmicrosoft.com/",
            "\"id\": \"northwind-traders/",
        );
    let v1 = dir.path().join("v1.json");
    std::fs::write(&v1, text).unwrap();
    let run = run(&[
        "diff",
        v1.to_str().unwrap(),
        "examples/northwind/expected-plan.json",
        "--fail-on-change-above",
        "0",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("4365.01 GBP, unchanged\n  27 lines unchanged\n"),
        "{}",
        run.stdout
    );
}

// ---- tally test -------------------------------------------------------------------------

/// The bundled examples' tests pass, from the repository root.
#[test]
fn the_examples_tests_pass() {
    let run = run(&["test", "examples/"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "\
ok     examples/northwind/tests/new-sales-team (10 checks)
ok     examples/northwind/tests/october (15 checks)
ok     examples/small-business/tests/bakery-grows (8 checks)
ok     examples/small-business/tests/october (7 checks)
ok     examples/small-business/tests/rmm-export-missing (2 checks)

5 passed, 0 failed
"
    );
    // The goldens record paths relative to their case, whatever the current directory.
    let golden = std::fs::read_to_string(
        workspace().join("examples/northwind/tests/october/expected-plan.json"),
    )
    .unwrap();
    assert!(golden.contains("\"rules\": \"../../northwind.tally\""));
    assert!(golden.contains("\"path\": \"snapshot.json\""));
    let inside = run_in(&workspace().join("examples/northwind/tests"), &["test"]);
    assert_eq!(inside.code, 0, "{}", inside.stdout);
    assert!(inside.stdout.ends_with("2 passed, 0 failed\n"));
}

#[test]
fn test_results_as_json() {
    let run = run(&["test", "examples/small-business", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["passed"], 3);
    assert_eq!(value["failed"], 0);
    let october = &value["cases"][1];
    assert_eq!(october["case"], "examples/small-business/tests/october");
    assert_eq!(october["golden"]["passed"], true);
    assert_eq!(
        october["expectations"][0]["expectation"],
        "support.quantity == 10"
    );
    assert_eq!(october["expectations"][0]["line"], 4);
}

#[test]
fn a_failing_case_shows_what_was_found_and_the_golden_diff_then_update_accepts_it() {
    let dir = examples_copy();
    let case = dir.path().join("examples/small-business/tests/october");
    // The contract changes: support goes up to 26.00.
    let rules = dir.path().join("examples/small-business/small.tally");
    let text = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(&rules, text.replace("price 25.00", "price 26.00")).unwrap();
    let failed = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/october"],
    );
    assert_eq!(failed.code, 1);
    let expected_start = "\
FAILED examples/small-business/tests/october (7 checks)
    expect.tallytest:8: expect total == 347.91 GBP
      found 357.91 GBP
    examples/small-business/tests/october/expected-plan.json differs from the plan the rules make now (accept it with `tally test --update`):
      plan of 2026-10-01 to 2026-10-31 compared with 2026-10-01 to 2026-10-31
      
      Fabrikam Bakery (fabrikambakery.onmicrosoft.com): 347.91 → 357.91 GBP, +10.00 (+2.9%)
        change   line     qty     unit price           amount  note
        changed  support   10  25.00 → 26.00  250.00 → 260.00  +10.00
        5 lines unchanged
";
    assert!(
        failed.stdout.starts_with(expected_start),
        "{}",
        failed.stdout
    );
    assert!(failed.stdout.contains(
        "      -          \"unit_price\": \"25.00\",\n      -          \"amount\": \"250.00\",\n      +          \"unit_price\": \"26.00\",\n      +          \"amount\": \"260.00\",\n"
    ), "{}", failed.stdout);
    assert!(failed.stdout.ends_with("\n0 passed, 1 failed\n"));

    // Accept the new plan; the expectation still fails until it is corrected.
    let updated = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/october", "--update"],
    );
    assert!(
        updated.stdout.contains("expected-plan.json: updated"),
        "{}",
        updated.stdout
    );
    let golden = std::fs::read_to_string(case.join("expected-plan.json")).unwrap();
    assert!(golden.contains("\"unit_price\": \"26.00\""));
    assert!(golden.contains("\"total\": \"357.91\""));
    let expect = std::fs::read_to_string(case.join("expect.tallytest")).unwrap();
    std::fs::write(
        case.join("expect.tallytest"),
        expect.replace("total == 347.91 GBP", "total == 357.91 GBP"),
    )
    .unwrap();
    let passed = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/october"],
    );
    assert_eq!(passed.code, 0, "{}", passed.stdout);

    // A golden already up to date is left alone, and not reported as updated.
    let modified = std::fs::metadata(case.join("expected-plan.json"))
        .unwrap()
        .modified()
        .unwrap();
    let again = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/october", "--update"],
    );
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(!again.stdout.contains("updated"), "{}", again.stdout);
    assert_eq!(
        std::fs::metadata(case.join("expected-plan.json"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
}

#[test]
fn a_new_case_gets_its_golden_from_update() {
    let dir = examples_copy();
    let case = dir.path().join("examples/small-business/tests/november");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::copy(
        dir.path().join("examples/small-business/snapshot.json"),
        case.join("snapshot.json"),
    )
    .unwrap();
    let nothing = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/november"],
    );
    assert_eq!(nothing.code, 1);
    assert!(
        nothing
            .stdout
            .contains("nothing to check: add expect.tallytest, or run `tally test --update`"),
        "{}",
        nothing.stdout
    );
    let update = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/november", "--update"],
    );
    assert_eq!(update.code, 0, "{}", update.stdout);
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("expected-plan.json")).unwrap())
            .unwrap();
    assert_eq!(golden["customers"][0]["total"], "347.91");
    assert_eq!(golden["customers"][0]["rules"], "../../small.tally");
    let again = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/november"],
    );
    assert_eq!(again.code, 0);
}

#[test]
fn a_broken_expectation_file_is_reported_where_it_breaks() {
    let dir = examples_copy();
    let case = dir
        .path()
        .join("examples/small-business/tests/bakery-grows");
    std::fs::write(
        case.join("expect.tallytest"),
        "expect support.quantity == 12\nexpect total = 494.95 GBP\n",
    )
    .unwrap();
    let run = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/bakery-grows"],
    );
    assert_eq!(run.code, 1);
    for part in [
        "FAILED examples/small-business/tests/bakery-grows (0 checks)",
        "× expected a comparison, found `=`",
        "[examples/small-business/tests/bakery-grows/expect.tallytest:2:14]",
        "2 │ expect total = 494.95 GBP",
        "help: use `==` to compare",
    ] {
        assert!(run.stdout.contains(part), "no `{part}` in:\n{}", run.stdout);
    }
}

#[test]
fn rules_that_do_not_plan_fail_the_case_unless_expected() {
    let dir = examples_copy();
    let case = dir
        .path()
        .join("examples/small-business/tests/rmm-export-missing");
    std::fs::write(case.join("expect.tallytest"), "expect total == 1.00 GBP\n").unwrap();
    let run = run_in(
        dir.path(),
        &["test", "examples/small-business/tests/rmm-export-missing"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("the rules did not plan:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("counter `rmm.devices` is not in the snapshot")
    );
    assert!(run.stdout.contains("expect.tallytest:1: expect total == 1.00 GBP\n      the rules were not planned: examples/small-business/small.tally:49:27: T0504 counter `rmm.devices` is not in the snapshot"), "{}", run.stdout);
}

#[test]
fn no_cases_is_a_usage_error() {
    let run = run(&["test", "tests/diagnostics"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("no test cases under `tests/diagnostics`"),
        "{}",
        run.stderr
    );
}

// ---- tally check for CI ----------------------------------------------------------------

#[test]
fn check_as_github_annotations() {
    let run = run(&[
        "check",
        "tests/diagnostics/three_mistakes.tally",
        "--format",
        "github",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "\
::error file=tests/diagnostics/three_mistakes.tally,line=6,col=1,endLine=6,endColumn=4,title=T0001::expected `}` or a customer setting (`tenant`, `currency`, `psa`, `billing_day`), found `let`%0Ahelp: add `}` to close the block
::error file=tests/diagnostics/three_mistakes.tally,line=6,col=42,endLine=6,endColumn=52,title=T0102::a user has no field `departmnet`%0Ahelp: did you mean `department`?
::error file=tests/diagnostics/three_mistakes.tally,line=8,col=46,endLine=8,endColumn=54,title=T0202::cannot combine money in GBP with money in USD%0Ahelp: write both amounts in the customer's currency: exchange rates apply only to snapshot costs
"
    );
    assert_eq!(run.stderr, "checked 1 file: 3 errors\n");
    let quiet = run_in(
        &workspace(),
        &[
            "check",
            "tests/diagnostics/three_mistakes.tally",
            "--format",
            "github",
            "--quiet",
        ],
    );
    assert_eq!(quiet.stderr, "");
}

#[test]
fn github_annotations_escape_percent_newlines_colons_and_commas() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    // A file name with `,`, `:` and `%`: property escapes.
    let name = "odd,name:100%.tally";
    std::fs::write(
        dir.path().join(name),
        "customer \"A\" {\n  tenant \"a.onmicrosoft.com\"\n  currency GBP\n}\n\nx qty = 1 price 1.00\nlet fifty = 50%\n",
    )
    .unwrap();
    let run = run_in(dir.path(), &["check", name, "--format", "github"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "::warning file=odd%2Cname%3A100%25.tally,line=7,col=5,endLine=7,endColumn=10,title=T0401::`fifty` is never used%0Ahelp: remove it, or use it in a line\n"
    );
    // Data escapes: `%`, CR and LF only.
    assert_eq!(
        tally_cli::render::github_data("50% a:b,c\r\nd"),
        "50%25 a:b,c%0D%0Ad"
    );
    assert_eq!(
        tally_cli::render::github_property("50% a:b,c\r\nd"),
        "50%25 a%3Ab%2Cc%0D%0Ad"
    );
}

#[test]
fn deny_warnings_fails_on_warnings_and_quiet_drops_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(
        dir.path().join("a.tally"),
        "customer \"A\" {\n  tenant \"a.onmicrosoft.com\"\n  currency GBP\n}\n\nx qty = 1 price 1.00\nlet unused = 1\n",
    )
    .unwrap();
    let plain = run_in(dir.path(), &["check", "a.tally"]);
    assert_eq!(plain.code, 0);
    assert!(
        plain
            .stderr
            .ends_with("checked 1 file: no errors, 1 warning\n"),
        "{}",
        plain.stderr
    );
    let denied = run_in(dir.path(), &["check", "a.tally", "--deny-warnings"]);
    assert_eq!(denied.code, 1);
    assert!(denied.stderr.contains("T0401"));
    assert!(
        denied
            .stderr
            .ends_with("checked 1 file: 1 warning, denied by --deny-warnings\n"),
        "{}",
        denied.stderr
    );
    let quiet = run_in(
        dir.path(),
        &[
            "check",
            "a.tally",
            "--deny-warnings",
            "--quiet",
            "--format",
            "github",
        ],
    );
    assert_eq!(quiet.code, 1);
    assert_eq!(quiet.stderr, "");
    assert!(
        quiet
            .stdout
            .starts_with("::warning file=a.tally,line=7,col=5,")
    );
    let clean = run(&["check", "examples/", "--deny-warnings", "--quiet"]);
    assert_eq!(clean.code, 0);
    assert_eq!(clean.stderr, "");
    let summary = run(&["check", "examples/", "--deny-warnings"]);
    assert_eq!(summary.stderr, "checked 3 files: no errors\n");
}

fn sarif_validator() -> jsonschema::Validator {
    let path = workspace().join("crates/tally-cli/tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e",
        "the vendored SARIF schema changed (see its README.md)"
    );
    let schema: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid_sarif(validator: &jsonschema::Validator, log: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
}

#[test]
fn check_as_sarif_is_valid_against_the_official_schema() {
    let validator = sarif_validator();
    // The schema does catch mistakes: a result without a message is refused.
    let broken = serde_json::json!({
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "tally" } }, "results": [{ "ruleId": "T0001" }] }]
    });
    assert!(validator.iter_errors(&broken).next().is_some());
    let bad_level = serde_json::json!({
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "tally" } }, "results": [{ "message": { "text": "x" }, "level": "fatal" }] }]
    });
    assert!(validator.iter_errors(&bad_level).next().is_some());

    let mut cases = vec!["tests/diagnostics/three_mistakes.tally".to_string()];
    for entry in std::fs::read_dir(workspace().join("tests/diagnostics")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tally") {
            cases.push(format!(
                "tests/diagnostics/{}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    let mut codes = std::collections::BTreeSet::new();
    for case in &cases {
        let run = run(&["check", case, "--format", "sarif"]);
        assert_eq!(run.code, 1, "{case}: {}", run.stderr);
        let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_valid_sarif(&validator, &log);
        for result in log["runs"][0]["results"].as_array().unwrap() {
            codes.insert(result["ruleId"].as_str().unwrap().to_string());
        }
    }
    assert!(codes.len() >= 20, "the corpus shows most codes: {codes:?}");

    let run = run(&[
        "check",
        "tests/diagnostics/three_mistakes.tally",
        "--format",
        "sarif",
    ]);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "tally");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), tally_diagnostics::Code::ALL.len());
    assert_eq!(rules[3]["id"], "T0102");
    assert_eq!(rules[3]["name"], "UnknownField");
    assert_eq!(rules[3]["shortDescription"]["text"], "unknown field");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let field = &results[1];
    assert_eq!(field["ruleId"], "T0102");
    assert_eq!(field["ruleIndex"], 3);
    assert_eq!(field["level"], "error");
    assert_eq!(
        field["message"]["text"],
        "a user has no field `departmnet`\nhelp: did you mean `department`?"
    );
    let location = &field["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "tests/diagnostics/three_mistakes.tally"
    );
    assert_eq!(location["region"]["startLine"], 6);
    assert_eq!(location["region"]["startColumn"], 42);
    assert_eq!(location["region"]["endLine"], 6);
    assert_eq!(location["region"]["endColumn"], 52);
    assert_eq!(location["region"]["byteLength"], 10);
    // The unclosed `{` of the first error is a related location.
    let related = &results[0]["relatedLocations"][0];
    assert_eq!(related["message"]["text"], "this `{` is never closed");
    assert_eq!(related["physicalLocation"]["region"]["startLine"], 2);

    // A clean check is a valid log with no results; -o writes it to a file.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tally.sarif");
    let clean = run_in(
        &workspace(),
        &[
            "check",
            "examples/",
            "--format",
            "sarif",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(clean.code, 0);
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_valid_sarif(&validator, &log);
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
}

#[test]
fn sarif_uris_are_percent_encoded_references() {
    let validator = sarif_validator();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let name = "my rules #1 ü.tally";
    std::fs::write(dir.path().join(name), "customer \"A\" {\n  tenant \"a\"\n").unwrap();
    let run = run_in(dir.path(), &["check", name, "--format", "sarif"]);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&validator, &log);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "my%20rules%20%231%20%C3%BC.tally"
    );
}

#[test]
fn each_code_title_is_its_heading_in_errors_md() {
    let errors = std::fs::read_to_string(workspace().join("docs/errors.md")).unwrap();
    for code in tally_diagnostics::Code::ALL {
        let heading = format!(
            "## {} {}\n",
            code.as_str(),
            tally_cli::render::code_title(code)
        );
        assert!(
            errors.contains(&heading),
            "docs/errors.md has no `{}`",
            heading.trim()
        );
    }
}

// ---- the documented workflow ------------------------------------------------------------

/// `docs/ci.md`'s GitHub Actions workflow: its `tally` commands run as written and in order, on
/// a copy of the examples, with the step it cannot run here (`git show` of the base branch's
/// approved plan) done by hand: the approved plan with 48 protected users for backup.
#[test]
fn the_documented_workflow_runs() {
    let doc = std::fs::read_to_string(workspace().join("docs/ci.md")).unwrap();
    let workflow = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("docs/ci.md shows the workflow in a ```yaml block");
    let runs: Vec<&str> = workflow
        .lines()
        .filter_map(|line| line.trim().strip_prefix("run: "))
        .collect();
    let commands: Vec<&str> = runs
        .iter()
        .copied()
        .filter(|r| r.starts_with("tally "))
        .collect();
    // What the other steps do, so this test notices when they change.
    let others: Vec<&str> = runs
        .iter()
        .copied()
        .filter(|r| !r.starts_with("tally "))
        .collect();
    assert_eq!(
        others,
        [
            "|",
            "git show \"origin/${{ github.base_ref }}:examples/northwind/expected-plan.json\" > base-plan.json",
            "gh pr comment \"${{ github.event.pull_request.number }}\" --body-file plan-diff.md",
        ]
    );
    assert!(workflow.contains("cargo build --release --locked --bin tally"));
    assert_eq!(
        commands,
        [
            "tally check examples/ --format github --deny-warnings",
            "tally check examples/ --format sarif --quiet -o tally.sarif",
            "tally test examples/",
            "tally plan examples/northwind/northwind.tally --snapshot examples/northwind/snapshot.json --format json -o plan.json",
            "tally diff base-plan.json plan.json --format markdown -o plan-diff.md",
            "tally diff base-plan.json plan.json --fail-on-change-above 10",
        ]
    );

    let dir = examples_copy();
    let approved = std::fs::read_to_string(
        dir.path().join("examples/northwind/expected-plan.json"),
    )
    .unwrap()
    .replacen(
        "\"quantity\": 51,\n          \"unit_price\": \"3.75\",\n          \"amount\": \"191.25\"",
        "\"quantity\": 48,\n          \"unit_price\": \"3.75\",\n          \"amount\": \"180.00\"",
        1,
    )
    .replacen("\"total\": \"4365.01\"", "\"total\": \"4353.76\"", 1);
    assert!(
        approved.contains("\"amount\": \"180.00\""),
        "the approved plan was changed"
    );
    std::fs::write(dir.path().join("base-plan.json"), approved).unwrap();
    for command in &commands {
        assert!(
            !command.contains(['"', '\'', '$', '>', '|']),
            "`{command}`: the workflow's tally commands are plain words"
        );
        let words: Vec<&str> = command.split_whitespace().skip(1).collect();
        let run = run_in(dir.path(), &words);
        assert_eq!(
            run.code, 0,
            "`{command}` failed:\n{}{}",
            run.stdout, run.stderr
        );
    }
    let comment = std::fs::read_to_string(dir.path().join("plan-diff.md")).unwrap();
    assert!(
        comment.contains("| Northwind Traders | 4353.76 GBP | 4365.01 GBP | +11.25 (+0.3%) |"),
        "{comment}"
    );
    assert!(
        comment.contains("| changed | backup | 48 → 51 | 3.75 | 180.00 → 191.25 | +11.25 |"),
        "{comment}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tally.sarif")).unwrap())
            .unwrap();
    assert_valid_sarif(&sarif_validator(), &sarif);
    // The guardrail would stop a larger change: 4365.01 against 3900.00 is +11.9%.
    let big = std::fs::read_to_string(dir.path().join("base-plan.json"))
        .unwrap()
        .replacen("\"total\": \"4353.76\"", "\"total\": \"3900.00\"", 1);
    std::fs::write(dir.path().join("base-plan.json"), big).unwrap();
    let words: Vec<&str> = commands[5].split_whitespace().skip(1).collect();
    let stopped = run_in(dir.path(), &words);
    assert_eq!(stopped.code, 1);
    assert!(
        stopped
            .stderr
            .contains("change above 10%: Northwind Traders"),
        "{}",
        stopped.stderr
    );
}
