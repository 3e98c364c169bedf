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
mod steps;
pub mod subscriptions;
mod table;
pub mod usage;
mod values;

use tally_snapshot::{Period, Snapshot};

pub use detect::{Binary, FileKind, detect};
pub use error::{ImportError, Warning};
pub use mapping::Mapping;
pub use pricelist::PriceList;
pub use recon::{ChargeType, CostBasis, Recon, ReconLine};
pub use seats::SeatChange;
pub use source::Source;
pub use subscriptions::ReconSubscription;
pub use usage::{UsageGranularity, UsageKeep};
pub use values::Stamp;

use assemble::Tenants;

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
    /// Which parts of usage rows keep them apart (everything, unless only some are needed).
    pub usage_keep: UsageKeep,
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
    let mut warnings = Vec::new();
    let mapping = steps::read_mappings(&inputs.mapping)?;
    let prices = steps::read_price_lists(&inputs.price_lists, &mut warnings)?;
    let recon = steps::read_recon_files(&inputs.recon, inputs.options.cost_basis)?;
    warnings.extend(recon.warnings.iter().cloned());

    let mut tenants = Tenants::new(&mapping);
    let by_tenant =
        steps::live_subscriptions_by_tenant(&recon, inputs.period, &mut tenants, &mut warnings);
    let costs = steps::SkuCosts {
        recon: &by_tenant,
        prices: &prices,
        changes: &recon.seat_changes,
        lenient: inputs.options.lenient,
    };
    let with_graph_skus = steps::add_graph(&inputs.graph, &costs, &mut tenants, &mut warnings)?;
    steps::warn_subscriptions_without_graph(&by_tenant, &with_graph_skus, &mut warnings);
    steps::add_counts(&inputs.counts, &mut tenants)?;
    steps::add_usage_files(inputs, &mut tenants, &mut warnings)?;

    let snapshot = steps::into_snapshot(tenants, inputs.period)?;
    Ok(Import {
        snapshot,
        warnings,
        recon,
    })
}
