//! `MessageAttributes` as SNS's Publish and SQS's SendMessage both take them:
//! `{name: {"DataType": …, "StringValue": …, "BinaryValue": base64, …}}`. Read once here, then
//! turned into each SDK's own type.

use base64::Engine;
use serde_json::Value;

use crate::params::{field_str, Params};

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Attribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
    pub string_list_values: Vec<String>,
    pub binary_list_values: Vec<Vec<u8>>,
}

const FIELDS: &[&str] = &[
    "DataType",
    "StringValue",
    "BinaryValue",
    "StringListValues",
    "BinaryListValues",
];

/// The attributes under `field`, in the order written.
pub(crate) fn read(
    p: &Params<'_>,
    field: &str,
) -> Result<Vec<(String, Attribute)>, waymark_asl::Failure> {
    let Some(attrs) = p.object(field)? else {
        return Ok(Vec::new());
    };
    attrs
        .iter()
        .map(|(name, v)| {
            attribute(v, &format!("{field}.{name}"))
                .map(|a| (name.clone(), a))
                .map_err(|reason| p.invalid(reason))
        })
        .collect()
}

fn attribute(v: &Value, path: &str) -> Result<Attribute, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "The value for the field '{path}' must be an OBJECT"
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "The field '{path}.{unknown}' is not supported by Step Functions"
        ));
    }
    let data_type = field_str(obj, "DataType", path)?
        .ok_or_else(|| format!("The field '{path}.DataType' is required but was missing"))?;
    let list = |name: &str| -> Result<Vec<String>, String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    format!("The value for the field '{path}.{name}' must be an ARRAY of STRING")
                }),
            Some(_) => Err(format!(
                "The value for the field '{path}.{name}' must be an ARRAY of STRING"
            )),
        }
    };
    let binary_value = field_str(obj, "BinaryValue", path)?
        .map(|b| decode(b, &format!("{path}.BinaryValue")))
        .transpose()?;
    let binary_list_values = list("BinaryListValues")?
        .iter()
        .map(|b| decode(b, &format!("{path}.BinaryListValues")))
        .collect::<Result<_, _>>()?;
    Ok(Attribute {
        data_type: data_type.to_string(),
        string_value: field_str(obj, "StringValue", path)?.map(str::to_string),
        binary_value,
        string_list_values: list("StringListValues")?,
        binary_list_values,
    })
}

pub(crate) fn decode(b64: &str, path: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("The value for the field '{path}' must be base64: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn attributes_are_read_with_their_binary_values_decoded() {
        let params = json!({"MessageAttributes": {
            "color": {"DataType": "String", "StringValue": "red"},
            "blob": {"DataType": "Binary", "BinaryValue": "aGk="}
        }});
        let p = Params::new(&params, &["MessageAttributes"]).unwrap();
        let attrs = read(&p, "MessageAttributes").unwrap();
        assert_eq!(attrs[0].0, "color");
        assert_eq!(attrs[0].1.string_value.as_deref(), Some("red"));
        assert_eq!(attrs[1].1.binary_value.as_deref(), Some(&b"hi"[..]));

        for bad in [
            json!({"MessageAttributes": {"a": {"StringValue": "x"}}}),
            json!({"MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "***"}}}),
            json!({"MessageAttributes": {"a": {"DataType": "String", "Colour": "x"}}}),
            json!({"MessageAttributes": {"a": "x"}}),
        ] {
            let p = Params::new(&bad, &["MessageAttributes"]).unwrap();
            let f = read(&p, "MessageAttributes").unwrap_err();
            assert_eq!(f.error.as_deref(), Some("States.Runtime"), "{bad}");
        }
    }
}
