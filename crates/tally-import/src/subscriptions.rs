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
//!   alignment; a `convert` charge counts when it starts a whole cycle), converted with
//!   `PCToBCExchangeRate` and truncated to 2 places as Microsoft does for licence lines, then
//!   divided by the months the cycle covers. Prorated lines (seat changes, coterminous
//!   purchases) are never used: their unit price covers part of a cycle. Without a
//!   whole-cycle line the list `UnitPrice` is used, with a warning. A division that does not
//!   terminate is rounded half-up to 6 places.
//! - **Graph SKU**: the reconciliation file has no Graph `skuId`, only Partner Center's
//!   `ProductId`/`SkuId` and names. The candidates are the SKUs whose display name in
//!   Microsoft's SKU table equals `SkuName` or `ProductName`; the tenant's Graph SKUs narrow
//!   them down when building the snapshot.

use std::collections::HashMap;

use chrono::{Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use tally_money::{Currency, Money};
use tally_skus::SkuCatalog;
use tally_snapshot::{BillingPlan, Term};

use crate::error::Warning;
use crate::recon::{ChargeType, CostBasis, Direction, ReconLine};
use crate::seats::{SeatChange, SeatKey, group_in_order, line_seat_key};

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
    /// Per seat for the whole term, exactly, when a line charges an upfront annual or
    /// triennial term.
    pub term_unit_cost: Option<Money>,
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

/// Charge types that bill a whole billing cycle when their charge period is one (a `convert`
/// does when it starts a new cycle).
fn may_charge_a_cycle(ct: &ChargeType) -> bool {
    matches!(
        ct,
        ChargeType::New
            | ChargeType::Renew
            | ChargeType::CycleCharge
            | ChargeType::ChangeBillingPlan
            | ChargeType::Convert
    )
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

/// Build the subscriptions from sorted lines and the seat changes derived from them.
pub(crate) fn subscriptions(
    lines: &[ReconLine],
    changes: &[SeatChange],
    basis: CostBasis,
    warnings: &mut Vec<Warning>,
) -> Vec<ReconSubscription> {
    // Seats after each subscription's last change.
    let seats: HashMap<SeatKey, u32> = changes
        .iter()
        .map(|c| (c.seat_key(), c.quantity_after))
        .collect();
    let catalog = tally_skus::catalog();
    let seat_lines = lines.iter().filter(|l| l.is_seat_based());
    group_in_order(seat_lines, line_seat_key)
        .into_iter()
        .filter_map(|(key, sub_lines)| {
            subscription(
                &sub_lines,
                seats.get(&key).copied(),
                basis,
                catalog,
                warnings,
            )
        })
        .collect()
}

/// One subscription from its lines in time order; `seats` is the count after its last seat
/// change, when it has one.
fn subscription(
    lines: &[&ReconLine],
    seats: Option<u32>,
    basis: CostBasis,
    catalog: &SkuCatalog,
    warnings: &mut Vec<Warning>,
) -> Option<ReconSubscription> {
    let &last = lines.last()?;
    let (priced, cycle_months) = priced_line(lines)?;
    let term = term_of(priced).or_else(|| term_of(last));
    let plan = plan_of(last, term);
    let monthly_unit_cost = monthly_unit_cost(priced, cycle_months, term, plan, basis, warnings);
    let term_unit_cost = term_unit_cost(priced, cycle_months, term, plan, basis);
    Some(ReconSubscription {
        customer_id: last.customer_id.clone(),
        customer_domain: last.customer_domain.clone(),
        customer_name: last.customer_name.clone(),
        subscription_id: last.subscription_id.clone(),
        sku_id: last.catalog_sku(),
        sku_name: last.sku_name.clone(),
        product_name: last.product_name.clone(),
        sku_guids: graph_guids(catalog, last),
        quantity: seats.unwrap_or(last.quantity),
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
        term_unit_cost,
        term_start: last
            .subscription_start_date
            .or(priced.subscription_start_date),
        last_event: last.order_date.date,
        file: priced.file.clone(),
        line: priced.line,
    })
}

/// The line a subscription's cost is read from, with the months of its billing cycle when it
/// charges a whole one: the latest whole-cycle charge, else the latest charge, else the last
/// line. Refunds never price.
fn priced_line<'l>(lines: &[&'l ReconLine]) -> Option<(&'l ReconLine, Option<u32>)> {
    let charges = || {
        lines
            .iter()
            .copied()
            .filter(|l| l.direction() != Direction::Refund)
    };
    let whole_cycle = charges()
        .rev()
        .filter(|l| may_charge_a_cycle(&l.charge_type))
        .find_map(|l| whole_cycle_months(l).map(|m| (l, Some(m))));
    if whole_cycle.is_some() {
        return whole_cycle;
    }
    let latest = charges().next_back().or_else(|| lines.last().copied())?;
    Some((latest, None))
}

/// The Graph SKU GUIDs whose display name is the line's SKU or product name.
fn graph_guids(catalog: &SkuCatalog, l: &ReconLine) -> Vec<String> {
    let mut guids: Vec<String> = Vec::new();
    for name in [&l.sku_name, &l.product_name].into_iter().flatten() {
        for sku in catalog.by_display_name(name) {
            if !guids.contains(&sku.guid) {
                guids.push(sku.guid.clone());
            }
        }
    }
    guids
}

/// The monthly unit cost of the priced line, with a warning when it cannot be worked out, or
/// when it is the list price because no line charges a whole cycle (`cycle_months` is `None`).
fn monthly_unit_cost(
    priced: &ReconLine,
    cycle_months: Option<u32>,
    term: Option<Term>,
    plan: Option<BillingPlan>,
    basis: CostBasis,
    warnings: &mut Vec<Warning>,
) -> Option<Money> {
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
    let cost = monthly_cost(priced, cycle_months, term, plan, basis)
        .map_err(|why| warn(warnings, format!("{who}: no monthly unit cost: {why}")))
        .ok();
    if cycle_months.is_none() && cost.is_some() {
        warn(
            warnings,
            format!(
                "{who}: no line charges a whole billing cycle; the monthly cost is taken \
                 from the list unit price {}",
                priced.unit_price
            ),
        );
    }
    cost
}

/// The cost per seat per month of a line, in its billing currency: its price for a cycle
/// ([`cycle_price`]) divided by the months that price covers.
fn monthly_cost(
    l: &ReconLine,
    cycle_months: Option<u32>,
    term: Option<Term>,
    plan: Option<BillingPlan>,
    basis: CostBasis,
) -> Result<Money, String> {
    let per_cycle = cycle_price(l, cycle_months, basis)?;
    let months = cycle_length(cycle_months, term, plan)?;
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

/// The exact cost per seat of a whole annual or triennial term, when the line's price covers
/// the term (billed upfront); `None` otherwise (the term's cost is then the monthly cost ×
/// months).
fn term_unit_cost(
    l: &ReconLine,
    cycle_months: Option<u32>,
    term: Option<Term>,
    plan: Option<BillingPlan>,
    basis: CostBasis,
) -> Option<Money> {
    let term = term?;
    let months = cycle_length(cycle_months, Some(term), plan).ok()?;
    if months == 1 || months != term.months() {
        return None;
    }
    let per_cycle = cycle_price(l, cycle_months, basis).ok()?;
    Some(Money::new(per_cycle, l.currency))
}

/// The months one price of a line covers: the cycle seen in the files, else one month for a
/// monthly plan and the term for an upfront one.
fn cycle_length(
    cycle_months: Option<u32>,
    term: Option<Term>,
    plan: Option<BillingPlan>,
) -> Result<u32, String> {
    match (cycle_months, plan, term) {
        (Some(m), _, _) => Ok(m),
        (None, Some(BillingPlan::Monthly), _) => Ok(1),
        (None, Some(BillingPlan::Upfront), Some(t)) => Ok(t.months()),
        _ => Err("the billing plan or term is unknown".into()),
    }
}

/// A line's price per seat for one billing cycle, in its billing currency: its unit price
/// (effective or list, as `basis` says; effective only for a whole-cycle charge) converted
/// and truncated to 2 places.
fn cycle_price(
    l: &ReconLine,
    cycle_months: Option<u32>,
    basis: CostBasis,
) -> Result<Decimal, String> {
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
    Ok(per_cycle)
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::source::Source;

    /// A subscription of 10 Office 365 E1 seats, with nothing else known.
    pub(crate) fn subscription(
        customer_id: &str,
        domain: &str,
        subscription_id: &str,
    ) -> ReconSubscription {
        ReconSubscription {
            customer_id: customer_id.to_string(),
            customer_domain: Some(domain.to_string()),
            customer_name: None,
            subscription_id: subscription_id.to_string(),
            sku_id: "CFQ7TTC0LF8Q:0001".to_string(),
            sku_name: Some("Office 365 E1".to_string()),
            product_name: None,
            sku_guids: Vec::new(),
            quantity: 10,
            unit_price: Decimal::ZERO,
            effective_unit_price: None,
            pricing_currency: None,
            currency: Currency::from_code("USD").unwrap(),
            exchange_rate: None,
            term: None,
            billing_plan: None,
            billing_frequency: None,
            term_and_billing_cycle: None,
            monthly_unit_cost: None,
            term_unit_cost: None,
            term_start: None,
            last_event: NaiveDate::from_ymd_opt(2021, 7, 1).unwrap(),
            file: "recon.csv".to_string(),
            line: Some(2),
        }
    }

    #[test]
    fn the_latest_whole_cycle_charge_prices_a_subscription() {
        let csv = "CustomerId,SubscriptionId,OrderDate,ChargeType,Quantity,UnitPrice,Subtotal,\
                   Currency,ChargeStartDate,ChargeEndDate,ProductId,SkuId\n\
                   c1,s1,1/1/2021,new,10,10,100,USD,1/1/2021,1/31/2021,P,0001\n\
                   c1,s1,1/15/2021,addQuantity,12,10,51.61,USD,1/15/2021,1/31/2021,P,0001\n\
                   c1,s1,1/15/2021,addQuantity,10,10,-43.01,USD,1/15/2021,1/31/2021,P,0001\n";
        let lines = crate::recon::read_recon_lines(&Source::memory("recon.csv", csv)).unwrap();
        let all: Vec<&ReconLine> = lines.iter().collect();
        let (priced, months) = priced_line(&all).unwrap();
        assert_eq!((priced.record, months), (1, Some(1)));
        // Only prorated lines: the latest charge, never the refund after it.
        let (priced, months) = priced_line(&all[1..]).unwrap();
        assert_eq!((priced.record, months), (2, None));
    }
}
