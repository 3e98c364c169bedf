//! Every row of Microsoft's NCE seat proration examples
//! (`oracles/nce_license_proration_oracles.csv`) reproduced exactly: the
//! cycle dates, the inclusive day count, the cycle days, and the total
//! under the rounding the row says Microsoft used.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Months;
use common::{read_rows, usd};
use tally_billing::{
    CycleLength, ProrationRounding, cycle_containing, cycle_days, inclusive_days, prorate,
};

const FILE: &str = "nce_license_proration_oracles.csv";

/// Rows not reproduced, with the reason. The file marks none as
/// inconsistent: every row names the rounding that reproduces it.
const SKIPPED: &[(&str, &str)] = &[];

fn mode(name: &str) -> ProrationRounding {
    match name {
        "R1" => ProrationRounding::TruncateProduct,
        "R2" => ProrationRounding::TruncateUnit,
        other => panic!("unknown rounding `{other}` in doc_matches"),
    }
}

#[test]
fn every_nce_oracle_row_is_reproduced_or_skipped_with_a_reason() {
    let rows = read_rows(FILE);
    assert_eq!(rows.len(), 18, "the oracle file changed; review it");
    let mut reproduced = Vec::new();
    for row in &rows {
        let id = row.get("example_id");
        if let Some((_, reason)) = SKIPPED.iter().find(|(s, _)| *s == id) {
            assert!(!reason.is_empty());
            continue;
        }

        // Dates: the charge runs to the end of its cycle; the cycle is one
        // month or one year long, so it started a month or a year before
        // the day after the charge end.
        let start = row.date("charge_start");
        let end = row.date("charge_end");
        let days = inclusive_days(start, end);
        assert_eq!(
            days,
            row.int("billing_days_inclusive"),
            "{id}: billing days"
        );
        let (plan, months) = if inclusive_days(start, end) > 31 {
            (CycleLength::Year, Months::new(12))
        } else {
            (CycleLength::Month, Months::new(1))
        };
        let cycle_start = end.succ_opt().unwrap().checked_sub_months(months).unwrap();
        assert_eq!(
            cycle_containing(cycle_start, plan, start),
            Some((cycle_start, end)),
            "{id}: cycle"
        );
        let cycle = cycle_days(cycle_start, plan);
        assert_eq!(
            cycle,
            row.int("cycle_days_per_doc_rule"),
            "{id}: cycle days"
        );

        // Amounts: refunds are negative quantities.
        let doc_total = row.dec("doc_total");
        let doc_effective = row.dec("doc_effective_unit_price");
        let refund = doc_total.is_sign_negative() || doc_effective.is_sign_negative();
        let qty = row.int("billable_quantity") * if refund { -1 } else { 1 };
        let unit = usd(row.dec("unit_price"));
        let matches: Vec<ProrationRounding> = row.get("doc_matches").split('+').map(mode).collect();

        for rounding in ProrationRounding::ALL {
            let p = prorate(unit, qty, days, cycle, rounding).unwrap();
            if matches.contains(&rounding) {
                assert_eq!(p.amount.amount(), doc_total, "{id} {rounding}: total");
                // Microsoft prints a refund's effective price negative.
                let signed = if refund {
                    -p.effective_unit_price
                } else {
                    p.effective_unit_price
                };
                assert_eq!(
                    signed, doc_effective,
                    "{id} {rounding}: effective unit price"
                );
            } else if !matches!(
                rounding,
                ProrationRounding::HalfUp
                    | ProrationRounding::HalfEven
                    | ProrationRounding::UnitHalfUp
            ) {
                // The other truncation disagrees with the document: that is
                // why rounding is a per-line choice.
                assert_ne!(p.amount.amount(), doc_total, "{id} {rounding}");
            }
        }

        // The compiled recomputations agree with ours for every row.
        let r1 = prorate(unit, qty, days, cycle, ProrationRounding::TruncateProduct).unwrap();
        let r2 = prorate(unit, qty, days, cycle, ProrationRounding::TruncateUnit).unwrap();
        assert_eq!(
            r1.amount.amount(),
            row.dec("R1_trunc2(unit/cycle*days*qty)"),
            "{id}: R1"
        );
        assert_eq!(
            r2.amount.amount(),
            row.dec("R2_trunc2(unit/cycle*days)*qty"),
            "{id}: R2"
        );
        assert_eq!(
            r1.amount.to_minor_unit_string(),
            r1.amount.amount().to_string()
        );

        reproduced.push(id.to_string());
    }
    assert_eq!(
        reproduced,
        [
            "N01", "N02", "N03", "N04", "N05", "N06", "N07", "N08", "N20", "N21", "N22", "N23",
            "N24", "N25", "N26", "N27", "N28", "N29"
        ]
        .map(String::from)
        .into_iter()
        .filter(|id| !SKIPPED.iter().any(|(s, _)| s == id))
        .collect::<Vec<_>>()
    );
}
