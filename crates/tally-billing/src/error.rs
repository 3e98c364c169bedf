//! Errors from billing arithmetic.

use std::fmt;

use tally_money::{Currency, MoneyError};

/// Why a billing calculation failed.
///
/// Messages are short and lowercase so the evaluator can embed them in its
/// own diagnostics (with the rule span) without rewording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingError {
    /// A proration over a cycle of zero days (or zero months).
    DivisionByZero,
    /// A result does not fit in a `Decimal` (about 28 significant digits).
    Overflow,
    /// A day or month count below zero: a charge cannot cover negative time.
    NegativeDays,
    /// A tier table that cannot price every quantity unambiguously.
    BadTiers(String),
    /// Two amounts of different currencies met, which would need an exchange
    /// rate nobody supplied.
    CurrencyMismatch { left: Currency, right: Currency },
    /// Any other money error, passed through unchanged.
    Money(MoneyError),
}

impl fmt::Display for BillingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BillingError::DivisionByZero => f.write_str("division by zero: cycle has no days"),
            BillingError::Overflow => f.write_str("amount overflow"),
            BillingError::NegativeDays => f.write_str("negative day count"),
            BillingError::BadTiers(why) => write!(f, "bad tiers: {why}"),
            BillingError::CurrencyMismatch { left, right } => {
                write!(f, "currency mismatch: `{left}` and `{right}`")
            }
            BillingError::Money(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BillingError {}

impl From<MoneyError> for BillingError {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::Overflow => BillingError::Overflow,
            MoneyError::DivisionByZero => BillingError::DivisionByZero,
            MoneyError::CurrencyMismatch { left, right } => {
                BillingError::CurrencyMismatch { left, right }
            }
            other => BillingError::Money(other),
        }
    }
}
