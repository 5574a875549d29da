//! Human approvals as the engine keeps them: one record per approval, stored before the task
//! that carries its links is handed over, decided at most once (by the approval pages).

use std::future::Future;

use crate::ports::{StoreError, TaskRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
