//! How each plan line is sent: the quantity and unit price a PSA line must hold so that the
//! customer sees the plan's amount to the cent (`docs/psa.md`, "How lines are sent").

use crate::model::{CustomerTarget, DesiredLine};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use tally_plan::{CustomerPlan, PlanLine};

/// What a plan line becomes. In order of preference:
///
/// 1. `quantity × unit_price` when that is the plan's amount (ordinary lines, `amount` lines
///    with quantity 1, true-ups);
/// 2. for a prorated stretch, `quantity × effective_unit_price` when that is the amount
///    (Microsoft's R2 rounding);
/// 3. otherwise quantity 1 at the whole amount, the invoice text saying how many units it is
///    for (R1 rounding, where `amount` is not a multiple of the quantity).
///
/// A line without a price is sent with its quantity and no price: the catalogue prices it.
pub fn billed_as(line: &PlanLine) -> (Decimal, Option<Decimal>, String) {
    let quantity = Decimal::from(line.quantity);
    let Some(amount) = line.amount else {
        return (quantity, None, line.description.clone());
    };
    if let Some(price) = line.unit_price
        && price.checked_mul(quantity) == Some(amount)
    {
        return (quantity, Some(price), line.description.clone());
    }
    if let Some(proration) = &line.proration
        && proration.effective_unit_price.checked_mul(quantity) == Some(amount)
    {
        return (
            quantity,
            Some(proration.effective_unit_price),
            line.description.clone(),
        );
    }
    let description = if line.quantity == 1 {
        line.description.clone()
    } else {
        format!("{} ({} units)", line.description, line.quantity)
    };
    (Decimal::ONE, Some(amount), description)
}

/// Whether a line bills once (a prorated stretch or a true-up) rather than every period.
pub fn one_off(line: &PlanLine) -> bool {
    line.proration.is_some() || line.id.contains("/trueup/")
}

/// The lines one customer wants in its PSA, and what the adapter must read.
pub fn desired(
    customer: &CustomerPlan,
    products: &BTreeMap<String, String>,
) -> Option<(CustomerTarget, Vec<DesiredLine>)> {
    let psa = customer.psa.as_ref()?;
    let mut lines = Vec::new();
    for line in &customer.lines {
        let (quantity, unit_price, description) = billed_as(line);
        let product = products
            .get(&line.product)
            .cloned()
            .unwrap_or_else(|| line.product.clone());
        lines.push(DesiredLine {
            key: line.id.clone(),
            agreement: line
                .agreement
                .clone()
                .unwrap_or_else(|| psa.agreement.clone()),
            plan_product: line.product.clone(),
            product,
            description,
            quantity,
            unit_price,
            amount: line.amount,
            effective: customer.period.start,
            ends: one_off(line).then_some(customer.period.end),
        });
    }
    let mut agreements: Vec<String> = lines.iter().map(|l| l.agreement.clone()).collect();
    agreements.sort();
    agreements.dedup();
    let mut wanted: Vec<String> = lines.iter().map(|l| l.product.clone()).collect();
    wanted.sort();
    wanted.dedup();
    let mut keys: Vec<String> = lines.iter().map(|l| l.key.clone()).collect();
    keys.sort();
    keys.dedup();
    let target = CustomerTarget {
        customer: customer.customer.clone(),
        tenant: customer.tenant.clone(),
        kind: psa.kind,
        company: psa.company.clone(),
        currency: customer.currency,
        agreements,
        products: wanted,
        keys,
        period_start: customer.period.start,
        period_end: customer.period.end,
    };
    Some((target, lines))
}

/// The last day a cancelled line bills: the day before the period the plan is for.
pub fn cancel_day(period_start: NaiveDate) -> NaiveDate {
    period_start
        .checked_sub_days(Days::new(1))
        .unwrap_or(period_start)
}
