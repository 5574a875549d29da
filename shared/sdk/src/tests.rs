//! Offline tests: names, validation and each protocol's serialisation and parsing.

use serde_json::{json, Value};

use crate::deserialize::{self, Response};
use crate::model::{self, Model, Ref};
use crate::serialize::{serialize, Request};
use crate::{check, check_params, error_name};

fn request(service: &str, action: &str, params: Value) -> Request {
    request_with(service, action, params, false)
}

fn request_with(service: &str, action: &str, params: Value, virtual_host: bool) -> Request {
    let (svc, op) = crate::resolve(service, action).unwrap();
    serialize(
        &svc.model,
        &svc.model.operations[&op],
        &params,
        virtual_host,
    )
    .unwrap()
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn body(req: &Request) -> String {
    String::from_utf8(req.body.clone()).unwrap()
}

fn form(req: &Request) -> Vec<(String, String)> {
    body(req)
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn parse(service: &str, action: &str, resp: &Response) -> Value {
    let (svc, op) = crate::resolve(service, action).unwrap();
    deserialize::output(&svc.model, &svc.model.operations[&op], resp).unwrap()
}

/// The error name the caller gives for `resp`.
fn error_of(service: &str, action: &str, resp: &Response) -> String {
    let (svc, op) = crate::resolve(service, action).unwrap();
    let wire = deserialize::error(&svc.model, &svc.model.operations[&op], resp);
    error_name(
        svc.vendored.prefix,
        svc.errors.get(&wire.code).map(String::as_str),
    )
}

#[test]
fn step_functions_service_names_and_error_prefixes() {
    let expected = [
        ("s3", "S3", "s3"),
        ("dynamodb", "DynamoDb", "dynamodb"),
        ("sfn", "Sfn", "stepfunctions"),
        ("ec2", "Ec2", "ec2"),
        ("eventbridge", "EventBridge", "events"),
        ("bedrockruntime", "BedrockRuntime", "bedrock-runtime"),
        ("cloudwatchlogs", "CloudWatchLogs", "logs"),
        ("cloudformation", "CloudFormation", "cloudformation"),
        ("sqs", "Sqs", "sqs"),
        ("lambda", "Lambda", "lambda"),
    ];
    for (sfn, prefix, botocore) in expected {
        let v = model::vendored(sfn).unwrap_or_else(|| panic!("{sfn} is not vendored"));
        assert_eq!((v.prefix, v.botocore), (prefix, botocore));
    }
    for required in [
        "s3",
        "dynamodb",
        "sfn",
        "lambda",
        "sqs",
        "sns",
        "rekognition",
        "textract",
        "transcribe",
        "polly",
        "glue",
        "athena",
        "ec2",
        "organizations",
        "cloudformation",
        "comprehend",
        "eventbridge",
        "bedrockruntime",
    ] {
        assert!(check(required, "x").unwrap_err().contains("unknown action"));
    }
}

#[test]
fn error_names_follow_the_developer_guide() {
    // "ServiceName.ErrorName", both PascalCase, with an Exception suffix added when missing.
    assert_eq!(error_name("S3", Some("NoSuchKey")), "S3.NoSuchKeyException");
    assert_eq!(
        error_name("S3", Some("BucketAlreadyExists")),
        "S3.BucketAlreadyExistsException"
    );
    assert_eq!(
        error_name("AcmPca", Some("ResourceNotFoundException")),
        "AcmPca.ResourceNotFoundException"
    );
    // Not in the model: the SDK's service exception.
    assert_eq!(error_name("S3", None), "S3.S3Exception");
    assert_eq!(error_name("DynamoDb", None), "DynamoDb.DynamoDbException");

    let s3_404 = response(
        404,
        &[("x-amz-request-id", "R1")],
        "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>",
    );
    assert_eq!(
        error_of("s3", "getObject", &s3_404),
        "S3.NoSuchKeyException"
    );
    assert_eq!(
        error_of("s3", "headObject", &response(404, &[], "")),
        "S3.NoSuchKeyException"
    );
    let internal = "<Error><Code>InternalError</Code><Message>no</Message></Error>";
    assert_eq!(
        error_of("s3", "getObject", &response(500, &[], internal)),
        "S3.S3Exception"
    );
    let ddb = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#;
    assert_eq!(
        error_of("dynamodb", "getItem", &response(400, &[], ddb)),
        "DynamoDb.ResourceNotFoundException"
    );
    let validation =
        r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}"#;
    assert_eq!(
        error_of("dynamodb", "getItem", &response(400, &[], validation)),
        "DynamoDb.DynamoDbException"
    );
    // SQS (JSON, query-compatible): the shape is QueueDoesNotExist.
    let sqs = r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"nope"}"#;
    assert_eq!(
        error_of("sqs", "getQueueUrl", &response(400, &[], sqs)),
        "Sqs.QueueDoesNotExistException"
    );
    let ec2 = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>";
    assert_eq!(
        error_of("ec2", "describeInstances", &response(400, &[], ec2)),
        "Ec2.Ec2Exception"
    );
    let sns = "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>x</RequestId></ErrorResponse>";
    assert_eq!(
        error_of("sns", "getTopicAttributes", &response(404, &[], sns)),
        "Sns.NotFoundException"
    );
    let lambda = r#"{"Type":"User","Message":"Function not found"}"#;
    assert_eq!(
        error_of(
            "lambda",
            "getFunction",
            &response(
                404,
                &[(
                    "x-amzn-ErrorType",
                    "ResourceNotFoundException:http://internal"
                )],
                lambda
            )
        ),
        "Lambda.ResourceNotFoundException"
    );
}

#[test]
fn check_names_unknown_services_and_actions() {
    assert_eq!(check("s3", "getObject"), Ok(()));
    assert_eq!(check("dynamodb", "query"), Ok(()));
    assert_eq!(check("ec2", "describeInstances"), Ok(()));
    assert_eq!(check("sfn", "startExecution"), Ok(()));
    // Services real definitions call (aws-samples' serverless-patterns and workflows collection).
    assert_eq!(check("bedrockagentcore", "invokeAgentRuntime"), Ok(()));
    assert_eq!(check("mediaconvert", "createJob"), Ok(()));
    assert_eq!(check("datazone", "getAsset"), Ok(()));
    assert_eq!(check("entityresolution", "startMatchingJob"), Ok(()));
    assert_eq!(check("s3vectors", "putVectors"), Ok(()));
    assert_eq!(check("bedrockagentcorecontrol", "getAgentRuntime"), Ok(()));
    let e = check("nosuch", "getObject").unwrap_err();
    assert!(
        e.contains("unknown AWS SDK service 'nosuch'") && e.contains("dynamodb"),
        "{e}"
    );
    let e = check("s3", "getObjectt").unwrap_err();
    assert!(
        e.contains("unknown action 'getObjectt' of AWS SDK service 's3'"),
        "{e}"
    );
    let e = check("s3", "GetObject").unwrap_err();
    assert!(e.contains("did you mean 'getObject'"), "{e}");
    // botocore's name is not Step Functions'.
    assert!(check("stepfunctions", "startExecution").is_err());
}

#[test]
fn check_params_names_unknown_members_at_any_depth() {
    assert_eq!(
        check_params("s3", "getObject", &json!({"Bucket": "b", "Key.$": "$.key"})),
        Ok(())
    );
    let e = check_params("s3", "getObject", &json!({"Bucket": "b", "Kee": "k"})).unwrap_err();
    assert!(
        e.contains("unknown parameter 'Kee'") && e.contains("Key"),
        "{e}"
    );
    let e = check_params(
        "dynamodb",
        "query",
        &json!({"TableName": "t", "KeySchema": []}),
    )
    .unwrap_err();
    assert!(e.contains("'KeySchema'"), "{e}");
    let e = check_params(
        "ec2",
        "describeInstances",
        &json!({"Filters": [{"Name": "n", "Valuez": ["v"]}]}),
    )
    .unwrap_err();
    assert!(e.contains("'Valuez' in Filters[0]"), "{e}");
    // Map keys (DynamoDB attribute names) are free.
    assert_eq!(
        check_params(
            "dynamodb",
            "putItem",
            &json!({"TableName": "t", "Item": {"anything": {"S": "x"}}})
        ),
        Ok(())
    );
    let e = check_params(
        "dynamodb",
        "putItem",
        &json!({"TableName": "t", "Item": {"a": {"Z": "x"}}}),
    )
    .unwrap_err();
    assert!(e.contains("'Z' in Item.a"), "{e}");
}

/// Every vendored model parses, every reference in it resolves, and its protocol is spoken.
#[test]
fn every_vendored_model_loads_and_resolves() {
    fn walk(model: &Model, r: &Ref, seen: &mut std::collections::HashSet<String>) {
        if !seen.insert(r.shape.clone()) {
            return;
        }
        let s = model.shape(&r.shape);
        for m in s.members.values() {
            walk(model, m, seen);
        }
        for r in [&s.member, &s.key, &s.value].into_iter().flatten() {
            walk(model, r, seen);
        }
    }
    let mut count = 0;
    for name in crate::services() {
        let svc = model::service(name).unwrap();
        assert!(
            ["json", "rest-json", "rest-xml", "query", "ec2"].contains(&svc.model.protocol()),
            "{name}: {}",
            svc.model.protocol()
        );
        let mut seen = Default::default();
        for op in svc.model.operations.values() {
            for r in [&op.input, &op.output].into_iter().flatten() {
                walk(&svc.model, r, &mut seen);
            }
            count += 1;
        }
    }
    assert!(count > 2500, "{count} operations");
}

#[test]
fn json_protocol_targets_the_operation_and_sends_epoch_timestamps_and_base64_blobs() {
    let req = request(
        "dynamodb",
        "putItem",
        json!({"TableName": "t", "Item": {"k": {"S": "v"}, "b": {"B": "hi"}}}),
    );
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/"));
    assert_eq!(
        header(&req, "X-Amz-Target"),
        Some("DynamoDB_20120810.PutItem")
    );
    assert_eq!(
        header(&req, "Content-Type"),
        Some("application/x-amz-json-1.0")
    );
    let b: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        b,
        json!({"TableName": "t", "Item": {"k": {"S": "v"}, "b": {"B": "aGk="}}})
    );

    let req = request(
        "cloudwatchlogs",
        "getLogEvents",
        json!({"LogGroupName": "g", "LogStreamName": "s", "StartTime": 5}),
    );
    assert_eq!(
        header(&req, "Content-Type"),
        Some("application/x-amz-json-1.1")
    );
    assert_eq!(
        header(&req, "X-Amz-Target"),
        Some("Logs_20140328.GetLogEvents")
    );

    let req = request(
        "sfn",
        "getExecutionHistory",
        json!({"ExecutionArn": "a", "MaxResults": "10"}),
    );
    // PascalCase in Step Functions, the model's camelCase on the wire.
    let b: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(b, json!({"executionArn": "a", "maxResults": 10}));

    // A timestamp given as ISO 8601 goes out as epoch seconds.
    let req = request("athena", "listQueryExecutions", json!({"WorkGroup": "w"}));
    assert_eq!(body(&req), r#"{"WorkGroup":"w"}"#);
    let req = request(
        "kinesis",
        "getShardIterator",
        json!({"StreamName": "s", "ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP",
               "Timestamp": "2024-01-02T03:04:05Z"}),
    );
    let b: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(b["Timestamp"], json!(1704164645));

    // Wrong types are refused with the path.
    let (svc, op) = crate::resolve("dynamodb", "query").unwrap();
    let e = serialize(
        &svc.model,
        &svc.model.operations[&op],
        &json!({"TableName": "t", "Limit": "ten"}),
        false,
    )
    .unwrap_err();
    assert!(e.contains("Limit: expected an integer"), "{e}");
}

#[test]
fn rest_json_places_members_in_uri_query_headers_and_payload() {
    let req = request(
        "lambda",
        "invoke",
        json!({"FunctionName": "my fn", "InvocationType": "Event", "Payload": {"a": 1}, "Qualifier": "v1"}),
    );
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/2015-03-31/functions/my%20fn/invocations");
    assert_eq!(req.query, vec![("Qualifier".into(), "v1".into())]);
    assert_eq!(header(&req, "X-Amz-Invocation-Type"), Some("Event"));
    assert_eq!(body(&req), r#"{"a":1}"#);

    let req = request("lambda", "listFunctions", json!({"MaxItems": 5}));
    assert_eq!(req.method, "GET");
    assert_eq!(req.path_and_query(), "/2015-03-31/functions?MaxItems=5");
    assert!(req.body.is_empty());

    let req = request(
        "lambda",
        "createAlias",
        json!({"FunctionName": "f", "Name": "live", "FunctionVersion": "1"}),
    );
    assert_eq!(req.path, "/2015-03-31/functions/f/aliases");
    let b: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(b, json!({"Name": "live", "FunctionVersion": "1"}));
    assert_eq!(header(&req, "Content-Type"), Some("application/json"));

    let e = crate::resolve("lambda", "getFunction")
        .and_then(|(svc, op)| serialize(&svc.model, &svc.model.operations[&op], &json!({}), false))
        .unwrap_err();
    assert!(
        e.contains("missing required parameter 'FunctionName'"),
        "{e}"
    );

    // Output: header members, the status code, and a blob payload as text.
    let out = parse(
        "lambda",
        "invoke",
        &response(
            200,
            &[("X-Amz-Executed-Version", "$LATEST")],
            r#"{"ok":true}"#,
        ),
    );
    assert_eq!(
        out,
        json!({"ExecutedVersion": "$LATEST", "StatusCode": 200, "Payload": "{\"ok\":true}"})
    );
}

#[test]
fn rest_xml_s3_paths_hosts_bodies_and_checksums() {
    let req = request(
        "s3",
        "putObject",
        json!({"Bucket": "b", "Key": "a dir/é+x.txt", "Body": "hello", "ContentType": "text/plain",
               "Metadata": {"k": "v"}}),
    );
    assert_eq!(req.method, "PUT");
    assert_eq!(req.path, "/b/a%20dir/%C3%A9%2Bx.txt");
    assert_eq!(header(&req, "Content-Type"), Some("text/plain"));
    assert_eq!(header(&req, "x-amz-meta-k"), Some("v"));
    assert_eq!(body(&req), "hello");

    // Virtual-hosted style moves the bucket to the host.
    let req = request_with("s3", "getObject", json!({"Bucket": "b", "Key": "k"}), true);
    assert_eq!(
        (req.path.as_str(), req.host_prefix.as_deref()),
        ("/k", Some("b."))
    );
    let req = request_with("s3", "listObjectsV2", json!({"Bucket": "b"}), true);
    assert_eq!(req.path_and_query(), "/?list-type=2");

    let req = request(
        "s3",
        "listObjectsV2",
        json!({"Bucket": "b", "Prefix": "p/", "MaxKeys": 2}),
    );
    assert_eq!(
        req.path_and_query(),
        "/b?list-type=2&max-keys=2&prefix=p%2F"
    );

    let req = request(
        "s3",
        "createBucket",
        json!({"Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
    );
    assert_eq!(
        body(&req),
        r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#
    );

    let req = request(
        "s3",
        "deleteObjects",
        json!({"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}}),
    );
    assert_eq!(req.path_and_query(), "/b?delete");
    assert_eq!(
        body(&req),
        r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>x</Key></Object><Object><Key>y</Key></Object></Delete>"#
    );
    assert!(header(&req, "Content-MD5").is_some());

    let out = parse(
        "s3",
        "listObjectsV2",
        &response(
            200,
            &[],
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>"e"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"#,
        ),
    );
    assert_eq!(
        out,
        json!({"Contents": [{"ETag": "\"e\"", "Key": "a&b", "LastModified": "2024-01-02T03:04:05Z",
                             "Size": 3, "StorageClass": "STANDARD"}],
               "IsTruncated": false, "KeyCount": 1, "MaxKeys": 1000, "Name": "b", "Prefix": ""})
    );

    let out = parse(
        "s3",
        "getObject",
        &response(
            200,
            &[
                ("Content-Length", "5"),
                ("Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT"),
                ("x-amz-meta-owner", "me"),
            ],
            "hello",
        ),
    );
    assert_eq!(
        out,
        json!({"Body": "hello", "ContentLength": 5, "LastModified": "2024-01-02T03:04:05Z",
               "Metadata": {"owner": "me"}})
    );
}

#[test]
fn query_protocol_flattens_members_lists_and_maps() {
    let req = request(
        "sns",
        "publish",
        json!({"TopicArn": "arn", "Message": "m",
               "MessageAttributes": {"a": {"DataType": "String", "StringValue": "x"}}}),
    );
    assert_eq!(
        header(&req, "Content-Type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    let f = form(&req);
    let expected: Vec<(String, String)> = [
        ("Action", "Publish"),
        ("Version", "2010-03-31"),
        ("TopicArn", "arn"),
        ("Message", "m"),
        ("MessageAttributes.entry.1.Name", "a"),
        ("MessageAttributes.entry.1.Value.DataType", "String"),
        ("MessageAttributes.entry.1.Value.StringValue", "x"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(f, expected);

    let f = form(&request(
        "cloudformation",
        "createStack",
        json!({"StackName": "s", "Parameters": [], "Tags": [{"Key": "k", "Value": "v"}],
               "Capabilities": ["CAPABILITY_IAM"]}),
    ));
    assert!(f.contains(&("Parameters".into(), "".into())), "{f:?}");
    assert!(
        f.contains(&("Tags.member.1.Key".into(), "k".into())),
        "{f:?}"
    );
    assert!(
        f.contains(&("Capabilities.member.1".into(), "CAPABILITY_IAM".into())),
        "{f:?}"
    );

    let out = parse(
        "cloudformation",
        "describeStacks",
        &response(
            200,
            &[],
            r#"<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>s</StackName><CreationTime>2024-01-02T03:04:05.123Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Tags><member><Key>k</Key><Value>v</Value></member></Tags></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>"#,
        ),
    );
    assert_eq!(
        out,
        json!({"Stacks": [{"CreationTime": "2024-01-02T03:04:05.123Z", "StackName": "s",
                           "StackStatus": "CREATE_COMPLETE", "Tags": [{"Key": "k", "Value": "v"}]}]})
    );

    let out = parse(
        "sns",
        "getTopicAttributes",
        &response(
            200,
            &[],
            "<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes><entry><key>A</key><value>1</value></entry></Attributes></GetTopicAttributesResult></GetTopicAttributesResponse>",
        ),
    );
    assert_eq!(out, json!({"Attributes": {"A": "1"}}));
}

#[test]
fn ec2_protocol_uses_query_names_and_item_lists() {
    let f = form(&request(
        "ec2",
        "describeInstances",
        json!({"Filters": [{"Name": "tag:Name", "Values": ["a", "b"]}], "InstanceIds": ["i-1"], "MaxResults": 5}),
    ));
    let expected: Vec<(String, String)> = [
        ("Action", "DescribeInstances"),
        ("Version", "2016-11-15"),
        ("InstanceId.1", "i-1"),
        ("MaxResults", "5"),
        ("Filter.1.Name", "tag:Name"),
        ("Filter.1.Value.1", "a"),
        ("Filter.1.Value.2", "b"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut f_sorted = f.clone();
    f_sorted.sort();
    let mut e_sorted = expected.clone();
    e_sorted.sort();
    assert_eq!(f_sorted, e_sorted);

    let out = parse(
        "ec2",
        "describeInstances",
        &response(
            200,
            &[],
            r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState><tagSet><item><key>Name</key><value>x</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"#,
        ),
    );
    assert_eq!(
        out,
        json!({"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Code": 16, "Name": "running"},
                                                "Tags": [{"Key": "Name", "Value": "x"}]}],
                                 "ReservationId": "r-1"}]})
    );
}

#[test]
fn json_outputs_use_member_names_iso_timestamps_and_text_blobs() {
    let out = parse(
        "sfn",
        "describeExecution",
        &response(
            200,
            &[],
            r#"{"executionArn":"a","startDate":1704164645.5,"status":"RUNNING","stateMachineArn":"s"}"#,
        ),
    );
    assert_eq!(
        out,
        json!({"ExecutionArn": "a", "StartDate": "2024-01-02T03:04:05.5Z", "StateMachineArn": "s", "Status": "RUNNING"})
    );
    let out = parse(
        "dynamodb",
        "getItem",
        &response(200, &[], r#"{"Item":{"b":{"B":"aGk="}}}"#),
    );
    assert_eq!(out, json!({"Item": {"b": {"B": "hi"}}}));
    assert_eq!(
        parse("dynamodb", "getItem", &response(200, &[], "{}")),
        json!({})
    );
}

#[test]
fn idempotency_tokens_are_filled_in_unless_given() {
    let f = form(&request(
        "ec2",
        "runInstances",
        json!({"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1}),
    ));
    let token = f.iter().find(|(k, _)| k == "ClientToken").unwrap();
    assert_eq!(token.1.len(), 36);
    let f = form(&request(
        "ec2",
        "runInstances",
        json!({"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, "ClientToken": "mine"}),
    ));
    assert!(f.contains(&("ClientToken".into(), "mine".into())));
}

#[test]
fn a_member_named_equals_is_equals_value_in_step_functions() {
    let mut m: Model = serde_json::from_value(json!({
        "metadata": {"apiVersion": "1", "endpointPrefix": "x", "protocol": "json",
                     "jsonVersion": "1.1", "targetPrefix": "X", "serviceId": "X"},
        "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                               "input": {"shape": "In"}, "output": {"shape": "In"}}},
        "shapes": {"In": {"type": "structure", "members": {"Key": {"shape": "S"}, "Equals": {"shape": "S"}}},
                   "S": {"type": "string"}}
    }))
    .unwrap();
    model::step_functions_member_names(&mut m);
    let op = &m.operations["Op"];
    let req = serialize(&m, op, &json!({"Key": "k", "EqualsValue": "v"}), false).unwrap();
    assert_eq!(body(&req), r#"{"Key":"k","Equals":"v"}"#);
    assert!(serialize(&m, op, &json!({"Equals": "v"}), false).is_err());
    let out = deserialize::output(&m, op, &response(200, &[], r#"{"Equals":"v"}"#)).unwrap();
    assert_eq!(out, json!({"EqualsValue": "v"}));
}

#[test]
fn event_stream_actions_are_refused() {
    let e = check("bedrockruntime", "invokeModelWithResponseStream").unwrap_err();
    assert!(e.contains("streams events"), "{e}");
    assert!(check("s3", "selectObjectContent").is_err());
    assert_eq!(check("bedrockruntime", "invokeModel"), Ok(()));
    assert_eq!(check("bedrockruntime", "converse"), Ok(()));
}

#[test]
fn default_endpoints() {
    let at = |service: &str, region: &str| {
        crate::http::default_endpoint(&model::service(service).unwrap(), region)
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        at("dynamodb", "eu-west-1"),
        pair("https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1")
    );
    assert_eq!(
        at("sfn", "us-east-2"),
        pair("https://states.us-east-2.amazonaws.com", "us-east-2")
    );
    assert_eq!(
        at("bedrockruntime", "us-west-2"),
        pair(
            "https://bedrock-runtime.us-west-2.amazonaws.com",
            "us-west-2"
        )
    );
    assert_eq!(
        at("iam", "eu-west-1"),
        pair("https://iam.amazonaws.com", "us-east-1")
    );
    assert_eq!(
        at("sts", "eu-west-1"),
        pair("https://sts.eu-west-1.amazonaws.com", "eu-west-1")
    );
    assert_eq!(
        at("organizations", "eu-west-1"),
        pair("https://organizations.us-east-1.amazonaws.com", "us-east-1")
    );
    assert_eq!(
        at("s3", "cn-north-1"),
        pair("https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1")
    );
}

#[test]
fn s3_get_bucket_location_is_the_document_itself() {
    let out = parse(
        "s3",
        "getBucketLocation",
        &response(
            200,
            &[],
            r#"<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>"#,
        ),
    );
    assert_eq!(out, json!({"LocationConstraint": "eu-west-1"}));
}

#[test]
fn member_names_are_the_java_sdks_capitalised() {
    let n = model::step_functions_name;
    for (model, sfn) in [
        ("cluster", "Cluster"),
        ("stateMachineArn", "StateMachineArn"),
        ("Bucket", "Bucket"),
        ("ETag", "ETag"),
        ("DBInstanceIdentifier", "DbInstanceIdentifier"),
        ("SSEKMSKeyId", "SsekmsKeyId"),
        ("SSECustomerAlgorithm", "SseCustomerAlgorithm"),
        ("BOOL", "Bool"),
        ("SS", "Ss"),
        ("NULL", "Nul"),
        ("S", "S"),
        ("S3Uri", "S3Uri"),
        ("Equals", "EqualsValue"),
        ("awsvpcConfiguration", "AwsvpcConfiguration"),
    ] {
        assert_eq!(n(model), sfn, "{model}");
    }
    // DynamoDB's attribute values go out under their wire names.
    let req = request(
        "dynamodb",
        "putItem",
        json!({"TableName": "t", "Item": {"k": {"Bool": true}, "s": {"Ss": ["a"]}, "n": {"Nul": true}}}),
    );
    let b: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        b["Item"],
        json!({"k": {"BOOL": true}, "s": {"SS": ["a"]}, "n": {"NULL": true}})
    );
    assert!(check_params(
        "dynamodb",
        "putItem",
        &json!({"Item": {"k": {"BOOL": true}}})
    )
    .is_err());
}
