//! The request and response shapes of the Step Functions API as they travel in awsJson1.0:
//! camelCase members, absent optional members left out (never `null`), timestamps as epoch
//! seconds with milliseconds. Requests are read leniently (unknown members ignored, as AWS
//! does) but strictly typed: a member of the wrong JSON type is a `SerializationException`,
//! a missing or out-of-range one a `ValidationException`.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// Reads a request body. An empty body is an empty request, as some clients send for
/// operations without required members.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::SerializationException(format!("The body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::SerializationException(
            "The body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| ApiError::SerializationException(e.to_string()))
}

/// awsJson timestamps: seconds since the epoch, with milliseconds.
pub fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

pub fn required<T>(field: &str, v: Option<T>) -> Result<T, ApiError> {
    v.ok_or_else(|| ApiError::missing(field))
}

/// AWS's length constraints, counted in characters.
pub fn check_len(field: &str, v: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = v.chars().count();
    if n < min {
        return Err(ApiError::validation(
            field,
            v,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        let shown: String = v.chars().take(64).collect();
        return Err(ApiError::validation(
            field,
            shown,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// `maxResults`: 0 or absent means the default; above `max` is a validation error.
pub fn page_size(v: Option<i64>, max: i64, default: usize) -> Result<usize, ApiError> {
    match v {
        None | Some(0) => Ok(default),
        Some(n) if n < 0 => Err(ApiError::validation(
            "maxResults",
            n,
            "Member must have value greater than or equal to 0",
        )),
        Some(n) if n > max => Err(ApiError::validation(
            "maxResults",
            n,
            &format!("Member must have value less than or equal to {max}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

/// One of an enum's values, or AWS's validation error listing them.
pub fn one_of<'a>(field: &str, v: &str, allowed: &[&'a str]) -> Result<&'a str, ApiError> {
    allowed.iter().copied().find(|a| *a == v).ok_or_else(|| {
        ApiError::validation(
            field,
            v,
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        )
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

// ---- requests ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateStateMachineInput {
    pub name: Option<String>,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    #[serde(rename = "type")]
    pub machine_type: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub encryption_configuration: Option<Value>,
    pub tags: Option<Vec<Tag>>,
    pub publish: Option<bool>,
    pub version_description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StateMachineArnInput {
    pub state_machine_arn: Option<String>,
    pub included_data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateStateMachineInput {
    pub state_machine_arn: Option<String>,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub encryption_configuration: Option<Value>,
    pub publish: Option<bool>,
    pub version_description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListInput {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidateInput {
    pub definition: Option<String>,
    #[serde(rename = "type")]
    pub machine_type: Option<String>,
    pub severity: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartExecutionInput {
    pub state_machine_arn: Option<String>,
    pub name: Option<String>,
    pub input: Option<String>,
    pub trace_header: Option<String>,
    pub included_data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionArnInput {
    pub execution_arn: Option<String>,
    pub included_data: Option<String>,
    pub client_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StopExecutionInput {
    pub execution_arn: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListExecutionsInput {
    pub state_machine_arn: Option<String>,
    pub status_filter: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub map_run_arn: Option<String>,
    pub redrive_filter: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetExecutionHistoryInput {
    pub execution_arn: Option<String>,
    pub max_results: Option<i64>,
    pub reverse_order: Option<bool>,
    pub next_token: Option<String>,
    pub include_execution_data: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SendTaskInput {
    pub task_token: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TagResourceInput {
    pub resource_arn: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub tag_keys: Option<Vec<String>>,
}

// ---- responses ----

/// Whether input or output is in the response (`CloudWatchEventsExecutionDataDetails`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Included {
    pub included: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingConfiguration {
    pub level: &'static str,
    pub include_execution_data: bool,
}

impl LoggingConfiguration {
    /// What AWS reports for a state machine created without logging.
    pub const OFF: LoggingConfiguration = LoggingConfiguration {
        level: "OFF",
        include_execution_data: false,
    };
}

#[derive(Debug, Serialize)]
pub struct TracingConfiguration {
    pub enabled: bool,
}

#[derive(Debug, Serialize)]
pub struct EncryptionConfiguration {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// AWS-owned keys: what AWS reports when no customer key was configured.
pub const AWS_OWNED_KEY: EncryptionConfiguration = EncryptionConfiguration {
    kind: "AWS_OWNED_KEY",
};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineOutput {
    pub state_machine_arn: String,
    pub name: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    pub role_arn: String,
    #[serde(rename = "type")]
    pub machine_type: &'static str,
    pub creation_date: f64,
    pub logging_configuration: LoggingConfiguration,
    pub tracing_configuration: TracingConfiguration,
    pub revision_id: String,
    pub encryption_configuration: EncryptionConfiguration,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineForExecutionOutput {
    pub state_machine_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    pub role_arn: String,
    pub update_date: f64,
    pub logging_configuration: LoggingConfiguration,
    pub tracing_configuration: TracingConfiguration,
    pub revision_id: String,
    pub encryption_configuration: EncryptionConfiguration,
    /// A distributed Map's child: the run that started it, and the label it runs under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineListItem {
    pub state_machine_arn: String,
    pub name: String,
    #[serde(rename = "type")]
    pub machine_type: &'static str,
    pub creation_date: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecutionOutput {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: &'static str,
    pub start_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_details: Option<Included>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<Included>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub redrive_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<f64>,
    pub redrive_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_alias_arn: Option<String>,
    /// A distributed Map's child: the run that started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionListItem {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: &'static str,
    pub start_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<f64>,
    pub redrive_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingDetails {
    #[serde(rename = "billedMemoryUsedInMB")]
    pub billed_memory_used_in_mb: u64,
    pub billed_duration_in_milliseconds: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartSyncExecutionOutput {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub start_date: f64,
    pub stop_date: f64,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_details: Option<Included>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<Included>,
    pub billing_details: BillingDetails,
}

#[derive(Debug, Serialize)]
pub struct Diagnostic {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_leniently_but_typed() {
        let ok: ListInput = parse(br#"{"maxResults": 5, "unknown": true}"#).unwrap();
        assert_eq!(ok.max_results, Some(5));
        let empty: ListInput = parse(b"").unwrap();
        assert_eq!(empty.max_results, None);
        let nulls: ListInput = parse(br#"{"nextToken": null}"#).unwrap();
        assert_eq!(nulls.next_token, None);
        for bad in [
            &br#"{"maxResults": "5"}"#[..],
            b"[1]",
            b"not json",
            b"{\"a\":",
        ] {
            let err = parse::<ListInput>(bad).unwrap_err();
            assert_eq!(err.name(), "SerializationException");
        }
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(None, 1000, 100).unwrap(), 100);
        assert_eq!(page_size(Some(0), 1000, 100).unwrap(), 100);
        assert_eq!(page_size(Some(7), 1000, 100).unwrap(), 7);
        assert_eq!(
            page_size(Some(1001), 1000, 100).unwrap_err().name(),
            "ValidationException"
        );
        assert!(page_size(Some(-1), 1000, 100).is_err());
    }

    #[test]
    fn epoch_has_milliseconds() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        assert_eq!(epoch(t), 1_700_000_000.123);
    }
}
