//! An Autotask fake seeded for a plan, and the adapter pointed at it (shared by `autotask.rs`
//! and the `push` benchmark).

#![allow(dead_code)]

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_plan::Plan;
use tally_psa::autotask::Autotask;
use tally_psa::config::{AutotaskConfig, HttpSettings};
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{Psa, PsaError, PushOptions, PushReport};
use tally_psa_testserver::Server;
use tally_psa_testserver::autotask::{Credentials, Fake};

pub const USERNAME: &str = "tally-api@northwind-msp.example";
pub const INTEGRATION_CODE: &str = "CODE-SENTINEL-7d1f0e";
pub const SECRET: &str = "SENTINEL-secret-3a9c55";

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn state_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("tally-psa-at-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// Northwind's plan sent to Autotask, with two one-off lines: a true-up and a prorated stretch
/// whose amount is not a multiple of its quantity (sent as 1 × the amount).
pub fn plan() -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/northwind/expected-plan.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
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

pub fn next_month(plan: &mut Plan) {
    let (start, end) = (day(2026, 11, 1), day(2026, 11, 30));
    plan.period.start = start;
    plan.period.end = end;
    for customer in &mut plan.customers {
        customer.period.start = start;
        customer.period.end = end;
        customer.lines.retain(|l| !tally_psa::desired::one_off(l));
        for line in &mut customer.lines {
            line.period.start = start;
            line.period.end = end;
        }
    }
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
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    username: USERNAME.into(),
                    integration_code: INTEGRATION_CODE.into(),
                    secret: SECRET.into(),
                },
                day(2026, 10, 1),
            )
            .unwrap(),
        );
        let mut seen = std::collections::BTreeSet::new();
        for customer in &plan.customers {
            let psa = customer.psa.as_ref().unwrap();
            let company = fake.add_company(&psa.company);
            let mut contracts: Vec<String> = customer
                .lines
                .iter()
                .map(|l| l.agreement.clone().unwrap_or_else(|| psa.agreement.clone()))
                .collect();
            contracts.sort();
            contracts.dedup();
            for contract in contracts {
                fake.add_contract(company, &contract, day(2026, 1, 1));
            }
            for line in &customer.lines {
                if seen.insert(line.product.clone()) {
                    fake.add_service(
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
            base_url: None,
        }
    }

    pub fn config(&self) -> AutotaskConfig {
        AutotaskConfig {
            base_url: self.base_url.clone(),
            zone_url: Fake::zone_url(&self.server),
            username: USERNAME.into(),
            integration_code_env: "TALLY_AUTOTASK_INTEGRATION_CODE".into(),
            secret_env: "TALLY_AUTOTASK_SECRET".into(),
            products: BTreeMap::new(),
            http: HttpSettings {
                max_attempts: self.max_attempts,
                base_delay_ms: 1,
                max_delay_ms: 4,
                max_retry_after_s: 2,
                timeout_s: 5,
                connect_timeout_s: 2,
                concurrency: 8,
                jitter_seed: Some(7),
            },
        }
    }

    pub fn adapter(&self) -> Autotask {
        Autotask::with_keys(self.config(), INTEGRATION_CODE.into(), SECRET.into(), None)
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
        adapters.insert("autotask", &adapter);
        tally_psa::push(
            plan,
            "sha",
            &adapters,
            &BTreeMap::new(),
            journal,
            PushOptions { apply, diff },
        )
    }

    /// The PSA bills exactly the plan: per line one contract service (recurring) or charge
    /// (one-off) carrying its key, with the quantity, unit price and text `billed_as` gives; no
    /// other Tally line; and per customer the lines add up to the plan's total to the cent.
    pub fn assert_holds(&self, plan: &Plan) {
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
