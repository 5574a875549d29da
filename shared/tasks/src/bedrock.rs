//! The optimised `bedrock:invokeModel` (developer guide, "Invoke and customize Amazon Bedrock
//! models with Step Functions"): `ModelId`, `Body` as JSON (an object is sent as its text),
//! `ContentType` and `Accept` defaulting to `application/json`; the result is
//! `{"Body": <the model's answer parsed as JSON>, "ContentType": ...}`. It calls Bedrock
//! Runtime's InvokeModel through the model-driven caller. The guide's `Input`/`Output`
//! (a body read from or written to S3) are not run here yet and are refused by name.

use serde_json::{Map, Value};
use waymark_asl::error::names;
use waymark_asl::Failure;

pub const ACTIONS: &[&str] = &["invokeModel"];

/// The InvokeModel request for a task's parameters.
pub fn request(params: &Value) -> Result<Value, Failure> {
    let Value::Object(p) = params else {
        return Err(Failure::runtime(
            "bedrock:invokeModel takes an object of parameters",
        ));
    };
    for k in ["Input", "Output"] {
        if p.contains_key(k) {
            return Err(Failure::runtime(format!(
                "Waymark does not read or write Bedrock bodies in Amazon S3 ('{k}') yet; give the 'Body'"
            )));
        }
    }
    let mut out = Map::new();
    for (k, v) in p {
        let v = match (k.as_str(), v) {
            ("Body", Value::String(s)) => Value::String(s.clone()),
            ("Body", other) => Value::String(other.to_string()),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    for k in ["ContentType", "Accept"] {
        out.entry(k.to_string())
            .or_insert_with(|| Value::String("application/json".into()));
    }
    Ok(Value::Object(out))
}

/// The task's result: the body parsed as JSON when it is JSON, else its text.
pub fn result(out: Value) -> Result<Value, Failure> {
    let Value::Object(mut o) = out else {
        return Err(Failure::new(
            names::TASK_FAILED,
            "Bedrock answered without a body",
        ));
    };
    if let Some(Value::String(text)) = o.get("Body") {
        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
            o.insert("Body".into(), parsed);
        }
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_go_as_json_text_and_come_back_parsed() {
        let r = request(&json!({"ModelId": "m", "Body": {"prompt": "hi"}})).unwrap();
        assert_eq!(
            r,
            json!({"ModelId": "m", "Body": "{\"prompt\":\"hi\"}", "ContentType": "application/json", "Accept": "application/json"})
        );
        let out =
            result(json!({"Body": "{\"completion\":\"yo\"}", "ContentType": "application/json"}))
                .unwrap();
        assert_eq!(out["Body"], json!({"completion": "yo"}));
        assert!(
            request(&json!({"ModelId": "m", "Input": {"S3Uri": "s3://b/k"}}))
                .unwrap_err()
                .cause
                .unwrap()
                .contains("S3")
        );
    }
}
