//! What travels on the step queue. Every message names one execution; the stepper applies
//! it and deletes it. A message too large for SQS travels as a reference to an item that
//! holds it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_engine::step::{Signal, TaskRequest};

/// One message of the step queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum StepMessage {
    /// Deliver `signal` to the execution once `due` has come (a Wait's end, a retry's
    /// back-off, a timeout, or a task's answer, due at once).
    Signal {
        arn: String,
        due: DateTime<Utc>,
        signal: Signal,
    },
    /// Run a task, then deliver its answer.
    Invoke {
        arn: String,
        request: Box<TaskRequest>,
    },
    /// Perform the execution's outbox if a step was committed and its effects were not
    /// acknowledged: the safety net after steps taken outside the stepper (the API's), whose
    /// requests no queue would redeliver.
    Settle { arn: String },
    /// The message is in the table item `MSG#<id>`: it was too large for SQS.
    Stored { id: String },
}

impl StepMessage {
    /// The execution the message is for (`None` for a stored message, until it is read).
    pub fn arn(&self) -> Option<&str> {
        match self {
            StepMessage::Signal { arn, .. }
            | StepMessage::Invoke { arn, .. }
            | StepMessage::Settle { arn } => Some(arn),
            StepMessage::Stored { .. } => None,
        }
    }
}

/// SQS takes 256 KiB a message; larger bodies are stored in the table instead.
pub const MAX_INLINE_BODY: usize = 200 * 1024;
