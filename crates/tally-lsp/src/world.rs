//! What the server knows: the database (open buffers, and the files of the workspace read from
//! disk), which documents are open, the settings and the live-value cache.
//!
//! Files are keyed as the CLI keys them when run from the workspace root: a path relative to the
//! root (`customers/contoso.tally`), so `use "../shared/msp.tally"` resolves the same way and
//! diagnostics name files the same way. A file outside the root is keyed by its absolute path.
//! A `use` reads from disk only what a module can be, as `tally check` does: a regular `.tally`
//! file inside the workspace root, at most 4 MiB, in UTF-8; anything else is refused at the `use`.

use crate::convert;
use crate::live::Live;
use crate::{Formatter, Options};
use lsp_types::TextDocumentContentChangeEvent;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tally_db::{Database, Db, SourceFile};
use tally_diagnostics::{Diagnostic, LineIndex};

/// The largest rule file read from disk, as in the CLI.
const MAX_RULE_FILE: u64 = 4 * 1024 * 1024;
/// How many rule files a workspace scan reads at most, and how many directory entries it looks
/// at (an editor opened on a home directory must not walk the whole disk).
const MAX_SCANNED: usize = 50_000;
const MAX_VISITED: usize = 500_000;

/// An open document.
#[derive(Debug, Clone)]
pub(crate) struct Open {
    /// The URI as the client sent it (answers use the client's spelling).
    pub uri: String,
    pub version: i32,
}

/// Settings from the initialisation options, `workspace/didChangeConfiguration` and
/// `tally.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    /// The snapshot for live values and counter checks, as given (relative to the root).
    pub snapshot: Option<String>,
}

impl Settings {
    /// Reads `{"snapshot": "..."}`, or the same under a `tally` key.
    pub fn from_json(value: &serde_json::Value) -> Settings {
        let value = value.get("tally").unwrap_or(value);
        Settings {
            snapshot: value
                .get("snapshot")
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        }
    }
}

pub(crate) struct World {
    pub db: Database,
    /// The workspace root, as the client named it.
    pub root: PathBuf,
    /// The root with symbolic links resolved: what a `use` may read from.
    project: Option<PathBuf>,
    pub open: BTreeMap<String, Open>,
    /// The diagnostics last published for each open document.
    pub published: BTreeMap<String, Vec<Diagnostic>>,
    /// Settings given by the client (they override `tally.toml`).
    pub client_settings: Settings,
    pub live: Live,
    pub formatter: Option<Formatter>,
    pub log: bool,
    /// Bumped on every change to the rules or settings; caches compare it.
    pub generation: u64,
}

impl World {
    pub fn new(root: PathBuf, options: Options) -> World {
        let project = root.canonicalize().ok();
        World {
            db: Database::default(),
            root,
            project,
            open: BTreeMap::new(),
            published: BTreeMap::new(),
            client_settings: Settings::default(),
            live: Live::default(),
            formatter: options.formatter,
            log: options.log,
            generation: 0,
        }
    }

    pub fn log(&self, message: impl FnOnce() -> String) {
        if self.log {
            eprintln!("tally-lsp: {}", message());
        }
    }

    /// The key of the file a URI names; `None` for URIs that are not local files.
    pub fn key_of_uri(&self, uri: &str) -> Option<String> {
        if let Some((key, _)) = self.open.iter().find(|(_, open)| open.uri == uri) {
            return Some(key.clone());
        }
        crate::uri::to_path(uri).map(|p| self.key_of_path(&p))
    }

    pub fn key_of_path(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(relative) => tally_db::normalise(relative),
            Err(_) => match self
                .project
                .as_ref()
                .and_then(|p| path.strip_prefix(p).ok())
            {
                Some(relative) => tally_db::normalise(relative),
                None => tally_db::normalise(path),
            },
        }
    }

    /// Where the file of a key is on disk; `None` for the standard library.
    pub fn path_of_key(&self, key: &str) -> Option<PathBuf> {
        if is_std(key) {
            return None;
        }
        let path = Path::new(key);
        Some(if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        })
    }

    pub fn uri_of_key(&self, key: &str) -> Option<String> {
        if let Some(open) = self.open.get(key) {
            return Some(open.uri.clone());
        }
        self.path_of_key(key).map(|p| crate::uri::from_path(&p))
    }

    pub fn file(&self, key: &str) -> Option<SourceFile> {
        self.db.file(key)
    }

    /// Reads every rule file under the root, so references and renames reach files that are
    /// not open.
    pub fn scan(&mut self) {
        let mut found = Vec::new();
        let mut budget = MAX_VISITED;
        walk(&self.root, &mut found, &mut budget);
        found.sort();
        for path in found {
            let key = self.key_of_path(&path);
            if self.open.contains_key(&key) {
                continue;
            }
            if let Ok(Some(text)) = self.read_module(&key) {
                self.db.set_file(&key, text);
            }
        }
        self.follow_uses(None);
        self.generation += 1;
    }

    /// Reads from disk each file a `use` names that the database does not have yet, following
    /// the `use`s of `from` (every file, when `None`) and of what they read, until nothing new
    /// appears; a file that may not be read is recorded with the reason.
    pub fn follow_uses(&mut self, from: Option<Vec<SourceFile>>) {
        let mut pending: Vec<SourceFile> = from.unwrap_or_else(|| {
            self.db
                .workspace()
                .files(&self.db)
                .values()
                .copied()
                .collect()
        });
        let mut tried: BTreeSet<String> = BTreeSet::new();
        while let Some(file) = pending.pop() {
            let wanted: Vec<String> = tally_db::uses(&self.db, file)
                .iter()
                .map(|(key, _)| key.clone())
                .filter(|key| !is_std(key) && self.db.file(key).is_none() && !tried.contains(key))
                .collect();
            for key in wanted {
                tried.insert(key.clone());
                if self.db.workspace().refused(&self.db).contains_key(&key) {
                    continue;
                }
                match self.read_module(&key) {
                    Ok(Some(text)) => pending.push(self.db.set_file(&key, text)),
                    Ok(None) => {}
                    Err(reason) => self.db.refuse_file(&key, reason),
                }
            }
        }
    }

    /// A module's text from disk; `Ok(None)` when there is no such file, `Err` with the reason
    /// it may not be read.
    pub fn read_module(&self, key: &str) -> Result<Option<String>, String> {
        let Some(path) = self.path_of_key(key) else {
            return Ok(None);
        };
        if path.extension().is_none_or(|e| e != "tally") {
            return Err("a module must be a `.tally` file".into());
        }
        let Ok(real) = path.canonicalize() else {
            return Ok(None);
        };
        if let Some(project) = &self.project
            && !real.starts_with(project)
        {
            return Err(format!(
                "it is outside the workspace `{}`",
                project.display()
            ));
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
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| "it is not UTF-8 text".into())
    }

    pub fn did_open(&mut self, uri: &str, version: i32, text: String) -> Option<String> {
        let key = crate::uri::to_path(uri).map(|p| self.key_of_path(&p))?;
        self.open.insert(
            key.clone(),
            Open {
                uri: uri.to_string(),
                version,
            },
        );
        let file = self.db.set_file(&key, text);
        self.follow_uses(Some(vec![file]));
        self.generation += 1;
        Some(key)
    }

    /// Applies a `didChange`: each change in order, ranges in UTF-16 code units.
    pub fn did_change(
        &mut self,
        uri: &str,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Option<String> {
        let key = self.key_of_uri(uri)?;
        let file = self.db.file(&key)?;
        let mut text = file.text(&self.db).clone();
        for change in changes {
            match change.range {
                Some(range) => {
                    let index = LineIndex::new(&text);
                    let start = convert::offset(&text, &index, range.start);
                    let end = convert::offset(&text, &index, range.end).max(start);
                    text.replace_range(start..end, &change.text);
                }
                None => text = change.text,
            }
        }
        if let Some(open) = self.open.get_mut(&key) {
            open.version = version;
        }
        let file = self.db.set_file(&key, text);
        self.follow_uses(Some(vec![file]));
        self.generation += 1;
        Some(key)
    }

    /// A closed document is the file on disk again (or no file, if it was never saved).
    pub fn did_close(&mut self, uri: &str) -> Option<(String, String)> {
        let key = self.key_of_uri(uri)?;
        let open = self.open.remove(&key)?;
        self.published.remove(&key);
        self.reload(&key);
        Some((key, open.uri))
    }

    /// The file of `key` changed on disk: read it again unless it is open (the buffer wins).
    pub fn reload(&mut self, key: &str) {
        if self.open.contains_key(key) {
            return;
        }
        match self.read_module(key) {
            Ok(Some(text)) => {
                self.db.set_file(key, text);
            }
            Ok(None) | Err(_) => self.db.remove_file(key),
        }
        self.follow_uses(Some(self.db.file(key).into_iter().collect()));
        self.generation += 1;
    }

    /// The settings in force: the client's, else `tally.toml`'s at the root.
    pub fn settings(&self) -> Settings {
        if self.client_settings.snapshot.is_some() {
            return self.client_settings.clone();
        }
        let toml = std::fs::read_to_string(self.root.join("tally.toml")).unwrap_or_default();
        Settings {
            snapshot: crate::toml::top_level_string(&toml, "snapshot"),
        }
    }
}

pub(crate) fn is_std(key: &str) -> bool {
    tally_db::STD_MODULES.iter().any(|(name, _)| *name == key)
}

/// Every `.tally` file under `dir`, leaving out hidden directories and build output.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, budget: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() >= MAX_SCANNED || *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&path, out, budget);
            }
        } else if kind.is_file() && name.ends_with(".tally") {
            out.push(path);
        }
    }
}
