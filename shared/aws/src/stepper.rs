//! The stepper: the handler of the step queue's messages. Each message advances one
//! execution by one step (a signal), runs a task and delivers its answer (an invoke), or
//! settles a step whose effects may have been lost (a settle) — all through the engine,
//! which owns the protocol (a step first performs whatever outbox the last one left).
//!
//! Delivery is at least once; the engine ignores a signal that no longer applies: a
//! duplicate, a message overtaken by a later one, or one for an execution that was stopped.
//! The signals and tasks a batch holds for one execution are handled together: its tasks run
//! at once and their answers, with the signals, are decided in one step (one commit, one
//! history write); other messages of the execution follow one after another. Different
//! executions run concurrently. A message that fails — or belongs to a group that panicked — is
//! reported in `batchItemFailures` (the event source mapping must have
//! `ReportBatchItemFailures`), comes back after a short back-off, and after the queue's
//! `maxReceiveCount` lands in the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use waymark_engine::runner::EngineError;

use crate::error::{sdk_message, AwsError};
use crate::home::Home;
use crate::message::StepMessage;
use crate::panic::catch_panic;

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
    let groups: Vec<Vec<Work>> = groups.into_iter().map(|(_, works)| works).collect();
    let failed = run_groups(groups, move |works| {
        let home = home.clone();
        async move {
            let results = process_group(&home, &works).await;
            let mut failed = Vec::new();
            for (work, r) in works.iter().zip(results) {
                if let Err(e) = &r {
                    tracing::warn!(message_id = ?work.message_id, error = ?e.to_string(), "step message failed");
                    back_off(&home, work).await;
                    failed.push(work.message_id.clone());
                }
            }
            failed
        }
    })
    .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// Runs the groups concurrently (`handle` returns the ids of a group's messages that
/// failed), and returns the ids of the messages that must come back: those that failed, and
/// every message of a group that panicked (which of them were done is not known; each is
/// safe to handle again).
async fn run_groups<F, Fut>(groups: Vec<Vec<Work>>, handle: F) -> Vec<String>
where
    F: Fn(Vec<Work>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Vec<String>> + Send,
{
    let mut tasks = tokio::task::JoinSet::new();
    for works in groups {
        let handle = handle.clone();
        let ids: Vec<String> = works.iter().map(|w| w.message_id.clone()).collect();
        tasks.spawn(async move {
            let group = catch_panic(handle(works)).await;
            group.unwrap_or_else(|panic| {
                tracing::error!(panic = ?panic, "a group of step messages panicked");
                ids
            })
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        // A task cannot panic (its future is wrapped), and the set is never aborted.
        failed.extend(done.unwrap_or_default());
    }
    failed
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

/// One execution's messages of a batch, one result each. Signals that are due and tasks to
/// run go to the engine together, so that they cost one step (one commit) between them:
/// a Map's children that end together are recorded together. Everything else, and a
/// group of one, is handled a message at a time.
async fn process_group(home: &Home, works: &[Work]) -> Vec<Result<(), AwsError>> {
    let mut results: Vec<Option<Result<(), AwsError>>> = works.iter().map(|_| None).collect();
    let mut joint: Vec<usize> = Vec::new();
    let mut arn = None;
    for (i, work) in works.iter().enumerate() {
        match &work.message {
            Ok(m @ StepMessage::Signal { arn: a, .. }) => {
                match home.scheduler.hop(m, home.engine.now()).await {
                    Ok(true) => results[i] = Some(Ok(())),
                    Ok(false) => {
                        arn = Some(a.as_str());
                        joint.push(i);
                    }
                    Err(e) => results[i] = Some(Err(e)),
                }
            }
            Ok(StepMessage::Invoke { arn: a, .. }) => {
                arn = Some(a.as_str());
                joint.push(i);
            }
            _ => {}
        }
    }
    match arn {
        Some(arn) if joint.len() > 1 => {
            let mut reqs = Vec::new();
            let mut signals = Vec::new();
            let mut order = Vec::new();
            for &i in &joint {
                if let Ok(StepMessage::Invoke { request, .. }) = &works[i].message {
                    reqs.push((**request).clone());
                    order.push(i);
                }
            }
            for &i in &joint {
                if let Ok(StepMessage::Signal { signal, .. }) = &works[i].message {
                    signals.push(signal.clone());
                    order.push(i);
                }
            }
            let done = home.engine.run_tasks_and_deliver(arn, &reqs, signals).await;
            for (i, r) in order.into_iter().zip(done) {
                let r = gone_is_done(arn, r);
                if r.is_ok() {
                    forget_stored(home, &works[i]).await;
                }
                results[i] = Some(r);
            }
        }
        _ => joint.clear(),
    }
    let mut out = Vec::with_capacity(works.len());
    for (work, r) in works.iter().zip(results) {
        out.push(match r {
            Some(r) => r,
            None => process(home, work).await,
        });
    }
    out
}

/// A stored message is removed once it was handled.
async fn forget_stored(home: &Home, work: &Work) {
    if let Some(id) = &work.stored {
        if let Err(e) = home.store.delete_message(id).await {
            tracing::warn!(stored = ?id, error = ?e.to_string(), "cannot remove stored message");
        }
    }
}

async fn process(home: &Home, work: &Work) -> Result<(), AwsError> {
    let message = match &work.message {
        Ok(m) => m,
        Err(e) => return Err(AwsError::malformed("step message", e)),
    };
    let engine = &home.engine;
    let done = match message {
        StepMessage::Signal { arn, signal, .. } => {
            if home.scheduler.hop(message, engine.now()).await? {
                return Ok(());
            }
            gone_is_done(arn, engine.deliver(arn, signal.clone()).await)
        }
        StepMessage::Invoke { arn, request } => {
            gone_is_done(arn, engine.run_task(arn, request).await)
        }
        StepMessage::Settle { arn } => gone_is_done(arn, engine.settle(arn).await),
        StepMessage::Stored { id } => {
            tracing::info!(stored = ?id, "stored message was handled already");
            Ok(())
        }
    };
    if done.is_ok() {
        forget_stored(home, work).await;
    }
    done
}

/// A message for an execution or state machine that is gone is done with.
fn gone_is_done(arn: &str, r: Result<(), EngineError>) -> Result<(), AwsError> {
    match r {
        Ok(()) => Ok(()),
        Err(EngineError::ExecutionDoesNotExist(_)) => {
            tracing::warn!(execution = ?arn, "message for an execution that does not exist");
            Ok(())
        }
        Err(EngineError::StateMachineDoesNotExist(sm)) => {
            tracing::warn!(execution = ?arn, state_machine = ?sm, "message for an execution of a state machine that is gone");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(id: &str) -> Work {
        Work {
            message_id: id.to_string(),
            receipt_handle: None,
            receive_count: 1,
            message: Ok(StepMessage::Settle {
                arn: format!("arn-of-{id}"),
            }),
            stored: None,
        }
    }

    /// A group whose handling panics has every message reported, those before the panic
    /// too: nothing of it is deleted. Other groups are unaffected.
    #[tokio::test]
    async fn every_message_of_a_panicked_group_comes_back() {
        let groups = vec![
            vec![work("a1"), work("a2"), work("a3")],
            vec![work("b1"), work("b2")],
            vec![work("c1")],
        ];
        let mut failed = run_groups(groups, |works: Vec<Work>| async move {
            let mut failed = Vec::new();
            for w in works {
                match w.message_id.as_str() {
                    "a2" => panic!("the step blew up"),
                    "c1" => failed.push(w.message_id),
                    _ => {}
                }
            }
            failed
        })
        .await;
        failed.sort();
        assert_eq!(failed, ["a1", "a2", "a3", "c1"]);
    }
}
