//! Splitting a total into parts that add back up to it exactly.
//!
//! Uses the largest-remainder (Hamilton) method in integer arithmetic:
//! each part gets the floor of its exact proportional share, and the few
//! units left over go to the parts with the largest fractional remainders,
//! ties to the lower index. Integers make the result exact and the
//! tie-break makes it deterministic, so re-running a bill gives the same
//! pennies on the same lines.

use rust_decimal::Decimal;

use crate::{Money, MoneyError, Rounding};

/// Allocates `total` whole units over `weights`.
///
/// Parts are proportional to the weights, each within one unit of its exact
/// share, and sum exactly to `total`; zero weights get zero. Returns
/// [`MoneyError::NoWeights`] when `weights` is empty or all zero, since there
/// is then no proportion to follow.
pub fn allocate_units(total: u64, weights: &[u64]) -> Result<Vec<u64>, MoneyError> {
    largest_remainder(u128::from(total), weights)?
        .into_iter()
        .map(|part| u64::try_from(part).map_err(|_| MoneyError::Overflow))
        .collect()
}

/// Allocates a money total over `weights` in the currency's minor units
/// (pence, cents, yen), by the same rule as [`allocate_units`].
///
/// The total is first rounded to the minor unit with [`Rounding::HalfUp`]
/// (a total finer than a penny cannot be split into whole pennies), and the
/// parts sum exactly to that rounded total. Negative totals (credits) are
/// allocated symmetrically: the absolute value is split, then each part
/// negated. Every part has exactly the minor-unit number of places.
pub fn allocate_money(total: Money, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
    let currency = total.currency();
    let places = currency.minor_units();
    let rounded = Rounding::HalfUp.apply(total.amount(), places);

    // `rounded` has at most `places` places, so scaling its mantissa up to
    // exactly `places` gives the total as an integer count of minor units.
    let widen = places
        .checked_sub(rounded.scale())
        .and_then(|extra| 10u128.checked_pow(extra))
        .ok_or(MoneyError::Overflow)?;
    let units = rounded
        .mantissa()
        .unsigned_abs()
        .checked_mul(widen)
        .ok_or(MoneyError::Overflow)?;
    let negative = rounded.is_sign_negative();

    largest_remainder(units, weights)?
        .into_iter()
        .map(|part| {
            let part = i128::try_from(part).map_err(|_| MoneyError::Overflow)?;
            let signed = if negative { -part } else { part };
            let amount = Decimal::try_from_i128_with_scale(signed, places)
                .map_err(|_| MoneyError::Overflow)?;
            Ok(Money::new(amount, currency))
        })
        .collect()
}

/// Hamilton allocation of `total` over `weights`.
///
/// Splits `total = q * sum + r` so that `total * w / sum = q * w + r * w / sum`;
/// with `r < sum` this avoids overflowing `u128` for any realistic input.
fn largest_remainder(total: u128, weights: &[u64]) -> Result<Vec<u128>, MoneyError> {
    let sum = weights
        .iter()
        .try_fold(0u128, |acc, &w| acc.checked_add(u128::from(w)))
        .ok_or(MoneyError::Overflow)?;
    if sum == 0 {
        return Err(MoneyError::NoWeights);
    }
    let q = total / sum;
    let r = total % sum;

    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut assigned: u128 = 0;
    for &w in weights {
        let w = u128::from(w);
        let rw = r.checked_mul(w).ok_or(MoneyError::Overflow)?;
        // q * w <= q * sum <= total, so neither this nor the sum can overflow.
        let floor = q * w + rw / sum;
        assigned += floor;
        parts.push(floor);
        remainders.push(rw % sum);
    }

    // The remainders add up to exactly `leftover * sum` and each is below
    // `sum`, so at least `leftover` parts have a non-zero remainder: the
    // extra units never land on a zero weight.
    let leftover = total - assigned;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for &i in order
        .iter()
        .take(usize::try_from(leftover).unwrap_or(usize::MAX))
    {
        parts[i] += 1;
    }
    Ok(parts)
}
