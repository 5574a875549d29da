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
