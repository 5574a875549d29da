//! What happened to each state of an execution, read from its history as GetExecutionHistory
//! gives it. Events are tied to a state by following `previousEventId` back to the state's
//! `…StateEntered`, which keeps concurrent Parallel branches and Map iterations apart.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::callback::{find_state, Waiting};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Entered, not left: running now, or where a stopped execution stood.
    Running,
    Succeeded,
    /// Failed, and the failure ended the execution (or the execution has not gone on yet).
    Failed,
    /// Failed, and a Catch led on to another state.
    Caught,
}

/// One state's part in an execution. Iterations of a Map enter their states many times: the
/// figures then add up, and the input, output and error are the last seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateRun {
    pub status: Status,
    /// How many times the state was entered.
    pub entered: u32,
    /// How many times a Retry ran it again.
    pub retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The callback the state waits on, while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
}

/// The `…EventDetails` object of an event, whichever it is.
fn details(e: &Value) -> Option<&Value> {
    e.as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .map(|(_, v)| v)
}

fn text(v: Option<&Value>, field: &str) -> Option<String> {
    v?.get(field).and_then(Value::as_str).map(str::to_string)
}

/// Each state's run, by state name. The definition tells where a waiting callback task put its
/// token.
pub fn status(definition: &Value, history: &[Value]) -> BTreeMap<String, StateRun> {
    let mut runs: BTreeMap<String, StateRun> = BTreeMap::new();
    let mut owner: HashMap<u64, String> = HashMap::new();
    for e in history {
        let id = e.get("id").and_then(Value::as_u64).unwrap_or(0);
        let prev = e
            .get("previousEventId")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
        let d = details(e);
        if let Some(entered) = e.get("stateEnteredEventDetails") {
            let name = text(Some(entered), "name").unwrap_or_default();
            // Entering another state straight after a failure: a Catch led here.
            if let Some(from) = owner.get(&prev) {
                if *from != name {
                    if let Some(r) = runs.get_mut(from) {
                        if r.status == Status::Failed {
                            r.status = Status::Caught;
                        }
                    }
                }
            }
            let run = runs.entry(name.clone()).or_insert(StateRun {
                status: Status::Running,
                entered: 0,
                retries: 0,
                input: None,
                output: None,
                error: None,
                cause: None,
                waiting: None,
            });
            run.entered += 1;
            run.waiting = None;
            run.status = Status::Running;
            run.input = text(Some(entered), "input");
            owner.insert(id, name);
            continue;
        }
        if let Some(exited) = e.get("stateExitedEventDetails") {
            let name = text(Some(exited), "name").unwrap_or_default();
            if let Some(r) = runs.get_mut(&name) {
                r.status = Status::Succeeded;
                r.waiting = None;
                r.output = text(Some(exited), "output");
            }
            owner.insert(id, name);
            continue;
        }
        let Some(name) = owner.get(&prev).cloned() else {
            continue;
        };
        owner.insert(id, name.clone());
        let Some(run) = runs.get_mut(&name) else {
            continue;
        };
        // A callback is waited on from its TaskScheduled until the task's next event other
        // than TaskStarted.
        if kind == "TaskScheduled" {
            let resource = text(d, "resource").unwrap_or_default();
            let named = match text(d, "resourceType") {
                Some(service) => format!("{service}:{resource}"),
                None => resource.clone(),
            };
            run.waiting = resource
                .ends_with(".waitForTaskToken")
                .then(|| Waiting::scheduled(named, text(d, "parameters")));
        } else if kind != "TaskStarted" {
            run.waiting = None;
        }
        let failed = kind.ends_with("Failed") || kind.ends_with("TimedOut");
        if failed || kind == "ExecutionAborted" {
            if kind.starts_with("Execution") {
                // The execution ended in this state; a Fail state's own error is the
                // execution's.
                if run.status == Status::Running {
                    run.status = Status::Failed;
                }
            } else {
                run.status = Status::Failed;
            }
            if let Some(error) = text(d, "error") {
                run.error = Some(error);
                run.cause = text(d, "cause");
            }
        } else if (kind.ends_with("Scheduled") || kind.ends_with("StateStarted"))
            && run.status == Status::Failed
        {
            // Scheduled again after failing, without being entered again: a Retry.
            run.retries += 1;
            run.status = Status::Running;
        }
    }
    for (name, run) in runs.iter_mut() {
        if let Some(w) = run.waiting.as_mut() {
            w.read(find_state(definition, name, 0));
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(id: u64, prev: u64, kind: &str, details: Value) -> Value {
        let mut e = json!({"id": id, "previousEventId": prev, "type": kind, "timestamp": 0});
        if let Value::Object(d) = details {
            for (k, v) in d {
                e[k] = v;
            }
        }
        e
    }

    #[test]
    fn retries_catches_and_the_failing_state() {
        let h = vec![
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(
                2,
                1,
                "TaskStateEntered",
                json!({"stateEnteredEventDetails": {"name": "T", "input": "{}"}}),
            ),
            ev(3, 2, "TaskScheduled", json!({})),
            ev(
                4,
                3,
                "TaskFailed",
                json!({"taskFailedEventDetails": {"error": "E", "cause": "c1"}}),
            ),
            ev(5, 4, "TaskScheduled", json!({})),
            ev(
                6,
                5,
                "TaskFailed",
                json!({"taskFailedEventDetails": {"error": "E", "cause": "c2"}}),
            ),
            ev(
                7,
                6,
                "FailStateEntered",
                json!({"stateEnteredEventDetails": {"name": "F", "input": "{\"Error\":\"E\"}"}}),
            ),
            ev(
                8,
                7,
                "ExecutionFailed",
                json!({"executionFailedEventDetails": {"error": "Boom"}}),
            ),
        ];
        let runs = status(&json!({}), &h);
        let t = &runs["T"];
        assert_eq!(t.status, Status::Caught);
        assert_eq!(t.retries, 1);
        assert_eq!(t.cause.as_deref(), Some("c2"));
        assert_eq!(runs["F"].status, Status::Failed);
        assert_eq!(runs["F"].error.as_deref(), Some("Boom"));
    }

    #[test]
    fn parallel_branches_are_told_apart_by_their_event_chains() {
        let h = vec![
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(
                2,
                1,
                "ParallelStateEntered",
                json!({"stateEnteredEventDetails": {"name": "P"}}),
            ),
            ev(3, 2, "ParallelStateStarted", json!({})),
            ev(
                4,
                3,
                "PassStateEntered",
                json!({"stateEnteredEventDetails": {"name": "A"}}),
            ),
            ev(
                5,
                3,
                "TaskStateEntered",
                json!({"stateEnteredEventDetails": {"name": "B"}}),
            ),
            ev(
                6,
                4,
                "PassStateExited",
                json!({"stateExitedEventDetails": {"name": "A", "output": "1"}}),
            ),
            ev(7, 5, "TaskScheduled", json!({})),
        ];
        let runs = status(&json!({}), &h);
        assert_eq!(runs["A"].status, Status::Succeeded);
        assert_eq!(runs["A"].output.as_deref(), Some("1"));
        assert_eq!(runs["B"].status, Status::Running);
        assert_eq!(runs["P"].status, Status::Running);
        assert!(!runs.contains_key("C"));
    }

    #[test]
    fn a_callback_is_waited_on_until_it_is_answered() {
        let def = json!({"StartAt": "W", "States": {"W": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}});
        let mut h = vec![
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(
                2,
                1,
                "TaskStateEntered",
                json!({"stateEnteredEventDetails": {"name": "W", "input": "{}"}}),
            ),
            ev(
                3,
                2,
                "TaskScheduled",
                json!({"taskScheduledEventDetails": {"resourceType": "sqs", "resource": "sendMessage.waitForTaskToken",
                    "parameters": "{\"QueueUrl\":\"q\",\"MessageBody\":{\"token\":\"T1\"}}"}}),
            ),
            ev(4, 3, "TaskStarted", json!({})),
        ];
        let w = status(&def, &h)["W"].waiting.clone().expect("waiting");
        assert_eq!(w.token.as_deref(), Some("T1"));
        assert_eq!(w.resource, "sqs:sendMessage.waitForTaskToken");
        h.push(ev(
            5,
            4,
            "TaskSucceeded",
            json!({"taskSucceededEventDetails": {"output": "{}"}}),
        ));
        assert_eq!(status(&def, &h)["W"].waiting, None);
        // A task that does not wait for a token is not offered an answer.
        h.truncate(2);
        h.push(ev(
            3,
            2,
            "TaskScheduled",
            json!({"taskScheduledEventDetails": {"resource": "invoke", "parameters": "{}"}}),
        ));
        assert_eq!(status(&def, &h)["W"].waiting, None);
    }
}
