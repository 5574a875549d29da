//! The engine's `Notifier` over SNS: every status change of an execution (started,
//! succeeded, failed, timed out, aborted) is published to the topic, with the message
//! attributes `stateMachine` and `status` for subscription filter policies and the execution
//! as DescribeExecution shows it as the message. An ended child execution also resumes the
//! `.sync` task of its parent here.
//!
//! The port cannot fail, yet an end that was not told (or a parent not resumed) must not be
//! lost: the notifier then holds back the acknowledgement of the step's outbox, so the step
//! queue delivers again and the `Finished` effect is performed again. Subscribers may thus
//! see an end twice, as with any at-least-once delivery.

use std::sync::Arc;

use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{json, Value};
use waymark_asl::json::to_text;
use waymark_engine::ports::Notifier;
use waymark_engine::record::ExecutionRecord;

use crate::children;
use crate::error::{sdk_message, AwsError};
use crate::scheduler::SqsScheduler;
use crate::store::DynamoStore;

/// SNS takes 256 KiB a message; input and output are left out of larger ones.
const MAX_MESSAGE_BYTES: usize = 240 * 1024;

pub struct SnsNotifier {
    topic: Option<(aws_sdk_sns::Client, String)>,
    store: Arc<DynamoStore>,
    scheduler: SqsScheduler,
}

impl SnsNotifier {
    /// `topic`: the client and topic ARN, or `None` to publish nothing.
    pub fn new(
        topic: Option<(aws_sdk_sns::Client, String)>,
        store: Arc<DynamoStore>,
        scheduler: SqsScheduler,
    ) -> Self {
        SnsNotifier {
            topic,
            store,
            scheduler,
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
    async fn status_changed(&self, rec: &ExecutionRecord) {
        let ended = rec.status.is_terminal();
        if let Err(e) = self.publish(rec).await {
            tracing::error!(execution = ?rec.execution_arn, status = rec.status.as_str(), error = ?e.to_string(), "status not published");
            if ended {
                self.store.hold_ack(&rec.execution_arn);
            }
        }
        if ended {
            if let Err(e) = children::resume_parent(&self.store, &self.scheduler, rec).await {
                tracing::error!(execution = ?rec.execution_arn, error = ?e.to_string(), "parent not resumed");
                self.store.hold_ack(&rec.execution_arn);
            }
        }
    }
}
