//! Exact money for Tally.
//!
//! Billing must be reproducible to the penny, so everything here is decimal
//! (never binary floating point), every rounding is named, and splitting a
//! total always adds back up to that total.
//!
//! ```
//! use tally_money::{allocate_money, Currency, Decimal, Money, Rounding};
//!
//! let gbp = Currency::from_code("GBP")?;
//! let fee = Money::new(Decimal::new(100, 0), gbp).checked_div(Decimal::new(3, 0))?;
//! assert_eq!(fee.round(Rounding::HalfUp).to_string(), "33.33 GBP");
//! let parts = allocate_money(Money::new(Decimal::new(100, 0), gbp), &[1, 1, 1])?;
//! let shown: Vec<String> = parts.iter().map(Money::to_minor_unit_string).collect();
//! assert_eq!(shown, ["33.34", "33.33", "33.33"]);
//! # Ok::<(), tally_money::MoneyError>(())
//! ```

mod allocate;
mod currency;
mod error;
mod money;
mod rounding;

pub use allocate::{allocate_money, allocate_units};
pub use currency::Currency;
pub use error::MoneyError;
pub use money::Money;
pub use rounding::Rounding;

/// Re-exported so callers name the same decimal type this crate uses.
pub use rust_decimal::Decimal;
