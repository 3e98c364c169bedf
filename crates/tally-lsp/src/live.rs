//! Live values: when the workspace names a snapshot (the `snapshot` setting, or `snapshot =
//! "path"` in `tally.toml`), hovers show what the rules come to against it, from
//! `tally_driver::explain`, and the checker warns about counters the snapshot lacks.

use crate::world::Settings;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tally_db::{Database, Db, SourceFile};
use tally_driver::{Explanation, Failure};
use tally_snapshot::{Period, Snapshot};

pub(crate) struct Loaded {
    /// The snapshot's path as configured, for people.
    pub name: String,
    pub path: PathBuf,
    pub snapshot: Snapshot,
    pub period: Period,
}

/// One line's explanation, or why there is none.
pub(crate) type Explained = Result<Explanation, String>;

#[derive(Default)]
pub(crate) struct Live {
    /// The configured snapshot (`None`: none configured), loaded or why not.
    pub state: Option<Result<Loaded, String>>,
    configured: Option<String>,
    /// Each customer file's explanations, by key, with the generation they were made in.
    cache: BTreeMap<String, (u64, Vec<(String, Explained)>)>,
}

impl Live {
    /// Loads the snapshot the settings name, if it is not the one already loaded.
    pub fn configure(&mut self, db: &mut Database, root: &Path, settings: &Settings) {
        if self.configured == settings.snapshot && self.state.is_some() {
            return;
        }
        self.reload(db, root, settings);
    }

    /// Loads the snapshot the settings name again (it changed on disk).
    pub fn reload(&mut self, db: &mut Database, root: &Path, settings: &Settings) {
        self.cache.clear();
        self.configured = settings.snapshot.clone();
        self.state = settings.snapshot.as_ref().map(|name| load(root, name));
        let counters = match &self.state {
            Some(Ok(loaded)) => Some(
                loaded
                    .snapshot
                    .tenants
                    .iter()
                    .map(|t| {
                        let names: BTreeSet<String> =
                            t.counters.iter().map(|c| c.name.clone()).collect();
                        (t.tenant.to_lowercase(), names)
                    })
                    .collect::<BTreeMap<_, _>>(),
            ),
            _ => None,
        };
        if db.schema().counters(db) != &counters {
            db.set_snapshot_counters(counters);
        }
    }

    pub fn is_snapshot(&self, path: &Path) -> bool {
        matches!(&self.state, Some(Ok(loaded)) if loaded.path == path)
            || self
                .configured
                .as_deref()
                .is_some_and(|c| path.ends_with(c))
    }

    pub fn loaded(&self) -> Option<&Loaded> {
        match &self.state {
            Some(Ok(loaded)) => Some(loaded),
            _ => None,
        }
    }

    /// Every line of a customer file, explained against the snapshot; computed once per
    /// generation of the rules.
    pub fn explanations(
        &mut self,
        db: &Database,
        generation: u64,
        file: SourceFile,
    ) -> Result<&[(String, Explained)], String> {
        let loaded = match &self.state {
            None => return Err("no snapshot is configured".into()),
            Some(Err(why)) => return Err(why.clone()),
            Some(Ok(loaded)) => loaded,
        };
        let key = file.key(db).clone();
        let fresh = matches!(self.cache.get(&key), Some((g, _)) if *g == generation);
        if !fresh {
            let names: Vec<String> = match tally_db::program(db, file) {
                Ok(program) => program.lines.iter().map(|l| l.name.clone()).collect(),
                Err(d) => return Err(d.message.clone()),
            };
            let explained = names
                .into_iter()
                .map(|name| {
                    let result =
                        tally_driver::explain(db, file, &loaded.snapshot, loaded.period, &name)
                            .map_err(|f| failure(&f));
                    (name, result)
                })
                .collect();
            self.cache.insert(key.clone(), (generation, explained));
        }
        Ok(self
            .cache
            .get(&key)
            .map(|(_, e)| e.as_slice())
            .unwrap_or_default())
    }
}

fn load(root: &Path, name: &str) -> Result<Loaded, String> {
    let path = root.join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the snapshot `{name}`: {e}"))?;
    let snapshot = tally_snapshot::from_json(&text)
        .map_err(|e| format!("the snapshot `{name}` is not valid: {e}"))?;
    let period = tally_driver::plan_period(&snapshot, None, name).map_err(|f| failure(&f))?;
    Ok(Loaded {
        name: name.to_string(),
        path,
        snapshot,
        period,
    })
}

fn failure(failure: &Failure) -> String {
    match failure {
        Failure::Refusal(why) => why.clone(),
        Failure::Problems(problems) => problems
            .iter()
            .take(3)
            .map(|p| format!("{}: {}", p.diagnostic.code, p.diagnostic.message))
            .collect::<Vec<_>>()
            .join("; "),
    }
}
