#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! Randomized faults against the Autotask fake: many schedules of 429s, 5xx, slow answers,
//! dropped connections before and after a write was carried out, cut and HTML answers; each run
//! is followed by resumes until the push completes. Every schedule must end with the PSA billing
//! exactly the plan: no duplicate line, no lost line, no unit delta posted twice, no request the
//! Swagger document rejects, and a last apply that writes nothing.
//!
//! `TALLY_PSA_FAULT_SCHEDULES=2000 cargo test -p tally-psa --test faults_autotask -- --nocapture`
//! runs more schedules (default 80) and prints the figures.

mod autotask_support;
mod fault_schedules;

use autotask_support::common::{self, day, state_dir};
use chrono::NaiveDate;
use fault_schedules::{Figures, max_attempts, random_faults};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_plan::Plan;
use tally_psa::autotask::Autotask;
use tally_psa::config::HttpSettings;
use tally_psa_testserver::Server;
use tally_psa_testserver::autotask::{Fake, is_write};

/// Six of Northwind's lines sent to Autotask, and a one-off true-up.
fn plan() -> Plan {
    let mut value = common::northwind_json();
    let customer = &mut value["customers"][0];
    customer["psa"]["kind"] = "autotask".into();
    customer["psa"]["company"] = "Northwind Traders".into();
    let lines = customer["lines"].as_array_mut().unwrap();
    lines.truncate(6);
    let mut trueup = lines[0].clone();
    trueup["id"] = format!("{}/trueup/2026-09-16", trueup["id"].as_str().unwrap()).into();
    trueup["quantity"] = (-2).into();
    let price: Decimal = trueup["unit_price"].as_str().unwrap().parse().unwrap();
    trueup["amount"] = (price * Decimal::from(-2)).to_string().into();
    lines.push(trueup);
    tally_plan::from_json(&value.to_string()).unwrap()
}

/// Next month: every other line +2, one line gone, the one-off is history.
fn next(plan: &Plan) -> Plan {
    let mut next = plan.clone();
    common::next_month(&mut next);
    let customer = &mut next.customers[0];
    for line in customer.lines.iter_mut().step_by(2) {
        line.quantity += 2;
        line.amount = line.unit_price.map(|p| p * Decimal::from(line.quantity));
    }
    customer.lines.remove(1);
    next
}

struct World {
    fake: Arc<Fake>,
    server: Server,
}

impl World {
    fn new(plan: &Plan) -> World {
        let fake = autotask_support::fake();
        let company = fake.add_company("Northwind Traders");
        fake.add_contract(company, "Microsoft Licensing", day(2026, 1, 1));
        fake.add_contract(company, "Managed Services", day(2026, 1, 1));
        for (product, price) in common::catalogue(&plan.customers[0].lines) {
            fake.add_service(&product, price);
        }
        // Small pages (a third of the schedules keep them): paging runs under faults too.
        fake.set_page_size(4);
        let server = fake.serve().unwrap();
        World { fake, server }
    }

    fn adapter(&self, max_attempts: u32) -> Autotask {
        let http = HttpSettings {
            max_delay_ms: 2,
            concurrency: 3,
            jitter_seed: Some(5),
            ..common::http_settings(max_attempts, 3)
        };
        autotask_support::adapter(autotask_support::config(&self.server, http))
    }

    /// The customer is billed exactly the plan (one line per plan line, to the cent). Counts
    /// what went wrong, as (duplicates, lost lines): a plan line billed twice, a second contract
    /// service of one key, or a contract service given more than one delta on one day (a delta
    /// posted twice, even if later corrected); a plan line not billed at all.
    fn check(&self, plan: &Plan, seed: u64) -> (u64, u64) {
        let customer = &plan.customers[0];
        let billed = self.fake.billed(customer.period.start, customer.period.end);
        let wanted: Vec<_> = customer.lines.iter().filter(|l| l.quantity != 0).collect();
        let (mut duplicates, mut lost) = (0, 0);
        for line in &wanted {
            let found: Vec<_> = billed
                .iter()
                .filter(|b| b.key.as_deref() == Some(line.id.as_str()))
                .collect();
            match found.len() {
                0 => {
                    eprintln!("seed {seed}: {} is not billed", line.id);
                    lost += 1;
                    continue;
                }
                1 => {}
                n => {
                    eprintln!("seed {seed}: {} is billed {n} times: {found:?}", line.id);
                    duplicates += n as u64 - 1;
                }
            }
            let (quantity, price, _) = tally_psa::desired::billed_as(line);
            assert_eq!(found[0].quantity, quantity, "seed {seed}: {}", line.id);
            assert!(found[0].unit_changes.is_empty(), "seed {seed}: {}", line.id);
            if let (Some(price), Some(amount)) = (price, line.amount) {
                assert_eq!(found[0].unit_price, price, "seed {seed}: {}", line.id);
                assert_eq!(found[0].amount(), amount, "seed {seed}: {}", line.id);
            }
        }
        let strays = billed
            .iter()
            .filter(|b| {
                !wanted
                    .iter()
                    .any(|l| b.key.as_deref() == Some(l.id.as_str()))
            })
            .count();
        if strays > 0 {
            eprintln!("seed {seed}: {strays} other lines bill");
            duplicates += strays as u64;
        }
        let state = self.fake.state();
        let mut services: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &state.contract_services {
            *services.entry(c.internal_description.as_str()).or_default() += 1;
        }
        for (key, n) in services.into_iter().filter(|(_, n)| *n > 1) {
            eprintln!("seed {seed}: {n} contract services carry `{key}`");
            duplicates += n - 1;
        }
        // Every service's adjustment history: one delta per day at most.
        let mut deltas: BTreeMap<(i64, NaiveDate), Vec<i64>> = BTreeMap::new();
        for a in &state.adjustments {
            deltas
                .entry((a.contract_service_id, a.effective))
                .or_default()
                .push(a.unit_change);
        }
        for ((service, effective), changes) in deltas.into_iter().filter(|(_, c)| c.len() > 1) {
            eprintln!("seed {seed}: contract service {service} got {changes:?} from {effective}");
            duplicates += changes.len() as u64 - 1;
        }
        (duplicates, lost)
    }
}

#[test]
fn every_fault_schedule_ends_with_the_plan_exactly_once() {
    let october = plan();
    let november = next(&october);
    let mut figures = Figures::start();
    for seed in 0..fault_schedules::schedule_count(80) {
        let world = World::new(&october);
        let max_attempts = max_attempts(seed);
        world.fake.set_faults(random_faults(seed, 29));
        let dir = state_dir();
        if seed % 3 != 0 {
            world.fake.set_page_size(500);
        }
        for (phase, wanted) in [&october, &november].into_iter().enumerate() {
            world.fake.set_today(wanted.period.start);
            figures.push_until_done(seed, phase, dir.path(), 40, |journal| {
                let adapter = world.adapter(max_attempts);
                common::push_through(
                    "autotask",
                    &adapter,
                    wanted,
                    Some(journal),
                    true,
                    Default::default(),
                )
            });
            figures.count_lines(world.check(wanted, seed));
        }
        let log = world.fake.log();
        let requests = log.iter().map(|l| (is_write(&l.method, &l.path), l.fault));
        figures.count_schedule(seed, requests, world.fake.violations());
    }
    figures.finish("Autotask");
}
