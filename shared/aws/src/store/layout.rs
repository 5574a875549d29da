//! How an execution record is spread over items, and how it is put back together.
//!
//! The META item holds the record without its frames (and without its input when that is
//! large), the root frame when it is small, and the outbox of the last step when it is small.
//! Every other frame is an `FR#` item; a Map's items and its children's results never live in
//! the parent frame's item: the items are written once, in chunks, when the fan-out starts,
//! and the results of the children that end in a step are written by that step.
//!
//! Reading trusts only what the META item's version covers: an item written by a step whose
//! commit has not happened (or never will) carries a newer version and is ignored; a child
//! frame whose parent no longer waits for it (its result is in, or the fan-out is over) is
//! stale and ignored too, so finished frames need not be deleted in the step that ends them.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use waymark_engine::record::{child_frame_id, ExecutionRecord, Fanout, Frame, Phase};
use waymark_engine::step::Effect;

use super::blob::{self, Blob};
use super::keys::{self, META};
use super::{get_n, get_s, pack, Item};
use crate::error::AwsError;

/// Inputs larger than this live in their own item, written once, not in every META write
/// (every write is billed for the whole item).
pub const INLINE_INPUT_BYTES: usize = 1024;
/// A root frame larger than this gets an item of its own.
pub const INLINE_ROOT_BYTES: usize = 16 * 1024;
/// An outbox larger than this gets an item of its own.
pub const INLINE_OUTBOX_BYTES: usize = 32 * 1024;
/// A record (without frames) larger than this gets an item of its own.
pub const INLINE_RECORD_BYTES: usize = 64 * 1024;

/// What a load found beside the record, for the commit that follows it.
#[derive(Debug, Clone, Default)]
pub struct LoadedExtras {
    /// The unacknowledged outbox and the version it belongs to.
    pub pending_outbox: Option<(u64, Vec<Effect>)>,
    /// The size of each attribute of the META item (name included): an update is billed for
    /// the whole item, the larger of before and after.
    pub meta_attrs: HashMap<String, usize>,
    /// The newest committed history item (`eh`), which the next one links back to.
    pub event_head: Option<String>,
}

/// The record without its frames: what the META item holds.
pub fn shallow(rec: &ExecutionRecord, with_input: bool) -> ExecutionRecord {
    ExecutionRecord {
        execution_arn: rec.execution_arn.clone(),
        name: rec.name.clone(),
        state_machine_arn: rec.state_machine_arn.clone(),
        state_machine_name: rec.state_machine_name.clone(),
        revision: rec.revision,
        machine_type: rec.machine_type,
        role_arn: rec.role_arn.clone(),
        input: if with_input {
            rec.input.clone()
        } else {
            Value::Null
        },
        start_time: rec.start_time,
        status: rec.status,
        output: rec.output.clone(),
        failure: rec.failure.clone(),
        stop_time: rec.stop_time,
        redrive_count: rec.redrive_count,
        version: rec.version,
        next_event_id: rec.next_event_id,
        next_fanout: rec.next_fanout,
        turn: rec.turn,
        frames: BTreeMap::new(),
        redrive_point: rec.redrive_point.clone(),
        test_case: rec.test_case.clone(),
    }
}

/// What listings show of an execution: it changes only when the status does, so the index
/// that serves ListExecutions is written at the start and at the end, not at every step.
pub fn summary(rec: &ExecutionRecord) -> Result<String, AwsError> {
    let mut s = shallow(rec, false);
    s.output = None;
    s.failure = None;
    s.redrive_point = None;
    s.version = 0;
    s.next_event_id = 0;
    s.next_fanout = 0;
    to_json(&s)
}

/// The item that lists an execution in the `byMachine` index: written when the execution is
/// created and whenever its summary changes (status, redrive), with the META item.
pub fn index_item(pk: &str, rec: &ExecutionRecord, ttl: Option<i64>) -> Result<Item, AwsError> {
    let mut item = super::key(pk, keys::INDEX);
    item.insert("GPK".into(), super::s(rec.state_machine_arn.clone()));
    item.insert(
        "GSK".into(),
        super::s(format!(
            "{:013}#{}",
            rec.start_time.timestamp_millis().max(0),
            rec.name
        )),
    );
    item.insert("st".into(), super::s(rec.status.as_str()));
    item.insert("sum".into(), pack::attr(&summary(rec)?));
    if let Some(ttl) = ttl {
        item.insert("ttl".into(), super::n(ttl));
    }
    Ok(item)
}

/// What DynamoDB bills for writing `item`'s entry in the `byMachine` index: the item's keys,
/// the index's keys and the attributes it projects (`sum`, `st`), all of which it has.
pub fn index_entry_bytes(item: &Item) -> usize {
    super::item_size(item) - item.get("ttl").map_or(0, |_| "ttl".len() + 6)
}

/// A frame as its item holds it: a fan-out without its items and results (copied field by
/// field, so that a Map's thousands of items are never cloned just to be dropped).
pub fn strip(frame: &Frame) -> Frame {
    let phase = match &frame.phase {
        Phase::Children(f) => {
            let mut header = fanout_header(f);
            header.input = f.input.clone();
            Phase::Children(header)
        }
        other => other.clone(),
    };
    Frame {
        scope: frame.scope.clone(),
        parent: frame.parent.clone(),
        index: frame.index,
        map_item: frame.map_item.clone(),
        state: frame.state.clone(),
        input: frame.input.clone(),
        entered_event_id: frame.entered_event_id,
        entered_time: frame.entered_time,
        last_event_id: frame.last_event_id,
        seq: frame.seq,
        phase,
        retry_counts: frame.retry_counts.clone(),
        vars: frame.vars.clone(),
        silent: frame.silent,
    }
}

fn fanout_header(f: &Fanout) -> Fanout {
    Fanout {
        id: f.id,
        is_map: f.is_map,
        total: f.total,
        started: f.started,
        running: f.running,
        succeeded: f.succeeded,
        failed: f.failed,
        max_concurrency: f.max_concurrency,
        tolerated_count: f.tolerated_count,
        tolerated_percentage: f.tolerated_percentage,
        input: Value::Null,
        items: Vec::new(),
        results: Vec::new(),
        distributed: f.distributed,
    }
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AwsError> {
    serde_json::to_string(v).map_err(|e| AwsError::malformed("record", e))
}

fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T, AwsError> {
    serde_json::from_str(text).map_err(|e| AwsError::malformed(what, e))
}

/// Puts the record back together from the items of its partition (everything but history).
pub fn assemble(items: &[Item]) -> Result<Option<(ExecutionRecord, LoadedExtras)>, AwsError> {
    let Some(meta) = items.iter().find(|i| get_s(i, "SK") == Some(META)) else {
        return Ok(None);
    };
    let version =
        get_n(meta, "v").ok_or_else(|| AwsError::malformed("execution item", "no version"))?;
    let blobs = blob::collect(items)?;
    let rec_text = match get_n(meta, "rcv") {
        Some(rv) => blobs
            .get(&keys::record_sk(rv))
            .map(|b| b.data.as_str())
            .ok_or_else(|| AwsError::malformed("execution item", "its record item is missing"))?,
        None => &pack::text("execution record", meta, "rec")?
            .ok_or_else(|| AwsError::malformed("execution item", "no record"))?,
    };
    let mut rec: ExecutionRecord = from_json("execution record", rec_text)?;
    rec.version = version;
    if meta.contains_key("inx") {
        let input = blobs
            .get(keys::INPUT)
            .ok_or_else(|| AwsError::malformed("execution item", "its input item is missing"))?;
        rec.input = from_json("execution input", &input.data)?;
    }
    rec.frames.clear();
    if !rec.status.is_terminal() {
        rec.frames = frames(meta, version, &blobs)?;
    }
    let pending_outbox = match (
        get_n(meta, "obv"),
        pack::text("outbox", meta, "ob")?,
        meta.contains_key("obx"),
    ) {
        (Some(v), Some(text), _) => Some((v, from_json("outbox", &text)?)),
        (Some(v), None, true) => {
            let b = blobs.get(&keys::outbox_sk(v)).ok_or_else(|| {
                AwsError::malformed("execution item", "its outbox item is missing")
            })?;
            Some((v, from_json("outbox", &b.data)?))
        }
        _ => None,
    };
    Ok(Some((
        rec,
        LoadedExtras {
            pending_outbox,
            meta_attrs: attribute_sizes(meta),
            event_head: get_s(meta, "eh").map(str::to_string),
        },
    )))
}

/// The history items among `blobs` that are part of the execution whose META item is `meta`
/// (at `version`): those reachable from its `eh` through their `pv` links, and items of the
/// earlier layout (keyed by first event id alone) that the version covers. Items written
/// ahead by a commit that did not happen are on no chain, and left out.
pub fn committed_history<'a>(
    meta: &Item,
    version: u64,
    blobs: &'a BTreeMap<String, Blob>,
) -> Result<Vec<&'a Blob>, AwsError> {
    let mut out: Vec<&Blob> = blobs
        .iter()
        .filter(|(sk, b)| !keys::is_event_chunk_sk(sk) && b.version <= version)
        .map(|(_, b)| b)
        .collect();
    let mut at = get_s(meta, "eh");
    while let Some(sk) = at {
        let b = blobs
            .get(sk)
            .ok_or_else(|| AwsError::malformed("history", format!("its item {sk} is missing")))?;
        out.push(b);
        if out.len() > blobs.len() {
            return Err(AwsError::malformed("history", "its items link in a circle"));
        }
        at = get_s(&b.head, "pv");
    }
    Ok(out)
}

/// The size DynamoDB counts for each attribute of `item`.
pub fn attribute_sizes(item: &Item) -> HashMap<String, usize> {
    item.iter()
        .map(|(k, v)| {
            let one = HashMap::from([(k.clone(), v.clone())]);
            (k.clone(), super::item_size(&one))
        })
        .collect()
}

/// The live frames: the root, and every child its parent still waits for, with the items
/// and results of their fan-outs filled in.
fn frames(
    meta: &Item,
    version: u64,
    blobs: &BTreeMap<String, Blob>,
) -> Result<BTreeMap<String, Frame>, AwsError> {
    let visible = |b: &&Blob| b.version <= version;
    let mut candidates: BTreeMap<String, Frame> = BTreeMap::new();
    let root_inline = pack::text("frame", meta, "root")?;
    if let Some(text) = &root_inline {
        candidates.insert(String::new(), from_json("frame", text)?);
    }
    let mut items: HashMap<u64, Vec<(usize, Vec<Value>)>> = HashMap::new();
    let mut results: HashMap<u64, Vec<(usize, Value)>> = HashMap::new();
    for (sk, b) in blobs.iter().filter(|(_, b)| visible(b)) {
        if let Some(id) = sk.strip_prefix(keys::FRAME_PREFIX) {
            if id.is_empty() && root_inline.is_some() {
                continue; // left over from when the root had its own item
            }
            candidates.insert(id.to_string(), from_json("frame", &b.data)?);
        } else if sk.starts_with(keys::ITEMS_PREFIX) {
            let fanout =
                keys::fanout_of(sk).ok_or_else(|| AwsError::malformed("item chunk key", sk))?;
            let start = get_n(&b.head, "st").unwrap_or(0) as usize;
            items
                .entry(fanout)
                .or_default()
                .push((start, from_json("Map items", &b.data)?));
        } else if sk.starts_with(keys::RESULTS_PREFIX) {
            let fanout =
                keys::fanout_of(sk).ok_or_else(|| AwsError::malformed("result chunk key", sk))?;
            let pairs: Vec<(usize, Value)> = from_json("results", &b.data)?;
            results.entry(fanout).or_default().extend(pairs);
        }
    }
    let mut live: BTreeMap<String, Frame> = BTreeMap::new();
    // Parents sort before their children (a child's path extends its parent's).
    for (id, mut frame) in candidates {
        if !id.is_empty() && !waited_for(&live, &id, &frame) {
            continue;
        }
        if let Phase::Children(f) = &mut frame.phase {
            fill(
                f,
                items.remove(&f.id).unwrap_or_default(),
                results.remove(&f.id).unwrap_or_default(),
            )?;
        }
        live.insert(id, frame);
    }
    Ok(live)
}

/// Whether the parent of child frame `id` still waits for it.
fn waited_for(live: &BTreeMap<String, Frame>, id: &str, frame: &Frame) -> bool {
    let Some((fanout, index)) = keys::child_position(id) else {
        return false;
    };
    let Some(parent) = frame.parent.as_deref() else {
        return false;
    };
    if frame.index != index || child_frame_id(parent, fanout, index) != id {
        return false;
    }
    live.get(parent).is_some_and(|p| match &p.phase {
        Phase::Children(f) => {
            f.id == fanout && index < f.started && f.results.get(index).is_some_and(Option::is_none)
        }
        _ => false,
    })
}

fn fill(
    f: &mut Fanout,
    mut chunks: Vec<(usize, Vec<Value>)>,
    results: Vec<(usize, Value)>,
) -> Result<(), AwsError> {
    if f.is_map {
        chunks.sort_by_key(|(start, _)| *start);
        let mut all = Vec::with_capacity(f.total);
        for (start, values) in chunks {
            if start != all.len() {
                return Err(AwsError::malformed(
                    "Map items",
                    format!("fan-out {} has a gap at item {}", f.id, all.len()),
                ));
            }
            all.extend(values);
        }
        if all.len() != f.total {
            return Err(AwsError::malformed(
                "Map items",
                format!("fan-out {} has {} of {} items", f.id, all.len(), f.total),
            ));
        }
        f.items = all;
    }
    f.results = vec![None; f.total];
    for (i, v) in results {
        if let Some(slot) = f.results.get_mut(i) {
            *slot = Some(v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn chunk(sk: &str, version: u64, events: &str, previous: Option<&str>) -> Vec<Item> {
        let extra = previous
            .map(|p| vec![("pv".to_string(), AttributeValue::S(p.to_string()))])
            .unwrap_or_default();
        blob::items("EX#x", sk, version, events, extra, 0)
    }

    fn meta(head: &str) -> Item {
        HashMap::from([("eh".to_string(), AttributeValue::S(head.to_string()))])
    }

    #[test]
    fn history_is_what_the_chain_from_the_head_reaches() {
        let (a, b) = (keys::event_chunk_sk(1, "aa"), keys::event_chunk_sk(3, "bb"));
        // A writer that lost the race for version 2 left its own item for events 3…
        let lost = keys::event_chunk_sk(3, "cc");
        let mut items = chunk(&a, 1, "[1,2]", None);
        items.extend(chunk(&b, 2, "[3]", Some(&a)));
        items.extend(chunk(&lost, 2, "[30]", Some(&a)));
        // …and the layout before chains had items keyed by first event id alone.
        items.extend(chunk(&keys::event_sk(0), 0, "[0]", None));
        let blobs = blob::collect(&items).unwrap();
        let mut got: Vec<&str> = committed_history(&meta(&b), 2, &blobs)
            .unwrap()
            .into_iter()
            .map(|b| b.data.as_str())
            .collect();
        got.sort();
        assert_eq!(got, ["[0]", "[1,2]", "[3]"]);
    }

    #[test]
    fn a_broken_chain_is_an_error_not_lost_history() {
        let a = keys::event_chunk_sk(1, "aa");
        let b = keys::event_chunk_sk(3, "bb");
        let blobs = blob::collect(&chunk(&b, 2, "[3]", Some(&a))).unwrap();
        let err = committed_history(&meta(&b), 2, &blobs).unwrap_err();
        assert!(err.to_string().contains("is missing"), "{err}");
        let looped = blob::collect(&chunk(&a, 1, "[1]", Some(&a))).unwrap();
        let err = committed_history(&meta(&a), 1, &looped).unwrap_err();
        assert!(err.to_string().contains("circle"), "{err}");
    }
}
