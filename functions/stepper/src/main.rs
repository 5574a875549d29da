//! The stepper Lambda: each message of the step queue advances one execution by one step
//! (`waymark_aws::stepper`). Partial batch failures go back to the queue.

#![recursion_limit = "256"]

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    waymark_aws::init_tracing();
    let home = Arc::new(waymark_aws::Home::from_env().await?);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let home = home.clone();
        async move { Ok::<_, Error>(waymark_aws::stepper::handle(home, event.payload).await) }
    }))
    .await
}
