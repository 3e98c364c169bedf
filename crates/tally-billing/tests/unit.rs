//! Examples and edge cases: window boundary, billing periods, cycle days,
//! names, tier validation, errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{NaiveDateTime, TimeDelta};
use common::{date, dec, usd};
use tally_billing::{
    BillingError, CycleLength, MonthAnchor, ProrationRounding, REDUCTION_WINDOW, Tier, TierMode,
    billing_period, cycle_containing, cycle_days, inclusive_days, price_tiers, prorate,
    prorate_months, reduction_allowed,
};
use tally_money::{Currency, Money};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

#[test]
fn reduction_window_is_168_hours_inclusive() {
    let added = at("2026-03-02 09:30:00");
    assert_eq!(REDUCTION_WINDOW, TimeDelta::hours(168));
    assert!(reduction_allowed(added, added));
    assert!(reduction_allowed(added, at("2026-03-09 09:29:59")));
    assert!(reduction_allowed(added, at("2026-03-09 09:30:00")));
    assert!(!reduction_allowed(added, at("2026-03-09 09:30:01")));
    assert!(!reduction_allowed(
        added,
        added + REDUCTION_WINDOW + TimeDelta::nanoseconds(1)
    ));
    assert!(
        !reduction_allowed(added, at("2026-03-02 09:29:59")),
        "before the change"
    );
}

#[test]
fn on_dates_the_seventh_day_after_is_inside_the_window() {
    let added = date(2026, 2, 11);
    assert!(tally_billing::reduction_allowed_on(
        added,
        date(2026, 2, 11)
    ));
    assert!(tally_billing::reduction_allowed_on(
        added,
        date(2026, 2, 18)
    ));
    assert!(!tally_billing::reduction_allowed_on(
        added,
        date(2026, 2, 19)
    ));
    assert!(!tally_billing::reduction_allowed_on(
        added,
        date(2026, 2, 10)
    ));
}

#[test]
fn inclusive_days_counts_both_ends() {
    assert_eq!(inclusive_days(date(2021, 6, 20), date(2021, 7, 17)), 28);
    assert_eq!(inclusive_days(date(2021, 6, 20), date(2021, 6, 20)), 1);
    assert_eq!(inclusive_days(date(2021, 6, 21), date(2021, 6, 20)), 0);
    // DOMAIN.md's PSA convention: 2 seats on the 15th of a 31-day month.
    let days = inclusive_days(date(2026, 7, 15), date(2026, 7, 31));
    assert_eq!(days, 17);
    let p = prorate(usd(dec("22")), 1, days, 31, ProrationRounding::HalfUp).unwrap();
    assert_eq!(p.amount.to_string(), "12.06 USD");
}

/// ConnectWise prorates per unit: 22.00 × 17/31 = 12.0645… is 12.06 a unit, so 2 units are
/// 24.12; rounding the product (24.129…) would give 24.13.
#[test]
fn connectwise_rounds_the_prorated_unit_price_then_multiplies() {
    let days = inclusive_days(date(2026, 7, 15), date(2026, 7, 31));
    let per_unit = prorate(usd(dec("22")), 2, days, 31, ProrationRounding::UnitHalfUp).unwrap();
    assert_eq!(per_unit.amount.to_string(), "24.12 USD");
    assert_eq!(per_unit.effective_unit_price, dec("12.06"));
    let product = prorate(usd(dec("22")), 2, days, 31, ProrationRounding::HalfUp).unwrap();
    assert_eq!(product.amount.to_string(), "24.13 USD");
    // A refund is the exact negation of the charge.
    let refund = prorate(usd(dec("22")), -2, days, 31, ProrationRounding::UnitHalfUp).unwrap();
    assert_eq!(refund.amount.to_string(), "-24.12 USD");
}

#[test]
fn billing_periods_start_on_the_billing_day() {
    let p = Some((date(2026, 10, 15), date(2026, 11, 14)));
    assert_eq!(billing_period(date(2026, 10, 15), 15), p);
    assert_eq!(billing_period(date(2026, 10, 31), 15), p);
    assert_eq!(billing_period(date(2026, 11, 14), 15), p);
    assert_eq!(
        billing_period(date(2026, 10, 14), 15),
        Some((date(2026, 9, 15), date(2026, 10, 14)))
    );
    assert_eq!(
        billing_period(date(2026, 1, 3), 28),
        Some((date(2025, 12, 28), date(2026, 1, 27)))
    );
    assert_eq!(
        billing_period(date(2026, 2, 28), 1),
        Some((date(2026, 2, 1), date(2026, 2, 28)))
    );
    assert_eq!(billing_period(date(2026, 10, 15), 0), None);
    assert_eq!(billing_period(date(2026, 10, 15), 29), None);
}

#[test]
fn cycle_days_follow_the_month_the_cycle_starts_in() {
    assert_eq!(cycle_days(date(2021, 6, 18), CycleLength::Month), 30);
    assert_eq!(cycle_days(date(2021, 7, 18), CycleLength::Month), 31);
    assert_eq!(cycle_days(date(2021, 2, 1), CycleLength::Month), 28);
    assert_eq!(cycle_days(date(2024, 2, 1), CycleLength::Month), 29);
    // A cycle from February 28 runs to March 30 (31 days) with 28 cycle
    // days, so a seat added on its first day costs more than a month.
    let cycle = cycle_containing(date(2021, 1, 31), CycleLength::Month, date(2021, 2, 28));
    assert_eq!(cycle, Some((date(2021, 2, 28), date(2021, 3, 30))));
    assert_eq!(cycle_days(date(2021, 2, 28), CycleLength::Month), 28);
    let p = prorate(
        usd(dec("10.08")),
        1,
        31,
        28,
        ProrationRounding::TruncateUnit,
    )
    .unwrap();
    assert_eq!(p.amount.to_string(), "11.16 USD");
}

#[test]
fn yearly_cycles_repeat_on_the_anniversary() {
    let start = date(2024, 2, 29);
    assert_eq!(
        cycle_containing(start, CycleLength::Year, date(2025, 3, 1)),
        Some((date(2025, 2, 28), date(2026, 2, 27)))
    );
    assert_eq!(
        cycle_containing(start, CycleLength::Year, date(2028, 2, 29)),
        Some((date(2028, 2, 29), date(2029, 2, 27)))
    );
}

#[test]
fn dividing_last_keeps_whole_cycles_whole() {
    // 10 / 30 is not a terminating decimal; dividing first would give 9.99.
    for mode in ProrationRounding::ALL {
        let p = prorate(usd(dec("10.00")), 1, 30, 30, mode).unwrap();
        assert_eq!(p.amount.to_string(), "10.00 USD");
        assert_eq!(p.effective_unit_price, dec("10"));
    }
    let third = prorate(
        usd(dec("10.00")),
        3,
        10,
        30,
        ProrationRounding::TruncateProduct,
    )
    .unwrap();
    assert_eq!(third.amount.amount(), dec("10.00"));
    assert_eq!(
        third.effective_unit_price.to_string(),
        "3.3333333333333333333333333333"
    );
}

#[test]
fn splitting_a_cycle_loses_up_to_a_minor_unit_per_segment() {
    let unit = usd(dec("10.00"));
    let sum = |mode, qty| -> Money {
        (0..3)
            .map(|_| prorate(unit, qty, 10, 30, mode).unwrap().amount)
            .fold(Money::zero(unit.currency()), |a, b| {
                a.checked_add(b).unwrap()
            })
    };
    assert_eq!(
        sum(ProrationRounding::TruncateProduct, 10).to_string(),
        "99.99 USD"
    );
    assert_eq!(
        sum(ProrationRounding::TruncateUnit, 10).to_string(),
        "99.90 USD"
    );
    assert_eq!(sum(ProrationRounding::HalfUp, 10).to_string(), "99.99 USD");
}

#[test]
fn half_modes_differ_on_exact_halves() {
    // 0.25 * 1 / 2 = 0.125
    let up = prorate(usd(dec("0.25")), 1, 1, 2, ProrationRounding::HalfUp).unwrap();
    let even = prorate(usd(dec("0.25")), 1, 1, 2, ProrationRounding::HalfEven).unwrap();
    let down = prorate(usd(dec("0.25")), -1, 1, 2, ProrationRounding::HalfUp).unwrap();
    assert_eq!(up.amount.to_string(), "0.13 USD");
    assert_eq!(even.amount.to_string(), "0.12 USD");
    assert_eq!(down.amount.to_string(), "-0.13 USD");
}

#[test]
fn minor_units_come_from_the_currency() {
    let jpy = Currency::from_code("JPY").unwrap();
    let p = prorate(
        Money::new(dec("1000"), jpy),
        1,
        10,
        31,
        ProrationRounding::HalfUp,
    )
    .unwrap();
    assert_eq!(p.amount.to_string(), "323 JPY");
    let bhd = Currency::from_code("BHD").unwrap();
    let p = prorate(
        Money::new(dec("10"), bhd),
        1,
        10,
        31,
        ProrationRounding::TruncateUnit,
    )
    .unwrap();
    assert_eq!(p.amount.to_string(), "3.225 BHD");
}

#[test]
fn prorate_months_is_twelfths() {
    let p = prorate_months(usd(dec("250")), 10, 11, ProrationRounding::TruncateUnit).unwrap();
    assert_eq!((p.days, p.cycle_days), (11, 12));
    assert_eq!(p.effective_unit_price, dec("229.16"));
    assert_eq!(p.amount.to_string(), "2291.60 USD");
    let zero = prorate_months(usd(dec("250")), 10, 0, ProrationRounding::TruncateUnit).unwrap();
    assert_eq!(zero.amount.to_string(), "0.00 USD");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let unit = usd(dec("10.08"));
    let r = ProrationRounding::TruncateProduct;
    assert_eq!(prorate(unit, 1, 0, 0, r), Err(BillingError::DivisionByZero));
    assert_eq!(prorate(unit, 1, -1, 30, r), Err(BillingError::NegativeDays));
    assert_eq!(prorate(unit, 1, 1, -30, r), Err(BillingError::NegativeDays));
    let huge = usd(dec("79228162514264337593543950335"));
    assert_eq!(
        prorate(huge, i64::MAX, 30, 30, r),
        Err(BillingError::Overflow)
    );
    assert_eq!(
        BillingError::DivisionByZero.to_string(),
        "division by zero: cycle has no days"
    );
    assert_eq!(BillingError::Overflow.to_string(), "amount overflow");
    assert_eq!(BillingError::NegativeDays.to_string(), "negative day count");
}

#[test]
fn names_round_trip() {
    for r in ProrationRounding::ALL {
        assert_eq!(ProrationRounding::from_name(r.name()), Some(r));
        assert_eq!(r.to_string(), r.name());
    }
    let names: Vec<_> = ProrationRounding::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        [
            "truncate_product",
            "truncate_unit",
            "half_up",
            "half_even",
            "unit_half_up"
        ]
    );
    assert_eq!(ProrationRounding::from_name("Half_Up"), None);
    for a in MonthAnchor::ALL {
        assert_eq!(MonthAnchor::from_name(a.name()), Some(a));
    }
    assert_eq!(MonthAnchor::default(), MonthAnchor::DayOfMonth);
    for m in TierMode::ALL {
        assert_eq!(TierMode::from_name(m.name()), Some(m));
    }
}

fn tier(up_to: Option<u64>, price: &str) -> Tier {
    Tier {
        up_to,
        unit_price: usd(dec(price)),
    }
}

#[test]
fn graduated_and_volume_tiers() {
    let table = [tier(Some(10), "5"), tier(Some(50), "4"), tier(None, "3")];
    let g = price_tiers(60, &table, TierMode::Graduated).unwrap();
    let shown: Vec<_> = g
        .iter()
        .map(|c| (c.tier_index, c.units, c.amount.to_string()))
        .collect();
    assert_eq!(
        shown,
        [
            (0, 10, "50.00 USD".into()),
            (1, 40, "160.00 USD".into()),
            (2, 10, "30.00 USD".into())
        ]
    );
    let v = price_tiers(60, &table, TierMode::Volume).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].tier_index, v[0].units, v[0].amount.to_string()),
        (2, 60, "180.00 USD".into())
    );
    // Bounds are inclusive.
    assert_eq!(
        price_tiers(10, &table, TierMode::Volume).unwrap()[0].tier_index,
        0
    );
    assert_eq!(
        price_tiers(11, &table, TierMode::Volume).unwrap()[0].tier_index,
        1
    );
    assert_eq!(
        price_tiers(10, &table, TierMode::Graduated).unwrap().len(),
        1
    );
    assert!(
        price_tiers(0, &table, TierMode::Graduated)
            .unwrap()
            .is_empty()
    );
    assert!(price_tiers(0, &table, TierMode::Volume).unwrap().is_empty());
    // Volume pricing can fall as quantity rises; graduated cannot.
    let v50 = price_tiers(50, &table, TierMode::Volume).unwrap()[0].amount;
    let v51 = price_tiers(51, &table, TierMode::Volume).unwrap()[0].amount;
    assert!(v51.amount() < v50.amount());
}

#[test]
fn bad_tier_tables_are_rejected() {
    let bad = |tiers: &[Tier]| {
        price_tiers(1, tiers, TierMode::Graduated)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(bad(&[]), "bad tiers: no tiers");
    assert_eq!(
        bad(&[tier(None, "1"), tier(None, "2")]),
        "bad tiers: only the last tier may be unbounded, but tier 1 of 2 is"
    );
    assert_eq!(
        bad(&[tier(Some(5), "1")]),
        "bad tiers: the last tier (tier 1) must be unbounded so every quantity has a price"
    );
    assert_eq!(
        bad(&[tier(Some(5), "1"), tier(Some(5), "1"), tier(None, "1")]),
        "bad tiers: tier bounds must increase: tier 2 ends at 5, not above 5"
    );
    assert_eq!(
        bad(&[tier(Some(0), "1"), tier(None, "1")]),
        "bad tiers: tier bounds must increase: tier 1 ends at 0, not above 0"
    );
    let eur = Money::new(dec("1"), Currency::from_code("EUR").unwrap());
    let mixed = [
        tier(Some(5), "1"),
        Tier {
            up_to: None,
            unit_price: eur,
        },
    ];
    assert_eq!(bad(&mixed), "currency mismatch: `USD` and `EUR`");
}
