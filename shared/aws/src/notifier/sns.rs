//! The engine's `Notifier` over SNS: every status change of an execution (started,
//! succeeded, failed, timed out, aborted) is published to the topic, with the message
//! attributes `stateMachine` and `status` for subscription filter policies and the execution
//! as DescribeExecution shows it as the message; approval requests go to the approval topic
//! with their links.
//!
//! A publish that fails is an error: the step's outbox stays unacknowledged, the step queue
//! delivers again and the notification is sent again. Subscribers may thus see a change
//! twice, as with any at-least-once delivery.

use std::sync::Arc;

use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{json, Value};
use waymark_asl::json::to_text;
use waymark_engine::ports::{Notifier, StoreError};
use waymark_engine::record::ExecutionRecord;
use waymark_engine::step::{Approval, TaskRequest};

use crate::error::{sdk_message, AwsError};
use crate::store::DynamoStore;

/// SNS takes 256 KiB a message; input and output are left out of larger ones.
const MAX_MESSAGE_BYTES: usize = 240 * 1024;

pub struct SnsNotifier {
    topic: Option<(aws_sdk_sns::Client, String)>,
    approval_topic: Option<(aws_sdk_sns::Client, String)>,
    store: Arc<DynamoStore>,
}

impl SnsNotifier {
    /// `topic`: the client and topic ARN of status changes, or `None` to publish nothing;
    /// `approval_topic`: where approval requests go, if anywhere.
    pub fn new(
        topic: Option<(aws_sdk_sns::Client, String)>,
        approval_topic: Option<(aws_sdk_sns::Client, String)>,
        store: Arc<DynamoStore>,
    ) -> Self {
        SnsNotifier {
            topic,
            approval_topic,
            store,
        }
    }

    async fn publish(&self, rec: &ExecutionRecord) -> Result<(), AwsError> {
        let Some((client, topic)) = &self.topic else {
            return Ok(());
        };
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| AwsError::sns("Publish", e))
        };
        client
            .publish()
            .topic_arn(topic)
            .subject(format!("Execution {}", rec.status.as_str()))
            .message(message(rec))
            .message_attributes("stateMachine", attr(&rec.state_machine_name)?)
            .message_attributes("status", attr(rec.status.as_str())?)
            .message_attributes("executionArn", attr(&rec.execution_arn)?)
            .send()
            .await
            .map_err(|e| AwsError::sns("Publish", sdk_message(&e)))?;
        Ok(())
    }
}

/// The execution as DescribeExecution shows it (the shape of Step Functions' own status-change
/// events): payloads as JSON text, times in milliseconds since the epoch.
pub fn message(rec: &ExecutionRecord) -> String {
    let mut m = json!({
        "executionArn": rec.execution_arn,
        "stateMachineArn": rec.state_machine_arn,
        "name": rec.name,
        "status": rec.status.as_str(),
        "startDate": rec.start_time.timestamp_millis(),
        "stopDate": rec.stop_time.map(|t| t.timestamp_millis()),
        "input": to_text(&rec.input),
        "inputDetails": {"included": true},
        "output": rec.output.as_ref().map(to_text),
        "outputDetails": rec.output.as_ref().map(|_| json!({"included": true})),
        "error": rec.failure.as_ref().and_then(|f| f.error.clone()),
        "cause": rec.failure.as_ref().and_then(|f| f.cause.clone()),
        "redriveCount": rec.redrive_count,
    });
    let text = m.to_string();
    if text.len() <= MAX_MESSAGE_BYTES {
        return text;
    }
    m["input"] = Value::Null;
    m["inputDetails"] = json!({"included": false});
    if rec.output.is_some() {
        m["output"] = Value::Null;
        m["outputDetails"] = json!({"included": false});
    }
    if let Some(c) = m["cause"].as_str().filter(|c| c.len() > 32 * 1024) {
        m["cause"] = json!(c.chars().take(32 * 1024).collect::<String>());
    }
    m.to_string()
}

impl Notifier for SnsNotifier {
    async fn status_changed(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        self.publish(rec).await.map_err(|e| {
            tracing::error!(execution = ?rec.execution_arn, status = rec.status.as_str(), "status not published: {e}");
            StoreError::from(e)
        })
    }

    async fn approval_requested(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
        a: &Approval,
    ) -> Result<(), StoreError> {
        if let Some((sns, topic)) = &self.approval_topic {
            // Announced once, unless the mark that it was got lost.
            if !self.store.approval_announced_already(&a.id).await? {
                let (subject, message) = crate::approvals::announcement(execution_arn, req, a);
                let attr = |v: &str| {
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(v)
                        .build()
                        .ok()
                };
                let machine = req.context["StateMachine"]["Name"].as_str().unwrap_or("-");
                sns.publish()
                    .topic_arn(topic)
                    .subject(subject)
                    .message(message)
                    .set_message_attributes(Some(
                        [
                            ("stateMachine", machine),
                            ("executionArn", execution_arn),
                            ("state", req.state.as_str()),
                            ("approvalId", a.id.as_str()),
                        ]
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .filter_map(|(k, v)| Some((k.to_string(), attr(v)?)))
                        .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|e| AwsError::sns("Publish", sdk_message(&e)))?;
                if let Err(e) = self.store.approval_announced(&a.id).await {
                    // The next attempt, if any, announces it once more.
                    tracing::warn!(approval = ?a.id, "approval not marked as announced: {e}");
                }
            }
        }
        // Not the link: it is as good as the decision to whoever reads the logs.
        tracing::info!(execution = ?execution_arn, state = ?req.state, approval = ?a.id, "approval requested");
        Ok(())
    }
}
