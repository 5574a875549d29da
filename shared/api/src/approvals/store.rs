//! What approval pages need from a home's storage: one record per approval, created when the
//! task's message goes out, decided at most once.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_engine::ports::{StoreError, TaskRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "PENDING",
            ApprovalStatus::Approved => "APPROVED",
            ApprovalStatus::Rejected => "REJECTED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub id: String,
    /// The task waiting for the decision (never its token).
    pub task: TaskRef,
    pub state: String,
    pub expires: DateTime<Utc>,
    pub status: ApprovalStatus,
    pub decided_at: Option<DateTime<Utc>>,
    pub approver: Option<String>,
    pub comment: Option<String>,
}

/// A decision, as the page's form sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub approved: bool,
    pub approver: Option<String>,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

pub trait ApprovalStore: Send + Sync {
    /// Stores a new approval; storing the same id again changes nothing (tasks may be
    /// dispatched more than once).
    fn put_approval(
        &self,
        rec: &ApprovalRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_approval(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ApprovalRecord>, StoreError>> + Send;
    /// Records the decision if the approval is still pending; false when someone decided
    /// first (a second click, a second tab).
    fn decide_approval(
        &self,
        id: &str,
        d: &Decision,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl<T: ApprovalStore> ApprovalStore for std::sync::Arc<T> {
    fn put_approval(
        &self,
        rec: &ApprovalRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_approval(rec)
    }
    fn get_approval(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ApprovalRecord>, StoreError>> + Send {
        (**self).get_approval(id)
    }
    fn decide_approval(
        &self,
        id: &str,
        d: &Decision,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).decide_approval(id, d)
    }
}
