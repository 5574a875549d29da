//! SNS, SQS and DynamoDB through the real SDK clients against moto's server: what a Task sends
//! arrives, results have AWS's shape, and refusals carry the service's exception names.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use common::{request, EXECUTION, REGION};
use serde_json::{json, Value};
use waymark_asl::model::error_matches;
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_moto::Moto;
use waymark_tasks::{AwsTasks, TaskConfig};

async fn tasks(moto: &Moto) -> AwsTasks<NoTasks> {
    AwsTasks::new(
        &TaskConfig::new(REGION).with_aws_endpoint(&moto.endpoint),
        NoTasks,
    )
}

fn succeeded(outcome: TaskOutcome) -> Value {
    match outcome {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failed(outcome: TaskOutcome) -> (String, String) {
    match outcome {
        TaskOutcome::Failed(f) => (f.error.unwrap_or_default(), f.cause.unwrap_or_default()),
        other => panic!("expected failure, got {other:?}"),
    }
}

fn assert_metadata(out: &Value) {
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200, "{out}");
    assert!(
        out["SdkHttpMetadata"]["AllHttpHeaders"].is_object(),
        "{out}"
    );
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string(), "{out}");
}

/// Creates a queue and returns its URL and ARN.
async fn queue(tasks: &AwsTasks<NoTasks>, name: &str) -> (String, String) {
    let sqs = &tasks.clients().await.sqs;
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    (url, arn)
}

/// The bodies of the messages waiting in a queue.
async fn receive(tasks: &AwsTasks<NoTasks>, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    tasks
        .clients()
        .await
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[tokio::test]
async fn sns_publish_reaches_a_subscribed_queue() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let sns = &tasks.clients().await.sns;
    let topic = sns
        .create_topic()
        .name("orders")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (url, queue_arn) = queue(&tasks, "order-inbox").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();

    let req = request(
        "arn:aws:states:::sns:publish",
        json!({
            "TopicArn": topic,
            "Subject": "New order",
            "Message": {"order": 7, "items": ["a"]},
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "new"}}
        }),
    );
    let out = succeeded(tasks.invoke(EXECUTION, &req).await);
    assert_metadata(&out);
    let message_id = out["MessageId"].as_str().unwrap().to_string();

    let messages = receive(&tasks, &url).await;
    assert_eq!(messages.len(), 1);
    let envelope: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(envelope["MessageId"], message_id.as_str());
    assert_eq!(envelope["Subject"], "New order");
    // An object Message is sent as its JSON text.
    assert_eq!(
        serde_json::from_str::<Value>(envelope["Message"].as_str().unwrap()).unwrap(),
        json!({"order": 7, "items": ["a"]})
    );
    assert_eq!(envelope["MessageAttributes"]["kind"]["Value"], "new");

    // A callback: published, then the task waits for its token.
    let req = request(
        "arn:aws:states:::sns:publish.waitForTaskToken",
        json!({"TopicArn": topic, "Message": {"TaskToken": "token-1"}}),
    );
    assert_eq!(tasks.invoke(EXECUTION, &req).await, TaskOutcome::Pending);
    let messages = receive(&tasks, &url).await;
    let envelope: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(envelope["Message"], r#"{"TaskToken":"token-1"}"#);

    let req = request(
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:missing", "Message": "hi"}),
    );
    let (error, cause) = failed(tasks.invoke(EXECUTION, &req).await);
    assert_eq!(error, "SNS.NotFoundException", "{cause}");
    assert!(
        cause.contains("(Service: AmazonSNS; Status Code: 404; Error Code: NotFound"),
        "{cause}"
    );
    assert!(error_matches(&["States.TaskFailed".to_string()], &error));
}

#[tokio::test]
async fn sqs_send_message_then_receive_it() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let (url, _) = queue(&tasks, "work").await;

    let req = request(
        "arn:aws:states:::sqs:sendMessage",
        json!({
            "QueueUrl": url,
            "MessageBody": {"hello": "world"},
            "DelaySeconds": 0,
            "MessageAttributes": {
                "kind": {"DataType": "String", "StringValue": "greeting"},
                "raw": {"DataType": "Binary", "BinaryValue": "aGk="}
            }
        }),
    );
    let out = succeeded(tasks.invoke(EXECUTION, &req).await);
    assert_metadata(&out);
    // MD5 of the JSON text sent.
    assert_eq!(out["MD5OfMessageBody"], "fbc24bcc7a1794758fc1327fcfebdaf6");
    assert!(out["MD5OfMessageAttributes"].is_string(), "{out}");
    let message_id = out["MessageId"].as_str().unwrap().to_string();

    let messages = receive(&tasks, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message_id(), Some(message_id.as_str()));
    assert_eq!(messages[0].body(), Some(r#"{"hello":"world"}"#));
    let attrs = messages[0].message_attributes().unwrap();
    assert_eq!(attrs["kind"].string_value(), Some("greeting"));
    assert_eq!(
        attrs["raw"].binary_value().map(|b| b.as_ref()),
        Some(&b"hi"[..])
    );

    let req = request(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        json!({"QueueUrl": url, "MessageBody": {"TaskToken": "token-1", "Input": {"n": 1}}}),
    );
    assert_eq!(tasks.invoke(EXECUTION, &req).await, TaskOutcome::Pending);
    let messages = receive(&tasks, &url).await;
    let body: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(body, json!({"TaskToken": "token-1", "Input": {"n": 1}}));

    let req = request(
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": format!("{}/123456789012/missing", moto.endpoint), "MessageBody": "x"}),
    );
    let (error, cause) = failed(tasks.invoke(EXECUTION, &req).await);
    assert_eq!(error, "SQS.QueueDoesNotExistException", "{cause}");
    assert!(
        cause.contains("(Service: AmazonSQS; Status Code: 400;"),
        "{cause}"
    );

    let req = request("arn:aws:states:::sqs:sendMessage", json!({"QueueUrl": url}));
    let (error, cause) = failed(tasks.invoke(EXECUTION, &req).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("'MessageBody' is required"), "{cause}");
}

#[tokio::test]
async fn dynamodb_put_get_update_delete() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    tasks
        .clients()
        .await
        .dynamodb
        .create_table()
        .table_name("Orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let call = |action: &str, params: Value| {
        request(&format!("arn:aws:states:::dynamodb:{action}"), params)
    };
    let item = json!({
        "id": {"S": "o1"},
        "total": {"N": "10"},
        "tags": {"SS": ["new"]},
        "lines": {"L": [{"M": {"sku": {"S": "a"}, "qty": {"N": "2"}}}]},
        "paid": {"BOOL": false},
        "note": {"NULL": true}
    });

    let out = succeeded(
        tasks
            .invoke(
                EXECUTION,
                &call("putItem", json!({"TableName": "Orders", "Item": item})),
            )
            .await,
    );
    assert_metadata(&out);
    assert!(out.get("Attributes").is_none(), "{out}");

    let key = json!({"id": {"S": "o1"}});
    let get = call(
        "getItem",
        json!({"TableName": "Orders", "Key": key, "ConsistentRead": true}),
    );
    let out = succeeded(tasks.invoke(EXECUTION, &get).await);
    assert_metadata(&out);
    assert_eq!(out["Item"], item);

    let update = call(
        "updateItem",
        json!({
            "TableName": "Orders",
            "Key": key,
            "UpdateExpression": "SET #t = :new, paid = :yes",
            "ConditionExpression": "#t = :old",
            "ExpressionAttributeNames": {"#t": "total"},
            "ExpressionAttributeValues": {":old": {"N": "10"}, ":new": {"N": "20"}, ":yes": {"BOOL": true}},
            "ReturnValues": "UPDATED_NEW"
        }),
    );
    let out = succeeded(tasks.invoke(EXECUTION, &update).await);
    assert_eq!(
        out["Attributes"],
        json!({"paid": {"BOOL": true}, "total": {"N": "20"}})
    );

    // The same update again: the total is no longer 10.
    let (error, cause) = failed(tasks.invoke(EXECUTION, &update).await);
    assert_eq!(error, "DynamoDB.ConditionalCheckFailedException");
    assert!(
        cause.contains("(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: "),
        "{cause}"
    );
    assert!(error_matches(&["States.ALL".to_string()], &error));

    let out = succeeded(
        tasks
            .invoke(
                EXECUTION,
                &call(
                    "deleteItem",
                    json!({"TableName": "Orders", "Key": key, "ReturnValues": "ALL_OLD"}),
                ),
            )
            .await,
    );
    assert_eq!(out["Attributes"]["total"], json!({"N": "20"}));
    let out = succeeded(tasks.invoke(EXECUTION, &get).await);
    assert!(out.get("Item").is_none(), "{out}");

    let (error, _) = failed(
        tasks
            .invoke(
                EXECUTION,
                &call("getItem", json!({"TableName": "Missing", "Key": key})),
            )
            .await,
    );
    assert_eq!(error, "DynamoDB.ResourceNotFoundException");

    for (resource, params, says) in [
        (
            "arn:aws:states:::dynamodb:getItem.waitForTaskToken",
            json!({"TableName": "Orders", "Key": key}),
            "arn:aws:states:::dynamodb:getItem.waitForTaskToken' is not supported",
        ),
        (
            "arn:aws:states:::dynamodb:putItem",
            json!({"TableName": "Orders", "Item": {"id": "o2"}}),
            "'Item.id' must be an attribute value",
        ),
        (
            "arn:aws:states:::dynamodb:getItem",
            json!({"TableName": "Orders"}),
            "The field 'Key' is required",
        ),
    ] {
        let (error, cause) = failed(tasks.invoke(EXECUTION, &request(resource, params)).await);
        assert_eq!(error, "States.Runtime", "{cause}");
        assert!(cause.contains(says), "{cause}");
    }
}

/// `aws-sdk:` Resources run through the model-driven caller: parameters and results with the
/// API model's member names, errors named `<Service>.<Error>Exception`.
#[tokio::test]
async fn aws_sdk_integrations_call_any_action_of_a_modelled_service() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let call = |resource: &str, params: Value| {
        let req = request(&format!("arn:aws:states:::aws-sdk:{resource}"), params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    succeeded(call("s3:createBucket", json!({"Bucket": "reports"})).await);
    succeeded(
        call(
            "s3:putObject",
            json!({"Bucket": "reports", "Key": "a.json", "Body": "{\"n\":1}"}),
        )
        .await,
    );
    let got = succeeded(
        call(
            "s3:getObject",
            json!({"Bucket": "reports", "Key": "a.json"}),
        )
        .await,
    );
    assert_eq!(got["Body"], "{\"n\":1}", "{got}");
    let listed = succeeded(call("s3:listObjectsV2", json!({"Bucket": "reports"})).await);
    assert_eq!(listed["Contents"][0]["Key"], "a.json", "{listed}");
    let (error, cause) =
        failed(call("s3:getObject", json!({"Bucket": "reports", "Key": "nope"})).await);
    assert_eq!(error, "S3.NoSuchKeyException", "{cause}");
    assert!(
        error_matches(&["S3.NoSuchKeyException".to_string()], &error),
        "a Catch on the name matches"
    );

    succeeded(
        call(
            "dynamodb:createTable",
            json!({
                "TableName": "Orders",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        )
        .await,
    );
    succeeded(
        call(
            "dynamodb:putItem",
            json!({"TableName": "Orders", "Item": {"id": {"S": "o1"}, "total": {"N": "12"}}}),
        )
        .await,
    );
    let q = succeeded(
        call(
            "dynamodb:query",
            json!({
                "TableName": "Orders",
                "KeyConditionExpression": "id = :id",
                "ExpressionAttributeValues": {":id": {"S": "o1"}}
            }),
        )
        .await,
    );
    assert_eq!(q["Count"], 1, "{q}");
    assert_eq!(q["Items"][0]["total"]["N"], "12", "{q}");
    let (error, _) = failed(
        call(
            "dynamodb:getItem",
            json!({"TableName": "Missing", "Key": {"id": {"S": "x"}}}),
        )
        .await,
    );
    assert_eq!(error, "DynamoDb.ResourceNotFoundException");

    // Refused before any call: a pattern SDK integrations do not have, an unknown action.
    let (error, cause) = failed(call("s3:getObject.sync", json!({})).await);
    assert_eq!(error, "States.Runtime", "{cause}");
    let (error, cause) = failed(call("s3:fetchObject", json!({})).await);
    assert_eq!(error, "States.Runtime", "{cause}");
    // A callback task sends, then waits.
    let req = request(
        "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
        json!({"Bucket": "reports", "Key": "token", "Body": "t"}),
    );
    assert!(matches!(
        tasks.invoke(EXECUTION, &req).await,
        TaskOutcome::Pending
    ));
}

#[tokio::test]
async fn events_put_events_reaches_a_rule_target_with_the_execution_in_its_resources() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let call = |resource: &str, params: Value| {
        let req = request(&format!("arn:aws:states:::{resource}"), params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    let (url, arn) = queue(&tasks, "orders-events").await;
    succeeded(
        call(
            "aws-sdk:eventbridge:putRule",
            json!({"Name": "orders", "EventPattern": "{\"source\": [\"my.orders\"]}"}),
        )
        .await,
    );
    succeeded(
        call(
            "aws-sdk:eventbridge:putTargets",
            json!({"Rule": "orders", "Targets": [{"Id": "q", "Arn": arn}]}),
        )
        .await,
    );
    let out = succeeded(
        call(
            "events:putEvents",
            json!({"Entries": [{
                "Detail": {"Message": "shipped", "n": 2},
                "DetailType": "OrderShipped",
                "Source": "my.orders"
            }]}),
        )
        .await,
    );
    assert_eq!(out["FailedEntryCount"], 0, "{out}");
    assert!(out["Entries"][0]["EventId"].is_string(), "{out}");
    let got = receive(&tasks, &url).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let event: Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(
        event["detail"],
        json!({"Message": "shipped", "n": 2}),
        "{event}"
    );
    assert_eq!(
        event["resources"],
        json!([
            EXECUTION,
            "arn:aws:states:us-east-1:123456789012:stateMachine:Flow"
        ]),
        "{event}"
    );
    // Refused before the call: no Entries.
    let (error, _) = failed(call("events:putEvents", json!({})).await);
    assert_eq!(error, "States.Runtime");
    // A callback task sends, then waits.
    let req = request(
        "arn:aws:states:::events:putEvents.waitForTaskToken",
        json!({"Entries": [{"Detail": {}, "DetailType": "T", "Source": "my.orders"}]}),
    );
    assert!(matches!(
        tasks.invoke(EXECUTION, &req).await,
        TaskOutcome::Pending
    ));
}

#[tokio::test]
async fn athena_and_glue_request_response_integrations() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let call = |resource: &str, params: Value| {
        let req = request(&format!("arn:aws:states:::{resource}"), params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    let started = succeeded(
        call(
            "athena:startQueryExecution",
            json!({
                "QueryString": "SELECT 1",
                "ResultConfiguration": {"OutputLocation": "s3://results/"}
            }),
        )
        .await,
    );
    let id = started["QueryExecutionId"]
        .as_str()
        .expect("an id")
        .to_string();
    let got = succeeded(call("athena:getQueryExecution", json!({"QueryExecutionId": id})).await);
    assert_eq!(got["QueryExecution"]["Query"], "SELECT 1", "{got}");
    let (error, cause) = failed(call("glue:startJobRun", json!({"JobName": "missing"})).await);
    assert_eq!(error, "Glue.EntityNotFoundException", "{cause}");
    succeeded(
        call(
            "aws-sdk:glue:createJob",
            json!({"Name": "etl", "Role": "arn:aws:iam::123456789012:role/glue", "Command": {"Name": "glueetl"}}),
        )
        .await,
    );
    let run = succeeded(call("glue:startJobRun", json!({"JobName": "etl"})).await);
    assert!(run["JobRunId"].is_string(), "{run}");
    // .sync: the start answers with the job; asking about it ends with the job run.
    let (job, out) = run_sync(&tasks, "glue:startJobRun.sync", json!({"JobName": "etl"})).await;
    assert_eq!(job["JobName"], "etl", "{job}");
    assert_eq!(out["JobName"], "etl", "{out}");
    assert_eq!(out["JobRunState"], "SUCCEEDED", "{out}");
    assert_eq!(out["Id"], job["RunId"], "{out}");
    let (job, out) = run_sync(
        &tasks,
        "athena:startQueryExecution.sync",
        json!({"QueryString": "SELECT 2", "WorkGroup": "primary"}),
    )
    .await;
    assert_eq!(
        out["QueryExecution"]["QueryExecutionId"],
        job["QueryExecutionId"]
    );
    assert_eq!(
        out["QueryExecution"]["Status"]["State"], "SUCCEEDED",
        "{out}"
    );
    // A job that cannot start fails the task with the service's error.
    let (error, _) = failed(call("glue:startJobRun.sync", json!({"JobName": "missing"})).await);
    assert_eq!(error, "Glue.EntityNotFoundException");
}

/// Starts a `.sync` job and asks about it until it ends, as the engine would: the job the
/// start named and the task's output.
async fn run_sync(tasks: &AwsTasks<NoTasks>, resource: &str, params: Value) -> (Value, Value) {
    let mut req = request(&format!("arn:aws:states:::{resource}"), params);
    let (job, submitted) = match tasks.invoke(EXECUTION, &req).await {
        TaskOutcome::Job { job, submitted } => (job, submitted),
        other => panic!("{resource}: expected a job, got {other:?}"),
    };
    assert!(
        submitted.is_some(),
        "the start call's answer is the TaskSubmitted output"
    );
    req.job = Some(job.clone());
    for _ in 0..20 {
        match tasks.invoke(EXECUTION, &req).await {
            TaskOutcome::Job { submitted, .. } => assert!(submitted.is_none()),
            TaskOutcome::Succeeded(out) => return (job, out),
            other => panic!("{resource}: {other:?}"),
        }
    }
    panic!("{resource}: the job did not end in 20 polls")
}

#[tokio::test]
async fn item_readers_page_through_listings_and_read_objects() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let call = |resource: &str, params: Value| {
        let req = request(&format!("arn:aws:states:::{resource}"), params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    succeeded(call("aws-sdk:s3:createBucket", json!({"Bucket": "data"})).await);
    for key in ["a.json", "b.json", "c.json"] {
        succeeded(
            call(
                "aws-sdk:s3:putObject",
                json!({"Bucket": "data", "Key": key, "Body": "[1,2,3]"}),
            )
            .await,
        );
    }
    let read = |resource: &str, params: Value, config: Value| {
        let mut req = request(&format!("arn:aws:states:::{resource}"), params);
        req.reader = Some(config);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    // One key a page: the reader follows the continuation tokens.
    let listed = succeeded(
        read(
            "s3:listObjectsV2",
            json!({"Bucket": "data", "MaxKeys": 1}),
            json!({}),
        )
        .await,
    );
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a.json", "b.json", "c.json"], "{listed}");
    assert!(listed[0]["LastModified"].is_i64(), "{listed}");
    assert_eq!(listed[0]["Size"], 7);
    let listed = succeeded(
        read(
            "s3:listObjectsV2",
            json!({"Bucket": "data", "MaxKeys": 1}),
            json!({"MaxItems": 2}),
        )
        .await,
    );
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let items = succeeded(
        read(
            "s3:getObject",
            json!({"Bucket": "data", "Key": "b.json"}),
            json!({"InputType": "JSON"}),
        )
        .await,
    );
    assert_eq!(items, json!([1, 2, 3]));
    let (error, cause) = failed(
        read(
            "s3:getObject",
            json!({"Bucket": "data", "Key": "nope"}),
            json!({"InputType": "JSON"}),
        )
        .await,
    );
    assert_eq!(error, "States.ItemReaderFailed");
    assert!(cause.contains("S3."), "{cause}");
    // s3:getObject is not a Task's resource.
    let (error, cause) = failed(call("s3:getObject", json!({})).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("ItemReader"), "{cause}");
}

/// A ResultWriter's writes (`waymark_engine::step::Write`) on S3: whole files put, and a file
/// larger than a part as a multipart upload that S3 assembles; an aborted upload leaves
/// nothing; a bucket that is not there is States.ResultWriterFailed.
#[tokio::test]
async fn result_writes_put_files_and_upload_in_parts() {
    use waymark_engine::step::Write;
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let call = |resource: &str, params: Value| {
        let req = request(&format!("arn:aws:states:::{resource}"), params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    let write = |w: Write, bucket: &str| {
        let req = w.request(&request("arn:aws:states:::s3:putObject", json!({})), bucket);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    succeeded(call("aws-sdk:s3:createBucket", json!({"Bucket": "out"})).await);
    let key = "runs/r1/SUCCEEDED_0.json".to_string();
    let begun = succeeded(write(Write::Begin { key: key.clone() }, "out").await);
    let upload_id = begun["UploadId"]
        .as_str()
        .expect("an upload id")
        .to_string();
    // S3 takes parts of 5 MiB and more, but for the last.
    let first = format!("[{}", "1,".repeat(5 * 512 * 1024 + 10));
    let bodies = [first, "2]".to_string()];
    let mut parts = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let number = i as u32 + 1;
        let part = Write::Part {
            key: key.clone(),
            upload_id: upload_id.clone(),
            number,
            body: body.clone(),
        };
        let answer = succeeded(write(part, "out").await);
        parts.push((
            number,
            answer["ETag"].as_str().expect("an ETag").to_string(),
        ));
    }
    let complete = Write::Complete {
        key: key.clone(),
        upload_id,
        parts,
    };
    succeeded(write(complete, "out").await);
    let manifest = (
        "runs/r1/manifest.json".to_string(),
        r#"{"ResultFiles":{}}"#.to_string(),
    );
    succeeded(write(Write::Put(vec![manifest]), "out").await);
    let got = succeeded(call("aws-sdk:s3:getObject", json!({"Bucket": "out", "Key": key})).await);
    let body = got["Body"].as_str().unwrap();
    assert_eq!(body.len(), bodies[0].len() + 2);
    let values: Vec<u8> = serde_json::from_str(body).expect("the parts make one JSON array");
    assert_eq!(values.len(), 5 * 512 * 1024 + 11);
    assert_eq!(values.last(), Some(&2));
    let got = call(
        "aws-sdk:s3:getObject",
        json!({"Bucket": "out", "Key": "runs/r1/manifest.json"}),
    );
    assert_eq!(succeeded(got.await)["Body"], r#"{"ResultFiles":{}}"#);

    // An aborted upload is gone.
    let other = "runs/r2/FAILED_0.json".to_string();
    let begun = succeeded(write(Write::Begin { key: other.clone() }, "out").await);
    let upload_id = begun["UploadId"].as_str().unwrap().to_string();
    let listed = succeeded(call("aws-sdk:s3:listMultipartUploads", json!({"Bucket": "out"})).await);
    assert_eq!(
        listed["Uploads"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    succeeded(
        write(
            Write::Abort {
                key: other,
                upload_id,
            },
            "out",
        )
        .await,
    );
    let listed = succeeded(call("aws-sdk:s3:listMultipartUploads", json!({"Bucket": "out"})).await);
    assert!(
        listed["Uploads"].as_array().is_none_or(Vec::is_empty),
        "{listed}"
    );

    let (error, cause) = failed(write(Write::Begin { key }, "nope").await);
    assert_eq!(error, "States.ResultWriterFailed");
    assert!(cause.contains("NoSuchBucket"), "{cause}");
}

/// The optimised ECS integration: PascalCase parameters and results over ECS's camelCase API,
/// Request Response, and Run a Job ending when the task stops.
#[tokio::test]
async fn ecs_run_task_request_response_and_sync() {
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let call = |resource: &str, params: Value| {
        let req = request(&format!("arn:aws:states:::{resource}"), params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    succeeded(call("aws-sdk:ecs:createCluster", json!({"ClusterName": "work"})).await);
    succeeded(
        call(
            "aws-sdk:ecs:registerTaskDefinition",
            json!({"Family": "job", "ContainerDefinitions": [{"Name": "app", "Image": "busybox", "Memory": 128}]}),
        )
        .await,
    );
    let params = json!({"Cluster": "work", "TaskDefinition": "job", "LaunchType": "FARGATE",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "AssignPublicIp": "ENABLED"}},
        "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "MODE", "Value": "fast"}]}]}});
    let out = succeeded(call("ecs:runTask", params.clone()).await);
    let task = &out["Tasks"][0];
    assert!(
        task["TaskArn"].as_str().unwrap().contains(":task/"),
        "{out}"
    );
    assert_eq!(out["Failures"], json!([]));
    // .sync: a job until the task stops, then the task's description.
    let mut req = request("arn:aws:states:::ecs:runTask.sync", params);
    let job = match tasks.invoke(EXECUTION, &req).await {
        TaskOutcome::Job { job, submitted } => {
            assert!(submitted.unwrap()["Tasks"][0]["TaskArn"].is_string());
            job
        }
        other => panic!("expected a job, got {other:?}"),
    };
    req.job = Some(job.clone());
    assert!(matches!(
        tasks.invoke(EXECUTION, &req).await,
        TaskOutcome::Job { .. }
    ));
    let arn = job["Tasks"][0].clone();
    succeeded(
        call(
            "aws-sdk:ecs:stopTask",
            json!({"Cluster": "work", "Task": arn}),
        )
        .await,
    );
    let done = succeeded(tasks.invoke(EXECUTION, &req).await);
    assert_eq!(done["LastStatus"], "STOPPED", "{done}");
    assert_eq!(done["TaskArn"], arn);
    // A task definition that does not exist is the service's error.
    let (error, _) = failed(
        call(
            "ecs:runTask",
            json!({"Cluster": "nowhere", "TaskDefinition": "job"}),
        )
        .await,
    );
    assert!(error.starts_with("Ecs."), "{error}");
    assert_eq!(done["Containers"][0]["ExitCode"], 0, "{done}");
}

/// An ItemReader reads an object in ranges, as far as its items are used: pieces cut inside
/// lines and characters give the items of the whole object; an object far larger than what
/// was once read whole (8 MiB) gives its first items under `MaxItems`; a gzipped object is
/// unzipped as its ranges arrive; a dataset larger than what one read may hold fails saying so.
#[tokio::test]
async fn item_readers_read_large_objects_range_by_range() {
    use std::io::Write as _;
    use waymark_tasks::aws::READ_RANGE_BYTES;
    use waymark_tasks::item_reader::MAX_READ_BYTES;
    let moto = Moto::start();
    let tasks = tasks(&moto).await;
    let read = |key: &str, config: Value| {
        let mut req = request(
            "arn:aws:states:::s3:getObject",
            json!({"Bucket": "big", "Key": key}),
        );
        req.reader = Some(config);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    moto.put_s3("big", "", b"");

    // About 200 KiB of JSON Lines with two-byte characters: two ranges, the cut falling inside
    // a line (and perhaps a character).
    let lines: Vec<Value> = (0..1500)
        .map(|i| json!({"n": i, "text": "é".repeat(60)}))
        .collect();
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(body.len() as u64 > READ_RANGE_BYTES && body.len() < MAX_READ_BYTES);
    moto.put_s3("big", "lines.jsonl", body.as_bytes());
    let items = succeeded(read("lines.jsonl", json!({"InputType": "JSONL"})).await);
    assert_eq!(items, Value::Array(lines.clone()));
    // The same as a JSON array and as CSV.
    moto.put_s3(
        "big",
        "array.json",
        Value::Array(lines.clone()).to_string().as_bytes(),
    );
    let items = succeeded(read("array.json", json!({"InputType": "JSON"})).await);
    assert_eq!(items, Value::Array(lines.clone()));
    let csv: String = std::iter::once("n,text\n".to_string())
        .chain(
            lines
                .iter()
                .map(|l| format!("{},\"{}\"\n", l["n"], l["text"].as_str().unwrap())),
        )
        .collect();
    moto.put_s3("big", "rows.csv", csv.as_bytes());
    let items = succeeded(read("rows.csv", json!({"InputType": "CSV"})).await);
    assert_eq!(items.as_array().unwrap().len(), 1500);
    assert_eq!(items[1499], json!({"n": "1499", "text": "é".repeat(60)}));

    // 9 MiB: only its first range is read for three items.
    let line = format!("{}\n", json!({"pad": "x".repeat(1000)}));
    let huge = line.repeat(9 * 1024);
    moto.put_s3("big", "huge.jsonl", huge.as_bytes());
    let items = succeeded(read("huge.jsonl", json!({"InputType": "JSONL", "MaxItems": 3})).await);
    assert_eq!(items.as_array().unwrap().len(), 3);
    // Read on, it comes window by window, each at most what one read may hold.
    let params = json!({"Bucket": "big", "Key": "huge.jsonl"});
    let config = json!({"InputType": "JSONL"});
    let (items, reads) = read_windows(&tasks, "s3:getObject", &params, config).await;
    assert_eq!(items.len(), 9 * 1024);
    assert!(items
        .iter()
        .all(|i| i["pad"].as_str().unwrap().len() == 1000));
    assert!(reads > huge.len() / MAX_READ_BYTES, "{reads} reads");

    // Gzipped text that compresses little (so the zip spans ranges), unzipped as it arrives.
    let mut seed = 7u64;
    let noise: Vec<Value> = (0..3600)
        .map(|_| {
            let word: String = (0..100)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + (seed >> 59) as u8 % 26)
                })
                .collect();
            json!(word)
        })
        .collect();
    let text: String = noise.iter().map(|w| format!("{w}\n")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let zipped = gz.finish().unwrap();
    assert!(
        zipped.len() as u64 > READ_RANGE_BYTES,
        "{} bytes zipped",
        zipped.len()
    );
    moto.put_s3("big", "noise.jsonl.gz", &zipped);
    // The items wanted end in the zip's second range.
    let items = succeeded(
        read(
            "noise.jsonl.gz",
            json!({"InputType": "JSONL", "MaxItems": 2100}),
        )
        .await,
    );
    assert_eq!(items, Value::Array(noise[..2100].to_vec()));
    // All of it, in two windows: the second unzips the object from its start again.
    let params = json!({"Bucket": "big", "Key": "noise.jsonl.gz"});
    let config = json!({"InputType": "JSONL"});
    let (items, reads) = read_windows(&tasks, "s3:getObject", &params, config).await;
    assert_eq!((items, reads), (noise, 2));

    // An empty object has no items.
    moto.put_s3("big", "empty.jsonl", b"");
    let items = succeeded(read("empty.jsonl", json!({"InputType": "JSONL"})).await);
    assert_eq!(items, json!([]));
}

/// Reads every window of an ItemReader, each request carrying the cursor the answer before
/// gave, as the engine does: the items, and how many reads gave them. Every window holds at
/// most what one read may, and moves on.
async fn read_windows(
    tasks: &AwsTasks<NoTasks>,
    resource: &str,
    params: &Value,
    mut config: Value,
) -> (Vec<Value>, usize) {
    use waymark_tasks::item_reader::MAX_READ_BYTES;
    let mut all = Vec::new();
    let mut reads = 0;
    loop {
        reads += 1;
        assert!(reads < 10_000, "the reader never ends");
        let mut req = request(&format!("arn:aws:states:::{resource}"), params.clone());
        req.reader = Some(config.clone());
        let answer = succeeded(tasks.invoke(EXECUTION, &req).await);
        let (items, cursor) = match answer {
            Value::Array(items) => (items, None),
            window => (
                window["Items"]
                    .as_array()
                    .expect("a window's items")
                    .clone(),
                Some(window["Cursor"].clone()),
            ),
        };
        let size: usize = items
            .iter()
            .map(|i| waymark_asl::json::payload_size(i) + 1)
            .sum();
        assert!(size <= MAX_READ_BYTES || items.len() == 1, "{size} bytes");
        all.extend(items);
        match cursor {
            None => return (all, reads),
            Some(c) => config["Cursor"] = c,
        }
    }
}

/// Windows of a few items (a read window of 300 bytes): every reader goes on where the one
/// before stopped, across listing pages, CSV rows after the header, a JSON array, an
/// `ItemsPointer` document and an inventory's files; `MaxItems` counts across windows.
#[tokio::test]
async fn item_readers_go_on_window_by_window() {
    use std::io::Write as _;
    let moto = Moto::start();
    let tasks = tasks(&moto).await.with_read_window(300);
    for bucket in ["win", "list", "inv"] {
        moto.put_s3(bucket, "", b"");
    }
    let values: Vec<Value> = (0..40)
        .map(|i| json!({"n": i, "pad": "x".repeat(20)}))
        .collect();
    let jsonl: String = values.iter().map(|v| format!("{v}\n")).collect();
    moto.put_s3("win", "v.jsonl", jsonl.as_bytes());
    moto.put_s3(
        "win",
        "v.json",
        Value::Array(values.clone()).to_string().as_bytes(),
    );
    let doc = json!({"meta": {"n": 40}, "data": {"rows": values}});
    moto.put_s3("win", "doc.json", doc.to_string().as_bytes());
    let csv: String = std::iter::once("n;pad\r\n".to_string())
        .chain(
            values
                .iter()
                .map(|v| format!("{};\"{}\"\r\n", v["n"], v["pad"].as_str().unwrap())),
        )
        .collect();
    moto.put_s3("win", "v.csv", csv.as_bytes());
    let as_rows: Vec<Value> = values
        .iter()
        .map(|v| json!({"n": v["n"].to_string(), "pad": v["pad"]}))
        .collect();
    let get = |key: &str| json!({"Bucket": "win", "Key": key});

    for (key, config, want) in [
        ("v.jsonl", json!({"InputType": "JSONL"}), values.clone()),
        ("v.json", json!({"InputType": "JSON"}), values.clone()),
        (
            "v.json",
            json!({"InputType": "JSON", "MaxItems": 17}),
            values[..17].to_vec(),
        ),
        (
            "doc.json",
            json!({"InputType": "JSON", "ItemsPointer": "/data/rows"}),
            values.clone(),
        ),
        (
            "v.csv",
            json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "CSVDelimiter": "SEMICOLON"}),
            as_rows.clone(),
        ),
    ] {
        let (items, reads) = read_windows(&tasks, "s3:getObject", &get(key), config.clone()).await;
        assert_eq!(items, want, "{key} {config}");
        assert!(
            reads >= want.len() / 7,
            "{key}: {reads} reads of {} items",
            want.len()
        );
    }

    // A listing of 12 objects, 5 a page, read 2 or 3 a window.
    for i in 0..12 {
        moto.put_s3("list", &format!("k{i:02}"), b"x");
    }
    let (items, reads) = read_windows(
        &tasks,
        "s3:listObjectsV2",
        &json!({"Bucket": "list", "MaxKeys": 5}),
        json!({}),
    )
    .await;
    let keys: Vec<&str> = items.iter().map(|o| o["Key"].as_str().unwrap()).collect();
    let want: Vec<String> = (0..12).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys, want);
    assert!(reads >= 4, "{reads} reads");
    let (items, _) = read_windows(
        &tasks,
        "s3:listObjectsV2",
        &json!({"Bucket": "list", "MaxKeys": 5}),
        json!({"MaxItems": 7}),
    )
    .await;
    assert_eq!(items.len(), 7);

    // An inventory of two gzipped files, read on across them.
    let row = |i: usize| format!("\"src\",\"key{i:03}\",\"{i}\"\n");
    for (file, range) in [("a.csv.gz", 0..9), ("b.csv.gz", 9..20)] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in range {
            gz.write_all(row(i).as_bytes()).unwrap();
        }
        moto.put_s3("inv", &format!("data/{file}"), &gz.finish().unwrap());
    }
    let manifest = json!({"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv",
        "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "data/a.csv.gz"}, {"key": "data/b.csv.gz"}]});
    moto.put_s3("inv", "manifest.json", manifest.to_string().as_bytes());
    let (items, reads) = read_windows(
        &tasks,
        "s3:getObject",
        &json!({"Bucket": "inv", "Key": "manifest.json"}),
        json!({"InputType": "MANIFEST"}),
    )
    .await;
    let keys: Vec<String> = items
        .iter()
        .map(|o| o["Key"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..20).map(|i| format!("key{i:03}")).collect();
    assert_eq!(keys, want);
    assert!(reads >= 4, "{reads} reads");
}
