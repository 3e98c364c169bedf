//! Named rounding modes.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How to round to a number of decimal places.
///
/// Billing rules must say how they round (contracts and tax authorities
/// differ), so rounding is always an explicit, named choice.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Nearest, with exact halves going away from zero (81.325 -> 81.33,
    /// -81.325 -> -81.33). The usual commercial rule, hence the default.
    #[default]
    HalfUp,
    /// Nearest, with exact halves going to the even digit (banker's rounding;
    /// 81.325 -> 81.32), which avoids upward bias over many roundings.
    HalfEven,
    /// Toward zero: drops the extra places (2.999 -> 2.99, -2.999 -> -2.99).
    Truncate,
}

impl Rounding {
    /// Every mode, for exhaustive listings and tests.
    pub const ALL: [Rounding; 3] = [Rounding::HalfUp, Rounding::HalfEven, Rounding::Truncate];

    /// Rounds `value` to at most `decimal_places` places. Values that already
    /// have that many places or fewer are returned unchanged (no padding).
    pub fn apply(self, value: Decimal, decimal_places: u32) -> Decimal {
        let strategy = match self {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::Truncate => RoundingStrategy::ToZero,
        };
        value.round_dp_with_strategy(decimal_places, strategy)
    }

    /// The snake_case name used in Tally source and serialized plans.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
            Rounding::Truncate => "truncate",
        }
    }

    /// Inverse of [`Rounding::name`]; exact, case-sensitive match.
    pub fn from_name(s: &str) -> Option<Rounding> {
        Rounding::ALL.into_iter().find(|r| r.name() == s)
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
