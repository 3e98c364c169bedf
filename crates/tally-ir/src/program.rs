//! A customer's rules linked with every module they use: what the evaluator runs. Every
//! default is decided (product, description, billing timing, rounding, agreement), and the
//! facts that do not depend on the data (which SKUs a line resells, whether it reads Azure)
//! are computed, so evaluation and the plan never guess and never re-derive.

use crate::expr::{LetId, ModuleKey, TExpr};
use crate::line::{
    Billing, Cadence, DatedPrice, LineKind, LineRounding, Measure, Prorate, Psa, SplitKey, Term,
    Tiers, Trueup,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_diagnostics::Span;
use tally_money::Currency;

/// The text of every file a program was built from, for provenance and explanations.
pub type Sources = BTreeMap<ModuleKey, Arc<str>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub customer: Customer,
    pub lets: BTreeMap<LetId, TExpr>,
    pub lines: Vec<Line>,
    pub sources: Sources,
}

impl Program {
    /// The source text under a span of one of the program's files.
    pub fn text(&self, module: &ModuleKey, span: Span) -> &str {
        self.sources.get(module).map_or("", |s| span.text(s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub name: String,
    pub tenant: String,
    pub tenant_span: Span,
    pub currency: Currency,
    pub psa: Option<Psa>,
    /// Billing periods start on this day of the month (1 = calendar months).
    pub billing_day: u32,
    /// The customer's rule file.
    pub module: ModuleKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub name: String,
    pub module: ModuleKey,
    pub span: Span,
    pub kind: LineKind,
    /// A whole number of units for `qty` lines, money for `amount` lines.
    pub value: TExpr,
    /// `None`: a quantity-only line, priced by the PSA's product catalogue.
    pub price: Option<TExpr>,
    pub minimum: Option<TExpr>,
    /// Units included at no charge: billed = max(count after minimum − included, 0).
    pub included: Option<TExpr>,
    pub tiers: Option<Tiers>,
    /// Sorted by start date.
    pub dated_prices: Vec<DatedPrice>,
    pub bundle: Vec<(String, TExpr)>,
    pub split: Option<Split>,
    pub product: String,
    pub description: String,
    /// The PSA agreement (ConnectWise agreement, Autotask contract, Halo recurring invoice).
    pub agreement: Option<String>,
    pub billing: Billing,
    pub term: Option<Term>,
    pub rounding: LineRounding,
    pub prorate: Prorate,
    /// Which count is billed when not prorated: the period's start for advance lines, its end
    /// for arrears lines, unless the rule says.
    pub measure: Measure,
    pub trueup: Trueup,
    /// How often the line bills (`every ...`).
    pub cadence: Cadence,
    /// The first day of a cycle (`every year starting DATE`); without it a cycle starts on the
    /// term start of the subscription the line reads (or the customer's billing day, monthly).
    pub starting: Option<chrono::NaiveDate>,
    /// The subscriptions whose seats drive the quantity: SKU GUIDs (lower case) read through
    /// `m365.sku(...)` or `has_sku(...)`, each with the term asked for, following definitions.
    pub quantity_skus: Vec<SkuSelect>,
    /// The subscriptions whose seats the quantity counts (`m365.sku(...)`, not `has_sku`, which
    /// counts users): the ones the line resells, whose term a cadence follows.
    pub seat_skus: Vec<SkuSelect>,
    /// What the line resells from Microsoft, for reconciliation.
    pub resells: Resold,
}

impl Line {
    /// Every expression of the line: its value, prices, minimum, included units, tiers, bundle
    /// parts and split population.
    pub fn expressions(&self) -> Vec<&TExpr> {
        let mut all = vec![&self.value];
        all.extend(self.price.iter());
        all.extend(self.minimum.iter());
        all.extend(self.included.iter());
        if let Some(tiers) = &self.tiers {
            all.extend(tiers.tiers.iter().map(|(_, price)| price));
        }
        all.extend(self.dated_prices.iter().map(|d| &d.price));
        all.extend(self.bundle.iter().map(|(_, e)| e));
        all.extend(self.split.iter().map(|s| &s.population));
        all
    }

    /// Whether the line needs the count of more than one day: prorated, or `measure max`.
    pub fn needs_history(&self) -> bool {
        self.prorate == Prorate::Daily || self.measure == Measure::Max
    }

    /// Whether the line bills on its own cycles rather than the customer's billing periods.
    pub fn has_cycles(&self) -> bool {
        self.cadence != Cadence::Month || self.starting.is_some()
    }

    /// The days in `from..=to`, after `from`, on which a dated price starts or ends: where the
    /// price in force may change.
    pub fn price_changes(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Vec<chrono::NaiveDate> {
        let mut days: Vec<chrono::NaiveDate> = self
            .dated_prices
            .iter()
            .flat_map(|d| {
                std::iter::once(Some(d.from))
                    .chain(std::iter::once(d.until.and_then(|until| until.succ_opt())))
            })
            .flatten()
            .filter(|day| from < *day && *day <= to)
            .collect();
        days.sort();
        days.dedup();
        days
    }
}

/// The Microsoft products a line's quantity or price reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resold {
    /// SKU GUIDs, lower case, sorted, without repeats.
    pub sku_ids: Vec<String>,
    /// Whether the line's value reads `azure.usage`.
    pub azure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub key: SplitKey,
    /// The bucket for users with no value for the key.
    pub otherwise: String,
    pub population: TExpr,
}

/// Which subscriptions `m365.sku(...)` selects: a SKU (one GUID of it), optionally only those on
/// one commitment term, optionally only the one whose first term started on a date.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SkuSelect {
    pub guid: String,
    pub term: Option<Term>,
    pub term_start: Option<chrono::NaiveDate>,
}

impl SkuSelect {
    /// Whether a subscription to `sku_id` on `term`, first started on `term_start`, is selected.
    pub fn selects(&self, sku_id: &str, term: Term, term_start: Option<chrono::NaiveDate>) -> bool {
        self.guid.eq_ignore_ascii_case(sku_id.trim())
            && self.term.is_none_or(|t| t == term)
            && self.term_start.is_none_or(|d| term_start == Some(d))
    }
}
