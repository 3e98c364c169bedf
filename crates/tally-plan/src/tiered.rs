//! Tiered lines: one invoice line per tier the quantity reaches, as Microsoft's own invoices
//! show them (e.g. 5 units at 0.00, then 32 at 2.5415). A tier's unit price is shown as
//! written, possibly with more places than the currency; its amount is rounded with the line's
//! rounding.

use crate::model::PlanLine;
use tally_billing::{Tier, TierMode, price_tiers};
use tally_ir::Line;
use tally_money::Money;

pub(crate) fn tier_lines(
    rule: &Line,
    base: &PlanLine,
    quantity: u64,
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
        let lower = charge
            .tier_index
            .checked_sub(1)
            .and_then(|i| prices.get(i))
            .and_then(|(up_to, _)| *up_to)
            .map_or(1, |b| b + 1);
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

/// A tier price as written, but never with fewer places than the currency's minor unit.
fn price_as_written(price: Money) -> rust_decimal::Decimal {
    let mut amount = price.amount().normalize();
    let minor = price.currency().minor_units();
    if amount.scale() < minor {
        amount.rescale(minor);
    }
    amount
}
