//! The journal: a SQLite database in the project's state directory. Every write an apply
//! makes is recorded before it is sent (its intent: the request and body, never a header) and
//! after (the PSA's answer and the id it gave), so an apply that was interrupted can be resumed
//! and audited. A lock beside it lets one apply at a time use it.

use crate::error::PsaError;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

pub const JOURNAL_FILE: &str = "push-journal.sqlite3";
const LOCK_FILE: &str = "push.lock";

pub struct Journal {
    conn: Connection,
    path: PathBuf,
    /// Held for the whole apply: an open exclusive transaction on the lock database, released
    /// by the operating system if the process dies.
    lock: Option<Connection>,
    run: Option<i64>,
}

/// A write recorded as intended whose answer never came (the process stopped, or the answer
/// was lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub run: i64,
    pub psa: String,
    pub tenant: String,
    pub key: String,
    pub action: String,
    pub request: String,
    pub external_id: Option<String>,
}

/// One recorded write (for tests and audits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub run: i64,
    pub key: String,
    pub action: String,
    pub request: String,
    pub body: String,
    pub state: String,
    pub external_id: Option<String>,
    pub answer: Option<String>,
}

fn db_error(path: &Path, e: impl std::fmt::Display) -> PsaError {
    PsaError::Journal(format!("journal `{}`: {e}", path.display()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`.
    pub fn open(dir: &Path) -> Result<Journal, PsaError> {
        std::fs::create_dir_all(dir).map_err(|e| db_error(dir, e))?;
        let path = dir.join(JOURNAL_FILE);
        let conn = Connection::open(&path).map_err(|e| db_error(&path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| db_error(&path, e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS runs (
               id INTEGER PRIMARY KEY,
               started INTEGER NOT NULL,
               finished INTEGER,
               plan_sha256 TEXT NOT NULL,
               outcome TEXT
             );
             CREATE TABLE IF NOT EXISTS writes (
               id INTEGER PRIMARY KEY,
               run INTEGER NOT NULL REFERENCES runs(id),
               psa TEXT NOT NULL,
               tenant TEXT NOT NULL,
               key TEXT NOT NULL,
               action TEXT NOT NULL,
               request TEXT NOT NULL,
               body TEXT NOT NULL,
               state TEXT NOT NULL,
               external_id TEXT,
               answer TEXT,
               intended INTEGER NOT NULL,
               answered INTEGER
             );
             CREATE TABLE IF NOT EXISTS owned (
               psa TEXT NOT NULL,
               external_id TEXT NOT NULL,
               key TEXT NOT NULL,
               PRIMARY KEY (psa, external_id)
             );",
        )
        .map_err(|e| db_error(&path, e))?;
        Ok(Journal {
            conn,
            path,
            lock: None,
            run: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock for an apply; refuses at once when another apply holds it.
    pub fn lock(&mut self) -> Result<(), PsaError> {
        let Some(dir) = self.path.parent() else {
            return Err(db_error(&self.path, "no directory"));
        };
        let lock_path = dir.join(LOCK_FILE);
        let conn = Connection::open(&lock_path).map_err(|e| db_error(&lock_path, e))?;
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| db_error(&lock_path, e))?;
        match conn.execute_batch("PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE;") {
            Ok(()) => {
                self.lock = Some(conn);
                Ok(())
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Err(PsaError::Journal(format!(
                    "another `tally push --apply` is running on the journal `{}`: wait for it to finish",
                    self.path.display()
                )))
            }
            Err(e) => Err(db_error(&lock_path, e)),
        }
    }

    pub fn begin_run(&mut self, plan_sha256: &str) -> Result<i64, PsaError> {
        self.conn
            .execute(
                "INSERT INTO runs (started, plan_sha256) VALUES (?1, ?2)",
                params![now(), plan_sha256],
            )
            .map_err(|e| db_error(&self.path, e))?;
        let id = self.conn.last_insert_rowid();
        self.run = Some(id);
        Ok(id)
    }

    pub fn finish_run(&self, outcome: &str) -> Result<(), PsaError> {
        if let Some(run) = self.run {
            self.conn
                .execute(
                    "UPDATE runs SET finished = ?1, outcome = ?2 WHERE id = ?3",
                    params![now(), outcome, run],
                )
                .map_err(|e| db_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes of earlier runs that were intended and never answered.
    pub fn pending(&self) -> Result<Vec<Pending>, PsaError> {
        self.rows(
            "SELECT id, run, psa, tenant, key, action, request, external_id FROM writes
             WHERE state = 'intended' ORDER BY id",
            |row| {
                Ok(Pending {
                    id: row.get(0)?,
                    run: row.get(1)?,
                    psa: row.get(2)?,
                    tenant: row.get(3)?,
                    key: row.get(4)?,
                    action: row.get(5)?,
                    request: row.get(6)?,
                    external_id: row.get(7)?,
                })
            },
        )
    }

    /// Records a write about to be sent. Durable before the request leaves.
    #[allow(clippy::too_many_arguments)]
    pub fn intend(
        &self,
        psa: &str,
        tenant: &str,
        key: &str,
        action: &str,
        request: &str,
        body: &str,
        external_id: Option<&str>,
    ) -> Result<i64, PsaError> {
        let run = self.run.unwrap_or(0);
        self.conn
            .execute(
                "INSERT INTO writes (run, psa, tenant, key, action, request, body, state, external_id, intended)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'intended', ?8, ?9)",
                params![run, psa, tenant, key, action, request, body, external_id, now()],
            )
            .map_err(|e| db_error(&self.path, e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records how a write ended: `done`, `confirmed` (carried out, its answer lost), `failed`
    /// or `not_applied`.
    pub fn answer(
        &self,
        id: i64,
        state: &str,
        external_id: Option<&str>,
        answer: &str,
    ) -> Result<(), PsaError> {
        self.conn
            .execute(
                "UPDATE writes SET state = ?1, external_id = COALESCE(?2, external_id), answer = ?3, answered = ?4
                 WHERE id = ?5",
                params![state, external_id, answer, now(), id],
            )
            .map_err(|e| db_error(&self.path, e))?;
        Ok(())
    }

    /// Remembers that a PSA line is Tally's, under a plan line id.
    pub fn own(&self, psa: &str, external_id: &str, key: &str) -> Result<(), PsaError> {
        self.conn
            .execute(
                "INSERT INTO owned (psa, external_id, key) VALUES (?1, ?2, ?3)
                 ON CONFLICT (psa, external_id) DO UPDATE SET key = excluded.key",
                params![psa, external_id, key],
            )
            .map_err(|e| db_error(&self.path, e))?;
        Ok(())
    }

    pub fn owner(&self, psa: &str, external_id: &str) -> Result<Option<String>, PsaError> {
        self.conn
            .query_row(
                "SELECT key FROM owned WHERE psa = ?1 AND external_id = ?2",
                params![psa, external_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| db_error(&self.path, e))
    }

    /// Every write recorded, oldest first.
    pub fn writes(&self) -> Result<Vec<Recorded>, PsaError> {
        self.rows(
            "SELECT run, key, action, request, body, state, external_id, answer FROM writes ORDER BY id",
            |row| {
                Ok(Recorded {
                    run: row.get(0)?,
                    key: row.get(1)?,
                    action: row.get(2)?,
                    request: row.get(3)?,
                    body: row.get(4)?,
                    state: row.get(5)?,
                    external_id: row.get(6)?,
                    answer: row.get(7)?,
                })
            },
        )
    }

    /// Every row `sql` selects, each read by `read`.
    fn rows<T>(
        &self,
        sql: &str,
        read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, PsaError> {
        let mut statement = self
            .conn
            .prepare(sql)
            .map_err(|e| db_error(&self.path, e))?;
        let rows = statement
            .query_map([], read)
            .map_err(|e| db_error(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| db_error(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_apply_on_the_same_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Journal::open(dir.path()).unwrap();
        first.lock().unwrap();
        let mut second = Journal::open(dir.path()).unwrap();
        let error = second.lock().unwrap_err().to_string();
        assert!(error.contains("another `tally push --apply`"), "{error}");
        drop(first);
        second.lock().unwrap();
    }

    #[test]
    fn intents_stay_pending_until_answered() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        journal.begin_run("abc").unwrap();
        let id = journal
            .intend(
                "ConnectWise",
                "t",
                "t/support",
                "create",
                "POST /x",
                "{}",
                None,
            )
            .unwrap();
        assert_eq!(journal.pending().unwrap().len(), 1);
        journal.answer(id, "done", Some("17"), "201").unwrap();
        assert!(journal.pending().unwrap().is_empty());
        journal.own("ConnectWise", "17", "t/support").unwrap();
        assert_eq!(
            journal.owner("ConnectWise", "17").unwrap().as_deref(),
            Some("t/support")
        );
    }
}
