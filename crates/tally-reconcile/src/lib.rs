//! Reconciliation: for each customer and each Microsoft SKU (and Azure), what Microsoft charges
//! the MSP (from its reconciliation and usage files) against what the plan bills. It finds
//! negative margins, licences paid for but billed to no one (leakage), and billing for things
//! Microsoft does not charge for. Money is compared only in one currency: a SKU whose cost and
//! billing differ in currency is reported as such, never converted here.

mod report;

pub use report::{render_table, to_json};

use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use tally_import::usage::CustomerUsage;
use tally_import::{Mapping, Recon};
use tally_plan::Plan;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub customers: Vec<CustomerReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerReport {
    pub customer: String,
    pub tenant: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Billed for less than it costs.
    NegativeMargin,
    /// Microsoft charges for seats (or usage) that no plan line bills.
    Leakage,
    /// The plan bills something Microsoft does not charge for.
    NotPaid,
    /// Cost and billing are in different currencies: not compared.
    CurrencyDiffers,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The SKU's name, or "Azure usage".
    pub item: String,
    /// Graph SKU GUIDs, empty for Azure.
    pub sku_ids: Vec<String>,
    /// Seats Microsoft charges for (licences only).
    pub paid_seats: Option<u64>,
    /// Seats the plan bills (licences only).
    pub billed_seats: Option<i64>,
    pub cost: Option<String>,
    pub cost_currency: Option<String>,
    pub billed: Option<String>,
    pub billed_currency: Option<String>,
    pub margin: Option<String>,
    /// Margin as a percentage of the billed amount.
    pub margin_percent: Option<String>,
    pub status: Status,
    /// The plan lines billing this item.
    pub plan_lines: Vec<String>,
}

/// When reconciliation should fail a CI run.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub fail_on_leakage: bool,
    pub fail_on_negative_margin: bool,
    /// Fail when an item's margin is below this percentage.
    pub min_margin_percent: Option<Decimal>,
}

/// What Microsoft charges one tenant for one SKU.
#[derive(Default)]
struct Cost {
    name: String,
    sku_ids: Vec<String>,
    seats: u64,
    amount: Decimal,
    currency: Option<String>,
}

#[derive(Default)]
struct Billed {
    seats: i64,
    amount: Decimal,
    currency: Option<String>,
    lines: Vec<String>,
}

fn tenant_of(
    mapping: Option<&Mapping>,
    customer_id: Option<&str>,
    domain: Option<&str>,
) -> Option<String> {
    let mapped = mapping.and_then(|m| {
        customer_id
            .and_then(|id| m.lookup(id))
            .or_else(|| domain.and_then(|d| m.lookup(d)))
    });
    mapped
        .map(str::to_string)
        .or_else(|| domain.map(str::to_string))
        .map(|t| t.to_lowercase())
}

/// Compares the plan with Microsoft's charges.
pub fn reconcile(
    plan: &Plan,
    recon: &Recon,
    usage: &[CustomerUsage],
    mapping: Option<&Mapping>,
) -> Report {
    // Microsoft's cost per tenant and SKU key (its sorted GUIDs, or the Partner Center SKU).
    let mut costs: BTreeMap<String, BTreeMap<String, Cost>> = BTreeMap::new();
    let subscription_guids: BTreeMap<(&str, &str), &Vec<String>> = recon
        .subscriptions
        .iter()
        .map(|s| {
            (
                (s.subscription_id.as_str(), s.sku_id.as_str()),
                &s.sku_guids,
            )
        })
        .collect();
    for subscription in &recon.subscriptions {
        let Some(tenant) = tenant_of(
            mapping,
            Some(&subscription.customer_id),
            subscription.customer_domain.as_deref(),
        ) else {
            continue;
        };
        let key = key_of(&subscription.sku_guids, &subscription.sku_id);
        let cost = costs.entry(tenant).or_default().entry(key).or_default();
        cost.seats += u64::from(subscription.quantity);
        cost.sku_ids.clone_from(&subscription.sku_guids);
        cost.name = subscription
            .sku_name
            .clone()
            .or_else(|| subscription.product_name.clone())
            .unwrap_or_else(|| subscription.sku_id.clone());
    }
    for line in &recon.lines {
        let Some(tenant) = tenant_of(
            mapping,
            Some(&line.customer_id),
            line.customer_domain.as_deref(),
        ) else {
            continue;
        };
        let sku = format!(
            "{}:{}",
            line.product_id.as_deref().unwrap_or(""),
            line.sku_id.as_deref().unwrap_or("")
        );
        let guids = subscription_guids
            .get(&(line.subscription_id.as_str(), sku.as_str()))
            .map(|g| (*g).clone())
            .unwrap_or_default();
        let key = key_of(&guids, &sku);
        let cost = costs.entry(tenant).or_default().entry(key).or_default();
        if cost.name.is_empty() {
            cost.name = line.sku_name.clone().unwrap_or_else(|| sku.clone());
            cost.sku_ids = guids;
        }
        cost.amount += line.subtotal.or(line.total).unwrap_or_default();
        cost.currency = Some(line.currency.code().to_string());
    }
    let mut azure: BTreeMap<String, (Decimal, Option<String>)> = BTreeMap::new();
    for row in usage {
        let Some(tenant) = tenant_of(
            mapping,
            row.customer_id.as_deref(),
            row.customer_domain.as_deref(),
        ) else {
            continue;
        };
        let entry = azure.entry(tenant).or_default();
        entry.0 += row.row.cost.amount();
        entry.1 = Some(row.row.cost.currency().code().to_string());
    }

    let mut customers = Vec::new();
    for customer in &plan.customers {
        let tenant = customer.tenant.to_lowercase();
        let mut billed: BTreeMap<String, Billed> = BTreeMap::new();
        let mut azure_billed = Billed::default();
        for line in &customer.lines {
            let Some(link) = &line.microsoft else {
                continue;
            };
            // A quantity-only line (priced by the PSA's catalogue) bills no amount here.
            let amount = line.amount.unwrap_or_default();
            let target = if link.azure {
                &mut azure_billed
            } else {
                billed.entry(key_of(&link.sku_ids, "")).or_default()
            };
            target.amount += amount;
            target.seats += line.quantity;
            target.currency = Some(line.currency.code().to_string());
            target.lines.push(line.id.clone());
        }
        let tenant_costs = costs.remove(&tenant).unwrap_or_default();
        let billed = match_cost_keys(billed, &tenant_costs);
        let mut rows = Vec::new();
        let mut keys: Vec<String> = tenant_costs.keys().chain(billed.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let cost = tenant_costs.get(&key);
            let bill = billed.get(&key);
            let name = cost
                .map(|c| c.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| key.clone());
            let sku_ids = cost
                .map(|c| c.sku_ids.clone())
                .unwrap_or_else(|| key.split(',').map(str::to_string).collect());
            rows.push(row(
                name,
                sku_ids,
                cost.map(|c| (c.seats, c.amount, c.currency.clone())),
                bill,
            ));
        }
        let azure_cost = azure.remove(&tenant);
        if azure_cost.is_some() || !azure_billed.lines.is_empty() {
            let mut r = row(
                "Azure usage".into(),
                Vec::new(),
                azure_cost.map(|(amount, currency)| (0, amount, currency)),
                (!azure_billed.lines.is_empty()).then_some(&azure_billed),
            );
            r.paid_seats = None;
            r.billed_seats = None;
            rows.push(r);
        }
        customers.push(CustomerReport {
            customer: customer.customer.clone(),
            tenant: customer.tenant.clone(),
            rows,
        });
    }
    Report { customers }
}

/// Re-keys what the plan bills onto Microsoft's cost keys. A recon row names a product, which
/// can map to several catalogue GUIDs (Business Basic has two); a plan line names the one GUID
/// the tenant holds. They are the same item when the GUID sets share one.
fn match_cost_keys(
    billed: BTreeMap<String, Billed>,
    costs: &BTreeMap<String, Cost>,
) -> BTreeMap<String, Billed> {
    let mut out: BTreeMap<String, Billed> = BTreeMap::new();
    for (key, bill) in billed {
        let guids: Vec<&str> = key.split(',').collect();
        let cost_key = costs
            .iter()
            .find(|(_, cost)| {
                cost.sku_ids
                    .iter()
                    .any(|g| guids.iter().any(|b| g.eq_ignore_ascii_case(b)))
            })
            .map_or(key, |(cost_key, _)| cost_key.clone());
        let merged = out.entry(cost_key).or_default();
        merged.seats += bill.seats;
        merged.amount += bill.amount;
        merged.currency = merged.currency.take().or(bill.currency);
        merged.lines.extend(bill.lines);
    }
    out
}

fn key_of(guids: &[String], fallback: &str) -> String {
    if guids.is_empty() {
        return fallback.to_string();
    }
    let mut sorted: Vec<String> = guids.iter().map(|g| g.to_lowercase()).collect();
    sorted.sort();
    sorted.join(",")
}

fn row(
    item: String,
    sku_ids: Vec<String>,
    cost: Option<(u64, Decimal, Option<String>)>,
    billed: Option<&Billed>,
) -> Row {
    let cost_currency = cost.as_ref().and_then(|c| c.2.clone());
    let billed_currency = billed.and_then(|b| b.currency.clone());
    let paid_seats = cost.as_ref().map(|c| c.0);
    let billed_seats = billed.map(|b| b.seats);
    let cost_amount = cost.as_ref().map(|c| c.1);
    let billed_amount = billed.map(|b| b.amount);
    let same_currency =
        cost_currency.is_none() || billed_currency.is_none() || cost_currency == billed_currency;
    let margin = match (cost_amount, billed_amount) {
        (Some(c), Some(b)) if same_currency => Some(b - c),
        _ => None,
    };
    let margin_percent = match (margin, billed_amount) {
        (Some(m), Some(b)) if !b.is_zero() => Some((m * Decimal::ONE_HUNDRED / b).round_dp(2)),
        _ => None,
    };
    let seats_short = match (paid_seats, billed_seats) {
        (Some(paid), Some(billed)) => i64::try_from(paid).unwrap_or(i64::MAX) > billed,
        (Some(paid), None) => paid > 0,
        _ => false,
    };
    let status = if !same_currency {
        Status::CurrencyDiffers
    } else if billed.is_none() && cost_amount.is_some_and(|c| !c.is_zero()) || seats_short {
        Status::Leakage
    } else if cost.is_none() {
        Status::NotPaid
    } else if margin.is_some_and(|m| m.is_sign_negative() && !m.is_zero()) {
        Status::NegativeMargin
    } else {
        Status::Ok
    };
    Row {
        item,
        sku_ids,
        paid_seats,
        billed_seats,
        cost: cost_amount.map(|c| c.round_dp(2).to_string()),
        cost_currency,
        billed: billed_amount.map(|b| b.round_dp(2).to_string()),
        billed_currency,
        margin: margin.map(|m| m.round_dp(2).to_string()),
        margin_percent: margin_percent.map(|p| p.to_string()),
        status,
        plan_lines: billed.map(|b| b.lines.clone()).unwrap_or_default(),
    }
}

/// The thresholds a report crosses, as sentences; empty when none.
pub fn breaches(report: &Report, thresholds: &Thresholds) -> Vec<String> {
    let mut out = Vec::new();
    for customer in &report.customers {
        for row in &customer.rows {
            let at = format!("{} / {}", customer.customer, row.item);
            if thresholds.fail_on_leakage && row.status == Status::Leakage {
                out.push(format!(
                    "{at}: leakage (paid {} seats, billed {})",
                    row.paid_seats.unwrap_or(0),
                    row.billed_seats.unwrap_or(0)
                ));
            }
            if thresholds.fail_on_negative_margin && row.status == Status::NegativeMargin {
                out.push(format!(
                    "{at}: negative margin {}",
                    row.margin.as_deref().unwrap_or("")
                ));
            }
            if let (Some(min), Some(percent)) = (
                thresholds.min_margin_percent,
                row.margin_percent
                    .as_deref()
                    .and_then(|p| Decimal::from_str(p).ok()),
            ) && percent < min
            {
                out.push(format!("{at}: margin {percent}% is under {min}%"));
            }
        }
    }
    out
}
