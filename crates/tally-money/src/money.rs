//! An exact amount of one currency.

use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Currency, MoneyError, Rounding};

/// An exact decimal amount of one currency.
///
/// Arithmetic is checked and refuses to mix currencies, because a silent
/// conversion or overflow on an invoice is worse than a clear error.
/// Amounts keep whatever precision arithmetic gives them; rounding to the
/// minor unit happens only when asked, with a named [`Rounding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Wraps an amount. A negative zero is stored as zero so it never prints
    /// as `-0.00`.
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        let mut amount = amount;
        if amount.is_zero() {
            amount.set_sign_positive(true);
        }
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Difference of two amounts of the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Scales by a dimensionless factor (quantity, rate, percentage).
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Divides by a dimensionless divisor. Non-terminating results carry
    /// `Decimal`'s full 28-digit precision; round explicitly afterwards.
    pub fn checked_div(self, divisor: Decimal) -> Result<Money, MoneyError> {
        if divisor.is_zero() {
            return Err(MoneyError::DivisionByZero);
        }
        let amount = self
            .amount
            .checked_div(divisor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Rounds to the currency's minor unit (e.g. pence for GBP).
    pub fn round(self, rounding: Rounding) -> Money {
        self.round_dp(self.currency.minor_units(), rounding)
    }

    /// Rounds to an explicit number of places, for unit prices that are
    /// quoted finer than the minor unit.
    pub fn round_dp(self, decimal_places: u32, rounding: Rounding) -> Money {
        Money::new(rounding.apply(self.amount, decimal_places), self.currency)
    }

    /// True for amounts below zero (credits); zero is not negative.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// The amount with exactly the currency's minor-unit places and no code
    /// (`"12.30"`, `"-0.05"`, `"100"` for JPY), as written in plans.
    ///
    /// An amount with more places than the minor unit is rounded
    /// [`Rounding::HalfUp`] to fit; callers wanting another mode should
    /// [`Money::round`] first.
    pub fn to_minor_unit_string(&self) -> String {
        pad_places(self.to_minor_unit(), self.currency.minor_units())
    }

    /// The amount rounded [`Rounding::HalfUp`] to exactly the currency's minor-unit places (its
    /// scale is the minor unit, so it displays as [`Money::to_minor_unit_string`] does); zero is
    /// never negative.
    pub fn to_minor_unit(&self) -> Decimal {
        let places = self.currency.minor_units();
        let mut value = Rounding::HalfUp.apply(self.amount, places);
        if value.is_zero() {
            value.set_sign_positive(true);
        }
        if value.scale() < places {
            value.rescale(places);
        }
        value
    }
}

/// Writes `value` with at least `min_places` decimal places. Works on the
/// string form so huge values near `Decimal::MAX` cannot fail to rescale.
fn pad_places(value: Decimal, min_places: u32) -> String {
    let mut value = value;
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    let mut s = value.to_string();
    let scale = value.scale();
    if scale < min_places {
        if scale == 0 {
            s.push('.');
        }
        for _ in scale..min_places {
            s.push('0');
        }
    }
    s
}

/// `"12.30 GBP"`: at least the minor-unit places, more when the amount
/// carries further non-zero places (`"13.066666 GBP"`), so display never
/// hides precision that arithmetic still holds.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = pad_places(self.amount.normalize(), self.currency.minor_units());
        write!(f, "{amount} {}", self.currency)
    }
}

/// Serialized as `{"amount": "12.30", "currency": "GBP"}`; the amount is a
/// string so no JSON reader turns it into a lossy binary float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("Money", 2)?;
        st.serialize_field("amount", &self.amount.to_string())?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

/// A decimal that must arrive as a string; a bare JSON number is rejected
/// with a message saying to quote it.
struct QuotedDecimal(Decimal);

impl<'de> Deserialize<'de> for QuotedDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DecimalVisitor;

        impl Visitor<'_> for DecimalVisitor {
            type Value = QuotedDecimal;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a decimal amount as a quoted string, e.g. \"12.30\" \
                     (quote it: JSON numbers can lose precision)",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<QuotedDecimal, E> {
                // Exact: text that would need rounding to fit is an error.
                Decimal::from_str_exact(v)
                    .map(QuotedDecimal)
                    .map_err(|_| E::custom(format_args!("invalid decimal amount `{v}`")))
            }
        }

        deserializer.deserialize_str(DecimalVisitor)
    }
}

#[derive(Deserialize)]
#[serde(rename = "Money", deny_unknown_fields)]
struct MoneyRepr {
    amount: QuotedDecimal,
    currency: Currency,
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = MoneyRepr::deserialize(deserializer)?;
        Ok(Money::new(repr.amount.0, repr.currency))
    }
}
