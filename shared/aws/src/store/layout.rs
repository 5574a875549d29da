//! How an execution record is spread over items, and how it is put back together.
//!
//! The META item holds the record without its frames (and without its input when that is
//! large), the root frame when it is small, and the outbox of the last step when it is small.
//! Every other frame is an `FR#` item; a Map's items and its children's results never live in
//! the parent frame's item: the items are written once, in chunks keyed by their first item's
//! index, when the fan-out starts (or when a distributed Map's ItemReader gives the next
//! window: the chunks of earlier windows are then ignored, and removed after the commit), and
//! the results of the children that end in a step are written by that step.
//!
//! Reading trusts only what the META item's version covers: an item written by a step whose
//! commit has not happened (or never will) carries a newer version and is ignored; a child
//! frame whose parent no longer waits for it (its result is in, or the fan-out is over) is
//! stale and ignored too, so finished frames need not be deleted in the step that ends them.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use waymark_engine::ports::StoreError;
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
        frames: waymark_engine::record::Frames::new(),
        redrive_point: rec.redrive_point.clone(),
        kept: rec.kept.clone(),
        test_case: rec.test_case.clone(),
        version_arn: rec.version_arn.clone(),
        alias_arn: rec.alias_arn.clone(),
        map_runs: rec.map_runs.clone(),
    }
}

/// What listings show of an execution: it changes only when the status does, so the index
/// that serves ListExecutions is written at the start and at the end, not at every step.
pub fn summary(rec: &ExecutionRecord) -> Result<String, AwsError> {
    let mut s = shallow(rec, false);
    s.output = None;
    s.failure = None;
    s.redrive_point = None;
    s.kept = None;
    s.version = 0;
    s.next_event_id = 0;
    s.next_fanout = 0;
    to_json(&s)
}

/// The item that lists an execution in the `byMachine` index: written when the execution is
/// created and whenever its summary changes (status, redrive), right after the META item.
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
    // The version it shows: a late write of an older one never replaces a newer one.
    item.insert("iv".into(), super::n(rec.version));
    if let Some(ttl) = ttl {
        item.insert("ttl".into(), super::n(ttl));
    }
    Ok(item)
}

/// What DynamoDB bills for writing `item`'s entry in the `byMachine` index: the item's keys,
/// the index's keys and the attributes it projects (`sum`, `st`), all of which it has.
pub fn index_entry_bytes(item: &Item) -> usize {
    let projected: Item = item
        .iter()
        .filter(|(k, _)| k.as_str() != "ttl" && k.as_str() != "iv")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    super::item_size(&projected)
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
        own_history: frame.own_history.clone(),
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
        items: Default::default(),
        results: Vec::new(),
        distributed: f.distributed,
        // Kept with the header: only a Map with a ResultWriter has any (see DESIGN's costs).
        logs: f.logs.clone(),
        first: f.first,
        more: f.more.clone(),
        reading: f.reading,
        // At most one batch's items.
        unbatched: f.unbatched.clone(),
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
        rec.frames = frames(meta, version, &blobs)?.into_iter().collect();
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

/// The attributes of a history item that [`committed_chunks`] needs: its key, version, link
/// and event count, without its events.
pub const CHUNK_KEY_ATTRS: &[&str] = &["SK", "v", "pv", "n"];

/// A committed history item, known from its key and links alone.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRef {
    pub sk: String,
    /// The id of its first event (from its key).
    pub first: u64,
    /// How many events it holds (`n`); `None` when the item does not say (or its key has no
    /// first event id).
    pub count: Option<u64>,
}

/// What [`committed_history`] picks, from the items' [`CHUNK_KEY_ATTRS`] only (continuation
/// parts of large items are among `heads` too, and skipped), in the same order: items of the
/// earlier layout by key, then the chain from the head back.
pub fn committed_chunks(
    meta: &Item,
    version: u64,
    heads: &[Item],
) -> Result<Vec<ChunkRef>, AwsError> {
    let by_sk: BTreeMap<&str, &Item> = heads
        .iter()
        .filter_map(|i| get_s(i, "SK").map(|sk| (sk, i)))
        .filter(|(sk, _)| !is_part_sk(sk))
        .collect();
    // A key without a first event id says nothing of where its events are: its count is
    // left unknown, and the history is read whole.
    let chunk = |sk: &str, item: &Item| -> ChunkRef {
        let first = sk
            .strip_prefix(keys::EVENT_PREFIX)
            .and_then(|rest| rest.get(..10))
            .and_then(|digits| digits.parse().ok());
        ChunkRef {
            sk: sk.to_string(),
            first: first.unwrap_or(0),
            count: first.and(get_n(item, "n")),
        }
    };
    let mut out = Vec::new();
    for (sk, item) in &by_sk {
        if !keys::is_event_chunk_sk(sk) && get_n(item, "v").unwrap_or(0) <= version {
            out.push(chunk(sk, item));
        }
    }
    let mut at = get_s(meta, "eh");
    while let Some(sk) = at {
        let item = by_sk
            .get(sk)
            .ok_or_else(|| AwsError::malformed("history", format!("its item {sk} is missing")))?;
        out.push(chunk(sk, item));
        if out.len() > by_sk.len() {
            return Err(AwsError::malformed("history", "its items link in a circle"));
        }
        at = get_s(item, "pv");
    }
    Ok(out)
}

/// Whether `sk` is a continuation part of a large value (`<head>~<i>`).
fn is_part_sk(sk: &str) -> bool {
    sk.rsplit_once(keys::PART_SEPARATOR)
        .is_some_and(|(_, i)| i.bytes().all(|b| b.is_ascii_digit()))
}

/// One page of history as the items' keys describe it: the ids of its events (in page order),
/// the token of the next page, and the items (indices into the [`committed_chunks`] they
/// were planned from) that hold those events.
#[derive(Debug, Clone, PartialEq)]
pub struct PagePlan {
    pub ids: Vec<u64>,
    pub next: Option<u64>,
    pub chunks: Vec<usize>,
}

/// Plans the page of `max` events from event `from` (the page token; the first or, with
/// `reverse`, the last event when `None`), among the events below `next_event` that
/// `chunks` hold: every item holds the consecutive ids from its first on. `Ok(None)`: an
/// item does not say how many events it holds, and only reading them all can tell.
pub fn plan_page(
    chunks: &[ChunkRef],
    next_event: u64,
    reverse: bool,
    max: usize,
    from: Option<u64>,
) -> Result<Option<PagePlan>, StoreError> {
    // The ids there are, as sorted disjoint ranges [start, end).
    let mut spans: Vec<(u64, u64)> = Vec::with_capacity(chunks.len());
    for c in chunks {
        let Some(count) = c.count else {
            return Ok(None);
        };
        let end = c.first.saturating_add(count).min(next_event);
        if c.first < end {
            spans.push((c.first, end));
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let at = match from {
        Some(id) => {
            // The span holding `id`, if any.
            let i = merged.partition_point(|&(_, end)| end <= id);
            if merged.get(i).is_none_or(|&(start, _)| start > id) {
                return Err(StoreError::InvalidPageToken(id.to_string()));
            }
            id
        }
        None if reverse => match merged.last() {
            Some(&(_, end)) => end - 1,
            None => return Ok(Some(PagePlan::empty())),
        },
        None => match merged.first() {
            Some(&(start, _)) => start,
            None => return Ok(Some(PagePlan::empty())),
        },
    };
    let max = max.max(1);
    let mut ids = Vec::with_capacity(max.min(1000));
    let mut next = None;
    if reverse {
        for &(start, end) in merged.iter().rev() {
            if start > at {
                continue;
            }
            let mut id = (end - 1).min(at);
            loop {
                if ids.len() == max {
                    next = Some(id);
                    break;
                }
                ids.push(id);
                if id == start {
                    break;
                }
                id -= 1;
            }
            if next.is_some() {
                break;
            }
        }
    } else {
        for &(start, end) in &merged {
            if end <= at {
                continue;
            }
            for id in start.max(at)..end {
                if ids.len() == max {
                    next = Some(id);
                    break;
                }
                ids.push(id);
            }
            if next.is_some() {
                break;
            }
        }
    }
    let (lo, hi) = match (ids.iter().min(), ids.iter().max()) {
        (Some(&lo), Some(&hi)) => (lo, hi),
        _ => return Ok(Some(PagePlan::empty())),
    };
    let chunks = chunks
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let end = c.first.saturating_add(c.count.unwrap_or(0));
            c.first <= hi && end > lo
        })
        .map(|(i, _)| i)
        .collect();
    Ok(Some(PagePlan { ids, next, chunks }))
}

impl PagePlan {
    fn empty() -> PagePlan {
        PagePlan {
            ids: Vec::new(),
            next: None,
            chunks: Vec::new(),
        }
    }
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
        // The window the fan-out holds; an earlier window's chunks may not be removed yet.
        chunks.retain(|(start, _)| *start >= f.first);
        chunks.sort_by_key(|(start, _)| *start);
        let mut all = Vec::with_capacity(f.total - f.first);
        for (start, values) in chunks {
            if start != f.first + all.len() {
                return Err(AwsError::malformed(
                    "Map items",
                    format!("fan-out {} has a gap at item {}", f.id, f.first + all.len()),
                ));
            }
            all.extend(values);
        }
        if f.first + all.len() != f.total {
            return Err(AwsError::malformed(
                "Map items",
                format!(
                    "fan-out {} has {} of {} items",
                    f.id,
                    f.first + all.len(),
                    f.total
                ),
            ));
        }
        f.items = all.into();
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

    /// The key query's view of `items`: only [`CHUNK_KEY_ATTRS`].
    fn keys_only(items: &[Item]) -> Vec<Item> {
        items
            .iter()
            .map(|i| {
                i.iter()
                    .filter(|(k, _)| CHUNK_KEY_ATTRS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .collect()
    }

    fn counted(
        sk: &str,
        version: u64,
        first: u64,
        count: u64,
        previous: Option<&str>,
    ) -> Vec<Item> {
        let events: Vec<u64> = (first..first + count).collect();
        let mut extra = vec![("n".to_string(), AttributeValue::N(count.to_string()))];
        if let Some(p) = previous {
            extra.push(("pv".to_string(), AttributeValue::S(p.to_string())));
        }
        blob::items("EX#x", sk, version, &format!("{events:?}"), extra, 0)
    }

    #[test]
    fn the_keys_alone_pick_what_the_whole_items_pick() {
        let (a, b) = (keys::event_chunk_sk(1, "aa"), keys::event_chunk_sk(3, "bb"));
        let lost = keys::event_chunk_sk(3, "cc");
        let mut items = counted(&keys::event_sk(0), 0, 0, 1, None);
        items.extend(counted(&a, 1, 1, 2, None));
        items.extend(counted(&b, 2, 3, 1, Some(&a)));
        items.extend(counted(&lost, 2, 3, 5, Some(&a)));
        let blobs = blob::collect(&items).unwrap();
        let whole: Vec<String> = committed_history(&meta(&b), 2, &blobs)
            .unwrap()
            .into_iter()
            .map(|b| get_s(&b.head, "SK").unwrap().to_string())
            .collect();
        let chunks = committed_chunks(&meta(&b), 2, &keys_only(&items)).unwrap();
        let sks: Vec<&str> = chunks.iter().map(|c| c.sk.as_str()).collect();
        assert_eq!(sks, whole);
        assert_eq!(
            chunks
                .iter()
                .map(|c| (c.first, c.count))
                .collect::<Vec<_>>(),
            [(0, Some(1)), (3, Some(1)), (1, Some(2))]
        );
        let err = committed_chunks(&meta(&lost), 2, &keys_only(&items[..1])).unwrap_err();
        assert!(err.to_string().contains("is missing"), "{err}");
    }

    fn chunk_ref(first: u64, count: u64) -> ChunkRef {
        ChunkRef {
            sk: keys::event_chunk_sk(first, "aa"),
            first,
            count: Some(count),
        }
    }

    #[test]
    fn pages_are_planned_from_the_counts() {
        // Newest first, as the chain gives them: events 1..=10 in chunks of 4, 3, 3.
        let chunks = [chunk_ref(8, 3), chunk_ref(5, 3), chunk_ref(1, 4)];
        let plan = |reverse, max, from| plan_page(&chunks, 11, reverse, max, from).unwrap();
        let p = plan(false, 3, None).unwrap();
        assert_eq!((p.ids, p.next, p.chunks), (vec![1, 2, 3], Some(4), vec![2]));
        let p = plan(false, 3, Some(4)).unwrap();
        assert_eq!(
            (p.ids, p.next, p.chunks),
            (vec![4, 5, 6], Some(7), vec![1, 2])
        );
        let p = plan(false, 100, Some(9)).unwrap();
        assert_eq!((p.ids, p.next, p.chunks), (vec![9, 10], None, vec![0]));
        let p = plan(true, 4, None).unwrap();
        assert_eq!(
            (p.ids, p.next, p.chunks),
            (vec![10, 9, 8, 7], Some(6), vec![0, 1])
        );
        let p = plan(true, 0, Some(1)).unwrap();
        assert_eq!((p.ids, p.next, p.chunks), (vec![1], None, vec![2]));
        for bad in [0, 11, 500] {
            assert!(matches!(
                plan_page(&chunks, 11, false, 2, Some(bad)),
                Err(StoreError::InvalidPageToken(_))
            ));
        }
        // Events at and past the record's next event id are not history yet.
        let p = plan_page(&chunks, 9, true, 2, None).unwrap().unwrap();
        assert_eq!((p.ids, p.next), (vec![8, 7], Some(6)));
        assert!(plan_page(&[], 1, false, 2, None)
            .unwrap()
            .unwrap()
            .ids
            .is_empty());
        let uncounted = ChunkRef {
            count: None,
            ..chunk_ref(1, 0)
        };
        assert_eq!(plan_page(&[uncounted], 11, false, 2, None).unwrap(), None);
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
