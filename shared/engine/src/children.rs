//! `states:startExecution`: a Task that starts another execution on the same engine — plain
//! (answers at once), `.sync` / `.sync:2` (answers when the child ends: a durable child →
//! parent wait, told by the step that ends the child) and `.waitForTaskToken` (the child
//! answers with the token).
//!
//! Tasks run at least once: a run repeated after a crash must find the child it started
//! rather than fail with `ExecutionAlreadyExists`, so a child started without a `Name` gets
//! one derived from its parent's task, and an existing child with the same input is ours.

use serde_json::{json, Map, Value};
use waymark_asl::error::names;
use waymark_asl::json::to_text;
use waymark_asl::timestamp::format_millis;
use waymark_asl::Failure;

use crate::approval::ApprovalStore;
use crate::ports::*;
use crate::record::{ExecutionRecord, Status};
use crate::runner::{Engine, EngineError};
use crate::step::{Signal, TaskRequest};

pub fn handles(resource: &str) -> bool {
    ["arn:aws:", "arn:aws-cn:", "arn:aws-us-gov:"]
        .iter()
        .any(|p| resource.starts_with(&format!("{p}states:::states:startExecution")))
}

fn variant(resource: &str) -> &str {
    resource
        .split_once("startExecution")
        .map(|(_, v)| v.trim_start_matches('.'))
        .unwrap_or("")
}

fn fail(error: &str, cause: impl Into<String>) -> TaskOutcome {
    TaskOutcome::Failed(Failure::new(error, cause))
}

/// The name of a child started without one: the same for every run of the same task.
fn derived_name(parent_arn: &str, req: &TaskRequest) -> String {
    let h = crate::record::token_hash(&format!("{parent_arn}|{}|{}", req.frame, req.seq));
    let word = |i: usize| u64::from_str_radix(&h[i..i + 16], 16).unwrap_or(0);
    crate::memory::uuid_v4(word(0), word(16))
}

impl<S, Q, T, N, C, I> Engine<S, Q, T, N, C, I>
where
    S: ExecutionStore
        + StateMachineStore
        + ChildWaitStore
        + crate::ports::MapChildStore
        + ApprovalStore
        + crate::activity::ActivityStore,
    Q: Scheduler,
    T: Tasks,
    N: Notifier,
    C: Clock,
    I: Ids,
{
    /// Starts the child; for `.sync` the answer comes later, from the child's end. A store
    /// that fails in a way worth another try is an error (the task then runs again), not a
    /// task failure the workflow would see.
    pub(crate) async fn start_child(
        &self,
        parent_arn: &str,
        req: &TaskRequest,
    ) -> Result<TaskOutcome, EngineError> {
        let p = &req.parameters;
        let Some(sm_arn) = p.get("StateMachineArn").and_then(Value::as_str) else {
            return Ok(fail(
                names::RUNTIME,
                "The parameter 'StateMachineArn' of states:startExecution is required",
            ));
        };
        let input = match p.get("Input") {
            None => json!({}),
            Some(Value::String(s)) => match serde_json::from_str(s) {
                Ok(v) => v,
                Err(e) => {
                    return Ok(fail(
                        "StepFunctions.InvalidExecutionInputException",
                        format!("Invalid State Machine Execution Input: {e}"),
                    ))
                }
            },
            Some(v) => v.clone(),
        };
        let name = match p.get("Name").and_then(Value::as_str) {
            Some(n) => n.to_string(),
            None => derived_name(parent_arn, req),
        };
        let failed = |e: EngineError| -> Result<TaskOutcome, EngineError> {
            if e.is_retryable() {
                Err(e)
            } else {
                Ok(fail(names::TASK_FAILED, e.to_string()))
            }
        };
        let sm = match self.store.get_state_machine(sm_arn).await {
            Ok(Some(sm)) => sm,
            Ok(None) => {
                return Ok(fail(
                    "StepFunctions.StateMachineDoesNotExistException",
                    format!("State Machine Does Not Exist: '{sm_arn}'"),
                ))
            }
            Err(e) => return failed(e.into()),
        };
        let child = match self.start_execution(&sm, Some(&name), input.clone()).await {
            Ok(rec) => rec,
            Err(EngineError::ExecutionAlreadyExists(a)) => match self.describe(&a).await {
                // Started by an earlier run of this very task.
                Ok(existing) if existing.input == input => existing,
                Err(e) if e.is_retryable() => return Err(e),
                _ => {
                    return Ok(fail(
                        "StepFunctions.ExecutionAlreadyExistsException",
                        format!("Execution Already Exists: '{a}'"),
                    ))
                }
            },
            Err(EngineError::InvalidExecutionInput(m)) => {
                return Ok(fail("StepFunctions.InvalidExecutionInputException", m))
            }
            Err(e) => return failed(e),
        };
        let v = variant(&req.resource).to_string();
        Ok(match v.as_str() {
            "sync" | "sync:2" => {
                if child.status.is_terminal() {
                    return Ok(outcome(&child, &v));
                }
                let parent = TaskRef {
                    execution_arn: parent_arn.to_string(),
                    frame: req.frame.clone(),
                    seq: req.seq,
                };
                if let Err(e) = self
                    .store
                    .put_child_wait(&child.execution_arn, &parent, &v)
                    .await
                {
                    return failed(e.into());
                }
                // It may have ended before the wait was stored, and found none to tell then.
                // Telling the parent twice is harmless: the second answer finds the task gone.
                match self.describe(&child.execution_arn).await {
                    Ok(now) if now.status.is_terminal() => outcome(&now, &v),
                    Ok(_) => TaskOutcome::Pending,
                    Err(e) => return failed(e),
                }
            }
            "waitForTaskToken" => TaskOutcome::Pending,
            _ => TaskOutcome::Succeeded(json!({
                "ExecutionArn": child.execution_arn,
                "StartDate": format_millis(child.start_time),
            })),
        })
    }

    /// Tells the parent whose `.sync` task waits for `child` (now ended) that it ended. The
    /// wait is forgotten only once the parent's signal is stored.
    pub(crate) async fn resume_parent(&self, child: &ExecutionRecord) -> Result<(), EngineError> {
        let Some((parent, variant)) = self.store.child_wait(&child.execution_arn).await? else {
            return Ok(());
        };
        let signal = parent_signal(child, &parent, &variant);
        self.scheduler
            .schedule(&parent.execution_arn, self.clock.now(), signal)
            .await?;
        self.store.remove_child_wait(&child.execution_arn).await?;
        Ok(())
    }
}

/// DescribeExecution's shape, as `.sync` returns it (`.sync:2` with JSON input and output).
fn describe(rec: &ExecutionRecord, parsed: bool) -> Value {
    let mut m = Map::new();
    m.insert("ExecutionArn".into(), json!(rec.execution_arn));
    let payload = |v: &Value| {
        if parsed {
            v.clone()
        } else {
            Value::String(to_text(v))
        }
    };
    m.insert("Input".into(), payload(&rec.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(rec.name));
    if let Some(o) = &rec.output {
        m.insert("Output".into(), payload(o));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    m.insert("StartDate".into(), json!(format_millis(rec.start_time)));
    m.insert("StateMachineArn".into(), json!(rec.state_machine_arn));
    m.insert("Status".into(), json!(rec.status.as_str()));
    if let Some(t) = rec.stop_time {
        m.insert("StopDate".into(), json!(format_millis(t)));
    }
    if let Some(f) = &rec.failure {
        if let Some(e) = &f.error {
            m.insert("Error".into(), json!(e));
        }
        if let Some(c) = &f.cause {
            m.insert("Cause".into(), json!(c));
        }
    }
    Value::Object(m)
}

fn outcome(rec: &ExecutionRecord, variant: &str) -> TaskOutcome {
    let described = describe(rec, variant == "sync:2");
    match rec.status {
        Status::Succeeded => TaskOutcome::Succeeded(described),
        Status::TimedOut => fail(names::TIMEOUT, to_text(&described)),
        Status::Aborted => fail(
            "StepFunctions.ExecutionAbortedException",
            to_text(&described),
        ),
        _ => fail(names::TASK_FAILED, to_text(&described)),
    }
}

/// The signal that ends a parent's `.sync` task when its child has ended.
fn parent_signal(child: &ExecutionRecord, parent: &TaskRef, variant: &str) -> Signal {
    let (frame, seq) = (parent.frame.clone(), parent.seq);
    match outcome(child, variant) {
        TaskOutcome::Succeeded(output) => Signal::TaskSucceeded { frame, seq, output },
        TaskOutcome::Failed(failure) => Signal::TaskFailed {
            frame,
            seq,
            failure,
        },
        TaskOutcome::Pending | TaskOutcome::Job { .. } => Signal::TaskFailed {
            frame,
            seq,
            failure: Failure::new(names::TASK_FAILED, "the child execution has not ended"),
        },
    }
}
