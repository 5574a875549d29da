//! The operations, and the one entry point that turns an awsJson1.0 request (the operation
//! named by `X-Amz-Target`, a JSON body) into a response, whatever the transport.

pub mod activities;
pub mod aliases;
pub mod executions;
pub mod history;
pub mod map_runs;
pub mod state_machines;
pub mod tags;
pub mod task_checks;
pub mod tasks;
pub mod test_state;
pub mod versions;

use serde::Serialize;
use serde_json::Value;

use crate::backend::Backend;
use crate::error::ApiError;
use crate::shapes::parse;

/// The `X-Amz-Target` prefix of every Step Functions operation.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The content type of every response.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// AWS's request size limit (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The operations served, in AWS's names.
pub const OPERATIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ListStateMachines",
    "ValidateStateMachineDefinition",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "StopExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "DescribeStateMachineForExecution",
    "RedriveExecution",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "TestState",
    "PublishStateMachineVersion",
    "ListStateMachineVersions",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "DescribeStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "ListStateMachineAliases",
    "CreateActivity",
    "DescribeActivity",
    "DeleteActivity",
    "ListActivities",
    "GetActivityTask",
    "ListMapRuns",
    "DescribeMapRun",
    "UpdateMapRun",
];

/// A response ready for any transport (HTTP, API Gateway, a test).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// JSON text.
    pub body: Vec<u8>,
    /// The error's `__type`, for the `X-Amzn-ErrorType` header and logs; `None` on success.
    pub error_type: Option<&'static str>,
}

impl ApiResponse {
    pub fn ok(body: &Value) -> Self {
        ApiResponse {
            status: 200,
            body: body.to_string().into_bytes(),
            error_type: None,
        }
    }

    pub fn error(e: &ApiError) -> Self {
        ApiResponse {
            status: e.status(),
            body: e.body().to_string().into_bytes(),
            error_type: Some(e.name()),
        }
    }

    /// The body as JSON (for tests and adapters that want a value, not text).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// The operation an `X-Amz-Target` names (`""` when it names none of ours).
pub fn operation_name(target: &str) -> &str {
    target.strip_prefix(TARGET_PREFIX).unwrap_or("")
}

/// Serialises a response shape (which cannot fail for our shapes, but is not unwrapped).
pub(crate) fn respond<T: Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::InternalFailure(format!("response: {e}")))
}

/// Handles one request: `target` is the `X-Amz-Target` header, `body` the raw body.
/// Never panics; every failure is an AWS-shaped error response.
pub async fn handle<B: Backend + ?Sized>(backend: &B, target: &str, body: &[u8]) -> ApiResponse {
    match dispatch(backend, target, body).await {
        Ok(v) => ApiResponse::ok(&v),
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(target: "waymark_api", operation = ?target, error = ?e.to_string(), "request failed");
            }
            ApiResponse::error(&e)
        }
    }
}

async fn dispatch<B: Backend + ?Sized>(
    b: &B,
    target: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(too_large(body.len()));
    }
    let Some(op) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(ApiError::unknown_operation(target));
    };
    // Each operation's future is boxed: unboxed, this one future would be as large as the
    // largest of them (hundreds of KB with the engine's), and tokio moves a spawned future
    // and its output around by copying it, several times per request.
    match op {
        "CreateStateMachine" => Box::pin(state_machines::create(b, parse(body)?)).await,
        "DescribeStateMachine" => Box::pin(state_machines::describe(b, parse(body)?)).await,
        "UpdateStateMachine" => Box::pin(state_machines::update(b, parse(body)?)).await,
        "DeleteStateMachine" => Box::pin(state_machines::delete(b, parse(body)?)).await,
        "ListStateMachines" => Box::pin(state_machines::list(b, parse(body)?)).await,
        "ValidateStateMachineDefinition" => {
            Box::pin(state_machines::validate_definition(b, parse(body)?)).await
        }
        "StartExecution" => Box::pin(executions::start(b, parse(body)?)).await,
        "StartSyncExecution" => Box::pin(executions::start_sync(b, parse(body)?)).await,
        "DescribeExecution" => Box::pin(executions::describe(b, parse(body)?)).await,
        "StopExecution" => Box::pin(executions::stop(b, parse(body)?)).await,
        "ListExecutions" => Box::pin(executions::list(b, parse(body)?)).await,
        "DescribeStateMachineForExecution" => {
            Box::pin(executions::describe_state_machine(b, parse(body)?)).await
        }
        "RedriveExecution" => Box::pin(executions::redrive(b, parse(body)?)).await,
        "GetExecutionHistory" => Box::pin(history::get(b, parse(body)?)).await,
        "SendTaskSuccess" => Box::pin(tasks::success(b, parse(body)?)).await,
        "SendTaskFailure" => Box::pin(tasks::failure(b, parse(body)?)).await,
        "SendTaskHeartbeat" => Box::pin(tasks::heartbeat(b, parse(body)?)).await,
        "TagResource" => Box::pin(tags::tag_resource(b, parse(body)?)).await,
        "UntagResource" => Box::pin(tags::untag_resource(b, parse(body)?)).await,
        "ListTagsForResource" => Box::pin(tags::list_tags(b, parse(body)?)).await,
        "TestState" => Box::pin(test_state::test_state(b, parse(body)?)).await,
        "PublishStateMachineVersion" => Box::pin(versions::publish_version(b, parse(body)?)).await,
        "ListStateMachineVersions" => Box::pin(versions::list_versions(b, parse(body)?)).await,
        "DeleteStateMachineVersion" => Box::pin(versions::delete_version(b, parse(body)?)).await,
        "CreateStateMachineAlias" => Box::pin(aliases::create(b, parse(body)?)).await,
        "DescribeStateMachineAlias" => Box::pin(aliases::describe(b, parse(body)?)).await,
        "UpdateStateMachineAlias" => Box::pin(aliases::update(b, parse(body)?)).await,
        "DeleteStateMachineAlias" => Box::pin(aliases::delete(b, parse(body)?)).await,
        "ListStateMachineAliases" => Box::pin(aliases::list(b, parse(body)?)).await,
        "CreateActivity" => Box::pin(activities::create(b, parse(body)?)).await,
        "DescribeActivity" => Box::pin(activities::describe(b, parse(body)?)).await,
        "DeleteActivity" => Box::pin(activities::delete(b, parse(body)?)).await,
        "ListActivities" => Box::pin(activities::list(b, parse(body)?)).await,
        "GetActivityTask" => Box::pin(activities::get_task(b, parse(body)?)).await,
        "ListMapRuns" => Box::pin(map_runs::list(b, parse(body)?)).await,
        "DescribeMapRun" => Box::pin(map_runs::describe(b, parse(body)?)).await,
        "UpdateMapRun" => Box::pin(map_runs::update(b, parse(body)?)).await,
        other => Err(ApiError::unknown_operation(other)),
    }
}

pub(crate) fn too_large(len: usize) -> ApiError {
    ApiError::RequestEntityTooLarge(format!(
        "The request is {len} bytes; the maximum is {MAX_REQUEST_BYTES} bytes"
    ))
}
