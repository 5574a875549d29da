//! How a failed SDK call becomes a task failure with the names Step Functions gives them:
//! `<Service>.<ExceptionName>` for what the service answered (`Lambda.ResourceNotFoundException`,
//! `DynamoDB.ConditionalCheckFailedException`), `<Service>.SdkClientException` when no answer
//! came (connection refused, unreadable response) and
//! `<Service>.ClientExecutionTimeoutException` when it came too late. None of these is
//! terminal, so `States.ALL` and `States.TaskFailed` catch them and Retry can try again; the
//! cause names the endpoint, since a wrong endpoint is the usual reason locally.

use std::error::Error;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use waymark_asl::Failure;

use crate::metadata::HttpCapture;

/// A service as Step Functions names it in errors and causes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    /// The prefix of error names: `Lambda`, `SNS`, `SQS`, `DynamoDB`.
    pub prefix: &'static str,
    /// The name in causes, as AWS's Java SDK reports it: `AWSLambda`, `AmazonSNS`, ….
    pub sdk_name: &'static str,
    /// The exception AWS's Java SDK raises for an error code it does not know.
    pub generic_exception: &'static str,
}

pub(crate) const LAMBDA: Service = Service {
    prefix: "Lambda",
    sdk_name: "AWSLambda",
    generic_exception: "AWSLambdaException",
};
pub(crate) const SNS: Service = Service {
    prefix: "SNS",
    sdk_name: "AmazonSNS",
    generic_exception: "AmazonSNSException",
};
pub(crate) const SQS: Service = Service {
    prefix: "SQS",
    sdk_name: "AmazonSQS",
    generic_exception: "AmazonSQSException",
};
pub(crate) const DYNAMODB: Service = Service {
    prefix: "DynamoDB",
    sdk_name: "AmazonDynamoDBv2",
    generic_exception: "AmazonDynamoDBException",
};

impl Service {
    pub(crate) fn error(self, exception: &str) -> String {
        format!("{}.{exception}", self.prefix)
    }

    /// The failure for a call that did not succeed.
    pub(crate) fn sdk_failure<E>(
        self,
        err: &SdkError<E, HttpResponse>,
        http: &HttpCapture,
    ) -> Failure
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        let endpoint = http
            .url()
            .unwrap_or_else(|| "(the endpoint could not be resolved)".to_string());
        match err {
            SdkError::ServiceError(ctx) => {
                let e = ctx.err();
                let status = ctx.raw().status().as_u16();
                let code = e
                    .code()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(self.generic_exception);
                let exception = self.exception_name(e);
                let message = e.message().unwrap_or("");
                let request_id = e
                    .meta()
                    .extra("aws_request_id")
                    .map(str::to_string)
                    .or_else(|| http.request_id())
                    .unwrap_or_default();
                Failure::new(
                    self.error(&exception),
                    format!(
                        "{message} (Service: {}; Status Code: {status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)",
                        self.sdk_name
                    ),
                )
            }
            SdkError::TimeoutError(_) => self.timeout(&endpoint, err),
            SdkError::DispatchFailure(d) if d.is_timeout() => self.timeout(&endpoint, err),
            SdkError::DispatchFailure(_) => Failure::new(
                self.error("SdkClientException"),
                format!(
                    "Unable to execute HTTP request to {endpoint}: {}",
                    chain(err)
                ),
            ),
            SdkError::ResponseError(r) => Failure::new(
                self.error("SdkClientException"),
                format!(
                    "Unable to read the response of {endpoint} (HTTP status {}): {}",
                    r.raw().status().as_u16(),
                    chain(err)
                ),
            ),
            _ => Failure::new(
                self.error("SdkClientException"),
                format!(
                    "Unable to call {} at {endpoint}: {}",
                    self.sdk_name,
                    chain(err)
                ),
            ),
        }
    }

    /// The exception's name as AWS's Java SDK (and so Step Functions) has it: the modelled
    /// shape's name with `Exception` added when it lacks it (SNS answers `NotFound` for
    /// `NotFoundException`; SQS, in its query-compatible mode,
    /// `AWS.SimpleQueueService.NonExistentQueue` for `QueueDoesNotExist`). The SDK's error enums
    /// name their variants after the shapes, and `Unhandled` holds the errors it does not model,
    /// named by their code alone.
    fn exception_name<E: ProvideErrorMetadata + Error>(self, e: &E) -> String {
        let debug = format!("{e:?}");
        let variant = debug
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .next()
            .unwrap_or_default();
        let name = if !variant.is_empty() && variant != "Unhandled" {
            variant
        } else {
            match e.code().and_then(|c| c.rsplit('.').next()) {
                Some(c) if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()) => c,
                _ => return self.generic_exception.to_string(),
            }
        };
        if name.ends_with("Exception") {
            name.to_string()
        } else {
            format!("{name}Exception")
        }
    }

    fn timeout<E: Error + 'static>(
        self,
        endpoint: &str,
        err: &SdkError<E, HttpResponse>,
    ) -> Failure {
        Failure::new(
            self.error("ClientExecutionTimeoutException"),
            format!(
                "Client execution did not complete before the specified timeout configuration: {endpoint}: {}",
                chain(err)
            ),
        )
    }
}

/// An error and its sources, `: `-separated ("dispatch failure: io error: … Connection
/// refused"), without the debug dump the SDK's own display adds.
fn chain(err: &(dyn Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}
