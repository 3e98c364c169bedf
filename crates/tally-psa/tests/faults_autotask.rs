#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! Randomized faults against the Autotask fake: many schedules of 429s, 5xx, slow answers,
//! dropped connections before and after a write was carried out, cut and HTML answers; each run
//! is followed by resumes until the push completes. Every schedule must end with the PSA billing
//! exactly the plan: no duplicate line, no lost line, no unit delta posted twice, no request the
//! Swagger document rejects, and a last apply that writes nothing.
//!
//! `TALLY_PSA_FAULT_SCHEDULES=2000 cargo test -p tally-psa --test faults_autotask -- --nocapture`
//! runs more schedules (default 80) and prints the figures.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_plan::Plan;
use tally_psa::autotask::Autotask;
use tally_psa::config::{AutotaskConfig, HttpSettings};
use tally_psa::journal::Journal;
use tally_psa::{Psa, PushOptions};
use tally_psa_testserver::autotask::{Credentials, Fake, is_write};
use tally_psa_testserver::{Fault, Faults, RandomFaults, Server};

const USERNAME: &str = "tally-api@northwind-msp.example";
const CODE: &str = "CODE-SENTINEL-7d1f0e";
const SECRET: &str = "SENTINEL-secret-3a9c55";

const KINDS: [Fault; 9] = [
    Fault::RateLimit { retry_after: 0 },
    Fault::Status(500),
    Fault::Status(503),
    Fault::StatusAfterCommit(500),
    Fault::Slow { millis: 2 },
    Fault::DropBeforeCommit,
    Fault::DropAfterCommit,
    Fault::Truncated,
    Fault::Html,
];

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Six of Northwind's lines sent to Autotask, and a one-off true-up.
fn plan() -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/northwind/expected-plan.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
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
    let (start, end) = (day(2026, 11, 1), day(2026, 11, 30));
    next.period.start = start;
    next.period.end = end;
    let customer = &mut next.customers[0];
    customer.period.start = start;
    customer.period.end = end;
    customer.lines.retain(|l| !tally_psa::desired::one_off(l));
    for line in customer.lines.iter_mut().step_by(2) {
        line.quantity += 2;
        line.amount = line.unit_price.map(|p| p * Decimal::from(line.quantity));
    }
    customer.lines.remove(1);
    next
}

/// A journal directory in memory where the machine has one: the journal syncs every record.
fn state_dir() -> tempfile::TempDir {
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

struct World {
    fake: Arc<Fake>,
    server: Server,
}

impl World {
    fn new(plan: &Plan) -> World {
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    username: USERNAME.into(),
                    integration_code: CODE.into(),
                    secret: SECRET.into(),
                },
                day(2026, 10, 1),
            )
            .unwrap(),
        );
        let customer = &plan.customers[0];
        let company = fake.add_company("Northwind Traders");
        fake.add_contract(company, "Microsoft Licensing", day(2026, 1, 1));
        fake.add_contract(company, "Managed Services", day(2026, 1, 1));
        let mut seen = std::collections::BTreeSet::new();
        for line in &customer.lines {
            if seen.insert(line.product.clone()) {
                fake.add_service(&line.product, line.unit_price.unwrap_or(Decimal::TWO));
            }
        }
        // Small pages (a third of the schedules keep them): paging runs under faults too.
        fake.set_page_size(4);
        let server = fake.serve().unwrap();
        World { fake, server }
    }

    fn adapter(&self, max_attempts: u32) -> Autotask {
        let config = AutotaskConfig {
            base_url: None,
            zone_url: Fake::zone_url(&self.server),
            username: USERNAME.into(),
            integration_code_env: "TALLY_AUTOTASK_INTEGRATION_CODE".into(),
            secret_env: "TALLY_AUTOTASK_SECRET".into(),
            products: BTreeMap::new(),
            http: HttpSettings {
                max_attempts,
                base_delay_ms: 1,
                max_delay_ms: 2,
                max_retry_after_s: 2,
                timeout_s: 5,
                connect_timeout_s: 2,
                concurrency: 3,
                jitter_seed: Some(5),
            },
        };
        Autotask::with_keys(config, CODE.into(), SECRET.into(), None)
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

#[derive(Default, Debug)]
struct Figures {
    schedules: u64,
    runs: u64,
    stopped_runs: u64,
    resumed_runs: u64,
    requests: u64,
    faults: u64,
    lost_answers_after_commit: u64,
    confirmed_by_reading_back: u64,
    duplicates: u64,
    lost_lines: u64,
    violations: u64,
}

#[test]
fn every_fault_schedule_ends_with_the_plan_exactly_once() {
    let schedules: u64 = std::env::var("TALLY_PSA_FAULT_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(80);
    let october = plan();
    let november = next(&october);
    let started = std::time::Instant::now();
    let mut figures = Figures::default();
    for seed in 0..schedules {
        let world = World::new(&october);
        // Half the schedules get a budget of 2 tries, so runs stop part-way and are resumed.
        let max_attempts = if seed % 4 < 2 { 2 } else { 6 };
        let mut random = RandomFaults::new(
            seed.wrapping_mul(0x5851_f42d_4c95_7f2d) ^ 29,
            200,
            KINDS.to_vec(),
        );
        random.writes_only = seed % 2 == 0;
        let mut faults = Faults::none();
        faults.random = Some(random);
        world.fake.set_faults(faults);
        let dir = state_dir();
        if seed % 3 != 0 {
            world.fake.set_page_size(500);
        }
        for (phase, wanted) in [&october, &november].into_iter().enumerate() {
            world.fake.set_today(wanted.period.start);
            let mut done = false;
            for _ in 0..40 {
                // A new process each time: a fresh adapter, the journal reopened.
                let mut journal = Journal::open(dir.path()).unwrap();
                journal.lock().unwrap();
                let adapter = world.adapter(max_attempts);
                let mut adapters: BTreeMap<&'static str, &dyn Psa> = BTreeMap::new();
                adapters.insert("autotask", &adapter);
                figures.runs += 1;
                let report = tally_psa::push(
                    wanted,
                    "sha",
                    &adapters,
                    &BTreeMap::new(),
                    Some(&mut journal),
                    PushOptions {
                        apply: true,
                        diff: Default::default(),
                    },
                )
                .unwrap_or_else(|e| panic!("seed {seed} phase {phase}: {e}"));
                figures.confirmed_by_reading_back += report
                    .diff
                    .customers
                    .iter()
                    .flat_map(|c| &c.changes)
                    .filter(|c| matches!(c.outcome, Some(tally_psa::Outcome::Confirmed { .. })))
                    .count() as u64;
                if report.resumed.is_some() {
                    figures.resumed_runs += 1;
                }
                if report.stopped.is_none() && report.diff.writes() == 0 {
                    done = true;
                    break;
                }
                if report.stopped.is_some() {
                    figures.stopped_runs += 1;
                }
            }
            assert!(done, "seed {seed} phase {phase}: the push never completed");
            let (duplicates, lost) = world.check(wanted, seed);
            figures.duplicates += duplicates;
            figures.lost_lines += lost;
        }
        let log = world.fake.log();
        figures.requests += log.len() as u64;
        figures.faults += log.iter().filter(|l| l.fault.is_some()).count() as u64;
        figures.lost_answers_after_commit += log
            .iter()
            .filter(|l| {
                is_write(&l.method, &l.path)
                    && matches!(
                        l.fault,
                        Some(
                            Fault::DropAfterCommit | Fault::StatusAfterCommit(_) | Fault::Truncated
                        )
                    )
            })
            .count() as u64;
        let violations = world.fake.violations();
        figures.violations += violations.len() as u64;
        assert!(violations.is_empty(), "seed {seed}: {violations:?}");
        figures.schedules += 1;
    }
    eprintln!(
        "autotask fault figures: {figures:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!((figures.duplicates, figures.lost_lines), (0, 0));
    assert!(
        figures.lost_answers_after_commit > 0,
        "the schedules include lost answers"
    );
}
