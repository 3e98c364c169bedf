#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! Billing invariants, checked on generated snapshots through the whole pipeline (parse, check,
//! link, evaluate, assemble): split parts sum to the whole, proration over a whole cycle is the
//! full price, one more seat never lowers an amount, and input order never matters.

use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use tally_db::Database;

const RULES: &str = r#"customer "Prop" {
  tenant "prop.onmicrosoft.com"
  currency GBP
}

let staff = m365.users where enabled

support qty = count(staff) price 23.47 minimum 3 split by department otherwise "None"
backup_daily qty = counter("backup") price 3.10 billing arrears prorate daily rounding truncate_product
backup_peak qty = counter("backup") price 3.10 billing arrears measure max
seats qty = counter("backup") price 7.77 prorate daily trueup replace rounding truncate_unit
"#;

#[derive(Debug, Clone)]
struct User {
    department: Option<&'static str>,
    enabled: bool,
}

fn user_strategy() -> impl Strategy<Value = User> {
    (
        prop::option::of(prop::sample::select(vec![
            "Sales", "Ops", "Finance", "sales ",
        ])),
        any::<bool>(),
    )
        .prop_map(|(department, enabled)| User {
            department,
            enabled,
        })
}

/// Counter values on days of September and October 2026 (day index 0..61).
fn counts_strategy() -> impl Strategy<Value = Vec<(u32, u64)>> {
    prop::collection::btree_map(0u32..61, 0u64..500, 1..6).prop_map(|m| m.into_iter().collect())
}

fn day(index: u32) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    (start + chrono::Days::new(u64::from(index))).to_string()
}

fn snapshot(users: &[User], counts: &[(u32, u64)]) -> String {
    let users: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let department = u.department.map_or(String::new(), |d| format!(r#""department": "{d}", "#));
            format!(r#"{{ "id": "{i}", "upn": "u{i}@prop.com", "display_name": "U{i}", {department}"enabled": {} }}"#, u.enabled)
        })
        .collect();
    let counters: Vec<String> = counts
        .iter()
        .map(|(d, v)| {
            format!(
                r#"{{ "name": "backup", "value": {v}, "as_of": "{}" }}"#,
                day(*d)
            )
        })
        .collect();
    format!(
        r#"{{ "version": 2, "period": {{ "start": "2026-10-01", "end": "2026-10-31" }}, "tenants": [ {{ "tenant": "prop.onmicrosoft.com", "users": [{}], "counters": [{}] }} ] }}"#,
        users.join(", "),
        counters.join(", ")
    )
}

fn plan(snapshot_text: &str) -> tally_plan::CustomerPlan {
    let mut db = Database::default();
    let file = db.set_file("prop.tally", RULES.to_string());
    assert!(tally_driver::diagnostics(&db, &[file]).is_empty());
    let snapshot = tally_snapshot::from_json(snapshot_text).unwrap();
    let period = tally_driver::plan_period(&snapshot, None, "prop.json").unwrap();
    let input = tally_driver::input_file("prop.json", snapshot_text.as_bytes());
    let mut run = tally_driver::plan(&db, &[file], &snapshot, input, period).unwrap();
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    run.plan.customers.remove(0)
}

fn amount(line: &tally_plan::PlanLine) -> Decimal {
    line.amount.unwrap()
}

fn total(plan: &tally_plan::CustomerPlan, line: &str) -> Decimal {
    plan.lines
        .iter()
        .filter(|l| l.line == line)
        .map(amount)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn split_parts_sum_to_the_whole(users in prop::collection::vec(user_strategy(), 0..40)) {
        let plan = plan(&snapshot(&users, &[(30, 1)]));
        let enabled = users.iter().filter(|u| u.enabled).count() as i64;
        let billed = enabled.max(3);
        let parts: Vec<_> = plan.lines.iter().filter(|l| l.line == "support").collect();
        prop_assert_eq!(parts.iter().map(|l| l.quantity).sum::<i64>(), billed);
        prop_assert_eq!(total(&plan, "support"), Decimal::from(billed) * Decimal::from_str("23.47").unwrap());
        for part in parts {
            prop_assert_eq!(amount(part), Decimal::from(part.quantity) * Decimal::from_str("23.47").unwrap());
        }
    }

    #[test]
    fn proration_over_a_whole_cycle_is_the_full_price(value in 0u64..10_000) {
        // One value all October: the prorated line bills exactly value × price.
        let plan = plan(&snapshot(&[], &[(0, value)]));
        prop_assert_eq!(total(&plan, "backup_daily"), Decimal::from(value) * Decimal::from_str("3.10").unwrap());
        prop_assert_eq!(total(&plan, "backup_peak"), Decimal::from(value) * Decimal::from_str("3.10").unwrap());
    }

    #[test]
    fn one_more_seat_never_lowers_an_amount(counts in counts_strategy(), which in any::<prop::sample::Index>()) {
        let before = plan(&snapshot(&[], &counts));
        let mut more = counts.clone();
        let i = which.index(more.len());
        more[i].1 += 1;
        let after = plan(&snapshot(&[], &more));
        for line in ["backup_daily", "backup_peak"] {
            prop_assert!(total(&after, line) >= total(&before, line), "{line}: {} < {}", total(&after, line), total(&before, line));
        }
    }

    #[test]
    fn input_order_does_not_matter(users in prop::collection::vec(user_strategy(), 0..30), counts in counts_strategy()) {
        let forward = plan(&snapshot(&users, &counts));
        let mut reversed_users = users.clone();
        reversed_users.reverse();
        let mut reversed_counts = counts.clone();
        reversed_counts.reverse();
        let backward = plan(&snapshot(&reversed_users, &reversed_counts));
        prop_assert_eq!(forward, backward);
    }
}
