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
use tally_import::{ChargeType, Mapping, Recon, ReconLine};
use tally_plan::{CustomerPlan, Plan};

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

/// What the plan bills one customer for one SKU (or for Azure).
#[derive(Default)]
struct Billed {
    seats: i64,
    amount: Decimal,
    currency: Option<String>,
    lines: Vec<String>,
}

/// Microsoft's licence cost per tenant (lower case) and SKU key (its sorted GUIDs, or the
/// Partner Center SKU).
type Costs = BTreeMap<String, BTreeMap<String, Cost>>;

/// What Microsoft charges one tenant for Azure usage, and in which currency.
type AzureCost = (Decimal, Option<String>);

/// The tenant (lower case) a Partner Center customer belongs to: the mapping of its id or
/// domain, else the domain itself; `None` without either.
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
/// A sum too large for exact arithmetic (amounts near the decimal range, from hostile or broken
/// inputs): the report cannot be made, and the message names the tenant and the sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge(pub String);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is too large for exact arithmetic", self.0)
    }
}

impl std::error::Error for TooLarge {}

/// `total += amount`, refusing to overflow.
fn add(
    total: &mut Decimal,
    amount: Decimal,
    what: impl FnOnce() -> String,
) -> Result<(), TooLarge> {
    *total = total.checked_add(amount).ok_or_else(|| TooLarge(what()))?;
    Ok(())
}

pub fn reconcile(
    plan: &Plan,
    recon: &Recon,
    usage: &[CustomerUsage],
    mapping: Option<&Mapping>,
) -> Result<Report, TooLarge> {
    let mut costs = licence_costs(recon, mapping)?;
    let mut azure = azure_costs(usage, mapping)?;
    let customers = plan
        .customers
        .iter()
        .map(|customer| {
            let tenant = customer.tenant.to_lowercase();
            let tenant_costs = costs.remove(&tenant).unwrap_or_default();
            customer_report(customer, &tenant_costs, azure.remove(&tenant))
        })
        .collect::<Result<_, _>>()?;
    Ok(Report { customers })
}

/// Microsoft's licence costs: the subscriptions give each SKU its seats, GUIDs and name, the
/// lines its amount.
fn licence_costs(recon: &Recon, mapping: Option<&Mapping>) -> Result<Costs, TooLarge> {
    let mut costs = Costs::new();
    let mut lines_of: BTreeMap<&str, Vec<&ReconLine>> = BTreeMap::new();
    for line in &recon.lines {
        lines_of
            .entry(line.subscription_id.as_str())
            .or_default()
            .push(line);
    }
    for subscription in &recon.subscriptions {
        let Some(tenant) = tenant_of(
            mapping,
            Some(&subscription.customer_id),
            subscription.customer_domain.as_deref(),
        ) else {
            continue;
        };
        let key = key_of(&subscription.sku_guids, &subscription.sku_id);
        let cost = costs
            .entry(tenant.clone())
            .or_default()
            .entry(key)
            .or_default();
        let lines = lines_of
            .get(subscription.subscription_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        cost.seats = cost
            .seats
            .checked_add(seats_charged(subscription.quantity, lines))
            .ok_or_else(|| TooLarge(format!("the seats Microsoft charges {tenant}")))?;
        cost.sku_ids.clone_from(&subscription.sku_guids);
        cost.name = subscription
            .sku_name
            .clone()
            .or_else(|| subscription.product_name.clone())
            .unwrap_or_else(|| subscription.sku_id.clone());
    }
    add_line_amounts(&mut costs, recon, mapping)?;
    Ok(costs)
}

/// The seats Microsoft charges a subscription for in the files: those after its last change
/// when the files charge a whole cycle (a new term, a renewal, a month's cycle charge, ...).
/// When they hold only seat changes, as for a term paid upfront between its anniversaries, the
/// seats those changes added: each change refunds the old count and charges the new, so the
/// charged counts minus the refunded ones (never below 0).
fn seats_charged(after_last_change: u32, lines: &[&ReconLine]) -> u64 {
    let only_changes = !lines.is_empty()
        && lines.iter().all(|l| {
            matches!(
                l.charge_type,
                ChargeType::AddQuantity | ChargeType::RemoveQuantity
            )
        });
    if !only_changes {
        return u64::from(after_last_change);
    }
    let net: i64 = lines
        .iter()
        .map(|l| {
            let refund = l.subtotal.or(l.total).is_some_and(|a| a.is_sign_negative());
            let seats = i64::from(l.quantity);
            if refund { -seats } else { seats }
        })
        .sum();
    u64::try_from(net).unwrap_or(0)
}

/// Adds each reconciliation line's amount to its SKU's cost, under the GUIDs of the
/// subscription it belongs to.
fn add_line_amounts(
    costs: &mut Costs,
    recon: &Recon,
    mapping: Option<&Mapping>,
) -> Result<(), TooLarge> {
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
        let what = || format!("what Microsoft charges {tenant} for `{sku}`");
        let cost = costs
            .entry(tenant.clone())
            .or_default()
            .entry(key)
            .or_default();
        if cost.name.is_empty() {
            cost.name = line.sku_name.clone().unwrap_or_else(|| sku.clone());
            cost.sku_ids = guids;
        }
        add(
            &mut cost.amount,
            line.subtotal.or(line.total).unwrap_or_default(),
            what,
        )?;
        cost.currency = Some(line.currency.code().to_string());
    }
    Ok(())
}

/// Microsoft's Azure usage cost per tenant (lower case).
fn azure_costs(
    usage: &[CustomerUsage],
    mapping: Option<&Mapping>,
) -> Result<BTreeMap<String, AzureCost>, TooLarge> {
    let mut azure: BTreeMap<String, AzureCost> = BTreeMap::new();
    for row in usage {
        let Some(tenant) = tenant_of(
            mapping,
            row.customer_id.as_deref(),
            row.customer_domain.as_deref(),
        ) else {
            continue;
        };
        let what = || format!("the Azure usage of {tenant}");
        let entry = azure.entry(tenant.clone()).or_default();
        add(&mut entry.0, row.row.cost.amount(), what)?;
        entry.1 = Some(row.row.cost.currency().code().to_string());
    }
    Ok(azure)
}

/// One customer's rows: a row per SKU Microsoft charges for or the plan bills, then Azure.
fn customer_report(
    customer: &CustomerPlan,
    costs: &BTreeMap<String, Cost>,
    azure_cost: Option<AzureCost>,
) -> Result<CustomerReport, TooLarge> {
    let (billed, azure_billed) = plan_billing(customer)?;
    let billed = match_cost_keys(billed, costs)?;
    let mut rows = licence_rows(costs, &billed);
    rows.extend(azure_row(azure_cost, &azure_billed));
    Ok(CustomerReport {
        customer: customer.customer.clone(),
        tenant: customer.tenant.clone(),
        rows,
    })
}

/// What a customer's plan bills for Microsoft products: by SKU key (the line's GUIDs), and
/// for Azure usage. Lines that resell nothing from Microsoft are left out.
fn plan_billing(customer: &CustomerPlan) -> Result<(BTreeMap<String, Billed>, Billed), TooLarge> {
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
        let what = || format!("what the plan bills {} for `{}`", customer.tenant, line.id);
        add(&mut target.amount, amount, what)?;
        target.seats = target
            .seats
            .checked_add(line.quantity)
            .ok_or_else(|| TooLarge(what()))?;
        target.currency = Some(line.currency.code().to_string());
        target.lines.push(line.id.clone());
    }
    Ok((billed, azure_billed))
}

/// A row for every SKU key that Microsoft charges for or the plan bills, in key order.
fn licence_rows(costs: &BTreeMap<String, Cost>, billed: &BTreeMap<String, Billed>) -> Vec<Row> {
    let mut keys: Vec<&String> = costs.keys().chain(billed.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let cost = costs.get(key);
            let name = cost
                .map(|c| c.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| key.clone());
            let sku_ids = cost
                .map(|c| c.sku_ids.clone())
                .unwrap_or_else(|| key.split(',').map(str::to_string).collect());
            row(
                name,
                sku_ids,
                cost.map(|c| (c.seats, c.amount, c.currency.clone())),
                billed.get(key),
            )
        })
        .collect()
}

/// The Azure usage row, when Microsoft charges for usage or the plan bills it. Seats do not
/// apply.
fn azure_row(cost: Option<AzureCost>, billed: &Billed) -> Option<Row> {
    if cost.is_none() && billed.lines.is_empty() {
        return None;
    }
    let mut r = row(
        "Azure usage".into(),
        Vec::new(),
        cost.map(|(amount, currency)| (0, amount, currency)),
        (!billed.lines.is_empty()).then_some(billed),
    );
    r.paid_seats = None;
    r.billed_seats = None;
    Some(r)
}

/// Re-keys what the plan bills onto Microsoft's cost keys. A recon row names a product, which
/// can map to several catalogue GUIDs (Business Basic has two); a plan line names the one GUID
/// the tenant holds. They are the same item when the GUID sets share one.
fn match_cost_keys(
    billed: BTreeMap<String, Billed>,
    costs: &BTreeMap<String, Cost>,
) -> Result<BTreeMap<String, Billed>, TooLarge> {
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
        let what = || format!("what the plan bills for `{}`", bill.lines.join("`, `"));
        merged.seats = merged
            .seats
            .checked_add(bill.seats)
            .ok_or_else(|| TooLarge(what()))?;
        add(&mut merged.amount, bill.amount, what)?;
        merged.currency = merged.currency.take().or(bill.currency);
        merged.lines.extend(bill.lines);
    }
    Ok(out)
}

/// A SKU's key: its GUIDs, lower case, sorted and joined with commas; `fallback` when it has
/// none.
fn key_of(guids: &[String], fallback: &str) -> String {
    if guids.is_empty() {
        return fallback.to_string();
    }
    let mut sorted: Vec<String> = guids.iter().map(|g| g.to_lowercase()).collect();
    sorted.sort();
    sorted.join(",")
}

/// One report row: the margin when cost and billing share a currency, and the status.
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
        // Amounts near the decimal range (a hostile or corrupt plan) leave the margin unknown
        // rather than overflow.
        (Some(c), Some(b)) if same_currency => b.checked_sub(c),
        _ => None,
    };
    let margin_percent = match (margin, billed_amount) {
        (Some(m), Some(b)) if !b.is_zero() => m
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(b))
            .map(|p| p.round_dp(2)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(name: &str, sku_ids: &[&str], seats: u64, amount: i64) -> Cost {
        Cost {
            name: name.to_string(),
            sku_ids: sku_ids.iter().map(|s| s.to_string()).collect(),
            seats,
            amount: Decimal::from(amount),
            currency: Some("USD".to_string()),
        }
    }

    fn billed(seats: i64, amount: i64, currency: &str, line: &str) -> Billed {
        Billed {
            seats,
            amount: Decimal::from(amount),
            currency: Some(currency.to_string()),
            lines: vec![line.to_string()],
        }
    }

    #[test]
    fn a_plan_guid_joins_the_cost_whose_guids_include_it() {
        let costs = BTreeMap::from([("a,b".to_string(), cost("Basic", &["A", "b"], 3, 18))]);
        let plan = BTreeMap::from([
            ("a".to_string(), billed(2, 10, "USD", "l1")),
            ("b".to_string(), billed(1, 5, "USD", "l2")),
            ("z".to_string(), billed(1, 7, "USD", "l3")),
        ]);
        let merged = match_cost_keys(plan, &costs).unwrap();
        let keys: Vec<&String> = merged.keys().collect();
        assert_eq!(keys, ["a,b", "z"]);
        let basic = &merged["a,b"];
        assert_eq!((basic.seats, basic.amount), (3, Decimal::from(15)));
        assert_eq!(basic.lines, ["l1", "l2"]);
    }

    #[test]
    fn licence_rows_in_key_order_with_their_status() {
        let costs = BTreeMap::from([
            ("a".to_string(), cost("Unbilled", &["a"], 2, 10)),
            ("b".to_string(), cost("Short", &["b"], 5, 10)),
            ("c".to_string(), cost("Under", &["c"], 1, 10)),
            ("d".to_string(), cost("Elsewhere", &["d"], 1, 10)),
        ]);
        let plan = BTreeMap::from([
            ("b".to_string(), billed(4, 20, "USD", "l1")),
            ("c".to_string(), billed(1, 8, "USD", "l2")),
            ("d".to_string(), billed(1, 12, "EUR", "l3")),
            ("e".to_string(), billed(1, 12, "USD", "l4")),
        ]);
        let rows = licence_rows(&costs, &plan);
        let got: Vec<(&str, Status, Option<&str>)> = rows
            .iter()
            .map(|r| (r.item.as_str(), r.status, r.margin.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("Unbilled", Status::Leakage, None),
                ("Short", Status::Leakage, Some("10")),
                ("Under", Status::NegativeMargin, Some("-2")),
                ("Elsewhere", Status::CurrencyDiffers, None),
                ("e", Status::NotPaid, None),
            ]
        );
        assert_eq!(rows[4].sku_ids, ["e"]);
    }

    #[test]
    fn the_azure_row_has_no_seats_and_only_appears_when_there_is_usage() {
        assert_eq!(azure_row(None, &Billed::default()), None);
        let cost = Some((Decimal::from(40), Some("USD".to_string())));
        let row = azure_row(cost, &billed(1, 50, "USD", "l1"));
        let row = row
            .as_ref()
            .map(|r| (r.paid_seats, r.billed_seats, r.status));
        assert_eq!(row, Some((None, None, Status::Ok)));
    }
}
