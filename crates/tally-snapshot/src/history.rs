//! Dated changes: what a tenant looked like on any day. A user's and a subscription's fields
//! describe them before their first change; each change applies from its date on. Counters may
//! be given several times with different `as_of` dates. [`Tenant::at`] materialises one day, so
//! the rules are evaluated against plain state and never see the history.

use crate::formats;
use crate::{Counter, SubscribedSku, Tenant, User};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A change to a user from `date` on. Absent fields keep their value; an empty `department`,
/// `office` or `city` clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(with = "formats::date")]
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_skus: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

/// A change to a subscription's seats from `date` on (e.g. 2 seats added on the 20th).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatChange {
    #[serde(with = "formats::date")]
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchased: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<u32>,
}

impl User {
    /// Whether the account exists on `date`.
    pub fn exists_on(&self, date: NaiveDate) -> bool {
        self.created.is_none_or(|c| c <= date) && self.deleted.is_none_or(|d| date < d)
    }

    /// The user as they were on `date` (changes dated that day included).
    pub fn on(&self, date: NaiveDate) -> User {
        let mut user = self.clone();
        let mut changes: Vec<&UserChange> =
            self.changes.iter().filter(|c| c.date <= date).collect();
        changes.sort_by_key(|c| c.date);
        for change in changes {
            if let Some(enabled) = change.enabled {
                user.enabled = enabled;
            }
            if let Some(skus) = &change.assigned_skus {
                user.assigned_skus = skus.clone();
            }
            for (slot, value) in [
                (&mut user.department, &change.department),
                (&mut user.office, &change.office),
                (&mut user.city, &change.city),
            ] {
                if let Some(value) = value {
                    *slot = (!value.trim().is_empty()).then(|| value.clone());
                }
            }
        }
        user.changes.clear();
        user
    }
}

impl SubscribedSku {
    /// The subscription's seats on `date`.
    pub fn on(&self, date: NaiveDate) -> SubscribedSku {
        let mut sku = self.clone();
        let mut changes: Vec<&SeatChange> =
            self.changes.iter().filter(|c| c.date <= date).collect();
        changes.sort_by_key(|c| c.date);
        for change in changes {
            if let Some(p) = change.purchased {
                sku.purchased = p;
            }
            if let Some(a) = change.assigned {
                sku.assigned = a;
            }
        }
        sku.changes.clear();
        sku
    }
}

impl Tenant {
    /// The tenant as it was on `date`: users who exist that day with their changes applied,
    /// seats as of that day, and for each counter the latest value dated on or before it (the
    /// earliest value when all are later).
    pub fn at(&self, date: NaiveDate) -> Tenant {
        let mut counters: BTreeMap<&str, &Counter> = BTreeMap::new();
        for counter in &self.counters {
            let better = match counters.get(counter.name.as_str()) {
                None => true,
                Some(current) => {
                    let fits = counter.as_of <= date;
                    let current_fits = current.as_of <= date;
                    match (fits, current_fits) {
                        (true, true) => counter.as_of > current.as_of,
                        (true, false) => true,
                        (false, true) => false,
                        (false, false) => counter.as_of < current.as_of,
                    }
                }
            };
            if better {
                counters.insert(counter.name.as_str(), counter);
            }
        }
        Tenant {
            tenant: self.tenant.clone(),
            tenant_id: self.tenant_id.clone(),
            users: self
                .users
                .iter()
                .filter(|u| u.exists_on(date))
                .map(|u| u.on(date))
                .collect(),
            subscribed_skus: self.subscribed_skus.iter().map(|s| s.on(date)).collect(),
            counters: self
                .counters
                .iter()
                .filter(|c| {
                    counters
                        .get(c.name.as_str())
                        .is_some_and(|chosen| std::ptr::eq(*chosen, *c))
                })
                .cloned()
                .collect(),
            azure_usage: self.azure_usage.clone(),
        }
    }

    /// Every date on which something about the tenant changes, in order.
    pub fn change_dates(&self) -> BTreeSet<NaiveDate> {
        let mut dates = BTreeSet::new();
        for user in &self.users {
            dates.extend(user.created);
            dates.extend(user.deleted);
            dates.extend(user.changes.iter().map(|c| c.date));
        }
        for sku in &self.subscribed_skus {
            dates.extend(sku.changes.iter().map(|c| c.date));
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for counter in &self.counters {
            *names.entry(counter.name.as_str()).or_default() += 1;
        }
        // A counter given once is a constant; given several times, it changes on each date.
        for counter in &self.counters {
            if names.get(counter.name.as_str()).is_some_and(|n| *n > 1) {
                dates.insert(counter.as_of);
            }
        }
        dates
    }
}
