//! Putting the pieces into one snapshot: which tenant each record belongs to, which cost each
//! subscribed SKU gets, and merging usage from several files.

use std::collections::{BTreeMap, HashMap, HashSet};

use tally_snapshot::{Counter, SubscribedSku, UsageRow, User};

use crate::seats::SeatChange;

use crate::error::{ImportError, Warning};
use crate::graph::GraphSku;
use crate::mapping::{Mapping, is_guid, normalize_id};
use crate::pricelist::PriceList;
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
    /// Reconciliation subscriptions of this tenant with seats.
    pub recon: Vec<&'a ReconSubscription>,
    pub prices: &'a PriceList,
    /// Every seat change read, to give the subscriptions their history.
    pub changes: &'a [SeatChange],
    pub lenient: bool,
}

/// A subscription's seat history as snapshot changes: seats before the first change, and one
/// change per day the count moved (the day's last value; renewals at the same count are not
/// changes).
fn history(
    sub: &ReconSubscription,
    changes: &[SeatChange],
) -> (u32, Vec<tally_snapshot::SeatChange>) {
    let own: Vec<&SeatChange> = changes
        .iter()
        .filter(|c| {
            c.subscription_id.eq_ignore_ascii_case(&sub.subscription_id) && c.sku_id == sub.sku_id
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

/// Build a tenant's subscribed SKUs: for each Graph SKU, the reconciliation subscriptions of
/// it (one entry each, with their own seats and cost), else the price list (one entry, seats
/// from Graph). A SKU with no cost is an error, or left out with a warning when lenient.
pub(crate) fn subscribed_skus(
    src: &SkuSources<'_>,
    tenants: &Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<SubscribedSku>, ImportError> {
    let graph_ids: Vec<String> = src
        .graph
        .iter()
        .map(|g| g.sku_id.trim().to_lowercase())
        .collect();
    // Which Graph SKU each subscription is: its name candidates narrowed to the tenant's SKUs.
    let mut by_sku: HashMap<String, Vec<&ReconSubscription>> = HashMap::new();
    for sub in &src.recon {
        let narrowed: Vec<String> = sub
            .sku_guids
            .iter()
            .map(|g| g.to_lowercase())
            .filter(|g| graph_ids.contains(g))
            .collect();
        let label = sub
            .sku_name
            .as_deref()
            .or(sub.product_name.as_deref())
            .unwrap_or(&sub.sku_id);
        match narrowed.as_slice() {
            [one] => by_sku.entry(one.clone()).or_default().push(sub),
            [] => warnings.push(Warning::at(
                &sub.file,
                sub.line,
                None,
                format!(
                    "subscription {} (`{label}`, {} seats) of `{}` matches none of the tenant's \
                     Graph SKUs by name; its cost is not used",
                    sub.subscription_id, sub.quantity, src.tenant
                ),
            )),
            _ => warnings.push(Warning::at(
                &sub.file,
                sub.line,
                None,
                format!(
                    "subscription {} (`{label}`) of `{}` could be any of the Graph SKUs {}; its \
                     cost is not used",
                    sub.subscription_id,
                    src.tenant,
                    narrowed.join(", ")
                ),
            )),
        }
    }
    let mut out = Vec::new();
    for g in src.graph {
        let who = format!(
            "SKU `{}` ({}) of tenant `{}`",
            g.part_number, g.sku_id, src.tenant
        );
        let mut subs: Vec<&ReconSubscription> = by_sku
            .get(&g.sku_id.trim().to_lowercase())
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|s| {
                        s.monthly_unit_cost.is_some()
                            && s.term.is_some()
                            && s.billing_plan.is_some()
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !subs.is_empty() {
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
            // Graph counts assigned seats for the SKU as a whole: fill the subscriptions in
            // order, the last one taking any excess; ended subscriptions (no seats now) first,
            // so that the excess lands on one that has seats.
            subs.sort_by_key(|s| s.quantity > 0);
            let mut remaining = g.consumed;
            let last = subs.len() - 1;
            for (i, s) in subs.iter().enumerate() {
                let assigned = if i == last {
                    remaining
                } else {
                    remaining.min(s.quantity)
                };
                remaining -= assigned;
                let (Some(unit_cost), Some(term), Some(billing_plan)) =
                    (s.monthly_unit_cost, s.term, s.billing_plan)
                else {
                    continue;
                };
                let (purchased, changes) = history(s, src.changes);
                out.push(SubscribedSku {
                    sku_id: g.sku_id.clone(),
                    part_number: g.part_number.clone(),
                    purchased,
                    assigned,
                    unit_cost,
                    term,
                    billing_plan,
                    term_start: s.term_start,
                    changes,
                });
            }
            continue;
        }
        let prices = src.prices.find(
            src.tenant,
            |t| tenants.resolve_name(t),
            &g.sku_id,
            &g.part_number,
        );
        match prices.as_slice() {
            [p] => out.push(SubscribedSku {
                sku_id: g.sku_id.clone(),
                part_number: g.part_number.clone(),
                purchased: g.enabled,
                assigned: g.consumed,
                unit_cost: p.unit_cost,
                term: p.term,
                billing_plan: p.billing_plan,
                term_start: None,
                changes: Vec::new(),
            }),
            [] if g.enabled == 0 => warnings.push(Warning::at(
                &g.file,
                g.line,
                None,
                format!("{who} has no enabled seats and no cost; left out"),
            )),
            [] => {
                let message = format!(
                    "no cost for {who}: add it to a price list (sku_id or part_number, \
                     unit_cost, currency, term, billing_plan) or import the Partner Center \
                     reconciliation file that bills it"
                );
                if !src.lenient {
                    return Err(ImportError::file(&g.file, message).at_line(g.line));
                }
                warnings.push(Warning::at(
                    &g.file,
                    g.line,
                    None,
                    format!("{message}; left out"),
                ));
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
                if !src.lenient {
                    return Err(ImportError::file(&g.file, message).at_line(g.line));
                }
                warnings.push(Warning::at(
                    &g.file,
                    g.line,
                    None,
                    format!("{message}; the first is used"),
                ));
                out.push(SubscribedSku {
                    sku_id: g.sku_id.clone(),
                    part_number: g.part_number.clone(),
                    purchased: g.enabled,
                    assigned: g.consumed,
                    unit_cost: first.unit_cost,
                    term: first.term,
                    billing_plan: first.billing_plan,
                    term_start: None,
                    changes: Vec::new(),
                });
            }
        }
    }
    Ok(out)
}
