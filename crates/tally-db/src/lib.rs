//! The salsa database: source files and the snapshot schema are inputs; parse, resolve, check
//! and link are tracked queries whose results (diagnostics included) are plain values. The CLI
//! and the language server both drive Tally through this crate.

mod stdlib;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tally_check::{Checked, Import};
use tally_diagnostics::{Code, Diagnostic, Names, Span};
use tally_ir::{ModuleKey, Program, TExprKind};
use tally_syntax::Parsed;

pub use stdlib::{STD_MODULES, std_source};

/// One rule file (or standard-library module). `key` names it in diagnostics and provenance.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub key: String,
    #[returns(ref)]
    pub text: String,
}

/// Every file the database knows, by key. `use` resolves against it, so a language server can
/// add an unsaved buffer and a CLI the files it read.
#[salsa::input(debug)]
pub struct Workspace {
    #[returns(ref)]
    pub files: BTreeMap<String, SourceFile>,
    /// Files a `use` names that the caller refused to read, with the reason (outside the
    /// project, not a regular file, too large, not UTF-8): reported at the `use`.
    #[returns(ref)]
    pub refused: BTreeMap<String, String>,
}

/// What the snapshot offers the rules, when one is known (`tally check --snapshot`, an editor
/// with a snapshot configured): the names of its counters.
#[salsa::input(debug)]
pub struct SnapshotSchema {
    #[returns(ref)]
    /// Counter names per tenant (lower-case tenant name).
    pub counters: Option<BTreeMap<String, BTreeSet<String>>>,
}

#[salsa::db]
pub trait Db: salsa::Database {
    fn workspace(&self) -> Workspace;
    fn schema(&self) -> SnapshotSchema;
}

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    workspace: Option<Workspace>,
    schema: Option<SnapshotSchema>,
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn workspace(&self) -> Workspace {
        match self.workspace {
            Some(w) => w,
            None => Workspace::new(self, BTreeMap::new(), BTreeMap::new()),
        }
    }

    fn schema(&self) -> SnapshotSchema {
        match self.schema {
            Some(s) => s,
            None => SnapshotSchema::new(self, None),
        }
    }
}

impl Default for Database {
    fn default() -> Self {
        Database::with_events(None)
    }
}

impl Database {
    /// A database that reports salsa's events (e.g. which queries execute) to `callback`.
    pub fn with_events(
        callback: Option<Box<dyn Fn(salsa::Event) + Send + Sync + 'static>>,
    ) -> Database {
        let mut db = Database {
            storage: salsa::Storage::new(callback),
            workspace: None,
            schema: None,
        };
        let mut files = BTreeMap::new();
        for (name, text) in STD_MODULES {
            files.insert(
                name.to_string(),
                SourceFile::new(&db, name.to_string(), text.to_string()),
            );
        }
        db.workspace = Some(Workspace::new(&db, files, BTreeMap::new()));
        db.schema = Some(SnapshotSchema::new(&db, None));
        db
    }

    /// Adds a file, or replaces the text of the file with that key. Returns its handle.
    pub fn set_file(&mut self, key: &str, text: String) -> SourceFile {
        use salsa::Setter;
        let workspace = self.workspace();
        if let Some(file) = workspace.files(self).get(key).copied() {
            if file.text(self) != &text {
                file.set_text(self).to(text);
            }
            return file;
        }
        let file = SourceFile::new(self, key.to_string(), text);
        let mut files = workspace.files(self).clone();
        files.insert(key.to_string(), file);
        workspace.set_files(self).to(files);
        file
    }

    /// Adds or replaces several files, as [`Database::set_file`] on each in turn would, with one
    /// change to the workspace's table of files (set one by one, a thousand files copy the
    /// table a thousand times). Returns their handles, in order.
    pub fn set_files(
        &mut self,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Vec<SourceFile> {
        use salsa::Setter;
        let workspace = self.workspace();
        let mut table = workspace.files(self).clone();
        let mut added = false;
        let mut handles = Vec::new();
        for (key, text) in files {
            if let Some(file) = table.get(&key).copied() {
                if file.text(self) != &text {
                    file.set_text(self).to(text);
                }
                handles.push(file);
            } else {
                let file = SourceFile::new(self, key.clone(), text);
                table.insert(key, file);
                handles.push(file);
                added = true;
            }
        }
        if added {
            workspace.set_files(self).to(table);
        }
        handles
    }

    /// Forgets the file `key` (a language server's buffer closed on a file that was never
    /// saved, a file deleted on disk): a `use` of it is "cannot read" again.
    pub fn remove_file(&mut self, key: &str) {
        use salsa::Setter;
        let workspace = self.workspace();
        if workspace.files(self).contains_key(key) {
            let mut files = workspace.files(self).clone();
            files.remove(key);
            workspace.set_files(self).to(files);
        }
    }

    /// Records that the file `key` was not read, and why; a `use` of it reports the reason.
    pub fn refuse_file(&mut self, key: &str, reason: String) {
        use salsa::Setter;
        let workspace = self.workspace();
        let mut refused = workspace.refused(self).clone();
        refused.insert(key.to_string(), reason);
        workspace.set_refused(self).to(refused);
    }

    pub fn file(&self, key: &str) -> Option<SourceFile> {
        self.workspace().files(self).get(key).copied()
    }

    pub fn set_snapshot_counters(&mut self, counters: Option<BTreeMap<String, BTreeSet<String>>>) {
        use salsa::Setter;
        let schema = self.schema();
        schema.set_counters(self).to(counters);
    }
}

/// The parse of one file, put together from the parses of its pieces (see
/// [`tally_syntax::piece_starts`]): each piece's parse is kept by its text, so an edit re-parses
/// only the piece it is in, however far the pieces after it move. A piece whose parse ends in an
/// error is parsed together with the next one, as the whole file would parse it. The result is
/// the whole file's parse (`tests/pieces.rs` compares the two on every rule file of the
/// repository and on thousands of broken variants).
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Db, file: SourceFile) -> Parsed {
    let text = file.text(db);
    let starts = tally_syntax::piece_starts(text);
    if starts.len() < 2 {
        return tally_syntax::parse(text);
    }
    let mut whole = Parsed::default();
    let mut first = 0;
    while let Some(&start) = starts.get(first) {
        let mut next = first + 1;
        let parsed = loop {
            let end = starts.get(next).copied().unwrap_or(text.len());
            let piece = text.get(start..end).unwrap_or("");
            let parsed = parse_piece(db, Piece::new(db, piece.to_string()));
            if next < starts.len() && too_deep(parsed) {
                // Where pest runs out of depth depends on all the text after: no pieces.
                next = starts.len();
                continue;
            }
            if next < starts.len() && cut_off(piece, parsed) {
                // Broken lines one after another would grow the piece one line at a time and
                // parse the file again for each (cubic in the lines, with every error located):
                // past a few, parse the rest of the file as one piece, as the whole file would.
                next = if next - first < MAX_MERGED {
                    next + 1
                } else {
                    starts.len()
                };
                continue;
            }
            break parsed;
        };
        let shifted = parsed
            .clone()
            .shifted(u32::try_from(start).unwrap_or(u32::MAX));
        whole.file.items.extend(shifted.file.items);
        whole.file.incomplete |= shifted.file.incomplete;
        whole.diagnostics.extend(shifted.diagnostics);
        first = next;
    }
    whole
}

/// How many pieces [`parse`] joins one at a time after an error before it parses the rest of
/// the file as one piece.
const MAX_MERGED: usize = 8;

/// A piece of a file's text (see [`parse`]).
#[salsa::interned(debug)]
struct Piece<'db> {
    #[returns(ref)]
    text: String,
}

#[salsa::tracked(returns(ref))]
fn parse_piece<'db>(db: &'db dyn Db, piece: Piece<'db>) -> Parsed {
    tally_syntax::parse(piece.text(db))
}

fn too_deep(parsed: &Parsed) -> bool {
    parsed
        .diagnostics
        .iter()
        .any(|d| d.code == Code::NestingTooDeep)
}

/// Might the piece parse differently followed by the rest of the file? Only when it has an
/// error on its last text line with anything on it: pest may have wanted more (an unclosed
/// bracket, a clause without its value), which the next piece would have given it.
fn cut_off(piece: &str, parsed: &Parsed) -> bool {
    let lines: Vec<&str> = piece.lines().collect();
    let significant = lines
        .iter()
        .rposition(|line| !line.split("//").next().unwrap_or("").trim().is_empty());
    let Some(last) = significant else {
        return !parsed.diagnostics.is_empty();
    };
    let last_line_start: usize = piece.split_inclusive('\n').take(last).map(str::len).sum();
    parsed
        .diagnostics
        .iter()
        .any(|d| d.is_error() && d.primary_span().start as usize >= last_line_start)
}

/// The key a `use` names, relative to the file that uses it: `std.m365` for the standard
/// library, otherwise the normalised path of the file.
pub fn use_key(from: &str, target: &tally_syntax::ast::UseTarget) -> String {
    match target {
        tally_syntax::ast::UseTarget::Module { path, .. } => path
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        tally_syntax::ast::UseTarget::File(s) => {
            let base = Path::new(from).parent().unwrap_or(Path::new(""));
            normalise(&base.join(&s.value))
        }
    }
}

/// `a/b/../c.tally` → `a/c.tally`, without touching the file system.
pub fn normalise(path: &Path) -> String {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out.to_string_lossy().replace('\\', "/")
}

/// The keys of the modules a file uses, in order, with the span of each `use`.
#[salsa::tracked(returns(ref))]
pub fn uses(db: &dyn Db, file: SourceFile) -> Vec<(String, Span)> {
    uses_in(file.key(db), &parse(db, file).file)
}

fn uses_in(key: &str, file: &tally_syntax::ast::File) -> Vec<(String, Span)> {
    file.items
        .iter()
        .filter_map(|item| match item {
            tally_syntax::ast::Item::Use(u) => {
                Some((use_key(key, &u.target), target_span(&u.target)))
            }
            _ => None,
        })
        .collect()
}

fn target_span(target: &tally_syntax::ast::UseTarget) -> Span {
    match target {
        tally_syntax::ast::UseTarget::Module { span, .. } => *span,
        tally_syntax::ast::UseTarget::File(s) => s.span,
    }
}

/// Does following `use`s from `start` lead back to `target`? (A `use` cycle.)
fn reaches(db: &dyn Db, start: &str, target: &str) -> bool {
    let files = db.workspace().files(db);
    let mut seen = BTreeSet::new();
    let mut stack = vec![start.to_string()];
    while let Some(key) = stack.pop() {
        if key == target {
            return true;
        }
        if !seen.insert(key.clone()) {
            continue;
        }
        if let Some(file) = files.get(&key) {
            stack.extend(uses(db, *file).iter().map(|(k, _)| k.clone()));
        }
    }
    false
}

/// A file checked against the interfaces of the modules it uses.
#[salsa::tracked(returns(ref))]
pub fn check(db: &dyn Db, file: SourceFile) -> Checked {
    let parsed = parse(db, file);
    let imports = imports(db, file.key(db), uses(db, file));
    tally_check::check(&parsed.file, ModuleKey(file.key(db).clone()), &imports)
}

/// Parses and checks `text` as if it were the text of the file `key`, against the modules its
/// `use`s name, without changing the database: what an editor needs to type an expression the
/// user is still writing (completion after a `.`). Not cached.
pub fn check_text(db: &dyn Db, key: &str, text: &str) -> (Parsed, Checked) {
    let parsed = tally_syntax::parse(text);
    let imports = imports(db, key, &uses_in(key, &parsed.file));
    let checked = tally_check::check(&parsed.file, ModuleKey(key.to_string()), &imports);
    (parsed, checked)
}

/// The `use`s of the file `key`, resolved against the workspace.
fn imports(db: &dyn Db, key: &str, uses: &[(String, Span)]) -> Vec<Import> {
    let files = db.workspace().files(db);
    uses.iter()
        .map(|(used, span)| {
            let module = ModuleKey(used.clone());
            match files.get(used) {
                Some(_) if reaches(db, used, key) => Import {
                    span: *span,
                    module,
                    interface: None,
                    not_found: Some((
                        format!(
                            "`{used}` uses this file back: modules cannot use each other in a circle"
                        ),
                        Some("move the shared definitions into a third module".into()),
                    )),
                },
                Some(target) => Import {
                    span: *span,
                    interface: Some(check(db, *target).interface.clone()),
                    module,
                    not_found: None,
                },
                None => Import {
                    span: *span,
                    module,
                    interface: None,
                    not_found: Some(match db.workspace().refused(db).get(used) {
                        Some(reason) => (
                            format!("cannot use `{used}`: {reason}"),
                            Some(
                                "a module is a `.tally` file inside the project (the directory with `tally.toml` or `.git`, else the current one)"
                                    .into(),
                            ),
                        ),
                        None => not_found(used, files.keys()),
                    }),
                },
            }
        })
        .collect()
}

fn not_found<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> (String, Option<String>) {
    if key.starts_with("std.") {
        let names = Names::new(key, STD_MODULES.iter().map(|(n, _)| *n))
            .listed_as("the standard library has");
        return (format!("no standard module `{key}`"), names.help());
    }
    let known: Vec<&str> = known
        .map(String::as_str)
        .filter(|k| k.ends_with(".tally"))
        .collect();
    (
        format!("cannot read `{key}`"),
        Some(
            Names::new(key, known)
                .closest()
                .map(|k| format!("did you mean `{k}`?"))
                .unwrap_or_else(|| "the path is relative to the file that uses it".into()),
        ),
    )
}

/// Everything wrong with one file, in source order: syntax, semantics, and counters the
/// snapshot does not have (when a snapshot schema is known).
#[salsa::tracked(returns(ref))]
pub fn diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let mut all = parse(db, file).diagnostics.clone();
    let checked = check(db, file);
    all.extend(checked.diagnostics.iter().cloned());
    if let Some(by_tenant) = db.schema().counters(db) {
        // A customer file is checked against its own tenant's counters (a tenant missing from
        // the snapshot has none); a module, which any tenant may use, against all of them.
        let counters: BTreeSet<String> = match &checked.customer {
            Some(customer) => by_tenant
                .get(&customer.tenant.to_lowercase())
                .cloned()
                .unwrap_or_default(),
            None => by_tenant.values().flatten().cloned().collect(),
        };
        let mut exprs: Vec<&tally_ir::TExpr> = checked.lets.values().collect();
        for line in &checked.lines {
            exprs.push(&line.value);
            exprs.extend(line.price.iter());
            exprs.extend(line.minimum.iter());
        }
        for expr in exprs {
            expr.walk(&mut |e| {
                if let TExprKind::Counter(name) = &e.kind
                    && !counters.contains(name)
                {
                    let mut d = Diagnostic::warning(
                        Code::MissingData,
                        match &checked.customer {
                            Some(c) => {
                                format!("the snapshot has no counter `{name}` for `{}`", c.tenant)
                            }
                            None => format!("the snapshot has no counter `{name}`"),
                        },
                        e.span,
                    );
                    if let Some(help) =
                        Names::new(name, counters.iter().map(String::as_str)).closest()
                    {
                        d = d.with_help(format!("did you mean `{help}`?"));
                    }
                    all.push(d);
                }
            });
        }
    }
    all.sort_by_key(|d| (d.primary_span().start, d.primary_span().end));
    all
}

/// The linked program of a customer file, or why there is none.
#[salsa::tracked(returns(ref))]
pub fn program(db: &dyn Db, file: SourceFile) -> Result<Program, Diagnostic> {
    let files = db.workspace().files(db);
    let mut modules: Vec<SourceFile> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = uses(db, file).iter().map(|(k, _)| k.clone()).collect();
    while let Some(key) = stack.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        if let Some(module) = files.get(&key) {
            modules.push(*module);
            stack.extend(uses(db, *module).iter().map(|(k, _)| k.clone()));
        }
    }
    modules.sort_by(|a, b| a.key(db).cmp(b.key(db)));
    let checked: Vec<&Checked> = modules.iter().map(|m| check(db, *m)).collect();
    let errors = parse(db, file).diagnostics.iter().any(Diagnostic::is_error)
        || modules
            .iter()
            .any(|m| parse(db, *m).diagnostics.iter().any(Diagnostic::is_error));
    if errors {
        return Err(Diagnostic::error(
            Code::RulesHaveErrors,
            format!(
                "`{}` or a module it uses has syntax errors; run `tally check`",
                file.key(db)
            ),
            Span::default(),
        ));
    }
    let mut sources: tally_ir::Sources = BTreeMap::new();
    sources.insert(
        ModuleKey(file.key(db).clone()),
        Arc::from(file.text(db).as_str()),
    );
    for module in &modules {
        sources.insert(
            ModuleKey(module.key(db).clone()),
            Arc::from(module.text(db).as_str()),
        );
    }
    tally_check::link(check(db, file), &checked, sources)
}
