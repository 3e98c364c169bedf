//! The real `tally` binary, driven the way a user or CI drives it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use assert_cmd::Command;
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn tally() -> Command {
    let mut command = Command::cargo_bin("tally").unwrap();
    command.current_dir(workspace()).env("NO_COLOR", "1");
    command
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let output = tally().args(args).output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stderr.contains("panicked"), "panic:\n{}", run.stderr);
    assert!(
        !run.stderr.contains("backtrace"),
        "backtrace:\n{}",
        run.stderr
    );
    run
}

/// Fails with the whole text when `needle` is not in it.
#[track_caller]
fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
}

const ACME: &str = "tests/fixtures/acme.tally";
const ACME_SNAPSHOT: &str = "tests/fixtures/acme-snapshot.json";

#[test]
fn three_mistakes_give_three_located_diagnostics_and_exit_1() {
    let run = run(&["check", "tests/diagnostics/three_mistakes.tally"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.matches('×').count(), 3, "{}", run.stderr);
    for location in [
        "three_mistakes.tally:6:1]", // the missing `}`, found where the next item starts
        "three_mistakes.tally:6:42]", // `departmnet`
        "three_mistakes.tally:8:46]", // `2.00 USD` added to GBP
    ] {
        assert!(
            run.stderr.contains(location),
            "no {location} in:\n{}",
            run.stderr
        );
    }
    assert_eq!(run.stderr.matches("help:").count(), 3, "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `department`?"));
    assert!(
        !run.stderr.contains('\u{1b}'),
        "NO_COLOR must turn colour off"
    );
}

#[test]
fn check_as_json_locates_each_problem() {
    let run = run(&[
        "check",
        "tests/diagnostics/three_mistakes.tally",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1);
    let diagnostics: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let list = diagnostics.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let codes: Vec<&str> = list.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["T0001", "T0102", "T0202"]);
    assert_eq!(list[1]["line"], 6);
    assert_eq!(list[1]["column"], 42);
    assert_eq!(list[1]["file"], "tests/diagnostics/three_mistakes.tally");
}

#[test]
fn a_clean_file_checks_with_exit_0() {
    let run = run(&["check", ACME]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no errors"));
}

#[test]
fn json_plans_are_byte_identical_and_amounts_are_strings() {
    let args = [
        "plan",
        ACME,
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
    ];
    let first = run(&args);
    let second = run(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, second.stdout);
    let plan: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let lines = plan["customers"][0]["lines"].as_array().unwrap();
    assert!(!lines.is_empty());
    for line in lines {
        assert!(line["amount"].is_string(), "{line}");
        assert!(line["unit_price"].is_string(), "{line}");
    }
    // Business Premium at 18.10 + 12% = 20.272 → 20.27 (half-up), 4 assigned seats.
    let bp = lines.iter().find(|l| l["line"] == "m365_bp").unwrap();
    assert_eq!(bp["quantity"], 4);
    assert_eq!(bp["unit_price"], "20.27");
    assert_eq!(bp["amount"], "81.08");
    assert_eq!(
        plan["inputs"]["snapshot"]["sha256"].as_str().unwrap().len(),
        64
    );
}

#[test]
fn split_parts_sum_to_the_whole() {
    let run = run(&[
        "plan",
        ACME,
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let lines = plan["customers"][0]["lines"].as_array().unwrap();
    // support: 3 staff (Ann, Bob, Cat), minimum 5 → 5 split Sales 1 : Ops 2 → 2 and 3.
    let support: Vec<_> = lines.iter().filter(|l| l["line"] == "support").collect();
    let quantities: Vec<u64> = support
        .iter()
        .map(|l| l["quantity"].as_u64().unwrap())
        .collect();
    assert_eq!(quantities.iter().sum::<u64>(), 5);
    assert_eq!(support[0]["split"]["value"], "Ops");
    assert_eq!(quantities, [3, 2]);
    assert_eq!(support[0]["provenance"]["minimum"]["counted"], 3);
    // backup: max(5 users, 10) = 10 over Ops 2, Sales 2, no department 1 → 4, 4, 2.
    let backup: Vec<_> = lines.iter().filter(|l| l["line"] == "backup").collect();
    let parts: Vec<(String, u64, String)> = backup
        .iter()
        .map(|l| {
            (
                l["split"]["value"].as_str().unwrap().to_string(),
                l["quantity"].as_u64().unwrap(),
                l["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            ("Ops".to_string(), 4, "18.00".to_string()),
            ("Sales".to_string(), 4, "18.00".to_string()),
            ("(no department)".to_string(), 2, "9.00".to_string()),
        ]
    );
}

#[test]
fn explain_names_who_was_excluded_and_why() {
    let run = run(&["explain", ACME, "--snapshot", ACME_SNAPSHOT, "support"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_contains(&run.stdout, "kept 3 of 5");
    assert_contains(&run.stdout, "excluded by `enabled`: dan@acme.com");
    assert_contains(&run.stdout, "excluded by `licensed`: eve@acme.com");
    assert_contains(&run.stdout, "minimum 5 applies: 3 counted, 5 billed");
}

#[test]
fn explain_suggests_a_line_that_exists() {
    let run = run(&["explain", ACME, "--snapshot", ACME_SNAPSHOT, "suport"]);
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, "did you mean `support`?");
}

#[test]
fn csv_has_one_row_per_line() {
    let run = run(&["plan", ACME, "--snapshot", ACME_SNAPSHOT, "--format", "csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert!(rows[0].starts_with("customer,tenant,id,"));
    assert_eq!(rows.len(), 1 + 6);
    assert!(
        rows.iter()
            .any(|r| r.contains("acme.onmicrosoft.com/backup/department=(no department)"))
    );
}

#[test]
fn usage_and_io_errors_exit_2_without_a_backtrace() {
    let missing = run(&["check", "no/such/file.tally"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .starts_with("error: cannot read `no/such/file.tally`"),
        "{}",
        missing.stderr
    );

    let bad_period = run(&[
        "plan",
        ACME,
        "--snapshot",
        ACME_SNAPSHOT,
        "--period",
        "2026-13",
    ]);
    assert_eq!(bad_period.code, 2);
    assert_contains(&bad_period.stderr, "not a month");

    let other_month = run(&[
        "plan",
        ACME,
        "--snapshot",
        ACME_SNAPSHOT,
        "--period",
        "2026-11",
    ]);
    assert_eq!(other_month.code, 2);
    assert!(
        other_month
            .stderr
            .contains("is for 2026-10-01 to 2026-10-31, not 2026-11"),
        "{}",
        other_month.stderr
    );

    // The same rule in every command: a file that cannot be read is exit 2.
    for args in [
        &["plan", ACME, "--snapshot", "no/such/snapshot.json"][..],
        &["import", "--recon", "no/such/recon.csv"][..],
        &["reconcile", "--plan", "no/such/plan.json"][..],
        &[
            "explain",
            ACME,
            "--snapshot",
            "no/such/snapshot.json",
            "support",
        ][..],
    ] {
        let missing = run(args);
        assert_eq!(missing.code, 2, "{args:?}: {}", missing.stderr);
        assert_contains(&missing.stderr, "cannot read `no/such/");
    }
}

#[test]
fn a_broken_snapshot_names_the_json_path_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("broken.json");
    let text = std::fs::read_to_string(workspace().join(ACME_SNAPSHOT)).unwrap();
    std::fs::write(
        &snapshot,
        text.replacen("\"enabled\": false", "\"enabled\": \"no\"", 1),
    )
    .unwrap();
    let out = dir.path().join("plan.json");
    let run = run(&[
        "plan",
        ACME,
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    // A snapshot that is not valid is a problem in the inputs (exit 1), not a usage error.
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, "tenants[0].users[3].enabled");
    assert!(!out.exists(), "a failed plan must not write its output");
}

#[test]
fn a_missing_tenant_is_a_located_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("other.tally");
    let text = std::fs::read_to_string(workspace().join(ACME)).unwrap();
    std::fs::write(
        &rules,
        text.replace("acme.onmicrosoft.com", "acme.onmicrosft.com"),
    )
    .unwrap();
    let run = run(&["plan", rules.to_str().unwrap(), "--snapshot", ACME_SNAPSHOT]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        "tenant `acme.onmicrosft.com` is not in the snapshot",
    );
    assert_contains(&run.stderr, "did you mean `acme.onmicrosoft.com`?");
    assert_contains(&run.stderr, "other.tally:2:10]");
}

#[test]
fn output_files_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let run = run(&[
        "plan",
        ACME,
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    serde_json::from_str::<serde_json::Value>(&written).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file may remain");
}

#[test]
fn the_readme_test_command_is_the_one_ci_runs() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).unwrap();
    let command = "cargo test --workspace --locked";
    assert!(
        readme.lines().any(|l| l.trim() == command),
        "README must show `{command}`"
    );
    assert!(ci.contains(command), ".ci/run must run `{command}`");
    let first_command = readme.lines().find(|l| l.starts_with("cargo ")).unwrap();
    assert!(
        first_command.contains("plan examples/"),
        "the README's first command runs the example"
    );
}

#[test]
fn runtime_errors_point_at_the_rule_and_all_are_reported() {
    let run = run(&[
        "plan",
        "tests/fixtures/runtime-errors.tally",
        "--snapshot",
        ACME_SNAPSHOT,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no partial plan: {}", run.stdout);
    assert!(
        run.stderr.contains("[T0501]") || run.stderr.contains("T0501"),
        "{}",
        run.stderr
    );
    assert_contains(&run.stderr, "division by zero");
    assert_contains(&run.stderr, "runtime-errors.tally:9:27]");
    assert_contains(&run.stderr, "the quantity of `refund` is -7");
    assert_contains(
        &run.stderr,
        "counter `backup.protected_users` is not in the snapshot",
    );
    assert_eq!(run.stderr.matches('×').count(), 3, "{}", run.stderr);
}

#[test]
fn a_sku_on_two_terms_adds_up_seats_but_has_no_single_cost() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("two-terms.json");
    let text = std::fs::read_to_string(workspace().join(ACME_SNAPSHOT)).unwrap();
    let monthly = r#"{ "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "part_number": "SPB", "purchased": 2, "assigned": 2,
          "unit_cost": { "amount": "21.72", "currency": "GBP" }, "term": "monthly", "billing_plan": "monthly" },
        { "sku_id""#;
    std::fs::write(&snapshot, text.replacen(r#"{ "sku_id""#, monthly, 1)).unwrap();
    let failed = run(&["plan", ACME, "--snapshot", snapshot.to_str().unwrap()]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("`SPB` is held on 2 subscriptions with different costs"),
        "{}",
        failed.stderr
    );
    assert_contains(&failed.stderr, "m365.sku(\"SPB\", \"annual\")");

    let dir_rules = dir.path().join("per-term.tally");
    std::fs::write(
        &dir_rules,
        "customer \"Acme Ltd\" {\n  tenant \"acme.onmicrosoft.com\"\n  currency GBP\n}\n\
         let bp = m365.sku(\"SPB\")\n\
         let annual = m365.skus where part_number == \"spb\" and term == \"annual\"\n\
         let bp_annual = m365.sku(\"SPB\", \"annual\")\n\
         seats qty = bp.assigned\n\
         annual_seats qty = sum(annual.assigned) price sum(annual.cost) * 112%\n\
         annual_again qty = bp_annual.assigned price bp_annual.cost * 112%\n",
    )
    .unwrap();
    let run = run(&[
        "plan",
        dir_rules.to_str().unwrap(),
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let lines = &plan["customers"][0]["lines"];
    assert_eq!(lines[0]["quantity"], 6, "4 annual + 2 monthly seats");
    assert_eq!(
        lines[0]["unit_price"],
        serde_json::Value::Null,
        "a quantity-only line"
    );
    assert_eq!(lines[1]["quantity"], 4);
    assert_eq!(lines[1]["unit_price"], "20.27");
    assert_eq!(
        lines[2]["quantity"], 4,
        "m365.sku(name, term) picks one commitment"
    );
    assert_eq!(lines[2]["unit_price"], "20.27");
}

#[test]
fn included_units_are_free_after_the_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("included.tally");
    std::fs::write(
        &rules,
        "customer \"Acme Ltd\" {\n  tenant \"acme.onmicrosoft.com\"\n  currency GBP\n}\n\
         let staff = m365.users where enabled\n\
         support qty = count(staff) price 25.00 included 2\n\
         floor qty = count(staff) price 10.00 minimum 6 included 2\n\
         none qty = count(staff) price 10.00 included 9\n",
    )
    .unwrap();
    let run = run(&[
        "plan",
        rules.to_str().unwrap(),
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let lines = &plan["customers"][0]["lines"];
    // 4 enabled users: 4 - 2 = 2; max(4, 6) - 2 = 4; 4 - 9 never goes below 0.
    assert_eq!(lines[0]["quantity"], 2);
    assert_eq!(lines[0]["amount"], "50.00");
    assert_eq!(lines[0]["provenance"]["included"], 2);
    assert_eq!(lines[1]["quantity"], 4);
    assert_eq!(lines[2]["quantity"], 0);
    assert_eq!(lines[2]["amount"], "0.00");
}

#[test]
fn a_foreign_cost_without_a_rate_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("usd.json");
    let text = std::fs::read_to_string(workspace().join(ACME_SNAPSHOT)).unwrap();
    std::fs::write(
        &snapshot,
        text.replace(r#""currency": "GBP""#, r#""currency": "USD""#),
    )
    .unwrap();
    let run = run(&["plan", ACME, "--snapshot", snapshot.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(&run.stderr, "no rate from USD to GBP for `SPB`'s cost");
    assert_contains(&run.stderr, "acme.tally:11:33]");
}

/// Seats removed on 20 June from a subscription whose term started on `term_start`.
fn reduction_plan(term: &str, term_start: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.tally"),
        "customer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency USD\n  billing_day 18\n}\n\
         let s = m365.sku(\"O365_BUSINESS_PREMIUM\")\n\
         standard qty = s.purchased price s.cost prorate daily rounding truncate_product\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("snapshot.json"),
        format!(
            r#"{{ "version": 2, "period": {{ "start": "2021-07-18", "end": "2021-08-17" }}, "tenants": [ {{ "tenant": "contoso.onmicrosoft.com", "subscribed_skus": [ {{ "sku_id": "f245ecc8-75af-4f8e-b61f-27d8114de5f3", "part_number": "O365_BUSINESS_PREMIUM", "purchased": 12, "assigned": 8, "unit_cost": {{ "amount": "10.08", "currency": "USD" }}, "term": "{term}", "billing_plan": "monthly", "term_start": "{term_start}", "changes": [ {{ "date": "2021-06-20", "purchased": 8 }} ] }} ] }} ] }}"#
        ),
    )
    .unwrap();
    let rules = dir.path().join("rules.tally");
    let snapshot = dir.path().join("snapshot.json");
    run(&[
        "plan",
        rules.to_str().unwrap(),
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
    ])
}

#[test]
fn a_reduction_outside_the_seven_day_window_is_flagged_not_credited() {
    // The monthly term renewed on 18 June: removing seats on the 20th is within 7 days.
    let inside = reduction_plan("monthly", "2021-05-18");
    assert_eq!(inside.code, 0, "{}", inside.stderr);
    let plan: serde_json::Value = serde_json::from_str(&inside.stdout).unwrap();
    let lines = plan["customers"][0]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the base line and the credit");
    assert_eq!(
        lines[1]["amount"], "-37.63",
        "4 seats × 10.08 × 28/30, truncated"
    );
    assert!(
        inside.stderr.is_empty() || !inside.stderr.contains("warning"),
        "{}",
        inside.stderr
    );

    // The annual term started on 1 May: on 20 June the window closed long ago.
    let outside = reduction_plan("annual", "2021-05-01");
    assert_eq!(outside.code, 0, "{}", outside.stderr);
    let plan: serde_json::Value = serde_json::from_str(&outside.stdout).unwrap();
    let lines = plan["customers"][0]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "no credit: {lines:?}");
    let flags = lines[0]["provenance"]["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1);
    assert!(
        flags[0]
            .as_str()
            .unwrap()
            .contains("4 seats fewer on 2021-06-20"),
        "{flags:?}"
    );
    assert!(
        outside
            .stderr
            .contains("warning: contoso.onmicrosoft.com/standard: 4 seats fewer"),
        "{}",
        outside.stderr
    );
}

const FIXTURES: &str = "crates/tally-import/tests/fixtures";

#[test]
fn import_then_plan_through_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let graph = format!(
        "contoso.onmicrosoft.com={FIXTURES}/synthetic/users_select_pages.json,{FIXTURES}/graph-examples/subscribedSkus_list_response.json"
    );
    let imported = run(&[
        "import",
        "--graph",
        &graph,
        "--price-list",
        "tests/fixtures/contoso-prices.csv",
        "--counts",
        "tests/fixtures/contoso-counts.csv",
        "--period",
        "2026-10",
        "-o",
        snapshot.to_str().unwrap(),
    ]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_contains(&imported.stderr, "imported 1 tenant");
    let plan = run(&[
        "plan",
        "tests/fixtures/contoso.tally",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let lines = plan["customers"][0]["lines"].as_array().unwrap();
    let get = |id: &str| {
        lines
            .iter()
            .find(|l| l["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {lines:?}"))
    };
    // 25 E5 seats enabled in subscribedSkus, at the price list's 30.80 + 10% = 33.88.
    assert_eq!(get("contoso.onmicrosoft.com/e5_seats")["quantity"], 25);
    assert_eq!(get("contoso.onmicrosoft.com/e5_seats")["amount"], "847.00");
    // Ann (Sales) is enabled and licensed; Bob is disabled.
    assert_eq!(
        get("contoso.onmicrosoft.com/support/department=Sales")["quantity"],
        1
    );
    assert_eq!(get("contoso.onmicrosoft.com/backup")["amount"], "10.50");
}

#[test]
fn a_corrupt_recon_row_names_its_line_and_column_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let recon = dir.path().join("recon.csv");
    let text =
        std::fs::read_to_string(workspace().join("tests/fixtures/recon-contoso.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Line 5 of the file (the header is line 1): its Quantity (column 18) becomes "1O".
    let mut fields: Vec<String> = lines[4].split(',').map(str::to_string).collect();
    fields[17] = "1O".into();
    lines[4] = fields.join(",");
    std::fs::write(&recon, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("snapshot.json");
    let run = run(&[
        "import",
        "--recon",
        recon.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(&run.stderr, "recon.csv:5: column `Quantity`");
    assert_contains(&run.stderr, "\"1O\"");
    assert!(!out.exists(), "a failed import must not write a snapshot");
}

#[test]
fn a_wrong_file_type_is_named() {
    let usage = format!(
        "{FIXTURES}/partner-center-api-examples/daily_rated_usage_billed_DailyRatedUsageLineItem.json"
    );
    let run = run(&["import", "--recon", &usage]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(&run.stderr, "usage");
}

/// An annual term paid upfront, end to end: February's invoice charges the year for 10 seats;
/// the invoice received in July charges 2 seats added on 20 June for the rest of the term. Each
/// month's plan, billed `every term` at the term's cost, matches Microsoft's charges of its
/// invoice with no leakage and the same 15% markup; priced at the monthly `cost`, the year is
/// billed at a month's price and reconcile fails.
#[test]
fn an_upfront_annual_term_reconciles_with_no_leakage() {
    let dir = tempfile::tempdir().unwrap();
    let graph = format!(
        "contoso.onmicrosoft.com={FIXTURES}/synthetic/users_select_pages.json,tests/fixtures/contoso-e5-skus.json"
    );
    let plan_month = |month: &str, recons: &[&str], rules: &str| {
        let name = std::path::Path::new(rules)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap();
        let snapshot = dir.path().join(format!("snapshot-{month}.json"));
        let plan = dir.path().join(format!("plan-{name}-{month}.json"));
        let mut args = vec!["import", "--graph", &graph, "--period", month];
        for recon in recons {
            args.extend(["--recon", recon]);
        }
        args.extend(["-o", snapshot.to_str().unwrap()]);
        let imported = run(&args);
        assert_eq!(imported.code, 0, "{}", imported.stderr);
        let planned = run(&[
            "plan",
            rules,
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--format",
            "json",
            "-o",
            plan.to_str().unwrap(),
        ]);
        assert_eq!(planned.code, 0, "{}", planned.stderr);
        plan
    };
    let reconcile = |plan: &std::path::Path, recon: &str| {
        run(&[
            "reconcile",
            "--plan",
            plan.to_str().unwrap(),
            "--recon",
            recon,
            "--fail-on-leakage",
            "--min-margin",
            "13%",
            "--format",
            "json",
        ])
    };
    let row = |report: &Run| -> serde_json::Value {
        let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
        let rows = report["customers"][0]["rows"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows[0].clone()
    };
    let february = "tests/fixtures/recon-upfront-2026-02.csv";
    let june = "tests/fixtures/recon-upfront-2026-06.csv";
    let rules = "tests/fixtures/contoso-upfront.tally";

    // February: the year for 10 seats, 10 × 600.00 × 115%.
    let plan = plan_month("2026-02", &[february], rules);
    let report = reconcile(&plan, february);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let r = row(&report);
    assert_eq!(
        (
            r["status"].as_str(),
            r["paid_seats"].as_u64(),
            r["billed_seats"].as_i64()
        ),
        (Some("ok"), Some(10), Some(10)),
        "{r}"
    );
    assert_eq!(
        (r["cost"].as_str(), r["billed"].as_str()),
        (Some("6000.00"), Some("6900.00"))
    );

    // July: the 2 seats added on 20 June, for 236 of the term's 365 days, against the charge
    // of the invoice that carries them (4655.34 − 3879.45 = 775.89).
    let plan = plan_month("2026-07", &[february, june], rules);
    let report = reconcile(&plan, june);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let r = row(&report);
    assert_eq!(
        (
            r["status"].as_str(),
            r["paid_seats"].as_u64(),
            r["billed_seats"].as_i64()
        ),
        (Some("ok"), Some(2), Some(2)),
        "{r}"
    );
    assert_eq!(
        (r["cost"].as_str(), r["billed"].as_str()),
        (Some("775.89"), Some("892.27"))
    );

    // The same term priced at the monthly `cost` bills a month's price for the year.
    let monthly = dir.path().join("monthly-cost.tally");
    std::fs::write(
        &monthly,
        std::fs::read_to_string(format!("{}/../../{rules}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .replace("e5.term_cost", "e5.cost"),
    )
    .unwrap();
    let plan = plan_month("2026-02", &[february], monthly.to_str().unwrap());
    let report = reconcile(&plan, february);
    assert_eq!(report.code, 1, "{}", report.stdout);
    assert_eq!(row(&report)["status"], "negative_margin");
}

#[test]
fn import_plan_and_reconcile_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let plan = dir.path().join("plan.json");
    let graph = format!(
        "contoso.onmicrosoft.com={FIXTURES}/synthetic/users_select_pages.json,tests/fixtures/contoso-skus.json"
    );
    let imported = run(&[
        "import",
        "--graph",
        &graph,
        "--recon",
        "tests/fixtures/recon-contoso.csv",
        "--period",
        "2021-07",
        "-o",
        snapshot.to_str().unwrap(),
    ]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let planned = run(&[
        "plan",
        "tests/fixtures/contoso-reseller.tally",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let reconciled = run(&[
        "reconcile",
        "--plan",
        plan.to_str().unwrap(),
        "--recon",
        "tests/fixtures/recon-contoso.csv",
        "--format",
        "json",
    ]);
    assert_eq!(
        reconciled.code, 0,
        "no thresholds asked for: {}",
        reconciled.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&reconciled.stdout).unwrap();
    let rows = report["customers"][0]["rows"].as_array().unwrap();
    let row = |item: &str| {
        rows.iter()
            .find(|r| r["item"] == item)
            .unwrap_or_else(|| panic!("no {item}: {rows:?}"))
    };
    // E1: 100 seats paid to Microsoft (the partial upgrade's charge of 492.00), no one billed.
    assert_eq!(row("Office 365 E1")["status"], "leakage");
    assert_eq!(row("Office 365 E1")["paid_seats"], 100);
    assert_eq!(row("Office 365 E1")["cost"], "492");
    // E5 billed at 95% of its 52.61 cost: 25 × 49.98 = 1249.50 against 1315.25.
    assert_eq!(row("Office 365 E5")["status"], "negative_margin");
    assert_eq!(row("Office 365 E5")["margin"], "-65.75");
    assert_eq!(row("Office 365 E5")["billed"], "1249.50");

    let strict = run(&[
        "reconcile",
        "--plan",
        plan.to_str().unwrap(),
        "--recon",
        "tests/fixtures/recon-contoso.csv",
        "--fail-on-leakage",
        "--min-margin",
        "10%",
    ]);
    assert_eq!(
        strict.code, 1,
        "thresholds crossed must fail CI: {}",
        strict.stderr
    );
    assert_contains(
        &strict.stderr,
        "threshold crossed: Contoso / Office 365 E1: leakage (paid 100 seats, billed 0)",
    );
    assert_contains(&strict.stderr, "margin -5.26% is under 10%");
    assert_contains(&strict.stdout, "LEAKAGE");
}

#[test]
fn azure_usage_is_billed_by_tag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.tally"),
        "customer \"Acme Ltd\" {\n  tenant \"acme.onmicrosoft.com\"\n  currency GBP\n}\n\
         let usage = azure.usage\n\
         apollo amount = sum((usage where tag(\"Project\") == \"apollo\").cost) * 115% description \"Azure: Apollo\"\n\
         other amount = sum((usage where tag(\"project\") != \"Apollo\").cost) * 115%\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("snapshot.json"),
        r#"{ "version": 2, "period": { "start": "2026-10-01", "end": "2026-10-31" }, "tenants": [ { "tenant": "acme.onmicrosoft.com", "azure_usage": [
          { "date": "2026-10-03", "subscription_id": "s", "resource_group": "rg", "meter_category": "VM", "meter_name": "D2", "quantity": "24", "cost": { "amount": "10.00", "currency": "GBP" }, "tags": { "project": "Apollo" } },
          { "date": "2026-10-04", "subscription_id": "s", "resource_group": "rg", "meter_category": "VM", "meter_name": "D2", "quantity": "24", "cost": { "amount": "4.00", "currency": "GBP" } },
          { "date": "2026-11-01", "subscription_id": "s", "resource_group": "rg", "meter_category": "VM", "meter_name": "D2", "quantity": "24", "cost": { "amount": "99.00", "currency": "GBP" }, "tags": { "project": "Apollo" } }
        ] } ] }"#,
    )
    .unwrap();
    let rules = dir.path().join("rules.tally");
    let snapshot = dir.path().join("snapshot.json");
    let run = run(&[
        "plan",
        rules.to_str().unwrap(),
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let lines = &plan["customers"][0]["lines"];
    // November's row is outside the period; tag names and values ignore case.
    assert_eq!(lines[0]["amount"], "11.50");
    assert_eq!(lines[1]["amount"], "4.60");
}

/// The README's tour runs as written, every command of it in order: each `tally ...` line (with
/// its `\` continuations) of the tour's `sh` blocks succeeds, or exits 1 where its comment says
/// `exits 1`. The commands run in a temporary copy of `examples/` and `tests/`, so the files the
/// tour writes (`snapshot.json`, `plan.json`, ...) land there and later commands read them. The
/// import and reconcile steps must be among them, and their inputs must agree with the bundled
/// small-business example.
#[test]
fn the_readme_tour_commands_work() {
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
    /// A command line split into words as a shell would (spaces separate, quotes group), and
    /// the comment after an unquoted `#`.
    fn shell_words(command: &str) -> (Vec<String>, String) {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote: Option<char> = None;
        for (i, c) in command.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => word.get_or_insert_with(String::new).push(c),
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    word.get_or_insert_with(String::new);
                }
                None if c == '#' && word.is_none() => {
                    return (words, command[i + 1..].trim().to_string());
                }
                None if c.is_whitespace() => words.extend(word.take()),
                None => word.get_or_insert_with(String::new).push(c),
            }
        }
        assert!(quote.is_none(), "unbalanced quote in `{command}`");
        words.extend(word);
        (words, String::new())
    }

    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let tour = readme
        .split("\n## ")
        .find(|section| section.starts_with("A five-minute tour"))
        .expect("README.md has a section `## A five-minute tour`");
    // The tour's shell commands, continuation lines joined.
    let mut commands: Vec<String> = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in tour.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let (head, continues) = match line.trim_end().strip_suffix('\\') {
            Some(head) => (head, true),
            None => (line, false),
        };
        pending.push_str(head);
        pending.push(' ');
        if !continues {
            let command = std::mem::take(&mut pending).trim().to_string();
            if command.starts_with("tally ") {
                commands.push(command);
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    copy_tree(&workspace().join("examples"), &dir.path().join("examples"));
    copy_tree(&workspace().join("tests"), &dir.path().join("tests"));
    let mut ran: Vec<(String, Run)> = Vec::new();
    for command in &commands {
        let (words, comment) = shell_words(command);
        let output = Command::cargo_bin("tally")
            .unwrap()
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .args(&words[1..])
            .output()
            .unwrap();
        let result = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(
            !result.stderr.contains("panicked") && !result.stderr.contains("internal error"),
            "`{command}` crashed:\n{}",
            result.stderr
        );
        let expected = if comment.contains("exits 1") { 1 } else { 0 };
        assert_eq!(
            result.code, expected,
            "README tour: `{command}` exited {} (expected {expected}):\n{}",
            result.code, result.stderr
        );
        ran.push((command.clone(), result));
    }
    for subcommand in [
        "check",
        "plan",
        "import",
        "reconcile",
        "explain",
        "test",
        "diff",
    ] {
        assert!(
            ran.iter()
                .any(|(c, _)| c.starts_with(&format!("tally {subcommand} "))),
            "the README's tour should run `tally {subcommand}`; it ran {commands:?}"
        );
    }

    // The example exports import cleanly, and the snapshot they make plans exactly like the
    // bundled small-business snapshot.
    let (_, import) = ran
        .iter()
        .find(|(c, _)| c.starts_with("tally import "))
        .unwrap();
    assert_contains(
        &import.stderr,
        "imported 1 tenant: 5 users, 9 usage rows, 0 warnings",
    );
    let replanned = Command::cargo_bin("tally")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args([
            "plan",
            "examples/small-business/small.tally",
            "--snapshot",
            "snapshot.json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(replanned.stdout).unwrap(),
        std::fs::read_to_string(workspace().join("examples/small-business/expected-plan.txt"))
            .unwrap(),
        "the imported snapshot should plan like examples/small-business/snapshot.json"
    );
    // What the tour says about the reconciliation.
    let (_, strict) = ran
        .iter()
        .find(|(c, _)| c.starts_with("tally reconcile ") && c.contains("--fail-on-leakage"))
        .expect("the tour shows reconcile failing on leakage");
    assert_contains(
        &strict.stderr,
        "threshold crossed: Fabrikam Bakery / Azure usage: leakage",
    );
    assert_contains(&strict.stdout, "2.61 GBP");
}

#[test]
fn check_with_a_snapshot_warns_about_the_tenants_missing_counters() {
    let run = run(&[
        "check",
        "tests/fixtures/runtime-errors.tally",
        "--snapshot",
        ACME_SNAPSHOT,
    ]);
    assert_eq!(run.code, 0, "warnings do not fail a check: {}", run.stderr);
    assert_contains(
        &run.stderr,
        "the snapshot has no counter `backup.protected_users` for `acme.onmicrosoft.com`",
    );
}

#[test]
fn output_to_a_pipe_or_device_writes_through_it() {
    // `-o /dev/null` (or a named pipe) must write into it, never replace it with a file.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this machine: nothing to check
    }
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read_to_string(reader_path).unwrap());
    let run = run(&[
        "plan",
        ACME,
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
        "-o",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let received = reader.join().unwrap();
    assert!(received.contains("\"customers\""), "{received}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the pipe was replaced"
    );
    let null = run_null();
    assert!(null, "/dev/null must stay a device");
}

fn run_null() -> bool {
    use std::os::unix::fs::FileTypeExt;
    let result = run(&["plan", ACME, "--snapshot", ACME_SNAPSHOT, "-o", "/dev/null"]);
    result.code == 0 && std::fs::metadata("/dev/null").is_ok_and(|m| m.file_type().is_char_device())
}

#[test]
fn one_customer_failing_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let acme = std::fs::read_to_string(workspace().join(ACME)).unwrap();
    std::fs::write(dir.path().join("acme.tally"), &acme).unwrap();
    let ghost = acme
        .replace("Acme Ltd", "Ghost Ltd")
        .replace("acme.onmicrosoft.com", "ghost.onmicrosoft.com");
    std::fs::write(dir.path().join("ghost.tally"), ghost).unwrap();
    let out = dir.path().join("plan.json");
    let run = run(&[
        "plan",
        dir.path().to_str().unwrap(),
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(&run.stderr, "T0503");
    assert_contains(&run.stderr, "1 of 2 customer files could not be planned");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let customers = plan["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["tenant"], "acme.onmicrosoft.com");
    let incomplete = plan["incomplete"].as_array().unwrap();
    assert_eq!(incomplete.len(), 1);
    assert!(
        incomplete[0]["rules"]
            .as_str()
            .unwrap()
            .ends_with("ghost.tally"),
        "{incomplete:?}"
    );
    assert_contains(incomplete[0]["reason"].as_str().unwrap(), "T0503");
}

#[test]
fn two_files_billing_one_tenant_are_refused_for_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let acme = std::fs::read_to_string(workspace().join(ACME)).unwrap();
    std::fs::write(dir.path().join("a.tally"), &acme).unwrap();
    std::fs::write(
        dir.path().join("b.tally"),
        acme.replace("Acme Ltd", "Acme Holdings"),
    )
    .unwrap();
    let run = run(&[
        "plan",
        dir.path().to_str().unwrap(),
        "--snapshot",
        ACME_SNAPSHOT,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(
        &run.stderr,
        "tenant `acme.onmicrosoft.com` is also billed by",
    );
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["customers"].as_array().unwrap().len(), 1);
}

#[test]
fn a_closed_pipe_ends_the_plan_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(workspace())
        .args([
            "plan",
            ACME,
            "--snapshot",
            ACME_SNAPSHOT,
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before tally writes: `tally plan | true`.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.code().is_some_and(|c| c == 0), "{status:?} {stderr}");
}

/// A recon row names a product that maps to two catalogue GUIDs (Business Basic); the plan line
/// names the tenant's one. They are the same item, not leakage plus an unpaid line.
#[test]
fn reconcile_matches_a_product_with_two_catalogue_guids() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let plan = dir.path().join("plan.json");
    let imported = run(&[
        "import",
        "--graph",
        "fabrikambakery.onmicrosoft.com=examples/imports/users.json,examples/imports/subscribedSkus.json",
        "--recon",
        "examples/imports/recon.csv",
        "--counts",
        "examples/imports/counts.csv",
        "--period",
        "2026-10",
        "-o",
        snapshot.to_str().unwrap(),
    ]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let planned = run(&[
        "plan",
        "examples/small-business/small.tally",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let report = run(&[
        "reconcile",
        "--plan",
        plan.to_str().unwrap(),
        "--recon",
        "examples/imports/recon.csv",
        "--format",
        "json",
        "--fail-on-leakage",
    ]);
    assert_eq!(report.code, 0, "{}\n{}", report.stdout, report.stderr);
    let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    let rows = report["customers"][0]["rows"].as_array().unwrap();
    let basic = rows
        .iter()
        .find(|r| r["item"] == "Microsoft 365 Business Basic")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(basic["status"], "ok", "{basic}");
    assert_eq!(rows.len(), 3, "{rows:?}");
}

/// `use` reads only modules: `.tally` regular files inside the project, never a device, a pipe
/// or a system file, whose content must not appear in a diagnostic.
#[test]
fn a_use_reads_only_modules_inside_the_project() {
    let top = tempfile::tempdir().unwrap();
    std::fs::write(top.path().join("outside.tally"), "let x = 1\n").unwrap();
    let dir = tempfile::TempDir::new_in(top.path()).unwrap();
    std::fs::write(dir.path().join("tally.toml"), "").unwrap();
    let fifo = dir.path().join("pipe.tally");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let rules = "customer \"A\" {\n  tenant \"a.onmicrosoft.com\"\n  currency GBP\n}\n\
                 use \"/etc/passwd\"\nuse \"../outside.tally\"\nuse \"pipe.tally\"\n";
    std::fs::write(dir.path().join("a.tally"), rules).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["check", "a.tally"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        "cannot use `/etc/passwd`: a module must be a `.tally` file",
    );
    assert_contains(
        &stderr,
        "cannot use `../outside.tally`: it is outside the project",
    );
    if made {
        assert_contains(&stderr, "cannot use `pipe.tally`: it is not a regular file");
    }
    assert!(!stderr.contains("root:"), "{stderr}");
}

#[test]
fn a_file_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.tally");
    std::fs::write(&rules, b"customer \"A\" {\n  tenant \"\xff\"\n}\n").unwrap();
    let run = run(&["check", rules.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(
        &run.stderr,
        "line 2, column 11 (byte 25): the text is not UTF-8",
    );
}

/// A label past column 65,535 once crashed the renderer; such a line is cited, not drawn.
#[test]
fn a_diagnostic_on_a_very_long_line_is_cited_not_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("wide.tally");
    let long = "a".repeat(80_000);
    std::fs::write(
        &rules,
        format!(
            "customer \"A\" {{\n  tenant \"a.onmicrosoft.com\"\n  currency GBP\n}}\nuse std.m365\nlet x = count(m365.users where upn == \"{long}\") + zz\nsupport qty = x price 1.00\n"
        ),
    )
    .unwrap();
    let run = run(&["check", rules.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains(
        &run.stderr,
        "wide.tally:6:80045: T0101 error: unknown name `zz`",
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// Many diagnostics in one file: the first hundred drawn, the rest cited, all counted.
#[test]
fn many_diagnostics_are_drawn_up_to_a_cap_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("many.tally");
    let mut text =
        String::from("customer \"A\" {\n  tenant \"a.onmicrosoft.com\"\n  currency GBP\n}\n");
    for i in 0..150 {
        text.push_str(&format!("l{i} qty = nosuch{i} price 1.00\n"));
    }
    std::fs::write(&rules, text).unwrap();
    let run = run(&["check", rules.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, "150 problems, the first 100 shown in full");
    assert_contains(
        &run.stderr,
        "many.tally:154:12: T0101 error: unknown name `nosuch149`",
    );
    assert_eq!(run.stderr.matches("× unknown name").count(), 100);
}

/// Many customers are planned on every core, or in shards on several machines: the plan is the
/// same bytes either way.
#[test]
fn parallel_sharded_and_sequential_plans_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let acme = std::fs::read_to_string(workspace().join(ACME)).unwrap();
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join(ACME_SNAPSHOT)).unwrap())
            .unwrap();
    let template = snapshot["tenants"][0].clone();
    let mut tenants = Vec::new();
    for i in 0..30 {
        let tenant = format!("customer{i:02}.onmicrosoft.com");
        std::fs::write(
            dir.path().join(format!("c{i:02}.tally")),
            acme.replace("acme.onmicrosoft.com", &tenant)
                .replace("Acme Ltd", &format!("Customer {i}")),
        )
        .unwrap();
        let mut t = template.clone();
        t["tenant"] = serde_json::Value::String(tenant);
        tenants.push(t);
    }
    let mut many = snapshot.clone();
    many["tenants"] = serde_json::Value::Array(tenants);
    std::fs::write(dir.path().join("snapshot.json"), many.to_string()).unwrap();
    let plan = |env_threads: &str, extra: &[&str]| {
        let mut args = vec![
            "plan",
            ".",
            "--snapshot",
            "snapshot.json",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .current_dir(dir.path())
            .env("RAYON_NUM_THREADS", env_threads)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let sequential = plan("1", &[]);
    let parallel = plan("2", &[]);
    assert_eq!(sequential, parallel);
    for k in 1..=3 {
        let shard = plan("2", &["--shard", &format!("{k}/3")]);
        std::fs::write(dir.path().join(format!("shard{k}.json")), shard).unwrap();
    }
    let merged = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir.path())
        .args([
            "plan",
            "--merge",
            "shard3.json",
            "shard1.json",
            "shard2.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(merged.stdout, sequential);
    let plan: serde_json::Value = serde_json::from_slice(&sequential).unwrap();
    assert_eq!(plan["customers"].as_array().unwrap().len(), 30);
}

/// `--no-provenance` leaves out the lines' drivers and nothing else.
#[test]
fn a_plan_without_provenance_has_the_same_amounts() {
    let args = [
        "plan",
        "examples/northwind/northwind.tally",
        "--snapshot",
        "examples/northwind/snapshot.json",
        "--format",
        "json",
    ];
    let full = run(&args);
    let lean = run(&[&args[..], &["--no-provenance"]].concat());
    assert_eq!((full.code, lean.code), (0, 0), "{}", lean.stderr);
    let mut full: serde_json::Value = serde_json::from_str(&full.stdout).unwrap();
    let lean: serde_json::Value = serde_json::from_str(&lean.stdout).unwrap();
    let lines = |plan: &mut serde_json::Value| -> Vec<serde_json::Value> {
        plan["customers"][0]["lines"].as_array().unwrap().clone()
    };
    assert!(
        lines(&mut full)
            .iter()
            .any(|l| !l["provenance"]["drivers"].as_array().unwrap().is_empty())
    );
    for line in full["customers"][0]["lines"].as_array_mut().unwrap() {
        line["provenance"]["drivers"] = serde_json::json!([]);
    }
    assert_eq!(full, lean);
}
