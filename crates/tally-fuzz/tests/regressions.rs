//! Every seed, and every input that ever broke a property (`corpus/<target>/`), checked as the
//! file itself on every `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::Path;

#[test]
fn every_seed_keeps_its_target_properties() {
    for target in tally_fuzz::TARGETS {
        let seeds = (target.seeds)();
        assert!(!seeds.files.is_empty(), "{target:?} has no seeds");
        for (i, seed) in seeds.files.iter().enumerate() {
            if let Err(why) = tally_fuzz::check(*target, seed) {
                panic!("{target:?} seed {i}: {why}");
            }
        }
    }
}

#[test]
fn every_corpus_file_keeps_its_target_properties() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let target = tally_fuzz::target(&name)
            .unwrap_or_else(|| panic!("corpus/{name} is not the name of a target"));
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let input = std::fs::read(&file).unwrap();
            if let Err(why) = tally_fuzz::check(target, &input) {
                panic!("{}: {why}", file.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "the regression corpus is empty");
}

/// `TALLY_FUZZ_REPLAY=target:path` checks one file (a saved failure) and prints the verdict.
#[test]
fn replay_one_file() {
    let Ok(spec) = std::env::var("TALLY_FUZZ_REPLAY") else {
        return;
    };
    let (name, path) = spec.split_once(':').unwrap();
    let target = tally_fuzz::target(name).unwrap();
    let input = std::fs::read(path).unwrap();
    if let Err(why) = tally_fuzz::check(target, &input) {
        panic!("{why}");
    }
}
