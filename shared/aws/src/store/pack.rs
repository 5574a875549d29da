//! Text the store writes, deflated. DynamoDB bills every write per KB of the whole item, and
//! the JSON of records, frames, outboxes and history shrinks to between a half and a third:
//! a step's writes cost that much less. A string attribute is text as it was written; a
//! binary one is deflated text, so items of either kind read back the same.

use std::io::{Read, Write};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::Item;
use crate::error::AwsError;

/// Below this, deflate's framing costs about what it saves.
pub const MIN_BYTES: usize = 96;

/// The most text a stored value inflates to: well above the largest value the store writes
/// (a 256 KiB payload in a record, a chunk of Map items), so a corrupt or hostile item cannot
/// make a reader allocate without bound.
const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// `text`, deflated.
pub fn deflate(text: &str) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(text.len() / 2), Compression::new(6));
    // Writing to a Vec cannot fail.
    encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
        .unwrap_or_default()
}

/// The text `bytes` deflate.
pub fn inflate(what: &'static str, bytes: &[u8]) -> Result<String, AwsError> {
    let mut out = String::with_capacity(bytes.len() * 3);
    DeflateDecoder::new(bytes)
        .take(MAX_INFLATED + 1)
        .read_to_string(&mut out)
        .map_err(|e| AwsError::malformed(what, format!("cannot inflate it: {e}")))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(AwsError::malformed(what, "it inflates past 64 MiB"));
    }
    Ok(out)
}

/// The attribute that stores `text`: deflated when that makes it smaller.
pub fn attr(text: &str) -> AttributeValue {
    if text.len() >= MIN_BYTES {
        let packed = deflate(text);
        if packed.len() < text.len() {
            return AttributeValue::B(Blob::new(packed));
        }
    }
    AttributeValue::S(text.to_string())
}

/// The text an attribute stores, whichever way it was written; `None` if absent.
pub fn text(what: &'static str, item: &Item, name: &str) -> Result<Option<String>, AwsError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
        Some(AttributeValue::B(b)) => inflate(what, b.as_ref()).map(Some),
        Some(_) => Err(AwsError::malformed(
            what,
            format!("{name} is neither text nor binary"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn text_comes_back_as_written_either_way() {
        let long = format!(
            "{{\"arn\":\"{}\"}}",
            "arn:aws:states:us-east-1:1:x:".repeat(20)
        );
        for original in ["{}", "ünïcødé ✓", long.as_str()] {
            let item: Item = HashMap::from([("a".to_string(), attr(original))]);
            assert_eq!(
                text("value", &item, "a").unwrap().as_deref(),
                Some(original)
            );
        }
        assert!(
            matches!(attr(&long), AttributeValue::B(_)),
            "repetitive JSON is deflated"
        );
        assert!(
            matches!(attr("{}"), AttributeValue::S(_)),
            "short text is kept as it is"
        );
        assert_eq!(text("value", &HashMap::new(), "a").unwrap(), None);
    }

    #[test]
    fn corrupt_or_bombed_values_are_errors() {
        let item: Item = HashMap::from([(
            "a".to_string(),
            AttributeValue::B(Blob::new(vec![0xff, 0x00, 0x13, 0x37])),
        )]);
        let err = text("record", &item, "a").unwrap_err().to_string();
        assert!(err.contains("record") && err.contains("inflate"), "{err}");
        let bomb = deflate(&" ".repeat(65 * 1024 * 1024));
        assert!(inflate("record", &bomb)
            .unwrap_err()
            .to_string()
            .contains("64 MiB"));
        let wrong: Item = HashMap::from([("a".to_string(), AttributeValue::N("1".into()))]);
        assert!(text("record", &wrong, "a").is_err());
    }
}
