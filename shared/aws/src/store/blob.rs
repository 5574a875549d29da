//! Values stored as text in the `d` attribute of an item, split over several items when one
//! would come near DynamoDB's 400 KB limit: the head item says how many parts there are, and
//! part `i` lives at the head's SK with `~i` appended. Every part carries the version of the
//! step that wrote it, so a reader can tell parts of the same write apart from stale ones.

use std::collections::BTreeMap;

use super::keys::PART_SEPARATOR;
use super::{get_n, get_s, key, n, s, Item};
use crate::error::AwsError;

/// The most text one item carries: far below 400 KB, leaving room for keys and attributes.
pub const PART_BYTES: usize = 96_000;

/// The items that hold `payload` under `pk`/`sk`, tagged with `version`; `extra` attributes
/// go on the head item.
pub fn items(
    pk: &str,
    sk: &str,
    version: u64,
    payload: &str,
    extra: Vec<(String, aws_sdk_dynamodb::types::AttributeValue)>,
    expires: i64,
) -> Vec<Item> {
    let parts = split(payload, PART_BYTES);
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let mut item = if i == 0 {
            key(pk, sk)
        } else {
            key(pk, format!("{sk}{PART_SEPARATOR}{i}"))
        };
        item.insert("v".into(), n(version));
        item.insert("d".into(), s(*part));
        item.insert("ttl".into(), n(expires));
        if i == 0 {
            if parts.len() > 1 {
                item.insert("np".into(), n(parts.len()));
            }
            for (k, v) in &extra {
                item.insert(k.clone(), v.clone());
            }
        }
        out.push(item);
    }
    out
}

/// Splits text into pieces of at most `max` bytes, on character boundaries.
pub fn split(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

/// A value read back: its text, the version that wrote it, and its head item.
#[derive(Debug, Clone)]
pub struct Blob {
    pub version: u64,
    pub data: String,
    pub head: Item,
}

/// Reassembles the values among `items` (items without a `d` attribute, such as META, are
/// left out), by the SK of their head.
pub fn collect(items: &[Item]) -> Result<BTreeMap<String, Blob>, AwsError> {
    let mut parts: BTreeMap<(String, usize), (u64, &str)> = BTreeMap::new();
    let mut heads: Vec<(&str, &Item)> = Vec::new();
    for item in items {
        let Some(sk) = get_s(item, "SK") else {
            continue;
        };
        if get_s(item, "d").is_none() {
            continue;
        }
        match sk.rsplit_once(PART_SEPARATOR) {
            Some((head, i)) if i.bytes().all(|b| b.is_ascii_digit()) => {
                let i: usize = i
                    .parse()
                    .map_err(|e| AwsError::malformed("value part", e))?;
                parts.insert(
                    (head.to_string(), i),
                    (
                        get_n(item, "v").unwrap_or(0),
                        get_s(item, "d").unwrap_or(""),
                    ),
                );
            }
            _ => heads.push((sk, item)),
        }
    }
    let mut out = BTreeMap::new();
    for (sk, item) in heads {
        let version = get_n(item, "v").unwrap_or(0);
        let mut data = get_s(item, "d").unwrap_or("").to_string();
        let count = get_n(item, "np").unwrap_or(1) as usize;
        let mut complete = true;
        for i in 1..count {
            match parts.get(&(sk.to_string(), i)) {
                Some((v, text)) if *v == version => data.push_str(text),
                _ => {
                    complete = false;
                    break;
                }
            }
        }
        if !complete {
            // A head whose parts are missing was never committed whole: only a write that
            // lost its lock leaves one, and its version is newer than the record's.
            continue;
        }
        out.insert(
            sk.to_string(),
            Blob {
                version,
                data,
                head: item.clone(),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_values_split_and_come_back_whole() {
        let text = "é".repeat(100_000); // 200,000 bytes, two bytes a character
        let written = items("EX#x", "FR#0.1", 3, &text, vec![], 0);
        assert_eq!(written.len(), 3);
        assert!(written
            .iter()
            .all(|i| get_s(i, "d").unwrap().len() <= PART_BYTES));
        let back = collect(&written).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back["FR#0.1"].data, text);
        assert_eq!(back["FR#0.1"].version, 3);
    }

    #[test]
    fn a_head_without_its_parts_is_left_out() {
        let text = "x".repeat(200_000);
        let mut written = items("EX#x", "EV#0000000001", 2, &text, vec![], 0);
        written.remove(1);
        assert!(collect(&written).unwrap().is_empty());
    }
}
