//! How the plan writes numbers: exact decimals as JSON strings (never JSON numbers, which
//! readers turn into binary floats), and money as `"18.10 USD"`. Reading is exact and strict:
//! a malformed amount is an error naming its place in the file, never a silent zero.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use tally_money::{Currency, Money};

fn parse_decimal<E: serde::de::Error>(text: &str) -> Result<Decimal, E> {
    Decimal::from_str_exact(text)
        .map_err(|_| E::custom(format_args!("`{text}` is not an exact decimal amount")))
}

pub mod decimal {
    use super::*;

    /// Written with its scale: `20.00` stays `"20.00"`.
    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_decimal(&text)
    }
}

pub mod opt_decimal {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.collect_str(value),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse_decimal(&text))
            .transpose()
    }
}

pub mod money {
    use super::*;

    /// `"18.10 USD"`, as `Money` displays.
    pub fn serialize<S: Serializer>(value: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        let (amount, code) = text.split_once(' ').ok_or_else(|| {
            D::Error::custom(format_args!("`{text}` is not an amount and a currency"))
        })?;
        let currency = Currency::from_code(code).map_err(D::Error::custom)?;
        Ok(Money::new(parse_decimal(amount)?, currency))
    }
}
