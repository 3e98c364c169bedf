//! The snapshot: everything known about the customers' Microsoft 365 tenants for one billing
//! period, as Tally rules see it.
//!
//! A snapshot is a versioned JSON document (see `docs/snapshot.md` for the full reference).
//! [`from_json`] reads it, checks the version first, reports any problem as a
//! [`SnapshotError`] with the JSON path and line/column of the bad value, and validates what
//! serde cannot (period order, duplicate tenants and users, empty counter names).
//!
//! ```
//! let snapshot = tally_snapshot::from_json(r#"{
//!   "version": 1,
//!   "tenants": [ { "tenant": "northwind.onmicrosoft.com" } ]
//! }"#)?;
//! assert_eq!(snapshot.tenant_names(), ["northwind.onmicrosoft.com"]);
//! assert!(snapshot.tenant("NORTHWIND.onmicrosoft.com").is_some());
//! # Ok::<(), tally_snapshot::SnapshotError>(())
//! ```

mod error;
mod formats;
mod history;

pub use history::{SeatChange, UserChange};

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_money::Money;

use error::JsonPath;
pub use error::SnapshotError;

/// The snapshot format version this build writes, and the newest it reads.
pub const CURRENT_VERSION: u32 = 2;

/// The oldest snapshot format version this build reads.
pub const OLDEST_VERSION: u32 = 1;

/// A whole snapshot: the tenants' data for one billing period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Format version; see [`CURRENT_VERSION`].
    pub version: u32,
    /// The billing period the data describes, if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// One entry per customer tenant.
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    /// Exchange rates for costs in another currency than a customer's (version 2). Tally never
    /// fetches rates: only these are used, and each use is recorded in the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<Rate>,
}

/// One unit of `from` is worth `rate` units of `to`, as of `date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub from: tally_money::Currency,
    pub to: tally_money::Currency,
    #[serde(with = "formats::quoted_decimal")]
    pub rate: Decimal,
    #[serde(with = "formats::date")]
    pub date: NaiveDate,
}

impl Snapshot {
    /// The rate from one currency to another in force on `on`: the latest dated on or before
    /// it, else the earliest.
    pub fn rate(
        &self,
        from: tally_money::Currency,
        to: tally_money::Currency,
        on: NaiveDate,
    ) -> Option<&Rate> {
        let matching = self.rates.iter().filter(|r| r.from == from && r.to == to);
        let before = matching
            .clone()
            .filter(|r| r.date <= on)
            .max_by_key(|r| r.date);
        before.or_else(|| matching.min_by_key(|r| r.date))
    }
}

/// A billing period: `start` to `end`, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[serde(with = "formats::date")]
    pub start: NaiveDate,
    #[serde(with = "formats::date")]
    pub end: NaiveDate,
}

impl Period {
    /// Number of days in the period, both ends included (October is 31). Zero or negative only
    /// for a period whose start is after its end, which [`from_json`] rejects.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// Whether `date` falls within the period (inclusive at both ends).
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// One customer's Microsoft 365 tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// The tenant's domain as rule files bind it, e.g. `northwind.onmicrosoft.com`.
    pub tenant: String,
    /// The Entra tenant id (GUID), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub subscribed_skus: Vec<SubscribedSku>,
    #[serde(default)]
    pub counters: Vec<Counter>,
    #[serde(default)]
    pub azure_usage: Vec<UsageRow>,
}

impl Tenant {
    /// The counter with exactly this name.
    pub fn counter(&self, name: &str) -> Option<&Counter> {
        // With a history, the latest value is the current one.
        self.counters
            .iter()
            .filter(|c| c.name == name)
            .max_by_key(|c| c.as_of)
    }

    /// The first subscription of the SKU with this GUID (case-insensitive).
    ///
    /// A tenant may hold the same SKU on several subscriptions (say annual and monthly); see
    /// [`Tenant::subscribed_skus_for`] for all of them.
    pub fn subscribed_sku(&self, sku_id: &str) -> Option<&SubscribedSku> {
        let sku_id = sku_id.trim();
        self.subscribed_skus
            .iter()
            .find(|s| s.sku_id.trim().eq_ignore_ascii_case(sku_id))
    }

    /// Every subscription of the SKU with this GUID (case-insensitive), in snapshot order.
    pub fn subscribed_skus_for(&self, sku_id: &str) -> Vec<&SubscribedSku> {
        let sku_id = sku_id.trim();
        self.subscribed_skus
            .iter()
            .filter(|s| s.sku_id.trim().eq_ignore_ascii_case(sku_id))
            .collect()
    }
}

/// A user in a tenant, as Microsoft Graph `/users` describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user's object id (GUID).
    pub id: String,
    pub upn: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Whether sign-in is enabled. Disabled users still hold (and cost) their licences.
    pub enabled: bool,
    /// SKU GUIDs assigned to the user (Graph `assignedLicenses[].skuId`).
    #[serde(default)]
    pub assigned_skus: Vec<String>,
    /// The day the account appeared, if during the snapshot's history (version 2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "formats::opt_date"
    )]
    pub created: Option<NaiveDate>,
    /// The day the account was gone from (version 2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "formats::opt_date"
    )]
    pub deleted: Option<NaiveDate>,
    /// Dated changes; the fields above hold before the first one (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<UserChange>,
}

impl User {
    /// A grouping attribute by name: `"department"`, `"office"` or `"city"`.
    ///
    /// `None` for any other key, and when the attribute is absent, null, empty or only
    /// whitespace (Graph returns all of those for "not set"). The value is returned as stored.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        let value = match key {
            "department" => self.department.as_deref(),
            "office" => self.office.as_deref(),
            "city" => self.city.as_deref(),
            _ => None,
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// Whether the SKU with this GUID is assigned to the user (case-insensitive).
    pub fn has_sku(&self, sku_id: &str) -> bool {
        let sku_id = sku_id.trim();
        self.assigned_skus
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(sku_id))
    }
}

/// A licence subscription held by the tenant, with what it costs the partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribedSku {
    /// SKU GUID (Graph `subscribedSku.skuId`); the key, since part numbers are not unique.
    pub sku_id: String,
    /// Part number (Graph `skuPartNumber`), e.g. `SPB`; informational.
    pub part_number: String,
    /// Seats bought (Graph `prepaidUnits.enabled`).
    pub purchased: u32,
    /// Seats assigned to users (Graph `consumedUnits`); may exceed `purchased`.
    pub assigned: u32,
    /// The partner's cost per seat per month (for an annual or triennial term, the monthly
    /// equivalent).
    pub unit_cost: Money,
    /// The partner's cost per seat for the whole term, when known exactly (Microsoft's upfront
    /// price of an annual or triennial term); otherwise `unit_cost` × the term's months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_unit_cost: Option<Money>,
    pub term: Term,
    pub billing_plan: BillingPlan,
    /// When the subscription's term started: its anniversary fixes the NCE billing cycles
    /// (version 2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "formats::opt_date"
    )]
    pub term_start: Option<NaiveDate>,
    /// Dated seat changes; `purchased` and `assigned` above hold before the first (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<SeatChange>,
}

impl SubscribedSku {
    /// What one seat costs for the whole term: `term_unit_cost` when the snapshot gives it,
    /// else `unit_cost` × the term's months; `None` only on overflow.
    pub fn term_cost(&self) -> Option<Money> {
        match self.term_unit_cost {
            Some(cost) => Some(cost),
            None => self
                .unit_cost
                .checked_mul(Decimal::from(self.term.months()))
                .ok(),
        }
    }
}

/// Commitment term of a subscription: the workspace's one `Term`, from the billing arithmetic.
pub use tally_billing::Term;

/// How a subscription is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingPlan {
    Monthly,
    Upfront,
}

impl BillingPlan {
    /// The name as written in JSON: `monthly` or `upfront`.
    pub fn name(self) -> &'static str {
        match self {
            BillingPlan::Monthly => "monthly",
            BillingPlan::Upfront => "upfront",
        }
    }
}

impl std::fmt::Display for BillingPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A count from another vendor's system (backup seats, RMM agents, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counter {
    /// Name as rules refer to it, e.g. `backup.protected_users`. Not empty.
    pub name: String,
    pub value: u64,
    /// The day the count was taken.
    #[serde(with = "formats::date")]
    pub as_of: NaiveDate,
}

/// One row of Azure usage (cost management export), one meter for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRow {
    #[serde(with = "formats::date")]
    pub date: NaiveDate,
    pub subscription_id: String,
    pub resource_group: String,
    pub meter_category: String,
    pub meter_name: String,
    /// Quantity consumed, a decimal written as a JSON string.
    #[serde(with = "formats::quoted_decimal")]
    pub quantity: Decimal,
    pub cost: Money,
    /// Azure resource tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Read a snapshot from JSON text.
///
/// Checks, in order: that the text is JSON with a supported `version` (before anything else,
/// so a newer file says "unsupported version" rather than "unknown field"); that it has the
/// version-1 shape (types, required fields, no unknown fields); then [`Snapshot::validate`].
/// Every error carries the JSON path and, where possible, the line and column of the bad
/// value.
pub fn from_json(text: &str) -> Result<Snapshot, SnapshotError> {
    check_version(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let snapshot: Snapshot =
        serde_path_to_error::deserialize(&mut de).map_err(SnapshotError::from_json)?;
    de.end().map_err(SnapshotError::from_syntax)?;
    match snapshot.problem() {
        Some((path, message)) => Err(path.error(Some(text), message)),
        None => Ok(snapshot),
    }
}

/// Which versions this build reads, for error messages.
fn readable_versions() -> String {
    if OLDEST_VERSION == CURRENT_VERSION {
        format!("this build reads snapshot version {CURRENT_VERSION}")
    } else {
        format!("this build reads snapshot versions {OLDEST_VERSION} to {CURRENT_VERSION}")
    }
}

/// Read only `version` (and check the text is JSON), before the full shape.
fn check_version(text: &str) -> Result<(), SnapshotError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, VersionProbe>(&mut de)
        .map_err(SnapshotError::from_json)?;
    de.end().map_err(SnapshotError::from_syntax)
}

/// The top-level object with only `version` looked at; every other field is skipped unread.
struct VersionProbe;

impl<'de> Deserialize<'de> for VersionProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = VersionProbe;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a snapshot (a JSON object)")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<VersionProbe, A::Error> {
                let mut seen = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "version" {
                        if seen {
                            return Err(serde::de::Error::duplicate_field("version"));
                        }
                        map.next_value::<SupportedVersion>()?;
                        seen = true;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                if seen {
                    Ok(VersionProbe)
                } else {
                    Err(serde::de::Error::custom(format_args!(
                        "missing field `version`; {}",
                        readable_versions()
                    )))
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// A `version` number this build reads; anything else fails inside the visitor so serde_json
/// stamps the position of the number on the error.
struct SupportedVersion;

impl<'de> Deserialize<'de> for SupportedVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SupportedVersion;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a snapshot version number ({})", readable_versions())
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SupportedVersion, E> {
                if (u64::from(OLDEST_VERSION)..=u64::from(CURRENT_VERSION)).contains(&v) {
                    Ok(SupportedVersion)
                } else {
                    Err(E::custom(format_args!(
                        "unsupported snapshot version {v}; {}",
                        readable_versions()
                    )))
                }
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SupportedVersion, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format_args!(
                        "unsupported snapshot version {v}; {}",
                        readable_versions()
                    ))),
                }
            }
        }
        d.deserialize_u64(V)
    }
}

impl Snapshot {
    /// The tenant whose domain (`tenant`) or `tenant_id` matches `name`, case-insensitive.
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        let name = name.trim();
        self.tenants.iter().find(|t| {
            t.tenant.trim().eq_ignore_ascii_case(name)
                || t.tenant_id
                    .as_deref()
                    .is_some_and(|id| id.trim().eq_ignore_ascii_case(name))
        })
    }

    /// Every tenant's domain, in snapshot order.
    pub fn tenant_names(&self) -> Vec<&str> {
        self.tenants.iter().map(|t| t.tenant.as_str()).collect()
    }

    /// Write the snapshot as indented JSON that [`from_json`] reads back to an equal value.
    pub fn to_json_pretty(&self) -> Result<String, SnapshotError> {
        serde_json::to_string_pretty(self).map_err(|e| SnapshotError::root(e.to_string()))
    }

    /// Check what the JSON shape cannot: version supported, period start not after end,
    /// non-empty tenant names unique case-insensitively (and `tenant_id`s likewise), user ids
    /// unique within a tenant (case-insensitive), counter names non-empty and unique within a
    /// tenant.
    ///
    /// [`from_json`] runs this; call it for snapshots built in code. Errors from here carry
    /// the path but no line or column.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        match self.problem() {
            Some((path, message)) => Err(path.error(None, message)),
            None => Ok(()),
        }
    }

    fn problem(&self) -> Option<(JsonPath, String)> {
        let root = JsonPath::root();
        if !(OLDEST_VERSION..=CURRENT_VERSION).contains(&self.version) {
            return Some((
                root.key("version"),
                format!(
                    "unsupported snapshot version {}; {}",
                    self.version,
                    readable_versions()
                ),
            ));
        }
        if let Some(period) = &self.period
            && period.start > period.end
        {
            return Some((
                root.key("period"),
                format!(
                    "period starts ({}) after it ends ({})",
                    period.start, period.end
                ),
            ));
        }
        for (i, rate) in self.rates.iter().enumerate() {
            if rate.rate <= Decimal::ZERO {
                return Some((
                    root.clone().key("rates").index(i).key("rate"),
                    format!("a rate must be above zero, not {}", rate.rate),
                ));
            }
            if rate.from == rate.to {
                return Some((
                    root.clone().key("rates").index(i).key("to"),
                    format!("a rate from {} to itself", rate.from),
                ));
            }
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (t, tenant) in self.tenants.iter().enumerate() {
            let at = root.clone().key("tenants").index(t);
            let name = tenant.tenant.trim().to_lowercase();
            if name.is_empty() {
                return Some((at.key("tenant"), "tenant name is empty".to_string()));
            }
            if let Some(first) = names.insert(name, t) {
                return Some((
                    at.key("tenant"),
                    format!(
                        "duplicate tenant `{}` (also tenants[{first}])",
                        tenant.tenant
                    ),
                ));
            }
            if let Some(id) = &tenant.tenant_id
                && let Some(first) = ids.insert(id.trim().to_lowercase(), t)
            {
                return Some((
                    at.key("tenant_id"),
                    format!("duplicate tenant_id `{id}` (also tenants[{first}])"),
                ));
            }
            if let Some(problem) = tenant.problem(&at) {
                return Some(problem);
            }
        }
        None
    }
}

impl Tenant {
    fn problem(&self, at: &JsonPath) -> Option<(JsonPath, String)> {
        let mut user_ids: HashMap<String, usize> = HashMap::new();
        for (u, user) in self.users.iter().enumerate() {
            if let Some(first) = user_ids.insert(user.id.trim().to_lowercase(), u) {
                return Some((
                    at.clone().key("users").index(u).key("id"),
                    format!("duplicate user id `{}` (also users[{first}])", user.id),
                ));
            }
        }
        // A counter may be given once per `as_of` date (its history); twice for one date is
        // ambiguous.
        let mut counters: HashMap<(&str, NaiveDate), usize> = HashMap::new();
        for (c, counter) in self.counters.iter().enumerate() {
            let path = at.clone().key("counters").index(c).key("name");
            if counter.name.trim().is_empty() {
                return Some((path, "counter name is empty".to_string()));
            }
            if let Some(first) = counters.insert((counter.name.as_str(), counter.as_of), c) {
                return Some((
                    path,
                    format!(
                        "duplicate counter `{}` as of {} (also counters[{first}])",
                        counter.name, counter.as_of
                    ),
                ));
            }
        }
        None
    }
}
