//! Errors from money arithmetic and currency parsing.

use std::fmt;

use crate::Currency;

/// Why a money operation failed.
///
/// Messages are short and lowercase so callers can embed them in larger
/// diagnostics; user-supplied text is shown in backticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// The code is not an ISO 4217 currency. `suggestion` is set when a
    /// near-miss (e.g. wrong case) names a real one.
    UnknownCurrency {
        code: String,
        suggestion: Option<String>,
    },
    /// Adding or subtracting amounts of different currencies, which would
    /// silently need an exchange rate.
    CurrencyMismatch { left: Currency, right: Currency },
    /// The result does not fit in a `Decimal` (about 28 significant digits).
    Overflow,
    /// Division by an exact zero.
    DivisionByZero,
    /// Allocation weights are empty or all zero, so there is no proportion to
    /// follow; the caller decides where the quantity goes.
    NoWeights,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::UnknownCurrency { code, suggestion } => {
                write!(f, "unknown currency `{code}`")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                Ok(())
            }
            MoneyError::CurrencyMismatch { left, right } => {
                write!(f, "currency mismatch: `{left}` and `{right}`")
            }
            MoneyError::Overflow => f.write_str("amount overflow"),
            MoneyError::DivisionByZero => f.write_str("division by zero"),
            MoneyError::NoWeights => f.write_str("no non-zero weights to allocate over"),
        }
    }
}

impl std::error::Error for MoneyError {}
