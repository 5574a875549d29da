//! The engine's `Scheduler` over the SQS step queue. A signal due later is sent with
//! `DelaySeconds` (SQS allows at most 900 s); when it arrives early because the wait was
//! longer, the stepper sends it again with what remains ([`SqsScheduler::hop`]), so waits and
//! execution timeouts of up to a year work with a queue whose delays are capped.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use waymark_engine::ports::{Scheduler, StoreError};
use waymark_engine::step::{Signal, TaskRequest};

use crate::error::{sdk_message, AwsError};
use crate::message::{StepMessage, MAX_INLINE_BODY};
use crate::store::keys;
use crate::store::DynamoStore;

/// SQS's longest `DelaySeconds`.
pub const MAX_DELAY_SECONDS: u32 = 900;

#[derive(Clone)]
pub struct SqsScheduler {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    /// The longest delay given to SQS: 900 s, less in tests to see hops happen.
    max_delay: u32,
    /// Where bodies too large for SQS go.
    store: Arc<DynamoStore>,
    /// When the safety-net message after a step taken outside the queue arrives.
    settle_delay: u32,
}

impl SqsScheduler {
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        max_delay: u32,
        store: Arc<DynamoStore>,
    ) -> Self {
        SqsScheduler {
            client,
            queue_url: queue_url.into(),
            max_delay: max_delay.clamp(1, MAX_DELAY_SECONDS),
            store,
            settle_delay: 60,
        }
    }

    /// Sets how long after an API step its settle message arrives (at most 900 s).
    pub fn with_settle_delay(mut self, seconds: u32) -> Self {
        self.settle_delay = seconds.min(MAX_DELAY_SECONDS);
        self
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Whole seconds until `due`, rounded up (a timer never fires early for rounding), and
    /// capped at the queue's maximum delay.
    pub fn delay_for(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        let ms = (due - now).num_milliseconds();
        if ms <= 0 {
            return 0;
        }
        let secs = (ms as u64).div_ceil(1000);
        secs.min(u64::from(self.max_delay)) as u32
    }

    /// Sends `message`, delayed by `delay` seconds.
    pub async fn send(&self, message: &StepMessage, delay: u32) -> Result<(), AwsError> {
        let body = serde_json::to_string(message).map_err(|e| AwsError::malformed("message", e))?;
        let body = if body.len() > MAX_INLINE_BODY {
            let id = waymark_engine::memory::uuid_v4(rand::random(), rand::random());
            let mut item = crate::store::keys_item(&keys::message_pk(&id));
            item.insert("d".into(), aws_sdk_dynamodb::types::AttributeValue::S(body));
            item.insert(
                "ttl".into(),
                aws_sdk_dynamodb::types::AttributeValue::N(
                    (Utc::now() + chrono::Duration::days(30))
                        .timestamp()
                        .to_string(),
                ),
            );
            self.store.put_message(item).await?;
            serde_json::to_string(&StepMessage::Stored { id })
                .map_err(|e| AwsError::malformed("message", e))?
        } else {
            body
        };
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay as i32)
            .send()
            .await
            .map_err(|e| AwsError::sqs("SendMessage", sdk_message(&e)))?;
        Ok(())
    }

    /// Sends a signal message again when it arrived before it was due. Returns whether it did
    /// (the message is then done with, and its copy carries on).
    pub async fn hop(&self, message: &StepMessage, now: DateTime<Utc>) -> Result<bool, AwsError> {
        let StepMessage::Signal { due, .. } = message else {
            return Ok(false);
        };
        // Never early (a Wait lasts at least its time); a few milliseconds of clock skew
        // between hosts are not worth another trip.
        if (*due - now).num_milliseconds() <= 20 {
            return Ok(false);
        }
        // An execution that ended (stopped, say) needs no more hops: drop the message.
        if let Some(arn) = message.arn() {
            if self.store.has_ended(arn).await? {
                return Ok(true);
            }
        }
        self.send(message, self.delay_for(*due, now)).await?;
        Ok(true)
    }
}

impl Scheduler for SqsScheduler {
    async fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> Result<(), StoreError> {
        let delay = self.delay_for(at, Utc::now());
        let message = StepMessage::Signal {
            arn: execution_arn.to_string(),
            due: at,
            signal,
        };
        Ok(self.send(&message, delay).await?)
    }

    /// The task travels as a message: the stepper that receives it runs it, so a slow task
    /// never holds up the step that scheduled it, and the tasks of a Map run in parallel.
    async fn dispatch(&self, execution_arn: &str, req: &TaskRequest) -> Result<(), StoreError> {
        let message = StepMessage::Invoke {
            arn: execution_arn.to_string(),
            request: Box::new(req.clone()),
        };
        Ok(self.send(&message, 0).await?)
    }

    /// Steps the API takes (starting, answering a task, stopping, redriving) are not
    /// redelivered by any queue if the function dies between a commit and its effects: a
    /// delayed settle message makes the stepper perform whatever was left (usually nothing).
    async fn settle_later(&self, execution_arn: &str) -> Result<(), StoreError> {
        let message = StepMessage::Settle {
            arn: execution_arn.to_string(),
        };
        Ok(self.send(&message, self.settle_delay).await?)
    }
}
