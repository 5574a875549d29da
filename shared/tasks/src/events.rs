//! `arn:aws:states:::events:putEvents`, Step Functions' optimised EventBridge integration. It is
//! EventBridge's PutEvents (sent through the model-driven caller) with the two differences the
//! Step Functions developer guide lists ("Add EventBridge events with Step Functions"):
//! the execution ARN and the state machine ARN are appended to each entry's `Resources`, and a
//! response with a non-zero `FailedEntryCount` fails the task with `EventBridge.FailedEntry`.
//! The guide's own example passes `Detail` as a JSON object; PutEvents takes a string, so an
//! object (or any other non-string value) is sent as its JSON text.

use serde_json::{Map, Value};
use waymark_asl::Failure;

/// The actions of the optimised integration.
pub const ACTIONS: &[&str] = &["putEvents"];

/// The error Step Functions names a response with failed entries.
pub const FAILED_ENTRY: &str = "EventBridge.FailedEntry";

/// The PutEvents request for a task's parameters, run by `execution_arn` of `state_machine_arn`.
pub fn request(
    parameters: &Value,
    execution_arn: &str,
    state_machine_arn: &str,
) -> Result<Value, Failure> {
    let Some(entries) = parameters.get("Entries").and_then(Value::as_array) else {
        return Err(Failure::runtime(
            "events:putEvents needs 'Entries': an array of PutEventsRequestEntry objects",
        ));
    };
    let mut out = parameters.clone();
    let mut sent = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let Value::Object(entry) = entry else {
            return Err(Failure::runtime(format!(
                "events:putEvents: Entries[{i}] is not an object"
            )));
        };
        sent.push(Value::Object(entry_for_call(
            entry,
            execution_arn,
            state_machine_arn,
        )));
    }
    out["Entries"] = Value::Array(sent);
    Ok(out)
}

fn entry_for_call(
    entry: &Map<String, Value>,
    execution_arn: &str,
    state_machine_arn: &str,
) -> Map<String, Value> {
    let mut entry = entry.clone();
    if let Some(detail) = entry.get_mut("Detail") {
        if !detail.is_string() {
            *detail = Value::String(detail.to_string());
        }
    }
    let mut resources = match entry.remove("Resources") {
        Some(Value::Array(r)) => r,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    resources.push(Value::String(execution_arn.to_string()));
    resources.push(Value::String(state_machine_arn.to_string()));
    entry.insert("Resources".into(), Value::Array(resources));
    entry
}

/// The task's result: PutEvents' response, unless an entry failed.
pub fn result(response: Value) -> Result<Value, Failure> {
    let failed = response
        .get("FailedEntryCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if failed > 0 {
        return Err(Failure::new(FAILED_ENTRY, response.to_string()));
    }
    Ok(response)
}

/// The state machine an execution ARN belongs to, for when the task's context does not carry
/// it (`…:execution:NAME:ID` → `…:stateMachine:NAME`).
pub fn state_machine_of(execution_arn: &str) -> String {
    match (
        crate::state_machine_name(execution_arn),
        execution_arn.splitn(6, ':').collect::<Vec<_>>().as_slice(),
    ) {
        (Some(name), [arn, partition, states, region, account, _]) => {
            format!("{arn}:{partition}:{states}:{region}:{account}:stateMachine:{name}")
        }
        _ => execution_arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:Flow:e1";
    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Flow";

    #[test]
    fn entries_get_the_execution_and_machine_and_a_detail_text() {
        let params = json!({"Entries": [
            {"Detail": {"Message": "hi"}, "DetailType": "T", "Source": "my.source"},
            {"Detail": "{\"a\":1}", "Resources": ["arn:x"], "Source": "s", "DetailType": "T"}
        ]});
        let sent = request(&params, EXECUTION, MACHINE).unwrap();
        assert_eq!(sent["Entries"][0]["Detail"], "{\"Message\":\"hi\"}");
        assert_eq!(sent["Entries"][0]["Resources"], json!([EXECUTION, MACHINE]));
        assert_eq!(sent["Entries"][1]["Detail"], "{\"a\":1}");
        assert_eq!(
            sent["Entries"][1]["Resources"],
            json!(["arn:x", EXECUTION, MACHINE])
        );
        for bad in [json!({}), json!({"Entries": {}}), json!({"Entries": [1]})] {
            let f = request(&bad, EXECUTION, MACHINE).unwrap_err();
            assert_eq!(f.error.as_deref(), Some("States.Runtime"));
        }
    }

    #[test]
    fn failed_entries_fail_the_task() {
        let ok = json!({"Entries": [{"EventId": "1"}], "FailedEntryCount": 0});
        assert_eq!(result(ok.clone()).unwrap(), ok);
        let bad = json!({"Entries": [{"ErrorCode": "InvalidArgument", "ErrorMessage": "no"}], "FailedEntryCount": 1});
        let f = result(bad).unwrap_err();
        assert_eq!(f.error.as_deref(), Some(FAILED_ENTRY));
        assert!(f.cause.unwrap().contains("InvalidArgument"));
    }

    #[test]
    fn the_machine_comes_from_the_execution_arn() {
        assert_eq!(state_machine_of(EXECUTION), MACHINE);
        assert_eq!(
            state_machine_of("arn:aws:states:us-east-1:1:express:Flow:e1:x"),
            "arn:aws:states:us-east-1:1:stateMachine:Flow"
        );
    }
}
