//! `tally push` at scale: 500 customers × 20 lines against each PSA's local fake — ConnectWise,
//! Autotask and HaloPSA (real HTTP on 127.0.0.1, every request checked against the vendor's
//! API document). For each: a dry run of a first push, the apply that creates every line, and a
//! second apply that finds nothing to do. After divan's table it prints the requests each run
//! made, reads apart from writes (Autotask's writes split into creates and unit adjustments,
//! HaloPSA's token requests apart): reads grow with customers and agreements (list calls, the
//! catalogue once), writes with changes.
//!
//! Run with `cargo bench -p tally-psa --bench push` (`-- autotask` for one PSA); figures are in
//! docs/performance.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks may panic

#[path = "../tests/autotask_support/mod.rs"]
mod autotask_support;
#[path = "../tests/halopsa_support/mod.rs"]
mod halopsa_support;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Mutex;
use support::northwind;
use tally_ir::PsaKind;
use tally_plan::Plan;
use tally_psa::journal::Journal;
use tally_psa::{PsaError, PushReport};

const CUSTOMERS: usize = 500;
const LINES: usize = 20;

/// (benchmark, what its runs asked of the PSA) for every run timed.
static REQUESTS: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());

fn main() {
    divan::main();
    let requests = REQUESTS.lock().unwrap();
    let mut seen = Vec::new();
    for (name, figures) in requests.iter() {
        if !seen.contains(name) {
            seen.push(name);
            println!("{name}: {figures} per run");
        }
    }
}

/// Northwind's first 20 lines, for 500 customers with their own tenant, company and line ids,
/// sent to `kind`.
fn big_plan(kind: PsaKind) -> Plan {
    let mut plan = northwind();
    let template = plan.customers[0].clone();
    let old_prefix = format!("{}/", template.tenant);
    plan.customers = (0..CUSTOMERS)
        .map(|i| {
            let mut customer = template.clone();
            customer.customer = format!("Customer {i:03}");
            customer.tenant = format!("customer{i:03}.onmicrosoft.com");
            if let Some(psa) = customer.psa.as_mut() {
                psa.kind = kind;
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

/// One PSA's world: a fake seeded for the plan (companies or clients, their agreements,
/// contracts or recurring invoices, the catalogue) and the adapter pointed at it.
trait Bench: Sized {
    const KIND: PsaKind;
    fn for_plan(plan: &Plan) -> Self;
    fn push(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
    ) -> Result<PushReport, PsaError>;
    fn clear_log(&self);
    /// The requests the fake saw since its log was last cleared, in words; asserts the fake
    /// found nothing to refuse.
    fn requests(&self) -> String;
}

impl Bench for support::World {
    const KIND: PsaKind = PsaKind::ConnectWise;

    fn for_plan(plan: &Plan) -> Self {
        support::World::for_plan(plan)
    }

    fn push(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
    ) -> Result<PushReport, PsaError> {
        support::World::push(self, plan, journal, apply)
    }

    fn clear_log(&self) {
        self.fake.clear_log();
    }

    fn requests(&self) -> String {
        assert!(self.fake.violations().is_empty());
        let log = self.fake.log();
        let reads = log.iter().filter(|l| l.method == "GET").count();
        format!(
            "{reads} reads (GET), {} writes (POST/PATCH)",
            log.len() - reads
        )
    }
}

impl Bench for autotask_support::World {
    const KIND: PsaKind = PsaKind::Autotask;

    fn for_plan(plan: &Plan) -> Self {
        autotask_support::World::for_plan(plan)
    }

    fn push(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
    ) -> Result<PushReport, PsaError> {
        autotask_support::World::push(self, plan, journal, apply)
    }

    fn clear_log(&self) {
        self.fake.clear_log();
    }

    fn requests(&self) -> String {
        use tally_psa_testserver::autotask::is_write;
        let violations = self.fake.violations();
        assert!(violations.is_empty(), "{violations:?}");
        let log = self.fake.log();
        let reads = log.iter().filter(|l| !is_write(&l.method, &l.path)).count();
        let unit_reads = log
            .iter()
            .filter(|l| l.path.ends_with("/ContractServiceUnits/query"))
            .count();
        let adjustments = log
            .iter()
            .filter(|l| l.path.ends_with("/ContractServiceAdjustments"))
            .count();
        let creates = log
            .iter()
            .filter(|l| l.method == "POST" && is_write(&l.method, &l.path))
            .count()
            - adjustments;
        let updates = log.iter().filter(|l| l.method == "PATCH").count();
        format!(
            "{reads} reads (zone GET, POST …/query; {unit_reads} of them ContractServiceUnits), \
             {} writes ({creates} creates, {adjustments} adjustments, {updates} updates)",
            log.len() - reads
        )
    }
}

impl Bench for halopsa_support::World {
    const KIND: PsaKind = PsaKind::HaloPsa;

    fn for_plan(plan: &Plan) -> Self {
        halopsa_support::World::for_plan(plan)
    }

    fn push(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
    ) -> Result<PushReport, PsaError> {
        halopsa_support::World::push(self, plan, journal, apply)
    }

    fn clear_log(&self) {
        self.fake.clear_log();
    }

    fn requests(&self) -> String {
        use tally_psa_testserver::halopsa::TOKEN_PATH;
        let violations = self.fake.violations();
        assert!(violations.is_empty(), "{violations:?}");
        let log = self.fake.log();
        let tokens = log.iter().filter(|l| l.path == TOKEN_PATH).count();
        let reads = log.iter().filter(|l| l.method == "GET").count();
        format!(
            "{reads} reads (GET), {} writes (POST updatelines), {tokens} token requests",
            log.len() - reads - tokens
        )
    }
}

fn dry_run<W: Bench>(bencher: divan::Bencher, name: &'static str) {
    let plan = big_plan(W::KIND);
    bencher
        .with_inputs(|| W::for_plan(&plan))
        .bench_local_values(|world| {
            let report = world.push(&plan, None, false).unwrap();
            assert_eq!(report.diff.writes(), CUSTOMERS * LINES);
            REQUESTS.lock().unwrap().push((name, world.requests()));
            world
        });
}

fn apply<W: Bench>(bencher: divan::Bencher, name: &'static str) {
    let plan = big_plan(W::KIND);
    bencher
        .with_inputs(|| (W::for_plan(&plan), support::state_dir()))
        .bench_local_values(|(world, dir)| {
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.lock().unwrap();
            let report = world.push(&plan, Some(&mut journal), true).unwrap();
            assert!(report.stopped.is_none(), "{:?}", report.stopped);
            assert_eq!(report.written, CUSTOMERS * LINES);
            REQUESTS.lock().unwrap().push((name, world.requests()));
            (world, dir)
        });
}

fn apply_again<W: Bench>(bencher: divan::Bencher, name: &'static str) {
    let plan = big_plan(W::KIND);
    bencher
        .with_inputs(|| {
            let world = W::for_plan(&plan);
            let dir = support::state_dir();
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.lock().unwrap();
            world.push(&plan, Some(&mut journal), true).unwrap();
            drop(journal);
            world.clear_log();
            (world, dir)
        })
        .bench_local_values(|(world, dir)| {
            let mut journal = Journal::open(dir.path()).unwrap();
            journal.lock().unwrap();
            let report = world.push(&plan, Some(&mut journal), true).unwrap();
            assert_eq!(report.written, 0);
            REQUESTS.lock().unwrap().push((name, world.requests()));
            (world, dir)
        });
}

mod connectwise {
    use super::support::World;

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn dry_run(bencher: divan::Bencher) {
        super::dry_run::<World>(bencher, "dry run (first push)");
    }

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn apply(bencher: divan::Bencher) {
        super::apply::<World>(bencher, "apply (creates every line)");
    }

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn apply_again(bencher: divan::Bencher) {
        super::apply_again::<World>(bencher, "apply again (nothing to do)");
    }
}

mod autotask {
    use super::autotask_support::World;

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn dry_run(bencher: divan::Bencher) {
        super::dry_run::<World>(bencher, "Autotask dry run (first push)");
    }

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn apply(bencher: divan::Bencher) {
        super::apply::<World>(bencher, "Autotask apply (creates every line)");
    }

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn apply_again(bencher: divan::Bencher) {
        super::apply_again::<World>(bencher, "Autotask apply again (nothing to do)");
    }
}

mod halopsa {
    use super::halopsa_support::World;

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn dry_run(bencher: divan::Bencher) {
        super::dry_run::<World>(bencher, "HaloPSA dry run (first push)");
    }

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn apply(bencher: divan::Bencher) {
        super::apply::<World>(bencher, "HaloPSA apply (creates every line)");
    }

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn apply_again(bencher: divan::Bencher) {
        super::apply_again::<World>(bencher, "HaloPSA apply again (nothing to do)");
    }
}
