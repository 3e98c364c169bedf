//! Snapshot money in the customer's currency.

use super::{Ctx, Evaluator, InModule, Result};
use crate::Conversion;
use tally_diagnostics::{Code, Diagnostic};
use tally_ir::TExpr;
use tally_money::Money;

impl Evaluator<'_> {
    /// Snapshot money in the customer's currency: as it is, or converted at a rate the snapshot
    /// gives (never fetched). Each conversion is recorded for the line's provenance. `what`
    /// names the money in the error when there is no rate ("a usage row's cost").
    pub(super) fn customer_money(
        &self,
        money: Money,
        what: &str,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<Money> {
        if money.currency() == self.currency {
            return Ok(money);
        }
        let Some(rate) = self
            .snapshot
            .rate(money.currency(), self.currency, self.date)
        else {
            let (from, to) = (money.currency(), self.currency);
            return Err(Diagnostic::error(
                Code::MissingData,
                format!("no rate from {from} to {to} for {what}"),
                expr.span,
            )
            .with_help(format!(
                "add the rate to the snapshot's `rates`, e.g. {{ \"from\": \"{from}\", \"to\": \"{to}\", \"rate\": \"0.79\", \"date\": \"{}\" }}; Tally never fetches rates",
                self.date
            )))
            .in_module(ctx);
        };
        let converted = money
            .checked_mul(rate.rate)
            .map(|m| Money::new(m.amount(), self.currency))
            .map_err(|e| Diagnostic::error(Code::Overflow, e.to_string(), expr.span))
            .in_module(ctx)?;
        let conversion = Conversion {
            from: money,
            to: converted,
            rate: rate.rate,
            date: rate.date,
        };
        let mut conversions = self.conversions.borrow_mut();
        if !conversions.contains(&conversion) {
            conversions.push(conversion);
        }
        Ok(converted)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Fixture, code, gbp, usd};
    use rust_decimal::Decimal;
    use tally_diagnostics::Code;
    use tally_money::Money;

    #[test]
    fn money_in_the_customer_currency_is_not_converted() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let ten = Money::new(Decimal::TEN, gbp());
        let expr = fixture.leaf();
        let converted = evaluator.customer_money(ten, "a cost", &expr, fixture.ctx());
        assert_eq!(converted.ok(), Some(ten));
        assert!(evaluator.conversions.borrow().is_empty());
    }

    #[test]
    fn other_money_is_converted_at_the_snapshot_rate_and_recorded_once() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let ten_dollars = Money::new(Decimal::TEN, usd());
        let expr = fixture.leaf();
        for _ in 0..2 {
            let converted = evaluator.customer_money(ten_dollars, "a cost", &expr, fixture.ctx());
            // The fixture's rate is 0.80 GBP to the dollar.
            assert_eq!(converted.ok(), Some(Money::new(Decimal::new(8, 0), gbp())));
        }
        let conversions = evaluator.conversions.borrow();
        assert_eq!(conversions.len(), 1);
        assert_eq!(conversions[0].rate, Decimal::new(80, 2));
    }

    #[test]
    fn money_without_a_rate_is_a_currency_mismatch() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let euros = Money::new(
            Decimal::TEN,
            tally_money::Currency::from_code("EUR").unwrap(),
        );
        let expr = fixture.leaf();
        let e = evaluator.customer_money(euros, "a usage row's cost", &expr, fixture.ctx());
        assert_eq!(code(e), Some(Code::MissingData));
    }
}
