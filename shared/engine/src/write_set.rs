//! What one step changed, computed once by the engine and handed to the store's commit, so
//! that no store diffs records itself (or re-serialises them to find out) and all of them
//! agree on what a step writes: the record, the frames that changed, a fan-out's items once,
//! the results new since the last step, the history, the outbox and the task tokens.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::history::HistoryEvent;
use crate::ports::TaskRef;
use crate::record::{token_hash, ExecutionRecord, Phase};
use crate::step::Effect;

/// A task token a step issued that SendTaskSuccess/Failure/Heartbeat may answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEntry {
    /// [`token_hash`] of the token: stores never keep it in clear.
    pub hash: String,
    pub task: TaskRef,
    /// When nothing can answer it any more (the task's timeout, or a year), for stores
    /// that expire items.
    pub expires: DateTime<Utc>,
}

/// A frame the step wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangedFrame<'a> {
    pub id: &'a str,
    /// False for a frame the step created.
    pub existed: bool,
}

/// One step's changes.
#[derive(Debug)]
pub struct WriteSet<'a> {
    /// The version the step was decided from: the commit's condition.
    pub from_version: u64,
    /// The record after the step (its version is `from_version + 1`).
    pub rec: &'a ExecutionRecord,
    /// The status or the redrive count changed: listings must see it.
    pub status_changed: bool,
    pub changed_frames: Vec<ChangedFrame<'a>>,
    pub removed_frames: Vec<&'a str>,
    /// Frames whose fan-out began in this step: their items are written once.
    pub new_fanouts: Vec<&'a str>,
    /// Frames whose fan-out took a new window of items in this step (a distributed Map's
    /// ItemReader read on): the window is written, and the one before can go.
    pub new_windows: Vec<&'a str>,
    /// Results that arrived in this step: (fan-out id, child index, result).
    pub new_results: Vec<(u64, usize, &'a Value)>,
    /// Fan-outs that ended in this step.
    pub ended_fanouts: Vec<u64>,
    pub events: &'a [HistoryEvent],
    /// Distributed Maps' children the step started or ended: stores that keep them upsert
    /// them by run and index in the same commit.
    pub children: &'a [crate::map_children::ChildUpdate],
    /// Events of STANDARD children's own histories, in order.
    pub child_events: &'a [crate::map_children::ChildEvent],
    /// The step's effects, stored until acknowledged.
    pub outbox: &'a [Effect],
    /// Callback tokens the step issued.
    pub tokens: Vec<TokenEntry>,
    /// The engine's clock when the step was decided.
    pub now: DateTime<Utc>,
}

/// How long a task token can be answered when its task has no timeout: AWS keeps tasks a
/// year at most.
const TOKEN_LIFETIME_DAYS: i64 = 366;

impl<'a> WriteSet<'a> {
    /// The changes from `previous` to `next`, with the step's events and effects.
    pub fn diff(
        previous: &'a ExecutionRecord,
        next: &'a ExecutionRecord,
        events: &'a [HistoryEvent],
        outbox: &'a [Effect],
        now: DateTime<Utc>,
    ) -> WriteSet<'a> {
        let mut w = WriteSet {
            from_version: previous.version,
            rec: next,
            status_changed: previous.status != next.status
                || previous.redrive_count != next.redrive_count,
            changed_frames: Vec::new(),
            removed_frames: Vec::new(),
            new_fanouts: Vec::new(),
            new_windows: Vec::new(),
            new_results: Vec::new(),
            ended_fanouts: Vec::new(),
            events,
            children: &[],
            child_events: &[],
            outbox,
            tokens: Vec::new(),
            now,
        };
        for (id, frame) in &next.frames {
            let before = previous.frames.get(id);
            if !next.frames.same(&previous.frames, id) {
                w.changed_frames.push(ChangedFrame {
                    id,
                    existed: before.is_some(),
                });
            }
            let Phase::Children(f) = &frame.phase else {
                continue;
            };
            let earlier = before.and_then(|p| match &p.phase {
                Phase::Children(pf) if pf.id == f.id => Some(pf),
                _ => None,
            });
            match earlier {
                None => w.new_fanouts.push(id),
                Some(pf) if pf.first != f.first => w.new_windows.push(id),
                Some(_) => {}
            }
            for (i, r) in f.results.iter().enumerate() {
                let Some(r) = r else { continue };
                let new = earlier.is_none_or(|pf| pf.results.get(i).is_none_or(|x| x.is_none()));
                if new {
                    w.new_results.push((f.id, i, r));
                }
            }
        }
        for (id, frame) in &previous.frames {
            if !next.frames.contains_key(id) {
                w.removed_frames.push(id);
            }
            if let Phase::Children(pf) = &frame.phase {
                let still = next
                    .frames
                    .get(id)
                    .is_some_and(|f| matches!(&f.phase, Phase::Children(nf) if nf.id == pf.id));
                if !still {
                    w.ended_fanouts.push(pf.id);
                }
            }
        }
        for effect in outbox {
            if let Effect::Invoke(req) = effect {
                if !req.wait_for_token {
                    continue; // only callback tasks are answered by token
                }
                let lifetime = req
                    .timeout_seconds
                    .map(|t| Duration::seconds(t.min(TOKEN_LIFETIME_DAYS as u64 * 86_400) as i64))
                    .unwrap_or_else(|| Duration::days(TOKEN_LIFETIME_DAYS));
                w.tokens.push(TokenEntry {
                    hash: token_hash(&req.token),
                    task: TaskRef {
                        execution_arn: next.execution_arn.clone(),
                        frame: req.frame.clone(),
                        seq: req.seq,
                    },
                    expires: now + lifetime,
                });
            }
        }
        w
    }
}
