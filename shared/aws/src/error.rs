//! The one error type of the AWS home: configuration, the AWS services, and malformed
//! messages. The engine's ports speak `StoreError`; [`AwsError`] converts into it.

use waymark_engine::ports::StoreError;
use waymark_engine::runner::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A required environment variable is missing or malformed.
    #[error("configuration: {0}")]
    Config(String),
    #[error("DynamoDB {operation}: {message}")]
    DynamoDb {
        operation: &'static str,
        message: String,
    },
    #[error("SQS {operation}: {message}")]
    Sqs {
        operation: &'static str,
        message: String,
    },
    #[error("SNS {operation}: {message}")]
    Sns {
        operation: &'static str,
        message: String,
    },
    /// A stored item or a queued message that does not decode: never produced by this code,
    /// so someone else wrote it, or it was corrupted.
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl AwsError {
    pub(crate) fn dynamodb(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
        AwsError::DynamoDb {
            operation,
            message: e.to_string(),
        }
    }

    pub(crate) fn sqs(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
        AwsError::Sqs {
            operation,
            message: e.to_string(),
        }
    }

    pub(crate) fn sns(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
        AwsError::Sns {
            operation,
            message: e.to_string(),
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
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// The SDK's errors print only their kind; this keeps the service's code and message.
pub(crate) fn sdk_message<E, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> String
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
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => err.to_string(),
            }
        }
        other => aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
    }
}
