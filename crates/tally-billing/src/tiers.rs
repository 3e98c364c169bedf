//! Tiered prices: a quantity priced against a table of unit-count bands.

use rust_decimal::Decimal;
use tally_money::Money;

use crate::BillingError;

/// One band of a tier table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tier {
    /// Inclusive upper bound in units; `None` means "and above" and is only
    /// allowed (and required) on the last tier. The band starts one unit
    /// after the previous tier's bound (the first at unit 1).
    pub up_to: Option<u64>,
    pub unit_price: Money,
}

/// How a quantity meets the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TierMode {
    /// Each unit is priced by the tier it falls in (Azure's meters: units
    /// 1-5 free, 6 and up at 2.99).
    Graduated,
    /// All units at the price of the tier the total falls in. Not monotone:
    /// crossing into a cheaper tier can lower the total.
    Volume,
}

impl TierMode {
    pub const ALL: [TierMode; 2] = [TierMode::Graduated, TierMode::Volume];

    /// The snake_case name used in rule files.
    pub fn name(self) -> &'static str {
        match self {
            TierMode::Graduated => "graduated",
            TierMode::Volume => "volume",
        }
    }

    /// Inverse of [`TierMode::name`]; exact match.
    pub fn from_name(s: &str) -> Option<TierMode> {
        TierMode::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// The units priced in one tier. Amounts are exact (`units * unit_price`,
/// no rounding): the line's rounding rule applies to the total, as in
/// Microsoft's tiered example (32 * 2.5415 = 81.328, invoiced 81.33).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierCharge {
    /// Index into the tier table (0-based).
    pub tier_index: usize,
    pub units: u64,
    pub unit_price: Money,
    pub amount: Money,
}

/// Prices `quantity` units against `tiers`.
///
/// Returns one charge per tier that holds units, in table order; tiers with
/// no units are left out, so a quantity of 0 gives no charges. `Volume`
/// gives at most one charge.
///
/// Errors ([`BillingError::BadTiers`] unless noted): an empty table; a bound
/// not above the previous one (the first must be at least 1); an unbounded
/// tier before the last, or a bounded last tier (some quantity would have no
/// price); prices in different currencies
/// ([`BillingError::CurrencyMismatch`]).
pub fn price_tiers(
    quantity: u64,
    tiers: &[Tier],
    mode: TierMode,
) -> Result<Vec<TierCharge>, BillingError> {
    validate(tiers)?;
    let mut charges = Vec::new();
    if quantity == 0 {
        return Ok(charges);
    }
    match mode {
        TierMode::Graduated => {
            let mut below = 0u64; // units covered by earlier tiers
            for (index, tier) in tiers.iter().enumerate() {
                let top = tier.up_to.unwrap_or(u64::MAX);
                let units = quantity.min(top).saturating_sub(below);
                charges.push(charge(index, units, tier.unit_price)?);
                if quantity <= top {
                    break;
                }
                below = top;
            }
        }
        TierMode::Volume => {
            let found = tiers
                .iter()
                .enumerate()
                .find(|(_, t)| t.up_to.is_none_or(|top| quantity <= top));
            if let Some((index, tier)) = found {
                charges.push(charge(index, quantity, tier.unit_price)?);
            }
        }
    }
    Ok(charges)
}

fn charge(tier_index: usize, units: u64, unit_price: Money) -> Result<TierCharge, BillingError> {
    Ok(TierCharge {
        tier_index,
        units,
        unit_price,
        amount: unit_price.checked_mul(Decimal::from(units))?,
    })
}

fn validate(tiers: &[Tier]) -> Result<(), BillingError> {
    let Some(first) = tiers.first() else {
        return Err(BillingError::BadTiers("no tiers".to_string()));
    };
    let last = tiers.len() - 1;
    let mut previous = 0u64;
    for (index, tier) in tiers.iter().enumerate() {
        let number = index + 1; // as a person counts the rows
        if tier.unit_price.currency() != first.unit_price.currency() {
            return Err(BillingError::CurrencyMismatch {
                left: first.unit_price.currency(),
                right: tier.unit_price.currency(),
            });
        }
        match tier.up_to {
            None if index != last => {
                return Err(BillingError::BadTiers(format!(
                    "only the last tier may be unbounded, but tier {number} of {} is",
                    tiers.len()
                )));
            }
            None => {}
            Some(_) if index == last => {
                return Err(BillingError::BadTiers(format!(
                    "the last tier (tier {number}) must be unbounded so every quantity has a price"
                )));
            }
            Some(top) if top <= previous => {
                return Err(BillingError::BadTiers(format!(
                    "tier bounds must increase: tier {number} ends at {top}, not above {previous}"
                )));
            }
            Some(top) => previous = top,
        }
    }
    Ok(())
}
