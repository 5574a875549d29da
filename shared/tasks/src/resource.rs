//! A Task state's `Resource` ARN, read into what it names: a service integration and its
//! pattern, a Lambda function called the legacy way, an activity, or something else. The
//! dispatcher decides on this alone which integration runs a task.

use std::fmt;

/// How a service integration waits for its work (AWS's "service integration patterns").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// No suffix: the task ends with the API call's response.
    RequestResponse,
    /// `.sync`: the task waits for the job the call started.
    Sync,
    /// `.sync:2`: as `.sync`, with the output parsed as JSON (Step Functions' nested executions).
    Sync2,
    /// `.waitForTaskToken`: the call passes the token on and the task waits for
    /// SendTaskSuccess, SendTaskFailure or its timeouts.
    WaitForTaskToken,
}

impl Pattern {
    /// The suffix as written in a Resource (empty for request-response).
    pub fn suffix(self) -> &'static str {
        match self {
            Pattern::RequestResponse => "",
            Pattern::Sync => ".sync",
            Pattern::Sync2 => ".sync:2",
            Pattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pattern::RequestResponse => "Request Response",
            Pattern::Sync => "Run a Job (.sync)",
            Pattern::Sync2 => "Run a Job (.sync:2)",
            Pattern::WaitForTaskToken => "Wait for Callback (.waitForTaskToken)",
        })
    }
}

/// What a Resource ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `arn:PARTITION:states:::SERVICE:ACTION[.PATTERN]`, or the same with a region and account
    /// (`arn:aws:states:us-east-1:123456789012:lambda:invoke`). For the AWS SDK integrations
    /// (`arn:aws:states:::aws-sdk:sqs:sendMessage`) the service is `aws-sdk` and the action
    /// `sqs:sendMessage`.
    Integration {
        service: &'a str,
        action: &'a str,
        pattern: Pattern,
    },
    /// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the legacy way of calling
    /// a function, whose input is the payload and whose output is the function's result.
    LambdaFunction { arn: &'a str },
    /// `arn:PARTITION:states:REGION:ACCOUNT:activity:NAME`.
    Activity { arn: &'a str },
    /// Anything else; the dispatcher leaves it to its fallback.
    Other(&'a str),
}

impl<'a> Resource<'a> {
    pub fn parse(resource: &'a str) -> Resource<'a> {
        if let Some(rest) = waymark_asl::resource::integration_part(resource) {
            return match split_pattern(rest) {
                Some((name, pattern)) => match name.split_once(':') {
                    Some((service, action)) if !service.is_empty() && !action.is_empty() => {
                        Resource::Integration {
                            service,
                            action,
                            pattern,
                        }
                    }
                    _ => Resource::Other(resource),
                },
                None => Resource::Other(resource),
            };
        }
        let parts: Vec<&str> = resource.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "states", region, account, rest]
                if !region.is_empty() && !account.is_empty() && rest.starts_with("activity:") =>
            {
                Resource::Activity { arn: resource }
            }
            ["arn", _, "lambda", region, account, rest]
                if !region.is_empty()
                    && !account.is_empty()
                    && rest
                        .strip_prefix("function:")
                        .is_some_and(|f| !f.is_empty()) =>
            {
                Resource::LambdaFunction { arn: resource }
            }
            _ => Resource::Other(resource),
        }
    }
}

/// Splits `sns:publish.waitForTaskToken` into `sns:publish` and its pattern. Only the known
/// suffixes count: an unknown one is not a pattern, and the ARN names nothing we know.
fn split_pattern(name: &str) -> Option<(&str, Pattern)> {
    for pattern in [Pattern::Sync2, Pattern::Sync, Pattern::WaitForTaskToken] {
        if let Some(base) = name.strip_suffix(pattern.suffix()) {
            return Some((base, pattern));
        }
    }
    if name.contains('.') {
        return None;
    }
    Some((name, Pattern::RequestResponse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrations_and_their_patterns() {
        assert_eq!(
            Resource::parse("arn:aws:states:::lambda:invoke"),
            Resource::Integration {
                service: "lambda",
                action: "invoke",
                pattern: Pattern::RequestResponse
            }
        );
        assert_eq!(
            Resource::parse("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            Resource::Integration {
                service: "sqs",
                action: "sendMessage",
                pattern: Pattern::WaitForTaskToken
            }
        );
        assert_eq!(
            Resource::parse("arn:aws-cn:states:::states:startExecution.sync:2"),
            Resource::Integration {
                service: "states",
                action: "startExecution",
                pattern: Pattern::Sync2
            }
        );
        assert_eq!(
            Resource::parse("arn:aws:states:::ecs:runTask.sync"),
            Resource::Integration {
                service: "ecs",
                action: "runTask",
                pattern: Pattern::Sync
            }
        );
        assert_eq!(
            Resource::parse("arn:aws:states:::aws-sdk:dynamodb:query"),
            Resource::Integration {
                service: "aws-sdk",
                action: "dynamodb:query",
                pattern: Pattern::RequestResponse
            }
        );
    }

    #[test]
    fn integrations_written_with_region_and_account() {
        assert_eq!(
            Resource::parse("arn:aws:states:us-east-1:123456789012:lambda:invoke"),
            Resource::parse("arn:aws:states:::lambda:invoke")
        );
        assert_eq!(
            Resource::parse("arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject"),
            Resource::Integration {
                service: "aws-sdk",
                action: "s3:getObject",
                pattern: Pattern::RequestResponse
            }
        );
        assert_eq!(
            Resource::parse(
                "arn:aws:states:eu-west-1:123456789012:sqs:sendMessage.waitForTaskToken"
            ),
            Resource::Integration {
                service: "sqs",
                action: "sendMessage",
                pattern: Pattern::WaitForTaskToken
            }
        );
    }

    #[test]
    fn functions_activities_and_the_rest() {
        let f = "arn:aws:lambda:us-east-1:123456789012:function:greet:prod";
        assert_eq!(Resource::parse(f), Resource::LambdaFunction { arn: f });
        let a = "arn:aws:states:us-east-1:123456789012:activity:approve";
        assert_eq!(Resource::parse(a), Resource::Activity { arn: a });
        for other in [
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            "arn:aws:lambda:::function:greet",
            "arn:aws:states:::lambda",
            "arn:aws:states:::lambda:invoke.later",
            "greet",
            "",
        ] {
            assert_eq!(Resource::parse(other), Resource::Other(other), "{other}");
        }
    }
}
