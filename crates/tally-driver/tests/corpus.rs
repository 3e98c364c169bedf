//! The generated corpus the check benchmark measures (`benches/corpus/mod.rs`) is what it
//! claims: files of exactly the asked number of lines, the same every time, that check without
//! a diagnostic (so the benchmark measures the ordinary path, not error recovery).

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use tally_db::Database;

#[test]
fn the_corpus_is_deterministic_and_of_the_asked_size() {
    let corpus = corpus::generate(40, 50);
    assert_eq!(corpus, corpus::generate(40, 50));
    assert_eq!(corpus.len(), 40);
    for (key, text) in &corpus {
        assert_eq!(text.lines().count(), 50, "{key}");
    }
    assert_eq!(corpus::line_count(&corpus), 2_000);
    // Not one file repeated: the items are drawn per file.
    let mut texts: Vec<&String> = corpus.iter().map(|(_, t)| t).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 40);
}

#[test]
fn the_corpus_checks_cleanly() {
    let corpus = corpus::generate(200, 50);
    let mut db = Database::default();
    let files: Vec<_> = corpus
        .iter()
        .map(|(key, text)| db.set_file(key, text.clone()))
        .collect();
    let problems = tally_driver::diagnostics(&db, &files);
    assert!(problems.is_empty(), "{:#?}", problems.first());
    // Every file has lines, and every kind of item the generator writes appears.
    let all: String = corpus.iter().map(|(_, t)| t.as_str()).collect();
    for needle in [
        "psa connectwise",
        "tiers graduated",
        "bundle {",
        "from 2026-07-01",
        "split by",
        "minimum",
    ] {
        assert!(all.contains(needle), "no `{needle}` in the corpus");
    }
}
