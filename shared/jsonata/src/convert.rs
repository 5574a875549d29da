//! Conversion between `serde_json` values (this crate's API) and the
//! evaluator's own value type, following what `JSON.stringify` does with a
//! jsonata-js result, since that is how Step Functions turns one into JSON.

use jsonata_core::value::{with_stack, JValue};
use serde_json::{Map, Number, Value};

pub(crate) fn to_jvalue(v: &Value) -> JValue {
    JValue::from(v.clone())
}

/// The JSON form of a result, or `None` for JSONata's `undefined`.
///
/// Functions and regexes have no JSON form: like `JSON.stringify` they
/// vanish at the top level and from objects, and become `null` in arrays.
pub(crate) fn from_jvalue(v: &JValue) -> Option<Value> {
    with_stack(|| match v {
        JValue::Null => Some(Value::Null),
        JValue::Bool(b) => Some(Value::Bool(*b)),
        JValue::Number(n) => Some(number(*n)),
        JValue::String(s) => Some(Value::String(s.to_string())),
        JValue::Array(_) => {
            let items = v.as_array().map(|a| a.as_slice()).unwrap_or(&[]);
            Some(Value::Array(
                items
                    .iter()
                    .map(|item| from_jvalue(item).unwrap_or(Value::Null))
                    .collect(),
            ))
        }
        JValue::Object(_) => {
            let mut out = Map::new();
            if let Some(map) = v.as_object() {
                for (k, item) in map {
                    if let Some(item) = from_jvalue(item) {
                        out.insert(k.clone(), item);
                    }
                }
            }
            Some(Value::Object(out))
        }
        _ => None,
    })
}

/// Integral values become JSON integers (`3`, not `3.0`), as JavaScript
/// prints them; non-finite values, which JSON cannot hold, become `null` as
/// in `JSON.stringify` (JSONata itself rejects them before they get here).
fn number(n: f64) -> Value {
    const MAX_SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE {
        if n == 0.0 {
            return Value::Number(Number::from(0));
        }
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integral_numbers_print_as_integers() {
        assert_eq!(number(3.0).to_string(), "3");
        assert_eq!(number(-0.0).to_string(), "0");
        assert_eq!(number(1.5).to_string(), "1.5");
        assert_eq!(number(1e300).to_string(), "1e+300"); // as JavaScript prints it
        assert_eq!(number(f64::NAN), Value::Null);
    }

    #[test]
    fn round_trip_keeps_key_order() {
        let v = json!({"z": 1, "a": [true, null, "x"], "m": {"b": 2, "a": 1}});
        assert_eq!(from_jvalue(&to_jvalue(&v)), Some(v));
    }
}
