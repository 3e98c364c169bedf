//! The fuzz targets under bolero. `cargo test` runs each with a fixed number of random inputs
//! (a short run for CI); a long run sets `BOLERO_RANDOM_ITERATIONS` (see docs/robustness.md),
//! or drives the same tests with libFuzzer through `cargo bolero test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::sync::atomic::{AtomicUsize, Ordering};

/// Inputs per target in the short run: the whole file costs well under a minute of CI.
const SHORT_RUN: usize = 200;

/// A test running one target. A macro, not a function, so that `bolero::check!` stands in each
/// test: bolero names a target after the function it is written in, and `cargo bolero test
/// rules` (libFuzzer, `libfuzzer/Cargo.toml`) finds the target by that name.
macro_rules! fuzz_test {
    ($name:ident, $iterations:expr) => {
        #[test]
        fn $name() {
            let name = stringify!($name);
            let target = tally_fuzz::target(name).expect("a known target");
            // Counted here rather than trusted from the settings, so a long run's figure is
            // the number of inputs that actually passed every property.
            let passed = AtomicUsize::new(0);
            bolero::check!()
                .with_iterations($iterations)
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
    };
}

fuzz_test!(rules, SHORT_RUN * 2);
fuzz_test!(snapshot, SHORT_RUN);
fuzz_test!(graph_users, SHORT_RUN);
fuzz_test!(graph_skus, SHORT_RUN);
fuzz_test!(recon_csv, SHORT_RUN);
fuzz_test!(recon_json, SHORT_RUN);
fuzz_test!(usage_csv, SHORT_RUN);
fuzz_test!(usage_json, SHORT_RUN);
fuzz_test!(counts, SHORT_RUN);
fuzz_test!(mapping, SHORT_RUN);
fuzz_test!(price_list, SHORT_RUN);
fuzz_test!(plan_json, SHORT_RUN);
// Each input runs ten whole commands, each writing a file to disk.
fuzz_test!(outputs, SHORT_RUN / 4);
