//! The fuzz targets under bolero. `cargo test` runs each with a fixed number of random inputs
//! (a short run for CI); a long run sets `BOLERO_RANDOM_ITERATIONS` (see docs/robustness.md),
//! or drives the same tests with libFuzzer through `cargo bolero test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::sync::atomic::{AtomicUsize, Ordering};

/// Inputs per target in the short run: the whole file costs well under a minute of CI.
const SHORT_RUN: usize = 200;

fn fuzz(name: &str, iterations: usize) {
    let target = tally_fuzz::target(name).expect("a known target");
    // Counted here rather than trusted from the settings, so a long run's figure is the
    // number of inputs that actually passed every property.
    let passed = AtomicUsize::new(0);
    bolero::check!()
        .with_iterations(iterations)
        .with_max_len(512)
        .for_each(|data: &[u8]| {
            if let Err(why) = tally_fuzz::run(target, data) {
                panic!("{why}");
            }
            passed.fetch_add(1, Ordering::Relaxed);
        });
    eprintln!(
        "{name}: {} inputs, every property held",
        passed.into_inner()
    );
}

#[test]
fn rules() {
    fuzz("rules", SHORT_RUN * 2);
}

#[test]
fn snapshot() {
    fuzz("snapshot", SHORT_RUN);
}

#[test]
fn graph_users() {
    fuzz("graph_users", SHORT_RUN);
}

#[test]
fn graph_skus() {
    fuzz("graph_skus", SHORT_RUN);
}

#[test]
fn recon_csv() {
    fuzz("recon_csv", SHORT_RUN);
}

#[test]
fn recon_json() {
    fuzz("recon_json", SHORT_RUN);
}

#[test]
fn usage_csv() {
    fuzz("usage_csv", SHORT_RUN);
}

#[test]
fn usage_json() {
    fuzz("usage_json", SHORT_RUN);
}

#[test]
fn counts() {
    fuzz("counts", SHORT_RUN);
}

#[test]
fn mapping() {
    fuzz("mapping", SHORT_RUN);
}

#[test]
fn price_list() {
    fuzz("price_list", SHORT_RUN);
}

#[test]
fn plan_json() {
    fuzz("plan_json", SHORT_RUN);
}

#[test]
fn outputs() {
    // Each input runs ten whole commands, each writing a file to disk.
    fuzz("outputs", SHORT_RUN / 4);
}
