//! State machine versions and aliases, as the stores keep them. A version is a number that
//! names one revision of a machine (revisions are kept for ever, so a version needs no copy of
//! its definition); an alias names one or two versions with the share of executions each
//! gets. AWS bounds both per machine (1,000 versions, 100 aliases), so a store hands back all
//! of a machine's at once and the API pages them.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::StoreError;

/// AWS's quota of versions per state machine.
pub const MAX_VERSIONS: usize = 1000;
/// AWS's quota of aliases per state machine.
pub const MAX_ALIASES: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub machine_arn: String,
    /// 1, 2, …: never reused, even after a deletion.
    pub number: u64,
    pub revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created: DateTime<Utc>,
    /// Deleted: kept so that its number is never given again, as AWS never reuses one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Version {
    /// `arn:…:stateMachine:NAME:NUMBER`.
    pub fn arn(&self) -> String {
        format!("{}:{}", self.machine_arn, self.number)
    }
}

/// One entry of an alias's routing: a version and its share of executions, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub version: u64,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub machine_arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing: Vec<Route>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Alias {
    /// `arn:…:stateMachine:NAME:ALIAS`.
    pub fn arn(&self) -> String {
        format!("{}:{}", self.machine_arn, self.name)
    }

    /// The version an execution started through this alias runs: `draw` is uniform in
    /// 0..100, each version taking its weight's share.
    pub fn pick(&self, draw: u32) -> u64 {
        let mut left = draw % 100;
        for r in &self.routing {
            if left < r.weight {
                return r.version;
            }
            left -= r.weight;
        }
        self.routing.last().map_or(0, |r| r.version)
    }
}

pub trait VersionStore: Send + Sync {
    /// Stores a new version; `AlreadyExists` when its number is taken.
    fn put_version(&self, v: &Version) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every version of a machine, newest first, deleted ones included (marked).
    fn versions(
        &self,
        machine_arn: &str,
    ) -> impl Future<Output = Result<Vec<Version>, StoreError>> + Send;
    /// Marks a version deleted; deleting one that is not there succeeds.
    fn delete_version(
        &self,
        machine_arn: &str,
        number: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores an alias: a new one (`AlreadyExists` when the name is taken) when `create`,
    /// else a replacement (`NotFound` when there is none).
    fn put_alias(
        &self,
        a: &Alias,
        create: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every alias of a machine, in name order.
    fn aliases(
        &self,
        machine_arn: &str,
    ) -> impl Future<Output = Result<Vec<Alias>, StoreError>> + Send;
    /// Deleting an alias that is not there succeeds.
    fn delete_alias(
        &self,
        machine_arn: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<T: VersionStore> VersionStore for std::sync::Arc<T> {
    fn put_version(&self, v: &Version) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_version(v)
    }

    fn versions(
        &self,
        machine_arn: &str,
    ) -> impl Future<Output = Result<Vec<Version>, StoreError>> + Send {
        (**self).versions(machine_arn)
    }

    fn delete_version(
        &self,
        machine_arn: &str,
        number: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete_version(machine_arn, number)
    }

    fn put_alias(
        &self,
        a: &Alias,
        create: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_alias(a, create)
    }

    fn aliases(
        &self,
        machine_arn: &str,
    ) -> impl Future<Output = Result<Vec<Alias>, StoreError>> + Send {
        (**self).aliases(machine_arn)
    }

    fn delete_alias(
        &self,
        machine_arn: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete_alias(machine_arn, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_split_executions_by_weight() {
        let t = Utc::now();
        let a = Alias {
            machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            name: "live".into(),
            description: None,
            routing: vec![
                Route {
                    version: 3,
                    weight: 90,
                },
                Route {
                    version: 4,
                    weight: 10,
                },
            ],
            created: t,
            updated: t,
        };
        assert_eq!(a.arn(), "arn:aws:states:us-east-1:1:stateMachine:m:live");
        let picks: Vec<u64> = (0..100).map(|d| a.pick(d)).collect();
        assert_eq!(picks.iter().filter(|v| **v == 3).count(), 90);
        assert_eq!(picks.iter().filter(|v| **v == 4).count(), 10);
        assert_eq!(a.pick(189), 3);
    }
}
