//! State machine versions and aliases, and activities with their task queues, in the SQLite
//! file: one row each, the record as JSON (a machine has at most 1,000 versions and 100
//! aliases, read whole).

use rusqlite::{params, ErrorCode, OptionalExtension};
use waymark_engine::ports::StoreError;
use waymark_engine::versions::{Alias, Version, VersionStore};

use crate::sqlite::{backend, SqliteStore};

fn is_constraint(e: &StoreError) -> bool {
    let StoreError::Backend { source, .. } = e else {
        return false;
    };
    source
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        == Some(ErrorCode::ConstraintViolation)
}

fn rows<T: serde::de::DeserializeOwned>(texts: Vec<String>) -> Result<Vec<T>, StoreError> {
    texts
        .iter()
        .map(|t| serde_json::from_str(t).map_err(backend))
        .collect()
}

impl VersionStore for SqliteStore {
    async fn put_version(&self, v: &Version) -> Result<(), StoreError> {
        let text = serde_json::to_string(v).map_err(backend)?;
        let put = self.with(|c| {
            c.execute(
                "INSERT INTO versions (arn, number, record) VALUES (?1, ?2, ?3)",
                params![v.machine_arn, v.number as i64, text],
            )
        });
        match put {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e) => Err(StoreError::AlreadyExists(v.arn())),
            Err(e) => Err(e),
        }
    }

    async fn versions(&self, machine_arn: &str) -> Result<Vec<Version>, StoreError> {
        let texts = self.with(|c| {
            let mut q =
                c.prepare("SELECT record FROM versions WHERE arn = ?1 ORDER BY number DESC")?;
            let texts = q
                .query_map(params![machine_arn], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>();
            texts
        })?;
        rows(texts)
    }

    async fn delete_version(&self, machine_arn: &str, number: u64) -> Result<(), StoreError> {
        let text = self.with(|c| {
            c.query_row(
                "SELECT record FROM versions WHERE arn = ?1 AND number = ?2",
                params![machine_arn, number as i64],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })?;
        let Some(text) = text else { return Ok(()) };
        let mut v: Version = serde_json::from_str(&text).map_err(backend)?;
        v.deleted = true;
        let text = serde_json::to_string(&v).map_err(backend)?;
        self.with(|c| {
            c.execute(
                "UPDATE versions SET record = ?3 WHERE arn = ?1 AND number = ?2",
                params![machine_arn, number as i64, text],
            )
        })
        .map(|_| ())
    }

    async fn put_alias(&self, a: &Alias, create: bool) -> Result<(), StoreError> {
        let text = serde_json::to_string(a).map_err(backend)?;
        if create {
            return match self.with(|c| {
                c.execute(
                    "INSERT INTO aliases (arn, name, record) VALUES (?1, ?2, ?3)",
                    params![a.machine_arn, a.name, text],
                )
            }) {
                Ok(_) => Ok(()),
                Err(e) if is_constraint(&e) => Err(StoreError::AlreadyExists(a.arn())),
                Err(e) => Err(e),
            };
        }
        let n = self.with(|c| {
            c.execute(
                "UPDATE aliases SET record = ?3 WHERE arn = ?1 AND name = ?2",
                params![a.machine_arn, a.name, text],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(a.arn()));
        }
        Ok(())
    }

    async fn aliases(&self, machine_arn: &str) -> Result<Vec<Alias>, StoreError> {
        let texts = self.with(|c| {
            let mut q = c.prepare("SELECT record FROM aliases WHERE arn = ?1 ORDER BY name")?;
            let texts = q
                .query_map(params![machine_arn], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>();
            texts
        })?;
        rows(texts)
    }

    async fn delete_alias(&self, machine_arn: &str, name: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM aliases WHERE arn = ?1 AND name = ?2",
                params![machine_arn, name],
            )
        })
        .map(|_| ())
    }
}

/// Activities, and their queues of tasks waiting for a worker (taken oldest first, each in
/// one transaction: of two workers, one gets it).
impl waymark_engine::activity::ActivityStore for SqliteStore {
    async fn create_activity(
        &self,
        a: &waymark_engine::activity::Activity,
    ) -> Result<bool, StoreError> {
        let text = serde_json::to_string(a).map_err(backend)?;
        let n = self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO activities (arn, name, record) VALUES (?1, ?2, ?3)",
                params![a.arn, a.name, text],
            )
        })?;
        Ok(n == 1)
    }

    async fn activity(
        &self,
        arn: &str,
    ) -> Result<Option<waymark_engine::activity::Activity>, StoreError> {
        let text = self.with(|c| {
            c.query_row(
                "SELECT record FROM activities WHERE arn = ?1",
                params![arn],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(backend))
            .transpose()
    }

    async fn delete_activity(&self, arn: &str) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM activities WHERE arn = ?1", params![arn])?;
            tx.execute(
                "DELETE FROM activity_tasks WHERE activity_arn = ?1",
                params![arn],
            )?;
            tx.commit()
        })
    }

    async fn list_activities(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<waymark_engine::ports::Page<waymark_engine::activity::Activity>, StoreError> {
        // The token is the last name and ARN given.
        let (after_name, after_arn) = match next_token {
            None => (String::new(), String::new()),
            Some(t) => match t.split_once('\n') {
                Some((n, a)) => (n.to_string(), a.to_string()),
                None => return Err(StoreError::InvalidPageToken(t.to_string())),
            },
        };
        let texts = self.with(|c| {
            let mut q = c.prepare(
                "SELECT record FROM activities WHERE (name, arn) > (?1, ?2) ORDER BY name, arn LIMIT ?3",
            )?;
            let texts = q
                .query_map(params![after_name, after_arn, (max + 1) as i64], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<Result<Vec<_>, _>>();
            texts
        })?;
        let mut items: Vec<waymark_engine::activity::Activity> = rows(texts)?;
        let next_token = if items.len() > max {
            items.truncate(max);
            items.last().map(|a| format!("{}\n{}", a.name, a.arn))
        } else {
            None
        };
        Ok(waymark_engine::ports::Page { items, next_token })
    }

    async fn queue_activity_task(
        &self,
        t: &waymark_engine::activity::ActivityTask,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(t).map_err(backend)?;
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO activity_tasks (activity_arn, key, queued, record) VALUES (?1, ?2, ?3, ?4)",
                params![t.activity_arn, t.key(), t.queued.timestamp_millis(), text],
            )
        })
        .map(|_| ())
    }

    async fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> Result<Option<waymark_engine::activity::ActivityTask>, StoreError> {
        let text = self.with(|c| {
            let tx = c.transaction()?;
            let row = tx
                .query_row(
                    "SELECT id, record FROM activity_tasks WHERE activity_arn = ?1 ORDER BY queued, id LIMIT 1",
                    params![activity_arn],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?;
            if let Some((id, _)) = &row {
                tx.execute("DELETE FROM activity_tasks WHERE id = ?1", params![id])?;
            }
            tx.commit()?;
            Ok(row.map(|(_, text)| text))
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(backend))
            .transpose()
    }
}
