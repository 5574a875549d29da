//! What a Task state's `Resource` does. Every home (local, AWS) uses these integrations, so a
//! workflow behaves the same wherever it runs.
//!
//! A home stacks them: [`mock::MockTasks`] answers mocked states, [`AwsTasks`] runs Lambda, SNS,
//! SQS and DynamoDB through the AWS SDK, EventBridge, Athena, Glue and
//! `aws-sdk:SERVICE:action` Resources through `waymark-sdk`'s model-driven caller (to the
//! endpoints of a [`TaskConfig`]), and the fallback each is given runs the rest (nested
//! executions, activities).

pub mod apigateway;
pub mod attribute_value;
pub mod aws;
pub mod bedrock;
pub mod config;
mod dynamodb;
mod errors;
pub mod events;
pub mod http_invoke;
mod http_parts;
pub mod item_reader;
mod jobs;
mod lambda;
mod message_attributes;
mod metadata;
pub mod mock;
pub mod object_items;
mod params;
pub mod resource;
mod sns;
mod sqs;

pub use aws::AwsTasks;
pub use config::{Clients, TaskConfig};
pub use sns::check_publish;

/// The state machine name inside an execution ARN
/// (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`, or `…:express:MACHINE:NAME:ID`).
pub fn state_machine_name(execution_arn: &str) -> Option<&str> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.get(5) {
        Some(&"execution") | Some(&"express") => parts.get(6).copied(),
        _ => None,
    }
}
