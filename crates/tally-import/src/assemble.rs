//! Putting the pieces into one snapshot: which tenant each record belongs to, which cost each
//! subscribed SKU gets, and merging usage from several files.

use std::collections::{BTreeMap, HashMap, HashSet};

use tally_snapshot::{Counter, SubscribedSku, UsageRow, User};

use crate::error::{ImportError, Warning};
use crate::graph::GraphSku;
use crate::mapping::{Mapping, is_guid, normalize_id};
use crate::pricelist::{PriceEntry, PriceList};
use crate::seats::SeatChange;
use crate::subscriptions::ReconSubscription;

/// One tenant being built.
#[derive(Debug, Default)]
pub(crate) struct TenantBuilder {
    pub name: String,
    pub tenant_id: Option<String>,
    pub users: Vec<User>,
    pub skus: Vec<SubscribedSku>,
    pub counters: Vec<(Counter, String, u64)>,
    pub usage: BTreeMap<UsageKey, UsageRow>,
}

/// Usage rows from different files (or customers mapped to one tenant) merge on this key.
pub(crate) type UsageKey = (
    chrono::NaiveDate,
    String,
    String,
    String,
    String,
    BTreeMap<String, String>,
    &'static str,
);

/// Every tenant, and how Microsoft ids find them.
pub(crate) struct Tenants<'m> {
    mapping: &'m Mapping,
    pub by_name: BTreeMap<String, TenantBuilder>,
    warned: HashSet<String>,
}

impl<'m> Tenants<'m> {
    pub fn new(mapping: &'m Mapping) -> Tenants<'m> {
        Tenants {
            mapping,
            by_name: BTreeMap::new(),
            warned: HashSet::new(),
        }
    }

    /// A tenant name as given by the caller or a file: mapped if the mapping knows it.
    pub fn resolve_name(&self, given: &str) -> String {
        self.mapping
            .lookup(given)
            .map_or_else(|| given.trim().to_string(), str::to_string)
    }

    /// The tenant of a Partner Center customer: the file's tenant if the caller gave one,
    /// else the mapping of the customer id or domain, else the domain itself (Partner
    /// Center's `CustomerDomainName` is normally the `*.onmicrosoft.com` domain rule files
    /// use), else the customer id, with a warning when a mapping was given but lacks the
    /// customer.
    pub fn for_customer(
        &mut self,
        customer_id: Option<&str>,
        domain: Option<&str>,
        file_tenant: Option<&str>,
        warnings: &mut Vec<Warning>,
        file: &str,
    ) -> Option<String> {
        if let Some(t) = file_tenant {
            return Some(self.resolve_name(t));
        }
        for id in [customer_id, domain].into_iter().flatten() {
            if let Some(t) = self.mapping.lookup(id) {
                return Some(t.to_string());
            }
        }
        // Not mapped: the domain (Partner Center's `CustomerDomainName` is normally the
        // `*.onmicrosoft.com` domain rule files use), else the customer id itself.
        let fallback = domain.or(customer_id)?;
        let who = customer_id.unwrap_or(fallback).to_string();
        if !self.mapping.is_empty() && self.warned.insert(normalize_id(&who)) {
            warnings.push(Warning::file(
                file,
                format!(
                    "customer `{who}` is not in the mapping; `{fallback}` is used as the tenant \
                     name"
                ),
            ));
        }
        Some(fallback.trim().to_string())
    }

    /// The builder for a tenant, created on first use.
    pub fn get(&mut self, name: &str) -> &mut TenantBuilder {
        let key = name.trim().to_lowercase();
        let mapping = self.mapping;
        self.by_name.entry(key).or_insert_with(|| TenantBuilder {
            name: name.trim().to_string(),
            tenant_id: mapping
                .tenant_id_of(name)
                .or_else(|| is_guid(name).then(|| normalize_id(name))),
            ..TenantBuilder::default()
        })
    }
}

/// Add a usage row to a tenant, merging with an equal key.
pub(crate) fn add_usage(
    tenant: &mut TenantBuilder,
    row: UsageRow,
    file: &str,
    line: Option<u64>,
) -> Result<(), ImportError> {
    let key: UsageKey = (
        row.date,
        row.subscription_id.to_lowercase(),
        row.resource_group.to_lowercase(),
        row.meter_category.clone(),
        row.meter_name.clone(),
        row.tags.clone(),
        row.cost.currency().code(),
    );
    match tenant.usage.get_mut(&key) {
        None => {
            tenant.usage.insert(key, row);
        }
        Some(existing) => {
            let overflow = || ImportError::file(file, "usage totals overflow").at_line(line);
            existing.quantity = existing
                .quantity
                .checked_add(row.quantity)
                .ok_or_else(overflow)?;
            existing.cost = existing
                .cost
                .checked_add(row.cost)
                .map_err(|_| overflow())?;
        }
    }
    Ok(())
}

/// Add a counter value. A counter may have several values with different `as_of` dates (its
/// history); the same date twice is an error unless the values agree.
pub(crate) fn add_counter(
    tenant: &mut TenantBuilder,
    counter: Counter,
    file: &str,
    line: u64,
) -> Result<(), ImportError> {
    let tenant_name = tenant.name.clone();
    let same_day = tenant
        .counters
        .iter()
        .find(|(c, _, _)| c.name == counter.name && c.as_of == counter.as_of);
    match same_day {
        None => tenant.counters.push((counter, file.to_string(), line)),
        Some((existing, _, _)) if existing.value == counter.value => {}
        Some((existing, other_file, other_line)) => {
            return Err(ImportError::file(
                file,
                format!(
                    "counter `{}` of `{tenant_name}` on {} is {} here and {} at \
                     {other_file}:{other_line}",
                    counter.name, counter.as_of, counter.value, existing.value
                ),
            )
            .at_line(Some(line)));
        }
    }
    Ok(())
}

/// What a tenant's subscribed SKUs are built from.
pub(crate) struct SkuSources<'a> {
    pub tenant: &'a str,
    pub graph: &'a [GraphSku],
    /// Reconciliation subscriptions of this tenant with seats, or that ended during the period.
    pub recon: Vec<&'a ReconSubscription>,
    pub prices: &'a PriceList,
    /// Every seat change read, to give the subscriptions their history.
    pub changes: &'a [SeatChange],
    pub lenient: bool,
}

/// Build a tenant's subscribed SKUs: for each Graph SKU, the reconciliation subscriptions of
/// it (one entry each, with their own seats and cost), else the price list (one entry, seats
/// from Graph). A SKU with no cost is an error, or left out with a warning when lenient.
pub(crate) fn subscribed_skus(
    src: &SkuSources<'_>,
    tenants: &Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<SubscribedSku>, ImportError> {
    let by_sku = subscriptions_by_graph_sku(src, warnings);
    let mut out = Vec::new();
    for g in src.graph {
        let who = format!(
            "SKU `{}` ({}) of tenant `{}`",
            g.part_number, g.sku_id, src.tenant
        );
        let subs = costed_subscriptions(&by_sku, g);
        if subs.is_empty() {
            out.extend(from_price_list(src, tenants, g, &who, warnings)?);
        } else {
            out.extend(from_subscriptions(g, subs, src.changes, &who, warnings));
        }
    }
    Ok(out)
}

/// How Graph SKU ids are compared.
fn graph_sku_key(sku_id: &str) -> String {
    sku_id.trim().to_lowercase()
}

/// Which Graph SKU each subscription is: its name candidates narrowed to the tenant's SKUs. A
/// subscription matching none or several is left out with a warning.
fn subscriptions_by_graph_sku<'a>(
    src: &SkuSources<'a>,
    warnings: &mut Vec<Warning>,
) -> HashMap<String, Vec<&'a ReconSubscription>> {
    let graph_ids: Vec<String> = src.graph.iter().map(|g| graph_sku_key(&g.sku_id)).collect();
    let mut by_sku: HashMap<String, Vec<&ReconSubscription>> = HashMap::new();
    for &sub in &src.recon {
        let narrowed: Vec<String> = sub
            .sku_guids
            .iter()
            .map(|g| g.to_lowercase())
            .filter(|g| graph_ids.contains(g))
            .collect();
        match narrowed.as_slice() {
            [one] => by_sku.entry(one.clone()).or_default().push(sub),
            _ => warnings.push(unmatched(sub, src.tenant, &narrowed)),
        }
    }
    by_sku
}

/// Why a subscription's cost is not used: its name matches none of the tenant's Graph SKUs, or
/// several of them (`candidates`).
fn unmatched(sub: &ReconSubscription, tenant: &str, candidates: &[String]) -> Warning {
    let label = sub
        .sku_name
        .as_deref()
        .or(sub.product_name.as_deref())
        .unwrap_or(&sub.sku_id);
    let message = if candidates.is_empty() {
        format!(
            "subscription {} (`{label}`, {} seats) of `{tenant}` matches none of the tenant's \
             Graph SKUs by name; its cost is not used",
            sub.subscription_id, sub.quantity
        )
    } else {
        format!(
            "subscription {} (`{label}`) of `{tenant}` could be any of the Graph SKUs {}; its \
             cost is not used",
            sub.subscription_id,
            candidates.join(", ")
        )
    };
    Warning::at(&sub.file, sub.line, None, message)
}

/// The subscriptions of a Graph SKU whose cost, term and billing plan are known.
fn costed_subscriptions<'a>(
    by_sku: &HashMap<String, Vec<&'a ReconSubscription>>,
    g: &GraphSku,
) -> Vec<&'a ReconSubscription> {
    by_sku
        .get(&graph_sku_key(&g.sku_id))
        .map(|v| {
            v.iter()
                .copied()
                .filter(|s| {
                    s.monthly_unit_cost.is_some() && s.term.is_some() && s.billing_plan.is_some()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One SKU entry per subscription, with the subscription's seats, cost and seat history. The
/// subscriptions' seats win over Graph's enabled count, with a warning when they differ.
fn from_subscriptions(
    g: &GraphSku,
    mut subs: Vec<&ReconSubscription>,
    changes: &[SeatChange],
    who: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<SubscribedSku> {
    let purchased: u64 = subs.iter().map(|s| u64::from(s.quantity)).sum();
    if purchased != u64::from(g.enabled) {
        warnings.push(Warning::at(
            &g.file,
            g.line,
            None,
            format!(
                "{who}: Graph has {} enabled seats, the reconciliation subscriptions {}; \
                 the subscriptions' seats are used",
                g.enabled, purchased
            ),
        ));
    }
    // Ended subscriptions (no seats now) first, so that the excess of assigned seats lands on
    // one that has seats.
    subs.sort_by_key(|s| s.quantity > 0);
    let seats: Vec<u32> = subs.iter().map(|s| s.quantity).collect();
    let assigned = share_assigned(g.consumed, &seats);
    subs.iter()
        .zip(assigned)
        .filter_map(|(s, assigned)| {
            let (Some(unit_cost), Some(term), Some(billing_plan)) =
                (s.monthly_unit_cost, s.term, s.billing_plan)
            else {
                return None;
            };
            let (purchased, changes) = history(s, changes);
            Some(SubscribedSku {
                sku_id: g.sku_id.clone(),
                part_number: g.part_number.clone(),
                purchased,
                assigned,
                unit_cost,
                term_unit_cost: s.term_unit_cost,
                term,
                billing_plan,
                term_start: s.term_start,
                changes,
            })
        })
        .collect()
}

/// Graph counts assigned seats for a SKU as a whole: they fill the subscriptions (their seats
/// in `seats`) in order, the last one taking any excess.
fn share_assigned(consumed: u32, seats: &[u32]) -> Vec<u32> {
    let mut remaining = consumed;
    let last = seats.len().saturating_sub(1);
    seats
        .iter()
        .enumerate()
        .map(|(i, &held)| {
            let assigned = if i == last {
                remaining
            } else {
                remaining.min(held)
            };
            remaining -= assigned;
            assigned
        })
        .collect()
}

/// A subscription's seat history as snapshot changes: seats before the first change, and one
/// change per day the count moved (the day's last value; renewals at the same count are not
/// changes). Its changes are those of its customer, subscription and product: subscription
/// ids alone can repeat across customers.
fn history(
    sub: &ReconSubscription,
    changes: &[SeatChange],
) -> (u32, Vec<tally_snapshot::SeatChange>) {
    let customer = normalize_id(&sub.customer_id);
    let own: Vec<&SeatChange> = changes
        .iter()
        .filter(|c| {
            c.subscription_id.eq_ignore_ascii_case(&sub.subscription_id)
                && c.sku_id == sub.sku_id
                && normalize_id(&c.customer_id) == customer
        })
        .collect();
    let Some(first) = own.first() else {
        return (sub.quantity, Vec::new());
    };
    let initial = first.quantity_before;
    let mut out: Vec<tally_snapshot::SeatChange> = Vec::new();
    let mut current = initial;
    for c in own {
        if c.quantity_after == current {
            continue;
        }
        current = c.quantity_after;
        match out.last_mut() {
            Some(last) if last.date == c.date => last.purchased = Some(current),
            _ => out.push(tally_snapshot::SeatChange {
                date: c.date,
                purchased: Some(current),
                assigned: None,
            }),
        }
    }
    // A same-day change that returned to the earlier count is no change.
    let mut before = initial;
    out.retain(|c| {
        let keep = c.purchased != Some(before);
        before = c.purchased.unwrap_or(before);
        keep
    });
    (initial, out)
}

/// The SKU entry priced by the price list, seats from Graph: `None` when the SKU is left out
/// (no seats and no price, or, when lenient, no price).
fn from_price_list(
    src: &SkuSources<'_>,
    tenants: &Tenants<'_>,
    g: &GraphSku,
    who: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Option<SubscribedSku>, ImportError> {
    let prices = src.prices.find(
        src.tenant,
        |t| tenants.resolve_name(t),
        &g.sku_id,
        &g.part_number,
    );
    match prices.as_slice() {
        [p] => Ok(Some(priced_sku(g, p))),
        [] if g.enabled == 0 => {
            warnings.push(Warning::at(
                &g.file,
                g.line,
                None,
                format!("{who} has no enabled seats and no cost; left out"),
            ));
            Ok(None)
        }
        [] => {
            let message = format!(
                "no cost for {who}: add it to a price list (sku_id or part_number, \
                 unit_cost, currency, term, billing_plan) or import the Partner Center \
                 reconciliation file that bills it"
            );
            refuse_unless_lenient(src.lenient, g, message, "left out", warnings)?;
            Ok(None)
        }
        [first, ..] => {
            let places = prices
                .iter()
                .map(|p| format!("{}:{}", p.file, p.line))
                .collect::<Vec<_>>()
                .join(", ");
            let message = format!(
                "{who} has {} prices ({places}); keep one, or give the tenant its own row",
                prices.len()
            );
            refuse_unless_lenient(src.lenient, g, message, "the first is used", warnings)?;
            Ok(Some(priced_sku(g, first)))
        }
    }
}

/// A problem with a Graph SKU's cost: an error, or when lenient a warning that says what is
/// done instead (`outcome`).
fn refuse_unless_lenient(
    lenient: bool,
    g: &GraphSku,
    message: String,
    outcome: &str,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    if !lenient {
        return Err(ImportError::file(&g.file, message).at_line(g.line));
    }
    warnings.push(Warning::at(
        &g.file,
        g.line,
        None,
        format!("{message}; {outcome}"),
    ));
    Ok(())
}

/// A Graph SKU at a price list's cost: Graph's seats, no term start, no history.
fn priced_sku(g: &GraphSku, price: &PriceEntry) -> SubscribedSku {
    SubscribedSku {
        sku_id: g.sku_id.clone(),
        part_number: g.part_number.clone(),
        purchased: g.enabled,
        assigned: g.consumed,
        unit_cost: price.unit_cost,
        term_unit_cost: None,
        term: price.term,
        billing_plan: price.billing_plan,
        term_start: None,
        changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::recon::ChargeType;
    use crate::subscriptions::tests::subscription;

    fn change(customer_id: &str, day: u32, before: u32, after: u32) -> SeatChange {
        SeatChange {
            customer_id: customer_id.to_string(),
            customer_domain: None,
            subscription_id: "S1".to_string(),
            sku_id: "CFQ7TTC0LF8Q:0001".to_string(),
            sku_name: None,
            date: chrono::NaiveDate::from_ymd_opt(2021, 7, day).unwrap(),
            quantity_before: before,
            quantity_after: after,
            reference_id: None,
            charge_type: ChargeType::AddQuantity,
            file: "recon.csv".to_string(),
            line: None,
        }
    }

    #[test]
    fn a_subscriptions_history_is_its_own_customers() {
        // Microsoft's examples reuse subscription ids across customers.
        let sub = subscription("c-a", "a.onmicrosoft.com", "s1");
        let changes = [
            change("c-b", 3, 5, 8),
            change("org:C-A", 5, 10, 12),
            change("c-b", 9, 8, 1),
        ];
        let (initial, history) = history(&sub, &changes);
        assert_eq!(initial, 10);
        let days: Vec<_> = history
            .iter()
            .map(|c| (c.date.to_string(), c.purchased))
            .collect();
        assert_eq!(days, [("2021-07-05".to_string(), Some(12))]);
    }

    #[test]
    fn assigned_seats_fill_the_subscriptions_in_order_the_last_taking_the_excess() {
        assert_eq!(share_assigned(10, &[0, 3, 5]), [0, 3, 7]);
        assert_eq!(share_assigned(2, &[3, 5]), [2, 0]);
        assert_eq!(share_assigned(4, &[]), Vec::<u32>::new());
    }
}
