//! One step's commit: which items change, and how they are written so that a step is seen
//! whole or not at all.
//!
//! The step's history goes first, under keys of its writer's own; then the META item,
//! conditioned on the version the step was decided from — alone as one `UpdateItem` when
//! nothing else changes, else in one `TransactWriteItems` (100 items, 4 MB) with the frames,
//! Map items, results, outbox and task tokens. The execution's index entry follows the commit
//! when its status changed (the META item asks for it until the step is acknowledged). A step
//! too large for that (a Map that finishes
//! a thousand iterations at once, say) first takes the execution's write lock on the META
//! item, writes its new items ahead (tagged with the new version, which readers ignore until
//! the META item has it), and commits the META item last, with the items that replace
//! committed ones. Normal commits require the lock to be free, so nobody commits under a
//! writer that is half-way; a lock whose holder died expires, and whoever takes it over first
//! removes what the dead writer left.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Update};
use serde_json::Value;
use waymark_engine::ports::{StoreError, WriteSet};
use waymark_engine::record::Phase;

use super::layout::{self, strip, to_json};
use super::requests::{QueryArgs, SkRange, TxWrite, WriteError};
use super::{blob, get_n, item_size, key, keys, n, pack, s, DynamoStore, Item};
use crate::error::AwsError;
use crate::metrics::write_units;

/// TransactWriteItems' limits, with room to spare for the request's own overhead.
const MAX_TX_ITEMS: usize = 100;
const MAX_TX_BYTES: usize = 3_800_000;
/// How much text one chunk of Map items, results or events carries.
const CHUNK_BYTES: usize = 64_000;

/// Everything one step writes.
pub(super) struct Plan {
    pk: String,
    set: Vec<(&'static str, AttributeValue)>,
    remove: Vec<&'static str>,
    /// Items under keys a committed step may hold: written only together with the META item.
    mutable: Vec<Item>,
    /// Items under keys no committed step holds: may go ahead of the META item.
    fresh: Vec<Item>,
    /// The step's history items: written ahead of the commit, one request each (outside any
    /// transaction, which would bill them twice), under keys of this writer's own, each
    /// linking back to the one before (`pv`). The META item's `eh` names the newest: only
    /// items reachable from it are history, so what a writer that lost leaves is never read.
    history: Vec<Item>,
    /// Items nothing reads any more; removing them only saves reads.
    cleanup: Vec<Item>,
    /// Fan-outs that ended: their item and result chunks can go.
    ended_fanouts: Vec<u64>,
    /// Fan-outs that took a new window of items, and its first index: the chunks of the
    /// windows before it can go.
    new_windows: Vec<(u64, usize)>,
    pub(super) empty_outbox: bool,
    /// The first event id the step writes: history from here on is not committed yet.
    first_new_event: u64,
    /// The sizes of the META item's attributes as loaded (empty if unknown), for the units
    /// its update is billed.
    pub(super) meta_attrs: HashMap<String, usize>,
    /// The size of the byMachine index entry the step rewrites (0: none), billed apart.
    index_bytes: usize,
    /// The index entry to write once the commit stands.
    index_after: Option<Item>,
    /// The engine's clock when the step was decided: write locks are leased from it.
    now: chrono::DateTime<chrono::Utc>,
}

impl Plan {
    /// What the META update is billed for: the whole item, before or after, whichever is
    /// larger (without the loaded item, what the update sets).
    fn meta_bytes(&self, unlocks: bool) -> usize {
        let set: HashMap<&str, usize> = self
            .set
            .iter()
            .map(|(k, v)| (*k, item_size(&HashMap::from([(k.to_string(), v.clone())]))))
            .collect();
        if self.meta_attrs.is_empty() {
            return set.values().sum::<usize>() + 64;
        }
        let before: usize = self.meta_attrs.values().sum();
        let unlocked: &[&str] = if unlocks { &["lk", "lkx"] } else { &[] };
        let kept: usize = self
            .meta_attrs
            .iter()
            .filter(|(k, _)| {
                let k = k.as_str();
                !set.contains_key(k) && !self.remove.contains(&k) && !unlocked.contains(&k)
            })
            .map(|(_, size)| size)
            .sum();
        before.max(kept + set.values().sum::<usize>())
    }

    /// Kept on the META item apart from the record, so that reading history needs no record.
    pub(super) fn set_next_event(&mut self, next_event_id: u64) {
        self.set.push(("ne", n(next_event_id)));
    }
}

/// What a commit reported as lost turns out to be.
enum Landed {
    Yes,
    No,
    /// Newer commits stand on top: whether one of them links to this one is not known
    /// without reading the history.
    Unknown,
}

impl DynamoStore {
    pub(super) fn plan(
        &self,
        w: &WriteSet<'_>,
        loaded: layout::LoadedExtras,
    ) -> Result<Plan, AwsError> {
        let next = w.rec;
        let events = w.events;
        let outbox = w.outbox;
        let event_head = loaded.event_head.as_deref();
        // Where the execution's creation put the input (its size does not change).
        let input_inline = !loaded.meta_attrs.contains_key("inx");
        // A root frame the META item does not carry inline lives in an item of its own.
        let root_was_separate = !loaded.meta_attrs.contains_key("root");
        let pk = keys::execution_pk(&next.execution_arn);
        let v = next.version;
        let now = w.now;
        let expires = self.item_expiry(now);
        let mut plan = Plan {
            pk: pk.clone(),
            set: Vec::new(),
            remove: Vec::new(),
            mutable: Vec::new(),
            fresh: Vec::new(),
            history: Vec::new(),
            cleanup: Vec::new(),
            ended_fanouts: w.ended_fanouts.clone(),
            new_windows: Vec::new(),
            empty_outbox: false,
            first_new_event: events.first().map_or(next.next_event_id, |e| e.id),
            meta_attrs: loaded.meta_attrs,
            index_bytes: 0,
            index_after: None,
            now,
        };
        let blob_items = |sk: &str, text: &str, extra: Vec<(String, AttributeValue)>| {
            blob::items(&pk, sk, v, text, extra, expires)
        };

        // The record itself.
        let rec_json = to_json(&layout::shallow(next, input_inline))?;
        if rec_json.len() > layout::INLINE_RECORD_BYTES {
            plan.fresh
                .extend(blob_items(&keys::record_sk(v), &rec_json, vec![]));
            plan.set.push(("rcv", n(v)));
            // What a recovery scan names the execution by, with the record elsewhere.
            plan.set.push(("arn", s(next.execution_arn.clone())));
            plan.remove.push("rec");
        } else {
            plan.set.push(("rec", pack::attr(&rec_json)));
            plan.remove.extend(["rcv", "arn"]);
        }
        plan.set.push(("v", n(v)));
        if w.status_changed {
            plan.set.push(("st", s(next.status.as_str())));
            let ttl = self.ended_ttl(next);
            match ttl {
                Some(ttl) => plan.set.push(("ttl", n(ttl))),
                None => plan.remove.push("ttl"),
            }
            let index = layout::index_item(&pk, next, ttl)?;
            if outbox.is_empty() {
                plan.index_bytes = layout::index_entry_bytes(&index);
                plan.mutable.push(index);
                plan.remove.push("ixp");
            } else {
                // Written right after the commit, outside its transaction (which would bill
                // both items twice). Should this writer die first, whoever acknowledges the
                // step's outbox writes it: the META item asks for it until then.
                plan.set.push(("ixp", n(v)));
                plan.index_after = Some(index);
            }
            // Executions created before the index had an item of its own.
            plan.remove.extend(["GPK", "GSK", "sum"]);
        }

        // Frames: only those the step changed.
        for changed in &w.changed_frames {
            let frame = &next.frames[changed.id];
            let json = to_json(&strip(frame))?;
            if changed.id.is_empty() {
                if json.len() <= layout::INLINE_ROOT_BYTES {
                    plan.set.push(("root", pack::attr(&json)));
                    if changed.existed && root_was_separate {
                        plan.cleanup.push(key(&pk, keys::frame_sk("")));
                    }
                } else {
                    plan.remove.push("root");
                    plan.mutable
                        .extend(blob_items(&keys::frame_sk(""), &json, vec![]));
                }
                continue;
            }
            let items = blob_items(&keys::frame_sk(changed.id), &json, vec![]);
            if changed.existed {
                plan.mutable.extend(items);
            } else {
                plan.fresh.extend(items);
            }
        }
        for id in &w.removed_frames {
            if id.is_empty() {
                plan.remove.push("root");
                if root_was_separate {
                    plan.cleanup.push(key(&pk, keys::frame_sk("")));
                }
            } else {
                plan.cleanup.push(key(&pk, keys::frame_sk(id)));
            }
        }

        // Fan-outs: Map items once, when they start (or a window of them, when their
        // ItemReader reads on); results as children end. A chunk's key holds the index of its
        // first item, so no window's chunks meet another's.
        for (id, window) in w
            .new_fanouts
            .iter()
            .map(|id| (id, false))
            .chain(w.new_windows.iter().map(|id| (id, true)))
        {
            let Phase::Children(f) = &next.frames[*id].phase else {
                continue;
            };
            if !f.is_map {
                continue;
            }
            if window {
                plan.new_windows.push((f.id, f.first));
            }
            for (start, text) in chunk_values(&f.items)? {
                let start = f.first + start;
                plan.fresh.extend(blob_items(
                    &keys::items_sk(f.id, start),
                    &text,
                    vec![("st".into(), n(start))],
                ));
            }
        }
        let mut by_fanout: std::collections::BTreeMap<u64, Vec<(usize, &Value)>> =
            Default::default();
        for (fanout, index, value) in &w.new_results {
            by_fanout.entry(*fanout).or_default().push((*index, *value));
        }
        for (fanout, results) in by_fanout {
            for (part, text) in chunk_pairs(&results)?.into_iter().enumerate() {
                plan.fresh.extend(blob_items(
                    &keys::results_sk(fanout, v, part),
                    &text,
                    vec![],
                ));
            }
        }

        // History: the step's events, in as few items as their size allows, chained.
        let nonce = format!("{:016x}", rand::random::<u64>());
        let mut head = event_head.map(str::to_string);
        let mut start = 0;
        while start < events.len() {
            let mut end = start;
            let mut size = 2;
            let mut texts = Vec::new();
            while end < events.len() {
                let t = to_json(&events[end])?;
                if end > start && size + t.len() + 1 > CHUNK_BYTES {
                    break;
                }
                size += t.len() + 1;
                texts.push(t);
                end += 1;
            }
            let text = format!("[{}]", texts.join(","));
            let sk = keys::event_chunk_sk(events[start].id, &nonce);
            let mut extra = vec![("n".into(), n(end - start))];
            if let Some(previous) = head.take() {
                extra.push(("pv".into(), s(previous)));
            }
            plan.history.extend(blob_items(&sk, &text, extra));
            head = Some(sk);
            start = end;
        }
        if !events.is_empty() {
            if let Some(sk) = head {
                plan.set.push(("eh", s(sk)));
            }
        }

        // Task tokens the step issued for callbacks, by hash.
        for t in &w.tokens {
            let mut item = key(keys::token_pk(&t.hash), keys::META);
            item.insert("arn".into(), s(t.task.execution_arn.clone()));
            item.insert("fr".into(), s(t.task.frame.clone()));
            item.insert("seq".into(), n(t.task.seq));
            item.insert(
                "ttl".into(),
                n((t.expires + chrono::Duration::days(1)).timestamp()),
            );
            plan.fresh.push(item);
        }

        // The outbox: the engine performed the one before and acknowledged it.
        let all = outbox;
        if all.is_empty() {
            plan.empty_outbox = true;
            plan.remove.extend(["ob", "obv", "obx"]);
        } else {
            let text = to_json(&all)?;
            plan.set.push(("obv", n(v)));
            if text.len() <= layout::INLINE_OUTBOX_BYTES {
                plan.set.push(("ob", pack::attr(&text)));
                plan.remove.push("obx");
            } else {
                plan.fresh
                    .extend(blob_items(&keys::outbox_sk(v), &text, vec![]));
                plan.set.push(("obx", AttributeValue::Bool(true)));
                plan.remove.push("ob");
            }
        }
        Ok(plan)
    }

    /// Writes `plan`, if the stored version is still `prev`: its history first, then the rest.
    pub(super) async fn write(&self, plan: Plan, prev: u64) -> Result<(), StoreError> {
        self.put_many(plan.history.clone()).await?;
        match self.write_record(&plan, prev).await {
            Ok(()) => {
                self.bill_index(&plan);
                self.after_commit(plan).await;
                Ok(())
            }
            Err(StoreError::Conflict(pk)) => {
                match self.landed_after_all(&plan, prev).await? {
                    Landed::Yes => {
                        // A retried request met its own first, successful attempt.
                        self.bill_index(&plan);
                        self.after_commit(plan).await;
                        return Ok(());
                    }
                    // Later commits may link to it: it stays until its TTL.
                    Landed::Unknown => return Err(StoreError::Conflict(pk)),
                    Landed::No => {}
                }
                // Nothing links to this history: it only costs reads until it is gone.
                let keys: Vec<Item> = plan
                    .history
                    .iter()
                    .map(|i| key(&plan.pk, Self::sk_of(i)))
                    .collect();
                if let Err(e) = self.delete_many(keys).await {
                    tracing::warn!("cannot remove the history of a lost commit of {pk}: {e}");
                }
                Err(StoreError::Conflict(pk))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether a commit reported as lost landed after all: an SDK retry of a request whose
    /// first attempt succeeded fails its own condition. The step's newest history item, under
    /// this writer's own key, is what the META item names if it did; deleting that history
    /// would break the execution's chain.
    async fn landed_after_all(&self, plan: &Plan, prev: u64) -> Result<Landed, StoreError> {
        let own_head = plan.set.iter().find_map(|(k, v)| match v {
            AttributeValue::S(sk) if *k == "eh" => Some(sk.as_str()),
            _ => None,
        });
        let Some(own_head) = own_head else {
            return Ok(Landed::No);
        };
        let Some(meta) = self.get(key(&plan.pk, keys::META)).await? else {
            return Ok(Landed::No);
        };
        let version = get_n(&meta, "v").unwrap_or(0);
        Ok(if super::get_s(&meta, "eh") == Some(own_head) {
            Landed::Yes
        } else if version > prev + 1 {
            Landed::Unknown
        } else {
            Landed::No
        })
    }

    /// Writes all of `plan` but its history, if the stored version is still `prev`.
    async fn write_record(&self, plan: &Plan, prev: u64) -> Result<(), StoreError> {
        let fast = 1 + plan.mutable.len() + plan.fresh.len() <= MAX_TX_ITEMS
            && plan
                .mutable
                .iter()
                .chain(&plan.fresh)
                .map(item_size)
                .sum::<usize>()
                + 4096
                <= MAX_TX_BYTES;
        if fast {
            match self.write_at_once(plan, prev).await {
                Ok(()) => return Ok(()),
                Err(WriteError::Condition) => {
                    // Lost the race, or a large commit holds (or held) the lock.
                    if !self.stale_lock(&plan.pk, prev, plan.now).await? {
                        return Err(StoreError::Conflict(plan.pk.clone()));
                    }
                }
                Err(WriteError::Other(e)) => return Err(e.into()),
            }
        }
        self.write_under_lock(plan, prev).await
    }

    fn meta_update(
        &self,
        plan: &Plan,
        prev: u64,
        lock_nonce: Option<&str>,
    ) -> Result<TxWrite, AwsError> {
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (attr, value)) in plan.set.iter().enumerate() {
            names.insert(format!("#s{i}"), attr.to_string());
            values.insert(format!(":s{i}"), value.clone());
            sets.push(format!("#s{i} = :s{i}"));
        }
        let mut removes: Vec<&str> = plan.remove.clone();
        if lock_nonce.is_some() {
            removes.extend(["lk", "lkx"]);
        }
        let removes: Vec<String> = removes
            .iter()
            .enumerate()
            .map(|(i, attr)| {
                names.insert(format!("#r{i}"), attr.to_string());
                format!("#r{i}")
            })
            .collect();
        let mut expr = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        names.insert("#ver".into(), "v".into());
        names.insert("#lk".into(), "lk".into());
        values.insert(":prev".into(), n(prev));
        let condition = match lock_nonce {
            None => "#ver = :prev AND attribute_not_exists(#lk)".to_string(),
            Some(nonce) => {
                values.insert(":nonce".into(), s(nonce));
                "#ver = :prev AND #lk = :nonce".to_string()
            }
        };
        let bytes = plan.meta_bytes(lock_nonce.is_some());
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&plan.pk, keys::META)))
            .update_expression(expr)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        Ok(TxWrite {
            write: aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(update)
                .build(),
            bytes,
        })
    }

    /// The usual commit: one conditional request.
    async fn write_at_once(&self, plan: &Plan, prev: u64) -> Result<(), WriteError> {
        let meta = self.meta_update(plan, prev, None)?;
        if plan.mutable.is_empty() && plan.fresh.is_empty() {
            return self.update_alone(meta).await;
        }
        let mut writes = vec![meta];
        for item in plan.mutable.iter().chain(&plan.fresh) {
            writes.push(self.tx_put(item.clone())?);
        }
        self.transact(writes).await
    }

    /// A lone META update goes as UpdateItem, which costs half a transaction.
    async fn update_alone(&self, meta: TxWrite) -> Result<(), WriteError> {
        let Some(u) = meta.write.update else {
            return Err(WriteError::Other(AwsError::dynamodb(
                "UpdateItem",
                "no update to send",
            )));
        };
        let result = self
            .client
            .update_item()
            .table_name(u.table_name)
            .set_key(Some(u.key))
            .update_expression(u.update_expression)
            .set_condition_expression(u.condition_expression)
            .set_expression_attribute_names(u.expression_attribute_names)
            .set_expression_attribute_values(u.expression_attribute_values)
            .send()
            .await;
        self.metrics.add_write_units(write_units(meta.bytes));
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(WriteError::Condition)
            }
            Err(e) => Err(WriteError::Other(AwsError::dynamodb(
                "UpdateItem",
                crate::error::sdk_message(&e),
            ))),
        }
    }

    /// Whether the execution is still at `prev` but locked by a writer whose lock expired.
    async fn stale_lock(
        &self,
        pk: &str,
        prev: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let Some(meta) = self.get(key(pk, keys::META)).await? else {
            return Ok(false);
        };
        let expired =
            super::get_i64(&meta, "lkx").is_some_and(|until| until < now.timestamp_millis());
        Ok(get_n(&meta, "v") == Some(prev) && expired)
    }

    /// The commit of a step too large for one transaction (or after a dead writer's lock).
    async fn write_under_lock(&self, plan: &Plan, prev: u64) -> Result<(), StoreError> {
        let nonce = waymark_engine::memory::uuid_v4(rand::random(), rand::random());
        let now = plan.now;
        let until = now + self.options.lock_timeout;
        let taken = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&plan.pk, keys::META)))
            .update_expression("SET #lk = :nonce, #lkx = :until")
            .condition_expression("#ver = :prev AND (attribute_not_exists(#lk) OR #lkx < :now)")
            .expression_attribute_names("#lk", "lk")
            .expression_attribute_names("#lkx", "lkx")
            .expression_attribute_names("#ver", "v")
            .expression_attribute_values(":nonce", s(nonce.clone()))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":prev", n(prev))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        self.metrics.add_write_units(write_units(match &taken {
            Ok(out) => out.attributes.as_ref().map_or(0, item_size) + 64,
            Err(_) => 0,
        }));
        let old = match taken {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                return Err(StoreError::Conflict(plan.pk.clone()))
            }
            Err(e) => {
                return Err(AwsError::dynamodb("UpdateItem", crate::error::sdk_message(&e)).into())
            }
        };
        if old.contains_key("lk") {
            // The previous holder died half-way: what it wrote ahead must go before anything
            // is committed at the version it was writing.
            let own: Vec<&str> = plan.history.iter().map(Self::sk_of).collect();
            self.clear_orphans(&plan.pk, prev, plan.first_new_event, &nonce, &own)
                .await?;
        }
        let mut batch: Vec<TxWrite> = Vec::new();
        let mut bytes = 0;
        for item in &plan.fresh {
            let w = self.tx_put(item.clone())?;
            if batch.len() + 2 > MAX_TX_ITEMS || bytes + w.bytes > MAX_TX_BYTES {
                self.guarded(&plan.pk, &nonce, std::mem::take(&mut batch))
                    .await?;
                bytes = 0;
            }
            bytes += w.bytes;
            batch.push(w);
        }
        if !batch.is_empty() {
            self.guarded(&plan.pk, &nonce, batch).await?;
        }
        let mut last = vec![self.meta_update(plan, prev, Some(&nonce))?];
        for item in &plan.mutable {
            last.push(self.tx_put(item.clone())?);
        }
        if last.len() > MAX_TX_ITEMS || last.iter().map(|w| w.bytes).sum::<usize>() > MAX_TX_BYTES {
            return Err(StoreError::permanent(
                "DynamoDB",
                format!(
                "a step of {} changes {} frames at once: more than one DynamoDB transaction holds",
                plan.pk,
                plan.mutable.len()
            ),
            ));
        }
        match self.transact(last).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition) => Err(StoreError::Conflict(plan.pk.clone())),
            Err(WriteError::Other(e)) => Err(e.into()),
        }
    }

    /// A transaction that happens only while this writer holds the lock.
    async fn guarded(
        &self,
        pk: &str,
        nonce: &str,
        mut writes: Vec<TxWrite>,
    ) -> Result<(), StoreError> {
        writes.push(self.tx_lock_check(pk, nonce)?);
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition) => Err(StoreError::Conflict(pk.to_string())),
            Err(WriteError::Other(e)) => Err(e.into()),
        }
    }

    /// Removes what a dead writer wrote ahead for version `prev + 1`: items tagged with a
    /// newer version than the record's, and history past the record's last event (but this
    /// writer's own, `own`).
    async fn clear_orphans(
        &self,
        pk: &str,
        prev: u64,
        first_new_event: u64,
        nonce: &str,
        own: &[&str],
    ) -> Result<(), StoreError> {
        let items = self
            .query(QueryArgs {
                pk,
                sk: SkRange::From(keys::FRAME_PREFIX),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        let mut orphans: Vec<Item> = items
            .iter()
            .filter(|i| get_n(i, "v").is_some_and(|v| v > prev))
            .map(|i| key(pk, Self::sk_of(i)))
            .collect();
        let events = self
            .query(QueryArgs {
                pk,
                sk: SkRange::Between(&keys::event_sk(first_new_event), "EV$"),
                forward: true,
                limit: None,
                consistent: true,
            })
            .await?;
        orphans.extend(
            events
                .iter()
                .map(Self::sk_of)
                .filter(|sk| !own.contains(sk))
                .map(|sk| key(pk, sk)),
        );
        for chunk in orphans.chunks(MAX_TX_ITEMS - 1) {
            let mut writes = Vec::with_capacity(chunk.len());
            for k in chunk {
                writes.push(self.tx_delete(k.clone())?);
            }
            self.guarded(pk, nonce, writes).await?;
        }
        Ok(())
    }

    /// Removes what no reader needs any more. Failures only cost later reads, so they are
    /// logged, not returned.
    async fn after_commit(&self, plan: Plan) {
        if let Some(index) = plan.index_after {
            self.write_index(&plan.pk, index).await;
        }
        let mut keys_to_delete = plan.cleanup;
        for (fanout, first) in plan.new_windows {
            let prefix = keys::items_prefix(fanout);
            match self
                .query(QueryArgs {
                    pk: &plan.pk,
                    sk: SkRange::BeginsWith(&prefix),
                    forward: true,
                    limit: None,
                    consistent: false,
                })
                .await
            {
                Ok(items) => keys_to_delete.extend(
                    items
                        .iter()
                        .filter(|i| {
                            keys::item_chunk_start(Self::sk_of(i)).is_some_and(|s| s < first)
                        })
                        .map(|i| key(&plan.pk, Self::sk_of(i))),
                ),
                Err(e) => tracing::warn!("cannot list the item chunks of fan-out {fanout}: {e}"),
            }
        }
        for fanout in plan.ended_fanouts {
            for prefix in [keys::items_prefix(fanout), keys::results_prefix(fanout)] {
                match self
                    .query(QueryArgs {
                        pk: &plan.pk,
                        sk: SkRange::BeginsWith(&prefix),
                        forward: true,
                        limit: None,
                        consistent: false,
                    })
                    .await
                {
                    Ok(items) => {
                        keys_to_delete.extend(items.iter().map(|i| key(&plan.pk, Self::sk_of(i))))
                    }
                    Err(e) => tracing::warn!("cannot list the chunks of fan-out {fanout}: {e}"),
                }
            }
        }
        if keys_to_delete.is_empty() {
            return;
        }
        if let Err(e) = self.delete_many(keys_to_delete).await {
            tracing::warn!("cannot remove stale items of {}: {e}", plan.pk);
        }
    }

    /// Writes an execution's index entry unless a newer one is there, and remembers that
    /// this process did. A failure is logged: the META item still asks for the entry, and
    /// the step's acknowledgement writes it.
    pub(super) async fn write_index(&self, pk: &str, index: Item) {
        let version = get_n(&index, "iv").unwrap_or(0);
        let bytes = layout::index_entry_bytes(&index);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(index.clone()))
            .condition_expression("attribute_not_exists(#iv) OR #iv < :v")
            .expression_attribute_names("#iv", "iv")
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        self.metrics
            .add_write_units(write_units(super::item_size(&index)));
        match result {
            Ok(_) => self.metrics.add_write_units(write_units(bytes)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
            Err(e) => {
                tracing::warn!(
                    "cannot write the index entry of {pk}: {}",
                    crate::error::sdk_message(&e)
                );
                return;
            }
        }
        let mut indexed = super::lock(&self.indexed);
        if indexed.len() >= 10_000 {
            indexed.clear();
        }
        indexed.insert(pk.to_string(), version);
    }

    /// Counts what a committed step wrote beside its items: the index entry it rewrote.
    fn bill_index(&self, plan: &Plan) {
        if plan.index_bytes > 0 {
            self.metrics.add_write_units(write_units(plan.index_bytes));
        }
    }
}

/// Map items in chunks of about [`CHUNK_BYTES`]: `(first index, JSON array)`.
fn chunk_values(values: &[Value]) -> Result<Vec<(usize, String)>, AwsError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut texts: Vec<String> = Vec::new();
    let mut size = 0;
    for (i, v) in values.iter().enumerate() {
        let t = to_json(v)?;
        if !texts.is_empty() && size + t.len() > CHUNK_BYTES {
            out.push((start, format!("[{}]", texts.join(","))));
            texts.clear();
            size = 0;
            start = i;
        }
        size += t.len() + 1;
        texts.push(t);
    }
    if !texts.is_empty() {
        out.push((start, format!("[{}]", texts.join(","))));
    }
    Ok(out)
}

/// Results in chunks of about [`CHUNK_BYTES`], each a JSON array of `[index, value]`.
fn chunk_pairs(pairs: &[(usize, &Value)]) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut size = 0;
    for p in pairs {
        let t = to_json(p)?;
        if !texts.is_empty() && size + t.len() > CHUNK_BYTES {
            out.push(format!("[{}]", texts.join(",")));
            texts.clear();
            size = 0;
        }
        size += t.len() + 1;
        texts.push(t);
    }
    if !texts.is_empty() {
        out.push(format!("[{}]", texts.join(",")));
    }
    Ok(out)
}
