//! ISO 4217 currencies.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::MoneyError;

/// An ISO 4217 currency, identified by its upper-case three-letter code.
///
/// A thin wrapper so the rest of Tally depends on this crate's contract
/// (code, minor units, serde as the code string) rather than on the
/// underlying ISO table crate.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an ISO 4217 code. Matching is case-sensitive because plans and
    /// snapshots are compared textually; `gbp` is rejected with a suggestion
    /// of `GBP` rather than silently accepted.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        if let Some(c) = iso_currency::Currency::from_code(code) {
            return Ok(Currency(c));
        }
        let normalized = code.trim().to_ascii_uppercase();
        let suggestion = iso_currency::Currency::from_code(&normalized)
            .map(|c| c.code().to_string())
            .filter(|s| s != code);
        Err(MoneyError::UnknownCurrency {
            code: code.to_string(),
            suggestion,
        })
    }

    /// The three-letter ISO code, e.g. `"GBP"`.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Decimal places of the minor unit: GBP 2, JPY 0, BHD 3.
    ///
    /// ISO 4217 defines no minor unit for some special codes (e.g. `XAU`,
    /// `XXX`); for those this returns 0, so amounts round to whole units.
    pub fn minor_units(&self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Ordered by code so sorted output is stable and alphabetical regardless of
/// how the ISO table happens to be declared.
impl Ord for Currency {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code().cmp(other.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CodeVisitor;

        impl Visitor<'_> for CodeVisitor {
            type Value = Currency;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 currency code string such as \"GBP\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Currency, E> {
                Currency::from_code(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(CodeVisitor)
    }
}
