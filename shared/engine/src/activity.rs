//! Activities: Task states whose Resource is an activity ARN
//! (`arn:aws:states:REGION:ACCOUNT:activity:NAME`) wait for a worker to ask for work with
//! GetActivityTask, then for that worker's SendTaskSuccess/Failure/Heartbeat with the token it
//! was given. The engine queues the task when it is dispatched (once per task, whatever the
//! home's queue redelivers) and hands the oldest live one to a worker that asks.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::{Page, StoreError};

/// AWS's quota of activities per account and region.
pub const MAX_ACTIVITIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub arn: String,
    pub name: String,
    pub created: DateTime<Utc>,
}

/// A task waiting in an activity's queue for a worker. It holds the task token itself, the
/// only place one is kept at rest: the worker must be handed it. It leaves the queue when a
/// worker takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityTask {
    pub activity_arn: String,
    pub execution_arn: String,
    pub frame: String,
    pub seq: u64,
    pub token: String,
    pub input: Value,
    pub queued: DateTime<Utc>,
}

impl ActivityTask {
    /// What makes a queued task unique: the task of one frame, in one phase, with its token
    /// (a redelivered dispatch carries the same token; a redriven execution's task a new one,
    /// though its frame may count the same sequence again). The token appears hashed only.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.execution_arn,
            self.frame,
            self.seq,
            crate::record::token_hash(&self.token)
        )
    }
}

/// Whether a Resource names an activity.
pub fn is_activity(resource: &str) -> bool {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "states", region, account, "activity", name]
        if !region.is_empty() && !account.is_empty() && !name.is_empty())
}

pub trait ActivityStore: Send + Sync {
    /// Stores a new activity; `Ok(false)` when one of that ARN exists (kept as it is).
    fn create_activity(
        &self,
        a: &Activity,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn activity(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<Activity>, StoreError>> + Send;
    /// Deletes an activity and its queue; deleting one that is not there succeeds.
    fn delete_activity(&self, arn: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// In name order.
    fn list_activities(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<Activity>, StoreError>> + Send;
    /// Queues a task; queuing the same task ([`ActivityTask::key`]) again changes nothing.
    fn queue_activity_task(
        &self,
        t: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes the oldest task of an activity's queue out of it: of two workers asking at once,
    /// one gets it.
    fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> impl Future<Output = Result<Option<ActivityTask>, StoreError>> + Send;
}

impl<T: ActivityStore> ActivityStore for std::sync::Arc<T> {
    fn create_activity(
        &self,
        a: &Activity,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).create_activity(a)
    }

    fn activity(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<Activity>, StoreError>> + Send {
        (**self).activity(arn)
    }

    fn delete_activity(&self, arn: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete_activity(arn)
    }

    fn list_activities(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<Activity>, StoreError>> + Send {
        (**self).list_activities(max, next_token)
    }

    fn queue_activity_task(
        &self,
        t: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).queue_activity_task(t)
    }

    fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> impl Future<Output = Result<Option<ActivityTask>, StoreError>> + Send {
        (**self).take_activity_task(activity_arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_arns_are_recognised() {
        assert!(is_activity(
            "arn:aws:states:us-east-1:123456789012:activity:approve"
        ));
        for not in [
            "arn:aws:states:::activity:approve",
            "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:us-east-1:123456789012:activity:",
        ] {
            assert!(!is_activity(not), "{not}");
        }
    }
}
