//! Fuzz targets for every input format Tally reads, and the properties each must keep.
//!
//! A target is a function from the bytes of one input to `Ok(())`, or to a sentence saying
//! which property failed. Beyond "no panic", the properties are:
//!
//! - every error carries a location: a diagnostic's labels lie inside its file (on character
//!   boundaries) and render, human and JSON, with a line and column; an import error names the
//!   file and the line, record or column; a snapshot or plan error names its JSON path;
//! - a rule file that checks clean evaluates with no internal error (T0901), and its runtime
//!   errors are located;
//! - a plan, a snapshot or an imported snapshot written as JSON is read back equal;
//! - formatting is idempotent and keeps the meaning: a formatted file that checked clean checks
//!   with the same diagnostics and plans to the same plan;
//! - a whole command run with `-o` over an existing file (`outputs`) leaves it whole when it
//!   succeeds and as it was when it fails, and no temporary file behind.
//!
//! `tests/fuzz.rs` drives the targets with bolero (a short run under `cargo test`, a long one by
//! `BOLERO_RANDOM_ITERATIONS` or `cargo bolero`); each fuzz input is an edit program over a
//! seed file ([`mutate`]). `corpus/<target>/` keeps every input that ever failed, as the file
//! itself, and `tests/regressions.rs` runs them all on every `cargo test`.

pub mod data;
pub mod mutate;
pub mod outputs;
pub mod rules;
pub mod seeds;

use seeds::Seeds;
use std::time::{Duration, Instant};

/// One fuzz target: its name (the folder of its regression corpus), its seeds and its property.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub seeds: fn() -> &'static Seeds,
    pub property: fn(&[u8]) -> Result<(), String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "rules",
        seeds: seeds::rules,
        property: rules::rule_file,
    },
    Target {
        name: "snapshot",
        seeds: seeds::snapshot,
        property: data::snapshot,
    },
    Target {
        name: "graph_users",
        seeds: seeds::graph_users,
        property: data::graph_users,
    },
    Target {
        name: "graph_skus",
        seeds: seeds::graph_skus,
        property: data::graph_skus,
    },
    Target {
        name: "recon_csv",
        seeds: seeds::recon_csv,
        property: data::recon_csv,
    },
    Target {
        name: "recon_json",
        seeds: seeds::recon_json,
        property: data::recon_json,
    },
    Target {
        name: "usage_csv",
        seeds: seeds::usage_csv,
        property: data::usage_csv,
    },
    Target {
        name: "usage_json",
        seeds: seeds::usage_json,
        property: data::usage_json,
    },
    Target {
        name: "counts",
        seeds: seeds::counts,
        property: data::counts,
    },
    Target {
        name: "mapping",
        seeds: seeds::mapping,
        property: data::mapping,
    },
    Target {
        name: "price_list",
        seeds: seeds::price_list,
        property: data::price_list,
    },
    Target {
        name: "plan_json",
        seeds: seeds::plan_json,
        property: data::plan_json,
    },
    Target {
        name: "outputs",
        seeds: seeds::outputs,
        property: outputs::commands,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// Stack for a property run: the CLI's (`tally_cli`'s worker thread), so a nesting the binary
/// survives is one the targets survive, and no more.
const STACK_BYTES: usize = 64 * 1024 * 1024;

/// Runs `target`'s property on the file the fuzz input `data` makes. A failure is reported
/// with the file, which is also saved under `target/fuzz-failures/<target>/` to be added to
/// `corpus/<target>/` once fixed.
pub fn run(target: Target, data: &[u8]) -> Result<(), String> {
    let seeds = (target.seeds)();
    let input = mutate::mutate(&seeds.files, seeds.dictionary, data);
    check(target, &input).map_err(|why| {
        let saved = save_failure(target.name, &input);
        format!("{}: {why}\nthe input is saved as {saved}", target.name)
    })
}

/// Runs `target`'s property on `input` itself, on a thread with the CLI's stack, turning a
/// panic into an error. With `TALLY_FUZZ_HANG_MS` set, an input that takes longer fails too
/// (for long runs on release builds; the ordinary tests never time anything).
pub fn check(target: Target, input: &[u8]) -> Result<(), String> {
    let property = target.property;
    let owned = input.to_vec();
    let started = Instant::now();
    let outcome = std::thread::Builder::new()
        .name(format!("fuzz-{}", target.name))
        .stack_size(STACK_BYTES)
        .spawn(move || property(&owned))
        .map_err(|e| format!("cannot start a thread: {e}"))?
        .join()
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!("panicked: {message}")
        })?;
    outcome?;
    if let Some(limit) = hang_limit() {
        let took = started.elapsed();
        if took > limit {
            return Err(format!("took {took:?}, more than the limit of {limit:?}"));
        }
    }
    Ok(())
}

fn hang_limit() -> Option<Duration> {
    std::env::var("TALLY_FUZZ_HANG_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

fn save_failure(target: &str, input: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut hasher);
    let dir = seeds::root().join("target/fuzz-failures").join(target);
    let path = dir.join(format!("{:016x}", hasher.finish()));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not saved: {e})"),
    }
}
