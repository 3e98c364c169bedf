//! Clauses that only make sense together, or not at all together: proration with `measure`,
//! `trueup` and `split`; the three ways of pricing (`price`, `tiers`, `bundle`); rounding that
//! only differs on prorated charges.

use crate::{Checker, LineDecl};
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{LineRounding, Prorate};
use tally_syntax::ast;

/// Where a line's clause is written, for labels (the line's name if it has none).
struct Clauses<'l>(&'l ast::Line);

impl Clauses<'_> {
    fn span_of(&self, keyword: &str) -> Span {
        let line = self.0;
        line.clauses
            .iter()
            .find(|c| c.kind.keyword() == keyword)
            .map_or(line.name.span, |c| c.keyword)
    }
}

impl Checker<'_> {
    pub(super) fn clause_combinations(&mut self, decl: &LineDecl, line: &ast::Line) {
        let clauses = Clauses(line);
        let prorated = decl.prorate == Some(Prorate::Daily);
        self.proration_needs(decl, &clauses, prorated);
        self.check_schedule(decl);
        self.pricings(decl, &clauses, prorated);
        if prorated
            && decl.price.is_none()
            && decl.dated_prices.is_empty()
            && line.kind == ast::LineKind::Qty
        {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a prorated line needs a price",
                    clauses.span_of("prorate"),
                )
                .with_help("proration divides a price by days: add `price ...`"),
            );
        }
        self.rounding_needs(decl, &clauses, prorated);
    }

    /// `measure` has nothing to choose on a prorated line; `trueup` needs one.
    fn proration_needs(&mut self, decl: &LineDecl, clauses: &Clauses<'_>, prorated: bool) {
        if prorated && decl.measure.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a prorated line bills every day; `measure` has nothing to choose",
                    clauses.span_of("measure"),
                )
                .with_secondary(clauses.span_of("prorate"), "prorated here")
                .with_help("remove `measure`, or remove `prorate daily` to bill one count"),
            );
        }
        if decl.trueup.is_some() && !prorated {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "`trueup` needs `prorate daily`",
                    clauses.span_of("trueup"),
                )
                .with_help(
                    "true-ups bill last period's mid-period changes by day: add `prorate daily`",
                ),
            );
        }
    }

    /// One way of pricing per line: a `price` (with or without dated prices), `tiers`, or a
    /// `bundle`; bundles and tiers are not prorated or split.
    fn pricings(&mut self, decl: &LineDecl, clauses: &Clauses<'_>, prorated: bool) {
        let pricings = [
            decl.price.is_some() || !decl.dated_prices.is_empty(),
            decl.tiers.is_some(),
            !decl.bundle.is_empty(),
        ];
        if !decl.bundle.is_empty()
            && (pricings.iter().filter(|p| **p).count() > 1 || prorated || decl.split.is_some())
        {
            self.report(
                Diagnostic::error(Code::BadClause, "a bundle prices its own products", clauses.span_of("bundle"))
                    .with_help("a bundle line has no `price`, `tiers`, `prorate` or `split by`: bill those on another line"),
            );
        }
        if decl.tiers.is_some() && decl.price.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a line has either a `price` or `tiers`",
                    clauses.span_of("tiers"),
                )
                .with_secondary(clauses.span_of("price"), "the price is here")
                .with_help("keep one of the two"),
            );
        }
        if decl.tiers.is_some() && (prorated || decl.split.is_some()) {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "tiered lines cannot be prorated or split yet",
                    clauses.span_of("tiers"),
                )
                .with_help("bill the tiers on their own line"),
            );
        }
    }

    /// Microsoft's two proration roundings only differ from `truncate`, and ConnectWise's from
    /// `half_up`, on prorated charges.
    fn rounding_needs(&mut self, decl: &LineDecl, clauses: &Clauses<'_>, prorated: bool) {
        if matches!(
            decl.rounding,
            Some(LineRounding::TruncateProduct | LineRounding::TruncateUnit)
        ) && !prorated
        {
            self.report(
                Diagnostic::warning(
                    Code::BadClause,
                    "this rounding only differs from `truncate` on prorated charges",
                    clauses.span_of("rounding"),
                )
                .with_help("use `truncate` (the same on charges that are not prorated), or add `prorate daily` if the line is meant to be prorated"),
            );
        }
        if decl.rounding == Some(LineRounding::UnitHalfUp) && !prorated {
            self.report(
                Diagnostic::warning(
                    Code::BadClause,
                    "this rounding only differs from `half_up` on prorated charges",
                    clauses.span_of("rounding"),
                )
                .with_help("use `half_up` (the same on charges that are not prorated), or add `prorate daily` if the line is meant to be prorated"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, messages};
    use tally_diagnostics::Code;

    fn found(rules: &str) -> Vec<String> {
        messages(&customer(rules))
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    }

    #[test]
    fn proration_clauses_need_one_another() {
        assert_eq!(
            found("a qty = 1 price 1.00 prorate daily measure max\n"),
            ["a prorated line bills every day; `measure` has nothing to choose"]
        );
        assert_eq!(
            found("a qty = 1 price 1.00 trueup delta\n"),
            ["`trueup` needs `prorate daily`"]
        );
        assert_eq!(
            found("a qty = 1 prorate daily\n"),
            ["a prorated line needs a price"]
        );
        // A prorated line may be split: the charges are shared out after proration.
        assert!(
            found(
                "a qty = count(m365.users) price 1.00 prorate daily split by department otherwise \"X\"\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn a_line_is_priced_one_way() {
        assert_eq!(
            found("a qty = 1 price 1.00 tiers volume { 5: 1.00, above: 0.50 }\n"),
            ["a line has either a `price` or `tiers`"]
        );
        assert_eq!(
            found("a qty = 1 price 1.00 bundle { \"X\": 1.00 }\n"),
            ["a bundle prices its own products"]
        );
        assert_eq!(
            found(
                "a qty = count(m365.users) tiers volume { 5: 1.00, above: 0.50 } split by department otherwise \"X\"\n"
            ),
            ["tiered lines cannot be prorated or split yet"]
        );
    }

    #[test]
    fn microsofts_roundings_warn_on_lines_not_prorated() {
        let checked = customer("a qty = 1 price 1.00 rounding truncate_unit\n");
        assert_eq!(
            messages(&checked),
            [(
                Code::BadClause,
                "this rounding only differs from `truncate` on prorated charges".into()
            )]
        );
        assert!(!checked.has_errors());
    }
}
