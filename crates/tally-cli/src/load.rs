//! Reading rule files into the database: the paths given, and every file they `use`.

use crate::exit::Failure;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tally_db::{Database, SourceFile};

pub(crate) struct Loaded {
    pub db: Database,
    /// The files named on the command line (directories expanded), in key order.
    pub roots: Vec<SourceFile>,
}

/// Loads the given files and directories, then follows `use "..."` to the files they name.
pub(crate) fn load(db: Database, paths: &[PathBuf]) -> Result<Loaded, Failure> {
    let mut db = db;
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    if files.is_empty() {
        return Err(Failure::Usage(format!(
            "no .tally files in {}",
            paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut roots = Vec::new();
    let mut loaded = BTreeSet::new();
    for path in files {
        let key = key_of(&path);
        let text = read(&path)?;
        loaded.insert(key.clone());
        roots.push(db.set_file(&key, text));
    }
    roots.sort_by(|a, b| a.key(&db).cmp(b.key(&db)));
    roots.dedup();
    // Follow `use "file"` until nothing new appears; a missing file is reported by the checker.
    let mut pending: Vec<SourceFile> = roots.clone();
    while let Some(file) = pending.pop() {
        let targets: Vec<String> = tally_db::uses(&db, file)
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        for key in targets {
            if key.starts_with("std.") || !loaded.insert(key.clone()) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&key) {
                pending.push(db.set_file(&key, text));
            }
        }
    }
    Ok(Loaded { db, roots })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() || entry.extension().is_some_and(|e| e == "tally") {
            collect(&entry, out)?;
        }
    }
    Ok(())
}

pub(crate) fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))
}

/// Files are named by their path as given, normalised (`./a/../b.tally` → `b.tally`).
fn key_of(path: &Path) -> String {
    tally_db::normalise(path)
}
