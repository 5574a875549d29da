//! The stepper: the handler of the step queue's messages. Each message advances one
//! execution by one step (a signal), runs a task and delivers its answer (an invoke), or
//! settles a step whose effects may have been lost (a settle).
//!
//! Delivery is at least once, so every message first performs the execution's unacknowledged
//! outbox, if any (the Lambda that committed the step died before performing it), and then
//! applies its own signal, which the engine ignores if it no longer applies: a duplicate, a
//! message overtaken by a later one, or one for an execution that was stopped. Messages of the
//! same execution in a batch run one after another; different executions run concurrently.
//! A message that fails is reported in `batchItemFailures` (the event source mapping must
//! have `ReportBatchItemFailures`), comes back after a short back-off, and after the queue's
//! `maxReceiveCount` lands in the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use waymark_engine::ports::{ExecutionStore, Scheduler, TaskOutcome, Tasks};
use waymark_engine::record::Phase;
use waymark_engine::runner::EngineError;
use waymark_engine::step::{Signal, TaskRequest};

use crate::children;
use crate::error::{sdk_message, AwsError};
use crate::home::Home;
use crate::message::StepMessage;

/// One record of the batch, decoded.
struct Work {
    message_id: String,
    receipt_handle: Option<String>,
    receive_count: u32,
    message: Result<StepMessage, AwsError>,
    /// The table item the message came from, when it was too large for SQS.
    stored: Option<String>,
}

/// Handles one batch of the step queue.
pub async fn handle(home: Arc<Home>, event: SqsEvent) -> SqsBatchResponse {
    let mut groups: Vec<(Option<String>, Vec<Work>)> = Vec::new();
    for record in event.records {
        let work = decode(&home, record).await;
        let arn = work
            .message
            .as_ref()
            .ok()
            .and_then(|m| m.arn())
            .map(str::to_string);
        match groups.iter_mut().find(|(a, _)| arn.is_some() && *a == arn) {
            Some((_, list)) => list.push(work),
            None => groups.push((arn, vec![work])),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, works) in groups {
        let home = home.clone();
        tasks.spawn(async move {
            let mut failed = Vec::new();
            for work in works {
                if let Err(e) = process(&home, &work).await {
                    tracing::warn!(message_id = ?work.message_id, error = ?e.to_string(), "step message failed");
                    back_off(&home, &work).await;
                    failed.push(work.message_id);
                }
            }
            failed
        });
    }
    let mut response = SqsBatchResponse::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(failed) => response
                .batch_item_failures
                .extend(failed.into_iter().map(|id| {
                    let mut f = BatchItemFailure::default();
                    f.item_identifier = id;
                    f
                })),
            // A panic inside one execution's messages: they come back, the others are done.
            Err(e) => tracing::error!("a group of step messages panicked: {e}"),
        }
    }
    response
}

async fn decode(home: &Home, record: SqsMessage) -> Work {
    let message_id = record.message_id.clone().unwrap_or_default();
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let parsed = serde_json::from_str::<StepMessage>(record.body.as_deref().unwrap_or(""))
        .map_err(|e| AwsError::malformed("step message", e));
    let (message, stored) = match parsed {
        Ok(StepMessage::Stored { id }) => match home.store.read_message(&id).await {
            Ok(Some(body)) => (
                serde_json::from_str(&body).map_err(|e| AwsError::malformed("stored message", e)),
                Some(id),
            ),
            // Handled already: a duplicate of a message whose item is gone.
            Ok(None) => (Ok(StepMessage::Stored { id }), None),
            Err(e) => (Err(e), None),
        },
        other => (other, None),
    };
    Work {
        message_id,
        receipt_handle: record.receipt_handle,
        receive_count,
        message,
        stored,
    }
}

/// A failed message comes back sooner than the queue's visibility timeout (which is long, to
/// cover a slow task), and later with every attempt.
async fn back_off(home: &Home, work: &Work) {
    let Some(handle) = &work.receipt_handle else {
        return;
    };
    let seconds = 2_i32.saturating_pow(work.receive_count.min(9)).min(300);
    if let Err(e) = home
        .scheduler
        .client()
        .change_message_visibility()
        .queue_url(home.scheduler.queue_url())
        .receipt_handle(handle)
        .visibility_timeout(seconds)
        .send()
        .await
    {
        tracing::warn!(
            "cannot shorten the visibility of a failed message: {}",
            sdk_message(&e)
        );
    }
}

async fn process(home: &Home, work: &Work) -> Result<(), AwsError> {
    let message = match &work.message {
        Ok(m) => m,
        Err(e) => return Err(AwsError::malformed("step message", e)),
    };
    let done = match message {
        StepMessage::Signal { arn, signal, .. } => {
            if home.scheduler.hop(message, Utc::now()).await? {
                return Ok(());
            }
            settle(home, arn).await?;
            deliver(home, arn, signal.clone()).await
        }
        StepMessage::Invoke { arn, request } => {
            settle(home, arn).await?;
            invoke(home, arn, request).await
        }
        StepMessage::Settle { arn } => {
            settle(home, arn).await?;
            start_if_unstarted(home, arn).await
        }
        StepMessage::Stored { id } => {
            tracing::info!(stored = ?id, "stored message was handled already");
            Ok(())
        }
    };
    if done.is_ok() {
        if let Some(id) = &work.stored {
            if let Err(e) = home.store.delete_message(id).await {
                tracing::warn!(stored = ?id, error = ?e.to_string(), "cannot remove stored message");
            }
        }
    }
    done
}

/// Performs the execution's unacknowledged outbox, if it has one.
pub(crate) async fn settle(home: &Home, arn: &str) -> Result<(), AwsError> {
    match home.engine.settle_outbox(arn).await {
        Ok(_) => {}
        Err(EngineError::ExecutionDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Takes the first step of an execution that was created but never stepped: its creator
/// died between the two.
pub(crate) async fn start_if_unstarted(home: &Home, arn: &str) -> Result<(), AwsError> {
    match home.store.load(arn).await? {
        Some(rec) if rec.version == 0 && !rec.status.is_terminal() => {
            deliver(home, arn, Signal::Start).await
        }
        _ => Ok(()),
    }
}

/// Applies a signal; a signal for an execution or state machine that is gone is dropped.
async fn deliver(home: &Home, arn: &str, signal: Signal) -> Result<(), AwsError> {
    match home.engine.deliver(arn, signal).await {
        Ok(()) => Ok(()),
        Err(EngineError::ExecutionDoesNotExist(_)) => {
            tracing::warn!(execution = ?arn, "signal for an execution that does not exist");
            Ok(())
        }
        Err(EngineError::StateMachineDoesNotExist(sm)) => {
            tracing::warn!(execution = ?arn, state_machine = ?sm, "signal for an execution of a state machine that is gone");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs a task if its state still waits for it, then delivers the answer.
async fn invoke(home: &Home, arn: &str, req: &TaskRequest) -> Result<(), AwsError> {
    let Some(rec) = home.store.load(arn).await? else {
        return Ok(());
    };
    let waiting = !rec.status.is_terminal()
        && rec
            .frames
            .get(&req.frame)
            .is_some_and(|f| f.seq == req.seq && matches!(f.phase, Phase::Task(_)));
    if !waiting {
        return Ok(()); // stopped, timed out, or answered already
    }
    let outcome = if children::handles(&req.resource) {
        children::start(&home.engine, arn, req).await
    } else {
        home.invoker.invoke(arn, req).await
    };
    let (frame, seq) = (req.frame.clone(), req.seq);
    let signal = match outcome {
        TaskOutcome::Succeeded(output) => Signal::TaskSucceeded { frame, seq, output },
        TaskOutcome::Failed(failure) => Signal::TaskFailed {
            frame,
            seq,
            failure,
        },
        TaskOutcome::Pending => return Ok(()),
    };
    if let Err(e) = deliver(home, arn, signal.clone()).await {
        // The answer must not be lost with the step: queue it instead of running the task again.
        tracing::warn!(execution = ?arn, state = ?req.state, error = ?e.to_string(), "answer not delivered now; queued");
        home.scheduler
            .schedule(arn, Utc::now(), signal)
            .await
            .map_err(|e| AwsError::sqs("SendMessage", e))?;
    }
    Ok(())
}
