//! `tally plan --usage FILE`: usage read straight into the plan, added up keeping apart only
//! what the rules read, gives exactly the plan of `tally import` then `tally plan --snapshot`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::Path;
use std::process::Command;

const RULES: &str = r#"customer "Contoso" {
  tenant "contoso.onmicrosoft.com"
  currency GBP
}

let storage = azure.usage where meter_category == "Storage"
let apollo = azure.usage where tag("project") == "Apollo"
let late = azure.usage where date >= 2026-10-15 where resource_group == "rg-1"

azure amount = sum(azure.usage.cost) * 115%
storage_markup amount = sum(storage.cost) * 10%
apollo amount = sum(apollo.cost)
late_usage amount = sum(late.cost)
"#;

/// No rule reads the date: rows are added up per period.
const SUMS: &str = r#"customer "Contoso" {
  tenant "contoso.onmicrosoft.com"
  currency GBP
}

let storage = azure.usage where meter_category == "Storage"

azure amount = sum(azure.usage.cost) * 115%
storage_markup amount = sum(storage.cost) * 10%
"#;

/// The other tenant's rows counted: adding rows up first would change the count, so the rules
/// are not additive and every part of a row is kept.
const COUNTING: &str = r#"customer "Fabrikam" {
  tenant "fabrikam.onmicrosoft.com"
  currency GBP
}

azure amount = sum(azure.usage.cost)
usage_rows qty = count(azure.usage)
  price 0.01
"#;

/// A seeded usage file for two tenants, with rows before and after October 2026.
fn usage_csv(rows: u64) -> String {
    let mut text = String::from(
        "CustomerId,CustomerDomainName,UsageDate,MeterCategory,MeterName,ResourceGroup,EntitlementId,Quantity,BillingPreTaxTotal,BillingCurrency,Tags\n",
    );
    let mut state: u64 = 11;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for _ in 0..rows {
        let tenant = ["contoso", "fabrikam"][(next() % 2) as usize];
        let (month, day) = match next() % 10 {
            0 => (9, 30),
            1 => (11, 1),
            _ => (10, next() % 31 + 1),
        };
        let category = ["Storage", "Virtual Machines", "Bandwidth"][(next() % 3) as usize];
        let tags = [
            "",
            "\"{\"\"project\"\": \"\"Apollo\"\"}\"",
            "\"{\"\"Project\"\": \"\"apollo\"\", \"\"team\"\": \"\"ops\"\"}\"",
        ][(next() % 3) as usize];
        text.push_str(&format!(
            "id-{tenant},{tenant}.onmicrosoft.com,{month}/{day}/2026,{category},Meter {},{},sub-{},{}.{:04},{}.{:06},GBP,{tags}\n",
            next() % 3,
            ["rg-1", "RG-1", "rg-2"][(next() % 3) as usize],
            next() % 2,
            next() % 40,
            next() % 10_000,
            next() % 7,
            next() % 1_000_000,
        ));
    }
    text
}

fn tally(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: std::process::Output) -> std::process::Output {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Each line's id, quantity and amount.
fn amounts(path: &Path) -> Vec<(String, String, String)> {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for customer in plan["customers"].as_array().unwrap() {
        for line in customer["lines"].as_array().unwrap() {
            out.push((
                line["id"].as_str().unwrap().to_string(),
                line["quantity"].to_string(),
                line["amount"].to_string(),
            ));
        }
    }
    out
}

#[test]
fn streamed_usage_plans_exactly_what_import_then_plan_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("rules")).unwrap();
    std::fs::write(d.join("rules/contoso.tally"), RULES).unwrap();
    std::fs::write(d.join("rules/fabrikam.tally"), COUNTING).unwrap();
    std::fs::write(d.join("sums.tally"), SUMS).unwrap();
    std::fs::write(d.join("usage.csv"), usage_csv(3_000)).unwrap();

    ok(tally(
        d,
        &[
            "import",
            "--usage",
            "usage.csv",
            "--period",
            "2026-10",
            "-o",
            "snap.json",
        ],
    ));
    // `sums.tally` reads only costs and meter categories (rows are added up per period);
    // Contoso's rules also read tags, dates and resource groups (added up per day); with
    // Fabrikam's, which count rows, every part is kept.
    for (rules, lines) in [("sums.tally", 2), ("rules/contoso.tally", 4), ("rules", 6)] {
        ok(tally(
            d,
            &[
                "plan",
                rules,
                "--snapshot",
                "snap.json",
                "--format",
                "json",
                "-o",
                "a.json",
            ],
        ));
        ok(tally(
            d,
            &[
                "plan",
                rules,
                "--usage",
                "usage.csv",
                "--period",
                "2026-10",
                "--format",
                "json",
                "-o",
                "b.json",
            ],
        ));
        let imported = amounts(&d.join("a.json"));
        let streamed = amounts(&d.join("b.json"));
        assert_eq!(imported.len(), lines);
        assert_eq!(imported, streamed, "{rules}");
    }
    let imported = amounts(&d.join("a.json"));
    // Rows outside October are not billed either way, and the counting customer counts the
    // same rows as the import's snapshot holds.
    assert!(imported.iter().all(|(_, _, amount)| amount != "\"0.00\""));

    // The plan names the usage file by path and content.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("b.json")).unwrap()).unwrap();
    assert!(plan["inputs"].get("snapshot").is_none());
    assert_eq!(plan["inputs"]["usage"][0]["path"], "usage.csv");
    assert_eq!(
        plan["inputs"]["usage"][0]["sha256"].as_str().unwrap().len(),
        64
    );

    // With a snapshot too: the usage is added to its tenants; twice is refused.
    let both = tally(
        d,
        &[
            "plan",
            "rules",
            "--snapshot",
            "snap.json",
            "--usage",
            "usage.csv",
        ],
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr)
            .contains("has Azure usage in the snapshot and in `--usage`"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    // Without a snapshot the month must be given.
    let no_period = tally(d, &["plan", "rules", "--usage", "usage.csv"]);
    assert_eq!(no_period.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_period.stderr).contains("needs `--period YYYY-MM`"));
}

#[test]
fn bad_usage_rows_are_located_whichever_way_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("contoso.tally"), RULES).unwrap();
    let mut text = usage_csv(20);
    text.push_str(
        "id-contoso,contoso.onmicrosoft.com,10/3/2026,Storage,Meter 1,rg-1,sub-1,1.0,12.3x,GBP,\n",
    );
    std::fs::write(d.join("usage.csv"), text).unwrap();
    let out = tally(
        d,
        &[
            "plan",
            "contoso.tally",
            "--usage",
            "usage.csv",
            "--period",
            "2026-10",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("usage.csv:22") && stderr.contains("BillingPreTaxTotal"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
