//! Each subscription's current seats and cost, from its reconciliation lines.
//!
//! - **Term** from `TermAndBillingCycle` (free text: "One-Year commitment for monthly/yearly
//!   billing", "1 Year Subscription", "One-Month commitment for trial"), else from the span of
//!   `SubscriptionStartDate`..`SubscriptionEndDate`.
//! - **Billing plan** from `BillingFrequency`: `Monthly` → monthly, `Annual`/`Triennial` →
//!   upfront; blank (prepaid) → upfront, except on a monthly term which bills monthly anyway.
//! - **Monthly unit cost**, in the billing currency: the unit price of the latest charge for a
//!   whole billing cycle (`new`, `renew`, `cycleCharge`, `changeBillingPlan` lines whose charge
//!   period is one month, one year or three years, ±3 days for Microsoft's month-end
//!   alignment; a `convert` charge counts when it starts a whole cycle), converted with `PCToBCExchangeRate` and truncated to 2 places as Microsoft
//!   does for licence lines, then divided by the months the cycle covers. Prorated lines
//!   (seat changes, coterminous purchases) are never used: their unit price covers part of a
//!   cycle. Without a whole-cycle line the list `UnitPrice` is used, with a warning. A
//!   division that does not terminate is rounded half-up to 6 places.
//! - **Graph SKU**: the reconciliation file has no Graph `skuId`, only Partner Center's
//!   `ProductId`/`SkuId` and names. The candidates are the SKUs whose display name in
//!   Microsoft's SKU table equals `SkuName` or `ProductName`; the tenant's Graph SKUs narrow
//!   them down when building the snapshot.

use std::collections::HashMap;

use chrono::{Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use tally_money::{Currency, Money};
use tally_snapshot::{BillingPlan, Term};

use crate::error::Warning;
use crate::mapping::normalize_id;
use crate::recon::{ChargeType, CostBasis, Direction, ReconLine};
use crate::seats::SeatChange;

/// A subscription (and product) as the reconciliation files leave it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconSubscription {
    pub customer_id: String,
    pub customer_domain: Option<String>,
    pub customer_name: Option<String>,
    pub subscription_id: String,
    /// Partner Center `ProductId:SkuId`.
    pub sku_id: String,
    pub sku_name: Option<String>,
    pub product_name: Option<String>,
    /// Graph SKU GUIDs whose display name matches `sku_name` or `product_name`; empty when
    /// none does, several when the name is shared (`Microsoft 365 Business Basic`).
    pub sku_guids: Vec<String>,
    /// Seats after the last seat change read (0 after a cancellation or a full conversion).
    pub quantity: u32,
    /// `UnitPrice` (list, pricing currency, per billing cycle) of the line the cost is from.
    pub unit_price: Decimal,
    /// `EffectiveUnitPrice` of that line.
    pub effective_unit_price: Option<Decimal>,
    pub pricing_currency: Option<String>,
    /// Billing currency.
    pub currency: Currency,
    pub exchange_rate: Option<Decimal>,
    pub term: Option<Term>,
    pub billing_plan: Option<BillingPlan>,
    pub billing_frequency: Option<String>,
    pub term_and_billing_cycle: Option<String>,
    /// Per seat per month, in the billing currency; `None` when it cannot be worked out (a
    /// warning says why).
    pub monthly_unit_cost: Option<Money>,
    /// Start of the current term (`SubscriptionStartDate` of the latest line): its
    /// anniversary fixes the NCE billing cycles.
    pub term_start: Option<NaiveDate>,
    /// Order date of the last line of the subscription.
    pub last_event: NaiveDate,
    /// The line the cost is from.
    pub file: String,
    pub line: Option<u64>,
}

/// Term from `TermAndBillingCycle`, else from the subscription's start and end dates.
pub(crate) fn term_of(l: &ReconLine) -> Option<Term> {
    if let Some(text) = &l.term_and_billing_cycle {
        let lower = text.to_lowercase();
        // Only the commitment part: "monthly/yearly billing" says nothing about the term.
        let commitment = lower.split(" for ").next().unwrap_or(&lower);
        if ["three", "3 year", "3-year", "triennial", "36"]
            .iter()
            .any(|w| commitment.contains(w))
        {
            return Some(Term::Triennial);
        }
        if ["year", "annual", "p1y"]
            .iter()
            .any(|w| commitment.contains(w))
        {
            return Some(Term::Annual);
        }
        if ["month", "p1m"].iter().any(|w| commitment.contains(w)) {
            return Some(Term::Monthly);
        }
    }
    let (start, end) = (l.subscription_start_date?, l.subscription_end_date?);
    match (end - start).num_days() + 1 {
        25..=32 => Some(Term::Monthly),
        358..=372 => Some(Term::Annual),
        1088..=1102 => Some(Term::Triennial),
        _ => None,
    }
}

/// Billing plan from `BillingFrequency`.
pub(crate) fn plan_of(l: &ReconLine, term: Option<Term>) -> Option<BillingPlan> {
    match l
        .billing_frequency
        .as_deref()
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("monthly") => Some(BillingPlan::Monthly),
        Some("annual" | "yearly" | "triennial" | "onetime" | "one-time") => {
            Some(BillingPlan::Upfront)
        }
        Some(_) => None,
        None => match term {
            Some(Term::Monthly) => Some(BillingPlan::Monthly),
            Some(_) => Some(BillingPlan::Upfront),
            None => None,
        },
    }
}

/// Months in the line's charge period when it is one whole billing cycle.
fn whole_cycle_months(l: &ReconLine) -> Option<u32> {
    let (start, end) = (l.charge_start_date?, l.charge_end_date?);
    [1u32, 12, 36].into_iter().find(|&m| {
        start
            .checked_add_months(Months::new(m))
            .and_then(|d| d.pred_opt())
            .is_some_and(|expected| (end - expected).num_days().abs() <= 3)
    })
}

fn term_months(term: Term) -> u32 {
    match term {
        Term::Monthly => 1,
        Term::Annual => 12,
        Term::Triennial => 36,
    }
}

/// Build the subscriptions from sorted lines and the seat changes derived from them.
pub(crate) fn subscriptions(
    lines: &[ReconLine],
    changes: &[SeatChange],
    basis: CostBasis,
    warnings: &mut Vec<Warning>,
) -> Vec<ReconSubscription> {
    let key = |customer: &str, sub: &str, sku: &str| {
        (normalize_id(customer), sub.to_lowercase(), sku.to_string())
    };
    let mut quantity: HashMap<(String, String, String), u32> = HashMap::new();
    for c in changes {
        quantity.insert(
            key(&c.customer_id, &c.subscription_id, &c.sku_id),
            c.quantity_after,
        );
    }
    // Lines per subscription and product, in time order.
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut by_key: HashMap<(String, String, String), Vec<&ReconLine>> = HashMap::new();
    for l in lines.iter().filter(|l| l.is_seat_based()) {
        let k = key(&l.customer_id, &l.subscription_id, &l.catalog_sku());
        if !by_key.contains_key(&k) {
            order.push(k.clone());
        }
        by_key.entry(k).or_default().push(l);
    }
    let catalog = tally_skus::catalog();
    let mut out = Vec::new();
    for k in order {
        let Some(sub_lines) = by_key.get(&k) else {
            continue;
        };
        let Some(&last) = sub_lines.last() else {
            continue;
        };
        let charges: Vec<&ReconLine> = sub_lines
            .iter()
            .copied()
            .filter(|l| l.direction() != Direction::Refund)
            .collect();
        let whole_cycle = charges.iter().rev().find_map(|l| {
            let full_type = matches!(
                l.charge_type,
                ChargeType::New
                    | ChargeType::Renew
                    | ChargeType::CycleCharge
                    | ChargeType::ChangeBillingPlan
                    | ChargeType::Convert
            );
            if full_type {
                whole_cycle_months(l).map(|m| (*l, m))
            } else {
                None
            }
        });
        let priced =
            whole_cycle.map_or_else(|| charges.last().copied().unwrap_or(last), |(l, _)| l);
        let term = term_of(priced).or_else(|| term_of(last));
        let plan = plan_of(last, term);
        let mut guids: Vec<String> = Vec::new();
        for name in [&last.sku_name, &last.product_name].into_iter().flatten() {
            for sku in catalog.by_display_name(name) {
                if !guids.contains(&sku.guid) {
                    guids.push(sku.guid.clone());
                }
            }
        }
        let warn = |warnings: &mut Vec<Warning>, m: String| {
            warnings.push(Warning::at(
                &priced.file,
                priced.line,
                Some(priced.record),
                m,
            ));
        };
        let who = format!(
            "subscription {} ({})",
            priced.subscription_id,
            priced.catalog_sku()
        );
        let monthly_unit_cost =
            monthly_cost(priced, whole_cycle.map(|(_, m)| m), term, plan, basis)
                .map_err(|why| warn(warnings, format!("{who}: no monthly unit cost: {why}")))
                .ok();
        if whole_cycle.is_none() && monthly_unit_cost.is_some() {
            warn(
                warnings,
                format!(
                    "{who}: no line charges a whole billing cycle; the monthly cost is taken \
                     from the list unit price {}",
                    priced.unit_price
                ),
            );
        }
        out.push(ReconSubscription {
            customer_id: last.customer_id.clone(),
            customer_domain: last.customer_domain.clone(),
            customer_name: last.customer_name.clone(),
            subscription_id: last.subscription_id.clone(),
            sku_id: last.catalog_sku(),
            sku_name: last.sku_name.clone(),
            product_name: last.product_name.clone(),
            sku_guids: guids,
            quantity: quantity.get(&k).copied().unwrap_or(last.quantity),
            unit_price: priced.unit_price,
            effective_unit_price: priced.effective_unit_price,
            pricing_currency: priced.pricing_currency.clone(),
            currency: priced.currency,
            exchange_rate: priced.pc_to_bc_exchange_rate,
            term,
            billing_plan: plan,
            billing_frequency: last.billing_frequency.clone(),
            term_and_billing_cycle: last.term_and_billing_cycle.clone(),
            monthly_unit_cost,
            term_start: last
                .subscription_start_date
                .or(priced.subscription_start_date),
            last_event: last.order_date.date,
            file: priced.file.clone(),
            line: priced.line,
        });
    }
    out
}

fn monthly_cost(
    l: &ReconLine,
    cycle_months: Option<u32>,
    term: Option<Term>,
    plan: Option<BillingPlan>,
    basis: CostBasis,
) -> Result<Money, String> {
    let price = match (basis, cycle_months, l.effective_unit_price) {
        (CostBasis::Effective, Some(_), Some(effective)) => effective,
        _ => l.unit_price,
    };
    let same_currency = l
        .pricing_currency
        .as_deref()
        .is_none_or(|p| p.eq_ignore_ascii_case(l.currency.code()));
    let rate = match l.pc_to_bc_exchange_rate {
        Some(r) if !r.is_zero() => r,
        _ if same_currency => Decimal::ONE,
        _ => {
            return Err(format!(
                "prices are in {} and billed in {} but there is no exchange rate",
                l.pricing_currency.as_deref().unwrap_or("?"),
                l.currency.code()
            ));
        }
    };
    let per_cycle = price
        .checked_mul(rate)
        .ok_or("the price overflows")?
        .round_dp_with_strategy(2, RoundingStrategy::ToZero);
    let months = match (cycle_months, plan, term) {
        (Some(m), _, _) => m,
        (None, Some(BillingPlan::Monthly), _) => 1,
        (None, Some(BillingPlan::Upfront), Some(t)) => term_months(t),
        _ => return Err("the billing plan or term is unknown".into()),
    };
    if months == 1 {
        return Ok(Money::new(per_cycle, l.currency));
    }
    let monthly = per_cycle
        .checked_div(Decimal::from(months))
        .ok_or("the price overflows")?;
    Ok(Money::new(
        monthly.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero),
        l.currency,
    ))
}
