//! The AWS home: the engine over DynamoDB, SQS and SNS, assembled from a Lambda function's
//! environment. All three functions build the same [`Home`]; each uses its part.
//!
//! Tasks are not run on the step's path: the engine dispatches them as messages on the step
//! queue ([`SqsScheduler`]), and the stepper that receives one runs it through the engine,
//! which delivers its answer. A slow Lambda task so never holds up the step that scheduled
//! it, tasks of a Map run in parallel, and the answer costs no message of its own.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use waymark_engine::memory::{NoTasks, RandomIds, SystemClock};
use waymark_engine::runner::{Config, Engine};
use waymark_tasks::{AwsTasks, Clients, TaskConfig};

use crate::approvals::{ApprovalConfig, Approvals};
use crate::error::AwsError;
use crate::metrics::Metrics;
use crate::notifier::SnsNotifier;
use crate::scheduler::sqs::MAX_DELAY_SECONDS;
use crate::scheduler::SqsScheduler;
use crate::store::{DynamoStore, StoreOptions};

/// The engine as the AWS home assembles it.
pub type AwsEngine =
    Engine<Arc<DynamoStore>, SqsScheduler, Invoker, SnsNotifier, SystemClock, RandomIds>;

/// What runs a task's Resource when its message arrives: Lambda, SNS, SQS and DynamoDB through
/// the SDK (nested executions are the engine's own).
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

/// A running AWS home.
pub struct Home {
    pub engine: Arc<AwsEngine>,
    pub store: Arc<DynamoStore>,
    pub scheduler: SqsScheduler,
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
        Home::with_dynamodb(config, sdk, |b| b)
    }

    /// A home whose DynamoDB client is configured further by `customize` (tests lose
    /// responses through an interceptor, or turn the SDK's retries off).
    pub fn with_dynamodb(
        config: HomeConfig,
        sdk: &SdkConfig,
        customize: impl FnOnce(aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder,
    ) -> Home {
        let metrics = Metrics::new();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            customize(aws_sdk_dynamodb::config::Builder::from(sdk))
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
        )
        .with_settle_delay(config.settle_delay);
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
        let notifier = SnsNotifier::new(
            config.topic_arn.clone().map(|t| (sns.clone(), t)),
            approval_topic,
            store.clone(),
        );
        let make_links = approvals.clone().map(|a| {
            Box::new(move |token: &str, expires| a.make(token, expires))
                as waymark_engine::runner::ApprovalLinks
        });
        let engine = Arc::new(Engine {
            store: store.clone(),
            scheduler: scheduler.clone(),
            tasks: invoker,
            notifier,
            clock: SystemClock,
            ids: RandomIds,
            config: Config {
                region: config.region.clone(),
                account: config.account.clone(),
                role_arn: config.role_arn.clone(),
                ..Config::default()
            },
            approvals: make_links,
        });
        Home {
            engine,
            store,
            scheduler,
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
