//! Term and cycle dates from Microsoft's doc tables nce_05..nce_08 (terms
//! bought on the last day and the day before the last day of a month), row
//! by row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::{date, read_rows};
use tally_billing::{
    CycleLength, MonthAnchor, Term, cycle_containing, cycle_containing_anchored, term_end,
};

/// Checks a monthly-term table: each row is a new one-month term.
fn monthly_term_table(file: &str, anchor_mismatches: &[NaiveDate]) {
    let rows = read_rows(file);
    assert_eq!(rows.len(), 5);
    let mut from_month_end_wrong = Vec::new();
    for row in &rows {
        assert_eq!(row.get("Billing Term"), "Monthly");
        let start = row.date("Subscription Start Date");
        let end = row.date("Subscription End Date");
        assert_eq!(row.date("Order Date"), start);
        assert_eq!(
            term_end(start, Term::Monthly),
            Some(end),
            "{file}:{}",
            row.line
        );
        assert_eq!(end.succ_opt(), Some(row.date("Renew Date")));
        let charge = (row.date("Charge Start Date"), row.date("Charge End Date"));
        assert_eq!(
            cycle_containing(start, CycleLength::Month, start),
            Some(charge)
        );
        let alt =
            cycle_containing_anchored(start, CycleLength::Month, start, MonthAnchor::FromMonthEnd);
        if alt != Some(charge) {
            from_month_end_wrong.push(start);
        }
    }
    // Monthly terms follow the plain clamped rule; the month-end anchor
    // that nce_08 needs gets these rows wrong.
    assert_eq!(from_month_end_wrong, anchor_mismatches, "{file}");
}

#[test]
fn nce_05_monthly_term_bought_on_last_day() {
    monthly_term_table(
        "doc-tables/nce_05_dates_buy_last_day_monthly_term.csv",
        &[date(2021, 6, 30)],
    );
}

#[test]
fn nce_07_monthly_term_bought_on_day_before_last() {
    monthly_term_table(
        "doc-tables/nce_07_dates_buy_day_before_last_monthly_term.csv",
        &[date(2021, 1, 30), date(2021, 5, 30), date(2021, 6, 29)],
    );
}

/// Checks an annual-term, monthly-plan table: twelve monthly charge cycles
/// of one term. Returns the order dates whose cycle `DayOfMonth` gets wrong.
fn annual_term_monthly_plan_table(file: &str, typo_rows: &[(usize, &str)]) -> Vec<NaiveDate> {
    let rows = read_rows(file);
    assert_eq!(rows.len(), 12);
    let term_start = rows[0].date("Subscription Start Date");
    let mut day_of_month_wrong = Vec::new();
    for row in &rows {
        assert_eq!(row.get("Billing Term"), "Annual");
        assert_eq!(row.get("Billing Plan"), "Monthly");
        let renew = row.date("Renew Date");
        if let Some((_, reason)) = typo_rows.iter().find(|(line, _)| *line == row.line) {
            // The row's own start/end columns are wrong; check that they are
            // what the reason says, and use the table's term instead.
            assert!(!reason.is_empty());
            assert_ne!(row.date("Subscription Start Date"), term_start);
        } else {
            assert_eq!(row.date("Subscription Start Date"), term_start);
            let end = row.date("Subscription End Date");
            assert_eq!(
                term_end(term_start, Term::Annual),
                Some(end),
                "{file}:{}",
                row.line
            );
            assert_eq!(end.succ_opt(), Some(renew));
        }
        assert_eq!(
            term_end(term_start, Term::Annual).unwrap().succ_opt(),
            Some(renew)
        );

        let order = row.date("Order Date");
        let charge = (row.date("Charge Start Date"), row.date("Charge End Date"));
        assert_eq!(order, charge.0);
        assert_eq!(
            cycle_containing_anchored(
                term_start,
                CycleLength::Month,
                order,
                MonthAnchor::FromMonthEnd
            ),
            Some(charge),
            "{file}:{} from_month_end",
            row.line
        );
        assert_eq!(
            cycle_containing_anchored(
                term_start,
                CycleLength::Month,
                charge.1,
                MonthAnchor::FromMonthEnd
            ),
            Some(charge),
            "{file}:{} from_month_end, last day of the cycle",
            row.line
        );
        if cycle_containing(term_start, CycleLength::Month, order) != Some(charge) {
            day_of_month_wrong.push(order);
        }
    }
    day_of_month_wrong
}

#[test]
fn nce_06_annual_term_monthly_plan_bought_on_last_day() {
    // Cycles start on the last day of every month: both anchors agree.
    let wrong = annual_term_monthly_plan_table(
        "doc-tables/nce_06_dates_buy_last_day_annual_term_monthly_plan.csv",
        &[],
    );
    assert_eq!(wrong, []);
}

#[test]
fn nce_08_annual_term_monthly_plan_bought_on_day_before_last() {
    // Cycles start on the day before the last of every month (February 27,
    // April 29...), which only the month-end anchor reproduces; the default
    // anchor agrees on July 30 and December 30 alone. The last row repeats
    // nce_06's subscription start and end (January 31 / January 30, 2022)
    // while its renew date (January 30, 2022) belongs to this table's term.
    let wrong = annual_term_monthly_plan_table(
        "doc-tables/nce_08_dates_buy_day_before_last_annual_term_monthly_plan.csv",
        &[(
            13,
            "subscription start/end copied from nce_06 (renew date disagrees)",
        )],
    );
    let expected: Vec<NaiveDate> = [
        (1, 30),
        (2, 27),
        (3, 30),
        (4, 29),
        (5, 30),
        (6, 29),
        (8, 30),
        (9, 29),
        (10, 30),
        (11, 29),
    ]
    .iter()
    .map(|&(m, d)| date(2021, m, d))
    .collect();
    assert_eq!(wrong, expected);
}

#[test]
fn dates_from_the_brief_and_domain_notes() {
    assert_eq!(
        term_end(date(2021, 1, 31), Term::Monthly),
        Some(date(2021, 2, 27))
    );
    assert_eq!(
        term_end(date(2021, 2, 28), Term::Monthly),
        Some(date(2021, 3, 27))
    );
    assert_eq!(
        term_end(date(2021, 5, 31), Term::Monthly),
        Some(date(2021, 6, 29))
    );
    assert_eq!(
        term_end(date(2021, 6, 18), Term::Annual),
        Some(date(2022, 6, 17))
    );
    assert_eq!(
        term_end(date(2024, 2, 29), Term::Annual),
        Some(date(2025, 2, 27))
    );
    assert_eq!(
        term_end(date(2024, 2, 29), Term::Triennial),
        Some(date(2027, 2, 27))
    );
    assert_eq!(
        term_end(date(2022, 7, 1), Term::Triennial),
        Some(date(2025, 6, 30))
    );
}
