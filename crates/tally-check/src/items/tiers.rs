//! `tiers MODE { 5: 0.00, 100: 2.99, above: 2.50 }`: bounds that start at 1 and increase, only
//! the last tier `above`, every price money.

use crate::Checker;
use crate::expr::Scope;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{TierMode, Tiers};
use tally_syntax::ast;

impl Checker<'_> {
    /// The tiers, or `None` (after reports) when the mode or a bound is wrong.
    pub(super) fn tiers(&mut self, mode: &ast::Ident, tiers: &[ast::Tier]) -> Option<Tiers> {
        let mode = self.word(mode, "tier mode", &TierMode::ALL, TierMode::name);
        let mut out = Vec::new();
        let mut previous: Option<(i64, Span)> = None;
        let mut ok = true;
        for (index, tier) in tiers.iter().enumerate() {
            let last = index + 1 == tiers.len();
            ok &= self.tier_bound(tier, last, previous);
            if let Some(bound) = tier.up_to {
                previous = Some((bound, tier.bound_span));
            }
            let price = self.expr(&tier.price, Scope::default());
            let price = self.money(price, "a tier price");
            out.push((tier.up_to.and_then(|b| u64::try_from(b).ok()), price));
        }
        Some(Tiers {
            mode: mode?,
            tiers: out,
        })
        .filter(|_| ok)
    }

    /// Whether a tier's bound is right for its place, after the bound before it (reported if
    /// not).
    fn tier_bound(&mut self, tier: &ast::Tier, last: bool, previous: Option<(i64, Span)>) -> bool {
        let mut ok = true;
        match (tier.up_to, last) {
            (None, false) => {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        "only the last tier can be `above`",
                        tier.bound_span,
                    )
                    .with_help("give every tier but the last its upper bound, e.g. `5: 0.00`"),
                );
                ok = false;
            }
            (Some(_), true) => {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        "the last tier must be `above`",
                        tier.bound_span,
                    )
                    .with_help("end with `above: price` so every quantity has a price"),
                );
                ok = false;
            }
            _ => {}
        }
        let Some(bound) = tier.up_to else {
            return ok;
        };
        if bound < 1 {
            self.report(Diagnostic::error(
                Code::BadClause,
                "a tier's bound must be at least 1",
                tier.bound_span,
            ));
            ok = false;
        }
        if let Some((before, before_span)) = previous
            && bound <= before
        {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    format!("tier bounds must increase, but {bound} follows {before}"),
                    tier.bound_span,
                )
                .with_secondary(before_span, "the previous bound"),
            );
            ok = false;
        }
        ok
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
    fn bounds_start_at_one_increase_and_end_above() {
        assert_eq!(
            found("a qty = 1 tiers graduated { 0: 1.00, 50: 4.00, 10: 5.00, above: 3.00 }\n"),
            [
                "a tier's bound must be at least 1",
                "tier bounds must increase, but 10 follows 50",
            ]
        );
        assert_eq!(
            found("a qty = 1 tiers volume { above: 3.00, 10: 5.00 }\n"),
            [
                "only the last tier can be `above`",
                "the last tier must be `above`"
            ]
        );
        let checked = customer("a qty = 1 tiers volume { 5: 1.00, above: 0.50 }\n");
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        assert_eq!(
            checked.lines[0].tiers.as_ref().map(|t| t.tiers.len()),
            Some(2)
        );
    }
}
