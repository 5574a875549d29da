//! Reading an integration's Parameters (already evaluated by the engine) into the fields of an
//! API call. Step Functions refuses Parameters it cannot use with `States.Runtime` and the cause
//! "The Parameters '…' could not be used to start the Task: […]"; so do we, rather than sending
//! a call the service would refuse less clearly, or silently dropping a misspelt field.

use serde_json::{Map, Value};
use waymark_asl::Failure;

pub(crate) struct Params<'a> {
    raw: &'a Value,
    fields: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    /// `allowed`: the fields the integration knows; any other is refused.
    pub(crate) fn new(raw: &'a Value, allowed: &[&str]) -> Result<Params<'a>, Failure> {
        let Some(fields) = raw.as_object() else {
            return Err(invalid(raw, "The Parameters must be a JSON object"));
        };
        let p = Params { raw, fields };
        if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(p.invalid(format!(
                "The field '{unknown}' is not supported by Step Functions"
            )));
        }
        Ok(p)
    }

    pub(crate) fn invalid(&self, reason: impl AsRef<str>) -> Failure {
        invalid(self.raw, reason.as_ref())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn required(&self, name: &str) -> Result<&'a Value, Failure> {
        self.get(name)
            .ok_or_else(|| self.invalid(format!("The field '{name}' is required but was missing")))
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<&'a str>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(name, "STRING")),
        }
    }

    pub(crate) fn required_str(&self, name: &str) -> Result<&'a str, Failure> {
        self.required(name)?;
        self.str(name)?
            .ok_or_else(|| self.wrong_type(name, "STRING"))
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(name, "BOOLEAN")),
        }
    }

    pub(crate) fn i32(&self, name: &str) -> Result<Option<i32>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong_type(name, "INTEGER")),
        }
    }

    pub(crate) fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.wrong_type(name, "OBJECT")),
        }
    }

    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.wrong_type(name, "ARRAY of STRING")),
            Some(_) => Err(self.wrong_type(name, "ARRAY of STRING")),
        }
    }

    /// A text field that Step Functions also accepts as JSON: an object or array (or number)
    /// is sent as its JSON text, as for `Message` and `MessageBody`.
    pub(crate) fn text_or_json(&self, name: &str) -> Result<Option<String>, Failure> {
        Ok(self.get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }

    pub(crate) fn wrong_type(&self, name: &str, expected: &str) -> Failure {
        self.invalid(format!(
            "The value for the field '{name}' must be a {expected}"
        ))
    }
}

fn invalid(raw: &Value, reason: &str) -> Failure {
    Failure::runtime(format!(
        "The Parameters '{raw}' could not be used to start the Task: [{reason}]"
    ))
}

/// Nested structures (message attributes, DynamoDB maps) are read with the same messages; the
/// name carries the path (`MessageAttributes.color.DataType`).
pub(crate) fn field_str<'v>(
    obj: &'v Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'v str>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!(
            "The value for the field '{path}.{name}' must be a STRING"
        )),
    }
}
