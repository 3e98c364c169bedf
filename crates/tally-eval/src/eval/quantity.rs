//! What a line's clauses must come to: a whole number of units (quantity, minimum, included
//! units) or money in the customer's currency (amount and prices).

use super::{Outcome, unexpected};
use crate::value::{Value, show_decimal, without_negative_zero};
use rust_decimal::prelude::ToPrimitive;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_money::{Currency, Money};

/// The whole number of units `value` comes to. `what` names the clause ("quantity"), `line`
/// the line. Every whole-valued number is accepted whatever its scale (`5.00`) or the sign of
/// its zero (`ceil(-0.5)` is `-0`).
pub(super) fn whole(value: &Value, span: Span, what: &str, line: &str) -> Outcome<u64> {
    let Value::Num(n) = value else {
        return Err(unexpected(&format!("a number for the {what}"), value, span));
    };
    let n = without_negative_zero(*n);
    if n.is_sign_negative() {
        return Err(Diagnostic::error(
            Code::NegativeQuantity,
            format!("the {what} of `{line}` is {}", show_decimal(n)),
            span,
        )
        .with_label_message(format!("this came to {}", show_decimal(n)))
        .with_help("a quantity cannot be negative; bill a credit as a negative price instead"));
    }
    if !n.fract().is_zero() {
        return Err(Diagnostic::error(
            Code::NonIntegerQuantity,
            format!(
                "the {what} {} is not a whole number of units",
                show_decimal(n)
            ),
            span,
        ));
    }
    n.to_u64().ok_or_else(|| {
        Diagnostic::error(
            Code::Overflow,
            format!("the {what} {} is too large to count", show_decimal(n)),
            span,
        )
    })
}

/// The money `value` comes to, in the customer's currency. The checker has made every price
/// and amount money in that currency (a plain number becomes money explicitly).
pub(super) fn money(value: Value, span: Span, currency: Currency, what: &str) -> Outcome<Money> {
    match value {
        Value::Money(m) if m.currency() == currency => Ok(m),
        other => Err(unexpected(
            &format!("money in {currency} for {what}"),
            &other,
            span,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn quantity(n: Decimal) -> Outcome<u64> {
        whole(&Value::Num(n), Span::default(), "quantity", "seats")
    }

    #[test]
    fn negative_zero_is_zero_units() {
        let minus_zero = Decimal::new(-5, 1).ceil();
        assert!(minus_zero.is_zero() && minus_zero.is_sign_negative());
        assert_eq!(quantity(minus_zero), Ok(0));
        assert_eq!(quantity(Decimal::new(-0, 2)), Ok(0));
        let mut zero_point_zero = Decimal::new(0, 1);
        zero_point_zero.set_sign_negative(true);
        assert_eq!(quantity(zero_point_zero), Ok(0));
    }

    #[test]
    fn every_whole_valued_decimal_is_accepted_whatever_its_scale_or_zero_sign() {
        for units in 0..=300i64 {
            for scale in 0..=6u32 {
                let factor = 10i64.pow(scale);
                let n = Decimal::new(units * factor, scale);
                assert_eq!(quantity(n), Ok(units as u64), "{n}");
                if units == 0 {
                    let mut minus = n;
                    minus.set_sign_negative(true);
                    assert_eq!(quantity(minus), Ok(0), "-{n}");
                }
            }
        }
        // Large values at a scale too.
        let big = Decimal::new(i64::from(u32::MAX) * 1000, 3);
        assert_eq!(quantity(big), Ok(u64::from(u32::MAX)));
    }

    #[test]
    fn fractions_are_not_units() {
        for (mantissa, scale) in [(25, 1), (1, 3), (-1, 3), (10001, 4)] {
            let n = Decimal::new(mantissa, scale);
            let e = quantity(n).err().map(|d| d.code);
            let expected = if mantissa < 0 {
                Code::NegativeQuantity
            } else {
                Code::NonIntegerQuantity
            };
            assert_eq!(e, Some(expected), "{n}");
        }
        let e = quantity(Decimal::new(25, 1)).err();
        assert_eq!(
            e.map(|d| d.message),
            Some("the quantity 2.5 is not a whole number of units".to_string())
        );
    }

    #[test]
    fn negative_quantities_say_their_value() {
        let e = quantity(Decimal::from(-3)).err();
        assert_eq!(e.as_ref().map(|d| d.code), Some(Code::NegativeQuantity));
        assert_eq!(
            e.map(|d| d.message),
            Some("the quantity of `seats` is -3".to_string())
        );
    }

    #[test]
    fn a_whole_number_beyond_counting_is_an_overflow() {
        let e = quantity(Decimal::MAX).err().map(|d| d.code);
        assert_eq!(e, Some(Code::Overflow));
    }

    #[test]
    fn a_quantity_that_is_not_a_number_is_an_internal_error() {
        let e = whole(&Value::Text("3".into()), Span::default(), "quantity", "x").err();
        assert_eq!(e.map(|d| d.code), Some(Code::Internal));
    }

    #[test]
    fn money_must_be_in_the_customer_currency() {
        let gbp = Currency::from_code("GBP").unwrap();
        let usd = Currency::from_code("USD").unwrap();
        let price = Money::new(Decimal::new(1000, 2), gbp);
        assert_eq!(
            money(Value::Money(price), Span::default(), gbp, "a price"),
            Ok(price)
        );
        let other = Value::Money(Money::new(Decimal::ONE, usd));
        let plain = Value::Num(Decimal::ONE);
        for value in [other, plain] {
            let e = money(value, Span::default(), gbp, "a price").err();
            assert_eq!(e.map(|d| d.code), Some(Code::Internal));
        }
    }
}
