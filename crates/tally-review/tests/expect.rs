//! The expectation language of `tally test`: what it reads, where its errors point, and how each
//! expectation is judged against the bundled Northwind plan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use tally_plan::Plan;
use tally_review::expect::{self, Kind, Outcome, Problem, SyntaxError, Verdict, golden};

const NORTHWIND: &str = include_str!("../../../examples/northwind/expected-plan.json");
const SMALL: &str = include_str!("../../../examples/small-business/expected-plan.json");

fn northwind() -> Plan {
    tally_plan::from_json(NORTHWIND).unwrap()
}

fn errors(text: &str) -> Vec<SyntaxError> {
    match expect::parse(text) {
        Ok(file) => panic!("{text:?} should not parse, got {file:?}"),
        Err(errors) => errors,
    }
}

/// The one error of a one-line file: (column, the text it underlines, message, help).
fn error(line: &str) -> (usize, String, String, Option<String>) {
    let errors = errors(line);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.line, 1);
    (
        e.column,
        line[e.start..e.end].to_string(),
        e.message.clone(),
        e.help.clone(),
    )
}

fn verdicts(text: &str, outcome: &Outcome<'_>) -> Vec<Verdict> {
    let file = expect::parse(text).unwrap_or_else(|e| panic!("{e:#?}"));
    expect::check(&file, outcome)
}

/// The verdict of each expectation of `text`, one per line: `ok` or what was found.
fn judge(text: &str, plan: &Plan, warnings: &[Problem]) -> Vec<String> {
    let outcome = Outcome {
        plan: Some(plan),
        errors: &[],
        warnings,
    };
    verdicts(text, &outcome)
        .into_iter()
        .map(|v| v.found.unwrap_or_else(|| "ok".into()))
        .collect()
}

#[test]
fn statements_are_read_with_their_lines_and_customer() {
    let file = expect::parse(
        "// a comment\n\
         rules \"../../northwind.tally\"\n\
         period 2026-10\n\
         \n\
         customer \"northwindtraders.onmicrosoft.com\"\n\
         expect support[\"Sales\"].quantity >= 13   // the floor's share\n\
         expect total == 4365.01 GBP\n\
         expect email_archiving.unit_price == none\n\
         expect no warnings\n\
         expect warning \"7-day\"\n\
         expect error T0504\n\
         expect line backup absent\n\
         expect lines != 3\n\
         expect no.quantity == 1\n",
    )
    .unwrap();
    assert_eq!(file.rules, ["../../northwind.tally"]);
    assert_eq!(file.period.as_deref(), Some("2026-10"));
    let lines: Vec<(usize, &str)> = file
        .expectations
        .iter()
        .map(|e| (e.line, e.text.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (6, "support[\"Sales\"].quantity >= 13"),
            (7, "total == 4365.01 GBP"),
            (8, "email_archiving.unit_price == none"),
            (9, "no warnings"),
            (10, "warning \"7-day\""),
            (11, "error T0504"),
            (12, "line backup absent"),
            (13, "lines != 3"),
            (14, "no.quantity == 1"),
        ]
    );
    assert!(
        file.expectations
            .iter()
            .all(|e| e.customer.as_deref() == Some("northwindtraders.onmicrosoft.com"))
    );
    // A line may be called `no`: a field after it makes it a line.
    assert!(
        matches!(&file.expectations[8].kind, Kind::Field { target, .. } if target.line == "no")
    );
    assert!(matches!(file.expectations[3].kind, Kind::NoWarnings));
}

#[test]
fn each_slip_is_located_with_a_help() {
    assert_eq!(
        error("expect support.quantity = 50"),
        (
            25,
            "=".into(),
            "expected a comparison, found `=`".into(),
            Some("use `==` to compare".into())
        )
    );
    assert_eq!(
        error("expect total == £1234.50"),
        (
            17,
            "£1234.50".into(),
            "expected a number, found `£`".into(),
            Some("write the amount, then its currency code: `1234.50 GBP`".into())
        )
    );
    assert_eq!(
        error("expect total == 1,234.50 GBP"),
        (
            17,
            "1,234.50".into(),
            "`1,234.50` is not a number".into(),
            Some("write `1234.50`: numbers have no thousands separators".into())
        )
    );
    assert_eq!(
        error("expect support.quantiy == 50"),
        (
            16,
            "quantiy".into(),
            "a line has no field `quantiy`".into(),
            Some("did you mean `quantity`?".into())
        )
    );
    assert_eq!(
        error("expext total == 1.00 GBP"),
        (
            1,
            "expext".into(),
            "unknown statement `expext`".into(),
            Some("did you mean `expect`?".into())
        )
    );
    assert_eq!(
        error("expect support.quantity == 50 GBP"),
        (
            31,
            "GBP".into(),
            "`quantity` is a count, not money".into(),
            Some("write `50`".into())
        )
    );
    assert_eq!(
        error("expect support.quantity == 2.5"),
        (
            28,
            "2.5".into(),
            "`quantity` is a whole number, not `2.5`".into(),
            Some("quantities and counts of lines are whole numbers".into())
        )
    );
    assert_eq!(
        error("expect total == 5.00 gbp"),
        (
            22,
            "gbp".into(),
            "`gbp` is not a currency code".into(),
            Some("write `GBP`".into())
        )
    );
    assert_eq!(
        error("expect support.description < \"x\""),
        (
            28,
            "<".into(),
            "`description` is text: it cannot be compared with `<`".into(),
            Some("compare text with `==` or `!=`".into())
        )
    );
    assert_eq!(
        error("expect line backup gone"),
        (
            20,
            "gone".into(),
            "expected `present` or `absent`, found `gone`".into(),
            Some("write `present` or `absent`".into())
        )
    );
    assert_eq!(
        error("expect no warning"),
        (
            11,
            "warning".into(),
            "expected `warnings` or `errors`, found `warning`".into(),
            Some("did you mean `warnings`?".into())
        )
    );
    let (column, text, message, _) = error("expect total ==");
    assert_eq!((column, text.as_str()), (16, ""));
    assert_eq!(
        message,
        "expected an amount such as `100.00 GBP`, or `none`, for the total, found the end of the line"
    );
    let (column, _, message, help) = error("expect warning \"unclosed");
    assert_eq!(column, 16);
    assert_eq!(message, "this string has no closing `\"`");
    assert_eq!(
        help.as_deref(),
        Some("a string ends on the line it starts on")
    );
    let (_, text, message, _) = error("expect total == 5.00 GBP extra");
    assert_eq!(text, "extra");
    assert_eq!(message, "unexpected `extra` after the statement");
}

#[test]
fn every_broken_line_is_reported_with_its_byte_offsets() {
    let text = "expect total == 1.00 GBP\nexpect a.b == 1\n\nexpect x.quantity = 1\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 2);
    assert_eq!((errors[0].line, errors[0].column), (2, 10));
    assert_eq!(&text[errors[0].start..errors[0].end], "b");
    assert_eq!((errors[1].line, errors[1].column), (4, 19));
    assert_eq!(&text[errors[1].start..errors[1].end], "=");
}

#[test]
fn expectations_are_judged_against_the_plan() {
    let plan = northwind();
    let found = judge(
        "expect support.quantity == 50\n\
         expect support.quantity == 45\n\
         expect support.amount == 1625.00 GBP\n\
         expect support[\"sales\"].quantity == 13\n\
         expect support[\"Marketing\"].quantity == 1\n\
         expect web_filtering[\"Home workers\"].amount == 10.80\n\
         expect support.unit_price == 32.50 GBP\n\
         expect support.unit_price == 32.50 EUR\n\
         expect support.lines == 5\n\
         expect email_archiving.unit_price == none\n\
         expect email_archiving.amount != none\n\
         expect m365_business_standard.unit_price < 11.85 GBP\n\
         expect m365_business_premium.agreement == \"Microsoft Licensing\"\n\
         expect support.description == \"Managed support per user\"\n\
         expect suport.quantity == 1\n\
         expect line backup present\n\
         expect line backup absent\n\
         expect line fax absent\n\
         expect lines == 27\n\
         expect total > 4365.01 GBP\n\
         expect total == 4365.01\n",
        &plan,
        &[],
    );
    assert_eq!(
        found,
        [
            "ok",
            "found 50",
            "ok",
            "ok",
            "line `support` has no part \"Marketing\"; its parts are \"Engineering\", \"Finance\", \"Operations\", \"Sales\", \"Unassigned\"",
            "ok",
            "ok",
            "found 32.50 GBP: the customer is invoiced in GBP, not EUR",
            "ok",
            "ok",
            "found none (no price)",
            "ok",
            "ok",
            "the line's parts differ (\"Managed support per user: Engineering\", \"Managed support per user: Finance\", \"Managed support per user: Operations\", \"Managed support per user: Sales\", \"Managed support per user: Unassigned\"): name one part",
            "no line `suport` in the plan: did you mean `support`?",
            "ok",
            "found `northwindtraders.onmicrosoft.com/backup`",
            "ok",
            "ok",
            "found 4365.01 GBP",
            "ok",
        ]
    );
}

#[test]
fn warnings_and_errors_are_matched_by_code_or_text() {
    let plan = northwind();
    let warnings = [
        Problem {
            code: Some("T0401".into()),
            message: "`staff` is never used".into(),
            location: "a.tally:3:5".into(),
        },
        Problem {
            code: None,
            message: "a reduction outside Microsoft's 7-day window is not credited".into(),
            location: "t/m365".into(),
        },
    ];
    let found = judge(
        "expect warning T0401\n\
         expect warning \"7-day window\"\n\
         expect warning T0304\n\
         expect no warnings\n\
         expect no errors\n",
        &plan,
        &warnings,
    );
    assert_eq!(found[..2], ["ok", "ok"]);
    assert_eq!(
        found[2],
        "found no such warning; the warnings are:\n  a.tally:3:5: T0401 `staff` is never used\n  t/m365: a reduction outside Microsoft's 7-day window is not credited"
    );
    assert!(
        found[3].starts_with("found 2 warnings:\n  a.tally:3:5: T0401"),
        "{}",
        found[3]
    );
    assert_eq!(found[4], "ok");

    let errors = [Problem {
        code: Some("T0504".into()),
        message: "counter `rmm.devices` is not in the snapshot".into(),
        location: "small.tally:49:27".into(),
    }];
    let failed = Outcome {
        plan: None,
        errors: &errors,
        warnings: &[],
    };
    let found: Vec<Option<String>> = verdicts(
        "expect error T0504\nexpect error \"rmm.devices\"\nexpect no errors\nexpect total == 1.00 GBP\n",
        &failed,
    )
    .into_iter()
    .map(|v| v.found)
    .collect();
    assert_eq!(found[0], None);
    assert_eq!(found[1], None);
    assert_eq!(
        found[2].as_deref(),
        Some(
            "found one error: small.tally:49:27: T0504 counter `rmm.devices` is not in the snapshot"
        )
    );
    assert_eq!(
        found[3].as_deref(),
        Some(
            "the rules were not planned: small.tally:49:27: T0504 counter `rmm.devices` is not in the snapshot"
        )
    );
}

#[test]
fn a_plan_of_several_customers_needs_the_customer_named() {
    let mut plan = northwind();
    plan.customers
        .extend(tally_plan::from_json(SMALL).unwrap().customers);
    let found = judge(
        "expect total == 4365.01 GBP\n\
         customer \"fabrikambakery.onmicrosoft.com\"\n\
         expect total == 347.91 GBP\n\
         customer \"Northwind Traders\"\n\
         expect total == 4365.01 GBP\n\
         customer \"fabrikam.onmicrosoft.com\"\n\
         expect total == 1.00 GBP\n",
        &plan,
        &[],
    );
    assert_eq!(
        found,
        [
            "the plan has 2 customers (`northwindtraders.onmicrosoft.com`, `fabrikambakery.onmicrosoft.com`): name one with `customer \"tenant\"` before this line",
            "ok",
            "ok",
            "no customer `fabrikam.onmicrosoft.com` in the plan: the planned tenants are `northwindtraders.onmicrosoft.com` and `fabrikambakery.onmicrosoft.com`",
        ]
    );
}

#[test]
fn a_golden_plan_differs_readably_and_ignores_inputs() {
    let expected = northwind();
    let mut actual = northwind();
    actual.inputs.rules[0].sha256 = "0".repeat(64);
    assert_eq!(
        golden::compare(&expected, &actual),
        None,
        "inputs are not compared"
    );
    // A comment added above the rules moves every line's source position: not a difference.
    for line in &mut actual.customers[0].lines {
        line.provenance.line += 2;
        line.provenance.span = line.provenance.span.map(|offset| offset + 40);
    }
    assert_eq!(
        golden::compare(&expected, &actual),
        None,
        "source positions are not compared"
    );
    // A driver or a flag is compared.
    let mut flagged = actual.clone();
    flagged.customers[0].lines[0]
        .provenance
        .flags
        .push("a reduction outside the 7-day window".into());
    assert!(
        golden::compare(&expected, &flagged)
            .unwrap()
            .contains("a reduction outside the 7-day window")
    );
    let backup = actual.customers[0]
        .lines
        .iter_mut()
        .find(|l| l.line == "backup")
        .unwrap();
    backup.quantity = 52;
    backup.amount = Some("195.00".parse().unwrap());
    actual.customers[0].total = "4368.76".parse().unwrap();
    let diff = golden::compare(&expected, &actual).unwrap();
    assert!(
        diff.contains("  changed  backup  51 → 52        3.75  191.25 → 195.00  +3.75\n"),
        "{diff}"
    );
    assert!(
        diff.contains("--- expected-plan.json\n+++ the plan now\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-          \"quantity\": 51,\n+          \"quantity\": 52,\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-      \"total\": \"4365.01\"\n+      \"total\": \"4368.76\"\n"),
        "{diff}"
    );
}

#[test]
fn golden_paths_are_relative_to_the_case() {
    let mut plan = northwind();
    golden::relative_paths(&mut plan, "examples/northwind/tests/october");
    assert_eq!(plan.inputs.rules[0].path, "../../northwind.tally");
    assert_eq!(plan.inputs.rules[1].path, "../../../shared/msp.tally");
    assert_eq!(
        plan.inputs.snapshot.as_ref().unwrap().path,
        "../../snapshot.json"
    );
    assert_eq!(plan.customers[0].rules, "../../northwind.tally");
    assert!(
        plan.customers[0]
            .lines
            .iter()
            .all(|l| l.provenance.file == "../../northwind.tally")
    );
}

#[test]
fn results_read_as_a_report_with_a_closing_count() {
    use tally_review::expect::{CaseResult, GoldenVerdict};
    let results = [
        CaseResult::new("a/tests/one".into(), Vec::new(), None, Vec::new()),
        CaseResult::new(
            "a/tests/two".into(),
            vec![Verdict {
                line: 4,
                expectation: "support.quantity == 11".into(),
                passed: false,
                found: Some("found 10".into()),
            }],
            Some(GoldenVerdict {
                file: "a/tests/two/expected-plan.json".into(),
                passed: true,
                updated: false,
                diff: None,
            }),
            Vec::new(),
        ),
    ];
    assert!(results[0].passed);
    assert!(!results[1].passed);
    assert_eq!(
        expect::to_text(&results),
        "ok     a/tests/one (0 checks)\n\
         FAILED a/tests/two (2 checks)\n    \
         expect.tallytest:4: expect support.quantity == 11\n      \
         found 10\n\
         \n1 passed, 1 failed\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&expect::to_json(&results).unwrap()).unwrap();
    assert_eq!(json["passed"], 1);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["cases"][1]["expectations"][0]["found"], "found 10");
    assert_eq!(json["cases"][1]["golden"]["passed"], true);
}
