//! `tally diff` as a library: lines matched on ids, exact money, totals and the guardrail, on the
//! bundled examples' plans changed by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use rust_decimal::Decimal;
use std::str::FromStr;
use tally_plan::Plan;
use tally_review::diff::{self, Status};

const NORTHWIND: &str = include_str!("../../../examples/northwind/expected-plan.json");
const SMALL: &str = include_str!("../../../examples/small-business/expected-plan.json");

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn plan(text: &str) -> Plan {
    tally_plan::from_json(text).unwrap()
}

/// Both examples in one plan, as `tally plan examples/` would give with one snapshot.
fn both() -> Plan {
    let mut plan = plan(NORTHWIND);
    plan.customers.extend(self::plan(SMALL).customers);
    plan
}

/// Last month, by hand: backup had 48 protected users, network management did not exist, a
/// fax line did, and Fabrikam's support was priced at 24.00.
fn last_month() -> Plan {
    let mut old = both();
    old.period.start = chrono_date("2026-09-01");
    old.period.end = chrono_date("2026-09-30");
    let northwind = &mut old.customers[0];
    let backup = northwind
        .lines
        .iter_mut()
        .find(|l| l.line == "backup")
        .unwrap();
    backup.quantity = 48;
    backup.amount = Some(d("180.00"));
    let mut fax = northwind.lines[0].clone();
    fax.id = "northwindtraders.onmicrosoft.com/fax".into();
    fax.line = "fax".into();
    fax.description = "Fax line".into();
    fax.quantity = 2;
    fax.unit_price = Some(d("6.00"));
    fax.amount = Some(d("12.00"));
    northwind.lines.retain(|l| l.line != "network_management");
    northwind.lines.push(fax);
    // 4365.01 - 11.25 (backup) - 275.00 (network) + 12.00 (fax)
    northwind.total = d("4090.76");
    let fabrikam = &mut old.customers[1];
    let support = fabrikam
        .lines
        .iter_mut()
        .find(|l| l.line == "support")
        .unwrap();
    support.unit_price = Some(d("24.00"));
    support.amount = Some(d("240.00"));
    fabrikam.total = d("337.91");
    old
}

fn chrono_date(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

#[test]
fn a_plan_compared_with_itself_has_no_changes() {
    let plan = both();
    let diff = diff::diff(&plan, &plan).unwrap();
    assert!(diff.is_empty());
    assert!(diff.customers.iter().all(|c| c.status == Status::Unchanged));
    assert_eq!(diff.customers[0].unchanged_lines, 27);
    assert_eq!(diff.totals.len(), 1);
    assert_eq!(diff.totals[0].before, d("4712.92"));
    assert_eq!(diff.totals[0].change, Decimal::ZERO);
    assert_eq!(diff.totals[0].percent, Some(d("0.0")));
    assert!(diff::changes_above(&diff, Decimal::ZERO).is_empty());
}

#[test]
fn lines_are_matched_on_ids_and_money_is_exact() {
    let diff = diff::diff(&last_month(), &both()).unwrap();
    let northwind = &diff.customers[0];
    assert_eq!(northwind.status, Status::Changed);
    assert_eq!(northwind.before, Some(d("4090.76")));
    assert_eq!(northwind.after, Some(d("4365.01")));
    assert_eq!(northwind.change, d("274.25"));
    // 274.25 / 4090.76 = 6.7040...%
    assert_eq!(northwind.percent, Some(d("6.7")));
    assert_eq!(northwind.unchanged_lines, 25);
    let summary: Vec<(Status, &str)> = northwind
        .lines
        .iter()
        .map(|l| (l.status, l.line.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (Status::Changed, "backup"),
            (Status::New, "network_management"),
            (Status::Removed, "fax"),
        ]
    );
    let backup = &northwind.lines[0];
    assert_eq!(backup.quantity.before, Some(48));
    assert_eq!(backup.quantity.after, Some(51));
    assert_eq!(backup.amount.before, Some(Some(d("180.00"))));
    assert_eq!(backup.change, d("11.25"));
    assert!(!backup.unit_price.moved());
    assert_eq!(northwind.lines[2].change, d("-12.00"));

    let fabrikam = &diff.customers[1];
    assert_eq!(fabrikam.change, d("10.00"));
    // 10.00 / 337.91 = 2.959...%
    assert_eq!(fabrikam.percent, Some(d("3.0")));
    assert_eq!(fabrikam.lines.len(), 1);
    assert_eq!(fabrikam.lines[0].unit_price.before, Some(Some(d("24.00"))));
    assert_eq!(fabrikam.lines[0].unit_price.after, Some(Some(d("25.00"))));

    assert_eq!(diff.totals[0].before, d("4428.67"));
    assert_eq!(diff.totals[0].after, d("4712.92"));
    assert_eq!(diff.totals[0].change, d("284.25"));
}

#[test]
fn the_table_shows_each_change_with_its_figures() {
    let text = diff::to_table(&diff::diff(&last_month(), &both()).unwrap());
    let expected = "\
plan of 2026-10-01 to 2026-10-31 compared with 2026-09-01 to 2026-09-30

Northwind Traders (northwindtraders.onmicrosoft.com): 4090.76 → 4365.01 GBP, +274.25 (+6.7%)
  change   line                    qty  unit price           amount  note
  changed  backup              48 → 51        3.75  180.00 → 191.25  +11.25
  new      network_management        1      275.00           275.00  +275.00
  removed  fax                       2        6.00            12.00  -12.00
  25 lines unchanged

Fabrikam Bakery (fabrikambakery.onmicrosoft.com): 337.91 → 347.91 GBP, +10.00 (+3.0%)
  change   line     qty     unit price           amount  note
  changed  support   10  24.00 → 25.00  240.00 → 250.00  +10.00
  5 lines unchanged

total GBP: 4428.67 → 4712.92, +284.25 (+6.4%)
";
    assert_eq!(text, expected);
}

#[test]
fn the_guardrail_names_customers_moving_more_than_the_limit_exactly() {
    let diff = diff::diff(&last_month(), &both()).unwrap();
    // Northwind moved 274.25 on 4090.76 (6.704%), Fabrikam 10.00 on 337.91 (2.959%).
    let names = |limit: &str| -> Vec<String> {
        diff::changes_above(&diff, d(limit))
            .into_iter()
            .map(|b| b.customer)
            .collect()
    };
    assert_eq!(names("2.9"), ["Northwind Traders", "Fabrikam Bakery"]);
    assert_eq!(names("3"), ["Northwind Traders"]);
    assert_eq!(names("6.7"), ["Northwind Traders"]);
    assert_eq!(names("6.71"), Vec::<String>::new());
    let breach = &diff::changes_above(&diff, d("5"))[0];
    assert_eq!(
        breach.to_string(),
        "Northwind Traders (northwindtraders.onmicrosoft.com): 4090.76 → 4365.01 GBP (+6.7%), more than 5%"
    );

    // Exactly at the limit is not above it: 10.00 on 200.00 is 5%.
    let mut old = both();
    let mut new = both();
    old.customers[1].total = d("200.00");
    new.customers[1].total = d("210.00");
    old.customers.truncate(2);
    new.customers.truncate(2);
    let at_limit = diff::diff(&old, &new).unwrap();
    assert!(
        diff::changes_above(&at_limit, d("5"))
            .iter()
            .all(|b| b.customer != "Fabrikam Bakery")
    );
    assert!(
        diff::changes_above(&at_limit, d("4.99"))
            .iter()
            .any(|b| b.customer == "Fabrikam Bakery")
    );
}

#[test]
fn new_and_removed_customers_always_cross_the_guardrail() {
    let only_northwind = plan(NORTHWIND);
    let grown = diff::diff(&only_northwind, &both()).unwrap();
    assert_eq!(grown.customers[1].status, Status::New);
    assert_eq!(grown.customers[1].percent, None);
    let breaches = diff::changes_above(&grown, d("1000"));
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        breaches[0].to_string(),
        "Fabrikam Bakery (fabrikambakery.onmicrosoft.com): new customer, 347.91 GBP"
    );
    let shrunk = diff::diff(&both(), &only_northwind).unwrap();
    assert_eq!(shrunk.customers[1].status, Status::Removed);
    assert_eq!(shrunk.customers[1].percent, Some(d("-100.0")));
    assert_eq!(shrunk.customers[1].lines.len(), 6);
    assert!(
        shrunk.customers[1]
            .lines
            .iter()
            .all(|l| l.status == Status::Removed)
    );
    assert_eq!(diff::changes_above(&shrunk, d("99.9")).len(), 1);
    assert_eq!(diff::changes_above(&shrunk, d("100")).len(), 0);
}

#[test]
fn a_version_1_plan_compares_line_for_line_with_version_2() {
    // Version 1 ids began with a slug of the customer's name.
    let v1 = NORTHWIND
        .replace("\"version\": 2", "\"version\": 1")
        .replace(
            "\"id\": \"northwindtraders.onmicrosoft.com/",
            "\"id\": \"northwind-traders/",
        );
    assert!(v1.contains("\"id\": \"northwind-traders/support/department=Sales\""));
    let diff = diff::diff(&plan(&v1), &plan(NORTHWIND)).unwrap();
    assert!(diff.is_empty(), "{}", diff::to_table(&diff));
    assert_eq!(diff.customers[0].unchanged_lines, 27);
}

#[test]
fn json_keeps_amounts_exact_and_output_is_deterministic() {
    let diff = diff::diff(&last_month(), &both()).unwrap();
    let text = diff::to_json(&diff).unwrap();
    assert_eq!(
        text,
        diff::to_json(&diff::diff(&last_month(), &both()).unwrap()).unwrap()
    );
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let northwind = &value["customers"][0];
    assert_eq!(northwind["before"], "4090.76");
    assert_eq!(northwind["change"], "274.25");
    assert_eq!(northwind["percent"], "6.7");
    assert_eq!(northwind["lines"][0]["status"], "changed");
    assert_eq!(northwind["lines"][0]["amount"]["before"], "180.00");
    assert_eq!(northwind["lines"][0]["amount"]["after"], "191.25");
    assert_eq!(northwind["lines"][1]["status"], "new");
    assert!(northwind["lines"][1]["quantity"]["before"].is_null());
    assert_eq!(value["totals"][0]["currency"], "GBP");
}

#[test]
fn markdown_escapes_what_people_wrote() {
    let mut old = plan(SMALL);
    let mut new = plan(SMALL);
    new.customers[0].customer = "Fab|rikam <script>alert(1)</script> *Bakery* [x](y) $m$".into();
    new.customers[0].lines[0].description = "a|b".into();
    new.customers[0].total = d("350.00");
    old.customers[0].total = d("347.91");
    let text = diff::to_markdown(&diff::diff(&old, &new).unwrap());
    assert!(!text.contains("<script>"), "{text}");
    assert!(
        text.contains(
            "| Fab\\|rikam &lt;script&gt;alert(1)&lt;/script&gt; \\*Bakery\\* \\[x\\](y) \\$m\\$ | 347.91 GBP | 350.00 GBP | +2.09 (+0.6%) |"
        ),
        "{text}"
    );
    assert!(
        text.contains("| changed | m365\\_business\\_premium |"),
        "{text}"
    );
    assert!(text.contains("| **total GBP** | **347.91** | **350.00** | **+2.09 (+0.6%)** |"));
}

#[test]
fn figures_too_large_to_compare_are_an_error_not_a_panic() {
    // Two customers whose totals add up past the largest decimal: the overall total cannot be
    // formed. One line whose amount swings from the most negative to the most positive decimal:
    // its change cannot be formed either.
    let mut huge = both();
    huge.customers[1].currency = huge.customers[0].currency;
    huge.customers[0].total = Decimal::MAX;
    huge.customers[1].total = Decimal::MAX;
    let error = diff::diff(&both(), &huge).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the plan's total in GBP is too large to compute: the plans' figures do not fit a decimal"
    );

    let mut low = plan(NORTHWIND);
    let mut high = plan(NORTHWIND);
    low.customers[0].lines[0].amount = Some(Decimal::MIN);
    high.customers[0].lines[0].amount = Some(Decimal::MAX);
    let error = diff::diff(&low, &high).unwrap_err();
    assert!(
        error
            .what
            .starts_with("the change of line `northwindtraders.onmicrosoft.com/"),
        "{error}"
    );
    // The same plans compared with themselves are fine.
    assert!(diff::diff(&high, &high).unwrap().is_empty());
}
