//! Cadences over whole terms: the plans of consecutive months, added up, bill exactly what the
//! term costs (the seats at its start for the whole term, and each later change prorated over
//! the term's own days), and nothing in the months between.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use tally_db::Database;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An annual upfront Business Premium subscription from 2026-02-11 at 264.00 a seat a year
/// (22.00 a month):
/// 10 seats, 11 from 2026-05-20.
fn snapshot(month: NaiveDate) -> String {
    let end = month
        .checked_add_months(Months::new(1))
        .unwrap()
        .pred_opt()
        .unwrap();
    format!(
        r#"{{ "version": 2, "period": {{ "start": "{month}", "end": "{end}" }}, "tenants": [ {{
  "tenant": "contoso.onmicrosoft.com",
  "subscribed_skus": [ {{ "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "part_number": "SPB",
    "purchased": 10, "assigned": 10, "unit_cost": {{ "amount": "22.00", "currency": "GBP" }},
    "term_unit_cost": {{ "amount": "264.00", "currency": "GBP" }}, "term": "annual", "billing_plan": "upfront", "term_start": "2026-02-11",
    "changes": [ {{ "date": "2026-05-20", "purchased": 11, "assigned": 11 }} ] }} ]
}} ] }}"#
    )
}

const HEADER: &str = "customer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency GBP\n}\nuse std.m365\n";

/// A plan line: its id, period and amount.
type Billed = (String, NaiveDate, NaiveDate, Decimal);

/// Every line of the plan for `month`, and its flags.
fn plan(rules: &str, month: NaiveDate) -> (Vec<Billed>, Vec<String>) {
    let mut db = Database::default();
    let file = db.set_file("contoso.tally", format!("{HEADER}{rules}"));
    let problems = tally_driver::diagnostics(&db, &[file]);
    assert!(problems.is_empty(), "{problems:?}");
    let text = snapshot(month);
    let snapshot = tally_snapshot::from_json(&text).unwrap();
    let period = tally_driver::plan_period(&snapshot, None, "snapshot").unwrap();
    let input = tally_driver::input_file("snapshot", text.as_bytes());
    let run = tally_driver::plan(&db, &[file], &snapshot, input, period).unwrap();
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    let lines = &run.plan.customers[0].lines;
    (
        lines
            .iter()
            .map(|l| {
                (
                    l.id.clone(),
                    l.period.start,
                    l.period.end,
                    l.amount.unwrap(),
                )
            })
            .collect(),
        lines
            .iter()
            .flat_map(|l| l.provenance.flags.clone())
            .collect(),
    )
}

fn months(from: NaiveDate, count: u32) -> impl Iterator<Item = NaiveDate> {
    (0..count).map(move |k| from.checked_add_months(Months::new(k)).unwrap())
}

#[test]
fn an_annual_upfront_term_bills_once_plus_its_prorated_addition() {
    let rules = "bp qty = m365.sku(\"SPB\").purchased price m365.sku(\"SPB\").term_cost every term prorate daily\n";
    let mut total = Decimal::ZERO;
    let mut billed_in = Vec::new();
    for month in months(date(2026, 2, 1), 12) {
        let (lines, flags) = plan(rules, month);
        assert!(flags.is_empty(), "{flags:?}");
        for (id, from, to, amount) in lines {
            billed_in.push((month, id, from, to, amount));
            total += amount;
        }
    }
    // February: the term's 10 seats for the whole year, on its anniversary; June: the seat
    // added on 20 May, for 267 of the term's 365 days (264.00 × 267/365 = 193.1178 → 193.12).
    assert_eq!(
        billed_in,
        [
            (
                date(2026, 2, 1),
                "contoso.onmicrosoft.com/bp".to_string(),
                date(2026, 2, 11),
                date(2027, 2, 10),
                Decimal::new(264_000, 2)
            ),
            (
                date(2026, 6, 1),
                "contoso.onmicrosoft.com/bp/trueup/2026-05-20".to_string(),
                date(2026, 5, 20),
                date(2027, 2, 10),
                Decimal::new(19312, 2)
            ),
        ]
    );
    assert_eq!(total, Decimal::new(283_312, 2));
    // The renewal bills the 11 seats for the next year.
    let (renewal, _) = plan(rules, date(2027, 2, 1));
    assert_eq!(renewal.len(), 1);
    assert_eq!(renewal[0].3, Decimal::new(290_400, 2));
    assert_eq!(
        (renewal[0].1, renewal[0].2),
        (date(2027, 2, 11), date(2028, 2, 10))
    );
}

#[test]
fn an_upfront_subscription_billed_every_month_is_flagged() {
    let rules = "bp qty = m365.sku(\"SPB\").purchased price m365.sku(\"SPB\").cost\n";
    let (lines, flags) = plan(rules, date(2026, 3, 1));
    assert_eq!(lines.len(), 1);
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(flags[0].contains("bill the line `every term`"), "{flags:?}");
}

#[test]
fn a_quarterly_service_bills_on_its_quarter_and_prorates_a_change_over_the_quarter() {
    // 10 seats, 11 from 20 May; quarters from 1 January: Apr-Jun has 91 days.
    let rules = "support qty = m365.sku(\"SPB\").purchased price 30.00 every quarter starting 2026-01-01 prorate daily\n";
    let mut billed = Vec::new();
    for month in months(date(2026, 1, 1), 7) {
        let (lines, _) = plan(rules, month);
        billed.extend(
            lines
                .into_iter()
                .map(|(id, from, to, amount)| (month.to_string(), id, from, to, amount)),
        );
    }
    let amounts: Vec<(String, Decimal)> = billed
        .iter()
        .map(|(month, _, _, _, amount)| (month.clone(), *amount))
        .collect();
    // January, April and July bill the quarter (10, 10 and 11 seats); June trues up the seat
    // added on 20 May for 20 May..30 June, 42 of the quarter's 91 days: 30.00 × 42/91 = 13.846 → 13.85.
    assert_eq!(
        amounts,
        [
            ("2026-01-01".to_string(), Decimal::new(30_000, 2)),
            ("2026-04-01".to_string(), Decimal::new(30_000, 2)),
            ("2026-06-01".to_string(), Decimal::new(1_385, 2)),
            ("2026-07-01".to_string(), Decimal::new(33_000, 2)),
        ]
    );
}

mod integral {
    //! Over a whole cycle, what the monthly plans bill adds up to the exact daily integral of
    //! seats × price / cycle days, within half a cent per prorated charge (each is rounded half
    //! up on its own), for any history of added seats.

    use super::*;
    use proptest::prelude::*;

    /// A subscription of `cadence`'s term from `start`, `seats` seats, more added on some days.
    fn snapshot_text(
        month: NaiveDate,
        start: NaiveDate,
        term: &str,
        seats: u32,
        added: &[(NaiveDate, u32)],
    ) -> String {
        let end = month
            .checked_add_months(Months::new(1))
            .unwrap()
            .pred_opt()
            .unwrap();
        let mut running = seats;
        let changes: Vec<String> = added
            .iter()
            .map(|(day, more)| {
                running += more;
                format!(r#"{{ "date": "{day}", "purchased": {running}, "assigned": {running} }}"#)
            })
            .collect();
        format!(
            r#"{{ "version": 2, "period": {{ "start": "{month}", "end": "{end}" }}, "tenants": [ {{
  "tenant": "contoso.onmicrosoft.com",
  "subscribed_skus": [ {{ "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "part_number": "SPB",
    "purchased": {seats}, "assigned": {seats}, "unit_cost": {{ "amount": "1.00", "currency": "GBP" }},
    "term": "{term}", "billing_plan": "upfront", "term_start": "{start}",
    "changes": [ {} ] }} ]
}} ] }}"#,
            changes.join(", ")
        )
    }

    /// Everything billed for the cycle from `start` to `end` by the monthly plans from the
    /// cycle's month to the month after its end, and how many prorated charges it took.
    fn billed_over(
        rules: &str,
        start: NaiveDate,
        end: NaiveDate,
        snapshot_of: impl Fn(NaiveDate) -> String,
    ) -> (Decimal, usize) {
        let mut db = Database::default();
        let file = db.set_file("contoso.tally", format!("{HEADER}{rules}"));
        let first = start.with_day0(0).unwrap();
        let mut total = Decimal::ZERO;
        let mut charges = 0;
        let mut month = first;
        while month <= end.checked_add_months(Months::new(1)).unwrap() {
            let text = snapshot_of(month);
            let snapshot = tally_snapshot::from_json(&text).unwrap();
            let period = tally_driver::plan_period(&snapshot, None, "s").unwrap();
            let input = tally_driver::input_file("s", text.as_bytes());
            let run = tally_driver::plan(&db, &[file], &snapshot, input, period).unwrap();
            assert!(run.failures.is_empty(), "{:?}", run.failures);
            for line in &run.plan.customers[0].lines {
                // The cycle's own charges: not the renewal that follows it.
                if line.period.start <= end {
                    total += line.amount.unwrap();
                    charges += usize::from(line.proration.is_some());
                }
            }
            month = month.checked_add_months(Months::new(1)).unwrap();
        }
        (total, charges)
    }

    use chrono::Datelike;

    fn check(
        cadence: &str,
        term: &str,
        months: u32,
        start: NaiveDate,
        price: Decimal,
        seats: u32,
        added: Vec<(u32, u32)>,
    ) -> Result<(), TestCaseError> {
        let end = start
            .checked_add_months(Months::new(months))
            .unwrap()
            .pred_opt()
            .unwrap();
        let days = (end - start).num_days() + 1;
        let cycle = tally_billing::Cycles {
            anchor: start,
            length: match months {
                3 => tally_billing::CycleLength::Quarter,
                12 => tally_billing::CycleLength::Year,
                _ => tally_billing::CycleLength::ThreeYears,
            },
        }
        .days(start);
        // Additions on days after the first, in order.
        let mut added: Vec<(NaiveDate, u32)> = added
            .into_iter()
            .map(|(offset, more)| {
                (
                    start + chrono::Days::new(u64::from(offset) % (days as u64 - 1) + 1),
                    more,
                )
            })
            .collect();
        added.sort();
        added.dedup_by_key(|(day, _)| *day);
        let rules = format!(
            "seats qty = m365.sku(\"SPB\").purchased price {price} every {cadence} prorate daily\n"
        );
        let (billed, charges) = billed_over(&rules, start, end, |month| {
            snapshot_text(month, start, term, seats, &added)
        });
        // The exact integral: each day's seats at price / cycle days.
        let mut exact = price * Decimal::from(seats);
        for (day, more) in &added {
            let remaining = (end - *day).num_days() + 1;
            exact += price * Decimal::from(*more) * Decimal::from(remaining) / Decimal::from(cycle);
        }
        let tolerance = Decimal::new(5, 3) * Decimal::from(charges);
        prop_assert!(
            (billed - exact).abs() <= tolerance,
            "billed {} vs exact {} ({} charges) for {:?}",
            billed,
            exact,
            charges,
            added
        );
        prop_assert_eq!(charges, added.len());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn a_year_of_plans_bills_the_integral(
            day in 1u32..=28, month in 1u32..=12, cents in 100i64..=50_000, seats in 1u32..=40,
            added in prop::collection::vec((0u32..400, 1u32..=5), 0..4)
        ) {
            let start = date(2026, month, day);
            check("term", "annual", 12, start, Decimal::new(cents, 2), seats, added)?;
        }

        #[test]
        fn a_quarter_of_plans_bills_the_integral(
            day in 1u32..=28, month in 1u32..=12, cents in 100i64..=50_000, seats in 1u32..=40,
            added in prop::collection::vec((0u32..100, 1u32..=5), 0..3)
        ) {
            let start = date(2026, month, day);
            let rules_start = start;
            check(&format!("quarter starting {rules_start}"), "monthly", 3, start, Decimal::new(cents, 2), seats, added)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4))]

        #[test]
        fn a_triennial_term_of_plans_bills_the_integral(
            day in 1u32..=28, month in 1u32..=12, cents in 100i64..=50_000, seats in 1u32..=40,
            added in prop::collection::vec((0u32..1200, 1u32..=5), 0..4)
        ) {
            let start = date(2026, month, day);
            check("term", "triennial", 36, start, Decimal::new(cents, 2), seats, added)?;
        }
    }
}
