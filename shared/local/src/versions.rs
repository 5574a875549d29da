//! State machine versions and aliases in the SQLite file: one row each, the record as JSON
//! (a machine has at most 1,000 versions and 100 aliases, read whole).

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
