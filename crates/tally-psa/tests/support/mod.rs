//! A ConnectWise fake seeded for a plan, and the adapter pointed at it (shared by
//! `connectwise.rs`, `faults.rs` and the `push` benchmark).

#![allow(dead_code)]

// The `push` benchmark includes all three support modules, each with its own copy of this one.
#[allow(clippy::duplicate_mod)]
#[path = "../common/mod.rs"]
pub mod common;

use common::PsaWorld;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_plan::Plan;
use tally_psa::config::ConnectWiseConfig;
use tally_psa::connectwise::ConnectWise;
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{PsaError, PushReport};
use tally_psa_testserver::Server;
use tally_psa_testserver::connectwise::{BASE_PATH, Credentials, Fake};

// ConnectWise pushes Northwind as the example has it (the benchmark takes these from here too).
pub use common::{northwind, state_dir};

pub const COMPANY_ID: &str = "tallymsp";
pub const PUBLIC_KEY: &str = "pubKEY-4f1d2c";
pub const PRIVATE_KEY: &str = "SENTINEL-private-9b7e41d0";
pub const CLIENT_ID: &str = "0b3c6f9e-8a2d-4a51-9e1f-3d2c7b6a5e40";

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
                common::day(2026, 10, 1),
            )
            .unwrap(),
        );
        for customer in &plan.customers {
            let psa = customer.psa.as_ref().unwrap();
            fake.add_company(&psa.company, &customer.customer);
            for agreement in common::agreements(customer) {
                fake.add_agreement(&psa.company, &agreement, common::day(2026, 1, 1));
            }
        }
        let lines = plan.customers.iter().flat_map(|c| &c.lines);
        for (product, price) in common::catalogue(lines) {
            fake.add_catalog_item(&product, price);
        }
        let server = fake.serve().unwrap();
        World {
            fake,
            server,
            max_attempts: common::MAX_ATTEMPTS,
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
            http: common::http_settings(self.max_attempts, 2),
        }
    }

    pub fn push(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
    ) -> Result<PushReport, PsaError> {
        self.push_with(plan, journal, apply, DiffOptions::default())
    }
}

impl PsaWorld for World {
    const NAME: &'static str = "ConnectWise";
    const SECTION: &'static str = "connectwise";
    type Fake = Fake;
    type Adapter = ConnectWise;

    fn for_plan(plan: &Plan) -> World {
        World::for_plan(plan)
    }

    fn fake(&self) -> &Fake {
        &self.fake
    }

    fn adapter(&self) -> ConnectWise {
        ConnectWise::with_keys(self.config(), PUBLIC_KEY.into(), PRIVATE_KEY.into(), None)
    }

    /// One active addition per line with a quantity, keyed, with the plan's quantity, price
    /// (the catalogue's for lines without) and text; no other active Tally addition.
    fn assert_holds(&self, plan: &Plan) {
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
