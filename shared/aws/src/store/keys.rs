//! The table's keys. One table holds everything (DESIGN.md): every key is a `PK` and an `SK`
//! string, and the prefixes below keep each kind of item apart and in a useful order.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | state machine (latest, and every revision) | `SM#<name>` | `META`, `REV#<n>` |
//! | execution record: status, version, outbox | `EX#<id>` | `META` |
//! | execution input, when large | `EX#<id>` | `IN` |
//! | its entry in the `byMachine` index (ListExecutions) | `EX#<id>` | `IX` |
//! | history: the events of one step | `EX#<id>` | `EV#<first event id>#<writer's nonce>` |
//! | frame (root when large, Map/Parallel children) | `EX#<id>` | `FR#<frame path>` |
//! | Map items of a fan-out, in chunks | `EX#<id>` | `IT#<fan-out>#<chunk>` |
//! | results of the children that ended in one step | `EX#<id>` | `RS#<fan-out>#<version>#<part>` |
//! | outbox, when large | `EX#<id>` | `OB#<version>` |
//! | record, when large | `EX#<id>` | `RC#<version>` |
//! | task token | `TK#<sha256(token)>` | `META` |
//! | `.sync` child → parent | `CW#<child id>` | `META` |
//! | tags | `TG#<arn>` | `META` |
//! | queued message too large for SQS | `MSG#<uuid>` | `META` |
//! | human approval (status, decision) | `AP#<approval id>` | `META` |
//! | distributed Map children (`children.rs`) | `MC#<run>`, `MH#<hi>` | `META`, `CH#<index>` |
//!
//! `<id>` is the execution ARN without `arn:<partition>:states:<region>:<account>:`. Numbers
//! are zero-padded so that they sort. A value too large for one item continues in items
//! whose SK is the head's with `~<part>` appended.

use sha2::{Digest, Sha256};

pub const META: &str = "META";
pub const INPUT: &str = "IN";
/// The item that puts an execution in the `byMachine` index: apart from META, so that the
/// steps that do not change the status (most) do not carry the listing's copy of the record.
pub const INDEX: &str = "IX";
pub const FRAME_PREFIX: &str = "FR#";
pub const EVENT_PREFIX: &str = "EV#";
pub const ITEMS_PREFIX: &str = "IT#";
pub const RESULTS_PREFIX: &str = "RS#";
pub const OUTBOX_PREFIX: &str = "OB#";
pub const RECORD_PREFIX: &str = "RC#";
/// Separates a large value's continuation parts from its head.
pub const PART_SEPARATOR: char = '~';
/// The partition of the `byMachine` index that lists state machines.
pub const MACHINES_PARTITION: &str = "SM";

/// The part of an ARN after `arn:<partition>:<service>:<region>:<account>:`.
pub fn resource_of(arn: &str) -> &str {
    arn.splitn(6, ':').nth(5).unwrap_or(arn)
}

pub fn execution_pk(arn: &str) -> String {
    format!("EX#{}", resource_of(arn))
}

/// Where history items from `first_id` on start (the key of the items of the earliest layout).
pub fn event_sk(first_id: u64) -> String {
    format!("{EVENT_PREFIX}{first_id:010}")
}

/// A history item: events from `first_id` on, written by the commit whose nonce is `nonce`.
/// History is written ahead of the commit that makes it part of the execution, so every
/// writer has keys of its own: a writer that loses the race never overwrites the winner's.
pub fn event_chunk_sk(first_id: u64, nonce: &str) -> String {
    format!("{EVENT_PREFIX}{first_id:010}#{nonce}")
}

/// Whether a history item's key is [`event_chunk_sk`]'s (or the earlier [`event_sk`]'s).
pub fn is_event_chunk_sk(sk: &str) -> bool {
    sk.strip_prefix(EVENT_PREFIX)
        .is_some_and(|rest| rest.len() > 11 && rest.as_bytes()[10] == b'#')
}

pub fn frame_sk(frame: &str) -> String {
    format!("{FRAME_PREFIX}{frame}")
}

/// The key of a chunk of a fan-out's items, by the index of its first item.
pub fn items_sk(fanout: u64, start: usize) -> String {
    format!("{ITEMS_PREFIX}{fanout:010}#{start:010}")
}

/// The index of the first item of the chunk (or of a part of it) under `sk`.
pub fn item_chunk_start(sk: &str) -> Option<usize> {
    let rest = sk.strip_prefix(ITEMS_PREFIX)?;
    let start = rest.split('#').nth(1)?;
    start.split(PART_SEPARATOR).next()?.parse().ok()
}

pub fn items_prefix(fanout: u64) -> String {
    format!("{ITEMS_PREFIX}{fanout:010}#")
}

pub fn results_sk(fanout: u64, version: u64, part: usize) -> String {
    format!("{RESULTS_PREFIX}{fanout:010}#{version:012}#{part:03}")
}

pub fn results_prefix(fanout: u64) -> String {
    format!("{RESULTS_PREFIX}{fanout:010}#")
}

pub fn outbox_sk(version: u64) -> String {
    format!("{OUTBOX_PREFIX}{version:012}")
}

pub fn record_sk(version: u64) -> String {
    format!("{RECORD_PREFIX}{version:012}")
}

/// The fan-out id in an `IT#` or `RS#` key.
pub fn fanout_of(sk: &str) -> Option<u64> {
    let rest = sk
        .strip_prefix(ITEMS_PREFIX)
        .or_else(|| sk.strip_prefix(RESULTS_PREFIX))?;
    rest.split('#').next()?.parse().ok()
}

pub fn state_machine_pk(name: &str) -> String {
    format!("SM#{name}")
}

pub fn revision_sk(revision: u64) -> String {
    format!("REV#{revision:010}")
}

/// Tokens are stored hashed: the table never holds one that could be replayed.
/// A task token's item, by the token's hash (`waymark_engine::record::token_hash`, the
/// same lowercase hex SHA-256).
pub fn token_pk(token_hash: &str) -> String {
    format!("TK#{token_hash}")
}

pub fn child_wait_pk(child_arn: &str) -> String {
    format!("CW#{}", resource_of(child_arn))
}

pub fn tags_pk(arn: &str) -> String {
    format!("TG#{arn}")
}

pub fn message_pk(id: &str) -> String {
    format!("MSG#{id}")
}

/// An approval's id is a keyed hash of its task token (`waymark_api::approvals::Links`): it
/// reveals nothing of the token.
pub fn approval_pk(id: &str) -> String {
    format!("AP#{id}")
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `<fan-out>.<index>` of a child frame's path (its last segment).
pub fn child_position(frame: &str) -> Option<(u64, usize)> {
    let last = frame.rsplit('/').next()?;
    let (fanout, index) = last.split_once('.')?;
    Some((fanout.parse().ok()?, index.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_and_parse() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:flow:run-1";
        assert_eq!(execution_pk(arn), "EX#execution:flow:run-1");
        assert!(event_sk(9) < event_sk(10));
        assert!(event_sk(9) < event_chunk_sk(9, "ab") && event_chunk_sk(9, "ff") < event_sk(10));
        assert!(is_event_chunk_sk(&event_chunk_sk(12, "0a1b")));
        assert!(!is_event_chunk_sk(&event_sk(12)));
        assert!(items_sk(1, 2) < items_sk(1, 10));
        assert_eq!(fanout_of(&items_sk(7, 3)), Some(7));
        // A window's chunks are told from the windows before by their first item's index,
        // parts of a large chunk too.
        assert_eq!(item_chunk_start(&items_sk(7, 12_345)), Some(12_345));
        assert_eq!(
            item_chunk_start(&format!("{}{PART_SEPARATOR}2", items_sk(7, 40))),
            Some(40)
        );
        assert_eq!(item_chunk_start(&results_sk(7, 3, 1)), None);
        assert_eq!(fanout_of(&results_sk(12, 5, 0)), Some(12));
        assert_eq!(child_position("3.17"), Some((3, 17)));
        assert_eq!(child_position("0.1/4.2"), Some((4, 2)));
        assert_eq!(child_position(""), None);
        let hash = waymark_engine::record::token_hash("t");
        assert_eq!(hash, sha256_hex("t"));
        assert_eq!(token_pk(&hash).len(), 3 + 64);
    }
}
