//! waymark-sdk against a real moto server: one service per protocol. Fails (never skips) when
//! `moto_server` is missing.

use serde_json::{json, Value};
use waymark_moto::Moto;
use waymark_sdk::{Config, SdkCaller, SdkError};

async fn caller(moto: &Moto) -> SdkCaller {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    SdkCaller::with_sdk_config(
        sdk,
        Config {
            endpoint_url: Some(moto.endpoint.clone()),
            region: None,
        },
    )
}

async fn ok(c: &SdkCaller, service: &str, action: &str, params: Value) -> Value {
    match c.call(service, action, params).await {
        Ok(v) => v,
        Err(e) => panic!("{service}:{action} failed: {e}"),
    }
}

async fn err(c: &SdkCaller, service: &str, action: &str, params: Value) -> SdkError {
    match c.call(service, action, params).await {
        Ok(v) => panic!("{service}:{action} succeeded: {v}"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_rest_xml() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    ok(&c, "s3", "createBucket", json!({"Bucket": "sdk-bucket"})).await;
    let put = ok(
        &c,
        "s3",
        "putObject",
        json!({"Bucket": "sdk-bucket", "Key": "dir/a b.txt", "Body": "hello world", "ContentType": "text/plain",
               "Metadata": {"owner": "me"}}),
    )
    .await;
    assert!(
        put["ETag"]
            .as_str()
            .unwrap()
            .contains("5eb63bbbe01eeed093cb22bb8f5acdc3"),
        "{put}"
    );
    let got = ok(
        &c,
        "s3",
        "getObject",
        json!({"Bucket": "sdk-bucket", "Key": "dir/a b.txt"}),
    )
    .await;
    assert_eq!(got["Body"], "hello world", "{got}");
    // An object larger than any task can use is not read into memory whole.
    let big = "x".repeat(waymark_sdk::MAX_RESPONSE_BYTES + 1);
    ok(
        &c,
        "s3",
        "putObject",
        json!({"Bucket": "sdk-bucket", "Key": "big", "Body": big}),
    )
    .await;
    let e = err(
        &c,
        "s3",
        "getObject",
        json!({"Bucket": "sdk-bucket", "Key": "big"}),
    )
    .await;
    assert_eq!(e.error, "States.DataLimitExceeded", "{e}");
    assert_eq!(got["ContentType"], "text/plain");
    assert_eq!(got["ContentLength"], 11);
    assert_eq!(got["Metadata"], json!({"owner": "me"}));
    assert!(
        got["LastModified"].as_str().unwrap().ends_with('Z'),
        "{got}"
    );

    ok(
        &c,
        "s3",
        "putObject",
        json!({"Bucket": "sdk-bucket", "Key": "dir/b.txt", "Body": "b"}),
    )
    .await;
    let list = ok(
        &c,
        "s3",
        "listObjectsV2",
        json!({"Bucket": "sdk-bucket", "Prefix": "dir/"}),
    )
    .await;
    assert_eq!(list["KeyCount"], 2, "{list}");
    assert_eq!(list["IsTruncated"], false);
    let keys: Vec<&str> = list["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["dir/a b.txt", "dir/b.txt"]);
    assert_eq!(list["Contents"][0]["Size"], 11);

    let buckets = ok(&c, "s3", "listBuckets", json!({})).await;
    assert_eq!(buckets["Buckets"][0]["Name"], "sdk-bucket", "{buckets}");

    // An XML request body (payload structure) and DeleteObjects' required Content-MD5.
    let deleted = ok(
        &c,
        "s3",
        "deleteObjects",
        json!({"Bucket": "sdk-bucket", "Delete": {"Objects": [{"Key": "dir/b.txt"}], "Quiet": false}}),
    )
    .await;
    assert_eq!(deleted["Deleted"][0]["Key"], "dir/b.txt", "{deleted}");

    let e = err(
        &c,
        "s3",
        "getObject",
        json!({"Bucket": "sdk-bucket", "Key": "missing"}),
    )
    .await;
    assert_eq!(e.error, "S3.NoSuchKeyException", "{e}");
    assert!(e.cause.contains("The specified key does not exist."), "{e}");
    assert!(e.cause.contains("Service: S3, Status Code: 404"), "{e}");
    let e = err(
        &c,
        "s3",
        "listObjectsV2",
        json!({"Bucket": "no-such-bucket"}),
    )
    .await;
    assert_eq!(e.error, "S3.NoSuchBucketException", "{e}");
    let e = err(
        &c,
        "s3",
        "headObject",
        json!({"Bucket": "sdk-bucket", "Key": "missing"}),
    )
    .await;
    assert_eq!(e.error, "S3.NoSuchKeyException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_json_1_0() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let created = ok(
        &c,
        "dynamodb",
        "createTable",
        json!({
            "TableName": "sdk-table",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    assert_eq!(
        created["TableDescription"]["TableName"], "sdk-table",
        "{created}"
    );
    // Timestamps come back as ISO 8601.
    assert!(
        created["TableDescription"]["CreationDateTime"].is_string(),
        "{created}"
    );
    for n in 1..=3 {
        ok(
            &c,
            "dynamodb",
            "putItem",
            json!({"TableName": "sdk-table", "Item": {"pk": {"S": "a"}, "sk": {"N": n.to_string()}, "v": {"S": format!("v{n}")}}}),
        )
        .await;
    }
    let item = ok(
        &c,
        "dynamodb",
        "getItem",
        json!({"TableName": "sdk-table", "Key": {"pk": {"S": "a"}, "sk": {"N": "2"}}}),
    )
    .await;
    assert_eq!(
        item,
        json!({"Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "v": {"S": "v2"}}})
    );
    let q = ok(
        &c,
        "dynamodb",
        "query",
        json!({"TableName": "sdk-table", "KeyConditionExpression": "pk = :p AND sk > :s",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "1"}}}),
    )
    .await;
    assert_eq!(q["Count"], 2, "{q}");
    assert_eq!(q["Items"][1]["v"]["S"], "v3");

    let e = err(
        &c,
        "dynamodb",
        "getItem",
        json!({"TableName": "nope", "Key": {"pk": {"S": "a"}}}),
    )
    .await;
    assert_eq!(e.error, "DynamoDb.ResourceNotFoundException", "{e}");
    assert!(
        e.cause.contains("(Service: DynamoDb, Status Code: 400"),
        "{e}"
    );
    let e = err(
        &c,
        "dynamodb",
        "putItem",
        json!({"TableName": "sdk-table", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "ConditionExpression": "attribute_not_exists(pk)"}),
    )
    .await;
    assert_eq!(e.error, "DynamoDb.ConditionalCheckFailedException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_json_and_sns_query() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let q = ok(
        &c,
        "sqs",
        "createQueue",
        json!({"QueueName": "sdk-q", "Attributes": {"VisibilityTimeout": "5"}}),
    )
    .await;
    let url = q["QueueUrl"].as_str().unwrap().to_string();
    ok(
        &c,
        "sqs",
        "sendMessage",
        json!({"QueueUrl": url, "MessageBody": "hi"}),
    )
    .await;
    let got = ok(
        &c,
        "sqs",
        "receiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": 1}),
    )
    .await;
    assert_eq!(got["Messages"][0]["Body"], "hi", "{got}");
    let e = err(&c, "sqs", "getQueueUrl", json!({"QueueName": "missing"})).await;
    assert_eq!(e.error, "Sqs.QueueDoesNotExistException", "{e}");

    let t = ok(
        &c,
        "sns",
        "createTopic",
        json!({"Name": "sdk-topic", "Tags": [{"Key": "k", "Value": "v"}]}),
    )
    .await;
    let arn = t["TopicArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(":sdk-topic"), "{t}");
    let p = ok(
        &c,
        "sns",
        "publish",
        json!({"TopicArn": arn, "Message": "m",
        "MessageAttributes": {"a": {"DataType": "String", "StringValue": "x"}}}),
    )
    .await;
    assert!(p["MessageId"].is_string(), "{p}");
    let topics = ok(&c, "sns", "listTopics", json!({})).await;
    assert_eq!(topics["Topics"][0]["TopicArn"], arn, "{topics}");
    let attrs = ok(&c, "sns", "getTopicAttributes", json!({"TopicArn": arn})).await;
    assert_eq!(attrs["Attributes"]["TopicArn"], arn, "{attrs}");
    let e = err(
        &c,
        "sns",
        "getTopicAttributes",
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:none"}),
    )
    .await;
    assert_eq!(e.error, "Sns.NotFoundException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_rest_json() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let list = ok(&c, "lambda", "listFunctions", json!({"MaxItems": 10})).await;
    assert_eq!(list["Functions"], json!([]), "{list}");
    let e = err(
        &c,
        "lambda",
        "getFunction",
        json!({"FunctionName": "missing"}),
    )
    .await;
    assert_eq!(e.error, "Lambda.ResourceNotFoundException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_protocol() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let run = ok(
        &c,
        "ec2",
        "runInstances",
        json!({"ImageId": "ami-12c6146b", "MinCount": 2, "MaxCount": 2, "InstanceType": "t2.micro",
               "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "sdk"}]}]}),
    )
    .await;
    assert_eq!(run["Instances"].as_array().unwrap().len(), 2, "{run}");
    let id = run["Instances"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    let d = ok(
        &c,
        "ec2",
        "describeInstances",
        json!({"Filters": [{"Name": "tag:Name", "Values": ["sdk"]}], "InstanceIds": [id]}),
    )
    .await;
    let inst = &d["Reservations"][0]["Instances"][0];
    assert_eq!(inst["InstanceId"], id, "{d}");
    assert_eq!(inst["InstanceType"], "t2.micro");
    assert_eq!(inst["State"]["Name"], "running");
    assert!(
        inst["LaunchTime"].as_str().unwrap().ends_with('Z'),
        "{inst}"
    );
    let e = err(
        &c,
        "ec2",
        "describeInstances",
        json!({"InstanceIds": ["i-00000000000000000"]}),
    )
    .await;
    // EC2 models no errors: the SDK's generic exception.
    assert_eq!(e.error, "Ec2.Ec2Exception", "{e}");
    assert!(e.cause.contains("Status Code: 400"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudformation_query_and_organizations_json_1_1() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let template = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-q"}}}});
    let created = ok(
        &c,
        "cloudformation",
        "createStack",
        json!({"StackName": "sdk-stack", "TemplateBody": template.to_string(),
               "Parameters": [], "Tags": [{"Key": "k", "Value": "v"}]}),
    )
    .await;
    assert!(
        created["StackId"].as_str().unwrap().contains("sdk-stack"),
        "{created}"
    );
    let d = ok(
        &c,
        "cloudformation",
        "describeStacks",
        json!({"StackName": "sdk-stack"}),
    )
    .await;
    assert_eq!(d["Stacks"][0]["StackName"], "sdk-stack", "{d}");
    assert_eq!(d["Stacks"][0]["Tags"], json!([{"Key": "k", "Value": "v"}]));
    let e = err(
        &c,
        "cloudformation",
        "describeStacks",
        json!({"StackName": "missing"}),
    )
    .await;
    assert_eq!(e.error, "CloudFormation.CloudFormationException", "{e}");

    let org = ok(
        &c,
        "organizations",
        "createOrganization",
        json!({"FeatureSet": "ALL"}),
    )
    .await;
    assert_eq!(org["Organization"]["FeatureSet"], "ALL", "{org}");
    let accounts = ok(&c, "organizations", "listAccounts", json!({})).await;
    assert!(
        !accounts["Accounts"].as_array().unwrap().is_empty(),
        "{accounts}"
    );
    let e = err(
        &c,
        "organizations",
        "describeAccount",
        json!({"AccountId": "111111111111"}),
    )
    .await;
    assert_eq!(e.error, "Organizations.AccountNotFoundException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sfn_json_1_0() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let sm = ok(
        &c,
        "sfn",
        "createStateMachine",
        json!({"Name": "sdk-sm", "Definition": definition.to_string(),
               "RoleArn": "arn:aws:iam::123456789012:role/r"}),
    )
    .await;
    let arn = sm["StateMachineArn"].as_str().unwrap().to_string();
    assert!(sm["CreationDate"].as_str().unwrap().ends_with('Z'), "{sm}");
    let ex = ok(
        &c,
        "sfn",
        "startExecution",
        json!({"StateMachineArn": arn, "Input": "{}"}),
    )
    .await;
    assert!(ex["ExecutionArn"].is_string(), "{ex}");
    let list = ok(&c, "sfn", "listStateMachines", json!({})).await;
    assert_eq!(list["StateMachines"][0]["Name"], "sdk-sm", "{list}");
    let e = err(
        &c,
        "sfn",
        "describeExecution",
        json!({"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:sdk-sm:none"}),
    )
    .await;
    assert_eq!(e.error, "Sfn.ExecutionDoesNotExistException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_is_a_client_exception() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "a", "b", None, None, "t",
        ))
        .load()
        .await;
    let c = SdkCaller::with_sdk_config(
        sdk,
        Config {
            endpoint_url: Some("http://127.0.0.1:9".to_string()),
            region: None,
        },
    );
    let e = c.call("sqs", "listQueues", json!({})).await.unwrap_err();
    assert_eq!(e.error, "Sqs.SdkClientException", "{e}");
    let e = c.call("nosuch", "listQueues", json!({})).await.unwrap_err();
    assert_eq!(e.error, "States.Runtime", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_json_and_query_services() {
    let moto = Moto::start();
    let c = caller(&moto).await;

    // KMS (json 1.1): blobs go out base64 and come back as text.
    let key = ok(&c, "kms", "createKey", json!({"Description": "sdk"})).await;
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    assert!(
        key["KeyMetadata"]["CreationDate"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "{key}"
    );
    let enc = ok(
        &c,
        "kms",
        "encrypt",
        json!({"KeyId": key_id, "Plaintext": "secret text"}),
    )
    .await;
    assert!(enc["CiphertextBlob"].is_string(), "{enc}");
    let e = err(&c, "kms", "describeKey", json!({"KeyId": "alias/none"})).await;
    assert_eq!(e.error, "Kms.NotFoundException", "{e}");

    // Secrets Manager and SSM (json 1.1).
    ok(
        &c,
        "secretsmanager",
        "createSecret",
        json!({"Name": "s", "SecretString": "v"}),
    )
    .await;
    let s = ok(
        &c,
        "secretsmanager",
        "getSecretValue",
        json!({"SecretId": "s"}),
    )
    .await;
    assert_eq!(s["SecretString"], "v", "{s}");
    let e = err(
        &c,
        "secretsmanager",
        "getSecretValue",
        json!({"SecretId": "none"}),
    )
    .await;
    assert_eq!(e.error, "SecretsManager.ResourceNotFoundException", "{e}");
    ok(
        &c,
        "ssm",
        "putParameter",
        json!({"Name": "/p", "Value": "1", "Type": "String"}),
    )
    .await;
    let p = ok(&c, "ssm", "getParameter", json!({"Name": "/p"})).await;
    assert_eq!(p["Parameter"]["Value"], "1", "{p}");
    let e = err(&c, "ssm", "getParameter", json!({"Name": "/none"})).await;
    assert_eq!(e.error, "Ssm.ParameterNotFoundException", "{e}");

    // EventBridge (json 1.1, Step Functions calls it eventbridge).
    let put = ok(
        &c,
        "eventbridge",
        "putEvents",
        json!({"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
    )
    .await;
    assert_eq!(put["FailedEntryCount"], 0, "{put}");

    // IAM and STS (query).
    let role = ok(
        &c,
        "iam",
        "createRole",
        json!({"RoleName": "r", "AssumeRolePolicyDocument": "{}"}),
    )
    .await;
    assert_eq!(role["Role"]["RoleName"], "r", "{role}");
    let e = err(&c, "iam", "getRole", json!({"RoleName": "none"})).await;
    assert_eq!(e.error, "Iam.NoSuchEntityException", "{e}");
    let me = ok(&c, "sts", "getCallerIdentity", json!({})).await;
    assert_eq!(me["Account"], "123456789012", "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ml_services_rekognition_textract_polly() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let labels = ok(
        &c,
        "rekognition",
        "detectLabels",
        json!({"Image": {"S3Object": {"Bucket": "b", "Name": "cat.jpg"}}, "MaxLabels": 5}),
    )
    .await;
    assert!(labels["Labels"].is_array(), "{labels}");
    let text = ok(
        &c,
        "textract",
        "detectDocumentText",
        json!({"Document": {"S3Object": {"Bucket": "b", "Name": "doc.png"}}}),
    )
    .await;
    assert!(
        text["Blocks"].is_array() || text["DocumentMetadata"].is_object(),
        "{text}"
    );

    // Polly (rest-json): a querystring GET, a PUT with a JSON body, a modeled 404.
    let voices = ok(
        &c,
        "polly",
        "describeVoices",
        json!({"LanguageCode": "en-US"}),
    )
    .await;
    assert!(!voices["Voices"].as_array().unwrap().is_empty(), "{voices}");
    let lexicon = r#"<?xml version="1.0" encoding="UTF-8"?><lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en-US"><lexeme><grapheme>W3C</grapheme><alias>World Wide Web Consortium</alias></lexeme></lexicon>"#;
    ok(
        &c,
        "polly",
        "putLexicon",
        json!({"Name": "lex", "Content": lexicon}),
    )
    .await;
    let got = ok(&c, "polly", "getLexicon", json!({"Name": "lex"})).await;
    assert_eq!(got["Lexicon"]["Name"], "lex", "{got}");
    let e = err(&c, "polly", "getLexicon", json!({"Name": "none"})).await;
    assert_eq!(e.error, "Polly.LexiconNotFoundException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_speaks_json_of_its_protocols() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    ok(
        &c,
        "cloudwatch",
        "putMetricData",
        json!({"Namespace": "ns", "MetricData": [{"MetricName": "m", "Value": 1.5, "Unit": "Count",
               "Timestamp": "2024-01-02T03:04:05Z", "Dimensions": [{"Name": "d", "Value": "v"}]}]}),
    )
    .await;
    let list = ok(&c, "cloudwatch", "listMetrics", json!({"Namespace": "ns"})).await;
    assert_eq!(list["Metrics"][0]["MetricName"], "m", "{list}");
    assert_eq!(
        list["Metrics"][0]["Dimensions"],
        json!([{"Name": "d", "Value": "v"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_with_other_credentials_and_region() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let options = waymark_sdk::CallOptions {
        credentials: Some(aws_credential_types::Credentials::new(
            "AKIAOTHER",
            "secret",
            Some("token".into()),
            None,
            "task",
        )),
        region: Some("eu-west-1".into()),
    };
    let q = c
        .call_with("sqs", "createQueue", json!({"QueueName": "eu-q"}), &options)
        .await
        .unwrap();
    assert!(q["QueueUrl"].as_str().unwrap().contains("eu-q"), "{q}");
    // moto keeps regions apart: the queue is not in us-east-1.
    let listed = ok(&c, "sqs", "listQueues", json!({})).await;
    assert!(listed.get("QueueUrls").is_none(), "{listed}");
    assert_eq!(waymark_sdk::error_prefix("dynamodb"), Some("DynamoDb"));
    assert_eq!(waymark_sdk::error_prefix("nosuch"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_rest_xml_with_request_bodies() {
    let moto = Moto::start();
    let c = caller(&moto).await;
    let zone = ok(
        &c,
        "route53",
        "createHostedZone",
        json!({"Name": "example.com", "CallerReference": "ref-1",
               "HostedZoneConfig": {"Comment": "sdk", "PrivateZone": false}}),
    )
    .await;
    let id = zone["HostedZone"]["Id"].as_str().unwrap().to_string();
    assert_eq!(zone["HostedZone"]["Name"], "example.com.", "{zone}");
    assert!(zone["Location"].is_string(), "{zone}");
    let change = ok(
        &c,
        "route53",
        "changeResourceRecordSets",
        json!({"HostedZoneId": id, "ChangeBatch": {"Changes": [{"Action": "CREATE",
               "ResourceRecordSet": {"Name": "a.example.com", "Type": "A", "Ttl": 60,
                                     "ResourceRecords": [{"Value": "192.0.2.1"}]}}]}}),
    )
    .await;
    assert!(change["ChangeInfo"]["Id"].is_string(), "{change}");
    let sets = ok(
        &c,
        "route53",
        "listResourceRecordSets",
        json!({"HostedZoneId": id}),
    )
    .await;
    let names: Vec<&str> = sets["ResourceRecordSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"a.example.com."), "{sets}");
    let e = err(&c, "route53", "getHostedZone", json!({"Id": "ZNONE"})).await;
    assert_eq!(e.error, "Route53.NoSuchHostedZoneException", "{e}");
}
