//! DynamoDB's JSON form (`{"S": "x"}`, `{"N": "1"}`, `{"M": {…}}`, …) to and from the SDK's
//! `AttributeValue`. Step Functions' DynamoDB integrations take and return items in this form,
//! not as plain JSON, so workflows written for AWS keep working unchanged.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{Map, Value};

/// Reads one attribute value; `path` names it in the error (`Item.tags`).
pub fn to_attribute_value(v: &Value, path: &str) -> Result<AttributeValue, String> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| {
            format!(
                "'{path}' must be an attribute value: an object with exactly one of S, N, B, BOOL, NULL, M, L, SS, NS, BS"
            )
        })?;
    let Some((tag, inner)) = obj.iter().next() else {
        return Err(format!("'{path}' is empty"));
    };
    let path = format!("{path}.{tag}");
    let string = |v: &Value| -> Result<String, String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("'{path}' must be a string"))
    };
    let number = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            // DynamoDB's JSON writes numbers as strings; a bare JSON number means the same.
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(format!("'{path}' must be a number as a string")),
        }
    };
    let binary = |v: &Value| -> Result<Blob, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("'{path}' must be a base64 string"))?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob::new)
            .map_err(|e| format!("'{path}' must be base64: {e}"))
    };
    let list = inner
        .as_array()
        .ok_or_else(|| format!("'{path}' must be an array"));
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(string(inner)?),
        "N" => AttributeValue::N(number(inner)?),
        "B" => AttributeValue::B(binary(inner)?),
        "BOOL" => AttributeValue::Bool(
            inner
                .as_bool()
                .ok_or_else(|| format!("'{path}' must be a boolean"))?,
        ),
        "NULL" => match inner {
            Value::Bool(true) => AttributeValue::Null(true),
            _ => return Err(format!("'{path}' must be true")),
        },
        "M" => AttributeValue::M(to_attribute_map(inner, &path)?),
        "L" => AttributeValue::L(
            list?
                .iter()
                .enumerate()
                .map(|(i, v)| to_attribute_value(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        "SS" => AttributeValue::Ss(list?.iter().map(string).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list?.iter().map(number).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(list?.iter().map(binary).collect::<Result<_, _>>()?),
        other => {
            return Err(format!(
                "'{path}' has the unknown type '{other}'; the types are S, N, B, BOOL, NULL, M, L, SS, NS, BS"
            ))
        }
    })
}

/// Reads a map of attribute values (an item, a key, `ExpressionAttributeValues`).
pub fn to_attribute_map(v: &Value, path: &str) -> Result<HashMap<String, AttributeValue>, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("'{path}' must be an object of attribute values"))?;
    obj.iter()
        .map(|(k, v)| Ok((k.clone(), to_attribute_value(v, &format!("{path}.{k}"))?)))
        .collect()
}

/// Writes one attribute value in DynamoDB's JSON form. A type newer than this SDK is written
/// as an empty object rather than failing a call that succeeded.
pub fn from_attribute_value(a: &AttributeValue) -> Value {
    let b64 = |b: &Blob| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    let (tag, inner) = match a {
        AttributeValue::S(s) => ("S", Value::String(s.clone())),
        AttributeValue::N(n) => ("N", Value::String(n.clone())),
        AttributeValue::B(b) => ("B", b64(b)),
        AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
        AttributeValue::Null(b) => ("NULL", Value::Bool(*b)),
        AttributeValue::M(m) => ("M", from_attribute_map(m)),
        AttributeValue::L(l) => (
            "L",
            Value::Array(l.iter().map(from_attribute_value).collect()),
        ),
        AttributeValue::Ss(v) => ("SS", strings(v)),
        AttributeValue::Ns(v) => ("NS", strings(v)),
        AttributeValue::Bs(v) => ("BS", Value::Array(v.iter().map(b64).collect())),
        _ => return Value::Object(Map::new()),
    };
    let mut m = Map::new();
    m.insert(tag.to_string(), inner);
    Value::Object(m)
}

/// Writes a map of attribute values, its keys sorted: DynamoDB's maps have no order, and a
/// stable one keeps outputs (and the history) reproducible.
pub fn from_attribute_map(m: &HashMap<String, AttributeValue>) -> Value {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    Value::Object(
        keys.into_iter()
            .filter_map(|k| m.get(k).map(|v| (k.clone(), from_attribute_value(v))))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_type_goes_both_ways() {
        let item = json!({
            "s": {"S": "text"},
            "n": {"N": "12.5"},
            "b": {"B": "aGVsbG8="},
            "t": {"BOOL": true},
            "z": {"NULL": true},
            "m": {"M": {"inner": {"S": "x"}, "list": {"L": [{"N": "1"}, {"S": "two"}]}}},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]},
            "bs": {"BS": ["AQ==", "Ag=="]}
        });
        let map = to_attribute_map(&item, "Item").unwrap();
        assert_eq!(map["s"], AttributeValue::S("text".into()));
        assert_eq!(map["n"], AttributeValue::N("12.5".into()));
        assert_eq!(map["b"], AttributeValue::B(Blob::new(b"hello".to_vec())));
        assert_eq!(map["z"], AttributeValue::Null(true));
        assert_eq!(
            map["bs"],
            AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![2])])
        );
        let back = from_attribute_map(&map);
        assert_eq!(back, item);
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn bare_json_numbers_are_read_as_numbers() {
        assert_eq!(
            to_attribute_value(&json!({"N": 42}), "x").unwrap(),
            AttributeValue::N("42".into())
        );
        assert_eq!(
            to_attribute_value(&json!({"NS": [1, "2"]}), "x").unwrap(),
            AttributeValue::Ns(vec!["1".into(), "2".into()])
        );
    }

    #[test]
    fn malformed_values_are_refused_with_their_path() {
        for (bad, path) in [
            (json!({"S": 1}), "Item.a.S"),
            (json!({"S": "x", "N": "1"}), "Item.a"),
            (json!({}), "Item.a"),
            (json!("plain"), "Item.a"),
            (json!({"X": "1"}), "Item.a.X"),
            (json!({"NULL": false}), "Item.a.NULL"),
            (json!({"B": "***"}), "Item.a.B"),
            (json!({"L": [{"S": "ok"}, {"N": true}]}), "Item.a.L[1].N"),
            (json!({"M": {"k": {"BOOL": "yes"}}}), "Item.a.M.k.BOOL"),
        ] {
            let err = to_attribute_map(&json!({ "a": bad }), "Item").unwrap_err();
            assert!(err.contains(&format!("'{path}'")), "{bad}: {err}");
        }
        assert!(to_attribute_map(&json!([]), "Key").is_err());
    }
}
