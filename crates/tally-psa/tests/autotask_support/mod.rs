//! An Autotask fake seeded for a plan, and the adapter pointed at it (shared by `autotask.rs`,
//! `faults_autotask.rs` and the `push` benchmark).

#![allow(dead_code)]

// The `push` benchmark includes all three support modules, each with its own copy of this one.
#[allow(clippy::duplicate_mod)]
#[path = "../common/mod.rs"]
pub mod common;

use common::{PsaWorld, day};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_plan::Plan;
use tally_psa::autotask::Autotask;
use tally_psa::config::{AutotaskConfig, HttpSettings};
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{PsaError, PushReport};
use tally_psa_testserver::Server;
use tally_psa_testserver::autotask::{Credentials, Fake};

pub const USERNAME: &str = "tally-api@northwind-msp.example";
pub const INTEGRATION_CODE: &str = "CODE-SENTINEL-7d1f0e";
pub const SECRET: &str = "SENTINEL-secret-3a9c55";

/// Northwind's plan sent to Autotask, with two one-off lines: a true-up and a prorated stretch
/// whose amount is not a multiple of its quantity (sent as 1 × the amount).
pub fn plan() -> Plan {
    let mut value = common::northwind_json();
    let customer = &mut value["customers"][0];
    customer["psa"]["kind"] = "autotask".into();
    customer["psa"]["company"] = "Northwind Traders".into();
    let lines = customer["lines"].as_array_mut().unwrap();
    let backup = lines
        .iter()
        .find(|l| l["id"].as_str().unwrap().ends_with("/backup"))
        .unwrap()
        .clone();
    let mut trueup = backup.clone();
    trueup["id"] = "northwindtraders.onmicrosoft.com/backup/trueup/2026-09-16".into();
    trueup["description"] = "Backup true-up: 2 users from 16 September".into();
    trueup["quantity"] = 2.into();
    trueup["amount"] = "7.50".into();
    let mut prorated = backup;
    prorated["id"] = "northwindtraders.onmicrosoft.com/backup/2026-10-16..2026-10-31".into();
    prorated["description"] = "Backup 16-31 October".into();
    prorated["quantity"] = 3.into();
    prorated["amount"] = "5.81".into();
    prorated["proration"] = serde_json::json!({
        "from": "2026-10-16", "to": "2026-10-31", "days": 16, "cycle_days": 31,
        "rounding": "truncate_product", "effective_unit_price": "1.93"
    });
    lines.push(trueup);
    lines.push(prorated);
    tally_plan::from_json(&value.to_string()).unwrap()
}

/// An Autotask fake that accepts the credentials below; its today is 2026-10-01.
pub fn fake() -> Arc<Fake> {
    Arc::new(
        Fake::new(
            Credentials {
                username: USERNAME.into(),
                integration_code: INTEGRATION_CODE.into(),
                secret: SECRET.into(),
            },
            day(2026, 10, 1),
        )
        .unwrap(),
    )
}

/// The configuration of an adapter that finds its zone through `server`.
pub fn config(server: &Server, http: HttpSettings) -> AutotaskConfig {
    AutotaskConfig {
        base_url: None,
        zone_url: Fake::zone_url(server),
        username: USERNAME.into(),
        integration_code_env: "TALLY_AUTOTASK_INTEGRATION_CODE".into(),
        secret_env: "TALLY_AUTOTASK_SECRET".into(),
        products: BTreeMap::new(),
        http,
    }
}

/// An adapter with the credentials the fake accepts.
pub fn adapter(config: AutotaskConfig) -> Autotask {
    Autotask::with_keys(config, INTEGRATION_CODE.into(), SECRET.into(), None)
}

pub struct World {
    pub fake: Arc<Fake>,
    pub server: Server,
    pub max_attempts: u32,
    pub base_url: Option<String>,
}

impl World {
    /// A fake with the plan's companies, their contracts and every product as a service
    /// (catalogue-priced lines at 2.00).
    pub fn for_plan(plan: &Plan) -> World {
        let fake = fake();
        for customer in &plan.customers {
            let company = fake.add_company(&customer.psa.as_ref().unwrap().company);
            for contract in common::agreements(customer) {
                fake.add_contract(company, &contract, day(2026, 1, 1));
            }
        }
        let lines = plan.customers.iter().flat_map(|c| &c.lines);
        for (product, price) in common::catalogue(lines) {
            fake.add_service(&product, price);
        }
        let server = fake.serve().unwrap();
        World {
            fake,
            server,
            max_attempts: common::MAX_ATTEMPTS,
            base_url: None,
        }
    }

    pub fn config(&self) -> AutotaskConfig {
        AutotaskConfig {
            base_url: self.base_url.clone(),
            ..config(&self.server, common::http_settings(self.max_attempts, 8))
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

    /// Each contract service's adjustments, by id.
    pub fn adjustments(&self) -> BTreeMap<i64, Vec<i64>> {
        let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for a in &self.fake.state().adjustments {
            out.entry(a.contract_service_id)
                .or_default()
                .push(a.unit_change);
        }
        out
    }
}

impl PsaWorld for World {
    const NAME: &'static str = "Autotask";
    const SECTION: &'static str = "autotask";
    type Fake = Fake;
    type Adapter = Autotask;

    fn for_plan(plan: &Plan) -> World {
        World::for_plan(plan)
    }

    fn fake(&self) -> &Fake {
        &self.fake
    }

    fn adapter(&self) -> Autotask {
        adapter(self.config())
    }

    /// Per line one contract service (recurring) or charge (one-off) carrying its key, with the
    /// quantity, unit price and text `billed_as` gives; no other Tally line; and per customer
    /// the lines add up to the plan's total to the cent.
    fn assert_holds(&self, plan: &Plan) {
        for customer in &plan.customers {
            let (start, end) = (customer.period.start, customer.period.end);
            let company = &customer.psa.as_ref().unwrap().company;
            let billed: Vec<_> = self
                .fake
                .billed(start, end)
                .into_iter()
                .filter(|b| &b.company == company)
                .collect();
            let ours: Vec<_> = billed
                .iter()
                .filter(|b| {
                    b.key
                        .as_deref()
                        .is_some_and(|k| k.starts_with(&format!("{}/", customer.tenant)))
                })
                .collect();
            let wanted: Vec<_> = customer.lines.iter().filter(|l| l.quantity != 0).collect();
            for line in &wanted {
                let found: Vec<_> = ours
                    .iter()
                    .filter(|b| b.key.as_deref() == Some(line.id.as_str()))
                    .collect();
                assert_eq!(found.len(), 1, "{}: {} billed lines", line.id, found.len());
                let b = found[0];
                let (quantity, price, text) = tally_psa::desired::billed_as(line);
                let kind = if tally_psa::desired::one_off(line) {
                    "charge"
                } else {
                    "service"
                };
                assert_eq!(b.kind, kind, "{}", line.id);
                assert_eq!(b.quantity, quantity, "{}", line.id);
                if let Some(price) = price {
                    assert_eq!(b.unit_price, price, "{}", line.id);
                }
                if let Some(amount) = line.amount {
                    assert_eq!(b.amount(), amount, "{}: to the cent", line.id);
                }
                assert_eq!(b.text, text, "{}", line.id);
                assert_eq!(b.product, line.product, "{}", line.id);
                let contract = line.agreement.clone().unwrap_or_default();
                assert_eq!(b.contract, contract, "{}", line.id);
            }
            assert_eq!(ours.len(), wanted.len(), "no other Tally line bills");
            let planned: Decimal = customer.lines.iter().filter_map(|l| l.amount).sum();
            let priced: Decimal = ours
                .iter()
                .filter(|b| {
                    customer
                        .lines
                        .iter()
                        .any(|l| l.amount.is_some() && b.key.as_deref() == Some(l.id.as_str()))
                })
                .map(|b| b.amount())
                .sum();
            assert_eq!(
                priced, planned,
                "{}: the PSA bills the plan's total",
                customer.customer
            );
        }
    }
}
