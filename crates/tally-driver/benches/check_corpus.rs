//! How many rule lines per second Tally parses and checks, on a generated corpus of 1,000
//! customer files of 50 lines (50,000 lines; `corpus/mod.rs`). divan reports each benchmark's
//! throughput in lines per second ("items/s").
//! Run with `cargo bench -p tally-driver --bench check_corpus`; figures are recorded in
//! docs/performance.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks may panic

mod corpus;

use divan::counter::ItemsCount;
use std::sync::LazyLock;
use tally_db::Database;

const FILES: usize = 1_000;
const LINES: usize = 50;

static CORPUS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let corpus = corpus::generate(FILES, LINES);
    assert_eq!(corpus::line_count(&corpus), FILES * LINES);
    corpus
});

fn main() {
    divan::main();
}

fn lines() -> ItemsCount {
    ItemsCount::new(FILES * LINES)
}

/// `tally_syntax::parse` on every file: the parser alone.
#[divan::bench]
fn parse(bencher: divan::Bencher) {
    let corpus = &*CORPUS;
    bencher.counter(lines()).bench_local(|| {
        corpus
            .iter()
            .map(|(_, text)| tally_syntax::parse(text).file.items.len())
            .sum::<usize>()
    });
}

/// Parse and check every file, without the database (`tally_db::check_text`): the parser and
/// the checker.
#[divan::bench]
fn parse_and_check(bencher: divan::Bencher) {
    let corpus = &*CORPUS;
    let db = Database::default();
    bencher.counter(lines()).bench_local(|| {
        corpus
            .iter()
            .map(|(key, text)| tally_db::check_text(&db, key, text).0.diagnostics.len())
            .sum::<usize>()
    });
}

/// What `tally check DIR` does after reading the files: a new database, every file set, every
/// file's diagnostics asked for (parse by pieces, check, sort).
#[divan::bench]
fn check_database(bencher: divan::Bencher) {
    let corpus = &*CORPUS;
    bencher.counter(lines()).bench_local(|| {
        let mut db = Database::default();
        let files = db.set_files(corpus.iter().cloned());
        let problems = tally_driver::diagnostics(&db, &files);
        assert!(problems.is_empty(), "{:?}", problems.first());
        problems.len()
    });
}
