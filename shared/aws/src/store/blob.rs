//! Values stored as text in the `d` attribute of an item, split over several items when one
//! would come near DynamoDB's 400 KB limit: the head item says how many parts there are, and
//! part `i` lives at the head's SK with `~i` appended. Every part carries the version of the
//! step that wrote it, so a reader can tell parts of the same write apart from stale ones.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::primitives::Blob as Bytes;
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::PART_SEPARATOR;
use super::{get_n, get_s, key, n, pack, s, Item};
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
    // Deflated (binary parts) when that is smaller, else the text (string parts).
    let packed = match pack::attr(payload) {
        AttributeValue::B(b) => Some(b.into_inner()),
        _ => None,
    };
    let parts: Vec<AttributeValue> = match &packed {
        Some(bytes) => bytes
            .chunks(PART_BYTES)
            .map(|c| AttributeValue::B(Bytes::new(c.to_vec())))
            .collect(),
        None => split(payload, PART_BYTES).into_iter().map(s).collect(),
    };
    let count = parts.len();
    let mut out = Vec::with_capacity(count);
    for (i, part) in parts.into_iter().enumerate() {
        let mut item = if i == 0 {
            key(pk, sk)
        } else {
            key(pk, format!("{sk}{PART_SEPARATOR}{i}"))
        };
        item.insert("v".into(), n(version));
        item.insert("d".into(), part);
        item.insert("ttl".into(), n(expires));
        if i == 0 {
            if count > 1 {
                item.insert("np".into(), n(count));
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
    let mut parts: BTreeMap<(String, usize), (u64, &[u8])> = BTreeMap::new();
    let mut heads: Vec<(&str, &Item)> = Vec::new();
    for item in items {
        let Some(sk) = get_s(item, "SK") else {
            continue;
        };
        let Some(d) = item.get("d").and_then(bytes_of) else {
            continue;
        };
        match sk.rsplit_once(PART_SEPARATOR) {
            Some((head, i)) if i.bytes().all(|b| b.is_ascii_digit()) => {
                let i: usize = i
                    .parse()
                    .map_err(|e| AwsError::malformed("value part", e))?;
                parts.insert((head.to_string(), i), (get_n(item, "v").unwrap_or(0), d));
            }
            _ => heads.push((sk, item)),
        }
    }
    let mut out = BTreeMap::new();
    for (sk, item) in heads {
        let version = get_n(item, "v").unwrap_or(0);
        let head = item.get("d");
        let mut bytes = head.and_then(bytes_of).unwrap_or_default().to_vec();
        let count = get_n(item, "np").unwrap_or(1) as usize;
        let mut complete = true;
        for i in 1..count {
            match parts.get(&(sk.to_string(), i)) {
                Some((v, part)) if *v == version => bytes.extend_from_slice(part),
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
        let data = match head {
            Some(AttributeValue::B(_)) => pack::inflate("stored value", &bytes)?,
            _ => String::from_utf8(bytes).map_err(|e| AwsError::malformed("stored value", e))?,
        };
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

/// The bytes of a value's part: text or deflated text.
fn bytes_of(v: &AttributeValue) -> Option<&[u8]> {
    match v {
        AttributeValue::S(s) => Some(s.as_bytes()),
        AttributeValue::B(b) => Some(b.as_ref()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text deflate can barely shrink: characters from a pseudo-random sequence.
    fn noise(len: usize) -> String {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ['é', 'a', 'Z', '7', '{', '"', ' ', 'ß'][(x % 8) as usize]
            })
            .collect()
    }

    fn part_len(item: &Item) -> usize {
        item.get("d").and_then(bytes_of).unwrap().len()
    }

    #[test]
    fn large_values_split_and_come_back_whole() {
        let text = noise(300_000);
        let written = items("EX#x", "FR#0.1", 3, &text, vec![], 0);
        assert!(written.len() >= 2, "{} parts", written.len());
        assert!(written.iter().all(|i| part_len(i) <= PART_BYTES));
        let back = collect(&written).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back["FR#0.1"].data, text);
        assert_eq!(back["FR#0.1"].version, 3);
    }

    #[test]
    fn values_are_stored_deflated_when_that_is_smaller() {
        let json = format!(
            "[{}]",
            vec![r#"{"type":"TaskStateEntered","id":1}"#; 50].join(",")
        );
        let written = items("EX#x", "EV#0000000001", 1, &json, vec![], 0);
        assert_eq!(written.len(), 1);
        assert!(matches!(written[0]["d"], AttributeValue::B(_)));
        assert!(part_len(&written[0]) * 5 < json.len());
        assert_eq!(collect(&written).unwrap()["EV#0000000001"].data, json);
        let short = items("EX#x", "IN", 1, "{}", vec![], 0);
        assert!(matches!(short[0]["d"], AttributeValue::S(_)));
        assert_eq!(collect(&short).unwrap()["IN"].data, "{}");
    }

    #[test]
    fn text_written_before_deflating_reads_back() {
        let mut item = key("EX#x", "FR#0");
        item.insert("v".into(), n(1));
        item.insert("d".into(), s("{\"state\":\"A\"}"));
        assert_eq!(collect(&[item]).unwrap()["FR#0"].data, "{\"state\":\"A\"}");
    }

    #[test]
    fn a_head_without_its_parts_is_left_out() {
        let text = noise(300_000);
        let mut written = items("EX#x", "EV#0000000001", 2, &text, vec![], 0);
        assert!(written.len() >= 2);
        written.remove(1);
        assert!(collect(&written).unwrap().is_empty());
    }
}
