//! The vocabulary of an invoice line: how it is timed, rounded, prorated, split and priced.
//! One definition of each word for the whole workspace: the checker produces them, the
//! evaluator and the plan read them, and the plan writes them to JSON by the names rules use.

use crate::expr::TExpr;
use serde::{Deserialize, Serialize};
use tally_billing::ProrationRounding;
use tally_diagnostics::Span;
use tally_money::Rounding;

pub use tally_billing::{Term, TierMode};

/// `name qty = ...` (a quantity times a unit price) or `name amount = ...` (money, e.g. usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    Qty,
    Amount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    Advance,
    Arrears,
}

impl Billing {
    pub const ALL: [Billing; 2] = [Billing::Advance, Billing::Arrears];

    pub fn name(self) -> &'static str {
        match self {
            Billing::Advance => "advance",
            Billing::Arrears => "arrears",
        }
    }
}

/// How a line rounds: its unit price (to the currency's minor unit) and, when prorated, each
/// prorated charge. `truncate_product` and `truncate_unit` are Microsoft's two formulas (R1:
/// truncate `unit / cycle × days × qty`; R2: truncate `unit / cycle × days`, then × qty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineRounding {
    #[default]
    HalfUp,
    HalfEven,
    Truncate,
    TruncateProduct,
    TruncateUnit,
    /// Half up, and a prorated charge rounds its per-unit price before multiplying by the
    /// quantity: ConnectWise Manage's proration, the default for `psa connectwise` customers'
    /// prorated lines.
    UnitHalfUp,
}

impl LineRounding {
    pub const ALL: [LineRounding; 6] = [
        LineRounding::HalfUp,
        LineRounding::HalfEven,
        LineRounding::Truncate,
        LineRounding::TruncateProduct,
        LineRounding::TruncateUnit,
        LineRounding::UnitHalfUp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LineRounding::HalfUp => "half_up",
            LineRounding::HalfEven => "half_even",
            LineRounding::Truncate => "truncate",
            LineRounding::TruncateProduct => "truncate_product",
            LineRounding::TruncateUnit => "truncate_unit",
            LineRounding::UnitHalfUp => "unit_half_up",
        }
    }

    /// The rounding of a unit price or an amount to the minor unit.
    pub fn money(self) -> Rounding {
        match self {
            LineRounding::HalfUp | LineRounding::UnitHalfUp => Rounding::HalfUp,
            LineRounding::HalfEven => Rounding::HalfEven,
            LineRounding::Truncate | LineRounding::TruncateProduct | LineRounding::TruncateUnit => {
                Rounding::Truncate
            }
        }
    }

    /// The rounding of a prorated charge. Plain `truncate` truncates the product (R1).
    pub fn proration(self) -> ProrationRounding {
        match self {
            LineRounding::HalfUp => ProrationRounding::HalfUp,
            LineRounding::HalfEven => ProrationRounding::HalfEven,
            LineRounding::Truncate | LineRounding::TruncateProduct => {
                ProrationRounding::TruncateProduct
            }
            LineRounding::TruncateUnit => ProrationRounding::TruncateUnit,
            LineRounding::UnitHalfUp => ProrationRounding::UnitHalfUp,
        }
    }
}

/// `prorate daily | none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Prorate {
    #[default]
    None,
    Daily,
}

impl Prorate {
    pub const ALL: [Prorate; 2] = [Prorate::Daily, Prorate::None];

    pub fn name(self) -> &'static str {
        match self {
            Prorate::None => "none",
            Prorate::Daily => "daily",
        }
    }
}

/// Which count a line bills when it is not prorated: `measure start | end | max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Start,
    End,
    Max,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Start, Measure::End, Measure::Max];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Start => "start",
            Measure::End => "end",
            Measure::Max => "max",
        }
    }
}

/// How a prorated advance line bills last period's changes: one line per change for the
/// difference (`delta`, the PSA convention), or Microsoft's refund of the old quantity and
/// charge of the new (`replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Trueup {
    #[default]
    Delta,
    Replace,
}

impl Trueup {
    pub const ALL: [Trueup; 2] = [Trueup::Delta, Trueup::Replace];

    pub fn name(self) -> &'static str {
        match self {
            Trueup::Delta => "delta",
            Trueup::Replace => "replace",
        }
    }
}

/// How often a line bills. `Month` follows the customer's billing periods (the default); the
/// others bill once a cycle, in advance, on the cycle's anniversary, and nothing in the periods
/// between (changes in between are trued up over the cycle's days when the line is prorated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cadence {
    #[default]
    Month,
    Quarter,
    Year,
    /// The commitment term of the subscription the line resells (annual, triennial), from its
    /// `term_start`: an upfront subscription billed once a term.
    Term,
}

impl Cadence {
    pub const ALL: [Cadence; 4] = [
        Cadence::Month,
        Cadence::Quarter,
        Cadence::Year,
        Cadence::Term,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cadence::Month => "month",
            Cadence::Quarter => "quarter",
            Cadence::Year => "year",
            Cadence::Term => "term",
        }
    }
}

/// The user attribute a split groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitKey {
    Department,
    Office,
    City,
}

impl SplitKey {
    pub const ALL: [SplitKey; 3] = [SplitKey::Department, SplitKey::Office, SplitKey::City];

    pub fn name(self) -> &'static str {
        match self {
            SplitKey::Department => "department",
            SplitKey::Office => "office",
            SplitKey::City => "city",
        }
    }

    pub fn from_name(name: &str) -> Option<SplitKey> {
        SplitKey::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The PSA a customer's invoices go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PsaKind {
    #[serde(rename = "connectwise")]
    ConnectWise,
    #[serde(rename = "autotask")]
    Autotask,
    #[serde(rename = "halopsa")]
    HaloPsa,
}

impl PsaKind {
    pub const ALL: [PsaKind; 3] = [PsaKind::ConnectWise, PsaKind::Autotask, PsaKind::HaloPsa];

    pub fn name(self) -> &'static str {
        match self {
            PsaKind::ConnectWise => "connectwise",
            PsaKind::Autotask => "autotask",
            PsaKind::HaloPsa => "halopsa",
        }
    }

    pub fn from_name(name: &str) -> Option<PsaKind> {
        PsaKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// `psa connectwise { company "NWT001" agreement "Managed Services" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Psa {
    pub kind: PsaKind,
    pub company: String,
    pub agreement: String,
}

/// `tiers graduated { 5: 0.00, above: 2.99 }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tiers {
    pub mode: TierMode,
    /// (units up to, inclusive; `None` for `above`) and the unit price of each tier, in order.
    pub tiers: Vec<(Option<u64>, TExpr)>,
}

/// `from 2026-07-01 [until 2026-12-31] price 27.00`: the price in force on those days.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatedPrice {
    pub from: chrono::NaiveDate,
    /// The last day, inclusive; `None`: until the next dated price, or for good.
    pub until: Option<chrono::NaiveDate>,
    pub price: TExpr,
    pub span: Span,
}
