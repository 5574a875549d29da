//! `ExecutionStore` over the table: records, history, outboxes and task tokens. A load is one
//! strongly consistent Query over the execution's partition (everything but its history); a
//! commit is [`super::commit`]'s.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use waymark_engine::history::HistoryEvent;
use waymark_engine::ports::{
    ExecutionFilter, ExecutionStore, Loaded, Page, StoreError, TaskRef, WriteSet,
};
use waymark_engine::record::ExecutionRecord;

use super::layout::{self, to_json};
use super::requests::{QueryArgs, SkRange};
use super::{blob, get_n, get_s, key, keys, n, pack, s, DynamoStore, Item};
use crate::error::{sdk_message, AwsError};
use crate::metrics::read_units;

/// The index that lists executions by state machine (and state machines).
pub const BY_MACHINE_INDEX: &str = "byMachine";

impl DynamoStore {
    /// The items of an execution's partition but its history.
    async fn partition(&self, arn: &str) -> Result<Vec<Item>, AwsError> {
        self.query(QueryArgs {
            pk: &keys::execution_pk(arn),
            sk: SkRange::From(keys::FRAME_PREFIX),
            forward: true,
            limit: None,
            consistent: true,
        })
        .await
    }

    /// The META item: version, next event id, outbox.
    async fn meta(&self, arn: &str) -> Result<Option<Item>, AwsError> {
        self.get(key(keys::execution_pk(arn), keys::META)).await
    }

    /// Every committed event of an execution, in order.
    async fn events(&self, arn: &str) -> Result<Vec<HistoryEvent>, AwsError> {
        let Some(meta) = self.meta(arn).await? else {
            return Ok(Vec::new());
        };
        let version = get_n(&meta, "v").unwrap_or(0);
        let next_event = get_n(&meta, "ne").unwrap_or(u64::MAX);
        let items = self
            .query(QueryArgs {
                pk: &keys::execution_pk(arn),
                sk: SkRange::BeginsWith(keys::EVENT_PREFIX),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        let blobs = blob::collect(&items)?;
        let mut events: Vec<HistoryEvent> = Vec::new();
        for b in layout::committed_history(&meta, version, &blobs)? {
            let chunk: Vec<HistoryEvent> =
                serde_json::from_str(&b.data).map_err(|e| AwsError::malformed("history", e))?;
            events.extend(chunk.into_iter().filter(|e| e.id < next_event));
        }
        events.sort_by_key(|e| e.id);
        events.dedup_by_key(|e| e.id);
        Ok(events)
    }
}

impl DynamoStore {
    /// A page of history from the items that hold its events only ([`layout::plan_page`]);
    /// `None` when that cannot be done exactly and the whole history must be read.
    async fn planned_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        from: Option<u64>,
    ) -> Result<Option<Page<HistoryEvent>>, StoreError> {
        let pk = keys::execution_pk(arn);
        let Some(meta) = self
            .get_attrs(key(&pk, keys::META), &["v", "ne", "eh"])
            .await?
        else {
            // No such execution: no events, and no token of its.
            return match from {
                Some(id) => Err(StoreError::InvalidPageToken(id.to_string())),
                None => Ok(Some(Page {
                    items: Vec::new(),
                    next_token: None,
                })),
            };
        };
        let version = get_n(&meta, "v").unwrap_or(0);
        let next_event = get_n(&meta, "ne").unwrap_or(u64::MAX);
        let heads = self
            .query_attrs(
                QueryArgs {
                    pk: &pk,
                    sk: SkRange::BeginsWith(keys::EVENT_PREFIX),
                    forward: true,
                    limit: None,
                    consistent: true,
                },
                layout::CHUNK_KEY_ATTRS,
            )
            .await?;
        let chunks = layout::committed_chunks(&meta, version, &heads)?;
        let Some(plan) = layout::plan_page(&chunks, next_event, reverse, max, from)? else {
            return Ok(None);
        };
        if plan.ids.is_empty() {
            return Ok(Some(Page {
                items: Vec::new(),
                next_token: None,
            }));
        }
        let needed: Vec<&layout::ChunkRef> = plan.chunks.iter().map(|&i| &chunks[i]).collect();
        let (Some(low), Some(high)) = (
            needed.iter().map(|c| c.first).min(),
            needed.iter().map(|c| c.first).max(),
        ) else {
            return Ok(None);
        };
        // Every key of an item whose first event is in [low, high], parts included: after
        // the ten digits come `#<nonce>`, `~<part>` or nothing, all below DEL.
        let items = self
            .query(QueryArgs {
                pk: &pk,
                sk: SkRange::Between(
                    &keys::event_sk(low),
                    &format!("{}\u{7f}", keys::event_sk(high)),
                ),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        let blobs = blob::collect(&items)?;
        let (lo, hi) = (
            plan.ids.iter().copied().min().unwrap_or(0),
            plan.ids.iter().copied().max().unwrap_or(0),
        );
        let mut events: Vec<HistoryEvent> = Vec::with_capacity(plan.ids.len());
        for c in needed {
            let Some(b) = blobs.get(&c.sk) else {
                return Ok(None);
            };
            let chunk: Vec<HistoryEvent> =
                serde_json::from_str(&b.data).map_err(|e| AwsError::malformed("history", e))?;
            events.extend(
                chunk
                    .into_iter()
                    .filter(|e| e.id < next_event && e.id >= lo && e.id <= hi),
            );
        }
        // As the whole history is put in order: the first of equal ids is kept.
        events.sort_by_key(|e| e.id);
        events.dedup_by_key(|e| e.id);
        if reverse {
            events.reverse();
        }
        if !events.iter().map(|e| e.id).eq(plan.ids.iter().copied()) {
            return Ok(None);
        }
        Ok(Some(Page {
            items: events,
            next_token: plan.next.map(|id| id.to_string()),
        }))
    }
}

fn encode_key(k: &Item) -> String {
    let map: HashMap<&str, &str> = k
        .iter()
        .filter_map(|(name, v)| match v {
            AttributeValue::S(s) => Some((name.as_str(), s.as_str())),
            _ => None,
        })
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_string(&map).unwrap_or_default())
}

/// A listing's page token back to the key it continues after; anything else is refused.
pub(super) fn decode_key(token: &str, names: &[&str]) -> Result<Item, StoreError> {
    let invalid = || StoreError::InvalidPageToken(token.to_string());
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if map.len() != names.len() || !names.iter().all(|n| map.contains_key(*n)) {
        return Err(invalid());
    }
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}

pub(super) fn encode_page_key(k: &Item) -> String {
    encode_key(k)
}

impl ExecutionStore for DynamoStore {
    type Snapshot = layout::LoadedExtras;

    async fn create(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        let pk = keys::execution_pk(&rec.execution_arn);
        let input = to_json(&rec.input)?;
        let inline = input.len() <= layout::INLINE_INPUT_BYTES;
        let mut meta = key(&pk, keys::META);
        meta.insert("v".into(), n(rec.version));
        meta.insert("ne".into(), n(rec.next_event_id));
        meta.insert(
            "rec".into(),
            pack::attr(&to_json(&layout::shallow(rec, inline))?),
        );
        meta.insert("st".into(), s(rec.status.as_str()));
        if !inline {
            meta.insert("inx".into(), AttributeValue::Bool(true));
        }
        let index = layout::index_item(&pk, rec, None)?;
        if inline {
            // Two single writes rather than one transaction, which bills both twice: the
            // META item, asking for its index entry (`ixp`) until an acknowledgement sees the
            // entry written (the first step's, right after), then the entry.
            meta.insert("ixp".into(), n(rec.version));
            return match self.put(meta, true).await? {
                true => {
                    self.write_index(&pk, index).await;
                    Ok(())
                }
                false => Err(StoreError::AlreadyExists(rec.execution_arn.clone())),
            };
        }
        // The index entry is a write of its own.
        self.metrics
            .add_write_units(crate::metrics::write_units(layout::index_entry_bytes(
                &index,
            )));
        let expires = self.item_expiry(chrono::Utc::now());
        let mut writes = Vec::new();
        let bytes = super::item_size(&meta);
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(meta))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        writes.push(super::requests::TxWrite {
            write: aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
            bytes,
        });
        writes.push(self.tx_put(index)?);
        if !inline {
            for item in blob::items(&pk, keys::INPUT, 0, &input, vec![], expires) {
                writes.push(self.tx_put(item)?);
            }
        }
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(super::requests::WriteError::Condition) => {
                Err(StoreError::AlreadyExists(rec.execution_arn.clone()))
            }
            Err(super::requests::WriteError::Other(e)) => Err(e.into()),
        }
    }

    async fn load(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let items = self.partition(arn).await?;
        Ok(layout::assemble(&items)?.map(|(rec, _)| rec))
    }

    async fn load_for_step(
        &self,
        arn: &str,
    ) -> Result<Option<Loaded<layout::LoadedExtras>>, StoreError> {
        let items = self.partition(arn).await?;
        let Some((rec, mut extras)) = layout::assemble(&items)? else {
            return Ok(None);
        };
        let outbox = extras.pending_outbox.take().map(|(_, effects)| effects);
        Ok(Some(Loaded {
            rec,
            outbox,
            snapshot: extras,
        }))
    }

    /// `w.children` is empty: this store takes distributed Maps' children from the step's
    /// outbox ([`Self::children_in_commit`]).
    async fn commit(
        &self,
        snapshot: layout::LoadedExtras,
        w: &WriteSet<'_>,
    ) -> Result<(), StoreError> {
        let mut plan = self.plan(w, snapshot)?;
        plan.set_next_event(w.rec.next_event_id);
        self.write(plan, w.from_version).await
    }

    async fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        if waymark_engine::map_children::is_child_arn(arn) {
            return Ok(self.read_child_history(arn).await?);
        }
        Ok(self.events(arn).await?)
    }

    /// Reads the keys and links of the history's items (not their events), plans the page
    /// from them, then reads only the items that hold the page's events: what a page
    /// receives is the same whether the history has 100 events or 25,000, but for the keys.
    /// (DynamoDB still reads the whole items to answer the key query: it bills their read
    /// units and pages the query by the MB of them, one request per MB of history. Only a
    /// layout that keeps the links apart from the events could spare that.) Should the items
    /// read not hold exactly the events planned (items without event counts, or damaged
    /// history), the page is cut from the whole history instead, as it always was.
    async fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<HistoryEvent>, StoreError> {
        let from: Option<u64> = match next_token {
            None => None,
            Some(t) => Some(
                t.parse()
                    .map_err(|_| StoreError::InvalidPageToken(t.to_string()))?,
            ),
        };
        let mut all = if waymark_engine::map_children::is_child_arn(arn) {
            // A child's history is short enough to read whole (it is one child's).
            self.read_child_history(arn).await?
        } else {
            if let Some(page) = self.planned_page(arn, reverse, max, from).await? {
                return Ok(page);
            }
            self.events(arn).await?
        };
        if reverse {
            all.reverse();
        }
        let start = match from {
            None => 0,
            Some(id) => all
                .iter()
                .position(|e| e.id == id)
                .ok_or_else(|| StoreError::InvalidPageToken(id.to_string()))?,
        };
        let max = max.max(1);
        let items: Vec<HistoryEvent> = all.iter().skip(start).take(max).cloned().collect();
        let next_token = all.get(start + items.len()).map(|e| e.id.to_string());
        Ok(Page { items, next_token })
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        let Some(machine) = filter.state_machine_arn.as_deref() else {
            return Err(StoreError::permanent(
                "DynamoDB",
                "executions are listed by state machine",
            ));
        };
        let max = max.clamp(1, 1000);
        let mut start = next_token
            .map(|t| decode_key(t, &["PK", "SK", "GPK", "GSK"]))
            .transpose()?;
        let mut items = Vec::new();
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_MACHINE_INDEX)
                .key_condition_expression("GPK = :m")
                .expression_attribute_values(":m", s(machine))
                .scan_index_forward(false)
                .limit((max - items.len()) as i32)
                .set_exclusive_start_key(start.take());
            if let Some(status) = filter.status {
                req = req
                    .filter_expression("st = :s")
                    .expression_attribute_values(":s", s(status.as_str()));
            }
            let out = req
                .send()
                .await
                .map_err(|e| AwsError::dynamodb("Query", sdk_message(&e)))?;
            let page = out.items.unwrap_or_default();
            self.metrics
                .add_read_units(read_units(page.iter().map(super::item_size).sum()) / 2.0);
            for item in &page {
                let Some(sum) = pack::text("execution summary", item, "sum")? else {
                    continue;
                };
                let mut rec: ExecutionRecord = serde_json::from_str(&sum)
                    .map_err(|e| AwsError::malformed("execution summary", e))?;
                if let Some(st) = get_s(item, "st") {
                    rec.status = serde_json::from_value(serde_json::json!(st))
                        .map_err(|e| AwsError::malformed("execution status", e))?;
                }
                items.push(rec);
            }
            match out.last_evaluated_key {
                Some(k) if items.len() < max => start = Some(k),
                Some(k) => {
                    return Ok(Page {
                        items,
                        next_token: Some(encode_key(&k)),
                    })
                }
                None => {
                    return Ok(Page {
                        items,
                        next_token: None,
                    })
                }
            }
        }
    }

    async fn find_task(&self, token_hash: &str) -> Result<Option<TaskRef>, StoreError> {
        let Some(item) = self
            .get(key(keys::token_pk(token_hash), keys::META))
            .await?
        else {
            return Ok(None);
        };
        match (get_s(&item, "arn"), get_s(&item, "fr"), get_n(&item, "seq")) {
            (Some(arn), Some(frame), Some(seq)) => Ok(Some(TaskRef {
                execution_arn: arn.to_string(),
                frame: frame.to_string(),
                seq,
            })),
            _ => Err(AwsError::malformed("task token item", "missing attributes").into()),
        }
    }

    /// Every execution with an unacknowledged outbox or never stepped: a Scan of the whole
    /// table, for an operator's recovery run, never for a step (the stepper settles one
    /// execution at a time).
    async fn unsettled(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "SK = :meta AND (attribute_exists(obv) OR (v = :zero AND st = :running))",
                )
                .expression_attribute_values(":meta", s(keys::META))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":running", s("RUNNING"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AwsError::dynamodb("Scan", sdk_message(&e)))?;
            for item in page.items.unwrap_or_default() {
                if let Some(arn) = execution_arn_of(&item)? {
                    out.push(arn);
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// A step may start or end a thousand children, beyond one transaction's 100 writes.
    fn children_in_commit(&self) -> bool {
        false
    }

    async fn put_map_children(
        &self,
        children: &[waymark_engine::map_children::ChildExecution],
        events: &[waymark_engine::map_children::ChildEvent],
    ) -> Result<(), StoreError> {
        // The children first: their run's names find the events.
        self.write_map_children(children).await?;
        Ok(self.write_child_events(events).await?)
    }

    async fn ack_outbox(&self, arn: &str, version: u64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::execution_pk(arn), keys::META)))
            .update_expression("REMOVE ob, obv, obx, ixp")
            // An outbox of an earlier version (from before outboxes were always settled
            // first) is covered by this one's performance too.
            .condition_expression("obv <= :v")
            .expression_attribute_values(":v", n(version))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        // Billed for the whole item as it was (a failed condition is billed too).
        let old_size = match &result {
            Ok(out) => out.attributes.as_ref().map_or(0, super::item_size),
            Err(_) => 0,
        };
        self.metrics
            .add_write_units(crate::metrics::write_units(old_size));
        match result {
            Ok(out) => {
                let old = out.attributes.unwrap_or_default();
                if let Some(asked) = get_n(&old, "ixp") {
                    self.index_if_lost(arn, asked).await?;
                }
                if old.contains_key("obx") {
                    let pk = keys::execution_pk(arn);
                    let spilled_version = get_n(&old, "obv").unwrap_or(version);
                    if let Ok(items) = self
                        .query(QueryArgs {
                            pk: &pk,
                            sk: SkRange::BeginsWith(&keys::outbox_sk(spilled_version)),
                            forward: true,
                            limit: None,
                            consistent: false,
                        })
                        .await
                    {
                        let keys: Vec<Item> =
                            items.iter().map(|i| key(&pk, Self::sk_of(i))).collect();
                        if let Err(e) = self.delete_many(keys).await {
                            tracing::warn!("cannot remove the outbox items of {arn}: {e}");
                        }
                    }
                }
                Ok(())
            }
            // A newer step's outbox is there (or none is): nothing of ours to acknowledge.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::dynamodb("UpdateItem", sdk_message(&e)).into()),
        }
    }
}

impl DynamoStore {
    /// Writes the index entry a commit at `asked` left to write, unless this process wrote
    /// it: its writer died between the commit and the entry.
    async fn index_if_lost(&self, arn: &str, asked: u64) -> Result<(), StoreError> {
        let pk = keys::execution_pk(arn);
        let written = super::lock(&self.indexed).remove(&pk);
        if written.is_some_and(|v| v >= asked) {
            return Ok(());
        }
        let Some(rec) = self.load(arn).await? else {
            return Ok(());
        };
        let ttl = self.ended_ttl(&rec);
        let index = layout::index_item(&pk, &rec, ttl)?;
        self.write_index(&pk, index).await;
        Ok(())
    }
}

/// The execution a META item is the record of: its own `arn` when the record lives in an item
/// of its own, else the record's.
fn execution_arn_of(meta: &Item) -> Result<Option<String>, AwsError> {
    if let Some(arn) = get_s(meta, "arn") {
        return Ok(Some(arn.to_string()));
    }
    let Some(text) = pack::text("execution record", meta, "rec")? else {
        return Ok(None);
    };
    let rec: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| AwsError::malformed("execution record", e))?;
    Ok(rec["execution_arn"].as_str().map(str::to_string))
}

impl waymark_engine::ports::MapChildStore for DynamoStore {
    async fn map_child(
        &self,
        execution_arn: &str,
    ) -> Result<Option<waymark_engine::map_children::ChildExecution>, StoreError> {
        Ok(self.read_map_child(execution_arn).await?)
    }

    async fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<waymark_engine::record::Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<waymark_engine::map_children::ChildExecution>, StoreError> {
        self.read_map_children(map_run_arn, status, max, next_token)
            .await
    }
}
