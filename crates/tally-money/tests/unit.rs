//! Example-based tests of the public API.

// Test helpers outside #[test] fns may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use rust_decimal_macros::dec;
use tally_money::{Currency, Decimal, Money, MoneyError, Rounding, allocate_money, allocate_units};

fn gbp() -> Currency {
    Currency::from_code("GBP").unwrap()
}

fn cur(code: &str) -> Currency {
    Currency::from_code(code).unwrap()
}

// ---- rounding ----

#[test]
fn half_up_rounds_halves_away_from_zero() {
    assert_eq!(Rounding::HalfUp.apply(dec!(81.325), 2), dec!(81.33));
    assert_eq!(Rounding::HalfUp.apply(dec!(-81.325), 2), dec!(-81.33));
    assert_eq!(Rounding::HalfUp.apply(dec!(2.5), 0), dec!(3));
    assert_eq!(Rounding::HalfUp.apply(dec!(-2.5), 0), dec!(-3));
    assert_eq!(Rounding::HalfUp.apply(dec!(1.2349), 2), dec!(1.23));
    assert_eq!(Rounding::HalfUp.apply(dec!(-1.2351), 2), dec!(-1.24));
}

#[test]
fn half_even_rounds_halves_to_even() {
    assert_eq!(Rounding::HalfEven.apply(dec!(81.325), 2), dec!(81.32));
    assert_eq!(Rounding::HalfEven.apply(dec!(81.335), 2), dec!(81.34));
    assert_eq!(Rounding::HalfEven.apply(dec!(-81.325), 2), dec!(-81.32));
    assert_eq!(Rounding::HalfEven.apply(dec!(2.5), 0), dec!(2));
    assert_eq!(Rounding::HalfEven.apply(dec!(3.5), 0), dec!(4));
    assert_eq!(Rounding::HalfEven.apply(dec!(81.3251), 2), dec!(81.33));
}

#[test]
fn truncate_rounds_toward_zero() {
    assert_eq!(Rounding::Truncate.apply(dec!(2.999), 2), dec!(2.99));
    assert_eq!(Rounding::Truncate.apply(dec!(-2.999), 2), dec!(-2.99));
    assert_eq!(Rounding::Truncate.apply(dec!(81.325), 2), dec!(81.32));
    assert_eq!(Rounding::Truncate.apply(dec!(7.9), 0), dec!(7));
}

#[test]
fn rounding_leaves_short_values_alone() {
    for r in Rounding::ALL {
        let v = r.apply(dec!(1.5), 4);
        assert_eq!(v, dec!(1.5));
        assert_eq!(v.scale(), 1);
    }
}

#[test]
fn rounding_names_round_trip() {
    assert_eq!(Rounding::default(), Rounding::HalfUp);
    for r in Rounding::ALL {
        assert_eq!(Rounding::from_name(r.name()), Some(r));
        assert_eq!(r.to_string(), r.name());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"{}\"", r.name()));
        assert_eq!(serde_json::from_str::<Rounding>(&json).unwrap(), r);
    }
    assert_eq!(Rounding::from_name("HalfUp"), None);
    assert_eq!(Rounding::from_name("bankers"), None);
}

// ---- currency ----

#[test]
fn minor_units_follow_iso_4217() {
    assert_eq!(cur("GBP").minor_units(), 2);
    assert_eq!(cur("USD").minor_units(), 2);
    assert_eq!(cur("JPY").minor_units(), 0);
    assert_eq!(cur("BHD").minor_units(), 3);
    // No minor unit defined: documented as 0.
    assert_eq!(cur("XAU").minor_units(), 0);
}

#[test]
fn currency_code_display_and_parse() {
    let g = gbp();
    assert_eq!(g.code(), "GBP");
    assert_eq!(g.to_string(), "GBP");
    assert_eq!(Currency::from_str("GBP").unwrap(), g);
    assert_eq!("JPY".parse::<Currency>().unwrap(), cur("JPY"));
}

#[test]
fn currencies_order_by_code() {
    let mut v = [cur("USD"), cur("EUR"), cur("GBP"), cur("AUD")];
    v.sort();
    let codes: Vec<_> = v.iter().map(Currency::code).collect();
    assert_eq!(codes, ["AUD", "EUR", "GBP", "USD"]);
}

#[test]
fn unknown_currency_is_named() {
    let err = Currency::from_code("GBR").unwrap_err();
    assert_eq!(
        err,
        MoneyError::UnknownCurrency {
            code: "GBR".into(),
            suggestion: None
        }
    );
    assert_eq!(err.to_string(), "unknown currency `GBR`");
}

#[test]
fn lowercase_currency_suggests_uppercase() {
    let err = Currency::from_code("gbp").unwrap_err();
    assert_eq!(
        err,
        MoneyError::UnknownCurrency {
            code: "gbp".into(),
            suggestion: Some("GBP".into())
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown currency `gbp`; did you mean `GBP`?"
    );
    assert!(Currency::from_code(" GBP").is_err());
    assert!(Currency::from_code("").is_err());
}

#[test]
fn currency_serde_is_the_code() {
    let g = gbp();
    assert_eq!(serde_json::to_string(&g).unwrap(), "\"GBP\"");
    assert_eq!(serde_json::from_str::<Currency>("\"GBP\"").unwrap(), g);
    let err = serde_json::from_str::<Currency>("\"GBR\"").unwrap_err();
    assert!(err.to_string().contains("unknown currency `GBR`"), "{err}");
    assert!(serde_json::from_str::<Currency>("826").is_err());
}

// ---- money ----

#[test]
fn money_arithmetic() {
    let a = Money::new(dec!(10.10), gbp());
    let b = Money::new(dec!(2.20), gbp());
    assert_eq!(a.checked_add(b).unwrap().amount(), dec!(12.30));
    assert_eq!(b.checked_sub(a).unwrap().amount(), dec!(-7.90));
    assert_eq!(a.checked_mul(dec!(3)).unwrap().amount(), dec!(30.30));
    assert_eq!(a.checked_div(dec!(2)).unwrap().amount(), dec!(5.05));
    assert_eq!(Money::zero(gbp()).amount(), Decimal::ZERO);
    assert_eq!(Money::zero(gbp()).currency(), gbp());
}

#[test]
fn currency_mismatch_is_an_error() {
    let a = Money::new(dec!(1), gbp());
    let b = Money::new(dec!(1), cur("USD"));
    let err = a.checked_add(b).unwrap_err();
    assert_eq!(
        err,
        MoneyError::CurrencyMismatch {
            left: gbp(),
            right: cur("USD")
        }
    );
    assert_eq!(err.to_string(), "currency mismatch: `GBP` and `USD`");
    assert!(matches!(
        a.checked_sub(b),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
}

#[test]
fn overflow_and_division_by_zero() {
    let max = Money::new(Decimal::MAX, gbp());
    assert_eq!(max.checked_add(max), Err(MoneyError::Overflow));
    assert_eq!(
        Money::new(Decimal::MIN, gbp()).checked_sub(max),
        Err(MoneyError::Overflow)
    );
    assert_eq!(max.checked_mul(dec!(2)), Err(MoneyError::Overflow));
    assert_eq!(max.checked_div(dec!(0.5)), Err(MoneyError::Overflow));
    assert_eq!(
        Money::new(dec!(1), gbp()).checked_div(Decimal::ZERO),
        Err(MoneyError::DivisionByZero)
    );
    assert_eq!(MoneyError::DivisionByZero.to_string(), "division by zero");
}

#[test]
fn money_rounding_uses_minor_units() {
    let m = Money::new(dec!(81.325), gbp());
    assert_eq!(m.round(Rounding::HalfUp).amount(), dec!(81.33));
    assert_eq!(m.round(Rounding::HalfEven).amount(), dec!(81.32));
    assert_eq!(m.round_dp(1, Rounding::Truncate).amount(), dec!(81.3));
    let y = Money::new(dec!(100.5), cur("JPY"));
    assert_eq!(y.round(Rounding::HalfUp).amount(), dec!(101));
    let d = Money::new(dec!(1.23456), cur("BHD"));
    assert_eq!(d.round(Rounding::HalfUp).amount(), dec!(1.235));
}

#[test]
fn is_negative_excludes_zero() {
    assert!(Money::new(dec!(-0.01), gbp()).is_negative());
    assert!(!Money::new(dec!(0.01), gbp()).is_negative());
    assert!(!Money::zero(gbp()).is_negative());
    // -0.001 truncated to pence is a (negative) zero, which is not negative.
    let z = Money::new(dec!(-0.001), gbp()).round(Rounding::Truncate);
    assert!(!z.is_negative());
    assert_eq!(z.to_string(), "0.00 GBP");
}

#[test]
fn minor_unit_strings() {
    assert_eq!(
        Money::new(dec!(12.3), gbp()).to_minor_unit_string(),
        "12.30"
    );
    assert_eq!(
        Money::new(dec!(-0.05), gbp()).to_minor_unit_string(),
        "-0.05"
    );
    assert_eq!(
        Money::new(dec!(100), cur("JPY")).to_minor_unit_string(),
        "100"
    );
    assert_eq!(Money::new(dec!(12), gbp()).to_minor_unit_string(), "12.00");
    assert_eq!(
        Money::new(dec!(0), cur("BHD")).to_minor_unit_string(),
        "0.000"
    );
    // Finer amounts are rounded half-up to fit.
    assert_eq!(
        Money::new(dec!(13.066666), gbp()).to_minor_unit_string(),
        "13.07"
    );
    assert_eq!(
        Money::new(dec!(-0.004), gbp()).to_minor_unit_string(),
        "0.00"
    );
    assert_eq!(
        Money::new(Decimal::MAX, gbp()).to_minor_unit_string(),
        "79228162514264337593543950335.00"
    );
}

#[test]
fn money_display() {
    assert_eq!(Money::new(dec!(12.3), gbp()).to_string(), "12.30 GBP");
    assert_eq!(Money::new(dec!(12.3000), gbp()).to_string(), "12.30 GBP");
    assert_eq!(
        Money::new(dec!(13.0666660), gbp()).to_string(),
        "13.066666 GBP"
    );
    assert_eq!(Money::new(dec!(-0.05), gbp()).to_string(), "-0.05 GBP");
    assert_eq!(Money::new(dec!(100), cur("JPY")).to_string(), "100 JPY");
    assert_eq!(
        Money::new(dec!(100.50), cur("JPY")).to_string(),
        "100.5 JPY"
    );
    assert_eq!(Money::new(dec!(1.2), cur("BHD")).to_string(), "1.200 BHD");
    assert_eq!(Money::new(dec!(-0.00), gbp()).to_string(), "0.00 GBP");
}

#[test]
fn money_serde_round_trip() {
    let m = Money::new(dec!(12.30), gbp());
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(json, r#"{"amount":"12.30","currency":"GBP"}"#);
    let back: Money = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.amount().scale(), 2);

    let fine = Money::new(dec!(-13.0666666666), cur("USD"));
    let back: Money = serde_json::from_str(&serde_json::to_string(&fine).unwrap()).unwrap();
    assert_eq!(back, fine);
}

#[test]
fn money_json_number_amount_is_rejected() {
    for json in [
        r#"{"amount": 12.30, "currency": "GBP"}"#,
        r#"{"amount": 12, "currency": "GBP"}"#,
    ] {
        let err = serde_json::from_str::<Money>(json).unwrap_err().to_string();
        assert!(err.contains("quote"), "{err}");
    }
}

#[test]
fn money_bad_json_is_rejected() {
    let err = serde_json::from_str::<Money>(r#"{"amount": "12.x", "currency": "GBP"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid decimal amount `12.x`"), "{err}");
    let err = serde_json::from_str::<Money>(r#"{"amount": "1", "currency": "gbp"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean `GBP`"), "{err}");
    assert!(serde_json::from_str::<Money>(r#"{"amount": "1"}"#).is_err());
    assert!(
        serde_json::from_str::<Money>(r#"{"amount": "1", "currency": "GBP", "x": 1}"#).is_err()
    );
}

// ---- allocation ----

#[test]
fn allocate_units_examples() {
    assert_eq!(allocate_units(10, &[1, 1, 1]).unwrap(), [4, 3, 3]);
    assert_eq!(allocate_units(1, &[1, 1, 1]).unwrap(), [1, 0, 0]);
    assert_eq!(allocate_units(2, &[1, 1, 1]).unwrap(), [1, 1, 0]);
    assert_eq!(allocate_units(100, &[50, 30, 20]).unwrap(), [50, 30, 20]);
    // 7 * 1/6 = 1.1667, 7 * 2/6 = 2.333, 7 * 3/6 = 3.5: the half wins.
    assert_eq!(allocate_units(7, &[1, 2, 3]).unwrap(), [1, 2, 4]);
    assert_eq!(allocate_units(5, &[0, 3, 0]).unwrap(), [0, 5, 0]);
    assert_eq!(allocate_units(0, &[1, 2]).unwrap(), [0, 0]);
    assert_eq!(
        allocate_units(u64::MAX, &[u64::MAX, u64::MAX]).unwrap(),
        [u64::MAX / 2 + 1, u64::MAX / 2]
    );
}

#[test]
fn allocate_without_weights_is_an_error() {
    assert_eq!(allocate_units(5, &[]), Err(MoneyError::NoWeights));
    assert_eq!(allocate_units(5, &[0, 0]), Err(MoneyError::NoWeights));
    assert_eq!(
        allocate_money(Money::new(dec!(1), gbp()), &[0]),
        Err(MoneyError::NoWeights)
    );
}

#[test]
fn allocate_money_examples() {
    let parts = allocate_money(Money::new(dec!(100), gbp()), &[1, 1, 1]).unwrap();
    let amounts: Vec<_> = parts.iter().map(Money::amount).collect();
    assert_eq!(amounts, [dec!(33.34), dec!(33.33), dec!(33.33)]);
    assert!(parts.iter().all(|p| p.amount().scale() == 2));

    let parts = allocate_money(Money::new(dec!(-100), gbp()), &[1, 1, 1]).unwrap();
    let amounts: Vec<_> = parts.iter().map(Money::amount).collect();
    assert_eq!(amounts, [dec!(-33.34), dec!(-33.33), dec!(-33.33)]);

    // Not at the minor unit: rounded half-up to 10.01 first.
    let parts = allocate_money(Money::new(dec!(10.005), gbp()), &[1, 1]).unwrap();
    let amounts: Vec<_> = parts.iter().map(Money::amount).collect();
    assert_eq!(amounts, [dec!(5.01), dec!(5.00)]);

    let parts = allocate_money(Money::new(dec!(1000), cur("JPY")), &[1, 2]).unwrap();
    let amounts: Vec<_> = parts.iter().map(Money::amount).collect();
    assert_eq!(amounts, [dec!(333), dec!(667)]);

    let parts = allocate_money(Money::new(dec!(-0.001), gbp()), &[1, 2]).unwrap();
    assert!(
        parts
            .iter()
            .all(|p| p.amount().is_zero() && !p.is_negative())
    );
}
