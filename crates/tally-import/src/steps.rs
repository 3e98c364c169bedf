//! The steps of [`crate::import`]: each kind of input read and placed in its tenant, then the
//! snapshot built from the tenants.

use std::collections::{BTreeMap, HashSet};

use tally_snapshot::{Counter, Period, Snapshot, SubscribedSku, Tenant};

use crate::assemble::{SkuSources, Tenants, add_counter, add_usage, subscribed_skus};
use crate::{
    CostBasis, FileInput, GraphTenant, ImportError, Inputs, Mapping, PriceList, Recon,
    ReconSubscription, SeatChange, Source, Warning, counts, graph, recon, usage,
};

/// Reconciliation subscriptions by tenant (lower case). A sorted map, so that the warnings
/// about them come in the same order on every run.
pub(crate) type ByTenant<'r> = BTreeMap<String, Vec<&'r ReconSubscription>>;

/// One mapping from every mapping file; an id mapped to two tenants is an error.
pub(crate) fn read_mappings(sources: &[Source]) -> Result<Mapping, ImportError> {
    let mut mapping = Mapping::default();
    for source in sources {
        let more = Mapping::read(source)?;
        mapping.merge(more, &source.name())?;
    }
    Ok(mapping)
}

pub(crate) fn read_price_lists(
    sources: &[Source],
    warnings: &mut Vec<Warning>,
) -> Result<PriceList, ImportError> {
    let mut prices = PriceList::default();
    for source in sources {
        warnings.extend(prices.read(source)?);
    }
    Ok(prices)
}

pub(crate) fn read_recon_files(
    sources: &[Source],
    cost_basis: CostBasis,
) -> Result<Recon, ImportError> {
    if sources.is_empty() {
        return Ok(Recon::default());
    }
    recon::read_recon(sources, cost_basis)
}

/// The subscriptions with seats, and those that ended during the period (their seat history
/// still matters for the period's bill), by the tenant they belong to.
pub(crate) fn live_subscriptions_by_tenant<'r>(
    recon: &'r Recon,
    period: Option<Period>,
    tenants: &mut Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> ByTenant<'r> {
    let live =
        |s: &&ReconSubscription| s.quantity > 0 || period.is_some_and(|p| s.last_event >= p.start);
    let mut by_tenant = ByTenant::new();
    for sub in recon.subscriptions.iter().filter(live) {
        if let Some(t) = tenants.for_customer(
            Some(&sub.customer_id),
            sub.customer_domain.as_deref(),
            None,
            warnings,
            &sub.file,
        ) {
            by_tenant.entry(t.to_lowercase()).or_default().push(sub);
        }
    }
    by_tenant
}

/// What the Graph tenants' subscribed SKUs are costed from.
pub(crate) struct SkuCosts<'a> {
    pub recon: &'a ByTenant<'a>,
    pub prices: &'a PriceList,
    /// Every seat change read, to give the subscriptions their history.
    pub changes: &'a [SeatChange],
    pub lenient: bool,
}

/// Each Graph tenant's users and subscribed SKUs, added to its tenant. Returns the tenants
/// (lower case) whose subscribedSkus files were given.
pub(crate) fn add_graph(
    graph: &[GraphTenant],
    costs: &SkuCosts<'_>,
    tenants: &mut Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<HashSet<String>, ImportError> {
    let mut with_graph_skus = HashSet::new();
    for g in graph {
        let name = tenants.resolve_name(&g.tenant);
        let (users, user_warnings) = graph::read_users(&g.users, costs.lenient)?;
        warnings.extend(user_warnings);
        let skus = if g.subscribed_skus.is_empty() {
            Vec::new()
        } else {
            with_graph_skus.insert(name.to_lowercase());
            tenant_skus(&name, &g.subscribed_skus, costs, tenants, warnings)?
        };
        let tenant = tenants.get(&name);
        tenant.users.extend(users);
        tenant.skus.extend(skus);
    }
    Ok(with_graph_skus)
}

/// A Graph tenant's subscribed SKUs, read from its files and costed.
fn tenant_skus(
    name: &str,
    sources: &[Source],
    costs: &SkuCosts<'_>,
    tenants: &Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<SubscribedSku>, ImportError> {
    let mut graph_skus = Vec::new();
    for source in sources {
        let (skus, sku_warnings) = graph::read_subscribed_skus(source, costs.lenient)?;
        warnings.extend(sku_warnings);
        graph_skus.extend(skus);
    }
    let sources = SkuSources {
        tenant: name,
        graph: &graph_skus,
        recon: costs
            .recon
            .get(&name.to_lowercase())
            .cloned()
            .unwrap_or_default(),
        prices: costs.prices,
        changes: costs.changes,
        lenient: costs.lenient,
    };
    subscribed_skus(&sources, tenants, warnings)
}

/// A warning for each tenant whose reconciliation subscriptions are not in the snapshot: its
/// Graph subscribedSkus were not given, so its assigned seats are unknown.
pub(crate) fn warn_subscriptions_without_graph(
    by_tenant: &ByTenant<'_>,
    with_graph_skus: &HashSet<String>,
    warnings: &mut Vec<Warning>,
) {
    for (tenant, subs) in by_tenant {
        if !with_graph_skus.contains(tenant)
            && let Some(first) = subs.first()
        {
            warnings.push(Warning::file(
                &first.file,
                format!(
                    "{} subscription(s) of `{}` in the reconciliation files are not in the \
                     snapshot: without its Graph subscribedSkus the assigned seats are unknown",
                    subs.len(),
                    first.customer_domain.as_deref().unwrap_or(tenant)
                ),
            ));
        }
    }
}

pub(crate) fn add_counts(sources: &[Source], tenants: &mut Tenants<'_>) -> Result<(), ImportError> {
    for source in sources {
        for row in counts::read_counts(source)? {
            let name = tenants.resolve_name(&row.customer_or_tenant);
            let counter = Counter {
                name: row.counter.clone(),
                value: row.value,
                as_of: row.as_of,
            };
            add_counter(tenants.get(&name), counter, &row.file, row.line)?;
        }
    }
    Ok(())
}

/// Every usage file's aggregates, added to their tenants.
pub(crate) fn add_usage_files(
    inputs: &Inputs,
    tenants: &mut Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    let options = usage::UsageOptions {
        granularity: inputs.options.usage_granularity,
        keep: inputs.options.usage_keep,
        period: inputs.period,
        progress: inputs.options.progress,
    };
    for input in &inputs.usage {
        add_usage_file(input, &options, inputs.options.lenient, tenants, warnings)?;
    }
    Ok(())
}

/// One usage file. A row whose tenant is unknown (no customer, no tenant given for the file)
/// is an error, or when lenient left out and counted in one warning.
fn add_usage_file(
    input: &FileInput,
    options: &usage::UsageOptions,
    lenient: bool,
    tenants: &mut Tenants<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    let file = input.source.name();
    let read = usage::read_usage(&input.source, options)?;
    warnings.extend(read.warnings);
    let mut unplaced = 0u64;
    for u in read.rows {
        let tenant = tenants.for_customer(
            u.customer_id.as_deref(),
            u.customer_domain.as_deref(),
            input.tenant.as_deref(),
            warnings,
            &file,
        );
        let Some(name) = tenant else {
            if lenient {
                unplaced += u.source_rows;
                continue;
            }
            return Err(ImportError::file(
                &file,
                "the row has no CustomerId or CustomerDomainName, so its tenant is unknown; \
                 give the file a tenant",
            )
            .at_line(u.first_line));
        };
        add_usage(tenants.get(&name), u.row, &file, u.first_line)?;
    }
    if unplaced > 0 {
        warnings.push(Warning::file(
            &file,
            format!("{unplaced} row(s) have no customer and were left out"),
        ));
    }
    Ok(())
}

/// The snapshot of the tenants built, checked.
pub(crate) fn into_snapshot(
    tenants: Tenants<'_>,
    period: Option<Period>,
) -> Result<Snapshot, ImportError> {
    let snapshot = Snapshot {
        version: tally_snapshot::CURRENT_VERSION,
        period,
        tenants: tenants
            .by_name
            .into_values()
            .map(|t| Tenant {
                tenant: t.name,
                tenant_id: t.tenant_id,
                users: t.users,
                subscribed_skus: t.skus,
                counters: t.counters.into_iter().map(|(c, _, _)| c).collect(),
                azure_usage: t.usage.into_values().collect(),
            })
            .collect(),
        rates: Vec::new(),
    };
    snapshot.validate().map_err(|e| {
        ImportError::file("snapshot", format!("the snapshot built is not valid: {e}"))
    })?;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::tests::subscription;

    #[test]
    fn subscriptions_without_graph_are_warned_about_in_tenant_order() {
        let subs = [
            subscription("c-z", "zeta.onmicrosoft.com", "s1"),
            subscription("c-a", "alpha.onmicrosoft.com", "s2"),
            subscription("c-m", "mu.onmicrosoft.com", "s3"),
            subscription("c-a", "alpha.onmicrosoft.com", "s4"),
        ];
        let mut by_tenant = ByTenant::new();
        for sub in &subs {
            let tenant = sub.customer_domain.clone().unwrap_or_default();
            by_tenant.entry(tenant).or_default().push(sub);
        }
        let with_graph_skus = HashSet::from(["mu.onmicrosoft.com".to_string()]);
        let mut warnings = Vec::new();
        warn_subscriptions_without_graph(&by_tenant, &with_graph_skus, &mut warnings);
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 2);
        assert!(messages[0].starts_with("2 subscription(s) of `alpha.onmicrosoft.com`"));
        assert!(messages[1].starts_with("1 subscription(s) of `zeta.onmicrosoft.com`"));
    }
}
