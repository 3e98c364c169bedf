//! Writes the generated corpus of `benches/corpus/mod.rs` to a directory, for measuring
//! `tally check DIR` as a whole process:
//!
//! ```sh
//! cargo run --release -p tally-driver --example corpus -- /tmp/tally-corpus 1000 50
//! target/release/tally check /tmp/tally-corpus
//! # and a snapshot of 50 users per tenant, to plan it:
//! cargo run --release -p tally-driver --example corpus -- /tmp/tally-plan-corpus 1000 50 50
//! target/release/tally plan /tmp/tally-plan-corpus --snapshot /tmp/tally-plan-corpus/snapshot.json
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a command-line helper

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: corpus DIR [FILES=1000] [LINES=50] [USERS]";
    let dir = PathBuf::from(args.next().expect(usage));
    let files = args.next().map_or(1_000, |n| n.parse().expect(usage));
    let lines = args.next().map_or(50, |n| n.parse().expect(usage));
    let corpus = corpus::generate(files, lines);
    std::fs::create_dir_all(&dir).unwrap();
    for (key, text) in &corpus {
        let name = key.rsplit('/').next().unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }
    // With a fourth argument, a snapshot of that many users per tenant, for `tally plan`.
    if let Some(users) = args.next() {
        let users: usize = users.parse().expect(usage);
        let guid_of = |part: &str| {
            tally_skus::catalog()
                .by_part_number(part)
                .first()
                .map(|s| s.guid.clone())
                .expect("a SKU of Microsoft's table")
        };
        let snapshot = corpus::snapshot(&corpus, users, guid_of);
        std::fs::write(dir.join("snapshot.json"), snapshot).unwrap();
    }
    println!(
        "wrote {} files, {} lines, to {}",
        corpus.len(),
        corpus::line_count(&corpus),
        dir.display()
    );
}
