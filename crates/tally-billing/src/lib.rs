//! Pure billing arithmetic for Tally: the calendar, proration, window and
//! tier rules that Microsoft's billing and MSP contracts follow, with no I/O
//! and no state, so the evaluator and the plan stage can share one
//! implementation checked against Microsoft's worked examples
//! (`tests/oracles/`).
//!
//! Where Microsoft's own examples disagree, the behaviour is a named choice
//! ([`ProrationRounding`], [`MonthAnchor`]) rather than a constant.
//!
//! ```
//! use tally_billing::{prorate, ProrationRounding};
//! use tally_money::{Currency, Decimal, Money};
//!
//! // Microsoft's N05: 10 seats at 10.08 refunded for 28 of 30 cycle days.
//! let usd = Currency::from_code("USD")?;
//! let unit = Money::new(Decimal::new(1008, 2), usd);
//! let refund = prorate(unit, -10, 28, 30, ProrationRounding::TruncateProduct)?;
//! assert_eq!(refund.amount.to_string(), "-94.08 USD");
//! assert_eq!(refund.effective_unit_price.to_string(), "9.408");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod calendar;
pub mod error;
pub mod proration;
pub mod tiers;
pub mod window;

// Everything is also at the crate root, so callers need not know the modules.
pub use calendar::{
    CycleLength, Cycles, MonthAnchor, Term, billing_period, cycle_containing,
    cycle_containing_anchored, cycle_days, inclusive_days, term_end,
};
pub use error::BillingError;
pub use proration::{Prorated, ProrationRounding, prorate, prorate_months};
pub use tiers::{Tier, TierCharge, TierMode, price_tiers};
pub use window::{REDUCTION_WINDOW, reduction_allowed, reduction_allowed_on};
