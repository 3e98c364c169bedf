//! Prorated charges: part of a cycle's price for part of the cycle.
//!
//! `amount = unit_price / cycle_days * days * quantity`, rounded to the
//! currency's minor unit by a named [`ProrationRounding`], because
//! Microsoft's own worked examples need different roundings (DOMAIN.md,
//! "NCE proration arithmetic").
//!
//! Order of operations: everything is multiplied first and divided by the
//! cycle once, last (`unit * days * qty / cycle`). Multiplications of
//! decimals by integers are exact; the single division is the only inexact
//! step. A quotient that lands on a cent is exact and is returned exactly;
//! one that does not is at least `1 / (200 * cycle * 10^scale)` away from
//! every cent and half cent, far more than the error in the 28th digit for
//! any realistic amount, so every rounding mode sees the right side. Dividing
//! first is not safe: `10 / 30` is stored as `0.3333...3`, `* 30` then
//! gives `9.999...9`, which truncates to 9.99 instead of 10.00.
//!
//! Proration does not add up: prorating consecutive segments of a cycle
//! separately and summing differs from prorating the whole cycle by up to
//! one minor unit per segment (per unit per segment with `TruncateUnit`,
//! which rounds before multiplying by the quantity): 10.00 over three
//! 10-day thirds of a 30-day cycle is 3.33 * 3 = 9.99, not 10.00. Microsoft
//! invoices the rounded pieces, so Tally prorates each segment explicitly
//! and sums the rounded results; it never derives one from the other.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_money::{Money, Rounding};

use crate::BillingError;

/// How a prorated charge is rounded to the currency's minor unit. Names as
/// written in rule files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProrationRounding {
    /// R1: `trunc(unit / cycle * days * qty)`, toward zero. Reproduces
    /// Microsoft's seat add/remove examples (N05-N08).
    TruncateProduct,
    /// R2: `trunc(unit / cycle * days) * qty`: the per-seat price is
    /// truncated first. Microsoft's documented formula for seat-based lines;
    /// reproduces the cancel and upgrade examples (N21, N23-N26) and the
    /// change of billing plan (C01).
    TruncateUnit,
    /// `round_half_up(unit / cycle * days * qty)`, halves away from zero.
    /// The Azure tiered example (81.328 -> 81.33) and legacy proration (L01).
    HalfUp,
    /// As `HalfUp` with halves to the even digit.
    HalfEven,
    /// `round_half_up(unit / cycle * days) * qty`: the per-unit prorated price is rounded to
    /// the minor unit first, then multiplied by the quantity. ConnectWise Manage's proration
    /// (22.00 for 17 of 31 days is 12.06 a unit, so 2 units are 24.12, where rounding the
    /// product would give 24.13).
    UnitHalfUp,
}

impl ProrationRounding {
    pub const ALL: [ProrationRounding; 5] = [
        ProrationRounding::TruncateProduct,
        ProrationRounding::TruncateUnit,
        ProrationRounding::HalfUp,
        ProrationRounding::HalfEven,
        ProrationRounding::UnitHalfUp,
    ];

    /// The snake_case name used in rule files.
    pub fn name(self) -> &'static str {
        match self {
            ProrationRounding::TruncateProduct => "truncate_product",
            ProrationRounding::TruncateUnit => "truncate_unit",
            ProrationRounding::HalfUp => "half_up",
            ProrationRounding::HalfEven => "half_even",
            ProrationRounding::UnitHalfUp => "unit_half_up",
        }
    }

    /// Inverse of [`ProrationRounding::name`]; exact, case-sensitive match.
    pub fn from_name(s: &str) -> Option<ProrationRounding> {
        ProrationRounding::ALL.into_iter().find(|r| r.name() == s)
    }
}

impl std::fmt::Display for ProrationRounding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One prorated charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prorated {
    /// The charge at the currency's minor unit; negative for a refund.
    pub amount: Money,
    /// Price per unit for this part of the cycle, as Microsoft's
    /// `EffectiveUnitPrice`: `unit * days / cycle` unrounded (normalized,
    /// up to 28 digits) for `TruncateProduct` and the half modes, truncated
    /// to the minor unit for `TruncateUnit` (rounded half up for `UnitHalfUp`). Carries the unit price's sign,
    /// not the quantity's (a refund has a positive effective price and a
    /// negative quantity; Microsoft prints the price negative instead).
    pub effective_unit_price: Decimal,
    /// Days charged (months, from [`prorate_months`]).
    pub days: i64,
    /// The divisor: cycle days (12, from [`prorate_months`]).
    pub cycle_days: i64,
}

/// Prorates `quantity` units at `unit_price` per full cycle for `days` of a
/// cycle of `cycle_days`.
///
/// A negative quantity is a refund; truncation is toward zero, so a refund
/// is the exact negation of the matching charge (Microsoft's N05: 10.08 over
/// 28 of 30 days for -10 seats is -94.08 with `TruncateProduct`).
///
/// `days` may exceed `cycle_days`: Microsoft's cycle days are the days of
/// the month a cycle starts in, and a cycle from February 28 to March 30 is
/// 31 days long with 28 cycle days. Rejecting that is the caller's policy.
///
/// Errors: `cycle_days == 0` is [`BillingError::DivisionByZero`]; negative
/// `days` or `cycle_days` is [`BillingError::NegativeDays`]; a result beyond
/// `Decimal` is [`BillingError::Overflow`].
pub fn prorate(
    unit_price: Money,
    quantity: i64,
    days: i64,
    cycle_days: i64,
    rounding: ProrationRounding,
) -> Result<Prorated, BillingError> {
    if days < 0 || cycle_days < 0 {
        return Err(BillingError::NegativeDays);
    }
    if cycle_days == 0 {
        return Err(BillingError::DivisionByZero);
    }
    let places = unit_price.currency().minor_units();
    let qty = Decimal::from(quantity);
    let cycle = Decimal::from(cycle_days);
    let unit_days = mul(unit_price.amount(), Decimal::from(days))?;
    let exact_unit = div(unit_days, cycle)?;

    let (amount, effective_unit_price) = match rounding {
        ProrationRounding::TruncateUnit => {
            let unit = Rounding::Truncate.apply(exact_unit, places);
            // Exact: a minor-unit price times an integer.
            (mul(unit, qty)?, unit)
        }
        ProrationRounding::UnitHalfUp => {
            let unit = Rounding::HalfUp.apply(exact_unit, places);
            (mul(unit, qty)?, unit)
        }
        ProrationRounding::TruncateProduct => {
            let total = div(mul(unit_days, qty)?, cycle)?;
            (Rounding::Truncate.apply(total, places), exact_unit)
        }
        ProrationRounding::HalfUp => {
            let total = div(mul(unit_days, qty)?, cycle)?;
            (Rounding::HalfUp.apply(total, places), exact_unit)
        }
        ProrationRounding::HalfEven => {
            let total = div(mul(unit_days, qty)?, cycle)?;
            (Rounding::HalfEven.apply(total, places), exact_unit)
        }
    };

    // Written with exactly the minor-unit places ("94.08", "100.80") so
    // plans print the same text whatever path produced the value; rescaling
    // upward never changes the value.
    let mut amount = amount;
    amount.rescale(places);
    Ok(Prorated {
        amount: Money::new(amount, unit_price.currency()),
        effective_unit_price: effective_unit_price.normalize(),
        days,
        cycle_days,
    })
}

/// Whole-month proration, as Microsoft uses when a subscription changes
/// billing plan from monthly to annual: the annual price for `months` of 12
/// (C01: 250 for 11 of 12 months is 229.16 per seat with `TruncateUnit`,
/// 2291.60 for 10 seats; `TruncateProduct` would give 2291.66). The result's
/// `days` and `cycle_days` hold `months` and 12.
pub fn prorate_months(
    unit_price: Money,
    quantity: i64,
    months: u32,
    rounding: ProrationRounding,
) -> Result<Prorated, BillingError> {
    prorate(unit_price, quantity, i64::from(months), 12, rounding)
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, BillingError> {
    a.checked_mul(b).ok_or(BillingError::Overflow)
}

fn div(a: Decimal, b: Decimal) -> Result<Decimal, BillingError> {
    a.checked_div(b).ok_or(BillingError::Overflow)
}
