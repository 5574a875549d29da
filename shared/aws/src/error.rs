//! The one error type of the AWS home: configuration, the AWS services, and malformed
//! messages. The engine's ports speak `StoreError`; [`AwsError`] converts into it.

use waymark_engine::ports::StoreError;
use waymark_engine::runner::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A required environment variable is missing or malformed.
    #[error("configuration: {0}")]
    Config(String),
    #[error("DynamoDB {operation}: {detail}")]
    DynamoDb {
        operation: &'static str,
        detail: Detail,
    },
    #[error("SQS {operation}: {detail}")]
    Sqs {
        operation: &'static str,
        detail: Detail,
    },
    #[error("SNS {operation}: {detail}")]
    Sns {
        operation: &'static str,
        detail: Detail,
    },
    /// A stored item or a queued message that does not decode: never produced by this code,
    /// so someone else wrote it, or it was corrupted.
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What a service call came to when it failed: the service's words, and whether the same
/// call may succeed if tried again (throttling, a timeout, a 5xx) or not (a refused request).
#[derive(Debug)]
pub struct Detail {
    pub text: String,
    pub retryable: bool,
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A request this code could not even build, or a reply it did not expect: not worth
/// another try.
impl From<String> for Detail {
    fn from(text: String) -> Detail {
        Detail {
            text,
            retryable: false,
        }
    }
}

impl From<&str> for Detail {
    fn from(text: &str) -> Detail {
        Detail::from(text.to_string())
    }
}

impl From<aws_smithy_types::error::operation::BuildError> for Detail {
    fn from(e: aws_smithy_types::error::operation::BuildError) -> Detail {
        Detail::from(e.to_string())
    }
}

impl AwsError {
    pub(crate) fn dynamodb(operation: &'static str, e: impl Into<Detail>) -> AwsError {
        AwsError::DynamoDb {
            operation,
            detail: e.into(),
        }
    }

    pub(crate) fn sqs(operation: &'static str, e: impl Into<Detail>) -> AwsError {
        AwsError::Sqs {
            operation,
            detail: e.into(),
        }
    }

    pub(crate) fn sns(operation: &'static str, e: impl Into<Detail>) -> AwsError {
        AwsError::Sns {
            operation,
            detail: e.into(),
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            AwsError::DynamoDb { detail, .. }
            | AwsError::Sqs { detail, .. }
            | AwsError::Sns { detail, .. } => detail.retryable,
            AwsError::Engine(e) => e.is_retryable(),
            AwsError::Config(_) | AwsError::Malformed { .. } => false,
        }
    }

    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> AwsError {
        AwsError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<StoreError> for AwsError {
    fn from(e: StoreError) -> AwsError {
        AwsError::Engine(EngineError::Store(e))
    }
}

impl From<AwsError> for StoreError {
    fn from(e: AwsError) -> StoreError {
        match e {
            AwsError::Engine(EngineError::Store(s)) => s,
            other => StoreError::Backend {
                context: "AWS".into(),
                retryable: other.is_retryable(),
                source: Box::new(other),
            },
        }
    }
}

/// The SDK's errors print only their kind; this keeps the service's code and message, and
/// whether trying again may help.
pub(crate) fn sdk_message<E, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Detail
where
    E: std::error::Error
        + aws_smithy_types::error::metadata::ProvideErrorMetadata
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let text = match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => err.to_string(),
            };
            Detail {
                retryable: err.code().is_some_and(retryable_code),
                text,
            }
        }
        SdkError::ConstructionFailure(_) => Detail {
            text: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            retryable: false,
        },
        // Timeouts, connections that failed, replies that did not arrive whole.
        other => Detail {
            text: aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
            retryable: true,
        },
    }
}

/// Error codes of DynamoDB, SQS and SNS that mean "not now" rather than "not this".
fn retryable_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "RequestThrottled"
            | "RequestLimitExceeded"
            | "ProvisionedThroughputExceededException"
            | "TransactionConflictException"
            | "TransactionInProgressException"
            | "InternalServerError"
            | "InternalError"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "KMSThrottlingException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retryable_and_bad_input_is_not() {
        assert!(retryable_code("ProvisionedThroughputExceededException"));
        assert!(retryable_code("ThrottlingException"));
        assert!(!retryable_code("ValidationException"));
        assert!(!retryable_code("ConditionalCheckFailedException"));
        let throttled = AwsError::dynamodb(
            "PutItem",
            Detail {
                text: "slow down".into(),
                retryable: true,
            },
        );
        assert!(StoreError::from(throttled).is_retryable());
        let refused = AwsError::dynamodb("PutItem", "ValidationException: bad key");
        assert!(!StoreError::from(refused).is_retryable());
        assert!(!StoreError::from(AwsError::malformed("item", "no version")).is_retryable());
    }
}
