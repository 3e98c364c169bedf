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

mod fault_schedules;
mod halopsa_support;

use fault_schedules::{Figures, duplicates_and_losses, max_attempts, random_faults};
use halopsa_support::common::{PsaWorld, state_dir};
use halopsa_support::{World, northwind};
use tally_psa::journal::Journal;
use tally_psa_testserver::Faults;

#[test]
fn every_fault_schedule_ends_with_the_plan_exactly_once() {
    let (plan, next) = fault_schedules::six_lines_and_next_month(northwind());
    let mut figures = Figures::start();
    let (mut token_expiries, mut tokens_issued) = (0, 0);
    for seed in 0..fault_schedules::schedule_count(120) {
        let mut world = World::for_plan(&plan);
        world.max_attempts = max_attempts(seed);
        world.fake.set_faults(random_faults(seed, 23));
        // Two schedules in three also expire the token at random: 30 % of API requests once
        // a token has served 7 (more than one request and all its retries: an hour-long token
        // does not expire twice within one request).
        if seed % 3 != 0 {
            world.fake.set_random_expiry(seed ^ 0xe4, 300, 7);
        }
        let dir = state_dir();
        for (phase, wanted) in [&plan, &next].into_iter().enumerate() {
            // Each run a new process: a fresh adapter, so no token yet.
            figures.push_until_done(seed, phase, dir.path(), 30, |journal| {
                world.push(wanted, Some(journal), true)
            });
            let keys = world.owned_lines(wanted).into_iter();
            let keys = keys.map(|l| l.external_reference.unwrap_or_default());
            figures.count_lines(duplicates_and_losses(keys, wanted));
            world.assert_holds(wanted);
        }
        let log = world.fake.log();
        token_expiries += world.fake.random_expiries();
        tokens_issued += world.fake.issued_tokens().len();
        let requests = log
            .iter()
            .map(|l| (l.path == "/api/RecurringInvoice/updatelines", l.fault));
        figures.count_schedule(seed, requests, world.fake.violations());
        // The last apply writes nothing.
        world.fake.set_faults(Faults::none());
        world.fake.clear_log();
        let mut journal = Journal::open(dir.path()).unwrap();
        let last = world.push(&next, Some(&mut journal), true).unwrap();
        assert_eq!(last.diff.writes(), 0, "seed {seed}");
        assert_eq!(world.fake.writes(), 0, "seed {seed}");
    }
    figures.finish("HaloPSA");
    eprintln!("HaloPSA tokens: {token_expiries} expired at random, {tokens_issued} issued");
    assert!(token_expiries > 0, "the schedules include expired tokens");
}
