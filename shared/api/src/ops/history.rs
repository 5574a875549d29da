//! GetExecutionHistory: pages of the events the engine recorded, already in AWS's shape,
//! oldest or newest first, with or without the execution data inside them.

use serde_json::{json, Value};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::execution_arn;
use crate::pages;
use crate::shapes::{check_len, page_size, required, GetExecutionHistoryInput};

/// The members of event details that carry execution data (`includeExecutionData: false`).
const DATA_MEMBERS: [&str; 4] = ["input", "inputDetails", "output", "outputDetails"];

/// Removes input and output from every `…EventDetails` of an event.
pub fn strip_execution_data(event: &mut Value) {
    if let Value::Object(members) = event {
        for (key, details) in members.iter_mut() {
            if !key.ends_with("EventDetails") {
                continue;
            }
            if let Value::Object(d) = details {
                for m in DATA_MEMBERS {
                    d.remove(m);
                }
            }
        }
    }
}

pub async fn get<B: Backend + ?Sized>(
    b: &B,
    req: GetExecutionHistoryInput,
) -> Result<Value, ApiError> {
    let arn = required("executionArn", req.execution_arn)?;
    check_len("executionArn", &arn, 1, 2000)?;
    let max = page_size(req.max_results, 1000, 100)?;
    let reverse = req.reverse_order.unwrap_or(false);
    let with_data = req.include_execution_data.unwrap_or(true);
    execution_arn(&arn)?;
    let scope = format!("GetExecutionHistory|{arn}|{reverse}");
    let token = pages::decode_opt(&scope, req.next_token.as_deref())?;
    let child = waymark_engine::map_children::is_child_arn(&arn);
    if child {
        if b.map_child(&arn).await?.is_none() {
            return Err(ApiError::execution_does_not_exist(&arn));
        }
    } else if b.execution(&arn).await?.is_none() {
        return Err(ApiError::execution_does_not_exist(&arn));
    }
    let page = b.history_page(&arn, reverse, max, token.as_deref()).await?;
    if child && page.items.is_empty() && token.is_none() {
        // Every history starts with ExecutionStarted: none means none was kept.
        return Err(ApiError::ValidationException(format!(
            "No history is kept for {arn}: a distributed Map's EXPRESS child executions have \
             none (on AWS their events go to CloudWatch Logs), nor do children that ran before \
             Waymark kept them. DescribeExecution gives its input, output and status, and the \
             parent execution's history its Map Run"
        )));
    }
    let mut events = Vec::with_capacity(page.items.len());
    for e in &page.items {
        let mut v = serde_json::to_value(e)
            .map_err(|e| ApiError::InternalFailure(format!("history event: {e}")))?;
        if !with_data {
            strip_execution_data(&mut v);
        }
        events.push(v);
    }
    let mut out = json!({ "events": events });
    if let Some(t) = page.next_token {
        out["nextToken"] = Value::String(pages::encode(&scope, &t));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_data_members() {
        let mut e = json!({
            "type": "PassStateEntered", "id": 2, "previousEventId": 1,
            "stateEnteredEventDetails": {"name": "P", "input": "{}", "inputDetails": {"truncated": false}}
        });
        strip_execution_data(&mut e);
        assert_eq!(e["stateEnteredEventDetails"], json!({"name": "P"}));
        assert_eq!(e["type"], "PassStateEntered");
    }
}
