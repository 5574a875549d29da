//! Small facts about JSON values that several parts of the language need.

use serde_json::Value;

/// The JSON type name AWS uses in its messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compact JSON text, as AWS renders payloads in history and error causes.
pub fn to_text(v: &Value) -> String {
    serde_json::to_string(v).expect("serialising a serde_json::Value cannot fail")
}

/// Size of a payload as AWS counts it against the 256 KiB limit: the UTF-8 length of its JSON
/// text.
pub fn payload_size(v: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    serde_json::to_writer(&mut c, v).expect("serialising a serde_json::Value cannot fail");
    c.0
}

/// The size of `v` as JSON text, or `None` once it passes `cap`: serialising stops there, so
/// a caller that only needs to know whether values fit pays for at most `cap` bytes.
pub fn payload_size_within(v: &Value, cap: usize) -> Option<usize> {
    struct Counter {
        n: usize,
        cap: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.n += buf.len();
            if self.n > self.cap {
                return Err(std::io::Error::other("over the cap"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter { n: 0, cap };
    serde_json::to_writer(&mut c, v).ok().map(|()| c.n)
}

/// How many arrays, objects and scalars `v` holds, and how deeply its containers nest (a
/// scalar: depth 0), counted without recursion.
pub fn shape(v: &Value) -> (usize, usize) {
    let mut nodes = 0;
    let mut deepest = 0;
    let mut todo = vec![(v, 0usize)];
    while let Some((v, depth)) = todo.pop() {
        nodes += 1;
        match v {
            Value::Array(items) => {
                deepest = deepest.max(depth + 1);
                todo.extend(items.iter().map(|i| (i, depth + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(depth + 1);
                todo.extend(map.values().map(|i| (i, depth + 1)));
            }
            _ => {}
        }
    }
    (nodes, deepest)
}

/// A number as an integer when it is one (1.0 included), as AWS's integer fields accept it.
pub fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// The deepest nesting of arrays and objects accepted in a definition or produced by an
/// evaluation: serde_json's own limit when it reads text (which every store relies on to
/// read payloads back), also applied to values built in memory, which nothing else bounds.
pub const MAX_DEPTH: usize = 128;

/// The JSON Pointer of the first array or object nested deeper than `max` (the top level
/// being depth 1), found without recursion, or `None` when `v` is no deeper.
pub fn first_too_deep(v: &Value, max: usize) -> Option<String> {
    enum Children<'a> {
        Items(std::iter::Enumerate<std::slice::Iter<'a, Value>>),
        Members(serde_json::map::Iter<'a>),
    }
    fn children(v: &Value) -> Option<Children<'_>> {
        match v {
            Value::Array(items) => Some(Children::Items(items.iter().enumerate())),
            Value::Object(map) => Some(Children::Members(map.iter())),
            _ => None,
        }
    }
    // Each open container with the key it was reached by.
    let mut open: Vec<(String, Children)> = vec![(String::new(), children(v)?)];
    if max == 0 {
        return Some(String::new());
    }
    while let Some((_, items)) = open.last_mut() {
        let next = match items {
            Children::Items(it) => it.next().map(|(i, v)| (i.to_string(), v)),
            Children::Members(it) => it.next().map(|(k, v)| (k.clone(), v)),
        };
        match next {
            None => {
                open.pop();
            }
            Some((key, child)) => {
                if let Some(c) = children(child) {
                    open.push((key, c));
                    if open.len() > max {
                        return Some(
                            open[1..]
                                .iter()
                                .fold(String::new(), |p, (k, _)| crate::diag::pointer(&p, k)),
                        );
                    }
                }
            }
        }
    }
    None
}

/// How deep arrays and objects nest in `v` (a scalar is 0), without recursion.
pub fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|x| (x, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|x| (x, d + 1))),
            _ => {}
        }
        deepest = deepest.max(match v {
            Value::Array(_) | Value::Object(_) => d + 1,
            _ => d,
        });
    }
    deepest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(n: usize) -> Value {
        let mut v = json!(1);
        for i in 0..n {
            v = if i % 2 == 0 {
                Value::Array(vec![json!(0), v])
            } else {
                // Not `json!`, which would copy `v` through serde, recursively.
                Value::Object(std::iter::once(("a/b".to_string(), v)).collect())
            };
        }
        v
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": []}]})), 4);
        let deep = nested(100_000);
        assert_eq!(depth(&deep), 100_000);
        // serde_json drops values recursively: leak this one rather than overflow the stack.
        std::mem::forget(deep);
    }

    #[test]
    fn the_first_value_too_deep_is_named_by_its_pointer() {
        assert_eq!(first_too_deep(&nested(5), 5), None);
        assert_eq!(first_too_deep(&json!(1), 0), None);
        assert_eq!(first_too_deep(&nested(1), 0), Some(String::new()));
        // Outermost an array (its item 1 the next level), then an object, and so on.
        assert_eq!(first_too_deep(&nested(5), 3), Some("/1/a~1b/1".into()));
        // serde_json refuses text this deep, so such a value can only be built in memory.
        let text = "[".repeat(MAX_DEPTH + 1);
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }
}

/// The most characters of a user's text (a path, a JSON Pointer) an error message quotes: a
/// hostile path may be megabytes long, and a pointer 100 levels deep is long too.
pub const QUOTED_CHARS: usize = 200;

/// `text` cut to [`QUOTED_CHARS`] characters (with `…` when cut), for error messages.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

#[cfg(test)]
mod clip_tests {
    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(super::clip("$.a"), "$.a");
        let long = "é".repeat(300);
        let cut = super::clip(&long);
        assert_eq!(cut.chars().count(), super::QUOTED_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
