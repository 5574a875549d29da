//! The items of an S3 object's bytes as they arrive. An ItemReader reads a large object in
//! ranges ([`crate::aws`]), so the parser is fed pieces cut anywhere (inside a line, a quoted
//! CSV field, a JSON value or a UTF-8 character) and gives the items each piece completes; what
//! is left over waits for the next piece. Reading can stop as soon as enough items are read
//! (`MaxItems`, or the size the record holds), without fetching the rest of the object.
//!
//! Formats (developer guide, "ItemReader (Map)"): a JSON array (`InputType: JSON`), JSON Lines
//! (`JSONL`), CSV (`CSV`: a row is an object of the header's names to the row's texts, the
//! header the first row or `CSVHeaders`), and an S3 inventory's CSV files (no header; the
//! manifest's `fileSchema` names the columns and every row has them all).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use waymark_asl::error::names;
use waymark_asl::json::payload_size;
use waymark_asl::Failure;

/// The largest item the parser waits for: an item is a child's input, which cannot be larger
/// than a state's input (256 KiB); without a bound, an object with no line break would be held
/// whole while waiting for the end of its first line.
pub const MAX_ITEM_BYTES: usize = 256 * 1024;

/// The largest CSV header row Step Functions reads ("Step Functions supports CSV headers of up
/// to 10 KB", developer guide, "ItemReader (Map)").
pub const MAX_CSV_HEADER_BYTES: usize = 10 * 1024;

fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(names::ITEM_READER_FAILED, cause)
}

#[derive(Debug)]
enum Json {
    /// Before the array's `[`.
    Start,
    /// After `[`: a value or `]`.
    First,
    /// After a value: `,` or `]`.
    After,
    /// After `,`: a value.
    Value,
    Done,
}

#[derive(Debug)]
enum Kind {
    Json(Json),
    Lines {
        line: usize,
    },
    Csv {
        delimiter: u8,
        /// `None` until the first row (the header) is read.
        headers: Option<Vec<String>>,
        /// An S3 inventory file: every row has exactly the named columns.
        exact: bool,
        bom_checked: bool,
    },
}

/// What is left of one read's room for items: their count and their size (each item's
/// payload size and a separator, as the record holds them).
#[derive(Debug, Clone, Copy)]
struct Room {
    items: usize,
    bytes: usize,
    /// Items taken by this read: the first always fits, so that every read moves on.
    taken: usize,
}

impl Room {
    fn full(&self) -> bool {
        self.items == 0 || self.bytes == 0
    }

    /// Takes `item` if it fits; false (and nothing taken) when it must wait for a later read.
    fn take(&mut self, item: &Value) -> bool {
        let size = payload_size(item) + 1;
        if self.taken > 0 && size > self.bytes {
            self.bytes = 0;
            return false;
        }
        self.items -= 1;
        self.bytes = self.bytes.saturating_sub(size);
        self.taken += 1;
        true
    }
}

/// Where a parser stopped between two items when the room of its read ran out: a later read
/// of the same object parses on from there ([`ObjectItems::resumed`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// Bytes of the object (unzipped) that the items given used up.
    pub offset: u64,
    /// JSON: where in the array (`First`: after its `[`; `After`: after an element; `Value`:
    /// after a comma). JSON Lines: lines read (for the line numbers errors give). CSV: the
    /// header's names, once read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// Items given before, for the row numbers errors give.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub count: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Parses one object's items from the pieces of its bytes, in order.
#[derive(Debug)]
pub struct ObjectItems {
    kind: Kind,
    buf: Vec<u8>,
    /// Items given so far (counting earlier reads'), and room for more in this read.
    count: usize,
    room: Room,
    /// Bytes of the object used up by the items given (and what separates them).
    used: u64,
    done: bool,
    /// Done because the read's room ran out, with more of the object left to parse.
    paused: bool,
}

impl ObjectItems {
    /// A parser for the `InputType` of an ItemReader's `ReaderConfig` (`ItemsPointer` aside:
    /// it points into a document, which is read whole).
    pub fn new(config: &Value, limit: usize) -> Result<ObjectItems, Failure> {
        let kind = match config.get("InputType").and_then(Value::as_str) {
            Some("JSON") => Kind::Json(Json::Start),
            Some("JSONL") => Kind::Lines { line: 0 },
            Some("CSV") => {
                let delimiter = match config.get("CSVDelimiter").and_then(Value::as_str) {
                    None | Some("COMMA") => b',',
                    Some("PIPE") => b'|',
                    Some("SEMICOLON") => b';',
                    Some("SPACE") => b' ',
                    Some("TAB") => b'\t',
                    Some(other) => return Err(failed(format!("Unknown CSVDelimiter '{other}'"))),
                };
                let headers = match config.get("CSVHeaderLocation").and_then(Value::as_str) {
                    Some("GIVEN") => Some(
                        config
                            .get("CSVHeaders")
                            .and_then(Value::as_array)
                            .map(|h| {
                                h.iter()
                                    .map(|v| v.as_str().unwrap_or_default().to_string())
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    _ => None,
                };
                Kind::Csv {
                    delimiter,
                    headers,
                    exact: false,
                    bom_checked: false,
                }
            }
            other => {
                return Err(failed(format!(
                    "Waymark does not read the InputType {}",
                    other.unwrap_or("(none)")
                )))
            }
        };
        Ok(ObjectItems::with(kind, limit))
    }

    /// A parser for one file of a CSV S3 inventory, its columns named by the manifest.
    pub fn inventory(columns: Vec<String>, limit: usize) -> ObjectItems {
        let kind = Kind::Csv {
            delimiter: b',',
            headers: Some(columns),
            exact: true,
            bom_checked: false,
        };
        ObjectItems::with(kind, limit)
    }

    fn with(kind: Kind, limit: usize) -> ObjectItems {
        ObjectItems {
            kind,
            buf: Vec::new(),
            count: 0,
            room: Room {
                items: limit,
                bytes: usize::MAX,
                taken: 0,
            },
            used: 0,
            done: limit == 0,
            paused: false,
        }
    }

    /// Gives at most `bytes` of items (their payload sizes, a separator each), and never
    /// fewer than one: what is left of the object waits for a later read.
    pub fn within(mut self, bytes: usize) -> ObjectItems {
        self.room.bytes = bytes;
        self.done |= bytes == 0;
        self
    }

    /// The read took items from other objects before this one (an inventory's earlier
    /// files): this object's first item must fit the room left too.
    pub fn after_others(mut self, taken: usize) -> ObjectItems {
        self.room.taken += taken;
        self
    }

    /// A parser that goes on where an earlier read of the same object stopped (`at`, from
    /// [`ObjectItems::resume`]); its bytes are fed from `at.offset` on.
    pub fn resumed(mut self, at: &Resume) -> ObjectItems {
        match &mut self.kind {
            Kind::Json(state) => {
                *state = match at.json.as_deref() {
                    Some("First") => Json::First,
                    Some("After") => Json::After,
                    Some("Value") => Json::Value,
                    _ => Json::Start,
                }
            }
            Kind::Lines { line } => *line = at.line,
            Kind::Csv {
                headers,
                bom_checked,
                ..
            } => {
                if at.headers.is_some() {
                    *headers = at.headers.clone();
                }
                *bom_checked |= at.offset > 0;
            }
        }
        self.used = at.offset;
        self.count = at.count;
        self
    }

    /// True once as many items as wanted were given, or the object's end was parsed: more
    /// bytes would change nothing.
    pub fn done(&self) -> bool {
        self.done
    }

    /// What is left of the read's room for items, in bytes, for the next object it reads.
    pub fn room_left(&self) -> usize {
        if self.paused {
            0
        } else {
            self.room.bytes
        }
    }

    /// Items the read may still take (what is left of `MaxItems`).
    pub fn items_left(&self) -> usize {
        self.room.items
    }

    /// Where a later read goes on, when this one stopped for want of room before the object
    /// ended; `None` when the object was read to its end or to the items wanted.
    pub fn resume(&self) -> Option<Resume> {
        if !self.paused {
            return None;
        }
        let mut at = Resume {
            offset: self.used,
            json: None,
            line: 0,
            headers: None,
            count: self.count,
        };
        match &self.kind {
            Kind::Json(state) => at.json = Some(format!("{state:?}")),
            Kind::Lines { line } => at.line = *line,
            Kind::Csv { headers, exact, .. } => {
                // An inventory's columns come from its manifest, read again each time.
                if !exact {
                    at.headers = headers.clone();
                }
            }
        }
        Some(at)
    }

    /// Takes the next piece of the object (`last`: nothing follows it) and gives the items it
    /// completes.
    pub fn feed(&mut self, bytes: &[u8], last: bool) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        if self.done {
            return Ok(items);
        }
        self.buf.extend_from_slice(bytes);
        let used = match &mut self.kind {
            Kind::Json(state) => json_items(&self.buf, state, last, &mut items, &mut self.room)?,
            Kind::Lines { line } => line_items(&self.buf, line, last, &mut items, &mut self.room)?,
            Kind::Csv {
                delimiter,
                headers,
                exact,
                bom_checked,
            } => {
                let mut start = 0;
                if !*bom_checked {
                    if self.buf.len() < 3 && !last && b"\xEF\xBB\xBF".starts_with(&self.buf) {
                        return Ok(items); // perhaps a byte order mark: wait for the rest
                    }
                    *bom_checked = true;
                    if self.buf.starts_with(b"\xEF\xBB\xBF") {
                        start = 3;
                    }
                }
                let used = csv_items(
                    &self.buf[start..],
                    *delimiter,
                    headers,
                    *exact,
                    last,
                    &mut items,
                    &mut self.room,
                    self.count,
                )?;
                start + used
            }
        };
        self.buf.drain(..used);
        self.used += used as u64;
        self.count += items.len();
        if self.room.items == 0 {
            self.done = true;
        } else if self.room.bytes == 0 {
            // Out of room: what is left is read later, unless nothing is left.
            self.done = true;
            self.paused = !(last && self.buf.is_empty());
        } else if last {
            self.done = true;
        } else if self.buf.len() > MAX_ITEM_BYTES {
            return Err(failed(format!(
                "An item of the object is larger than {MAX_ITEM_BYTES} bytes, the most a child execution's input may hold"
            )));
        }
        Ok(items)
    }
}

fn skip_ws(buf: &[u8], mut pos: usize) -> usize {
    while pos < buf.len() && matches!(buf[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

/// The JSON type a value starting with `b` has, for saying what a document is instead of an
/// array.
fn json_type(b: u8) -> &'static str {
    match b {
        b'{' => "object",
        b'"' => "string",
        b't' | b'f' => "boolean",
        b'n' => "null",
        _ => "number",
    }
}

/// Array elements out of `buf`: the bytes used (whole elements and separators only).
fn json_items(
    buf: &[u8],
    state: &mut Json,
    last: bool,
    items: &mut Vec<Value>,
    room: &mut Room,
) -> Result<usize, Failure> {
    let mut pos = 0;
    loop {
        let at = skip_ws(buf, pos);
        if at == buf.len() {
            if last {
                return match state {
                    Json::Done => Ok(at),
                    Json::Start => Err(failed("The object is not JSON: it is empty")),
                    _ => Err(failed("The object is not JSON: the array is not closed")),
                };
            }
            // Whitespace is used up, but never a value cut short.
            return Ok(if matches!(state, Json::Value | Json::First) {
                pos
            } else {
                at
            });
        }
        let b = buf[at];
        match state {
            Json::Start if b == b'[' => {
                *state = Json::First;
                pos = at + 1;
            }
            Json::Start => {
                return Err(failed(format!(
                    "The JSON object read is not an array but {}",
                    json_type(b)
                )))
            }
            Json::First if b == b']' => {
                *state = Json::Done;
                pos = at + 1;
            }
            Json::After if b == b',' => {
                *state = Json::Value;
                pos = at + 1;
            }
            Json::After if b == b']' => {
                *state = Json::Done;
                pos = at + 1;
            }
            Json::After => {
                return Err(failed(format!(
                    "The object is not JSON: expected ',' or ']' after an element of the array, found '{}'",
                    char::from(b).escape_default()
                )))
            }
            Json::First | Json::Value => {
                if room.full() {
                    return Ok(pos);
                }
                let mut values = serde_json::Deserializer::from_slice(&buf[at..]).into_iter::<Value>();
                match values.next() {
                    Some(Ok(v)) => {
                        let end = at + values.byte_offset();
                        // A number at the end of a piece may go on in the next one.
                        if skip_ws(buf, end) == buf.len() && !last {
                            return Ok(pos);
                        }
                        if !room.take(&v) {
                            return Ok(pos);
                        }
                        items.push(v);
                        *state = Json::After;
                        pos = end;
                    }
                    Some(Err(e)) if e.is_eof() && !last => return Ok(pos),
                    Some(Err(e)) => return Err(failed(format!("The object is not JSON: {e}"))),
                    None => return Ok(pos),
                }
            }
            Json::Done => {
                return Err(failed(
                    "The object is not JSON: characters follow the array's end",
                ))
            }
        }
    }
}

/// JSON Lines out of `buf`: the bytes of the lines used.
fn line_items(
    buf: &[u8],
    line: &mut usize,
    last: bool,
    items: &mut Vec<Value>,
    room: &mut Room,
) -> Result<usize, Failure> {
    let mut pos = 0;
    while pos < buf.len() && !room.full() {
        let (end, next) = match buf[pos..].iter().position(|&b| b == b'\n') {
            Some(n) => (pos + n, pos + n + 1),
            None if last => (buf.len(), buf.len()),
            None => break,
        };
        let text = &buf[pos..end];
        if text.iter().all(u8::is_ascii_whitespace) {
            *line += 1;
            pos = next;
            continue;
        }
        let item = serde_json::from_slice(text)
            .map_err(|e| failed(format!("Line {} is not JSON: {e}", *line + 1)))?;
        if !room.take(&item) {
            break;
        }
        *line += 1;
        pos = next;
        items.push(item);
    }
    Ok(pos)
}

enum Row {
    /// A row's fields, and where the next row starts.
    Fields(Vec<String>, usize),
    /// An empty line, skipped.
    Empty(usize),
    /// The row goes on past the bytes there are.
    More,
}

/// One RFC 4180 row at `pos`: quoted fields may hold the delimiter, line breaks and doubled
/// quotes; a line break is `\n` or `\r\n`. Bytes, not characters: every byte the rules look
/// at is ASCII, which no byte of a multi-byte UTF-8 character is.
fn csv_row(buf: &[u8], mut pos: usize, delimiter: u8, last: bool) -> Result<Row, Failure> {
    let mut row = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let end = loop {
        let Some(&c) = buf.get(pos) else {
            if !last {
                return Ok(Row::More);
            }
            if quoted {
                return Err(failed("A CSV field's quotes are not closed"));
            }
            break pos;
        };
        pos += 1;
        if quoted {
            match c {
                b'"' if buf.get(pos) == Some(&b'"') => {
                    pos += 1;
                    field.push(b'"');
                }
                // A quote last in the piece may be the first of a doubled one.
                b'"' if pos == buf.len() && !last => return Ok(Row::More),
                b'"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            b'"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            b'\r' if buf.get(pos) == Some(&b'\n') => {}
            b'\r' if pos == buf.len() && !last => return Ok(Row::More),
            b'\n' => break pos,
            c if c == delimiter => {
                row.push(text(std::mem::take(&mut field))?);
                was_quoted = false;
            }
            c => field.push(c),
        }
    };
    if row.is_empty() && field.is_empty() && !was_quoted {
        return Ok(Row::Empty(end));
    }
    row.push(text(field)?);
    Ok(Row::Fields(row, end))
}

fn text(bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|_| failed("The CSV object is not UTF-8 text"))
}

/// CSV rows out of `buf` as items: the bytes of the rows used.
#[allow(clippy::too_many_arguments)]
fn csv_items(
    buf: &[u8],
    delimiter: u8,
    headers: &mut Option<Vec<String>>,
    exact: bool,
    last: bool,
    items: &mut Vec<Value>,
    room: &mut Room,
    before: usize,
) -> Result<usize, Failure> {
    let mut pos = 0;
    while pos < buf.len() && !room.full() {
        let (row, next) = match csv_row(buf, pos, delimiter, last)? {
            Row::More => break,
            Row::Empty(next) => {
                pos = next;
                continue;
            }
            Row::Fields(row, next) => (row, next),
        };
        let Some(names) = headers.as_ref() else {
            if next - pos > MAX_CSV_HEADER_BYTES {
                return Err(failed(format!(
                    "The CSV header row is {} bytes; Step Functions reads headers of at most {MAX_CSV_HEADER_BYTES} bytes",
                    next - pos
                )));
            }
            *headers = Some(row);
            pos = next;
            continue;
        };
        if exact && row.len() != names.len() {
            return Err(failed(format!(
                "An inventory row has {} fields but the manifest's fileSchema names {}",
                row.len(),
                names.len()
            )));
        }
        if row.len() > names.len() {
            return Err(failed(format!(
                "CSV row {} has {} fields but the header names {}",
                before + items.len() + 1,
                row.len(),
                names.len()
            )));
        }
        let mut item = Map::new();
        let mut fields = row.into_iter();
        for name in names {
            item.insert(
                name.clone(),
                Value::String(fields.next().unwrap_or_default()),
            );
        }
        let item = Value::Object(item);
        if !room.take(&item) {
            break;
        }
        pos = next;
        items.push(item);
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Feeds `body` in pieces cut at `cuts` (byte offsets, any order) and gathers the items.
    fn chunked(config: &Value, body: &[u8], cuts: &[usize]) -> Result<Vec<Value>, Failure> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut p = ObjectItems::new(config, usize::MAX)?;
        let mut out = Vec::new();
        let mut from = 0;
        for c in cuts {
            out.extend(p.feed(&body[from..c], false)?);
            from = c;
        }
        out.extend(p.feed(&body[from..], true)?);
        Ok(out)
    }

    #[test]
    fn pieces_cut_inside_values_lines_fields_and_characters() {
        let json = json!({"InputType": "JSON"});
        let body = r#" [ {"a": "é,]"}, 12345, "x\"y", [1, [2]], true ] "#.as_bytes();
        let want = vec![
            json!({"a": "é,]"}),
            json!(12345),
            json!("x\"y"),
            json!([1, [2]]),
            json!(true),
        ];
        for cut in 0..=body.len() {
            assert_eq!(chunked(&json, body, &[cut]).unwrap(), want, "cut at {cut}");
        }
        let lines = json!({"InputType": "JSONL"});
        let body = "{\"a\":1}\r\n\n[\"é\"]\n3".as_bytes();
        for cut in 0..=body.len() {
            assert_eq!(
                chunked(&lines, body, &[cut]).unwrap(),
                vec![json!({"a": 1}), json!(["é"]), json!(3)],
                "cut at {cut}"
            );
        }
        let csv = json!({"InputType": "CSV"});
        let body = "\u{feff}id,note\r\n1,\"a \"\"b\"\",\r\nc\"\r\n\r\n2,é\n".as_bytes();
        for cut in 0..=body.len() {
            assert_eq!(
                chunked(&csv, body, &[cut]).unwrap(),
                vec![
                    json!({"id": "1", "note": "a \"b\",\r\nc"}),
                    json!({"id": "2", "note": "é"})
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bad_documents_fail_with_what_is_wrong() {
        let json = json!({"InputType": "JSON"});
        let cause = |body: &str| {
            chunked(&json, body.as_bytes(), &[])
                .unwrap_err()
                .cause
                .unwrap()
        };
        assert!(cause(r#"{"a": 1}"#).contains("not an array but object"));
        assert!(cause("").contains("empty"));
        assert!(cause("[1, 2").contains("not closed"));
        assert!(cause("[1 2]").contains("expected ','"));
        assert!(cause("[1],").contains("follow"));
        assert!(cause("[1,]").contains("not JSON"));
        let deep = format!("[{}{}]", "[".repeat(200), "]".repeat(200));
        assert!(
            cause(&deep).contains("not JSON"),
            "too deep fails, no overflow"
        );
        let lines = json!({"InputType": "JSONL"});
        let f = chunked(&lines, b"1\n{\n", &[]).unwrap_err();
        assert!(f.cause.unwrap().starts_with("Line 2 "));
        let csv = json!({"InputType": "CSV"});
        assert!(chunked(&csv, b"a\n\"x\n", &[]).is_err(), "unclosed quotes");
        assert!(chunked(&csv, b"a\n\xff\n", &[]).is_err(), "not UTF-8");
    }

    #[test]
    fn reading_stops_at_the_limit_and_items_are_bounded() {
        let mut p = ObjectItems::new(&json!({"InputType": "JSONL"}), 2).unwrap();
        assert_eq!(
            p.feed(b"1\n2\n3\n", false).unwrap(),
            vec![json!(1), json!(2)]
        );
        assert!(p.done(), "no more bytes are needed");
        assert!(p.feed(b"4\n", true).unwrap().is_empty());
        let mut p = ObjectItems::new(&json!({"InputType": "JSONL"}), usize::MAX).unwrap();
        let long = vec![b' '; MAX_ITEM_BYTES + 1];
        let f = p.feed(&long, false).unwrap_err();
        assert!(f.cause.unwrap().contains("larger than"));
        let mut inv = ObjectItems::inventory(vec!["Bucket".into(), "Key".into()], 9);
        assert_eq!(
            inv.feed(b"\"b\",\"k\"\n", true).unwrap(),
            vec![json!({"Bucket": "b", "Key": "k"})]
        );
        let mut inv = ObjectItems::inventory(vec!["Bucket".into(), "Key".into()], 9);
        assert!(
            inv.feed(b"\"b\"\n", true).is_err(),
            "an inventory row has every column"
        );
    }

    /// Reads `body` window by window as the ItemReader does: each window a new parser with
    /// `room` bytes, resumed where the one before stopped and fed the object from there.
    fn windows(config: &Value, body: &[u8], room: usize) -> Result<Vec<Value>, Failure> {
        let mut out = Vec::new();
        let mut at: Option<Resume> = None;
        loop {
            let mut p = ObjectItems::new(config, usize::MAX)?.within(room);
            let from = at.as_ref().map_or(0, |a| a.offset as usize);
            if let Some(a) = &at {
                p = p.resumed(a);
            }
            let items = p.feed(&body[from..], true)?;
            match p.resume() {
                None => {
                    out.extend(items);
                    return Ok(out);
                }
                Some(a) => {
                    assert!(!items.is_empty(), "a window that pauses took an item");
                    assert!(a.offset as usize > from, "a window moves on");
                    out.extend(items);
                    at = Some(a);
                }
            }
        }
    }

    #[test]
    fn windows_go_on_where_the_one_before_stopped() {
        let values: Vec<Value> = (0..30)
            .map(|i| json!({"a": i.to_string(), "b": "é,|"}))
            .collect();
        let jsonl: String = values.iter().map(|v| format!("{v}\r\n\n")).collect();
        let array = format!(
            " [ {} ] \n",
            values
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(" ,\n")
        );
        let csv: String = std::iter::once("\u{feff}a|b\n".to_string())
            .chain(
                values
                    .iter()
                    .map(|v| format!("{}|\"é,|\"\n", v["a"].as_str().unwrap())),
            )
            .collect();
        for (input, body) in [("JSONL", &jsonl), ("JSON", &array), ("CSV", &csv)] {
            let c = json!({"InputType": input, "CSVDelimiter": "PIPE"});
            for room in [1, 20, 50, 400, 10_000] {
                assert_eq!(
                    windows(&c, body.as_bytes(), room).unwrap(),
                    values,
                    "{input} in rooms of {room}"
                );
            }
        }
        // A resume point survives its JSON form (it travels in the record).
        let c = json!({"InputType": "CSV", "CSVDelimiter": "PIPE"});
        let mut p = ObjectItems::new(&c, usize::MAX).unwrap().within(60);
        p.feed(csv.as_bytes(), true).unwrap();
        let at = p.resume().unwrap();
        let back: Resume = serde_json::from_value(serde_json::to_value(&at).unwrap()).unwrap();
        assert_eq!(back, at);
        assert_eq!(at.headers, Some(vec!["a".to_string(), "b".to_string()]));
    }

    proptest! {
        /// Read window by window, in rooms of any size, an object gives the items of the
        /// whole (or fails as the whole does).
        #[test]
        fn any_windowing_gives_the_items_of_the_whole(
            body in "[a-z0-9,|\"\r\n{}\\[\\]: é]{0,60}",
            room in 1usize..40,
            input in prop::sample::select(vec!["JSON", "JSONL", "CSV"]),
        ) {
            let c = json!({"InputType": input, "CSVDelimiter": "PIPE"});
            let whole = chunked(&c, body.as_bytes(), &[]);
            let windowed = windows(&c, body.as_bytes(), room);
            match (whole, windowed) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) => prop_assert_eq!(a.error, b.error),
                (a, b) => prop_assert!(false, "whole {:?} but in windows {:?}", a, b),
            }
        }

        /// Valid documents of any values, in any room, read back whole.
        #[test]
        fn documents_read_back_in_windows(
            values in prop::collection::vec("[a-z é,|\"]{0,8}", 0..20),
            room in 1usize..60,
        ) {
            let items: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            let array = Value::Array(items.clone()).to_string();
            let jsonl: String = items.iter().map(|v| format!("{v}\n")).collect();
            for (input, body) in [("JSON", &array), ("JSONL", &jsonl)] {
                let c = json!({"InputType": input});
                prop_assert_eq!(&windows(&c, body.as_bytes(), room).unwrap(), &items);
            }
        }
    }

    proptest! {
        /// However an object is cut into pieces, the items are those of the whole object
        /// (or the same failure).
        #[test]
        fn any_cutting_gives_the_items_of_the_whole(
            body in "[a-z0-9,|\"\\r\\n{}\\[\\]: é]{0,60}",
            cuts in prop::collection::vec(any::<usize>(), 0..6),
            input in prop::sample::select(vec!["JSON", "JSONL", "CSV"]),
        ) {
            let c = json!({"InputType": input, "CSVDelimiter": "PIPE"});
            let whole = chunked(&c, body.as_bytes(), &[]);
            let pieces = chunked(&c, body.as_bytes(), &cuts);
            match (whole, pieces) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) => prop_assert_eq!(a.error, b.error),
                (a, b) => prop_assert!(false, "whole {:?} but in pieces {:?}", a, b),
            }
        }
    }
}
