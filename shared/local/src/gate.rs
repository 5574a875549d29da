//! Which AWS integrations a local run may use. A laptop run must never call real AWS by
//! accident: a Lambda task needs a Lambda endpoint (or `AWS_ENDPOINT_URL`), SNS/SQS/DynamoDB
//! tasks an AWS endpoint, unless the user asked for real AWS. Otherwise the task fails at
//! once with a cause that says what to configure — except SNS publishes, which a laptop has
//! an obvious place for: the server's log, so that notifications and approval requests can
//! be read without any AWS at all.

use waymark_asl::error::names;
use waymark_asl::Failure;
use waymark_engine::ports::{TaskCheck, TaskOutcome, Tasks};
use waymark_engine::step::TaskRequest;
use waymark_tasks::resource::Resource;

/// Where each kind of integration may go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach {
    pub lambda: bool,
    pub services: bool,
}

impl Reach {
    /// From the endpoints given on the command line and the SDK's environment variables.
    pub fn from_endpoints(lambda_endpoint: bool, aws_endpoint: bool, real_aws: bool) -> Reach {
        let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let any = env("AWS_ENDPOINT_URL");
        Reach {
            lambda: real_aws || lambda_endpoint || any || env("AWS_ENDPOINT_URL_LAMBDA"),
            services: real_aws
                || aws_endpoint
                || any
                || [
                    "AWS_ENDPOINT_URL_SNS",
                    "AWS_ENDPOINT_URL_SQS",
                    "AWS_ENDPOINT_URL_DYNAMODB",
                ]
                .iter()
                .any(|k| env(k)),
        }
    }
}

pub struct Gate<T> {
    inner: T,
    reach: Reach,
}

impl<T> Gate<T> {
    pub fn new(inner: T, reach: Reach) -> Self {
        Gate { inner, reach }
    }
}

fn blocked(resource: &str, what: &str, flag: &str) -> TaskOutcome {
    TaskOutcome::Failed(Failure::new(
        names::TASK_FAILED,
        format!(
            "Waymark cannot run the resource '{resource}': no {what} endpoint is configured (pass {flag}, set AWS_ENDPOINT_URL, or --real-aws to call AWS itself)"
        ),
    ))
}

impl<T: Tasks> Tasks for Gate<T> {
    async fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        match Resource::parse(&req.resource) {
            Resource::LambdaFunction { .. }
            | Resource::Integration {
                service: "lambda", ..
            } if !self.reach.lambda => blocked(&req.resource, "Lambda", "--lambda-endpoint URL"),
            Resource::Integration {
                service: "sns",
                action: "publish",
                ..
            } if !self.reach.services => console_publish(req),
            // An API of the user's own, named by its URL: no AWS call.
            Resource::Integration {
                service: "apigateway",
                ..
            } if req.parameters["ApiEndpoint"]
                .as_str()
                .is_some_and(|e| e.starts_with("http://") || e.starts_with("https://")) =>
            {
                self.inner.invoke(execution_arn, req).await
            }
            // SNS, SQS, DynamoDB, EventBridge, Athena, Glue, `aws-sdk:`: whatever the AWS
            // integrations run besides Lambda.
            Resource::Integration { service, .. }
                if service != "lambda"
                    && !self.reach.services
                    && waymark_tasks::aws::handles(&req.resource) =>
            {
                blocked(&req.resource, "AWS", "--aws-endpoint URL")
            }
            _ => self.inner.invoke(execution_arn, req).await,
        }
    }

    fn check(&self, what: &TaskCheck<'_>) -> Result<(), String> {
        self.inner.check(what)
    }
}

/// Prints an SNS message instead of sending it.
fn console_publish(req: &TaskRequest) -> TaskOutcome {
    // Refused as a real Publish would be: a message with no destination or no text.
    if let Err(f) = waymark_tasks::check_publish(&req.parameters) {
        return TaskOutcome::Failed(f);
    }
    let p = &req.parameters;
    let topic = p
        .get("TopicArn")
        .or_else(|| p.get("TargetArn"))
        .or_else(|| p.get("PhoneNumber"));
    let message = match p.get("Message") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let subject = p
        .get("Subject")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    // The message is the workflow's data: a field (escaped), never the log line's own text,
    // so that a newline in it cannot forge log lines.
    tracing::info!(
        target: "waymark::sns",
        topic = ?match topic {
            Some(serde_json::Value::String(t)) => t.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        subject = ?subject,
        text = ?message,
        "SNS message (no --aws-endpoint, so printed here)"
    );
    if req.wait_for_token {
        return TaskOutcome::Pending;
    }
    let id = waymark_engine::memory::uuid_v4(stable_u64(&req.token, 1), stable_u64(&req.token, 2));
    TaskOutcome::Succeeded(serde_json::json!({"MessageId": id}))
}

/// Bits derived from the task token: the same message id if the task runs again.
fn stable_u64(seed: &str, salt: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (seed, salt).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_engine::memory::NoTasks;

    fn request(resource: &str) -> TaskRequest {
        TaskRequest {
            frame: String::new(),
            seq: 1,
            state: "Call".into(),
            resource: resource.into(),
            parameters: serde_json::json!({"Bucket": "b", "Key": "k"}),
            token: "t".into(),
            wait_for_token: false,
            timeout_seconds: None,
            heartbeat_seconds: None,
            credentials: None,
            context: serde_json::json!({}),
            test_case: None,
            approval: None,
            job: None,
            reader: None,
            writer: None,
        }
    }

    #[tokio::test]
    async fn lambda_needs_only_a_lambda_endpoint() {
        let reach = Reach {
            lambda: true,
            services: false,
        };
        let gate = Gate::new(NoTasks, reach);
        let req = request("arn:aws:states:::lambda:invoke");
        match gate
            .invoke("arn:aws:states:us-east-1:1:execution:m:e", &req)
            .await
        {
            // NoTasks answers: the gate let it through.
            TaskOutcome::Failed(f) => {
                assert!(f.cause.unwrap().contains("no task integration"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn sdk_integrations_never_reach_aws_by_accident() {
        let gate = Gate::new(NoTasks, Reach::default());
        for resource in [
            "arn:aws:states:::aws-sdk:s3:getObject",
            "arn:aws:states:::events:putEvents",
            "arn:aws:states:::athena:startQueryExecution.sync",
            "arn:aws:states:::glue:startJobRun",
            "arn:aws:states:::dynamodb:getItem",
        ] {
            match gate
                .invoke(
                    "arn:aws:states:us-east-1:1:execution:m:e",
                    &request(resource),
                )
                .await
            {
                TaskOutcome::Failed(f) => {
                    assert_eq!(f.error.as_deref(), Some(names::TASK_FAILED));
                    assert!(f.cause.unwrap().contains("--aws-endpoint"), "{resource}");
                }
                other => panic!("{resource}: {other:?}"),
            }
        }
    }
}
