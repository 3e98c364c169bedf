//! Property tests: allocation always adds up, rounding stays close.

// Test helpers outside #[test] fns may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tally_money::{Currency, Decimal, Money, Rounding, allocate_money, allocate_units};

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s))
}

fn weights(max: u64) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0..=max, 1..12).prop_filter("some weight", |w| w.iter().any(|&x| x > 0))
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["GBP", "JPY", "BHD", "USD", "CLF"])
        .prop_map(|c| Currency::from_code(c).unwrap())
}

proptest! {
    #[test]
    fn units_sum_to_total_and_stay_within_one(total in any::<u64>(), w in weights(u64::from(u32::MAX))) {
        let parts = allocate_units(total, &w).unwrap();
        prop_assert_eq!(parts.len(), w.len());
        prop_assert_eq!(parts.iter().map(|&p| u128::from(p)).sum::<u128>(), u128::from(total));
        let sum: u128 = w.iter().map(|&x| u128::from(x)).sum();
        for (&p, &x) in parts.iter().zip(&w) {
            // |p - total * x / sum| < 1, scaled by sum to stay in integers.
            let scaled = u128::from(p) * sum;
            let exact = u128::from(total) * u128::from(x);
            prop_assert!(scaled.abs_diff(exact) < sum);
            if x == 0 {
                prop_assert_eq!(p, 0);
            }
        }
    }

    #[test]
    fn units_sum_with_huge_weights(total in any::<u64>(), w in weights(u64::MAX)) {
        let parts = allocate_units(total, &w).unwrap();
        prop_assert_eq!(parts.iter().map(|&p| u128::from(p)).sum::<u128>(), u128::from(total));
    }

    #[test]
    fn units_are_deterministic(total in any::<u64>(), w in weights(1000)) {
        prop_assert_eq!(allocate_units(total, &w).unwrap(), allocate_units(total, &w).unwrap());
    }

    #[test]
    fn money_parts_sum_exactly(
        mantissa in any::<i64>(),
        scale in 0u32..=6,
        cur in currency(),
        w in weights(u64::from(u32::MAX)),
    ) {
        let total = Money::new(Decimal::new(mantissa, scale), cur);
        let expected = Rounding::HalfUp.apply(total.amount(), cur.minor_units());
        let parts = allocate_money(total, &w).unwrap();
        prop_assert_eq!(parts.len(), w.len());
        let mut sum = Money::zero(cur);
        for p in &parts {
            prop_assert_eq!(p.currency(), cur);
            prop_assert!(p.amount().scale() <= cur.minor_units());
            prop_assert!(!(p.is_negative() && expected.is_sign_positive()));
            sum = sum.checked_add(*p).unwrap();
        }
        prop_assert_eq!(sum.amount(), expected);

        // Credits split as the mirror image of the equivalent charge.
        let negated = allocate_money(Money::new(-total.amount(), cur), &w).unwrap();
        for (p, n) in parts.iter().zip(&negated) {
            prop_assert_eq!(p.amount(), -n.amount());
        }
    }

    #[test]
    fn rounding_is_close_and_short(value in decimal(), dp in 0u32..=28) {
        let unit = Decimal::new(1, dp);
        for r in Rounding::ALL {
            let out = r.apply(value, dp);
            prop_assert!(out.scale() <= dp);
            let diff = (out - value).abs();
            prop_assert!(diff < unit, "{r} {value} dp {dp} -> {out}");
            match r {
                Rounding::Truncate => prop_assert!(out.abs() <= value.abs()),
                Rounding::HalfUp | Rounding::HalfEven => prop_assert!(diff * Decimal::TWO <= unit),
            }
        }
    }
}
