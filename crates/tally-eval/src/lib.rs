//! Evaluation of a linked [`Program`] against one tenant of a snapshot. Pure: no I/O, no clock,
//! no randomness; the same program and snapshot give the same result. Every runtime problem is a
//! diagnostic pointing at the rule text that caused it.

mod eval;
mod trace;
mod value;

pub use eval::{Detail, evaluate, evaluate_explained, evaluate_with, previous_period};
pub use trace::{Exclusion, Filter, Step};
pub use value::{Value, show_decimal};

use tally_diagnostics::Diagnostic;
use tally_ir::ModuleKey;
use tally_money::Money;

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
    /// The period before the one evaluated, whose changes advance lines true up.
    pub previous: tally_snapshot::Period,
}

/// One conversion at a snapshot rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub from: Money,
    pub to: Money,
    pub rate: rust_decimal::Decimal,
    /// The rate's date.
    pub date: chrono::NaiveDate,
}

/// How a line's count moved over a range of days: each point holds from its day until the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub points: Vec<DayCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub from: chrono::NaiveDate,
    pub counted: u64,
    /// After the line's minimum and included units.
    pub billed: u64,
}

impl History {
    /// (first day, last day, billed count) of each stretch with one count.
    pub fn segments(&self) -> Vec<(chrono::NaiveDate, chrono::NaiveDate, u64)> {
        let mut out = Vec::new();
        for (i, point) in self.points.iter().enumerate() {
            let end = self
                .points
                .get(i + 1)
                .and_then(|next| next.from.pred_opt())
                .unwrap_or(self.to);
            out.push((point.from, end, point.billed));
        }
        out
    }

    /// The highest billed count, for `measure max`: the last day it was reached when it was
    /// reached more than once (the users of that day are the ones a split follows).
    pub fn peak(&self) -> Option<DayCount> {
        self.points.iter().max_by_key(|p| p.billed).copied()
    }
}

/// One rule line, evaluated but not yet turned into invoice lines (no minimum applied, no
/// rounding, no split allocation: that is the plan's job).
#[derive(Debug, Clone, PartialEq)]
pub struct LineResult {
    pub name: String,
    /// A line with a cadence: its cycles, and the cycle that starts in the period (billed in
    /// full, in advance), if one does.
    pub cycles: Option<LineCycles>,
    /// Things a person must look at, found in the data (e.g. an upfront subscription billed
    /// every month).
    pub warnings: Vec<String>,
    /// The day whose data the quantity, price and minimum were read from.
    pub measured_on: chrono::NaiveDate,
    /// Day-by-day counts, for prorated lines and `measure max`.
    pub history: Option<History>,
    /// The counted quantity of a `qty` line.
    pub quantity: Option<u64>,
    pub minimum: Option<u64>,
    /// Units included at no charge.
    pub included: Option<u64>,
    /// The unit price of each tier (up to, inclusive; `None` = above), for tiered lines.
    pub tiers: Option<Vec<(Option<u64>, Money)>>,
    /// The Microsoft subscriptions whose seats drive the quantity (through `m365.sku(...)`), for
    /// the NCE rules that depend on their terms.
    pub subscriptions: Vec<tally_snapshot::SubscribedSku>,
    /// The SKU GUIDs the line's quantity reads (`m365.sku(...)`), whether subscribed or not.
    pub sku_ids: Vec<String>,
    /// Whether the line's value reads Azure usage.
    pub azure: bool,
    /// (product, unit price) of each product of a bundle line.
    pub bundle: Vec<(String, Money)>,
    /// Snapshot money converted into the customer's currency for this line.
    pub conversions: Vec<Conversion>,
    /// The unit price before rounding.
    pub unit_price: Option<Money>,
    /// For a prorated line with dated prices: the unit price (before rounding) in force from
    /// each day of its history until the next entry. Empty when one price covers every day.
    pub prices: Vec<(chrono::NaiveDate, Money)>,
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

/// A line's cycles (`every ...`) and the one billed this period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCycles {
    pub cycles: tally_billing::Cycles,
    /// (first day, last day) of the cycle that starts in the period.
    pub billed: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
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
