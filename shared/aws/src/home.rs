//! The AWS home: the engine over DynamoDB, SQS and SNS, assembled from a Lambda function's
//! environment. All three functions build the same [`Home`]; each uses its part.
//!
//! Tasks are not run on the step's path: the step's `Invoke` effect becomes a message on the
//! step queue, and the stepper that receives it runs the task and delivers its answer. A slow
//! Lambda task so never holds up the step that scheduled it, tasks of a Map run in parallel,
//! and the answer costs no message of its own.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use waymark_api::approvals::{ApprovalRecord, ApprovalStatus};
use waymark_engine::memory::{NoTasks, RandomIds, SystemClock};
use waymark_engine::ports::{TaskOutcome, TaskRef, Tasks};
use waymark_engine::runner::{Config, Engine};
use waymark_engine::step::{Approval, TaskRequest};
use waymark_tasks::{AwsTasks, Clients, TaskConfig};

use crate::approvals::{ApprovalConfig, Approvals};
use crate::error::{sdk_message, AwsError};
use crate::message::StepMessage;
use crate::metrics::Metrics;
use crate::notifier::SnsNotifier;
use crate::scheduler::sqs::MAX_DELAY_SECONDS;
use crate::scheduler::SqsScheduler;
use crate::store::{DynamoStore, StoreOptions};

/// The engine as the AWS home assembles it.
pub type AwsEngine =
    Engine<Arc<DynamoStore>, SqsScheduler, QueuedTasks, SnsNotifier, SystemClock, RandomIds>;

/// What runs a task's Resource when its message arrives: Lambda, SNS, SQS and DynamoDB through
/// the SDK (nested executions are the stepper's own).
pub type Invoker = AwsTasks<NoTasks>;

/// Everything a home needs to know, read from the environment by [`HomeConfig::from_env`].
#[derive(Debug, Clone)]
pub struct HomeConfig {
    /// `WAYMARK_TABLE`.
    pub table: String,
    /// `WAYMARK_STEP_QUEUE_URL`.
    pub step_queue_url: String,
    /// `WAYMARK_TOPIC_ARN` (optional: no notifications without it).
    pub topic_arn: Option<String>,
    /// `AWS_REGION` (set by Lambda).
    pub region: String,
    /// `WAYMARK_ACCOUNT_ID`, or the account in the topic ARN or the queue URL.
    pub account: String,
    /// `WAYMARK_ROLE_ARN`: the role executions report when their state machine names none.
    pub role_arn: String,
    /// `WAYMARK_LAMBDA_ENDPOINT`: where Lambda tasks go (AWS's endpoint when unset).
    pub lambda_endpoint: Option<String>,
    /// `WAYMARK_TASKS_ENDPOINT`: where SNS, SQS and DynamoDB tasks go (AWS's when unset).
    pub tasks_endpoint: Option<String>,
    /// `WAYMARK_MAX_DELAY_SECONDS`: the longest SQS delay used (900; tests use less).
    pub max_delay: u32,
    /// `WAYMARK_SETTLE_DELAY_SECONDS`: when the safety-net message after an API step arrives.
    pub settle_delay: u32,
    /// `WAYMARK_RETENTION_DAYS`: how long ended executions are kept (90).
    pub retention_days: i64,
    /// Human approval (`WAYMARK_APPROVAL_KEY`, `WAYMARK_PUBLIC_URL`,
    /// `WAYMARK_APPROVAL_REJECT`): off without a key.
    pub approval: Option<ApprovalConfig>,
    /// `WAYMARK_APPROVAL_TOPIC_ARN`: where approval requests are published (with their links)
    /// when approvals are on.
    pub approval_topic_arn: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> Result<String, AwsError> {
    var(name).ok_or_else(|| AwsError::Config(format!("{name} is not set")))
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, AwsError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| AwsError::Config(format!("{name}={v} is not a number"))),
    }
}

/// The account id in a topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`) or a queue URL
/// (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
fn account_in(topic_arn: Option<&str>, queue_url: &str) -> Option<String> {
    let from_arn = topic_arn
        .and_then(|a| a.split(':').nth(4))
        .map(str::to_string);
    let from_url = || {
        let path = queue_url.split("://").nth(1)?.split('/').nth(1)?;
        path.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| path.to_string())
    };
    from_arn.filter(|a| !a.is_empty()).or_else(from_url)
}

impl HomeConfig {
    pub fn from_env() -> Result<HomeConfig, AwsError> {
        let step_queue_url = required("WAYMARK_STEP_QUEUE_URL")?;
        let topic_arn = var("WAYMARK_TOPIC_ARN");
        let account = match var("WAYMARK_ACCOUNT_ID") {
            Some(a) => a,
            None => account_in(topic_arn.as_deref(), &step_queue_url).ok_or_else(|| {
                AwsError::Config(
                    "WAYMARK_ACCOUNT_ID is not set and no ARN names the account".into(),
                )
            })?,
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .ok_or_else(|| AwsError::Config("AWS_REGION is not set".into()))?;
        Ok(HomeConfig {
            table: required("WAYMARK_TABLE")?,
            role_arn: var("WAYMARK_ROLE_ARN")
                .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/waymark-execution")),
            step_queue_url,
            topic_arn,
            region,
            account,
            lambda_endpoint: var("WAYMARK_LAMBDA_ENDPOINT"),
            tasks_endpoint: var("WAYMARK_TASKS_ENDPOINT"),
            max_delay: number("WAYMARK_MAX_DELAY_SECONDS", MAX_DELAY_SECONDS)?,
            settle_delay: number("WAYMARK_SETTLE_DELAY_SECONDS", 60)?,
            retention_days: number("WAYMARK_RETENTION_DAYS", 90)?,
            approval: ApprovalConfig::from_vars(
                var("WAYMARK_APPROVAL_KEY").as_deref(),
                var("WAYMARK_PUBLIC_URL").as_deref(),
                var("WAYMARK_APPROVAL_REJECT").as_deref(),
            )?,
            approval_topic_arn: var("WAYMARK_APPROVAL_TOPIC_ARN"),
        })
    }
}

/// The engine's `Tasks`: hands each task to the step queue and returns at once. A task that
/// asks for a human approval first has its approval stored (and announced on the approval
/// topic), so that its links work by the time the task sends them.
pub struct QueuedTasks {
    scheduler: SqsScheduler,
    store: Arc<DynamoStore>,
    /// The approval topic, when approvals are on and it is configured.
    approval_topic: Option<(aws_sdk_sns::Client, String)>,
}

impl QueuedTasks {
    /// Stores the approval of `req` and announces it if no attempt did yet. False when the
    /// task must not go out yet: the step's outbox then stays pending and all of this is
    /// done again (storing is idempotent; an announcement may go out twice).
    async fn request_approval(&self, execution_arn: &str, req: &TaskRequest, a: &Approval) -> bool {
        let record = ApprovalRecord {
            id: a.id.clone(),
            task: TaskRef {
                execution_arn: execution_arn.to_string(),
                frame: req.frame.clone(),
                seq: req.seq,
            },
            state: req.state.clone(),
            expires: a.expires,
            status: ApprovalStatus::Pending,
            decided_at: None,
            approver: None,
            comment: None,
        };
        let unannounced = match self.store.record_approval(&record).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(execution = ?execution_arn, state = ?req.state, error = ?e.to_string(), "approval not stored");
                return false;
            }
        };
        if let (true, Some((sns, topic))) = (unannounced, &self.approval_topic) {
            let (subject, message) = crate::approvals::announcement(execution_arn, req, a);
            let attr = |v: &str| {
                aws_sdk_sns::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .ok()
            };
            let machine = req.context["StateMachine"]["Name"].as_str().unwrap_or("-");
            let sent = sns
                .publish()
                .topic_arn(topic)
                .subject(subject)
                .message(message)
                .set_message_attributes(Some(
                    [
                        ("stateMachine", machine),
                        ("executionArn", execution_arn),
                        ("state", req.state.as_str()),
                        ("approvalId", a.id.as_str()),
                    ]
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .filter_map(|(k, v)| Some((k.to_string(), attr(v)?)))
                    .collect(),
                ))
                .send()
                .await;
            if let Err(e) = sent {
                tracing::error!(execution = ?execution_arn, state = ?req.state, error = ?sdk_message(&e), "approval request not published");
                return false;
            }
            if let Err(e) = self.store.approval_announced(&a.id).await {
                // The next attempt, if any, announces it once more.
                tracing::warn!(approval = ?a.id, error = ?e.to_string(), "approval not marked as announced");
            }
        }
        // Not the link: it is as good as the decision to whoever reads the logs.
        tracing::info!(execution = ?execution_arn, state = ?req.state, approval = ?a.id, "approval requested");
        true
    }
}

impl Tasks for QueuedTasks {
    async fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        if let Some(a) = &req.approval {
            if !self.request_approval(execution_arn, req, a).await {
                // Not handed over: the outbox stays pending and the task comes back.
                self.store.hold_ack(execution_arn);
                return TaskOutcome::Pending;
            }
        }
        let message = StepMessage::Invoke {
            arn: execution_arn.to_string(),
            request: Box::new(req.clone()),
        };
        if let Err(e) = self.scheduler.send(&message, 0).await {
            // Not queued: keep the step's outbox pending, so the task is handed over again.
            tracing::error!(execution = ?execution_arn, state = ?req.state, error = ?e.to_string(), "task not queued");
            self.store.hold_ack(execution_arn);
        }
        TaskOutcome::Pending
    }
}

/// A running AWS home.
pub struct Home {
    pub engine: Arc<AwsEngine>,
    pub store: Arc<DynamoStore>,
    pub scheduler: SqsScheduler,
    pub invoker: Invoker,
    pub metrics: Arc<Metrics>,
    pub config: HomeConfig,
    /// Human approval, when `WAYMARK_APPROVAL_KEY` is set.
    pub approvals: Option<Arc<Approvals>>,
}

impl Home {
    /// The home a Lambda function runs: configuration from the environment, credentials and
    /// region from the SDK's defaults.
    pub async fn from_env() -> Result<Home, AwsError> {
        let config = HomeConfig::from_env()?;
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .load()
            .await;
        Ok(Home::new(config, &sdk))
    }

    /// A home over the services `sdk` reaches (tests point it at a local server).
    pub fn new(config: HomeConfig, sdk: &SdkConfig) -> Home {
        let metrics = Metrics::new();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(metrics.interceptor())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .interceptor(metrics.interceptor())
                .build(),
        );
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk)
                .interceptor(metrics.interceptor())
                .build(),
        );
        let store = Arc::new(DynamoStore::new(
            dynamodb,
            config.table.clone(),
            metrics.clone(),
            StoreOptions {
                retention: chrono::Duration::days(config.retention_days.max(1)),
                ..StoreOptions::default()
            },
        ));
        let scheduler = SqsScheduler::new(
            sqs,
            config.step_queue_url.clone(),
            config.max_delay,
            store.clone(),
        );
        let notifier = SnsNotifier::new(
            config.topic_arn.clone().map(|t| (sns.clone(), t)),
            store.clone(),
            scheduler.clone(),
        );
        let mut tasks = TaskConfig::new(config.region.clone());
        tasks.lambda_endpoint = config.lambda_endpoint.clone();
        tasks.aws_endpoint = config.tasks_endpoint.clone();
        let invoker = AwsTasks::with_clients(Clients::from_sdk_config(sdk, &tasks), NoTasks);
        let approvals = config
            .approval
            .as_ref()
            .map(|c| Arc::new(Approvals::new(c)));
        if approvals.as_ref().is_some_and(|a| !a.has_public_url()) {
            tracing::info!(
                "WAYMARK_PUBLIC_URL is not set: approval links take the host of the API's requests"
            );
        }
        let approval_topic = match (&approvals, &config.approval_topic_arn) {
            (Some(_), Some(topic)) => Some((sns.clone(), topic.clone())),
            _ => None,
        };
        let make_links = approvals.clone().map(|a| {
            Box::new(move |token: &str, expires| a.make(token, expires))
                as waymark_engine::runner::ApprovalLinks
        });
        let engine = Arc::new(Engine {
            store: store.clone(),
            scheduler: scheduler.clone(),
            tasks: QueuedTasks {
                scheduler: scheduler.clone(),
                store: store.clone(),
                approval_topic,
            },
            notifier,
            clock: SystemClock,
            ids: RandomIds,
            config: Config {
                region: config.region.clone(),
                account: config.account.clone(),
                role_arn: config.role_arn.clone(),
            },
            approvals: make_links,
        });
        Home {
            engine,
            store,
            scheduler,
            invoker,
            metrics,
            config,
            approvals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::account_in;

    #[test]
    fn the_account_comes_from_an_arn_or_a_queue_url() {
        assert_eq!(
            account_in(Some("arn:aws:sns:eu-west-1:111122223333:t"), "x").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            account_in(None, "https://sqs.eu-west-1.amazonaws.com/444455556666/q").as_deref(),
            Some("444455556666")
        );
        assert_eq!(account_in(None, "http://127.0.0.1:5000/queue/q"), None);
    }
}
