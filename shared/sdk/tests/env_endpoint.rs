//! `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` are honoured when no endpoint is given.
//! A test binary of its own: it sets process environment variables.

use serde_json::json;
use waymark_moto::Moto;
use waymark_sdk::{Config, SdkCaller};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_from_the_environment() {
    let moto = Moto::start();
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    // The service's own variable wins over the global one, which here goes nowhere.
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &moto.endpoint);
    let c = SdkCaller::new(Config::default()).await;
    let tables = c.call("dynamodb", "listTables", json!({})).await.unwrap();
    assert_eq!(tables["TableNames"], json!([]), "{tables}");
    let e = c.call("sqs", "listQueues", json!({})).await.unwrap_err();
    assert_eq!(e.error, "Sqs.SdkClientException", "{e}");

    // The global one, path-style for S3.
    std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint);
    let c = SdkCaller::new(Config::default()).await;
    c.call("s3", "createBucket", json!({"Bucket": "env-bucket"}))
        .await
        .unwrap();
    let listed = c.call("s3", "listBuckets", json!({})).await.unwrap();
    assert_eq!(listed["Buckets"][0]["Name"], "env-bucket", "{listed}");
}
