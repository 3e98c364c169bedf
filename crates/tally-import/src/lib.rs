//! Reading real exports into a Tally snapshot.
//!
//! | input | module | what is read |
//! | --- | --- | --- |
//! | Graph `GET /users` (pages) | [`graph`] | users, departments, enabled, assigned SKUs |
//! | Graph `GET /subscribedSkus` | [`graph`] | seats bought (`prepaidUnits.enabled`) and assigned (`consumedUnits`) |
//! | price list CSV | [`pricelist`] | the partner's cost of a SKU, which Graph does not know |
//! | Partner Center NCE invoice reconciliation (CSV or JSON) | [`recon`] | lines, dated seat changes, cost per subscription |
//! | Azure daily rated usage (CSV or JSON, streamed) | [`usage`] | usage aggregated per day and meter |
//! | counts CSV | [`counts`] | counters from other vendors' tools |
//! | mapping CSV | [`mapping`] | which snapshot tenant a Microsoft id or domain belongs to |
//!
//! [`build_snapshot`] combines any mix of them; [`import`] also returns what the snapshot
//! cannot hold yet (seat changes, reconciliation lines). Errors are values ([`ImportError`])
//! naming the file, line, column and what was expected; nothing panics on bad input.
//!
//! ```
//! use tally_import::{Inputs, GraphTenant, Source, build_snapshot};
//!
//! let users = r#"{"value": [{"id": "6f1c0a52-3f0e-4d7b-9a55-0c2d1f7e8a01",
//!   "userPrincipalName": "ann@northwind.co.uk", "displayName": "Ann Lee",
//!   "department": "Sales", "accountEnabled": true, "assignedLicenses": []}]}"#;
//! let inputs = Inputs {
//!     graph: vec![GraphTenant {
//!         tenant: "northwind.onmicrosoft.com".into(),
//!         users: vec![Source::memory("users.json", users)],
//!         subscribed_skus: vec![],
//!     }],
//!     ..Inputs::default()
//! };
//! let (snapshot, warnings) = build_snapshot(&inputs)?;
//! let tenant = snapshot.tenant("northwind.onmicrosoft.com").unwrap();
//! assert_eq!(tenant.users[0].department.as_deref(), Some("Sales"));
//! assert!(warnings.is_empty());
//! # Ok::<(), tally_import::ImportError>(())
//! ```

mod assemble;
pub mod counts;
mod csvfile;
mod detect;
mod error;
pub mod graph;
mod json;
pub mod mapping;
pub mod pricelist;
pub mod recon;
pub mod seats;
mod source;
pub mod subscriptions;
mod table;
pub mod usage;
mod values;

use tally_snapshot::{Counter, Period, Snapshot, Tenant};

pub use detect::{Binary, FileKind, detect};
pub use error::{ImportError, Warning};
pub use mapping::Mapping;
pub use pricelist::PriceList;
pub use recon::{ChargeType, CostBasis, Recon, ReconLine};
pub use seats::SeatChange;
pub use source::Source;
pub use subscriptions::ReconSubscription;
pub use usage::UsageGranularity;
pub use values::Stamp;

use assemble::{SkuSources, Tenants, add_counter, add_usage, subscribed_skus};

/// Graph exports of one tenant.
#[derive(Debug, Clone, Default)]
pub struct GraphTenant {
    /// The tenant, as rule files name it, or a Microsoft id or domain the mapping resolves.
    pub tenant: String,
    /// `GET /users` files (each one page, an array of pages, or JSON Lines).
    pub users: Vec<Source>,
    /// `GET /subscribedSkus` files.
    pub subscribed_skus: Vec<Source>,
}

/// A file whose records name their customer, optionally pinned to one tenant (for exports
/// filtered to a single customer, where Microsoft may leave the customer columns empty).
#[derive(Debug, Clone)]
pub struct FileInput {
    pub source: Source,
    pub tenant: Option<String>,
}

impl FileInput {
    pub fn new(source: Source) -> FileInput {
        FileInput {
            source,
            tenant: None,
        }
    }
}

/// Choices with a stated default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accept what strict mode refuses, with warnings: users without `accountEnabled` (taken
    /// as enabled), `department` or `assignedLicenses`; missing later Graph pages; SKUs with no
    /// cost (left out); SKUs with several prices (first used); usage rows with no customer
    /// (left out). Malformed values are errors either way.
    pub lenient: bool,
    pub usage_granularity: UsageGranularity,
    pub cost_basis: CostBasis,
    /// Told the number of usage rows read so far, now and then (see `UsageOptions::progress`).
    pub progress: Option<fn(u64)>,
}

/// Everything to import. Any field may be empty.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Mapping files (`microsoft_id,tenant`).
    pub mapping: Vec<Source>,
    pub graph: Vec<GraphTenant>,
    /// Price lists for subscribed SKUs without reconciliation data.
    pub price_lists: Vec<Source>,
    /// Partner Center NCE reconciliation files, billed or unbilled, CSV or JSON.
    pub recon: Vec<Source>,
    /// Azure daily rated usage files.
    pub usage: Vec<FileInput>,
    /// Counts files.
    pub counts: Vec<Source>,
    /// The billing period, written to the snapshot.
    pub period: Option<Period>,
    pub options: Options,
}

/// The result of an import: the snapshot, and what it cannot hold yet.
#[derive(Debug, Clone)]
pub struct Import {
    pub snapshot: Snapshot,
    pub warnings: Vec<Warning>,
    /// Reconciliation lines, seat changes and subscriptions, for reports and for true-ups
    /// once the snapshot can carry dated changes.
    pub recon: Recon,
}

/// Build a snapshot from any mix of inputs.
pub fn build_snapshot(inputs: &Inputs) -> Result<(Snapshot, Vec<Warning>), ImportError> {
    let Import {
        snapshot, warnings, ..
    } = import(inputs)?;
    Ok((snapshot, warnings))
}

/// Build a snapshot and keep the reconciliation details.
pub fn import(inputs: &Inputs) -> Result<Import, ImportError> {
    let lenient = inputs.options.lenient;
    let mut warnings = Vec::new();

    let mut mapping = Mapping::default();
    for source in &inputs.mapping {
        let more = Mapping::read(source)?;
        mapping.merge(more, &source.name())?;
    }
    let mut prices = PriceList::default();
    for source in &inputs.price_lists {
        warnings.extend(prices.read(source)?);
    }
    let recon = if inputs.recon.is_empty() {
        Recon::default()
    } else {
        recon::read_recon(&inputs.recon, inputs.options.cost_basis)?
    };
    warnings.extend(recon.warnings.iter().cloned());

    let mut tenants = Tenants::new(&mapping);

    // Reconciliation subscriptions with seats, by tenant.
    let mut recon_by_tenant: std::collections::HashMap<String, Vec<&ReconSubscription>> =
        std::collections::HashMap::new();
    // Subscriptions with seats, and those that ended during the period (their seat history
    // still matters for the period's bill).
    let live = |s: &&ReconSubscription| {
        s.quantity > 0 || inputs.period.is_some_and(|p| s.last_event >= p.start)
    };
    for sub in recon.subscriptions.iter().filter(live) {
        let file = sub.file.clone();
        if let Some(t) = tenants.for_customer(
            Some(&sub.customer_id),
            sub.customer_domain.as_deref(),
            None,
            &mut warnings,
            &file,
        ) {
            recon_by_tenant
                .entry(t.to_lowercase())
                .or_default()
                .push(sub);
        }
    }

    let mut with_graph_skus = std::collections::HashSet::new();
    for g in &inputs.graph {
        let name = tenants.resolve_name(&g.tenant);
        let (users, user_warnings) = graph::read_users(&g.users, lenient)?;
        warnings.extend(user_warnings);
        let mut graph_skus = Vec::new();
        for source in &g.subscribed_skus {
            let (skus, sku_warnings) = graph::read_subscribed_skus(source, lenient)?;
            warnings.extend(sku_warnings);
            graph_skus.extend(skus);
        }
        let skus = if g.subscribed_skus.is_empty() {
            Vec::new()
        } else {
            with_graph_skus.insert(name.to_lowercase());
            let sources = SkuSources {
                tenant: &name,
                graph: &graph_skus,
                recon: recon_by_tenant
                    .get(&name.to_lowercase())
                    .cloned()
                    .unwrap_or_default(),
                prices: &prices,
                changes: &recon.seat_changes,
                lenient,
            };
            subscribed_skus(&sources, &tenants, &mut warnings)?
        };
        let tenant = tenants.get(&name);
        tenant.users.extend(users);
        tenant.skus.extend(skus);
    }
    for (tenant, subs) in &recon_by_tenant {
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

    for source in &inputs.counts {
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

    let usage_options = usage::UsageOptions {
        granularity: inputs.options.usage_granularity,
        period: inputs.period,
        progress: inputs.options.progress,
    };
    for input in &inputs.usage {
        let file = input.source.name();
        let read = usage::read_usage(&input.source, &usage_options)?;
        warnings.extend(read.warnings);
        let mut unplaced = 0u64;
        for u in read.rows {
            let tenant = tenants.for_customer(
                u.customer_id.as_deref(),
                u.customer_domain.as_deref(),
                input.tenant.as_deref(),
                &mut warnings,
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
    }

    let snapshot = Snapshot {
        version: tally_snapshot::CURRENT_VERSION,
        period: inputs.period,
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
    Ok(Import {
        snapshot,
        warnings,
        recon,
    })
}
