//! Timers and task runs as messages on the step queue.

pub mod sqs;

pub use sqs::SqsScheduler;
