//! `tally push` at scale: 500 customers × 20 lines against the local ConnectWise fake (real
//! HTTP on 127.0.0.1, every request checked against the OpenAPI document). A dry run of a
//! first push, the apply that creates every line, and a second apply that finds nothing to do.
//! After divan's table it prints the requests each run made: reads grow with customers and
//! agreements (one list call per agreement, the catalogue once), writes with changes.
//!
//! Run with `cargo bench -p tally-psa --bench push`; figures are in docs/performance.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks may panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Mutex;
use support::{World, northwind, state_dir};
use tally_plan::Plan;
use tally_psa::journal::Journal;

const CUSTOMERS: usize = 500;
const LINES: usize = 20;

/// (benchmark, reads, writes) for every run timed.
static REQUESTS: Mutex<Vec<(&'static str, usize, usize)>> = Mutex::new(Vec::new());

fn main() {
    divan::main();
    let requests = REQUESTS.lock().unwrap();
    let mut seen = Vec::new();
    for (name, reads, writes) in requests.iter() {
        if !seen.contains(name) {
            seen.push(name);
            println!("{name}: {reads} reads (GET), {writes} writes (POST/PATCH) per run");
        }
    }
}

/// Northwind's first 20 lines, for 500 customers with their own tenant, company and line ids.
fn big_plan() -> Plan {
    let mut plan = northwind();
    let template = plan.customers[0].clone();
    let old_prefix = format!("{}/", template.tenant);
    plan.customers = (0..CUSTOMERS)
        .map(|i| {
            let mut customer = template.clone();
            customer.customer = format!("Customer {i:03}");
            customer.tenant = format!("customer{i:03}.onmicrosoft.com");
            if let Some(psa) = customer.psa.as_mut() {
                psa.company = format!("CUST{i:03}");
            }
            customer.lines.truncate(LINES);
            for line in &mut customer.lines {
                line.id = line
                    .id
                    .replacen(&old_prefix, &format!("{}/", customer.tenant), 1);
            }
            customer
        })
        .collect();
    assert!(plan.customers.iter().all(|c| c.lines.len() == LINES));
    plan
}

fn record(name: &'static str, world: &World) {
    let log = world.fake.log();
    let reads = log.iter().filter(|l| l.method == "GET").count();
    REQUESTS
        .lock()
        .unwrap()
        .push((name, reads, log.len() - reads));
    assert!(world.fake.violations().is_empty());
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn dry_run(bencher: divan::Bencher) {
    let plan = big_plan();
    bencher
        .with_inputs(|| World::for_plan(&plan))
        .bench_local_values(|world| {
            let report = world.push(&plan, None, false).unwrap();
            assert_eq!(report.diff.writes(), CUSTOMERS * LINES);
            record("dry run (first push)", &world);
            world
        });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn apply(bencher: divan::Bencher) {
    let plan = big_plan();
    bencher
        .with_inputs(|| (World::for_plan(&plan), state_dir()))
        .bench_local_values(|(world, dir)| {
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.lock().unwrap();
            let report = world.push(&plan, Some(&mut journal), true).unwrap();
            assert!(report.stopped.is_none());
            assert_eq!(report.written, CUSTOMERS * LINES);
            record("apply (creates every line)", &world);
            (world, dir)
        });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn apply_again(bencher: divan::Bencher) {
    let plan = big_plan();
    bencher
        .with_inputs(|| {
            let world = World::for_plan(&plan);
            let dir = state_dir();
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.lock().unwrap();
            world.push(&plan, Some(&mut journal), true).unwrap();
            drop(journal);
            world.fake.clear_log();
            (world, dir)
        })
        .bench_local_values(|(world, dir)| {
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.lock().unwrap();
            let report = world.push(&plan, Some(&mut journal), true).unwrap();
            assert_eq!(report.written, 0);
            record("apply again (nothing to do)", &world);
            (world, dir)
        });
}
