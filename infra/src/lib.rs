//! What deploys and operates Waymark on AWS beside `template.yaml`:
//!
//! - [`template`]: reads the SAM template and resolves CloudFormation's intrinsic functions
//!   for the resources a test stack needs;
//! - [`stack`]: creates the table, queues and topics on an AWS-compatible endpoint (moto,
//!   LocalStack) from the template's own properties, so that tests run against the same
//!   definitions that `sam deploy` creates, and gives the functions' environment variables as
//!   the template sets them;
//! - [`costs`]: turns counted requests into dollars per million transitions at list prices.

pub mod costs;
pub mod stack;
pub mod template;

#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    #[error("template: {0}")]
    Template(String),
    #[error("{service} {operation}: {message}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
}
