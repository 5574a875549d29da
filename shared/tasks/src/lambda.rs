//! Lambda's Invoke, the two ways a Task calls it: the optimized integration
//! (`arn:aws:states:::lambda:invoke`), whose Parameters are the Invoke request and whose result
//! is the Invoke response with the payload parsed; and the legacy function ARN as Resource,
//! whose input is the payload and whose result is the function's own result.
//!
//! A function that raises fails the task with its `errorType` as the error (`Lambda.Unknown`
//! when the runtime reported none, as for a crash or a timeout) and the error payload as the
//! cause, which is what Step Functions does; a refused call fails with `Lambda.<Exception>`.

use std::time::Duration;

use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use serde_json::{Map, Value};
use waymark_asl::Failure;

use crate::errors::LAMBDA;
use crate::metadata::HttpCapture;
use crate::params::Params;

const INVOKE_FIELDS: &[&str] = &[
    "FunctionName",
    "Payload",
    "InvocationType",
    "Qualifier",
    "ClientContext",
    "LogType",
];

/// An Invoke request, whichever way the Task wrote it.
#[derive(Debug, Default)]
struct Invoke<'a> {
    function_name: &'a str,
    payload: Option<Vec<u8>>,
    invocation_type: Option<&'a str>,
    qualifier: Option<&'a str>,
    client_context: Option<&'a str>,
    log_type: Option<&'a str>,
}

/// `arn:aws:states:::lambda:invoke`: the result has the shape of Step Functions' (the Invoke
/// response, `Payload` parsed when it is JSON, and the SDK's HTTP metadata).
pub(crate) async fn invoke(
    client: &aws_sdk_lambda::Client,
    parameters: &Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    let p = Params::new(parameters, INVOKE_FIELDS)?;
    let request = Invoke {
        function_name: p.required_str("FunctionName")?,
        payload: p.get("Payload").map(|v| v.to_string().into_bytes()),
        invocation_type: p.str("InvocationType")?,
        qualifier: p.str("Qualifier")?,
        client_context: p.str("ClientContext")?,
        log_type: p.str("LogType")?,
    };
    let (out, http) = call(client, request, timeout).await?;
    let mut result = Map::new();
    if let Some(v) = out.executed_version() {
        result.insert("ExecutedVersion".into(), Value::String(v.to_string()));
    }
    if let Some(log) = out.log_result() {
        result.insert("LogResult".into(), Value::String(log.to_string()));
    }
    result.insert(
        "Payload".into(),
        parse_payload(out.payload().map(Blob::as_ref).unwrap_or_default())
            .unwrap_or_else(|| Value::String(String::new())),
    );
    http.add_metadata(&mut result, out.request_id());
    result.insert("StatusCode".into(), Value::from(out.status_code()));
    Ok(Value::Object(result))
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the input is the payload and the
/// result is the function's (`null` when it returned nothing).
pub(crate) async fn invoke_function(
    client: &aws_sdk_lambda::Client,
    function_arn: &str,
    input: &Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    let request = Invoke {
        function_name: function_arn,
        payload: Some(input.to_string().into_bytes()),
        ..Invoke::default()
    };
    let (out, _) = call(client, request, timeout).await?;
    Ok(parse_payload(out.payload().map(Blob::as_ref).unwrap_or_default()).unwrap_or(Value::Null))
}

async fn call(
    client: &aws_sdk_lambda::Client,
    request: Invoke<'_>,
    timeout: Option<Duration>,
) -> Result<(InvokeOutput, HttpCapture), Failure> {
    let http = HttpCapture::default();
    let mut op = client
        .invoke()
        .function_name(request.function_name)
        .set_payload(request.payload.map(Blob::new))
        .set_invocation_type(request.invocation_type.map(InvocationType::from))
        .set_qualifier(request.qualifier.map(str::to_string))
        .set_client_context(request.client_context.map(str::to_string))
        .set_log_type(request.log_type.map(LogType::from))
        .customize()
        .interceptor(http.clone());
    if let Some(t) = timeout {
        op = op.config_override(
            aws_sdk_lambda::Config::builder()
                .timeout_config(TimeoutConfig::builder().operation_timeout(t).build()),
        );
    }
    let out = op.send().await.map_err(|e| LAMBDA.sdk_failure(&e, &http))?;
    if out.function_error().is_some() {
        return Err(function_failure(
            out.payload().map(Blob::as_ref).unwrap_or_default(),
        ));
    }
    Ok((out, http))
}

/// The payload as JSON when it is JSON, as text otherwise; `None` when there is none (an
/// asynchronous or dry-run invocation).
fn parse_payload(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

/// A function error (the `X-Amz-Function-Error` header): the payload is the runtime's error
/// object, `{"errorType": …, "errorMessage": …, "trace": […]}`.
fn function_failure(payload: &[u8]) -> Failure {
    let error = serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|v| v.get("errorType")?.as_str().map(str::to_string))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| LAMBDA.error("Unknown"));
    Failure::new(error, String::from_utf8_lossy(payload))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn function_errors_are_named_by_their_error_type() {
        let payload = br#"{"errorMessage":"no stock","errorType":"OutOfStock","trace":[]}"#;
        let f = function_failure(payload);
        assert_eq!(f.error.as_deref(), Some("OutOfStock"));
        assert_eq!(
            f.cause.as_deref(),
            Some(std::str::from_utf8(payload).unwrap())
        );
        let f = function_failure(br#"{"errorMessage":"Task timed out after 3.00 seconds"}"#);
        assert_eq!(f.error.as_deref(), Some("Lambda.Unknown"));
        assert_eq!(
            function_failure(b"").error.as_deref(),
            Some("Lambda.Unknown")
        );
    }

    #[test]
    fn payloads_are_parsed_when_they_are_json() {
        assert_eq!(parse_payload(br#"{"a":1}"#), Some(json!({"a": 1})));
        assert_eq!(parse_payload(b"plain"), Some(json!("plain")));
        assert_eq!(parse_payload(b""), None);
    }
}
