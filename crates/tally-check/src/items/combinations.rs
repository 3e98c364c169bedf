//! Clauses that only make sense together, or not at all together: proration with `measure`,
//! `trueup` and `split`; the three ways of pricing (`price`, `tiers`, `bundle`); rounding that
//! only differs on prorated charges.

use crate::{Checker, LineDecl};
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{Billing, Cadence, LineRounding, Prorate, TExpr, TExprKind};
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
        self.cadence_needs(decl, &clauses);
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

    /// A cadence other than the month bills in advance, on its anniversary, which it must be
    /// able to find: a date, or the subscription the line resells.
    fn cadence_needs(&mut self, decl: &LineDecl, clauses: &Clauses<'_>) {
        let Some(every) = &decl.every else { return };
        let span = clauses.span_of("every");
        if every.cadence != Cadence::Month && decl.billing == Some(Billing::Arrears) {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    format!(
                        "a line billed every {} bills in advance",
                        every.cadence.name()
                    ),
                    clauses.span_of("billing"),
                )
                .with_secondary(span, "the cadence is here")
                .with_help("remove `billing arrears`; usage in arrears is billed every month"),
            );
        }
        if decl.measure.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a line with a cadence is measured on its cycle's first day",
                    clauses.span_of("measure"),
                )
                .with_secondary(span, "the cadence is here")
                .with_help("remove `measure`"),
            );
        }
        let reads_sku = reads_subscription(&decl.value);
        match (every.cadence, every.starting) {
            (Cadence::Term, Some(_)) => self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a term starts when its subscription does",
                    span,
                )
                .with_help("write `every term` without `starting`, or `every year starting DATE`"),
            ),
            (Cadence::Term, None) if !reads_sku => self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "`every term` follows a subscription, but this line reads none",
                    span,
                )
                .with_help("count the seats of one, e.g. `m365.sku(\"SPB\", \"annual\").assigned`, or write `every year starting DATE`"),
            ),
            (Cadence::Quarter | Cadence::Year, None) if !reads_sku => self.report(
                Diagnostic::error(
                    Code::BadClause,
                    format!("say when the {} starts", every.cadence.name()),
                    span,
                )
                .with_help(format!(
                    "write `every {} starting 2026-02-11` (without a date, a line that reads a subscription starts on its term start)",
                    every.cadence.name()
                )),
            ),
            _ => {}
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

/// Whether the value reads a subscription's seats (`m365.sku(...)`), whose term a cadence can
/// follow. Definitions are not followed: the subscription must be named in the line or be the
/// definition itself (a `let` of `m365.sku(...)` counts, as its uses show).
fn reads_subscription(value: &TExpr) -> bool {
    let mut found = false;
    value.walk(&mut |e| {
        found |= matches!(e.kind, TExprKind::SkuLookup { .. })
            || matches!(&e.ty, tally_ir::Type::Record(tally_ir::Record::Sku));
    });
    found
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

    #[test]
    fn a_cadence_finds_its_anniversary_and_bills_in_advance() {
        let sku = "m365.sku(\"SPB\").assigned";
        assert!(
            found(&format!(
                "a qty = {sku} price 1.00 every term prorate daily\n"
            ))
            .is_empty()
        );
        assert!(found(&format!("a qty = {sku} price 1.00 every year\n")).is_empty());
        assert!(found("a qty = 3 price 1.00 every quarter starting 2026-01-01\n").is_empty());
        assert_eq!(
            found("a qty = 3 price 1.00 every year\n"),
            ["say when the year starts"]
        );
        assert_eq!(
            found("a qty = 3 price 1.00 every term\n"),
            ["`every term` follows a subscription, but this line reads none"]
        );
        assert_eq!(
            found(&format!(
                "a qty = {sku} price 1.00 every term starting 2026-01-01\n"
            )),
            ["a term starts when its subscription does"]
        );
        assert_eq!(
            found("a qty = 3 price 1.00 every year starting 2026-01-01 billing arrears\n"),
            ["a line billed every year bills in advance"]
        );
        assert_eq!(
            found("a qty = 3 price 1.00 every year starting 2026-01-01 measure max\n"),
            ["a line with a cadence is measured on its cycle's first day"]
        );
        assert_eq!(
            found("a qty = 3 price 1.00 every fortnight starting 2026-01-01\n"),
            ["unknown cadence `fortnight`"]
        );
    }
}
