//! The engine's `Scheduler` over the SQS step queue. A signal due later is sent with
//! `DelaySeconds` (SQS allows at most 900 s); when it arrives early because the wait was
//! longer, the stepper sends it again with what remains ([`SqsScheduler::hop`]), so waits and
//! execution timeouts of up to a year work with a queue whose delays are capped.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use waymark_engine::ports::{Delivery, Scheduler, StoreError};
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
        let body = self.body(message).await?;
        self.send_body(body, delay).await
    }

    async fn send_body(&self, body: String, delay: u32) -> Result<(), AwsError> {
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

    /// Sends `messages` (each with its delay) in as few `SendMessageBatch` requests as SQS
    /// bills: ten messages and 64 KB at most each (every 64 KB of a request is billed as one).
    pub async fn send_all(&self, messages: &[(StepMessage, u32)]) -> Result<(), AwsError> {
        const MAX_ENTRIES: usize = 10;
        const BILLED_CHUNK: usize = 64 * 1024;
        let mut batch: Vec<(String, u32)> = Vec::new();
        let mut bytes = 0;
        for (message, delay) in messages {
            let body = self.body(message).await?;
            if !batch.is_empty()
                && (batch.len() == MAX_ENTRIES || bytes + body.len() > BILLED_CHUNK)
            {
                self.send_batch(std::mem::take(&mut batch)).await?;
                bytes = 0;
            }
            bytes += body.len();
            batch.push((body, *delay));
        }
        if !batch.is_empty() {
            self.send_batch(batch).await?;
        }
        Ok(())
    }

    async fn send_batch(&self, batch: Vec<(String, u32)>) -> Result<(), AwsError> {
        if batch.len() == 1 {
            let (body, delay) = batch.into_iter().next().unwrap_or_default();
            return self.send_body(body, delay).await;
        }
        let mut entries = Vec::with_capacity(batch.len());
        for (i, (body, delay)) in batch.into_iter().enumerate() {
            entries.push(
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .delay_seconds(delay as i32)
                    .build()
                    .map_err(|e| AwsError::sqs("SendMessageBatch", e))?,
            );
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| AwsError::sqs("SendMessageBatch", sdk_message(&e)))?;
        if let Some(f) = out.failed.first() {
            return Err(AwsError::sqs(
                "SendMessageBatch",
                format!(
                    "{} of the messages were not sent: {} ({})",
                    out.failed.len(),
                    f.message.as_deref().unwrap_or(""),
                    f.code
                ),
            ));
        }
        Ok(())
    }

    /// A message's body: the message, or a reference to the item that holds it when it is
    /// too large for SQS.
    async fn body(&self, message: &StepMessage) -> Result<String, AwsError> {
        let body = serde_json::to_string(message).map_err(|e| AwsError::malformed("message", e))?;
        Ok(if body.len() > MAX_INLINE_BODY {
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
        })
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

    async fn submit(&self, execution_arn: &str, work: Vec<Delivery>) -> Result<(), StoreError> {
        let now = Utc::now();
        let messages: Vec<(StepMessage, u32)> = work
            .into_iter()
            .map(|w| match w {
                Delivery::Signal { at, signal } => (
                    StepMessage::Signal {
                        arn: execution_arn.to_string(),
                        due: at,
                        signal,
                    },
                    self.delay_for(at, now),
                ),
                Delivery::Task(request) => (
                    StepMessage::Invoke {
                        arn: execution_arn.to_string(),
                        request,
                    },
                    0,
                ),
            })
            .collect();
        Ok(self.send_all(&messages).await?)
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
