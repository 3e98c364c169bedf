//! What a line's values must be: a quantity a whole number of units (a list of users counts
//! as its length), a price or amount money in the customer's currency (a plain number is taken
//! to be in it).

use crate::Checker;
use tally_diagnostics::{Code, Diagnostic};
use tally_ir::{CurrencyRef, TExpr, TExprKind, Type};

impl Checker<'_> {
    /// A line's quantity: a whole number (a list of users counts as its length).
    pub(super) fn quantity(&mut self, value: TExpr) -> TExpr {
        let value = self.numeric(value);
        match &value.ty {
            Type::Int | Type::Error => value,
            Type::Decimal | Type::Percent => {
                self.report(
                    Diagnostic::error(
                        Code::NonIntegerQuantity,
                        "a seat quantity must be a whole number",
                        value.span,
                    )
                    .with_label_message(format!("this is {}", value.ty.describe()))
                    .with_help(
                        "say how to make it whole: `ceil(...)`, `floor(...)` or `round(...)`",
                    ),
                );
                TExpr::error(value.span)
            }
            Type::Money(_) => {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        "a quantity is a count, but this is money",
                        value.span,
                    )
                    .with_help("to bill an amount of money write `name amount = ...`"),
                );
                TExpr::error(value.span)
            }
            other => {
                self.report(Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "a quantity must be a whole number, but this is {}",
                        other.describe()
                    ),
                    value.span,
                ));
                TExpr::error(value.span)
            }
        }
    }

    /// A price or amount: money in the customer's currency; a plain number is taken to be in it.
    pub(super) fn money(&mut self, value: TExpr, what: &str) -> TExpr {
        let value = self.numeric(value);
        let span = value.span;
        match &value.ty {
            Type::Error => value,
            Type::Int | Type::Decimal => TExpr {
                ty: self.localise(&Type::Money(CurrencyRef::Customer)),
                kind: TExprKind::ToMoney(Box::new(value)),
                span,
            },
            Type::Money(CurrencyRef::Fixed(c)) => {
                if let Some(customer) = self.customer_currency
                    && customer != *c
                {
                    self.report(
                        Diagnostic::error(
                            Code::CurrencyMismatch,
                            format!("{what} in {c} for a customer invoiced in {customer}"),
                            span,
                        )
                        .with_help(format!(
                            "write it in {customer}: a rule's own amounts must be in the customer's currency (exchange rates apply only to snapshot costs)"
                        )),
                    );
                    return TExpr::error(span);
                }
                value
            }
            Type::Money(CurrencyRef::Customer) => value,
            other => {
                let code = self.customer_currency.map_or("GBP", |c| c.code());
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("{what} must be money, but this is {}", other.describe()),
                        span,
                    )
                    .with_help(format!("write an amount like `25.00` or `25.00 {code}`, or a cost times a markup like `bp.cost * 1.12`")),
                );
                TExpr::error(span)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, messages, only};
    use tally_diagnostics::Code;

    #[test]
    fn a_quantity_is_a_whole_number() {
        let checked = customer(
            "a qty = count(m365.users) / 2 price 1.00\nb qty = 2.00 GBP price 1.00\nc qty = \"ten\" price 1.00\nd qty = 1 price 1.00 minimum 2.5\n",
        );
        assert_eq!(
            messages(&checked),
            [
                (
                    Code::NonIntegerQuantity,
                    "a seat quantity must be a whole number".into()
                ),
                (
                    Code::TypeMismatch,
                    "a quantity is a count, but this is money".into()
                ),
                (
                    Code::TypeMismatch,
                    "a quantity must be a whole number, but this is text".into()
                ),
                (
                    Code::NonIntegerQuantity,
                    "a seat quantity must be a whole number".into()
                ),
            ]
        );
    }

    #[test]
    fn a_price_is_money_in_the_customers_currency() {
        let d = only(&customer("a qty = 1 price 10.00 USD\n")).clone();
        assert_eq!(d.code, Code::CurrencyMismatch);
        assert_eq!(d.message, "a price in USD for a customer invoiced in GBP");
        assert_eq!(
            d.help.as_deref(),
            Some(
                "write it in GBP: a rule's own amounts must be in the customer's currency (exchange rates apply only to snapshot costs)"
            )
        );
        let d = only(&customer("a qty = 1 price 12%\n")).clone();
        assert_eq!(d.message, "a price must be money, but this is a percentage");
        let checked = customer("a qty = 1 price 10\nb amount = 5.5\n");
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    }
}
