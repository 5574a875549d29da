//! Failures raised while a state runs: the `(Error, Cause)` pairs that Retry and Catch match on
//! and that end an execution, with AWS's predefined error names and cause texts.

use serde::{Deserialize, Serialize};

/// AWS's predefined error names (the `States.*` family).
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const RUNTIME: &str = "States.Runtime";
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
}

/// A state's failure. Both parts are optional because a `Fail` state may name neither, and AWS
/// then ends the execution with no error and no cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {}", error.as_deref().unwrap_or("(no error)"), cause.as_deref().unwrap_or("(no cause)"))]
pub struct Failure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    /// `States.Runtime` with a bare detail; [`Failure::in_state`] adds AWS's state prefix.
    pub fn runtime(detail: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, detail)
    }

    pub fn intrinsic(detail: impl Into<String>) -> Self {
        Failure::new(names::INTRINSIC_FAILURE, detail)
    }

    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// Errors raised by the interpreter itself (not by a task or a Fail state) carry AWS's
    /// prefix naming the state and the id of its `…StateEntered` event.
    pub fn in_state(mut self, state: &str, entered_event_id: u64) -> Self {
        if let Some(cause) = self.cause.take() {
            self.cause = Some(format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {cause}"
            ));
        }
        self
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;
