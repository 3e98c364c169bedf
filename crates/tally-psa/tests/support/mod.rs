//! A ConnectWise fake seeded for a plan, and the adapter pointed at it.

#![allow(dead_code)]

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tally_plan::Plan;
use tally_psa::config::{ConnectWiseConfig, HttpSettings};
use tally_psa::connectwise::ConnectWise;
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{Psa, PsaError, PushOptions, PushReport};
use tally_psa_testserver::Server;
use tally_psa_testserver::connectwise::{BASE_PATH, Credentials, Fake};

pub const COMPANY_ID: &str = "tallymsp";
pub const PUBLIC_KEY: &str = "pubKEY-4f1d2c";
pub const PRIVATE_KEY: &str = "SENTINEL-private-9b7e41d0";
pub const CLIENT_ID: &str = "0b3c6f9e-8a2d-4a51-9e1f-3d2c7b6a5e40";

/// A directory for a journal: in memory (`/dev/shm`) where the machine has it, since the
/// journal syncs every record to disk and hundreds of runs would wait on the disk.
pub fn state_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("tally-psa-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn northwind() -> Plan {
    let text =
        std::fs::read_to_string(repo().join("examples/northwind/expected-plan.json")).unwrap();
    tally_plan::from_json(&text).unwrap()
}

pub struct World {
    pub fake: Arc<Fake>,
    pub server: Server,
    /// Tries per request before a run stops (`[connectwise.http] max_attempts`).
    pub max_attempts: u32,
}

impl World {
    /// A fake with the plan's companies, agreements (billing from 2026-01-01) and every product
    /// the plan names in the catalogue (catalogue-priced lines at 2.00).
    pub fn for_plan(plan: &Plan) -> World {
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    company_id: COMPANY_ID.into(),
                    public_key: PUBLIC_KEY.into(),
                    private_key: PRIVATE_KEY.into(),
                    client_id: CLIENT_ID.into(),
                },
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            )
            .unwrap(),
        );
        let mut seen = std::collections::BTreeSet::new();
        for customer in &plan.customers {
            let psa = customer.psa.as_ref().unwrap();
            fake.add_company(&psa.company, &customer.customer);
            let mut agreements: Vec<String> = customer
                .lines
                .iter()
                .map(|l| l.agreement.clone().unwrap_or_else(|| psa.agreement.clone()))
                .collect();
            agreements.sort();
            agreements.dedup();
            for agreement in agreements {
                fake.add_agreement(
                    &psa.company,
                    &agreement,
                    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                );
            }
            for line in &customer.lines {
                if seen.insert(line.product.clone()) {
                    fake.add_catalog_item(
                        &line.product,
                        line.unit_price.unwrap_or(Decimal::new(200, 2)),
                    );
                }
            }
        }
        let server = fake.serve().unwrap();
        World {
            fake,
            server,
            max_attempts: 6,
        }
    }

    pub fn config(&self) -> ConnectWiseConfig {
        ConnectWiseConfig {
            base_url: format!("{}{BASE_PATH}", self.server.origin()),
            company_id: COMPANY_ID.into(),
            client_id: CLIENT_ID.into(),
            public_key_env: "TALLY_CONNECTWISE_PUBLIC_KEY".into(),
            private_key_env: "TALLY_CONNECTWISE_PRIVATE_KEY".into(),
            bill_customer: "Billable".into(),
            products: BTreeMap::new(),
            http: HttpSettings {
                max_attempts: self.max_attempts,
                base_delay_ms: 1,
                max_delay_ms: 4,
                max_retry_after_s: 2,
                timeout_s: 5,
                connect_timeout_s: 2,
                concurrency: 2,
                jitter_seed: Some(7),
            },
        }
    }

    pub fn adapter(&self) -> ConnectWise {
        ConnectWise::with_keys(self.config(), PUBLIC_KEY.into(), PRIVATE_KEY.into(), None)
    }

    pub fn push(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
    ) -> Result<PushReport, PsaError> {
        self.push_with(plan, journal, apply, DiffOptions::default())
    }

    pub fn push_with(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
        diff: DiffOptions,
    ) -> Result<PushReport, PsaError> {
        let adapter = self.adapter();
        let mut adapters: BTreeMap<&'static str, &dyn Psa> = BTreeMap::new();
        adapters.insert("connectwise", &adapter);
        tally_psa::push(
            plan,
            "sha",
            &adapters,
            &BTreeMap::new(),
            journal,
            PushOptions { apply, diff },
        )
    }

    /// Asserts the PSA holds exactly the plan: one active addition per line with a quantity,
    /// keyed, with the plan's quantity, price (the catalogue's for lines without) and text; no
    /// other active Tally addition.
    pub fn assert_holds(&self, plan: &Plan) {
        let state = self.fake.state();
        for customer in &plan.customers {
            let start = customer.period.start;
            let active: Vec<_> = state
                .additions
                .iter()
                .filter(|a| a.description.starts_with("tally:"))
                .filter(|a| a.cancelled.is_none_or(|c| c >= start))
                .filter(|a| {
                    a.description
                        .to_lowercase()
                        .starts_with(&format!("tally:{}/", customer.tenant))
                })
                .collect();
            let wanted: Vec<_> = customer.lines.iter().filter(|l| l.quantity != 0).collect();
            for line in &wanted {
                let found: Vec<_> = active
                    .iter()
                    .filter(|a| a.description == format!("tally:{}", line.id))
                    .collect();
                assert_eq!(
                    found.len(),
                    1,
                    "{}: {} active additions",
                    line.id,
                    found.len()
                );
                let a = found[0];
                assert_eq!(a.quantity, Decimal::from(line.quantity), "{}", line.id);
                if let Some(price) = line.unit_price {
                    assert_eq!(a.unit_price, price, "{}", line.id);
                    assert_eq!(
                        a.quantity * a.unit_price,
                        line.amount.unwrap(),
                        "{}: to the cent",
                        line.id
                    );
                }
                assert_eq!(a.invoice_description, line.description, "{}", line.id);
            }
            assert_eq!(active.len(), wanted.len(), "no other active Tally line");
        }
    }
}
