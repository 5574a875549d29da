//! The trigger: starts executions from EventBridge events and from the event queue, once
//! per event. The execution's name comes from the event's id (or the SQS message id), so a
//! duplicate delivery is `ExecutionAlreadyExists` and changes nothing — unless the first
//! delivery died before the execution's first step, which the duplicate then takes.
//!
//! - EventBridge: the rule's target input names the state machine and carries the event,
//!   with an input transformer: `{"stateMachine": "<name or ARN>", "event": <aws.events.event>}`.
//!   The event becomes the execution's input.
//! - SQS: the message body is `{"stateMachine": "<name or ARN>", "input": {…}, "name": "…"}`
//!   (`name` optional). Failed messages are reported for retry, and land in the queue's
//!   dead-letter queue in the end.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde_json::Value;
use waymark_engine::ports::StateMachineStore;
use waymark_engine::record::ExecutionRecord;
use waymark_engine::runner::EngineError;

use crate::error::AwsError;
use crate::home::Home;

/// Execution names: at most 80 characters of letters, digits, `-` and `_`.
pub fn execution_name(prefix: &str, id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = format!("{prefix}-{clean}");
    name.chars().take(80).collect()
}

/// Handles whatever invoked the trigger: an SQS batch or an EventBridge target input.
pub async fn handle(home: Arc<Home>, event: Value) -> Result<Value, AwsError> {
    let from_sqs = event["Records"]
        .as_array()
        .and_then(|r| r.first())
        .is_some_and(|r| r["eventSource"] == "aws:sqs");
    if from_sqs {
        let batch: SqsEvent =
            serde_json::from_value(event).map_err(|e| AwsError::malformed("SQS event", e))?;
        let response = handle_sqs(&home, batch).await;
        return serde_json::to_value(response).map_err(|e| AwsError::malformed("response", e));
    }
    let rec = handle_event(&home, &event).await?;
    Ok(serde_json::json!({
        "executionArn": rec.map(|r| r.execution_arn),
    }))
}

/// An EventBridge event (as the target's input transformer shapes it) → one execution.
/// Returns the execution, or `None` when this event had started it already.
pub async fn handle_event(home: &Home, input: &Value) -> Result<Option<ExecutionRecord>, AwsError> {
    let machine = input["stateMachine"]
        .as_str()
        .ok_or_else(|| AwsError::malformed("trigger input", "no \"stateMachine\""))?;
    let event = input.get("event").unwrap_or(input);
    let id = event["id"]
        .as_str()
        .ok_or_else(|| AwsError::malformed("trigger input", "the event has no \"id\""))?;
    start(home, machine, &execution_name("eb", id), event.clone()).await
}

/// The event queue's batch → one execution per message.
pub async fn handle_sqs(home: &Home, batch: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in batch.records {
        let id = record.message_id.clone().unwrap_or_default();
        let result = async {
            let body: Value = serde_json::from_str(record.body.as_deref().unwrap_or(""))
                .map_err(|e| AwsError::malformed("event message", e))?;
            let machine = body["stateMachine"]
                .as_str()
                .ok_or_else(|| AwsError::malformed("event message", "no \"stateMachine\""))?;
            let name = match body["name"].as_str() {
                Some(n) => n.to_string(),
                None => execution_name("sqs", &id),
            };
            let input = body
                .get("input")
                .cloned()
                .unwrap_or(Value::Object(Default::default()));
            start(home, machine, &name, input).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(message_id = ?id, error = ?e.to_string(), "execution not started");
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            response.batch_item_failures.push(f);
        }
    }
    response
}

async fn start(
    home: &Home,
    machine: &str,
    name: &str,
    input: Value,
) -> Result<Option<ExecutionRecord>, AwsError> {
    let arn = if machine.starts_with("arn:") {
        machine.to_string()
    } else {
        home.engine.config.state_machine_arn(machine)
    };
    let sm = home
        .store
        .get_state_machine(&arn)
        .await
        .map_err(|e| AwsError::Engine(e.into()))?
        .ok_or_else(|| AwsError::Engine(EngineError::StateMachineDoesNotExist(arn.clone())))?;
    match home.engine.start_execution(&sm, Some(name), input).await {
        Ok(rec) => Ok(Some(rec)),
        Err(EngineError::ExecutionAlreadyExists(existing)) => {
            // A duplicate delivery; make sure the first one got as far as the first step.
            home.engine.settle(&existing).await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::execution_name;

    #[test]
    fn names_are_valid_execution_names() {
        assert_eq!(
            execution_name("eb", "6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
            "eb-6a7e8feb-b491-4cf7-a9f1-bf3703467718"
        );
        assert_eq!(execution_name("sqs", "a/b c"), "sqs-a-b-c");
        assert_eq!(execution_name("x", &"y".repeat(200)).len(), 80);
    }
}
