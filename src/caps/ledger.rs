//! The ledger: every cap place ever granted, in one SQLite file per deployment.
//!
//! A grant records the cap, the case id, the policy and version, the case's as-of date, when it
//! was made and by which batch. Grants are never deleted: a released grant keeps its row with
//! the time and reason of the release, so the ledger is an audit trail. A batch's grants are
//! written in one immediate write transaction that also reads the counts it allocates from, so
//! two runs on one ledger are serialised by SQLite and together never exceed a limit, and a run
//! that dies before committing leaves the ledger exactly as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::{GrantBook, NewGrant};
use crate::dates::{Date, format_date, parse_date};
use crate::diagnostics::Describe;

/// The ledger schema this build writes; older ones are migrated, newer ones refused.
pub const SCHEMA_VERSION: i64 = 1;
const APPLICATION: &str = "readmit-ledger";
/// How long a run waits for another run's transaction on the same ledger.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// What can go wrong with a ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite could not open or read the file.
    #[error("cannot open the ledger `{path}`: {reason}")]
    CannotOpen {
        /// The file.
        path: String,
        /// SQLite's reason.
        reason: String,
    },
    /// The file is a database, but not a readmit ledger.
    #[error("`{path}` is not a readmit ledger")]
    NotALedger {
        /// The file.
        path: String,
    },
    /// Written by a newer readmit.
    #[error(
        "the ledger `{path}` has schema version {found}; this readmit reads up to version {supported}"
    )]
    TooNew {
        /// The file.
        path: String,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// A query failed.
    #[error("the ledger `{path}` failed: {reason}")]
    Query {
        /// The file.
        path: String,
        /// SQLite's reason.
        reason: String,
    },
    /// The run was interrupted before its grants were committed.
    #[error("interrupted before the grants were recorded")]
    Interrupted,
    /// `release` of a grant that does not exist.
    #[error("no active grant of cap `{cap}` for case `{case_id}` in the ledger")]
    NoSuchGrant {
        /// The cap.
        cap: String,
        /// The case.
        case_id: String,
    },
}

impl Describe for LedgerError {
    fn code(&self) -> &'static str {
        match self {
            LedgerError::CannotOpen { .. } => "readmit::ledger::cannot_open",
            LedgerError::NotALedger { .. } => "readmit::ledger::not_a_ledger",
            LedgerError::TooNew { .. } => "readmit::ledger::too_new",
            LedgerError::Query { .. } => "readmit::ledger::query",
            LedgerError::NoSuchGrant { .. } => "readmit::ledger::no_such_grant",
            LedgerError::Interrupted => "readmit::ledger::interrupted",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            LedgerError::CannotOpen { .. } => "check the path, its folder and permissions".into(),
            LedgerError::NotALedger { .. } => {
                "name a ledger file readmit created, or a new path to create one; nothing was written".into()
            }
            LedgerError::TooNew { .. } => "use the readmit that wrote this ledger, or a newer one; nothing was written".into(),
            LedgerError::Query { .. } => "the ledger was left as it was; run again, or check the disk".into(),
            LedgerError::NoSuchGrant { .. } => "`readmit ledger list` shows the grants there are".into(),
            LedgerError::Interrupted => "the ledger is as it was before the run; run the batch again".into(),
        })
    }
}

/// A grant as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GrantRow {
    /// The policy.
    pub policy: String,
    /// The cap.
    pub cap: String,
    /// The case.
    pub case_id: String,
    /// The version that decided it (`imported` for seeded grants).
    pub version: String,
    /// The case's as-of date.
    pub as_of: String,
    /// When it was granted (RFC 3339).
    pub granted_at: String,
    /// The batch that made it.
    pub batch: Option<i64>,
    /// When it was released, if it was.
    pub released_at: Option<String>,
    /// Why it was released.
    pub release_reason: Option<String>,
}

impl GrantRow {
    /// A row of `SELECT policy, cap, case_id, version, as_of, granted_at, batch, released_at,
    /// release_reason`.
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
        Ok(GrantRow {
            policy: r.get(0)?,
            cap: r.get(1)?,
            case_id: r.get(2)?,
            version: r.get(3)?,
            as_of: r.get(4)?,
            granted_at: r.get(5)?,
            batch: r.get(6)?,
            released_at: r.get(7)?,
            release_reason: r.get(8)?,
        })
    }
}

/// An open ledger file.
pub struct Ledger {
    connection: Connection,
    path: PathBuf,
}

fn now() -> String {
    format!("{:.0}", jiff::Timestamp::now())
}

impl Ledger {
    /// Opens a ledger, creating it on first use and migrating an older schema. A file that is
    /// not a readmit ledger, or is from a newer readmit, is refused and left untouched.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let shown = path.display().to_string();
        let cannot_open = |e: rusqlite::Error| LedgerError::CannotOpen {
            path: shown.clone(),
            reason: e.to_string(),
        };
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(cannot_open)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(cannot_open)?;
        let ledger = Ledger {
            connection,
            path: path.to_path_buf(),
        };
        ledger.prepare_schema()?;
        Ok(ledger)
    }

    fn query_error(&self, e: rusqlite::Error) -> LedgerError {
        match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                LedgerError::NotALedger {
                    path: self.path.display().to_string(),
                }
            }
            other => LedgerError::Query {
                path: self.path.display().to_string(),
                reason: other.to_string(),
            },
        }
    }

    fn prepare_schema(&self) -> Result<(), LedgerError> {
        let shown = self.path.display().to_string();
        let tables: i64 = self
            .connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.query_error(e))?;
        let version: i64 = self
            .connection
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.query_error(e))?;
        if tables > 0 {
            let application: Option<String> = self
                .connection
                .query_row(
                    "SELECT value FROM meta WHERE key = 'application'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .unwrap_or(None);
            if application.as_deref() != Some(APPLICATION) {
                return Err(LedgerError::NotALedger { path: shown });
            }
            if version > SCHEMA_VERSION {
                return Err(LedgerError::TooNew {
                    path: shown,
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            if version == SCHEMA_VERSION {
                return Ok(());
            }
        }
        // A new file (or, in later versions, an older schema): create or migrate, atomically.
        self.connection
            .execute_batch(
                "BEGIN IMMEDIATE;
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT OR REPLACE INTO meta (key, value) VALUES ('application', 'readmit-ledger');
                 CREATE TABLE IF NOT EXISTS batches (
                     id INTEGER PRIMARY KEY,
                     policy TEXT NOT NULL,
                     source TEXT NOT NULL,
                     started_at TEXT NOT NULL,
                     committed_at TEXT NOT NULL,
                     grants INTEGER NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS grants (
                     id INTEGER PRIMARY KEY,
                     policy TEXT NOT NULL,
                     cap TEXT NOT NULL,
                     case_id TEXT NOT NULL,
                     version TEXT NOT NULL,
                     as_of TEXT NOT NULL,
                     granted_at TEXT NOT NULL,
                     batch INTEGER REFERENCES batches(id),
                     released_at TEXT,
                     release_reason TEXT
                 );
                 CREATE UNIQUE INDEX IF NOT EXISTS one_active_grant_per_case
                     ON grants (policy, case_id) WHERE released_at IS NULL;
                 CREATE INDEX IF NOT EXISTS grants_by_cap ON grants (policy, cap, as_of);
                 PRAGMA user_version = 1;
                 COMMIT;",
            )
            .map_err(|e| {
                let _ = self.connection.execute_batch("ROLLBACK");
                self.query_error(e)
            })
    }

    /// Runs `allocate` inside one immediate write transaction: it sees the grants of `policy`
    /// as they are when the transaction starts, and the grants it returns are committed with
    /// the batch, or nothing is.
    /// `stop` is asked once more before the commit: when it says so, nothing is committed.
    pub fn allocate_and_record<T>(
        &mut self,
        policy: &str,
        source: &str,
        allocate: impl FnOnce(&dyn GrantBook) -> (T, Vec<NewGrant>),
        stop: &dyn Fn() -> bool,
    ) -> Result<T, LedgerError> {
        let path = self.path.display().to_string();
        let started_at = now();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| LedgerError::Query {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let book = TransactionBook {
            transaction: &transaction,
            policy,
        };
        let (result, grants) = allocate(&book);
        let query = |e: rusqlite::Error| LedgerError::Query {
            path: path.clone(),
            reason: e.to_string(),
        };
        if !grants.is_empty() {
            transaction
                .execute(
                    "INSERT INTO batches (policy, source, started_at, committed_at, grants) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![policy, source, started_at, now(), grants.len() as i64],
                )
                .map_err(query)?;
            let batch = transaction.last_insert_rowid();
            let granted_at = now();
            let mut insert = transaction
                .prepare(
                    "INSERT INTO grants (policy, cap, case_id, version, as_of, granted_at, batch)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(query)?;
            for grant in &grants {
                insert
                    .execute(params![
                        policy,
                        grant.cap,
                        grant.case_id,
                        grant.version,
                        format_date(grant.as_of),
                        granted_at,
                        batch
                    ])
                    .map_err(query)?;
            }
        }
        hold_for_fault_injection(stop);
        if stop() {
            // Dropping the transaction rolls it back: the ledger stays as it was.
            return Err(LedgerError::Interrupted);
        }
        transaction.commit().map_err(query)?;
        Ok(result)
    }

    /// The number of active grants that count for a cap.
    pub fn count(
        &self,
        policy: &str,
        caps: Option<&[String]>,
        from: Option<Date>,
    ) -> Result<u64, LedgerError> {
        count_grants(&self.connection, policy, caps, from).map_err(|e| self.query_error(e))
    }

    /// Grants, oldest first: of one policy and cap if given; released ones too if asked.
    pub fn list(
        &self,
        policy: Option<&str>,
        cap: Option<&str>,
        include_released: bool,
    ) -> Result<Vec<GrantRow>, LedgerError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT policy, cap, case_id, version, as_of, granted_at, batch, released_at, release_reason
                 FROM grants
                 WHERE (?1 IS NULL OR policy = ?1) AND (?2 IS NULL OR cap = ?2)
                   AND (?3 OR released_at IS NULL)
                 ORDER BY id",
            )
            .map_err(|e| self.query_error(e))?;
        let rows = statement
            .query_map(params![policy, cap, include_released], GrantRow::from_row)
            .map_err(|e| self.query_error(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.query_error(e))
    }

    /// Releases a grant: the place is freed, the row stays with the reason and time.
    pub fn release(
        &mut self,
        policy: Option<&str>,
        cap: &str,
        case_id: &str,
        reason: &str,
    ) -> Result<GrantRow, LedgerError> {
        let path = self.path.display().to_string();
        let query = |e: rusqlite::Error| LedgerError::Query {
            path: path.clone(),
            reason: e.to_string(),
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(query)?;
        let released_at = now();
        let changed = transaction
            .execute(
                "UPDATE grants SET released_at = ?1, release_reason = ?2
                 WHERE cap = ?3 AND case_id = ?4 AND (?5 IS NULL OR policy = ?5) AND released_at IS NULL",
                params![released_at, reason, cap, case_id, policy],
            )
            .map_err(query)?;
        if changed == 0 {
            return Err(LedgerError::NoSuchGrant {
                cap: cap.to_string(),
                case_id: case_id.to_string(),
            });
        }
        let row = transaction
            .query_row(
                "SELECT policy, cap, case_id, version, as_of, granted_at, batch, released_at, release_reason
                 FROM grants WHERE cap = ?1 AND case_id = ?2 AND released_at = ?3 ORDER BY id DESC LIMIT 1",
                params![cap, case_id, released_at],
                GrantRow::from_row,
            )
            .map_err(query)?;
        transaction.commit().map_err(query)?;
        Ok(row)
    }

    /// Seeds grants made before readmit was used. A case that already holds a grant of the
    /// policy is skipped, so importing the same file twice changes nothing. Returns (added,
    /// skipped).
    pub fn import(
        &mut self,
        policy: &str,
        cap: &str,
        grants: &[(String, Date)],
        source: &str,
    ) -> Result<(usize, usize), LedgerError> {
        let path = self.path.display().to_string();
        let query = |e: rusqlite::Error| LedgerError::Query {
            path: path.clone(),
            reason: e.to_string(),
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(query)?;
        let started_at = now();
        transaction
            .execute(
                "INSERT INTO batches (policy, source, started_at, committed_at, grants) VALUES (?1, ?2, ?3, ?3, 0)",
                params![policy, source, started_at],
            )
            .map_err(query)?;
        let batch = transaction.last_insert_rowid();
        let (mut added, mut skipped) = (0usize, 0usize);
        for (case_id, as_of) in grants {
            let changed = transaction
                .execute(
                    "INSERT OR IGNORE INTO grants (policy, cap, case_id, version, as_of, granted_at, batch)
                     VALUES (?1, ?2, ?3, 'imported', ?4, ?5, ?6)",
                    params![policy, cap, case_id, format_date(*as_of), started_at, batch],
                )
                .map_err(query)?;
            if changed == 0 {
                skipped += 1;
            } else {
                added += 1;
            }
        }
        transaction
            .execute(
                "UPDATE batches SET grants = ?1 WHERE id = ?2",
                params![added as i64, batch],
            )
            .map_err(query)?;
        transaction.commit().map_err(query)?;
        Ok((added, skipped))
    }
}

/// Fault injection for tests: `READMIT_LEDGER_HOLD_MS` keeps the write transaction open (its
/// grants inserted, not committed) for that long, so that a test can kill the run there.
fn hold_for_fault_injection(stop: &dyn Fn() -> bool) {
    if let Some(ms) = std::env::var("READMIT_LEDGER_HOLD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let deadline = std::time::Instant::now() + Duration::from_millis(ms.min(60_000));
        while std::time::Instant::now() < deadline && !stop() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn count_grants(
    connection: &Connection,
    policy: &str,
    caps: Option<&[String]>,
    from: Option<Date>,
) -> rusqlite::Result<u64> {
    let from = from.map(format_date);
    let count: i64 = match caps {
        None => connection.query_row(
            "SELECT count(*) FROM grants WHERE policy = ?1 AND released_at IS NULL AND (?2 IS NULL OR as_of >= ?2)",
            params![policy, from],
            |r| r.get(0),
        )?,
        Some(names) => {
            let mut total = 0i64;
            for name in names {
                let n: i64 = connection.query_row(
                    "SELECT count(*) FROM grants WHERE policy = ?1 AND cap = ?2 AND released_at IS NULL AND (?3 IS NULL OR as_of >= ?3)",
                    params![policy, name, from],
                    |r| r.get(0),
                )?;
                total += n;
            }
            total
        }
    };
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The ledger as seen from inside the allocation's transaction.
struct TransactionBook<'t> {
    transaction: &'t Transaction<'t>,
    policy: &'t str,
}

impl GrantBook for TransactionBook<'_> {
    fn holds(&self, case_id: &str) -> bool {
        // Asked of every candidate: the statement is prepared once (preparing it each time was
        // half of a million-case run with a ledger).
        self.transaction
            .prepare_cached(
                "SELECT 1 FROM grants WHERE policy = ?1 AND case_id = ?2 AND released_at IS NULL",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![self.policy, case_id], |_| Ok(()))
                    .optional()
            })
            .ok()
            .flatten()
            .is_some()
    }

    fn may_hold(&self) -> bool {
        count_grants(self.transaction, self.policy, None, None).map_or(true, |held| held > 0)
    }

    fn count(&self, caps: Option<&[String]>, from: Option<Date>) -> u64 {
        count_grants(self.transaction, self.policy, caps, from).unwrap_or(u64::MAX)
    }
}

/// Reads `(case id, as-of date)` pairs to import, from CSV or JSON Lines. `date_field` is the
/// policy's as-of field (e.g. `decision_date`); `as_of` is accepted too.
pub fn read_import(
    text: &str,
    csv_input: bool,
    date_field: &str,
) -> Result<Vec<(String, Date)>, String> {
    let mut grants = Vec::new();
    let pick =
        |id: Option<String>, date: Option<String>, line: usize| -> Result<(String, Date), String> {
            let id = id
                .filter(|i| !i.is_empty())
                .ok_or_else(|| format!("line {line}: no `id`"))?;
            let date = date.ok_or_else(|| format!("line {line}: no `{date_field}`"))?;
            let date = parse_date(&date)
                .ok_or_else(|| format!("line {line}: `{date}` is not a date (YYYY-MM-DD)"))?;
            Ok((id, date))
        };
    if csv_input {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| format!("cannot read the CSV header: {e}"))?
            .clone();
        let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
        let id_column = column(&["id", "case_id"]).ok_or("the CSV has no `id` column")?;
        let date_column = column(&[date_field, "as_of", "decision_date"])
            .ok_or(format!("the CSV has no `{date_field}` column"))?;
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| format!("line {}: {e}", i + 2))?;
            grants.push(pick(
                row.get(id_column).map(str::to_string),
                row.get(date_column).map(str::to_string),
                i + 2,
            )?);
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            let text_of = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
            grants.push(pick(
                text_of("id").or_else(|| text_of("case_id")),
                text_of(date_field)
                    .or_else(|| text_of("as_of"))
                    .or_else(|| text_of("decision_date")),
                i + 1,
            )?);
        }
    }
    Ok(grants)
}
