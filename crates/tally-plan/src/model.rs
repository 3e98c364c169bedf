//! The plan: what to invoice, per customer, for one period. Versioned JSON, documented in
//! `docs/plan.md`. Amounts are exact decimals, written as strings at the currency's minor unit;
//! words (billing, term, rounding, PSA) are the enums rules use, written by the names rules use.

use crate::text;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_billing::ProrationRounding;
use tally_ir::{Billing, LineRounding, PsaKind, Term};
use tally_money::{Currency, Money};

/// Version 2 keys line ids on the tenant instead of the customer's display name.
pub const PLAN_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub period: PlanPeriod,
    pub inputs: Inputs,
    pub customers: Vec<CustomerPlan>,
    /// Customer files that could not be planned, and why: a plan with any is not complete and
    /// must not be sent to a PSA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incomplete {
    /// The rule file.
    pub rules: String,
    /// The first problem, in one line.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// What the plan was computed from, by content hash, so an approved plan can be tied to its inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub rules: Vec<InputFile>,
    /// `None` when the plan read no snapshot (`tally plan --usage FILE --period P` alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<InputFile>,
    /// Azure usage files read straight into the plan (`tally plan --usage`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<InputFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    /// Empty (and left out) only for usage files read with `tally plan --usage
    /// --no-provenance`, where hashing gigabytes would cost more than the plan.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPlan {
    pub customer: String,
    pub tenant: String,
    pub currency: Currency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psa: Option<PsaTarget>,
    /// The rule file.
    pub rules: String,
    /// The customer's billing period (its `billing_day` may differ from the calendar month).
    pub period: PlanPeriod,
    pub lines: Vec<PlanLine>,
    /// The sum of the priced lines' amounts.
    #[serde(with = "text::decimal")]
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsaTarget {
    pub kind: PsaKind,
    pub company: String,
    pub agreement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLine {
    /// Stable across runs and unique in the plan: the tenant, the rule line, and the split
    /// group, tier, bundle product or prorated stretch. Never display text: adapters and the
    /// journal key PSA lines on it month after month (`docs/plan.md`).
    pub id: String,
    /// The rule line's name.
    pub line: String,
    pub product: String,
    pub description: String,
    pub quantity: i64,
    /// `None` for a quantity-only line, priced by the PSA's catalogue.
    #[serde(with = "text::opt_decimal")]
    pub unit_price: Option<Decimal>,
    #[serde(with = "text::opt_decimal")]
    pub amount: Option<Decimal>,
    pub currency: Currency,
    pub period: PlanPeriod,
    pub billing: Billing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitPart>,
    /// What the line resells from Microsoft, for reconciliation: the SKUs its quantity reads,
    /// or Azure usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft: Option<MicrosoftLink>,
    /// For a prorated charge: which days of which cycle, and how it was rounded. `amount` is then
    /// the prorated amount, not `quantity × unit_price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proration: Option<Proration>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftLink {
    /// SKU GUIDs (Graph `skuId`), lower case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sku_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub azure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proration {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    pub cycle_days: i64,
    pub rounding: ProrationRounding,
    /// The unit price for these days, as Microsoft's `EffectiveUnitPrice`.
    #[serde(with = "text::decimal")]
    pub effective_unit_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPart {
    pub key: String,
    pub value: String,
    /// How many of the split's users are in this group.
    pub users: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Byte offsets of the rule in the file.
    pub span: [u32; 2],
    /// The rounding applied to the unit price or amount.
    pub rounding: LineRounding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<MinimumApplied>,
    /// Costs converted into the customer's currency, at the snapshot's rates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversions: Vec<ConversionUsed>,
    /// Units included at no charge, subtracted after the minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included: Option<u64>,
    /// The day whose data the quantity was read from.
    pub measured_on: NaiveDate,
    /// How the count moved, for prorated lines and `measure max`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily: Vec<DailyCount>,
    /// Things a person must look at: e.g. a seat reduction outside Microsoft's 7-day window,
    /// which is not credited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The values the rule used, outermost first: "`count(staff)` = 27", with who was counted.
    pub drivers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionUsed {
    /// The amount as the snapshot gives it, e.g. "18.10 USD".
    #[serde(with = "text::money")]
    pub from: Money,
    /// The amount in the customer's currency, unrounded.
    #[serde(with = "text::money")]
    pub to: Money,
    #[serde(with = "text::decimal")]
    pub rate: Decimal,
    /// The rate's date.
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCount {
    pub from: NaiveDate,
    pub counted: u64,
    pub billed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimumApplied {
    pub minimum: u64,
    pub counted: u64,
}
