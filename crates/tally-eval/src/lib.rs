//! Evaluation of a linked [`Program`] against one tenant of a snapshot. Pure: no I/O, no clock,
//! no randomness; the same program and snapshot give the same result. Every runtime problem is a
//! diagnostic pointing at the rule text that caused it.

mod eval;
mod trace;
mod value;

pub use eval::evaluate;
pub use trace::{Filter, Step};
pub use value::{Value, show_decimal};

use tally_check::ModuleKey;
use tally_money::Money;
use tally_syntax::Diagnostic;

/// A runtime error, in the file whose text caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub module: ModuleKey,
    pub diagnostic: Diagnostic,
}

/// What one customer's rules came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub lines: Vec<LineResult>,
}

/// One rule line, evaluated but not yet turned into invoice lines (no minimum applied, no
/// rounding, no split allocation: that is the plan's job).
#[derive(Debug, Clone, PartialEq)]
pub struct LineResult {
    pub name: String,
    /// The counted quantity of a `qty` line.
    pub quantity: Option<u64>,
    pub minimum: Option<u64>,
    /// The unit price before rounding.
    pub unit_price: Option<Money>,
    /// The amount of an `amount` line before rounding.
    pub amount: Option<Money>,
    pub split: Option<SplitWeights>,
    /// How the quantity (or amount), price and minimum were computed, in that order.
    pub steps: Vec<(Role, Step)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Quantity,
    Amount,
    Price,
    Minimum,
    Split,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Quantity => "quantity",
            Role::Amount => "amount",
            Role::Price => "price",
            Role::Minimum => "minimum",
            Role::Split => "split",
        }
    }
}

/// How many of the split's users fall in each group. Named groups sorted by name, then the
/// bucket for users with no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitWeights {
    pub key: &'static str,
    pub groups: Vec<(String, u64)>,
    /// The label of the bucket for users with no value for the key.
    pub otherwise: String,
}
