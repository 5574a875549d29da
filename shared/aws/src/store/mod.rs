//! The engine's stores over one DynamoDB table: state machines and their revisions, execution
//! records with their frames, history and outbox, task tokens, tags, human approvals. [`keys`]
//! gives the layout; [`DynamoStore`] implements `ExecutionStore`, `StateMachineStore`,
//! `TagStore`, `ApprovalStore` and `VersionStore`.
//!
//! Every item stays far below DynamoDB's 400 KB: the record keeps only what is small and
//! changes at every step; frames, Map items, child results, large inputs and outboxes have
//! items of their own, written when they change; and a value that could still be too large
//! continues in further items.

mod approvals;
mod blob;
mod children;
mod commit;
mod dynamo;
pub mod keys;
mod layout;
mod machines;
mod pack;
mod requests;
mod versions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use waymark_engine::ports::{StateMachine, StoreError};

use crate::metrics::Metrics;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Tunables of the store; the defaults are what the deployed functions use.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long ended executions (and their history) are kept before DynamoDB's TTL removes
    /// them. AWS keeps closed Standard executions for 90 days.
    pub retention: chrono::Duration,
    /// How long a commit too large for one transaction may hold the execution's write lock
    /// before another step may take it over (and clear what it left half-written).
    pub lock_timeout: chrono::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retention: chrono::Duration::days(90),
            lock_timeout: chrono::Duration::minutes(5),
        }
    }
}

/// The engine's stores over one DynamoDB table.
pub struct DynamoStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) options: StoreOptions,
    /// Parsed definitions by (arn, revision): a warm Lambda parses each revision once and
    /// reads no state machine item for the steps after the first.
    pub(crate) parsed: Mutex<HashMap<(String, u64), StateMachine>>,
    /// The index entries this process wrote after a commit, by execution partition: the
    /// version each shows. An acknowledgement that finds the META item still asking for
    /// one (`ixp`) writes it only when it is not here: its writer died before writing it.
    pub(crate) indexed: Mutex<HashMap<String, u64>>,
}

impl DynamoStore {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        metrics: Arc<Metrics>,
        options: StoreOptions,
    ) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            metrics,
            options,
            parsed: Mutex::default(),
            indexed: Mutex::default(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// When an ended execution's record expires (its retention after its end); none while
    /// it runs.
    pub(crate) fn ended_ttl(&self, rec: &waymark_engine::record::ExecutionRecord) -> Option<i64> {
        rec.stop_time
            .filter(|_| rec.status.is_terminal())
            .map(|stop| (stop + self.options.retention).timestamp())
    }

    /// When items written now expire: long enough for any execution (a year at most) to end
    /// and then be kept for the retention period.
    pub(crate) fn item_expiry(&self, now: DateTime<Utc>) -> i64 {
        (now + chrono::Duration::days(366) + self.options.retention).timestamp()
    }
}

/// A poisoned lock only means a panic elsewhere; the data behind these is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub(crate) fn get_i64(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

/// DynamoDB's size of an item: attribute names plus values.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|n| n.len()).sum(),
        _ => 0,
    }
}

/// The key of a single-item partition (`META`).
pub(crate) fn keys_item(pk: &str) -> Item {
    key(pk, keys::META)
}

/// Items outside any execution's record: queued messages too large for SQS, and the
/// `.sync` waits of parent executions on their children.
impl DynamoStore {
    /// Whether an execution has ended (or does not exist): one small read.
    pub(crate) async fn has_ended(&self, arn: &str) -> Result<bool, crate::AwsError> {
        let meta = self.get(key(keys::execution_pk(arn), keys::META)).await?;
        Ok(meta.is_none_or(|m| get_s(&m, "st").is_some_and(|st| st != "RUNNING")))
    }

    pub(crate) async fn put_message(&self, item: Item) -> Result<(), crate::AwsError> {
        self.put(item, false).await.map(|_| ())
    }

    /// A stored message's body; `None` once it has been handled and removed.
    pub(crate) async fn read_message(&self, id: &str) -> Result<Option<String>, crate::AwsError> {
        Ok(self
            .get(keys_item(&keys::message_pk(id)))
            .await?
            .and_then(|i| get_s(&i, "d").map(str::to_string)))
    }

    pub(crate) async fn delete_message(&self, id: &str) -> Result<(), crate::AwsError> {
        self.take(keys_item(&keys::message_pk(id)))
            .await
            .map(|_| ())
    }
}

/// The `.sync` waits of parent executions on their children: one item per child.
impl waymark_engine::ports::ChildWaitStore for DynamoStore {
    async fn put_child_wait(
        &self,
        child_arn: &str,
        parent: &waymark_engine::ports::TaskRef,
        variant: &str,
    ) -> Result<(), StoreError> {
        let mut item = keys_item(&keys::child_wait_pk(child_arn));
        item.insert("arn".into(), s(parent.execution_arn.clone()));
        item.insert("fr".into(), s(parent.frame.clone()));
        item.insert("seq".into(), n(parent.seq));
        item.insert("var".into(), s(variant));
        item.insert("ttl".into(), n(self.item_expiry(Utc::now())));
        self.put(item, false).await?;
        Ok(())
    }

    async fn child_wait(
        &self,
        child_arn: &str,
    ) -> Result<Option<(waymark_engine::ports::TaskRef, String)>, StoreError> {
        let Some(item) = self.get(keys_item(&keys::child_wait_pk(child_arn))).await? else {
            return Ok(None);
        };
        match (
            get_s(&item, "arn"),
            get_s(&item, "fr"),
            get_n(&item, "seq"),
            get_s(&item, "var"),
        ) {
            (Some(arn), Some(frame), Some(seq), Some(variant)) => Ok(Some((
                waymark_engine::ports::TaskRef {
                    execution_arn: arn.to_string(),
                    frame: frame.to_string(),
                    seq,
                },
                variant.to_string(),
            ))),
            _ => Err(crate::AwsError::malformed("child wait", "missing attributes").into()),
        }
    }

    async fn remove_child_wait(&self, child_arn: &str) -> Result<(), StoreError> {
        self.take(keys_item(&keys::child_wait_pk(child_arn)))
            .await?;
        Ok(())
    }
}
