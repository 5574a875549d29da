//! The API's one error type: every failure a request can meet, under the name AWS's SDKs parse
//! from `__type`, with AWS's HTTP status and the wording of AWS's messages.

use serde_json::{json, Value};
use waymark_engine::ports::StoreError;
use waymark_engine::runner::EngineError;

/// A failed request. The variant is the `__type` an SDK turns into its modelled exception, so
/// callers match on it exactly as they would against AWS; the text is the `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    StateMachineDoesNotExist(String),
    #[error("{0}")]
    StateMachineAlreadyExists(String),
    #[error("{0}")]
    StateMachineTypeNotSupported(String),
    #[error("{0}")]
    ExecutionDoesNotExist(String),
    #[error("{0}")]
    ExecutionAlreadyExists(String),
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    #[error("{0}")]
    InvalidDefinition(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    InvalidExecutionInput(String),
    #[error("{0}")]
    InvalidOutput(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    TaskDoesNotExist(String),
    #[error("{0}")]
    TaskTimedOut(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ActivityDoesNotExist(String),
    #[error("{0}")]
    ServiceQuotaExceeded(String),
    #[error("{message}")]
    TooManyTags {
        message: String,
        resource_name: String,
    },
    #[error("{0}")]
    MissingRequiredParameter(String),
    #[error("{0}")]
    ValidationException(String),
    /// The body is not JSON, or a field has the wrong JSON type.
    #[error("{0}")]
    SerializationException(String),
    /// No such operation, or one this service does not implement.
    #[error("{0}")]
    UnknownOperationException(String),
    /// The body is over AWS's 1 MiB request limit.
    #[error("{0}")]
    RequestEntityTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body did not arrive within the server's deadline.
    #[error("{0}")]
    RequestTimeout(String),
    /// Anything that is the service's fault, not the caller's: SDKs retry these.
    #[error("{0}")]
    InternalFailure(String),
}

impl ApiError {
    /// The `__type` of the error body.
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            ApiError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            ApiError::StateMachineTypeNotSupported(_) => "StateMachineTypeNotSupported",
            ApiError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            ApiError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            ApiError::ExecutionNotRedrivable(_) => "ExecutionNotRedrivable",
            ApiError::InvalidDefinition(_) => "InvalidDefinition",
            ApiError::InvalidName(_) => "InvalidName",
            ApiError::InvalidArn(_) => "InvalidArn",
            ApiError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            ApiError::InvalidOutput(_) => "InvalidOutput",
            ApiError::InvalidToken(_) => "InvalidToken",
            ApiError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            ApiError::TaskTimedOut(_) => "TaskTimedOut",
            ApiError::ResourceNotFound(_) => "ResourceNotFound",
            ApiError::Conflict(_) => "ConflictException",
            ApiError::ActivityDoesNotExist(_) => "ActivityDoesNotExist",
            ApiError::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            ApiError::TooManyTags { .. } => "TooManyTags",
            ApiError::MissingRequiredParameter(_) => "MissingRequiredParameter",
            ApiError::ValidationException(_) => "ValidationException",
            ApiError::SerializationException(_) => "SerializationException",
            ApiError::UnknownOperationException(_) => "UnknownOperationException",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLargeException",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaTypeException",
            ApiError::RequestTimeout(_) => "RequestTimeoutException",
            ApiError::InternalFailure(_) => "InternalFailure",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::InternalFailure(_) => 500,
            ApiError::RequestEntityTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::RequestTimeout(_) => 408,
            _ => 400,
        }
    }

    /// The awsJson error body: `{"__type": …, "message": …}` and any modelled extra member.
    pub fn body(&self) -> Value {
        let mut body = json!({"__type": self.name(), "message": self.to_string()});
        if let ApiError::TooManyTags { resource_name, .. } = self {
            body["resourceName"] = Value::String(resource_name.clone());
        }
        body
    }

    pub fn state_machine_does_not_exist(arn: &str) -> Self {
        ApiError::StateMachineDoesNotExist(format!("State Machine Does Not Exist: '{arn}'"))
    }

    pub fn execution_does_not_exist(arn: &str) -> Self {
        ApiError::ExecutionDoesNotExist(format!("Execution Does Not Exist: '{arn}'"))
    }

    pub fn execution_already_exists(arn: &str) -> Self {
        ApiError::ExecutionAlreadyExists(format!("Execution Already Exists: '{arn}'"))
    }

    pub fn invalid_arn(detail: impl std::fmt::Display) -> Self {
        ApiError::InvalidArn(format!("Invalid Arn: '{detail}'"))
    }

    pub fn invalid_name(name: &str) -> Self {
        ApiError::InvalidName(format!("Invalid Name: '{name}'"))
    }

    pub fn invalid_token(detail: impl std::fmt::Display) -> Self {
        ApiError::InvalidToken(format!("Invalid Token: '{detail}'"))
    }

    pub fn invalid_input(detail: impl std::fmt::Display) -> Self {
        ApiError::InvalidExecutionInput(format!(
            "Invalid State Machine Execution Input: '{detail}'"
        ))
    }

    pub fn invalid_output(detail: impl std::fmt::Display) -> Self {
        ApiError::InvalidOutput(format!("Invalid Output: '{detail}'"))
    }

    pub fn resource_not_found(arn: &str) -> Self {
        ApiError::ResourceNotFound(format!("Resource not found: '{arn}'"))
    }

    /// The wording of AWS's request validation (one constraint broken).
    pub fn validation(field: &str, value: impl std::fmt::Display, constraint: &str) -> Self {
        ApiError::ValidationException(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    pub fn missing(field: &str) -> Self {
        ApiError::ValidationException(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }

    pub fn unknown_operation(operation: &str) -> Self {
        ApiError::UnknownOperationException(if operation.is_empty() {
            "No operation was named: send the header X-Amz-Target: AWSStepFunctions.<Operation>"
                .to_string()
        } else {
            format!("Operation '{operation}' is not supported by Waymark's Step Functions API")
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // A token that passed the API's own check but not the store's: forged.
            StoreError::InvalidPageToken(_) => ApiError::invalid_token("Invalid pagination token"),
            e => ApiError::InternalFailure(e.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        #[allow(unreachable_patterns)]
        // the engine may grow variants; they are internal until mapped
        match e {
            EngineError::ExecutionDoesNotExist(arn) => ApiError::execution_does_not_exist(&arn),
            EngineError::StateMachineDoesNotExist(arn) => {
                ApiError::state_machine_does_not_exist(&arn)
            }
            EngineError::ExecutionAlreadyExists(arn) => ApiError::execution_already_exists(&arn),
            EngineError::InvalidExecutionInput(detail) => ApiError::invalid_input(detail),
            EngineError::ExecutionNotRedrivable(detail) => ApiError::ExecutionNotRedrivable(detail),
            EngineError::TaskDoesNotExist => ApiError::TaskDoesNotExist(
                "Task Does Not Exist: 'Provided task does not exist'".into(),
            ),
            EngineError::TaskTimedOut => ApiError::TaskTimedOut(
                "Task Timed Out: 'Provided task does not exist anymore'".into(),
            ),
            EngineError::Store(e) => e.into(),
            other => ApiError::InternalFailure(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_aws_shape() {
        let e = ApiError::state_machine_does_not_exist("arn:x");
        assert_eq!(
            e.body(),
            json!({"__type": "StateMachineDoesNotExist", "message": "State Machine Does Not Exist: 'arn:x'"})
        );
        assert_eq!(e.status(), 400);
        assert_eq!(ApiError::InternalFailure("x".into()).status(), 500);
    }

    #[test]
    fn too_many_tags_names_the_resource() {
        let e = ApiError::TooManyTags {
            message: "Too many tags".into(),
            resource_name: "arn:sm".into(),
        };
        assert_eq!(e.body()["resourceName"], "arn:sm");
    }

    #[test]
    fn engine_errors_map_to_aws_names() {
        let cases = [
            (EngineError::TaskTimedOut, "TaskTimedOut"),
            (EngineError::TaskDoesNotExist, "TaskDoesNotExist"),
            (
                EngineError::ExecutionNotRedrivable("no".into()),
                "ExecutionNotRedrivable",
            ),
            (
                EngineError::Store(StoreError::transient("disk", "full")),
                "InternalFailure",
            ),
            (
                EngineError::Store(StoreError::InvalidPageToken("x".into())),
                "InvalidToken",
            ),
        ];
        for (engine, name) in cases {
            assert_eq!(ApiError::from(engine).name(), name);
        }
    }
}
