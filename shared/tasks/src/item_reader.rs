//! A distributed Map's `ItemReader` (Step Functions developer guide, "ItemReader (Map)"): the
//! items read from Amazon S3 through the model-driven caller. `s3:getObject` reads one object
//! as a JSON array (or the array an `ItemsPointer` points to), JSON Lines, CSV (a row is an
//! object of the header's names to the row's texts), or an S3 inventory's
//! `manifest.json` (`MANIFEST`: the CSV inventory files it lists, a row an object of its
//! `fileSchema` names); `s3:listObjectsV2` lists a bucket (every page), an item per object as
//! `{"Etag", "Key", "LastModified" (epoch seconds), "Size", "StorageClass"}`. `MaxItems` stops
//! the reading early. Objects are read range by range ([`ObjectItems`] parses the pieces), so
//! reading stops where the items wanted end, whatever the object's size.
//!
//! The items travel in the execution's record, so one read gives a window of at most
//! [`MAX_READ_BYTES`] of them and a [`Cursor`] saying where the next read starts; the Map asks
//! for the next window once it has started the children of this one. A dataset of any size is
//! read that way, never held whole.

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use waymark_asl::error::names;
use waymark_asl::json::payload_size;
use waymark_asl::Failure;

pub use crate::object_items::{ObjectItems, Resume};

/// The most item text one read gives (each item's payload size and a separator): a window of
/// the Map's items, the size of a state's input on AWS (256 KiB).
pub const MAX_READ_BYTES: usize = 256 * 1024;

/// Where a read of a Map's items stopped: the next read of the same reader starts there. It
/// travels in the reader's answer and comes back in its next request, as the reader
/// configuration's `Cursor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cursor {
    /// Items read so far: `MaxItems` counts them all.
    pub read: usize,
    /// The ETag of the object being read, so that later reads read the same version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<Value>,
    /// An inventory manifest's file being read (its index in the manifest's `files`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub file: usize,
    /// Where in the object the parser stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Resume>,
    /// listObjectsV2: the continuation token of the page being read (none: the first page),
    /// and how many of its objects were read already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Value>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Cursor {
    /// The cursor a reader configuration carries: none for a first read.
    pub fn of(config: &Value) -> Result<Cursor, Failure> {
        match config.get("Cursor") {
            None | Some(Value::Null) => Ok(Cursor::default()),
            Some(c) => serde_json::from_value(c.clone())
                .map_err(|e| failed(format!("The ItemReader's cursor does not read back: {e}"))),
        }
    }
}

/// A read's answer: its items alone when nothing is left to read, else the items and the
/// cursor of the next read, as `{"Items", "Cursor"}`.
pub fn answer(items: Vec<Value>, next: Option<Cursor>) -> Value {
    match next {
        None => Value::Array(items),
        Some(c) => json!({ "Items": items, "Cursor": c }),
    }
}

/// Moves items from `from` into `into` while `room` (bytes) and `left` (items) allow, the
/// first always: true when one did not fit, and more are left in `from`.
pub fn fill(
    from: impl IntoIterator<Item = Value>,
    into: &mut Vec<Value>,
    room: &mut usize,
    left: usize,
) -> bool {
    let mut from = from.into_iter().peekable();
    while let Some(item) = from.peek() {
        if into.len() >= left {
            return false;
        }
        let size = payload_size(item) + 1;
        if !into.is_empty() && size > *room {
            *room = 0;
            return true;
        }
        *room = room.saturating_sub(size);
        into.extend(from.next());
    }
    false
}

fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(names::ITEM_READER_FAILED, cause)
}

/// What `MaxItems` allows (`None`: no limit).
fn max_items(config: &Value) -> Option<usize> {
    config
        .get("MaxItems")
        .and_then(Value::as_u64)
        .map(|n| n as usize)
}

/// A window of the array a JSON document's `ItemsPointer` points to, from the `skip`th item
/// on: the items that fit in `room` bytes (at least one), and whether more are left.
pub fn pointer_window(
    config: &Value,
    body: &str,
    skip: usize,
    room: usize,
) -> Result<(Vec<Value>, bool), Failure> {
    let limit = max_items(config).unwrap_or(usize::MAX);
    let all = parse_object(config, body)?;
    let mut items = Vec::new();
    let mut room = room;
    let more = fill(
        all.into_iter().skip(skip),
        &mut items,
        &mut room,
        limit.saturating_sub(skip),
    );
    Ok((items, more))
}

/// The items of an object's whole text, as its `InputType` says: a JSON document an
/// `ItemsPointer` points into is parsed here; the rest by [`ObjectItems`], which reads large
/// objects piece by piece.
pub fn parse_object(config: &Value, body: &str) -> Result<Vec<Value>, Failure> {
    let limit = max_items(config).unwrap_or(usize::MAX);
    let pointer = config.get("ItemsPointer").and_then(Value::as_str);
    match pointer {
        Some(p) if config.get("InputType").and_then(Value::as_str) == Some("JSON") => {
            let read = serde_json::from_str::<Value>(body)
                .map_err(|e| failed(format!("The object is not JSON: {e}")))?;
            match read.pointer(p) {
                Some(Value::Array(items)) => Ok(items.iter().take(limit).cloned().collect()),
                None => Err(failed(format!(
                    "The JSON object read has nothing at the ItemsPointer '{p}'"
                ))),
                Some(other) => Err(failed(format!(
                    "The JSON value at the ItemsPointer '{p}' is not an array but {}",
                    waymark_asl::json::type_name(other)
                ))),
            }
        }
        _ => ObjectItems::new(config, limit)?.feed(body.as_bytes(), true),
    }
}

/// What an S3 inventory's `manifest.json` says (Amazon S3 user guide, "Amazon S3 Inventory"):
/// the bucket holding the inventory files, their keys, and the column names of their rows.
#[derive(Debug, PartialEq)]
pub struct Inventory {
    pub bucket: String,
    pub files: Vec<String>,
    pub columns: Vec<String>,
}

/// Reads an inventory manifest. Only CSV inventories are read: ORC and Parquet ones fail with
/// `States.ItemReaderFailed` saying so.
pub fn inventory(manifest: &str) -> Result<Inventory, Failure> {
    let m: Value = serde_json::from_str(manifest)
        .map_err(|e| failed(format!("The inventory manifest is not JSON: {e}")))?;
    match m.get("fileFormat").and_then(Value::as_str) {
        Some(f) if f.eq_ignore_ascii_case("CSV") => {}
        other => {
            return Err(failed(format!(
                "Waymark reads CSV S3 inventories, not '{}'",
                other.unwrap_or("(no fileFormat)")
            )))
        }
    }
    let bucket = m
        .get("destinationBucket")
        .and_then(Value::as_str)
        .map(|b| b.strip_prefix("arn:aws:s3:::").unwrap_or(b).to_string())
        .ok_or_else(|| failed("The inventory manifest has no destinationBucket"))?;
    let columns: Vec<String> = m
        .get("fileSchema")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("The inventory manifest has no fileSchema"))?
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    let files = m
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| failed("The inventory manifest has no files"))?
        .iter()
        .map(|f| {
            f.get("key")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| failed("An inventory manifest's file has no key"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Inventory {
        bucket,
        files,
        columns,
    })
}

/// An item for each object of a ListObjectsV2 page, as Step Functions gives them.
pub fn listed_objects(page: &Value) -> Vec<Value> {
    let Some(contents) = page.get("Contents").and_then(Value::as_array) else {
        return Vec::new();
    };
    contents
        .iter()
        .map(|o| {
            let modified = o
                .get("LastModified")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| Value::from(t.timestamp()))
                .unwrap_or(Value::Null);
            json!({
                "Etag": o.get("ETag").cloned().unwrap_or(Value::Null),
                "Key": o.get("Key").cloned().unwrap_or(Value::Null),
                "LastModified": modified,
                "Size": o.get("Size").cloned().unwrap_or(Value::Null),
                "StorageClass": o.get("StorageClass").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: Value) -> Value {
        v
    }

    #[test]
    fn json_and_json_lines() {
        let c = cfg(json!({"InputType": "JSON"}));
        assert_eq!(
            parse_object(&c, r#"[{"a":1},2,"x"]"#).unwrap(),
            vec![json!({"a": 1}), json!(2), json!("x")]
        );
        let f = parse_object(&c, r#"{"a":1}"#).unwrap_err();
        assert_eq!(f.error.as_deref(), Some("States.ItemReaderFailed"));
        let c = cfg(json!({"InputType": "JSONL", "MaxItems": 2}));
        assert_eq!(
            parse_object(&c, "{\"a\":1}\n\n[2]\n3\n").unwrap(),
            vec![json!({"a": 1}), json!([2])]
        );
        assert!(parse_object(&json!({"InputType": "JSONL"}), "{\n").is_err());
    }

    #[test]
    fn items_pointer_picks_the_array_out_of_a_document() {
        let c = json!({"InputType": "JSON", "ItemsPointer": "/data/items", "MaxItems": 2});
        let doc = r#"{"data": {"items": [1, 2, 3]}, "meta": {}}"#;
        assert_eq!(parse_object(&c, doc).unwrap(), vec![json!(1), json!(2)]);
        let c = json!({"InputType": "JSON", "ItemsPointer": "/meta"});
        assert!(parse_object(&c, doc)
            .unwrap_err()
            .cause
            .unwrap()
            .contains("not an array"));
        let c = json!({"InputType": "JSON", "ItemsPointer": "/nothing"});
        assert!(parse_object(&c, doc)
            .unwrap_err()
            .cause
            .unwrap()
            .contains("nothing at"));
    }

    #[test]
    fn s3_inventories_are_read_by_their_manifest() {
        let manifest = r#"{"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv",
            "version": "2016-11-30", "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, Size, LastModifiedDate",
            "files": [{"key": "src/daily/data/a.csv.gz", "size": 10, "MD5checksum": "x"}]}"#;
        let inv = inventory(manifest).unwrap();
        assert_eq!(inv.bucket, "inv");
        assert_eq!(inv.files, ["src/daily/data/a.csv.gz"]);
        assert_eq!(inv.columns, ["Bucket", "Key", "Size", "LastModifiedDate"]);
        let rows = "\"src\",\"a.txt\",\"3\",\"2024-01-02T03:04:05.000Z\"\n\"src\",\"b.txt\",\"4\",\"2024-01-02T03:04:06.000Z\"\n";
        assert_eq!(
            ObjectItems::inventory(inv.columns.clone(), 1)
                .feed(rows.as_bytes(), true)
                .unwrap(),
            vec![json!({"Bucket": "src", "Key": "a.txt", "Size": "3",
                        "LastModifiedDate": "2024-01-02T03:04:05.000Z"})]
        );
        assert!(ObjectItems::inventory(inv.columns, 9)
            .feed(b"\"src\",\"a\"\n", true)
            .is_err());
        let orc = manifest.replace("\"CSV\"", "\"ORC\"");
        assert!(inventory(&orc).unwrap_err().cause.unwrap().contains("ORC"));
    }

    #[test]
    fn csv_rows_become_objects_of_texts() {
        let c = json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"});
        let body = "id,name,note\r\n1,Ada,\"likes, commas\"\r\n2,\"Bob \"\"B\"\"\",\"two\nlines\"\r\n\r\n3,Cy\n";
        assert_eq!(
            parse_object(&c, body).unwrap(),
            vec![
                json!({"id": "1", "name": "Ada", "note": "likes, commas"}),
                json!({"id": "2", "name": "Bob \"B\"", "note": "two\nlines"}),
                json!({"id": "3", "name": "Cy", "note": ""}),
            ]
        );
        let c = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                       "CSVHeaders": ["user", "movie"], "CSVDelimiter": "PIPE", "MaxItems": 1});
        assert_eq!(
            parse_object(&c, "1|307\n2|481\n").unwrap(),
            vec![json!({"user": "1", "movie": "307"})]
        );
        let c = json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"});
        assert!(
            parse_object(&c, "a\n1,2\n").is_err(),
            "more fields than names"
        );
        assert!(parse_object(&c, "a\n\"1\n").is_err(), "unclosed quotes");
        assert_eq!(parse_object(&c, "").unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn listed_objects_have_step_functions_shape() {
        let page = json!({"Contents": [{"Key": "a.json", "ETag": "\"e1\"", "Size": 3,
            "LastModified": "2024-01-02T03:04:05Z", "StorageClass": "STANDARD"}]});
        assert_eq!(
            listed_objects(&page),
            vec![
                json!({"Etag": "\"e1\"", "Key": "a.json", "LastModified": 1704164645,
                        "Size": 3, "StorageClass": "STANDARD"})
            ]
        );
        assert!(listed_objects(&json!({})).is_empty());
    }

    #[test]
    fn windows_hold_what_fits_and_at_least_one_item() {
        // Six bytes each: five of payload ("000" quoted) and a separator.
        let items: Vec<Value> = (0..10).map(|i| json!(format!("{i:03}"))).collect();
        let window = |room: usize, left: usize| {
            let (mut into, mut room) = (Vec::new(), room);
            let more = fill(items.clone(), &mut into, &mut room, left);
            (into.len(), more)
        };
        assert_eq!(window(20, usize::MAX), (3, true));
        assert_eq!(window(1, usize::MAX), (1, true), "the first always");
        assert_eq!(window(1000, 4), (4, false), "MaxItems ends the reading");
        assert_eq!(window(60, usize::MAX), (10, false));
        let c = json!({"InputType": "JSON", "ItemsPointer": "/a"});
        let doc = json!({"a": items}).to_string();
        let (w, more) = pointer_window(&c, &doc, 8, 1000).unwrap();
        assert_eq!((w, more), (items[8..].to_vec(), false));
        let (w, more) = pointer_window(&c, &doc, 2, 12).unwrap();
        assert_eq!((w, more), (items[2..4].to_vec(), true));
        // A cursor travels in the answer and comes back in the next request.
        let cursor = Cursor {
            read: 3,
            token: Some(json!("t")),
            skip: 2,
            ..Cursor::default()
        };
        let a = answer(vec![json!(1)], Some(cursor.clone()));
        assert_eq!(a["Items"], json!([1]));
        assert_eq!(Cursor::of(&json!({"Cursor": a["Cursor"]})).unwrap(), cursor);
        assert_eq!(Cursor::of(&json!({})).unwrap(), Cursor::default());
        assert_eq!(answer(vec![json!(1)], None), json!([1]));
        assert!(Cursor::of(&json!({"Cursor": 5})).is_err());
    }

    /// The readers parse what users' files hold, so arbitrary text must give items or a
    /// `States.ItemReaderFailed`, and CSV written by the RFC 4180 rules must read back as
    /// written.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Field text that exercises the quoting rules.
        fn field() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[a-z,|\"\r\n ]{0,6}").unwrap()
        }

        /// A field as RFC 4180 writes it: quoted (quotes doubled) when it holds a quote, the
        /// delimiter or a line break, or when `always`.
        fn encode(f: &str, delimiter: char, always: bool) -> String {
            let needs = f.contains(['"', '\r', '\n', delimiter]);
            if always || needs {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.to_string()
            }
        }

        proptest! {
            #[test]
            fn any_text_gives_items_or_a_reader_failure(
                body in "[a-z0-9,|\"\r\n{}\\[\\]: ]{0,80}",
                input in prop::sample::select(vec!["JSON", "JSONL", "CSV"]),
                given in any::<bool>(),
            ) {
                let mut c = json!({"InputType": input, "CSVDelimiter": "PIPE"});
                if given {
                    c["CSVHeaderLocation"] = json!("GIVEN");
                    c["CSVHeaders"] = json!(["a", "b", "c"]);
                }
                if let Err(f) = parse_object(&c, &body) {
                    prop_assert_eq!(f.error.as_deref(), Some(names::ITEM_READER_FAILED));
                }
            }

            #[test]
            fn csv_reads_back_what_rfc_4180_wrote(
                rows in prop::collection::vec(prop::collection::vec(field(), 3), 0..6),
                always in any::<bool>(),
                crlf in any::<bool>(),
                pipe in any::<bool>(),
            ) {
                let delimiter = if pipe { '|' } else { ',' };
                let end = if crlf { "\r\n" } else { "\n" };
                let mut body = ["a", "b", "c"].join(&delimiter.to_string());
                body.push_str(end);
                for row in &rows {
                    let fields: Vec<String> =
                        row.iter().map(|f| encode(f, delimiter, always)).collect();
                    body.push_str(&fields.join(&delimiter.to_string()));
                    body.push_str(end);
                }
                let c = json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                               "CSVDelimiter": if pipe { "PIPE" } else { "COMMA" }});
                let items = parse_object(&c, &body).unwrap();
                // A row of three empty fields is written as two delimiters, not an empty line:
                // every row comes back.
                let want: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"a": r[0], "b": r[1], "c": r[2]}))
                    .collect();
                prop_assert_eq!(items, want);
            }
        }
    }
}
