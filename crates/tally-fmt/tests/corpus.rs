//! Soundness on every rule text of the repository (examples, the standard library, the test
//! corpora, every ```tally block of the docs and the README), and the canonical layout of those
//! the formatter owns: `tally fmt --check` would pass on examples/, stdlib/, tests/ and docs/.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod common;

use common::{Outcome, check, corpus_files, markdown_files, tally_blocks, workspace};

#[test]
fn every_repository_file_formats_soundly() {
    let mut sound = 0;
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        if check(&text) == Outcome::Sound {
            sound += 1;
        }
    }
    assert!(sound > 80, "only {sound} files parsed");
}

#[test]
fn every_doc_block_formats_soundly() {
    let mut blocks = 0;
    for path in markdown_files() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        for (_, block) in tally_blocks(&markdown) {
            assert_eq!(
                check(&block),
                Outcome::Sound,
                "{}:\n{block}",
                path.display()
            );
            blocks += 1;
        }
    }
    assert!(blocks > 20, "only {blocks} blocks");
}

/// The files with syntax errors are the diagnostics corpus's, which show broken text on purpose.
#[test]
fn repository_files_are_in_the_canonical_layout() {
    let root = workspace();
    let mut unformatted = Vec::new();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        match tally_fmt::format(&text) {
            Ok(formatted) if formatted != text => unformatted.push(path.display().to_string()),
            Ok(_) => {}
            Err(_) => assert!(
                path.starts_with(root.join("tests/diagnostics")),
                "{} does not parse",
                path.display()
            ),
        }
    }
    assert!(
        unformatted.is_empty(),
        "not formatted (run `tally fmt examples stdlib tests`): {unformatted:#?}"
    );
}

/// The docs' and the README's examples are formatted too.
#[test]
fn doc_blocks_are_in_the_canonical_layout() {
    for path in markdown_files() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        for (line, block) in tally_blocks(&markdown) {
            let formatted = tally_fmt::format(&block).unwrap();
            assert_eq!(
                formatted,
                block,
                "{}:{line}: the block is not formatted",
                path.display()
            );
        }
    }
}
