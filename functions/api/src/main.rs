//! The API Lambda: API Gateway's HTTP API in front of `waymark_aws::api::router` (the Step
//! Functions JSON API at `POST /`, REST conveniences, approval pages).

#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_http::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    waymark_aws::init_tracing();
    let home = Arc::new(waymark_aws::Home::from_env().await?);
    lambda_http::run(waymark_aws::api::router(home)).await
}
