//! A line's price schedule (`from DATE [until DATE] price ...`). Open-ended prices (no `until`)
//! form a schedule: each lasts until the next one starts. A price with an `until` overrides the
//! schedule for its days, whatever the schedule does meanwhile (a promotion over a price
//! change is well defined: the promotion, then the schedule's price of the day it ends), so it
//! may only not overlap another such price. Two open-ended prices may not start on the same
//! day.

use crate::{Checker, LineDecl};
use tally_diagnostics::{Code, Diagnostic};
use tally_ir::DatedPrice;

impl Checker<'_> {
    pub(super) fn check_schedule(&mut self, decl: &LineDecl) {
        let mut dated: Vec<&DatedPrice> = decl.dated_prices.iter().collect();
        dated.sort_by_key(|d| d.from);
        for d in &dated {
            if let Some(until) = d.until
                && until < d.from
            {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        format!("the price ends ({until}) before it starts ({})", d.from),
                        d.span,
                    )
                    .with_help("swap the dates"),
                );
            }
        }
        self.overlaps(&dated);
        if let Some(first) = dated.first()
            && decl.tiers.is_some()
        {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a tiered line cannot also have dated prices yet",
                    first.span,
                )
                .with_help("date the change with a second line"),
            );
        }
    }

    /// Reports every day two prices of the schedule (sorted by start) would both be in force.
    fn overlaps(&mut self, dated: &[&DatedPrice]) {
        let open: Vec<&DatedPrice> = dated
            .iter()
            .copied()
            .filter(|d| d.until.is_none())
            .collect();
        let bounded: Vec<&DatedPrice> = dated
            .iter()
            .copied()
            .filter(|d| d.until.is_some())
            .collect();
        for pair in open.windows(2) {
            if let [a, b] = pair
                && a.from == b.from
            {
                self.clash(b, a, b.from);
            }
        }
        for (n, a) in bounded.iter().enumerate() {
            let a_until = a.until.unwrap_or(a.from);
            for b in bounded.iter().skip(n + 1) {
                if b.from <= a_until {
                    self.clash(b, a, b.from);
                }
            }
        }
    }

    fn clash(&mut self, later: &DatedPrice, earlier: &DatedPrice, day: chrono::NaiveDate) {
        self.report(
            Diagnostic::error(
                Code::BadClause,
                format!("two prices are in force on {day}"),
                later.span,
            )
            .with_secondary(earlier.span, "this one covers that day too")
            .with_help("end the earlier price before the later one starts"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, messages};

    fn found(rules: &str) -> Vec<String> {
        messages(&customer(rules))
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    }

    #[test]
    fn a_bounded_price_overrides_the_schedule_for_its_days_only() {
        // Open-ended prices follow one another; a bounded one inside one of them is fine.
        assert!(found("a qty = 1 price 1.00 from 2026-01-01 price 2.00 from 2026-07-01 price 3.00 from 2026-02-01 until 2026-02-28 price 0.00\n").is_empty());
        // Over a change of the schedule too, starting before it or on its day: the bounded
        // price wins for its days (both orders were once treated differently).
        assert!(found("a qty = 1 from 2026-01-01 price 2.00 from 2026-07-01 price 3.00 from 2026-06-01 until 2026-07-31 price 0.00\n").is_empty());
        assert!(found("a qty = 1 from 2026-01-01 price 2.00 from 2026-07-01 price 3.00 from 2026-07-01 until 2026-07-31 price 0.00\n").is_empty());
        // But two bounded prices may not overlap, nor two open ones start on one day.
        assert_eq!(
            found(
                "a qty = 1 from 2026-01-01 until 2026-03-31 price 2.00 from 2026-03-01 until 2026-04-30 price 3.00\n"
            ),
            ["two prices are in force on 2026-03-01"]
        );
        assert_eq!(
            found("a qty = 1 from 2026-01-01 price 2.00 from 2026-01-01 price 3.00\n"),
            ["two prices are in force on 2026-01-01"]
        );
    }

    #[test]
    fn a_price_ends_after_it_starts() {
        assert_eq!(
            found("a qty = 1 from 2026-06-30 until 2026-01-01 price 2.00\n"),
            ["the price ends (2026-01-01) before it starts (2026-06-30)"]
        );
    }
}
