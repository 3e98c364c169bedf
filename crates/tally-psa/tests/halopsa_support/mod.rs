//! A HaloPSA fake seeded for a plan, and the adapter pointed at it (shared by `halopsa.rs`,
//! `halopsa_misbehaving.rs`, `faults_halopsa.rs` and the `push` benchmark).

#![allow(dead_code)]

// The `push` benchmark includes all three support modules, each with its own copy of this one.
#[allow(clippy::duplicate_mod)]
#[path = "../common/mod.rs"]
pub mod common;

use common::PsaWorld;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_ir::PsaKind;
use tally_plan::Plan;
use tally_psa::config::HaloConfig;
use tally_psa::diff::DiffOptions;
use tally_psa::halopsa::Halo;
use tally_psa::journal::Journal;
use tally_psa::{PsaError, PushReport};
use tally_psa_testserver::Server;
use tally_psa_testserver::halopsa::{Credentials, Fake, Line};

pub const CLIENT_ID: &str = "7c1d5e2a-tally-integration";
pub const SECRET: &str = "SENTINEL-halo-secret-5b8e13";
pub const SECRET_ENV: &str = "TALLY_HALOPSA_CLIENT_SECRET";

/// Northwind's plan, sent to HaloPSA.
pub fn northwind() -> Plan {
    common::northwind_sent_to(PsaKind::HaloPsa)
}

pub struct World {
    pub fake: Arc<Fake>,
    pub server: Server,
    pub max_attempts: u32,
}

impl World {
    /// A fake with the plan's clients, one recurring invoice per agreement, and every product
    /// the plan names as an item (catalogue-priced lines at 2.00).
    pub fn for_plan(plan: &Plan) -> World {
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    client_id: CLIENT_ID.into(),
                    client_secret: SECRET.into(),
                },
                common::day(2026, 10, 1),
            )
            .unwrap(),
        );
        for customer in &plan.customers {
            let client = fake.add_client(&customer.psa.as_ref().unwrap().company);
            for agreement in common::agreements(customer) {
                fake.add_invoice(client, &agreement);
            }
        }
        let lines = plan.customers.iter().flat_map(|c| &c.lines);
        for (product, price) in common::catalogue(lines) {
            fake.add_item(&product, price);
        }
        let server = fake.serve().unwrap();
        World {
            fake,
            server,
            max_attempts: common::MAX_ATTEMPTS,
        }
    }

    pub fn config(&self) -> HaloConfig {
        HaloConfig {
            base_url: self.server.origin(),
            client_id: CLIENT_ID.into(),
            client_secret_env: SECRET_ENV.into(),
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

    /// The active lines Tally owns for the plan's first customer's tenant.
    pub fn owned_lines(&self, plan: &Plan) -> Vec<Line> {
        let customer = &plan.customers[0];
        let start = customer.period.start;
        let prefix = format!("tally:{}/", customer.tenant);
        self.fake
            .state()
            .lines
            .iter()
            .filter(|l| l.bills_on(start))
            .filter(|l| {
                l.external_reference
                    .as_deref()
                    .is_some_and(|r| r.to_lowercase().starts_with(&prefix))
            })
            .cloned()
            .collect()
    }
}

/// Pushes through `adapter`, a HaloPSA adapter the test made (another secret, one kept between
/// runs).
pub fn push_through(
    adapter: &Halo,
    plan: &Plan,
    journal: Option<&mut Journal>,
    apply: bool,
    diff: DiffOptions,
) -> Result<PushReport, PsaError> {
    common::push_through(World::SECTION, adapter, plan, journal, apply, diff)
}

impl PsaWorld for World {
    const NAME: &'static str = "HaloPSA";
    const SECTION: &'static str = "halopsa";
    type Fake = Fake;
    type Adapter = Halo;

    fn for_plan(plan: &Plan) -> World {
        World::for_plan(plan)
    }

    fn fake(&self) -> &Fake {
        &self.fake
    }

    fn adapter(&self) -> Halo {
        Halo::with_secret(self.config(), SECRET.into(), None)
    }

    /// One active line per plan line with a quantity, keyed, on the right invoice and item,
    /// with the plan's quantity, price (the catalogue's for lines without), text and end date;
    /// no other active Tally line; and the lines add up to the plan's total to the cent.
    fn assert_holds(&self, plan: &Plan) {
        let state = self.fake.state().clone();
        for customer in &plan.customers {
            let start = customer.period.start;
            let active = self.owned_lines(plan);
            let wanted: Vec<_> = customer.lines.iter().filter(|l| l.quantity != 0).collect();
            let psa = customer.psa.as_ref().unwrap();
            for line in &wanted {
                let found: Vec<_> = active
                    .iter()
                    .filter(|a| a.external_reference == Some(format!("tally:{}", line.id)))
                    .collect();
                assert_eq!(found.len(), 1, "{}: {} active lines", line.id, found.len());
                let l = found[0];
                let invoice = state.invoices.iter().find(|i| i.id == l.ihid).unwrap();
                let agreement = line.agreement.clone().unwrap_or(psa.agreement.clone());
                assert_eq!(invoice.reference, agreement, "{}", line.id);
                assert_eq!(l.item_code, line.product, "{}", line.id);
                let (quantity, price, description) = tally_psa::desired::billed_as(line);
                assert_eq!(l.quantity, quantity, "{}", line.id);
                assert!(
                    l.start.is_some_and(|s| s <= start),
                    "{}: bills from {:?}",
                    line.id,
                    l.start
                );
                if let Some(price) = price {
                    assert_eq!(l.unit_price, price, "{}", line.id);
                    assert_eq!(
                        l.quantity * l.unit_price,
                        line.amount.unwrap(),
                        "{}: to the cent",
                        line.id
                    );
                }
                assert_eq!(l.description, description, "{}", line.id);
                let one_off = tally_psa::desired::one_off(line);
                assert_eq!(
                    l.end,
                    one_off.then_some(customer.period.end),
                    "{}: end date",
                    line.id
                );
            }
            assert_eq!(active.len(), wanted.len(), "no other active Tally line");
            let billed: Decimal = active
                .iter()
                .filter(|a| {
                    wanted.iter().any(|l| {
                        l.amount.is_some()
                            && a.external_reference == Some(format!("tally:{}", l.id))
                    })
                })
                .map(|a| a.quantity * a.unit_price)
                .sum();
            let planned: Decimal = wanted.iter().filter_map(|l| l.amount).sum();
            assert_eq!(billed, planned, "the lines add up to the plan's total");
        }
    }
}
