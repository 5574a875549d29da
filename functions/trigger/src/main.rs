//! The trigger Lambda: EventBridge events and event-queue messages start executions
//! (`waymark_aws::trigger`); the same event twice starts one.

#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    waymark_aws::init_tracing();
    let home = Arc::new(waymark_aws::Home::from_env().await?);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let home = home.clone();
        async move { Ok::<_, Error>(waymark_aws::trigger::handle(home, event.payload).await?) }
    }))
    .await
}
