//! The engine's ports over one SQLite file: state machines (every revision), executions with
//! their outbox, history, timers, task tokens (hashed) and tags. Each step commits in one
//! transaction, in WAL mode, so a process killed at any moment loses nothing committed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use waymark_asl::parse::{parse_text, MachineType, ParseOptions};
use waymark_engine::approval::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
use waymark_engine::history::HistoryEvent;
use waymark_engine::map_children::{ChildExecution, ChildUpdate, NameParts};
use waymark_engine::ports::*;
use waymark_engine::record::{ExecutionRecord, Status};
use waymark_engine::step::{Effect, Signal, TaskRequest};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT NOT NULL,
    revision INTEGER NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    machine_type TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (arn, revision)
);
-- Covers ListStateMachines: a page is read from the index alone, in name order, never
-- touching the (up to 1 MB) definitions.
CREATE INDEX IF NOT EXISTS state_machines_by_name ON state_machines (name, arn, revision, machine_type, created);
CREATE TABLE IF NOT EXISTS deleted_state_machines (arn TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    state_machine_arn TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    outbox TEXT,
    outbox_version INTEGER
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (state_machine_arn, seq);
-- The next execution's seq (MAX) and ListExecutions across machines, newest first, read this
-- index instead of scanning every execution ever started.
CREATE INDEX IF NOT EXISTS executions_by_seq ON executions (seq);
CREATE INDEX IF NOT EXISTS executions_with_outbox ON executions (outbox_version) WHERE outbox IS NOT NULL;
-- An execution's history in chunks of consecutive events, each a JSON array of at most
-- HISTORY_CHUNK_EVENTS events: a 25,000-event history is a few hundred rows, not 25,000
-- B-tree inserts each repeating the execution's ARN.
CREATE TABLE IF NOT EXISTS history_chunks (
    arn TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (arn, first)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    due INTEGER NOT NULL,
    arn TEXT NOT NULL,
    signal TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_by_due ON timers (due, id);
-- An execution's due timers, taken together into one step.
CREATE INDEX IF NOT EXISTS timers_by_execution ON timers (arn, due, id);
CREATE TABLE IF NOT EXISTS task_tokens (
    hash TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    frame TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inflight_tasks (
    arn TEXT NOT NULL,
    frame TEXT NOT NULL,
    seq INTEGER NOT NULL,
    request TEXT NOT NULL,
    PRIMARY KEY (arn, frame, seq)
);
CREATE TABLE IF NOT EXISTS child_waits (
    child_arn TEXT PRIMARY KEY,
    parent_arn TEXT NOT NULL,
    frame TEXT NOT NULL,
    seq INTEGER NOT NULL,
    variant TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS versions (
    arn TEXT NOT NULL,
    number INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (arn, number)
);
CREATE TABLE IF NOT EXISTS activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_by_name ON activities (name, arn);
CREATE TABLE IF NOT EXISTS activity_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_arn TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    queued INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_tasks_by_age ON activity_tasks (activity_arn, queued, id);
CREATE TABLE IF NOT EXISTS aliases (
    arn TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (arn, name)
);
-- Distributed Maps' children as executions of their own (the engine's map_children.rs),
-- written by the steps that start and end them; a run's are listed in the order they started.
-- A run's ARNs are kept once, in map_child_runs; a child is a row keyed by its run's id and its
-- index (id << 40 | index), which its name gives back (NameParts): each child's two writes
-- append and update by integer key, with no index of names to keep.
CREATE TABLE IF NOT EXISTS map_child_runs (
    id INTEGER PRIMARY KEY,
    map_run_arn TEXT NOT NULL UNIQUE,
    hi INTEGER NOT NULL,
    mask INTEGER NOT NULL,
    execution_prefix TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS map_child_runs_by_hi ON map_child_runs (hi);
CREATE TABLE IF NOT EXISTS map_children (
    key INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER,
    input TEXT,
    output TEXT,
    failure TEXT,
    item_count INTEGER NOT NULL
);
"#;

/// A run's names, once.
const PUT_MAP_CHILD_RUN: &str = "INSERT OR IGNORE INTO map_child_runs
        (map_run_arn, hi, mask, execution_prefix, state_machine_arn) VALUES (?1, ?2, ?3, ?4, ?5)";

/// A child as it starts (or, should its start be missing, as it ends).
const UPSERT_MAP_CHILD: &str = "INSERT INTO map_children
        (key, status, start, stop, input, output, failure, item_count)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
    ON CONFLICT (key) DO UPDATE SET
        status = excluded.status, stop = excluded.stop, output = excluded.output,
        failure = excluded.failure, input = COALESCE(map_children.input, excluded.input)";

/// A child's end, over its start: the start's input and date stay ([`ChildExecution::over`]).
const END_MAP_CHILD: &str = "UPDATE map_children
    SET status = ?2, stop = ?3, output = ?4, failure = ?5 WHERE key = ?1";

const MAP_CHILD_COLUMNS: &str = "key, status, start, stop, input, output, failure, item_count";

const CHILD_RUN_COLUMNS: &str = "id, map_run_arn, hi, mask, execution_prefix, state_machine_arn";

/// Children of one run are keyed `run id << 40 | index`.
const INDEX_BITS: u32 = 40;

/// What `map_child_runs` keeps of a run.
struct ChildRun {
    id: i64,
    map_run_arn: String,
    parts: NameParts,
    execution_prefix: String,
    state_machine_arn: String,
}

fn child_run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChildRun> {
    Ok(ChildRun {
        id: r.get(0)?,
        map_run_arn: r.get(1)?,
        parts: NameParts {
            hi: r.get::<_, i64>(2)? as u64,
            mask: r.get::<_, i64>(3)? as u64,
        },
        execution_prefix: r.get(4)?,
        state_machine_arn: r.get(5)?,
    })
}

/// A child's columns, its JSON members as text.
type ChildRow<'a> = (
    &'a ChildUpdate,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn child_from_row(run: &ChildRun, r: &rusqlite::Row<'_>) -> rusqlite::Result<ChildExecution> {
    fn json<T: serde::de::DeserializeOwned>(
        text: Option<String>,
        col: usize,
    ) -> rusqlite::Result<Option<T>> {
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    col,
                    rusqlite::types::Type::Text,
                    e.into(),
                )
            })
        })
        .transpose()
    }
    let index = (r.get::<_, i64>(0)? & ((1 << INDEX_BITS) - 1)) as usize;
    let status: String = r.get(1)?;
    let name = run.parts.name(index);
    Ok(ChildExecution {
        map_run_arn: run.map_run_arn.clone(),
        index,
        execution_arn: format!("{}{name}", run.execution_prefix),
        name,
        state_machine_arn: run.state_machine_arn.clone(),
        status: serde_json::from_value(Value::String(status)).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
        })?,
        start: from_millis(r.get(2)?),
        stop: r.get::<_, Option<i64>>(3)?.map(from_millis),
        input: json(r.get(4)?, 4)?,
        output: json(r.get(5)?, 5)?,
        failure: json(r.get(6)?, 6)?,
        item_count: r.get::<_, i64>(7)? as usize,
    })
}

/// A timer row due for delivery.
#[derive(Debug, Clone)]
pub struct DueTimer {
    pub id: i64,
    pub due: DateTime<Utc>,
    pub execution_arn: String,
    pub signal: Signal,
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Parsed definitions by (arn, revision): parsing once per revision, not per step.
    parsed: Mutex<HashMap<(String, u64), StateMachine>>,
    /// The record the last step committed ([`ExecutionStore::keep`]): the next step of the
    /// same execution takes it instead of parsing the stored text. The version column says
    /// whether it is still the stored one (another process may share the file).
    kept: Mutex<Option<ExecutionRecord>>,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::permanent("SQLite", e.to_string())
}

/// SQLite's own errors: a busy or locked database may pass if tried again.
fn sqlite_error(e: rusqlite::Error) -> StoreError {
    let busy = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    if busy {
        StoreError::transient("SQLite", e)
    } else {
        StoreError::permanent("SQLite", e)
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, or a private in-memory one for
    /// `:memory:`.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let mut conn = if path == ":memory:" {
            Connection::open_in_memory().map_err(backend)?
        } else {
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                private::create_dir(dir)
                    .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
            }
            private::prepare_file(Path::new(path))
                .map_err(|e| backend(format!("cannot create {path}: {e}")))?;
            Connection::open(path).map_err(|e| backend(format!("cannot open {path}: {e}")))?
        };
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        // Every statement the store runs stays prepared (rusqlite keeps 16 by default).
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        migrate_history(&mut conn).map_err(backend)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            parsed: Mutex::default(),
            kept: Mutex::default(),
        })
    }

    pub fn shared(self) -> Arc<SqliteStore> {
        Arc::new(self)
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| backend("the database lock is poisoned"))?;
        f(&mut conn).map_err(sqlite_error)
    }

    /// Rebuilds a state machine from its row, parsing its definition once per revision.
    fn machine_from_row(&self, row: SmRow) -> Result<StateMachine, StoreError> {
        let key = (row.arn.clone(), row.revision);
        if let Some(sm) = self
            .parsed
            .lock()
            .map_err(|_| backend("cache lock"))?
            .get(&key)
        {
            return Ok(sm.clone());
        }
        let machine_type: MachineType = row.machine_type.parse().map_err(backend)?;
        let parsed = parse_text(&row.definition, &ParseOptions { machine_type }).map_err(|d| {
            backend(format!(
                "the stored definition of {} no longer parses: {}",
                row.arn,
                d.first().map(|d| d.to_string()).unwrap_or_default()
            ))
        })?;
        let sm = StateMachine {
            arn: row.arn,
            name: row.name,
            definition_text: row.definition,
            definition: Arc::new(parsed.definition),
            machine_type,
            role_arn: row.role_arn,
            revision: row.revision,
            created: from_millis(row.created),
            updated: from_millis(row.updated),
            started_as: None,
        };
        self.parsed
            .lock()
            .map_err(|_| backend("cache lock"))?
            .insert(key, sm.clone());
        Ok(sm)
    }

    /// The earliest timer, due or not.
    pub fn next_timer(&self) -> Result<Option<DueTimer>, StoreError> {
        let row = self.with(|c| {
            c.prepare_cached("SELECT id, due, arn, signal FROM timers ORDER BY due, id LIMIT 1")?
                .query_row([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .optional()
        })?;
        let Some((id, due, arn, signal)) = row else {
            return Ok(None);
        };
        let signal: Signal = serde_json::from_str(&signal).map_err(backend)?;
        Ok(Some(DueTimer {
            id,
            due: from_millis(due),
            execution_arn: arn,
            signal,
        }))
    }

    /// The timers of `arn` due by `by`, earliest first, at most `max` of them: what one step
    /// of that execution delivers together (a Map's thousand waits ending at once are one
    /// step, not a thousand each rewriting the record).
    pub fn due_timers_of(
        &self,
        arn: &str,
        by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let rows = self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, due, signal FROM timers WHERE arn = ?1 AND due <= ?2
                 ORDER BY due, id LIMIT ?3",
            )?;
            let rows = st.query_map(params![arn, millis(by), max as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(id, due, signal)| {
                Ok(DueTimer {
                    id,
                    due: from_millis(due),
                    execution_arn: arn.to_string(),
                    signal: serde_json::from_str(&signal).map_err(backend)?,
                })
            })
            .collect()
    }

    /// Removes delivered timers (after delivery: a crash in between delivers them again,
    /// which the engine ignores).
    pub fn delete_timers(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached("DELETE FROM timers WHERE id = ?1")?;
                for id in ids {
                    st.execute(params![id])?;
                }
            }
            tx.commit()
        })
    }

    /// The latest workflow time a delivered timer was due at: a restarted process never lets
    /// time go backwards from there (under a scaled or virtual clock it would).
    pub fn last_time(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let v = self.with(|c| {
            c.prepare_cached("SELECT value FROM meta WHERE key = 'last_time'")?
                .query_row([], |r| r.get::<_, String>(0))
                .optional()
        })?;
        Ok(v.and_then(|t| t.parse::<i64>().ok()).map(from_millis))
    }

    pub fn set_last_time(&self, t: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached("INSERT INTO meta (key, value) VALUES ('last_time', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?.execute(
                params![millis(t).to_string()],
            )
            .map(|_| ())
        })
    }

    /// Records a task handed to the worker, until its integration has answered (or sent its
    /// message): a process killed meanwhile invokes it again when it restarts.
    pub fn add_inflight(&self, arn: &str, req: &TaskRequest) -> Result<(), StoreError> {
        let text = serde_json::to_string(req).map_err(backend)?;
        self.with(|c| {
            c.prepare_cached("INSERT OR REPLACE INTO inflight_tasks (arn, frame, seq, request) VALUES (?1, ?2, ?3, ?4)")?.execute(
                params![arn, req.frame, req.seq as i64, text],
            )
            .map(|_| ())
        })
    }

    pub fn remove_inflight(&self, arn: &str, req: &TaskRequest) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "DELETE FROM inflight_tasks WHERE arn = ?1 AND frame = ?2 AND seq = ?3",
            )?
            .execute(params![arn, req.frame, req.seq as i64])
            .map(|_| ())
        })
    }

    pub fn inflight(&self) -> Result<Vec<(String, TaskRequest)>, StoreError> {
        let rows = self.with(|c| {
            let mut st = c.prepare("SELECT arn, request FROM inflight_tasks ORDER BY rowid")?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(a, t)| serde_json::from_str(&t).map(|r| (a, r)).map_err(backend))
            .collect()
    }
}

/// The database holds executions' inputs and outputs: it is readable by its owner only.
/// SQLite gives its `-wal` and `-shm` files the mode of the database file, so they follow.
mod private {
    use std::path::Path;

    /// Creates `dir` and any missing parents 0700; folders that exist are left as they are.
    pub fn create_dir(dir: &Path) -> std::io::Result<()> {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)
    }

    /// Creates the database file 0600 before SQLite does (SQLite would make it 0644 under the
    /// usual umask), and takes group and other access away from one made by an older version,
    /// with its `-wal` and `-shm` files.
    pub fn prepare_file(path: &Path) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
            for suffix in ["", "-wal", "-shm"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                let file = Path::new(&name);
                let Ok(meta) = std::fs::metadata(file) else {
                    continue;
                };
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = path;
        Ok(())
    }
}

struct SmRow {
    arn: String,
    revision: u64,
    name: String,
    definition: String,
    machine_type: String,
    role_arn: String,
    created: i64,
    updated: i64,
}

const SM_COLUMNS: &str =
    "arn, revision, name, definition, machine_type, role_arn, created, updated";

fn sm_row(r: &rusqlite::Row) -> rusqlite::Result<SmRow> {
    Ok(SmRow {
        arn: r.get(0)?,
        revision: r.get::<_, i64>(1)? as u64,
        name: r.get(2)?,
        definition: r.get(3)?,
        machine_type: r.get(4)?,
        role_arn: r.get(5)?,
        created: r.get(6)?,
        updated: r.get(7)?,
    })
}

fn insert_machine(c: &Connection, sm: &StateMachine) -> rusqlite::Result<usize> {
    c.execute(
        &format!(
            "INSERT INTO state_machines ({SM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            sm.arn,
            sm.revision as i64,
            sm.name,
            sm.definition_text,
            sm.machine_type.as_str(),
            sm.role_arn,
            millis(sm.created),
            millis(sm.updated)
        ],
    )
}

impl StateMachineStore for SqliteStore {
    async fn create_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        let exists = self.with(|c| {
            let tx = c.transaction()?;
            let live: bool = tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM state_machines WHERE arn = ?1) AND NOT EXISTS(SELECT 1 FROM deleted_state_machines WHERE arn = ?1)")?.query_row(
                params![sm.arn],
                |r| r.get(0),
            )?;
            if live {
                return Ok(true);
            }
            tx.prepare_cached("DELETE FROM state_machines WHERE arn = ?1")?.execute( params![sm.arn])?;
            tx.prepare_cached("DELETE FROM deleted_state_machines WHERE arn = ?1")?.execute( params![sm.arn])?;
            insert_machine(&tx, sm)?;
            tx.commit()?;
            Ok(false)
        })?;
        if exists {
            return Err(StoreError::AlreadyExists(sm.arn.clone()));
        }
        self.parsed
            .lock()
            .map_err(|_| backend("cache lock"))?
            .retain(|(a, _), _| a != &sm.arn);
        Ok(())
    }

    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>, StoreError> {
        let row = self.with(|c| {
            c.prepare_cached(&format!(
                    "SELECT {SM_COLUMNS} FROM state_machines WHERE arn = ?1 AND NOT EXISTS(SELECT 1 FROM deleted_state_machines WHERE arn = ?1) ORDER BY revision DESC LIMIT 1"
                ))?
                .query_row(params![arn],
                sm_row,
            )
            .optional()
        })?;
        row.map(|r| self.machine_from_row(r)).transpose()
    }

    async fn get_state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> Result<Option<StateMachine>, StoreError> {
        if let Some(sm) = self
            .parsed
            .lock()
            .map_err(|_| backend("cache lock"))?
            .get(&(arn.to_string(), revision))
        {
            return Ok(Some(sm.clone()));
        }
        let row = self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {SM_COLUMNS} FROM state_machines WHERE arn = ?1 AND revision = ?2"
            ))?
            .query_row(params![arn, revision as i64], sm_row)
            .optional()
        })?;
        row.map(|r| self.machine_from_row(r)).transpose()
    }

    async fn update_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        self.with(|c| insert_machine(c, sm).map(|_| ()))
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<(), StoreError> {
        let n = self.with(|c| {
            c.prepare_cached("INSERT OR IGNORE INTO deleted_state_machines (arn) SELECT ?1 WHERE EXISTS(SELECT 1 FROM state_machines WHERE arn = ?1)")?.execute(
                params![arn],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(arn.to_string()));
        }
        Ok(())
    }

    /// Reads the summary columns only: neither the definitions nor their parsed form.
    async fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<StateMachineSummary>, StoreError> {
        let after = next_token.unwrap_or("").to_string();
        let max = max.max(1);
        let rows = self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn, name, machine_type, created FROM state_machines s
                 WHERE revision = (SELECT MAX(revision) FROM state_machines WHERE arn = s.arn)
                 AND NOT EXISTS(SELECT 1 FROM deleted_state_machines d WHERE d.arn = s.arn)
                 AND name > ?1 ORDER BY name LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, max as i64 + 1], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let more = rows.len() > max;
        let items = rows
            .into_iter()
            .take(max)
            .map(|(arn, name, machine_type, created)| {
                Ok(StateMachineSummary {
                    arn,
                    name,
                    machine_type: machine_type.parse().map_err(backend)?,
                    created: from_millis(created),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next_token = if more {
            items.last().map(|m| m.name.clone())
        } else {
            None
        };
        Ok(Page { items, next_token })
    }
}

/// Events one history row holds at most (and about 64 KiB of them): a page of history reads
/// at most that many events it does not return at either end.
const HISTORY_CHUNK_EVENTS: usize = 64;
const HISTORY_CHUNK_BYTES: usize = 64 * 1024;

/// Writes a step's events (id and JSON text, in order) as chunk rows.
fn insert_history(
    tx: &rusqlite::Transaction<'_>,
    arn: &str,
    events: &[(u64, String)],
) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO history_chunks (arn, first, last, events) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut rest = events;
    let mut text = String::new();
    while let Some(((first, _), _)) = rest.split_first() {
        let mut taken = 0;
        text.clear();
        text.push('[');
        for (_, event) in rest.iter().take(HISTORY_CHUNK_EVENTS) {
            if taken > 0 && text.len() + event.len() > HISTORY_CHUNK_BYTES {
                break;
            }
            if taken > 0 {
                text.push(',');
            }
            text.push_str(event);
            taken += 1;
        }
        text.push(']');
        let last = rest[taken - 1].0;
        st.execute(params![arn, *first as i64, last as i64, text])?;
        rest = &rest[taken..];
    }
    Ok(())
}

/// A database written before history was chunked keeps its events: each becomes a chunk of
/// one, in the transaction that drops the old table.
fn migrate_history(conn: &mut Connection) -> rusqlite::Result<()> {
    let old: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'history')",
        [],
        |r| r.get(0),
    )?;
    if !old {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO history_chunks (arn, first, last, events)
         SELECT arn, id, id, '[' || event || ']' FROM history",
        [],
    )?;
    tx.execute("DROP TABLE history", [])?;
    tx.commit()
}

fn parse_chunk(text: &str) -> Result<Vec<HistoryEvent>, StoreError> {
    serde_json::from_str(text).map_err(backend)
}

fn record_json(rec: &ExecutionRecord) -> Result<String, StoreError> {
    serde_json::to_string(rec).map_err(backend)
}

fn parse_record(text: &str) -> Result<ExecutionRecord, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| backend(format!("a stored execution record does not read back: {e}")))
}

/// A new execution takes the next seq: the order ListExecutions pages in.
const NEW_EXECUTION: &str = "INSERT OR IGNORE INTO executions
    (arn, seq, state_machine_arn, status, version, record)
    VALUES (?1, COALESCE((SELECT MAX(seq) FROM executions), 0) + 1, ?2, ?3, ?4, ?5)";

/// What a listing reads of an execution: its seq and its record without the large parts.
macro_rules! listed_execution {
    () => {
        "SELECT seq, json_set(record, '$.input', json('null'), '$.output', json('null'),
            '$.frames', json('{}'), '$.redrive_point', json('null'), '$.kept', json('null'))
        FROM executions"
    };
}

/// A page of one state machine's executions, newest first, read along `executions_by_machine`.
/// Listings show names, statuses and dates: the record comes back without its input, output,
/// frames and redrive point (each up to 256 KiB), as DynamoDB's index keeps it, so a page of
/// 1,000 executions is small whatever the executions carry.
const LIST_EXECUTIONS_OF_MACHINE: &str = concat!(
    listed_execution!(),
    " WHERE state_machine_arn = ?1 AND (?2 IS NULL OR status = ?2) AND seq < ?3
    ORDER BY seq DESC LIMIT ?4"
);

/// A page of every machine's executions (`?1` is NULL), read along `executions_by_seq`.
const LIST_EXECUTIONS: &str = concat!(
    listed_execution!(),
    " WHERE ?1 IS NULL AND (?2 IS NULL OR status = ?2) AND seq < ?3
    ORDER BY seq DESC LIMIT ?4"
);

impl ExecutionStore for SqliteStore {
    type Snapshot = ();

    async fn create(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        let text = record_json(rec)?;
        let inserted = self.with(|c| {
            c.prepare_cached(NEW_EXECUTION)?.execute(params![
                rec.execution_arn,
                rec.state_machine_arn,
                rec.status.as_str(),
                rec.version as i64,
                text
            ])
        })?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(rec.execution_arn.clone()));
        }
        Ok(())
    }

    async fn load(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let text = self.with(|c| {
            c.prepare_cached("SELECT record FROM executions WHERE arn = ?1")?
                .query_row(params![arn], |r| r.get::<_, String>(0))
                .optional()
        })?;
        text.map(|t| parse_record(&t)).transpose()
    }

    async fn load_for_step(&self, arn: &str) -> Result<Option<Loaded<()>>, StoreError> {
        let kept = {
            let mut slot = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some(k) if k.execution_arn == arn => slot.take(),
                _ => None,
            }
        };
        // The stored text is read only when the kept record is not the stored version.
        let kept_version = kept.as_ref().map_or(-1, |k| k.version as i64);
        let row = self.with(|c| {
            c.prepare_cached(
                "SELECT version, outbox, CASE WHEN version = ?2 THEN NULL ELSE record END
                 FROM executions WHERE arn = ?1",
            )?
            .query_row(params![arn, kept_version], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .optional()
        })?;
        let Some((version, outbox, record)) = row else {
            return Ok(None);
        };
        let rec = match (record, kept) {
            (None, Some(k)) if k.version as i64 == version => k,
            (Some(text), _) => parse_record(&text)?,
            (None, _) => return Err(backend("an execution row without its record")),
        };
        let outbox = outbox
            .map(|t| serde_json::from_str::<Vec<Effect>>(&t).map_err(backend))
            .transpose()?;
        Ok(Some(Loaded {
            rec,
            outbox,
            snapshot: (),
        }))
    }

    async fn commit(&self, _snapshot: (), w: &WriteSet<'_>) -> Result<(), StoreError> {
        let rec = w.rec;
        let text = record_json(rec)?;
        let outbox_text = if w.outbox.is_empty() {
            None
        } else {
            Some(serde_json::to_string(w.outbox).map_err(backend)?)
        };
        let events_text = w
            .events
            .iter()
            .map(|e| serde_json::to_string(e).map(|t| (e.id, t)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        // STANDARD children's own histories, each child's events together and in order.
        let mut child_events: indexmap::IndexMap<&str, Vec<(u64, String)>> = Default::default();
        for c in w.child_events {
            let text = serde_json::to_string(&c.event).map_err(backend)?;
            child_events
                .entry(&c.execution_arn)
                .or_default()
                .push((c.event.id, text));
        }
        let text_of = |v: Option<&Value>| v.map(serde_json::to_string).transpose();
        let children = w
            .children
            .iter()
            .map(|c| -> Result<ChildRow<'_>, serde_json::Error> {
                Ok((
                    c,
                    text_of(c.input.as_ref())?,
                    text_of(c.output.as_ref())?,
                    c.failure.as_ref().map(serde_json::to_string).transpose()?,
                ))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        let applied = self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.prepare_cached("UPDATE executions SET record = ?1, status = ?2, version = ?3, outbox = ?4,
                     outbox_version = CASE WHEN ?4 IS NULL THEN NULL ELSE ?3 END
                 WHERE arn = ?5 AND version = ?6")?.execute(
                params![text, rec.status.as_str(), rec.version as i64, outbox_text, rec.execution_arn, w.from_version as i64],
            )?;
            if n == 0 {
                return Ok(false);
            }
            {
                insert_history(&tx, &rec.execution_arn, &events_text)?;
                for (arn, events) in &child_events {
                    insert_history(&tx, arn, events)?;
                }
                let mut tok = tx.prepare_cached("INSERT OR REPLACE INTO task_tokens (hash, arn, frame, seq) VALUES (?1, ?2, ?3, ?4)")?;
                for t in &w.tokens {
                    tok.execute(params![t.hash, t.task.execution_arn, t.task.frame, t.task.seq as i64])?;
                }
                if !children.is_empty() {
                    let mut put_run = tx.prepare_cached(PUT_MAP_CHILD_RUN)?;
                    let mut run_id =
                        tx.prepare_cached("SELECT id FROM map_child_runs WHERE map_run_arn = ?1")?;
                    let mut end = tx.prepare_cached(END_MAP_CHILD)?;
                    let mut put = tx.prepare_cached(UPSERT_MAP_CHILD)?;
                    let mut run: Option<(&str, i64)> = None;
                    for (c, input, output, failure) in &children {
                        let id = match run {
                            Some((arn, id)) if arn == c.run.run_arn => id,
                            _ => {
                                let parts = c.run.parts();
                                put_run.execute(params![
                                    c.run.run_arn,
                                    parts.hi as i64,
                                    parts.mask as i64,
                                    c.run.execution_prefix,
                                    c.run.state_machine_arn
                                ])?;
                                let id: i64 =
                                    run_id.query_row(params![c.run.run_arn], |r| r.get(0))?;
                                run = Some((&c.run.run_arn, id));
                                id
                            }
                        };
                        let key = (id << INDEX_BITS) | c.index as i64;
                        if c.status != Status::Running {
                            let ended = end.execute(params![
                                key,
                                c.status.as_str(),
                                c.stop.map(millis),
                                output,
                                failure,
                            ])?;
                            if ended > 0 {
                                continue;
                            }
                        }
                        put.execute(params![
                            key,
                            c.status.as_str(),
                            millis(c.start),
                            c.stop.map(millis),
                            input,
                            output,
                            failure,
                            c.item_count as i64,
                        ])?;
                    }
                }
            }
            tx.commit()?;
            Ok(true)
        })?;
        if applied {
            Ok(())
        } else {
            Err(StoreError::Conflict(rec.execution_arn.clone()))
        }
    }

    fn keep(&self, rec: ExecutionRecord) {
        *self.kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(rec);
    }

    async fn ack_outbox(&self, arn: &str, version: u64) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached("UPDATE executions SET outbox = NULL, outbox_version = NULL WHERE arn = ?1 AND outbox_version = ?2")?.execute(
                params![arn, version as i64],
            )
            .map(|_| ())
        })
    }

    async fn unsettled(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT arn FROM executions
                 WHERE outbox IS NOT NULL OR (status = 'RUNNING' AND version = 0)
                 ORDER BY seq",
            )?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    async fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        let chunks = self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT events FROM history_chunks WHERE arn = ?1 ORDER BY first",
            )?;
            let rows = st.query_map(params![arn], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut events = Vec::new();
        for chunk in &chunks {
            events.extend(parse_chunk(chunk)?);
        }
        Ok(events)
    }

    async fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<HistoryEvent>, StoreError> {
        let from: Option<i64> = match next_token {
            None => None,
            Some(t) => Some(
                t.parse()
                    .map_err(|_| StoreError::InvalidPageToken(t.to_string()))?,
            ),
        };
        let max = max.max(1);
        let bound = from.unwrap_or(if reverse { i64::MAX } else { 0 });
        // Events after (before) `bound`, one more than asked for to know whether more follow:
        // chunks are read in order until that many are found.
        let mut found: Vec<HistoryEvent> = Vec::with_capacity(max + 1);
        self.with(|c| {
            let sql = if reverse {
                "SELECT events FROM history_chunks WHERE arn = ?1 AND first < ?2 ORDER BY first DESC"
            } else {
                // From the chunk that holds the event after `bound`.
                "SELECT events FROM history_chunks WHERE arn = ?1 AND first >= COALESCE(
                     (SELECT MAX(first) FROM history_chunks WHERE arn = ?1 AND first <= ?2 + 1), 0)
                 ORDER BY first"
            };
            let mut st = c.prepare_cached(sql)?;
            let mut rows = st.query(params![arn, bound])?;
            while found.len() <= max {
                let Some(row) = rows.next()? else { break };
                let text = row.get_ref(0)?.as_str()?;
                let chunk = parse_chunk(text).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
                })?;
                if reverse {
                    found.extend(chunk.into_iter().rev().filter(|e| (e.id as i64) < bound));
                } else {
                    found.extend(chunk.into_iter().filter(|e| (e.id as i64) > bound));
                }
            }
            Ok(())
        })?;
        let next_token = if found.len() > max {
            found.truncate(max);
            found.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok(Page {
            items: found,
            next_token,
        })
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        let before: i64 = match next_token {
            None => i64::MAX,
            Some(t) => t
                .parse()
                .map_err(|_| StoreError::InvalidPageToken(t.to_string()))?,
        };
        let limit = max.max(1) as i64 + 1;
        let status = filter.status.map(|s| s.as_str().to_string());
        let rows = self.with(|c| {
            // Two statements, not one with `?1 IS NULL OR …`: SQLite plans a statement once,
            // and that form scans the whole table and sorts it on every page.
            let mut st = c.prepare_cached(if filter.state_machine_arn.is_some() {
                LIST_EXECUTIONS_OF_MACHINE
            } else {
                LIST_EXECUTIONS
            })?;
            let rows = st.query_map(
                params![filter.state_machine_arn, status, before, limit],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut items = Vec::new();
        let mut last = None;
        for (seq, t) in rows.iter().take(max.max(1)) {
            items.push(parse_record(t)?);
            last = Some(*seq);
        }
        let next_token = if rows.len() > max.max(1) {
            last.map(|s| s.to_string())
        } else {
            None
        };
        Ok(Page { items, next_token })
    }

    async fn find_task(&self, token_hash: &str) -> Result<Option<TaskRef>, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT arn, frame, seq FROM task_tokens WHERE hash = ?1")?
                .query_row(params![token_hash], |r| {
                    Ok(TaskRef {
                        execution_arn: r.get(0)?,
                        frame: r.get(1)?,
                        seq: r.get::<_, i64>(2)? as u64,
                    })
                })
                .optional()
        })
    }
}

impl ChildWaitStore for SqliteStore {
    async fn put_child_wait(
        &self,
        child: &str,
        parent: &TaskRef,
        variant: &str,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached("INSERT OR REPLACE INTO child_waits (child_arn, parent_arn, frame, seq, variant) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(
                params![child, parent.execution_arn, parent.frame, parent.seq as i64, variant],
            )
            .map(|_| ())
        })
    }

    async fn child_wait(&self, child: &str) -> Result<Option<(TaskRef, String)>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT parent_arn, frame, seq, variant FROM child_waits WHERE child_arn = ?1",
            )?
            .query_row(params![child], |r| {
                Ok((
                    TaskRef {
                        execution_arn: r.get(0)?,
                        frame: r.get(1)?,
                        seq: r.get::<_, i64>(2)? as u64,
                    },
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()
        })
    }

    async fn remove_child_wait(&self, child: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM child_waits WHERE child_arn = ?1")?
                .execute(params![child])
                .map(|_| ())
        })
    }
}

impl MapChildStore for SqliteStore {
    async fn map_child(&self, execution_arn: &str) -> Result<Option<ChildExecution>, StoreError> {
        let name = execution_arn.rsplit(':').next().unwrap_or_default();
        let Some((hi, lo)) = NameParts::split(name) else {
            return Ok(None);
        };
        self.with(|c| {
            // The runs whose children's names begin so: one, unless 60 bits collide.
            let runs = c
                .prepare_cached(&format!(
                    "SELECT {CHILD_RUN_COLUMNS} FROM map_child_runs WHERE hi = ?1"
                ))?
                .query_map(params![hi as i64], child_run_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for run in runs {
                let index = run.parts.index_of(lo);
                if index >= 1 << INDEX_BITS
                    || format!("{}{}", run.execution_prefix, run.parts.name(index)) != execution_arn
                {
                    continue;
                }
                let key = (run.id << INDEX_BITS) | index as i64;
                let found = c
                    .prepare_cached(&format!(
                        "SELECT {MAP_CHILD_COLUMNS} FROM map_children WHERE key = ?1"
                    ))?
                    .query_row(params![key], |r| child_from_row(&run, r))
                    .optional()?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None)
        })
    }

    async fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ChildExecution>, StoreError> {
        let after: i64 = match next_token {
            None => -1,
            Some(t) => t
                .parse()
                .ok()
                .filter(|n: &i64| (0..1 << INDEX_BITS).contains(n))
                .ok_or_else(|| StoreError::InvalidPageToken(t.to_string()))?,
        };
        let max = max.max(1);
        let rows = self.with(|c| {
            let Some(run) = c
                .prepare_cached(&format!(
                    "SELECT {CHILD_RUN_COLUMNS} FROM map_child_runs WHERE map_run_arn = ?1"
                ))?
                .query_row(params![map_run_arn], child_run_from_row)
                .optional()?
            else {
                return Ok(Vec::new());
            };
            let first = (run.id << INDEX_BITS) + after + 1;
            let end = (run.id + 1) << INDEX_BITS;
            let mut st = c.prepare_cached(&format!(
                "SELECT {MAP_CHILD_COLUMNS} FROM map_children
                 WHERE key >= ?1 AND key < ?2 AND (?3 IS NULL OR status = ?3)
                 ORDER BY key LIMIT ?4"
            ))?;
            let rows = st.query_map(
                params![first, end, status.map(Status::as_str), max as i64 + 1],
                |r| child_from_row(&run, r),
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let more = rows.len() > max;
        let items: Vec<ChildExecution> = rows.into_iter().take(max).collect();
        let next_token = if more {
            items.last().map(|c| c.index.to_string())
        } else {
            None
        };
        Ok(Page { items, next_token })
    }
}

impl TagStore for SqliteStore {
    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            let mut st =
                c.prepare_cached("SELECT key, value FROM tags WHERE arn = ?1 ORDER BY rowid")?;
            let rows = st.query_map(params![arn], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            for (k, v) in tags {
                tx.prepare_cached("INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value")?.execute(
                    params![arn, k, v],
                )?;
            }
            tx.commit()
        })
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            for k in keys {
                tx.prepare_cached("DELETE FROM tags WHERE arn = ?1 AND key = ?2")?
                    .execute(params![arn, k])?;
            }
            tx.commit()
        })
    }
}

impl SqliteStore {
    /// Stores a timer row: the signal is delivered when it is due.
    pub fn add_timer(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: &Signal,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(signal).map_err(backend)?;
        self.with(|c| {
            c.prepare_cached("INSERT INTO timers (due, arn, signal) VALUES (?1, ?2, ?3)")?
                .execute(params![millis(at), execution_arn, text])
                .map(|_| ())
        })
    }
}

impl ApprovalStore for SqliteStore {
    async fn put_approval(&self, rec: &ApprovalRecord) -> Result<(), StoreError> {
        let text = serde_json::to_string(rec).map_err(backend)?;
        self.with(|c| {
            c.prepare_cached(
                "INSERT OR IGNORE INTO approvals (id, record, status) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![rec.id, text, rec.status.as_str()])
            .map(|_| ())
        })
    }

    async fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        let text = self.with(|c| {
            c.prepare_cached("SELECT record FROM approvals WHERE id = ?1")?
                .query_row(params![id], |r| r.get::<_, String>(0))
                .optional()
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(backend))
            .transpose()
    }

    async fn decide_approval(&self, id: &str, d: &Decision) -> Result<bool, StoreError> {
        let Some(mut rec) = self.get_approval(id).await? else {
            return Ok(false);
        };
        rec.status = if d.approved {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        };
        rec.decided_at = Some(d.at);
        rec.approver = d.approver.clone();
        rec.comment = d.comment.clone();
        let text = serde_json::to_string(&rec).map_err(backend)?;
        // Conditional on still being pending: of two clicks, one wins.
        let n = self.with(|c| {
            c.prepare_cached("UPDATE approvals SET record = ?1, status = ?2 WHERE id = ?3 AND status = 'PENDING'")?.execute(
                params![text, rec.status.as_str(), id],
            )
        })?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(name: &str, definition: &str) -> StateMachine {
        let parsed = parse_text(definition, &ParseOptions::default()).expect("valid");
        StateMachine::new(
            format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"),
            name.into(),
            definition.into(),
            Arc::new(parsed.definition),
            MachineType::Standard,
            "arn:aws:iam::123456789012:role/r".into(),
            Utc::now(),
        )
    }

    const PASS: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;

    /// Starting and listing executions cost the same with a million executions stored as with
    /// none: no statement of theirs scans the executions table or sorts it.
    #[test]
    fn starting_and_listing_executions_read_indexes_not_the_whole_table() {
        let store = SqliteStore::open(":memory:").expect("open");
        for (sql, index) in [
            (NEW_EXECUTION, "executions_by_seq"),
            (LIST_EXECUTIONS_OF_MACHINE, "executions_by_machine"),
            (LIST_EXECUTIONS, "executions_by_seq"),
        ] {
            let plan = store
                .with(|c| {
                    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let args: Vec<&dyn rusqlite::ToSql> =
                        [&"arn" as &dyn rusqlite::ToSql, &"RUNNING", &10, &5, &"x"]
                            [..st.parameter_count()]
                            .to_vec();
                    let rows = st.query_map(args.as_slice(), |r| r.get::<_, String>(3))?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                })
                .expect("plan");
            let plan = plan.join("; ");
            assert!(
                plan.contains(index)
                    && !plan.contains("SCAN executions")
                    && !plan.contains("TEMP B-TREE"),
                "{sql}\n  is planned as: {plan}"
            );
        }
    }

    #[tokio::test]
    async fn listings_never_read_definitions() {
        let store = SqliteStore::open(":memory:").unwrap();
        for name in ["b", "a", "c"] {
            store
                .create_state_machine(&machine(name, PASS))
                .await
                .unwrap();
        }
        // A definition that no longer parses would fail any read of it.
        store
            .with(|c| c.execute("UPDATE state_machines SET definition = 'garbage'", []))
            .unwrap();
        let first = store.list_state_machines(2, None).await.unwrap();
        let names: Vec<&str> = first.items.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(first.items[0].machine_type, MachineType::Standard);
        let rest = store
            .list_state_machines(2, first.next_token.as_deref())
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].name, "c");
        assert_eq!(rest.next_token, None);
        let plan: Vec<String> = store
            .with(|c| {
                let mut st = c.prepare(
                    "EXPLAIN QUERY PLAN SELECT arn, name, machine_type, created FROM state_machines s
                     WHERE revision = (SELECT MAX(revision) FROM state_machines WHERE arn = s.arn)
                     AND NOT EXISTS(SELECT 1 FROM deleted_state_machines d WHERE d.arn = s.arn)
                     AND name > '' ORDER BY name LIMIT 10",
                )?;
                let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                rows.collect()
            })
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("COVERING INDEX state_machines_by_name")),
            "the listing is served by the covering index: {plan:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_database_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("waymark-perm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let db = root.join("nested/state/waymark.db");
        let store = SqliteStore::open(db.to_str().unwrap()).unwrap();
        store
            .with(|c| c.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')", []))
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600, "the database file");
        for suffix in ["-wal", "-shm"] {
            let side = root.join(format!("nested/state/waymark.db{suffix}"));
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
        assert_eq!(mode(&root.join("nested/state")), 0o700);
        assert_eq!(mode(&root.join("nested")), 0o700);
        drop(store);

        // A database an older version left world-readable is tightened when opened.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = SqliteStore::open(db.to_str().unwrap()).unwrap();
        assert_eq!(mode(&db), 0o600);
        drop(store);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A database whose history an older version wrote one row per event still reads whole
    /// and pages after it is opened: its events move into chunks of one.
    #[tokio::test]
    async fn a_history_written_per_event_is_kept() {
        let root = std::env::temp_dir().join(format!("waymark-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let db = root.join("old.db");
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:e";
        {
            let old = Connection::open(&db).unwrap();
            old.execute_batch(
                "CREATE TABLE history (arn TEXT NOT NULL, id INTEGER NOT NULL, event TEXT NOT NULL,
                 PRIMARY KEY (arn, id));",
            )
            .unwrap();
            for id in 1..=5u64 {
                let e = waymark_engine::history::finish(
                    waymark_engine::history::state_entered(
                        "Pass",
                        &format!("S{id}"),
                        &serde_json::json!({"id": id}),
                    ),
                    id,
                    id - 1,
                    Utc::now(),
                );
                old.execute(
                    "INSERT INTO history (arn, id, event) VALUES (?1, ?2, ?3)",
                    params![arn, id as i64, serde_json::to_string(&e).unwrap()],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(db.to_str().unwrap()).unwrap();
        let ids = |events: &[HistoryEvent]| events.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&store.history(arn).await.unwrap()), [1, 2, 3, 4, 5]);
        let page = store.history_page(arn, true, 2, None).await.unwrap();
        assert_eq!(ids(&page.items), [5, 4]);
        let page = store
            .history_page(arn, true, 2, page.next_token.as_deref())
            .await
            .unwrap();
        assert_eq!(ids(&page.items), [3, 2]);
        let gone: bool = store
            .with(|c| {
                c.query_row(
                    "SELECT NOT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'history')",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert!(gone, "the old table is dropped");
        drop(store);
        // Opened again: nothing to move, nothing lost.
        let store = SqliteStore::open(db.to_str().unwrap()).unwrap();
        assert_eq!(ids(&store.history(arn).await.unwrap()), [1, 2, 3, 4, 5]);
        drop(store);
        let _ = std::fs::remove_dir_all(&root);
    }
}
