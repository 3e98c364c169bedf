//! Properties of proration and tiers over generated inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use tally_billing::{ProrationRounding, Tier, TierMode, price_tiers, prorate};
use tally_money::{Currency, Decimal, Money};

fn usd(amount: Decimal) -> Money {
    Money::new(amount, Currency::from_code("USD").unwrap())
}

fn mode() -> impl Strategy<Value = ProrationRounding> {
    prop::sample::select(ProrationRounding::ALL.to_vec())
}

/// A price per full cycle at the minor unit, up to 100,000.00.
fn unit_price() -> impl Strategy<Value = Money> {
    (0i64..=10_000_000).prop_map(|cents| usd(Decimal::new(cents, 2)))
}

fn amount(unit: Money, qty: i64, days: i64, cycle: i64, mode: ProrationRounding) -> Decimal {
    prorate(unit, qty, days, cycle, mode)
        .unwrap()
        .amount
        .amount()
}

/// A cycle length and a split of it into consecutive segments.
fn split() -> impl Strategy<Value = (i64, Vec<i64>)> {
    (1i64..=366).prop_flat_map(|cycle| {
        prop::collection::vec(1i64..cycle.max(2), 0..8).prop_map(move |mut cuts| {
            cuts.retain(|c| *c < cycle);
            cuts.sort_unstable();
            cuts.dedup();
            let mut segments = Vec::new();
            let mut previous = 0;
            for c in cuts.into_iter().chain([cycle]) {
                segments.push(c - previous);
                previous = c;
            }
            (cycle, segments)
        })
    })
}

/// A valid tier table: strictly increasing bounds, the last unbounded.
fn tiers(max_tiers: usize) -> impl Strategy<Value = Vec<Tier>> {
    prop::collection::vec((1u64..50, 0i64..100_000), 1..=max_tiers).prop_map(|bands| {
        let last = bands.len() - 1;
        let mut bound = 0;
        bands
            .into_iter()
            .enumerate()
            .map(|(i, (width, cents))| {
                bound += width;
                Tier {
                    up_to: (i != last).then_some(bound),
                    unit_price: usd(Decimal::new(cents, 2)),
                }
            })
            .collect()
    })
}

fn total(quantity: u64, tiers: &[Tier], mode: TierMode) -> Decimal {
    price_tiers(quantity, tiers, mode)
        .unwrap()
        .iter()
        .map(|c| c.amount.amount())
        .sum()
}

proptest! {
    /// A whole cycle is the full price, exactly, whatever the rounding.
    #[test]
    fn whole_cycle_is_unit_times_quantity(
        unit in unit_price(), qty in -10_000i64..=10_000, cycle in 1i64..=366, mode in mode()
    ) {
        let p = prorate(unit, qty, cycle, cycle, mode).unwrap();
        prop_assert_eq!(p.amount.amount(), unit.amount() * Decimal::from(qty));
        prop_assert_eq!(p.effective_unit_price, unit.amount());
    }

    /// More days never cost less (for a charge; a refund mirrors it).
    #[test]
    fn monotone_in_days(
        unit in unit_price(), qty in 0i64..=10_000, cycle in 1i64..=366,
        a in 0i64..=400, b in 0i64..=400, mode in mode()
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(amount(unit, qty, lo, cycle, mode) <= amount(unit, qty, hi, cycle, mode));
    }

    /// More units never cost less, refunds included.
    #[test]
    fn monotone_in_quantity(
        unit in unit_price(), a in -10_000i64..=10_000, b in -10_000i64..=10_000,
        cycle in 1i64..=366, days in 0i64..=366, mode in mode()
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(amount(unit, lo, days, cycle, mode) <= amount(unit, hi, days, cycle, mode));
    }

    /// A refund is the exact negation of the matching charge: every mode
    /// rounds symmetrically about zero.
    #[test]
    fn refund_mirrors_charge(
        unit in unit_price(), qty in 0i64..=10_000, cycle in 1i64..=366, days in 0i64..=366, mode in mode()
    ) {
        prop_assert_eq!(
            amount(unit, -qty, days, cycle, mode),
            -amount(unit, qty, days, cycle, mode)
        );
    }

    /// Prorating consecutive segments and summing differs from the whole
    /// cycle by at most one minor unit per segment (one per unit per segment
    /// for `TruncateUnit` and `UnitHalfUp`, which round before multiplying by
    /// the quantity).
    /// That is why Tally prorates each segment explicitly instead of
    /// deriving pieces from a total.
    #[test]
    fn pieces_of_a_cycle_stay_within_a_minor_unit_per_segment(
        unit in unit_price(), qty in -1_000i64..=1_000, (cycle, segments) in split(), mode in mode()
    ) {
        let whole = amount(unit, qty, cycle, cycle, mode);
        let pieces: Decimal = segments.iter().map(|d| amount(unit, qty, *d, cycle, mode)).sum();
        let per_segment = match mode {
            ProrationRounding::TruncateUnit | ProrationRounding::UnitHalfUp => {
                Decimal::from(qty.abs())
            }
            _ => Decimal::ONE,
        };
        let bound = Decimal::new(1, 2) * per_segment * Decimal::from(segments.len());
        prop_assert!((pieces - whole).abs() <= bound, "{} vs {} over {:?}", pieces, whole, segments);
        if matches!(mode, ProrationRounding::TruncateProduct | ProrationRounding::TruncateUnit) {
            // Truncation only ever loses: the pieces never exceed the whole.
            prop_assert!(pieces.abs() <= whole.abs());
        }
    }

    /// Graduated pricing: more units never cost less (non-negative prices),
    /// and every unit is priced exactly once.
    #[test]
    fn graduated_total_is_monotone(tiers in tiers(5), a in 0u64..400, b in 0u64..400) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(total(lo, &tiers, TierMode::Graduated) <= total(hi, &tiers, TierMode::Graduated));
        let units: u64 = price_tiers(hi, &tiers, TierMode::Graduated).unwrap().iter().map(|c| c.units).sum();
        prop_assert_eq!(units, hi);
    }

    /// With one tier there is nothing to graduate: both modes agree.
    #[test]
    fn one_tier_volume_equals_graduated(tiers in tiers(1), q in 0u64..100_000) {
        prop_assert_eq!(
            price_tiers(q, &tiers, TierMode::Volume).unwrap(),
            price_tiers(q, &tiers, TierMode::Graduated).unwrap()
        );
    }
}
