#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! Randomized faults against the HaloPSA fake: many schedules of 429s, 5xx, slow answers,
//! dropped connections before and after a write was carried out, truncated answers, HTML
//! pages, and tokens that expire mid-run; each run is followed by resumes until the push
//! completes. Every schedule must end with the PSA holding exactly the plan: no duplicate line,
//! no lost line, no request the vendor's document rejects, and a last apply that writes
//! nothing.
//!
//! `TALLY_PSA_FAULT_SCHEDULES=2000 cargo test -p tally-psa --test faults_halopsa -- --nocapture`
//! runs more schedules (default 120) and prints the figures.

mod halopsa_support;

use halopsa_support::{World, northwind, state_dir};
use std::collections::BTreeMap;
use tally_psa::journal::Journal;
use tally_psa_testserver::{Fault, Faults, RandomFaults};

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

#[derive(Default, Debug)]
struct Figures {
    schedules: u64,
    runs: u64,
    stopped_runs: u64,
    resumed_runs: u64,
    requests: u64,
    faults: u64,
    token_expiries: u64,
    tokens_issued: u64,
    lost_answers_after_commit: u64,
    confirmed_by_reading_back: u64,
    duplicate_lines: u64,
    lost_lines: u64,
    violations: u64,
}

/// Active lines per key, and plan lines with no active line.
fn duplicates_and_losses(world: &World, plan: &tally_plan::Plan) -> (u64, u64) {
    let mut per_key: BTreeMap<String, u64> = BTreeMap::new();
    for line in world.owned_lines(plan) {
        *per_key
            .entry(line.external_reference.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let duplicates = per_key.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    let lost = plan.customers[0]
        .lines
        .iter()
        .filter(|l| l.quantity != 0 && !per_key.contains_key(&format!("tally:{}", l.id)))
        .count() as u64;
    (duplicates, lost)
}

#[test]
fn every_fault_schedule_ends_with_the_plan_exactly_once() {
    let schedules: u64 = std::env::var("TALLY_PSA_FAULT_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(120);
    let mut plan = northwind();
    // A smaller customer keeps each schedule quick; the whole plan runs in other tests.
    plan.customers[0].lines.truncate(6);
    let mut next = plan.clone();
    {
        let lines = &mut next.customers[0].lines;
        for line in lines.iter_mut().step_by(2) {
            line.quantity += 2;
            line.amount = line
                .unit_price
                .map(|p| p * rust_decimal::Decimal::from(line.quantity));
        }
        lines.remove(1);
    }
    let started = std::time::Instant::now();
    let mut figures = Figures::default();
    for seed in 0..schedules {
        let mut world = World::for_plan(&plan);
        // Half the schedules get a small budget, so runs stop part-way and are resumed.
        world.max_attempts = if seed % 4 < 2 { 2 } else { 6 };
        let mut random = RandomFaults::new(
            seed.wrapping_mul(0x5851_f42d_4c95_7f2d) ^ 23,
            200,
            KINDS.to_vec(),
        );
        random.writes_only = seed % 2 == 0;
        let mut faults = Faults::none();
        faults.random = Some(random);
        world.fake.set_faults(faults);
        // Two schedules in three also expire the token at random: 30 % of API requests once
        // a token has served 7 (more than one request and all its retries: an hour-long token
        // does not expire twice within one request).
        if seed % 3 != 0 {
            world.fake.set_random_expiry(seed ^ 0xe4, 300, 7);
        }
        let dir = state_dir();
        for (phase, wanted) in [&plan, &next].into_iter().enumerate() {
            let mut done = false;
            for _ in 0..30 {
                // A new process each time: a fresh adapter (no token), the journal reopened.
                let mut journal = Journal::open(dir.path()).unwrap();
                journal.lock().unwrap();
                figures.runs += 1;
                let report = world
                    .push(wanted, Some(&mut journal), true)
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
            let (duplicates, lost) = duplicates_and_losses(&world, wanted);
            figures.duplicate_lines += duplicates;
            figures.lost_lines += lost;
            world.assert_holds(wanted);
        }
        let log = world.fake.log();
        figures.requests += log.len() as u64;
        figures.faults += log.iter().filter(|l| l.fault.is_some()).count() as u64;
        figures.token_expiries += world.fake.random_expiries();
        figures.tokens_issued += world.fake.issued_tokens().len() as u64;
        figures.lost_answers_after_commit += log
            .iter()
            .filter(|l| {
                l.path == "/api/RecurringInvoice/updatelines"
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
        // The last apply writes nothing.
        world.fake.set_faults(Faults::none());
        world.fake.clear_log();
        let mut journal = Journal::open(dir.path()).unwrap();
        let last = world.push(&next, Some(&mut journal), true).unwrap();
        assert_eq!(last.diff.writes(), 0, "seed {seed}");
        assert_eq!(world.fake.writes(), 0, "seed {seed}");
        figures.schedules += 1;
    }
    eprintln!(
        "HaloPSA fault figures: {figures:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!((figures.duplicate_lines, figures.lost_lines), (0, 0));
    assert!(
        figures.lost_answers_after_commit > 0 && figures.token_expiries > 0,
        "the schedules include lost answers and expired tokens"
    );
}
