//! The Task integrations that call AWS (or an AWS-compatible server) through the SDK: Lambda,
//! SNS, SQS and DynamoDB, in the patterns Step Functions supports for each. Whatever else a
//! Resource names (nested executions, activities, mocks, integrations not built here) goes to
//! a fallback, so that each home composes the integrations it has around these.

use std::time::Duration;

use waymark_asl::error::names;
use waymark_asl::Failure;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_engine::step::TaskRequest;

use crate::config::{Clients, TaskConfig};
use crate::resource::{Pattern, Resource};
use crate::{dynamodb, lambda, sns, sqs};

/// How much longer than the task's `TimeoutSeconds` a call may take before the SDK gives up.
/// The engine's own timer ends the task with `States.Timeout` at `TimeoutSeconds`; the SDK's
/// limit only makes sure a call that hangs does not hold on to its caller for ever.
const CALL_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// What runs a Resource.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    Invoke(Pattern),
    Function(&'a str),
    Publish(Pattern),
    SendMessage(Pattern),
    DynamoDb(&'a str),
    /// `aws-sdk:SERVICE:action`: any action of the services `waymark-sdk` has models of.
    Sdk {
        service: &'a str,
        action: &'a str,
        pattern: Pattern,
    },
    /// A Resource of a service built here that Step Functions would not run either.
    Refused(String),
    Fallback,
}

fn route(resource: &str) -> Route<'_> {
    use Pattern::{RequestResponse, WaitForTaskToken};
    let (service, action, pattern) = match Resource::parse(resource) {
        Resource::LambdaFunction { arn } => return Route::Function(arn),
        Resource::Integration {
            service,
            action,
            pattern,
        } => (service, action, pattern),
        _ => return Route::Fallback,
    };
    if service == "aws-sdk" {
        let Some((sdk_service, sdk_action)) = action.split_once(':') else {
            return Route::Refused(format!(
                "The resource '{resource}' does not name an action: AWS SDK integrations are arn:aws:states:::aws-sdk:SERVICE:action"
            ));
        };
        // Step Functions runs SDK integrations as Request Response or Wait for Callback.
        if !matches!(pattern, RequestResponse | WaitForTaskToken) {
            return Route::Refused(format!(
                "The resource '{resource}' is not supported: AWS SDK integrations support the {} and {} patterns, not {pattern}",
                RequestResponse, WaitForTaskToken
            ));
        }
        if let Err(e) = waymark_sdk::check(sdk_service, sdk_action) {
            return Route::Refused(format!("The resource '{resource}' cannot be called: {e}"));
        }
        return Route::Sdk {
            service: sdk_service,
            action: sdk_action,
            pattern,
        };
    }
    let (supported, all_actions): (&[Pattern], &[&str]) = match service {
        "lambda" => (&[RequestResponse, WaitForTaskToken], &["invoke"]),
        "sns" => (&[RequestResponse, WaitForTaskToken], &["publish"]),
        "sqs" => (&[RequestResponse, WaitForTaskToken], &["sendMessage"]),
        "dynamodb" => (&[RequestResponse], dynamodb::ACTIONS),
        _ => return Route::Fallback,
    };
    if !all_actions.contains(&action) {
        return Route::Refused(format!(
            "The resource '{resource}' is not a Step Functions integration: the {service} integration has {}; other {service} actions are called through arn:aws:states:::aws-sdk:{service}:ACTION",
            all_actions
                .iter()
                .map(|a| format!("'{service}:{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !supported.contains(&pattern) {
        return Route::Refused(format!(
            "The resource '{resource}' is not supported: '{service}:{action}' supports the {} pattern{}, not {pattern}",
            supported
                .iter()
                .map(Pattern::to_string)
                .collect::<Vec<_>>()
                .join(" and "),
            if supported.len() > 1 { "s" } else { "" },
        ));
    }
    match service {
        "lambda" => Route::Invoke(pattern),
        "sns" => Route::Publish(pattern),
        "sqs" => Route::SendMessage(pattern),
        _ => Route::DynamoDb(action),
    }
}

/// Whether [`AwsTasks`] runs `resource` itself (successfully or not) rather than its fallback.
pub fn handles(resource: &str) -> bool {
    route(resource) != Route::Fallback
}

/// Runs Lambda, SNS, SQS and DynamoDB Resources through the SDK; everything else goes to
/// `fallback`.
pub struct AwsTasks<F> {
    clients: Clients,
    fallback: F,
}

impl<F> AwsTasks<F> {
    /// Reads the SDK's configuration (no network call) and builds the clients.
    pub async fn new(config: &TaskConfig, fallback: F) -> Self {
        AwsTasks::with_clients(Clients::new(config).await, fallback)
    }

    pub fn with_clients(clients: Clients, fallback: F) -> Self {
        AwsTasks { clients, fallback }
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    pub fn fallback(&self) -> &F {
        &self.fallback
    }

    async fn run(
        &self,
        route: Route<'_>,
        req: &TaskRequest,
    ) -> Result<Option<serde_json::Value>, Failure> {
        let timeout = req
            .timeout_seconds
            .map(|s| Duration::from_secs(s).saturating_add(CALL_TIMEOUT_MARGIN));
        let c = &self.clients;
        let (result, pattern) = match route {
            Route::Invoke(pattern) => {
                check_credentials(req, c.custom_endpoints.lambda)?;
                (
                    lambda::invoke(&c.lambda, &req.parameters, timeout).await?,
                    pattern,
                )
            }
            Route::Function(arn) => {
                check_credentials(req, c.custom_endpoints.lambda)?;
                let out = lambda::invoke_function(&c.lambda, arn, &req.parameters, timeout).await?;
                (out, Pattern::RequestResponse)
            }
            Route::Publish(pattern) => {
                check_credentials(req, c.custom_endpoints.sns)?;
                (
                    sns::publish(&c.sns, &req.parameters, timeout).await?,
                    pattern,
                )
            }
            Route::SendMessage(pattern) => {
                check_credentials(req, c.custom_endpoints.sqs)?;
                (
                    sqs::send_message(&c.sqs, &req.parameters, timeout).await?,
                    pattern,
                )
            }
            Route::DynamoDb(action) => {
                check_credentials(req, c.custom_endpoints.dynamodb)?;
                let out = dynamodb::call(&c.dynamodb, action, &req.parameters, timeout).await?;
                (out, Pattern::RequestResponse)
            }
            Route::Sdk {
                service,
                action,
                pattern,
            } => {
                check_credentials(req, c.custom_endpoints.sdk)?;
                let call = c.sdk.call(service, action, req.parameters.clone());
                let out = match timeout {
                    None => call.await,
                    Some(t) => match tokio::time::timeout(t, call).await {
                        Ok(out) => out,
                        Err(_) => {
                            return Err(Failure::new(
                                names::TIMEOUT,
                                format!("The call to '{service}:{action}' did not answer in time"),
                            ))
                        }
                    },
                };
                let out = out.map_err(|e| Failure::new(e.error, e.cause))?;
                (out, pattern)
            }
            Route::Refused(cause) => return Err(Failure::runtime(cause)),
            // `invoke` hands these to the fallback before coming here.
            Route::Fallback => {
                return Err(Failure::runtime(format!(
                    "No integration runs the resource '{}'",
                    req.resource
                )))
            }
        };
        // After a successful send, a callback task waits for SendTaskSuccess/Failure.
        Ok((pattern != Pattern::WaitForTaskToken).then_some(result))
    }
}

/// A Task's `Credentials` (a role to assume) are not supported yet. Against a local endpoint
/// identities are not checked, so the call goes ahead; against AWS it would run under the
/// wrong identity, so the task fails instead.
fn check_credentials(req: &TaskRequest, custom_endpoint: bool) -> Result<(), Failure> {
    match &req.credentials {
        Some(c) if !c.is_null() && !custom_endpoint => Err(Failure::runtime(format!(
            "The Credentials {c} of the resource '{}' cannot be used: Waymark does not assume task roles yet",
            req.resource
        ))),
        _ => Ok(()),
    }
}

impl<F: Tasks> Tasks for AwsTasks<F> {
    async fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        let route = route(&req.resource);
        if route == Route::Fallback {
            return self.fallback.invoke(execution_arn, req).await;
        }
        match self.run(route, req).await {
            Ok(Some(result)) => TaskOutcome::Succeeded(result),
            Ok(None) => TaskOutcome::Pending,
            Err(failure) => TaskOutcome::Failed(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_routed_by_service_action_and_pattern() {
        assert_eq!(
            route("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            Route::Invoke(Pattern::WaitForTaskToken)
        );
        assert_eq!(
            route("arn:aws:lambda:eu-west-1:123456789012:function:f"),
            Route::Function("arn:aws:lambda:eu-west-1:123456789012:function:f")
        );
        assert_eq!(
            route("arn:aws:states:::sns:publish"),
            Route::Publish(Pattern::RequestResponse)
        );
        assert_eq!(
            route("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            Route::SendMessage(Pattern::WaitForTaskToken)
        );
        assert_eq!(
            route("arn:aws:states:::dynamodb:updateItem"),
            Route::DynamoDb("updateItem")
        );
        for fallback in [
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:states:::batch:submitJob.sync",
            "arn:aws:states:::glue:startJobRun",
            "arn:aws:states:us-east-1:123456789012:activity:approve",
            "not-an-arn",
        ] {
            assert_eq!(route(fallback), Route::Fallback, "{fallback}");
            assert!(!handles(fallback));
        }
    }

    #[test]
    fn sdk_integrations_are_routed_to_the_generic_caller() {
        assert_eq!(
            route("arn:aws:states:::aws-sdk:dynamodb:query"),
            Route::Sdk {
                service: "dynamodb",
                action: "query",
                pattern: Pattern::RequestResponse
            }
        );
        assert_eq!(
            route("arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken"),
            Route::Sdk {
                service: "s3",
                action: "putObject",
                pattern: Pattern::WaitForTaskToken
            }
        );
        for (resource, says) in [
            (
                "arn:aws:states:::aws-sdk:s3:getObject.sync",
                "not Run a Job",
            ),
            ("arn:aws:states:::aws-sdk:s3", "does not name an action"),
            ("arn:aws:states:::aws-sdk:s3:GetObject", "getObject"),
            (
                "arn:aws:states:::aws-sdk:nosuchservice:doIt",
                "nosuchservice",
            ),
        ] {
            match route(resource) {
                Route::Refused(cause) => assert!(cause.contains(says), "{resource}: {cause}"),
                other => panic!("{resource}: {other:?}"),
            }
        }
    }

    #[test]
    fn task_credentials_are_refused_unless_the_endpoint_is_local() {
        let mut req = TaskRequest {
            frame: String::new(),
            seq: 1,
            state: "S".into(),
            resource: "arn:aws:states:::sqs:sendMessage".into(),
            parameters: serde_json::json!({}),
            token: "t".into(),
            wait_for_token: false,
            timeout_seconds: None,
            heartbeat_seconds: None,
            credentials: None,
            context: serde_json::json!({}),
            test_case: None,
            approval: None,
        };
        assert!(check_credentials(&req, false).is_ok());
        req.credentials = Some(serde_json::json!({"RoleArn": "arn:aws:iam::1:role/r"}));
        assert!(check_credentials(&req, true).is_ok());
        let f = check_credentials(&req, false).unwrap_err();
        assert_eq!(f.error.as_deref(), Some("States.Runtime"));
        assert!(f
            .cause
            .unwrap_or_default()
            .contains("arn:aws:iam::1:role/r"));
    }

    #[test]
    fn unsupported_patterns_and_actions_are_refused_by_name() {
        for (resource, says) in [
            (
                "arn:aws:states:::dynamodb:getItem.waitForTaskToken",
                "supports the Request Response pattern, not Wait for Callback",
            ),
            (
                "arn:aws:states:::lambda:invoke.sync",
                "supports the Request Response and Wait for Callback (.waitForTaskToken) patterns, not Run a Job (.sync)",
            ),
            ("arn:aws:states:::sns:publish.sync", "not Run a Job"),
            ("arn:aws:states:::dynamodb:scan", "is not a Step Functions integration"),
            ("arn:aws:states:::sqs:receiveMessage", "'sqs:sendMessage'"),
        ] {
            match route(resource) {
                Route::Refused(cause) => {
                    assert!(cause.contains(resource), "{cause}");
                    assert!(cause.contains(says), "{cause}");
                }
                other => panic!("{resource}: {other:?}"),
            }
            assert!(handles(resource));
        }
    }
}
