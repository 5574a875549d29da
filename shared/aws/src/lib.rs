//! Waymark on AWS: the engine's ports over one DynamoDB table ([`store::DynamoStore`]), an SQS
//! step queue ([`scheduler::SqsScheduler`]) and an SNS topic ([`notifier::SnsNotifier`]), the
//! home that assembles them from a Lambda's environment ([`home::Home`]), and the handlers of
//! the three Lambda functions: [`stepper`] (SQS: advances executions), [`api`] (API Gateway:
//! the Step Functions API and the human-approval pages of [`approvals`]) and [`trigger`]
//! (EventBridge and SQS: starts executions). The binaries in `functions/` are a few lines
//! around these, so tests call the handlers directly.

pub mod api;
pub mod approvals;
pub mod error;
pub mod home;
pub mod message;
pub mod metrics;
pub mod notifier;
pub mod panic;
pub mod scheduler;
pub mod stepper;
pub mod store;
pub mod trigger;

pub use error::AwsError;
pub use home::{AwsEngine, Home, HomeConfig};
pub use metrics::Metrics;

/// Logs to stdout, where Lambda sends them to CloudWatch; `RUST_LOG` chooses the level.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}
