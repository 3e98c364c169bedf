//! The harness the randomized fault tests share, whatever the PSA: the faults a schedule draws,
//! its retry budget, pushing as new processes would until a run completes, and the figures
//! every schedule adds to, with the checks on them.
//!
//! `TALLY_PSA_FAULT_SCHEDULES=2000 cargo test -p tally-psa --test faults -- --nocapture` (or
//! `faults_autotask`, `faults_halopsa`) runs more schedules and prints the figures.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tally_plan::Plan;
use tally_psa::journal::Journal;
use tally_psa::{Outcome, PsaError, PushReport};
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

/// How many schedules to run: `TALLY_PSA_FAULT_SCHEDULES`, or the test's own default.
pub fn schedule_count(default: u64) -> u64 {
    std::env::var("TALLY_PSA_FAULT_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Tries per request in schedule `seed`: half the schedules get 2, so runs stop part-way and
/// are resumed.
pub fn max_attempts(seed: u64) -> u32 {
    if seed % 4 < 2 { 2 } else { 6 }
}

/// Schedule `seed`'s faults: one request in five at random, of every kind, on writes only in
/// every other schedule. `salt` gives each PSA schedules of its own.
pub fn random_faults(seed: u64, salt: u64) -> Faults {
    let mut random = RandomFaults::new(
        seed.wrapping_mul(0x5851_f42d_4c95_7f2d) ^ salt,
        200,
        KINDS.to_vec(),
    );
    random.writes_only = seed.is_multiple_of(2);
    let mut faults = Faults::none();
    faults.random = Some(random);
    faults
}

/// The plan cut to six lines (a smaller customer keeps each schedule quick; the whole plan runs
/// in other tests), and next month's: every other line two more, the second line gone.
#[allow(dead_code)] // `faults_autotask` cuts its own plan, with a one-off line
pub fn six_lines_and_next_month(mut plan: Plan) -> (Plan, Plan) {
    plan.customers[0].lines.truncate(6);
    let mut next = plan.clone();
    let lines = &mut next.customers[0].lines;
    for line in lines.iter_mut().step_by(2) {
        line.quantity += 2;
        line.amount = line
            .unit_price
            .map(|p| p * rust_decimal::Decimal::from(line.quantity));
    }
    lines.remove(1);
    (plan, next)
}

/// Of the keys of the lines Tally has active (`tally:<line id>`), how many stand more than once,
/// and how many of the plan's lines with a quantity have none.
#[allow(dead_code)] // `faults_autotask` counts by what Autotask bills, unit deltas included
pub fn duplicates_and_losses(
    active_keys: impl IntoIterator<Item = String>,
    plan: &Plan,
) -> (u64, u64) {
    let mut per_key: BTreeMap<String, u64> = BTreeMap::new();
    for key in active_keys {
        *per_key.entry(key).or_default() += 1;
    }
    let duplicates = per_key.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    let lost = plan.customers[0]
        .lines
        .iter()
        .filter(|l| l.quantity != 0 && !per_key.contains_key(&format!("tally:{}", l.id)))
        .count() as u64;
    (duplicates, lost)
}

/// What the schedules did, printed at the end; the duplicate and lost lines must stay 0.
#[derive(Default, Debug)]
struct Counts {
    schedules: u64,
    runs: u64,
    stopped_runs: u64,
    resumed_runs: u64,
    requests: u64,
    faults: u64,
    lost_answers_after_commit: u64,
    confirmed_by_reading_back: u64,
    duplicate_lines: u64,
    lost_lines: u64,
    violations: u64,
}

pub struct Figures {
    counts: Counts,
    started: Instant,
}

impl Figures {
    pub fn start() -> Figures {
        Figures {
            counts: Counts::default(),
            started: Instant::now(),
        }
    }

    /// Runs `push` as a new process would each time (a fresh adapter, the journal in `dir`
    /// reopened and locked) until a run completes with nothing left to write; asserts one does
    /// within `max_runs`.
    pub fn push_until_done(
        &mut self,
        seed: u64,
        phase: usize,
        dir: &Path,
        max_runs: usize,
        mut push: impl FnMut(&mut Journal) -> Result<PushReport, PsaError>,
    ) {
        let mut done = false;
        for _ in 0..max_runs {
            let mut journal = Journal::open(dir).unwrap();
            journal.lock().unwrap();
            self.counts.runs += 1;
            let report =
                push(&mut journal).unwrap_or_else(|e| panic!("seed {seed} phase {phase}: {e}"));
            self.counts.confirmed_by_reading_back += report
                .diff
                .customers
                .iter()
                .flat_map(|c| &c.changes)
                .filter(|c| matches!(c.outcome, Some(Outcome::Confirmed { .. })))
                .count() as u64;
            if report.resumed.is_some() {
                self.counts.resumed_runs += 1;
            }
            if report.stopped.is_none() && report.diff.writes() == 0 {
                done = true;
                break;
            }
            if report.stopped.is_some() {
                self.counts.stopped_runs += 1;
            }
        }
        assert!(done, "seed {seed} phase {phase}: the push never completed");
    }

    /// Adds what went wrong in a phase: lines billed more than once, plan lines not billed.
    pub fn count_lines(&mut self, (duplicates, lost): (u64, u64)) {
        self.counts.duplicate_lines += duplicates;
        self.counts.lost_lines += lost;
    }

    /// Adds a finished schedule's requests, each as whether it was a write and its fault, and
    /// asserts the fake found none its vendor's document rejects.
    pub fn count_schedule(
        &mut self,
        seed: u64,
        requests: impl IntoIterator<Item = (bool, Option<Fault>)>,
        violations: Vec<String>,
    ) {
        for (write, fault) in requests {
            self.counts.requests += 1;
            self.counts.faults += u64::from(fault.is_some());
            // A write carried out whose answer never arrived: what reading back must confirm.
            self.counts.lost_answers_after_commit += u64::from(
                write
                    && matches!(
                        fault,
                        Some(
                            Fault::DropAfterCommit | Fault::StatusAfterCommit(_) | Fault::Truncated
                        )
                    ),
            );
        }
        self.counts.violations += violations.len() as u64;
        assert!(violations.is_empty(), "seed {seed}: {violations:?}");
        self.counts.schedules += 1;
    }

    /// Prints the figures (with `--nocapture`) and asserts every schedule ended with each line
    /// exactly once, and that the schedules lost answers after a write was carried out, the
    /// case that could duplicate a line.
    pub fn finish(self, psa: &str) {
        eprintln!(
            "{psa} fault figures: {:?} in {:.1} s",
            self.counts,
            self.started.elapsed().as_secs_f64()
        );
        assert_eq!(
            (self.counts.duplicate_lines, self.counts.lost_lines),
            (0, 0)
        );
        assert!(
            self.counts.lost_answers_after_commit > 0,
            "the schedules include lost answers"
        );
    }
}
