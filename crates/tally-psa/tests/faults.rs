#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! Randomized faults: many schedules of 429s, 5xx, slow answers, dropped connections before and
//! after a write was carried out, truncated answers; each run is followed by resumes until the
//! push completes. Every schedule must end with the PSA holding exactly the plan: no duplicate
//! line, no lost line, no request the vendor's document rejects, and a last apply that writes
//! nothing.
//!
//! `TALLY_PSA_FAULT_SCHEDULES=2000 cargo test -p tally-psa --test faults -- --nocapture` runs
//! more schedules (default 200) and prints the figures.

mod fault_schedules;
mod support;

use fault_schedules::{Figures, duplicates_and_losses, max_attempts, random_faults};
use support::common::PsaWorld;
use support::{World, northwind, state_dir};
use tally_plan::Plan;

/// The keys of the additions Tally has active in the plan's period.
fn active_keys(world: &World, plan: &Plan) -> Vec<String> {
    let start = plan.customers[0].period.start;
    world
        .fake
        .state()
        .additions
        .iter()
        .filter(|a| a.description.starts_with("tally:") && a.cancelled.is_none_or(|c| c >= start))
        .map(|a| a.description.clone())
        .collect()
}

#[test]
fn every_fault_schedule_ends_with_the_plan_exactly_once() {
    let (plan, next) = fault_schedules::six_lines_and_next_month(northwind());
    let mut figures = Figures::start();
    for seed in 0..fault_schedules::schedule_count(200) {
        let mut world = World::for_plan(&plan);
        world.max_attempts = max_attempts(seed);
        world.fake.set_faults(random_faults(seed, 17));
        let dir = state_dir();
        // This month's plan, then next month's (updates and a cancellation), each under faults.
        for (phase, wanted) in [&plan, &next].into_iter().enumerate() {
            figures.push_until_done(seed, phase, dir.path(), 30, |journal| {
                world.push(wanted, Some(journal), true)
            });
            figures.count_lines(duplicates_and_losses(active_keys(&world, wanted), wanted));
            world.assert_holds(wanted);
        }
        let log = world.fake.log();
        let requests = log.iter().map(|l| (l.method != "GET", l.fault));
        figures.count_schedule(seed, requests, world.fake.violations());
    }
    figures.finish("ConnectWise");
}
