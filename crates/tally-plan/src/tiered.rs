//! Tiered lines: one invoice line per tier the quantity reaches, as Microsoft's own invoices
//! show them (e.g. 5 units at 0.00, then 32 at 2.5415). A tier's unit price is shown as
//! written, possibly with more places than the currency; its amount is rounded with the line's
//! rounding.

use crate::model::PlanLine;
use tally_billing::{Tier, TierCharge, TierMode, price_tiers};
use tally_ir::Line;
use tally_money::Money;

/// `quantity` is the count after the minimum; `included` units are free, and they are the
/// first units of the table (Microsoft's tiered example: the first tier's units are the free
/// ones), not units taken off before tiering: with `included 5` and tiers `10: 2.00, above:
/// 1.00`, 12 units bill units 6–10 at 2.00 and 11–12 at 1.00.
pub(crate) fn tier_lines(
    rule: &Line,
    base: &PlanLine,
    quantity: u64,
    included: u64,
    prices: &[(Option<u64>, Money)],
    mode: TierMode,
) -> Result<Vec<(PlanLine, Option<Money>)>, String> {
    let tiers: Vec<Tier> = prices
        .iter()
        .map(|(up_to, unit_price)| Tier {
            up_to: *up_to,
            unit_price: *unit_price,
        })
        .collect();
    let charges = price_tiers(quantity, &tiers, mode).map_err(|e| e.to_string())?;
    let charges = without_included(charges, included, &tiers, mode)?;
    let Some(first) = prices.first() else {
        return Err("a tiered line has no tiers".into());
    };
    if charges.is_empty() {
        let zero = Money::zero(first.1.currency());
        let mut line = base.clone();
        line.quantity = 0;
        line.amount = Some(zero.to_minor_unit());
        return Ok(vec![(line, Some(zero))]);
    }
    let mut out = Vec::new();
    for charge in charges {
        let tier_start = charge
            .tier_index
            .checked_sub(1)
            .and_then(|i| prices.get(i))
            .and_then(|(up_to, _)| *up_to)
            .map_or(1, |b| b + 1);
        // In graduated pricing the included units are the table's first positions.
        let lower = if mode == TierMode::Graduated {
            tier_start.max(included + 1)
        } else {
            tier_start
        };
        let range = match prices.get(charge.tier_index).and_then(|(up_to, _)| *up_to) {
            Some(upper) => format!("units {lower}–{upper}"),
            None => format!("units {lower} and above"),
        };
        let amount = charge.amount.round(rule.rounding.money());
        let mut line = base.clone();
        line.id = format!("{}/tier{}", base.id, charge.tier_index + 1);
        line.quantity = i64::try_from(charge.units).map_err(|e| e.to_string())?;
        line.unit_price = Some(price_as_written(charge.unit_price));
        line.amount = Some(amount.to_minor_unit());
        line.description = format!("{}: {range}, {} pricing", rule.description, mode.name());
        out.push((line, Some(amount)));
    }
    Ok(out)
}

/// The charges less the first `included` units: in graduated pricing those are the cheapest
/// positions of the table (the first tiers); in volume pricing every unit has the tier of the
/// whole quantity, and `included` of them are free.
fn without_included(
    charges: Vec<TierCharge>,
    included: u64,
    tiers: &[Tier],
    mode: TierMode,
) -> Result<Vec<TierCharge>, String> {
    if included == 0 {
        return Ok(charges);
    }
    let free: Vec<TierCharge> = match mode {
        TierMode::Graduated => price_tiers(included, tiers, mode).map_err(|e| e.to_string())?,
        TierMode::Volume => charges
            .iter()
            .map(|c| TierCharge {
                units: included.min(c.units),
                ..*c
            })
            .collect(),
    };
    let mut out = Vec::new();
    for charge in charges {
        let taken = free
            .iter()
            .filter(|f| f.tier_index == charge.tier_index)
            .map(|f| f.units)
            .sum::<u64>();
        let units = charge.units.saturating_sub(taken);
        if units == 0 {
            continue;
        }
        let amount = charge
            .unit_price
            .checked_mul(units.into())
            .map_err(|e| e.to_string())?;
        out.push(TierCharge {
            units,
            amount,
            ..charge
        });
    }
    Ok(out)
}

/// A tier price as written, but never with fewer places than the currency's minor unit.
fn price_as_written(price: Money) -> rust_decimal::Decimal {
    let mut amount = price.amount().normalize();
    let minor = price.currency().minor_units();
    if amount.scale() < minor {
        amount.rescale(minor);
    }
    amount
}
