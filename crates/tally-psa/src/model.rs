//! The words of a push: what the plan wants in the PSA (`DesiredLine`), what the PSA holds
//! (`RemoteLine`, `RemoteState`), and the difference (`Change`, `CustomerDiff`, `Diff`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use tally_ir::PsaKind;
use tally_money::Currency;

/// One plan line as it will be sent: what the PSA line must hold for the customer to see the
/// plan's amount to the cent (`docs/psa.md`, "How lines are sent").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredLine {
    /// The plan line's id: the key the PSA line carries and the journal records.
    pub key: String,
    /// The agreement (ConnectWise), contract (Autotask) or recurring invoice (HaloPSA), by name.
    pub agreement: String,
    /// The plan's product identifier.
    pub plan_product: String,
    /// The PSA catalogue's identifier, after `tally.toml`'s product mapping.
    pub product: String,
    /// The invoice text.
    pub description: String,
    #[serde(with = "crate::text::decimal")]
    pub quantity: Decimal,
    /// `None` when the PSA's catalogue prices the line.
    #[serde(with = "crate::text::opt_decimal")]
    pub unit_price: Option<Decimal>,
    /// The plan's amount (`quantity × unit_price` exactly), `None` for catalogue-priced lines.
    #[serde(with = "crate::text::opt_decimal")]
    pub amount: Option<Decimal>,
    /// The first day the line bills.
    pub effective: NaiveDate,
    /// The last day a one-off line (a prorated stretch, a true-up) bills; `None` for a
    /// recurring line.
    pub ends: Option<NaiveDate>,
}

/// A line as the PSA holds it now (an agreement addition, a contract service, a recurring
/// invoice line). Only lines that bill in the customer's period are read as active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteLine {
    /// The PSA's id for the line.
    pub external_id: String,
    /// The agreement's name.
    pub agreement: String,
    /// The plan line id the line carries if Tally created it (or adopted it); `None` for a
    /// line Tally does not own.
    pub key: Option<String>,
    /// The PSA catalogue's identifier.
    pub product: String,
    pub description: String,
    #[serde(with = "crate::text::decimal")]
    pub quantity: Decimal,
    #[serde(with = "crate::text::opt_decimal")]
    pub unit_price: Option<Decimal>,
    pub effective: Option<NaiveDate>,
    pub ends: Option<NaiveDate>,
}

impl RemoteLine {
    pub fn amount(&self) -> Option<Decimal> {
        self.unit_price.and_then(|p| p.checked_mul(self.quantity))
    }
}

/// A catalogue item the PSA has for a product identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueItem {
    pub external_id: String,
    /// The catalogue's price, which a line without a price of its own gets.
    #[serde(with = "crate::text::opt_decimal")]
    pub price: Option<Decimal>,
}

/// What the PSA holds for one customer: its agreements by name, the active lines on them, and
/// the catalogue items for the products the plan names (a product absent from the map is not in
/// the catalogue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteState {
    /// Agreement name → the PSA's id.
    pub agreements: BTreeMap<String, String>,
    pub lines: Vec<RemoteLine>,
    pub catalogue: BTreeMap<String, CatalogueItem>,
    /// Lines (by `external_id`) nothing may be written to, and why: what the PSA answered
    /// cannot be turned into a safe write (units that change within the period, a one-off
    /// line dated outside it). The diff refuses the plan line that matches one.
    pub refused: BTreeMap<String, String>,
    /// Lines (by `external_id`) the PSA bills in the period at another price than the line's
    /// own unit price. The diff refuses the plan line that matches one unless the plan's price
    /// is the one billed.
    pub billed_prices: BTreeMap<String, rust_decimal::Decimal>,
    /// The PSA has no price of its own for a line: one with neither a plan price nor a
    /// catalogue price is refused rather than sent at 0.
    pub needs_price: bool,
}

/// Which customer, where, for which period: what an adapter needs to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerTarget {
    pub customer: String,
    pub tenant: String,
    pub kind: PsaKind,
    /// The PSA company (ConnectWise company identifier, Autotask company name, Halo client).
    pub company: String,
    pub currency: Currency,
    /// The agreements the plan's lines name.
    pub agreements: Vec<String>,
    /// The PSA catalogue identifiers the plan's lines need.
    pub products: Vec<String>,
    /// The plan's line ids (the keys its lines carry), sorted.
    pub keys: Vec<String>,
    /// The customer's billing period: lines cancelled before its first day are history.
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

/// What happens to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new line.
    Create,
    /// Quantity, price, invoice text or end date changes.
    Update,
    /// A line Tally does not own is taken over (`--adopt`): keyed and updated.
    Adopt,
    /// The line ends: its cancellation date is set (never deleted).
    Cancel,
    Unchanged,
    /// A line Tally did not create: shown, never touched.
    NotOwned,
    /// Tally will not do this (a product not in the catalogue, a duplicate, …): the note says why.
    Refused,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Adopt => "adopt",
            Action::Cancel => "cancel",
            Action::Unchanged => "unchanged",
            Action::NotOwned => "not Tally's",
            Action::Refused => "refused",
        }
    }

    /// Whether applying it writes to the PSA.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::Adopt | Action::Cancel
        )
    }
}

/// A line's values on one side of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Values {
    #[serde(with = "crate::text::decimal")]
    pub quantity: Decimal,
    #[serde(with = "crate::text::opt_decimal")]
    pub unit_price: Option<Decimal>,
    #[serde(with = "crate::text::opt_decimal")]
    pub amount: Option<Decimal>,
    pub description: String,
    pub ends: Option<NaiveDate>,
}

/// How an apply went for one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// Written; the PSA's id for the line.
    Done {
        external_id: String,
    },
    /// The write's answer was lost but reading the PSA again shows it was carried out.
    Confirmed {
        external_id: String,
    },
    /// Not written: the run stopped before it or it failed (see the report's error).
    Remaining,
    Failed {
        error: String,
    },
}

/// One line of the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    /// The plan line id; for a line Tally does not own, `#` and the PSA's id.
    pub key: String,
    pub agreement: String,
    pub product: String,
    /// The PSA's id of the line changed, cancelled or adopted.
    pub external_id: Option<String>,
    pub before: Option<Values>,
    pub after: Option<Values>,
    /// Why a line is refused, or what to look at.
    pub note: Option<String>,
    /// The line to write, for creates, updates and adoptions.
    #[serde(skip)]
    pub desired: Option<DesiredLine>,
    /// For cancellations: the last day billed.
    pub cancel_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// One customer's diff, with the money before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerDiff {
    pub customer: String,
    pub tenant: String,
    pub psa: PsaKind,
    pub company: String,
    pub currency: Currency,
    pub changes: Vec<Change>,
    /// What Tally's lines bill now and will bill (catalogue-priced lines at the catalogue's
    /// price when known).
    #[serde(with = "crate::text::decimal")]
    pub before: Decimal,
    #[serde(with = "crate::text::decimal")]
    pub after: Decimal,
    /// Why the whole customer is refused (`--max-change`, an unknown company, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<String>,
}

impl CustomerDiff {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn is_refused(&self) -> bool {
        !self.refusals.is_empty() || self.count(Action::Refused) > 0
    }
}

/// The whole push: every customer's diff, and the totals per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub period: tally_plan::PlanPeriod,
    pub customers: Vec<CustomerDiff>,
    /// Customers not sent, and why (no `psa` block).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    pub totals: Vec<Total>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    pub currency: Currency,
    #[serde(with = "crate::text::decimal")]
    pub before: Decimal,
    #[serde(with = "crate::text::decimal")]
    pub after: Decimal,
}

impl Diff {
    pub fn writes(&self) -> usize {
        self.customers
            .iter()
            .flat_map(|c| &c.changes)
            .filter(|c| c.action.writes())
            .count()
    }

    pub fn is_refused(&self) -> bool {
        self.customers.iter().any(CustomerDiff::is_refused)
    }

    pub fn refusals(&self) -> Vec<String> {
        let mut out = Vec::new();
        for customer in &self.customers {
            for refusal in &customer.refusals {
                out.push(format!("{}: {refusal}", customer.customer));
            }
            for change in &customer.changes {
                if change.action == Action::Refused {
                    out.push(format!(
                        "{}: `{}`: {}",
                        customer.customer,
                        change.key,
                        change.note.as_deref().unwrap_or("refused")
                    ));
                }
            }
        }
        out
    }

    /// The totals per currency. A customer whose amounts would take a currency's total beyond
    /// what a Decimal holds is refused (which refuses the push) and left out of the total.
    pub(crate) fn compute_totals(&mut self) {
        let mut totals: BTreeMap<&'static str, Total> = BTreeMap::new();
        for customer in &mut self.customers {
            let entry = totals
                .entry(customer.currency.code())
                .or_insert_with(|| Total {
                    currency: customer.currency,
                    before: Decimal::ZERO,
                    after: Decimal::ZERO,
                });
            match (
                entry.before.checked_add(customer.before),
                entry.after.checked_add(customer.after),
            ) {
                (Some(before), Some(after)) => {
                    entry.before = before;
                    entry.after = after;
                }
                _ => customer.refusals.push(format!(
                    "the {} total of all customers is too large to add up (Decimal overflow): check the plan's amounts",
                    customer.currency.code()
                )),
            }
        }
        self.totals = totals.into_values().collect();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use tally_plan::PlanPeriod;

    fn customer(name: &str, after: Decimal) -> CustomerDiff {
        CustomerDiff {
            customer: name.into(),
            tenant: format!("{name}.example"),
            psa: PsaKind::HaloPsa,
            company: name.into(),
            currency: Currency::from_code("USD").unwrap(),
            changes: Vec::new(),
            before: Decimal::ZERO,
            after,
            refusals: Vec::new(),
        }
    }

    #[test]
    fn totals_beyond_a_decimal_refuse_the_push_instead_of_panicking() {
        let near_max = Decimal::MAX - Decimal::ONE;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let mut diff = Diff {
            period: PlanPeriod {
                start: day,
                end: day,
            },
            customers: vec![customer("a", near_max), customer("b", near_max)],
            skipped: Vec::new(),
            totals: Vec::new(),
        };
        diff.compute_totals();
        assert!(diff.is_refused());
        assert!(diff.customers[1].refusals[0].contains("Decimal overflow"));
        assert_eq!(diff.totals[0].after, near_max);
    }
}
