//! Reading rule files into the database: the paths given, and every file they `use`. A `use`
//! reads only what a module can be: a regular `.tally` file inside the project, of a bounded
//! size, in UTF-8. Anything else (`use "/dev/zero"`, a pipe, `/etc/passwd`) is refused at the
//! `use`, without reading it and without showing its content.

use crate::exit::Failure;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tally_db::{Database, SourceFile};

/// The largest rule file read, given or used (a customer's rules are a few kilobytes).
pub(crate) const MAX_RULE_FILE: u64 = 4 * 1024 * 1024;

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
    let mut loaded = BTreeSet::new();
    let mut texts = Vec::with_capacity(files.len());
    for path in files {
        let key = key_of(&path);
        let text = read_rules(&path)?;
        loaded.insert(key.clone());
        texts.push((key, text));
    }
    let mut roots = db.set_files(texts);
    roots.sort_by(|a, b| a.key(&db).cmp(b.key(&db)));
    roots.dedup();
    let project = project_root();
    // Follow `use "file"` until nothing new appears; a file that cannot be used is reported by
    // the checker at the `use`.
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
            match read_module(Path::new(&key), project.as_deref()) {
                Ok(Some(text)) => pending.push(db.set_file(&key, text)),
                Ok(None) => {}
                Err(reason) => db.refuse_file(&key, reason),
            }
        }
    }
    Ok(Loaded { db, roots })
}

/// The project a `use` may read from: the nearest directory, from the current one up, holding
/// `tally.toml` or `.git`; else the current directory.
fn project_root() -> Option<PathBuf> {
    let current = std::env::current_dir().ok()?.canonicalize().ok()?;
    let marked = current
        .ancestors()
        .find(|dir| dir.join("tally.toml").exists() || dir.join(".git").exists());
    Some(marked.unwrap_or(&current).to_path_buf())
}

/// A module's text; `Ok(None)` when there is no such file (the checker says so, with
/// suggestions), `Err` with the reason it may not be read.
fn read_module(path: &Path, project: Option<&Path>) -> Result<Option<String>, String> {
    if path.extension().is_none_or(|e| e != "tally") {
        return Err("a module must be a `.tally` file".into());
    }
    let Ok(real) = path.canonicalize() else {
        return Ok(None);
    };
    if let Some(project) = project
        && !real.starts_with(project)
    {
        return Err(format!("it is outside the project `{}`", project.display()));
    }
    let metadata = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("it is not a regular file".into());
    }
    if metadata.len() > MAX_RULE_FILE {
        return Err(format!(
            "it is larger than {} MiB",
            MAX_RULE_FILE / 1024 / 1024
        ));
    }
    let bytes = std::fs::read(&real).map_err(|e| e.to_string())?;
    utf8(bytes).map(Some)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(Failure::Usage(format!(
            "cannot read `{}`: not a file or directory",
            path.display()
        )));
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

/// A rule file given on the command line: a regular file of bounded size, in UTF-8.
fn read_rules(path: &Path) -> Result<String, Failure> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?;
    if metadata.len() > MAX_RULE_FILE {
        return Err(Failure::Data(format!(
            "`{}` is larger than {} MiB: not a rule file",
            path.display(),
            MAX_RULE_FILE / 1024 / 1024
        )));
    }
    read(path)
}

/// A text file: unreadable is a usage error (exit 2), not UTF-8 a problem with the input (exit
/// 1), located at its first bad byte.
pub(crate) fn read(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?;
    utf8(bytes).map_err(|reason| Failure::Data(format!("{}: {reason}", path.display())))
}

/// The text of `bytes`, or where the first byte that is not UTF-8 is.
fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let before = e.as_bytes().get(..good).unwrap_or_default();
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
            .chars()
            .count()
            + 1;
        format!("line {line}, column {column} (byte {good}): the text is not UTF-8")
    })
}

/// Files are named by their path as given, normalised (`./a/../b.tally` → `b.tally`).
fn key_of(path: &Path) -> String {
    tally_db::normalise(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_located_by_line_and_column() {
        let bytes = b"customer \"A\" {\n  tenant \"\xff\"\n".to_vec();
        let reason = utf8(bytes).unwrap_err();
        assert_eq!(reason, "line 2, column 11 (byte 25): the text is not UTF-8");
    }
}
