//! Conversion between `serde_json` values (this crate's API) and the
//! evaluator's own value type, following what `JSON.stringify` does with a
//! jsonata-js result, since that is how Step Functions turns one into JSON.

use jsonata_core::value::{with_stack, JValue};
use serde_json::{Map, Number, Value};

use crate::{ErrorKind, JsonataError, Limits};

/// The JSON form of a result, after checking that it fits `limits`: a value
/// that shares parts of itself can be far larger once written out than in
/// memory, and one nested too deep could not be read back as JSON text.
pub(crate) fn checked(v: &JValue, limits: &Limits) -> Result<Option<Value>, JsonataError> {
    if let Some(max) = limits.max_value_bytes {
        if crate::guard::size(v, max) > max {
            return Err(JsonataError::new(
                ErrorKind::Limit,
                Some(crate::guard::CODE),
                format!("The result is larger than {max} bytes, the limit for one value"),
            ));
        }
    }
    if let Some(max) = limits.max_result_depth {
        if too_deep(v, max) {
            return Err(JsonataError::new(
                ErrorKind::Limit,
                Some(crate::guard::CODE),
                format!("The result nests arrays and objects more than {max} deep"),
            ));
        }
    }
    Ok(from_jvalue(v))
}

/// Whether arrays and objects nest more than `max` deep in `v`, found without recursion and
/// without looking further down than `max`.
fn too_deep(v: &JValue, max: usize) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        let items: Vec<&JValue> = match v {
            JValue::Array(_) => v.as_array().map_or(Vec::new(), |a| a.iter().collect()),
            JValue::Object(_) => v.as_object().map_or(Vec::new(), |m| m.values().collect()),
            _ => continue,
        };
        if d + 1 > max {
            return true;
        }
        stack.extend(items.into_iter().map(|x| (x, d + 1)));
    }
    false
}

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
    fn results_too_large_or_too_deep_are_refused() {
        let limits = Limits {
            max_value_bytes: Some(100),
            max_result_depth: Some(3),
            ..Limits::default()
        };
        let ok = to_jvalue(&json!({"a": [[1]], "b": "x"}));
        assert_eq!(
            checked(&ok, &limits),
            Ok(Some(json!({"a": [[1]], "b": "x"})))
        );
        let deep = to_jvalue(&json!({"a": [[[1]]]}));
        let e = checked(&deep, &limits).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorKind::Limit,
                "The result nests arrays and objects more than 3 deep"
            )
        );
        let big = to_jvalue(&json!(["x".repeat(200)]));
        assert!(checked(&big, &limits)
            .unwrap_err()
            .message
            .contains("larger than 100 bytes"));
    }

    #[test]
    fn round_trip_keeps_key_order() {
        let v = json!({"z": 1, "a": [true, null, "x"], "m": {"b": 2, "a": 1}});
        assert_eq!(from_jvalue(&to_jvalue(&v)), Some(v));
    }
}
