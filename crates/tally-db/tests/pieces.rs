//! The database parses a file piece by piece (so an edit re-parses one piece); the result must
//! be exactly the whole file's parse: on every rule file in the repository, and on broken
//! variants of them (a character deleted, a bracket or a clause word inserted, at many places).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::path::{Path, PathBuf};
use tally_db::Database;

fn rule_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() && !name.starts_with('.') && name != "target" {
                walk(&path, out);
            } else if name.ends_with(".tally") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["examples", "tests", "stdlib", "crates"] {
        walk(&root.join(dir), &mut out);
    }
    out.sort();
    assert!(out.len() > 10, "{out:?}");
    out
}

fn same(db: &mut Database, text: &str, what: &str) {
    let file = db.set_file("f.tally", text.to_string());
    let pieces = tally_db::parse(db, file);
    let whole = tally_syntax::parse(text);
    assert!(
        *pieces == whole,
        "{what}: the pieces' parse differs from the whole file's\n--- text\n{text}\n--- pieces\n{:#?}\n--- whole\n{:#?}",
        pieces.diagnostics,
        whole.diagnostics
    );
}

/// Runs `test` with the CLI's stack: on a small stack, pest's own guard stops deep brackets at
/// a place that depends on how much stack the caller used, which is not what is compared here.
fn with_cli_stack(test: fn()) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(test)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn pieces_parse_as_the_whole_file_does() {
    with_cli_stack(whole_files);
}

#[test]
fn broken_pieces_parse_as_the_whole_file_does() {
    with_cli_stack(broken_files);
}

fn whole_files() {
    let mut db = Database::default();
    for path in rule_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        same(&mut db, &text, &path.display().to_string());
    }
}

fn broken_files() {
    let mut db = Database::default();
    let mut variants = 0;
    // Every file in an optimised build (`cargo test --release -p tally-db --test pieces`),
    // every eighth in the everyday debug suite.
    let every = if cfg!(debug_assertions) { 8 } else { 1 };
    for path in rule_files().into_iter().step_by(every) {
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("((((((((((") {
            continue; // the nesting-limit files: slow to parse in a debug build, and whole above
        }
        // Around where the pieces meet (the places that matter), and a few places between.
        let mut places: Vec<usize> = tally_syntax::piece_starts(&text)
            .into_iter()
            .flat_map(|p| [p.saturating_sub(2), p.saturating_sub(1), p])
            .chain((1..6).map(|k| text.len() * k / 6))
            .filter(|p| text.is_char_boundary(*p) && *p < text.len())
            .collect();
        places.sort();
        places.dedup();
        // A long file (northwind) has hundreds of places: a sample of them in a debug build.
        let keep = if cfg!(debug_assertions) {
            24
        } else {
            usize::MAX
        };
        let spread = places.len().div_ceil(keep).max(1);
        for at in places.into_iter().step_by(spread) {
            let next = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            let deleted = format!("{}{}", &text[..at], &text[next..]);
            same(
                &mut db,
                &deleted,
                &format!("{} without byte {at}", path.display()),
            );
            for insert in ["(", "\"", " price", " +", "\nlet"] {
                let inserted = format!("{}{insert}{}", &text[..at], &text[at..]);
                same(
                    &mut db,
                    &inserted,
                    &format!("{} with {insert:?} at {at}", path.display()),
                );
                variants += 1;
            }
            variants += 1;
        }
    }
    assert!(variants > 300, "{variants}");
}
