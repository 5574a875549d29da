//! State machine operations through `handle`: their happy paths and AWS's errors.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn create_describe_update_delete() {
    let h = Harness::new();
    let def = pass_machine().to_string();
    let created = h
        .ok(
            "CreateStateMachine",
            json!({"name": "Hello", "definition": def, "roleArn": ROLE}),
        )
        .await;
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:Hello";
    assert_eq!(created["stateMachineArn"], arn);
    assert!(created["creationDate"].as_f64().is_some());

    let d = h
        .ok("DescribeStateMachine", json!({"stateMachineArn": arn}))
        .await;
    assert_eq!(d["name"], "Hello");
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["type"], "STANDARD");
    assert_eq!(d["definition"], def);
    assert_eq!(d["roleArn"], ROLE);
    assert_eq!(d["creationDate"], created["creationDate"]);
    assert_eq!(
        d["loggingConfiguration"],
        json!({"level": "OFF", "includeExecutionData": false})
    );
    assert_eq!(d["tracingConfiguration"], json!({"enabled": false}));

    let meta = h
        .ok(
            "DescribeStateMachine",
            json!({"stateMachineArn": arn, "includedData": "METADATA_ONLY"}),
        )
        .await;
    assert!(meta.get("definition").is_none());

    let new_def = wait_machine().to_string();
    let u = h
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": arn, "definition": new_def, "roleArn": "arn:aws:iam::123456789012:role/other"}),
        )
        .await;
    assert!(u["updateDate"].as_f64().is_some());
    assert_eq!(u["revisionId"], "2");
    let d = h
        .ok("DescribeStateMachine", json!({"stateMachineArn": arn}))
        .await;
    assert_eq!(d["definition"], new_def);
    assert_eq!(d["roleArn"], "arn:aws:iam::123456789012:role/other");
    assert_eq!(d["creationDate"], created["creationDate"], "creation stays");

    assert_eq!(
        h.ok("DeleteStateMachine", json!({"stateMachineArn": arn}))
            .await,
        json!({})
    );
    h.err(
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
        "StateMachineDoesNotExist",
    )
    .await;
    // Deleting again is not an error.
    h.ok("DeleteStateMachine", json!({"stateMachineArn": arn}))
        .await;
}

#[tokio::test]
async fn create_is_idempotent_for_the_same_definition() {
    let h = Harness::new();
    let def = pass_machine().to_string();
    let first = h
        .ok(
            "CreateStateMachine",
            json!({"name": "Same", "definition": def, "roleArn": ROLE}),
        )
        .await;
    // A different role is ignored, as AWS does.
    let again = h
        .ok(
            "CreateStateMachine",
            json!({"name": "Same", "definition": def, "roleArn": "arn:aws:iam::123456789012:role/x"}),
        )
        .await;
    assert_eq!(first, again);
    let d = h
        .ok(
            "DescribeStateMachine",
            json!({"stateMachineArn": first["stateMachineArn"]}),
        )
        .await;
    assert_eq!(d["roleArn"], ROLE);

    let msg = h
        .err(
            "CreateStateMachine",
            json!({"name": "Same", "definition": wait_machine().to_string(), "roleArn": ROLE}),
            "StateMachineAlreadyExists",
        )
        .await;
    assert_eq!(
        msg,
        "State Machine Already Exists: 'arn:aws:states:us-east-1:123456789012:stateMachine:Same'"
    );
    h.err(
        "CreateStateMachine",
        json!({"name": "Same", "definition": def, "roleArn": ROLE, "type": "EXPRESS"}),
        "StateMachineAlreadyExists",
    )
    .await;
}

#[tokio::test]
async fn invalid_definitions_store_nothing() {
    let h = Harness::new();
    let bad = json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Nowhere"}}});
    let msg = h
        .err(
            "CreateStateMachine",
            json!({"name": "Bad", "definition": bad.to_string(), "roleArn": ROLE}),
            "InvalidDefinition",
        )
        .await;
    assert!(
        msg.starts_with("Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: "),
        "{msg}"
    );
    assert!(msg.contains("Nowhere at /States/X/Next"), "{msg}");
    assert!(msg.ends_with('\''), "{msg}");
    let msg = h
        .err(
            "CreateStateMachine",
            json!({"name": "Bad", "definition": "{not json", "roleArn": ROLE}),
            "InvalidDefinition",
        )
        .await;
    assert!(msg.contains("INVALID_JSON_DESCRIPTION"), "{msg}");
    // `.waitForTaskToken` does not exist for EXPRESS machines.
    h.err(
        "CreateStateMachine",
        json!({"name": "Bad", "definition": token_machine().to_string(), "roleArn": ROLE, "type": "EXPRESS"}),
        "InvalidDefinition",
    )
    .await;
    // Tags that break the rules fail the whole request.
    h.err(
        "CreateStateMachine",
        json!({"name": "Tagged", "definition": pass_machine().to_string(), "roleArn": ROLE,
               "tags": [{"key": "", "value": "v"}]}),
        "ValidationException",
    )
    .await;
    let list = h.ok("ListStateMachines", json!({})).await;
    assert_eq!(list["stateMachines"], json!([]));
}

#[tokio::test]
async fn create_checks_its_members() {
    let h = Harness::new();
    let def = pass_machine().to_string();
    for name in ["has space", "a/b", "", "x:y", &"n".repeat(81)] {
        h.err(
            "CreateStateMachine",
            json!({"name": name, "definition": def, "roleArn": ROLE}),
            "InvalidName",
        )
        .await;
    }
    h.err(
        "CreateStateMachine",
        json!({"name": "ok", "definition": def, "roleArn": "not-an-arn"}),
        "InvalidArn",
    )
    .await;
    let msg = h
        .err(
            "CreateStateMachine",
            json!({"definition": def, "roleArn": ROLE}),
            "ValidationException",
        )
        .await;
    assert!(msg.contains("'name'"), "{msg}");
    h.err(
        "CreateStateMachine",
        json!({"name": "ok", "definition": def, "roleArn": ROLE, "type": "QUICK"}),
        "ValidationException",
    )
    .await;
    h.err(
        "CreateStateMachine",
        json!({"name": "ok", "definition": {"StartAt": "P"}, "roleArn": ROLE}),
        "SerializationException",
    )
    .await;
    h.err(
        "CreateStateMachine",
        json!({"name": "ok", "definition": def, "roleArn": ROLE, "versionDescription": "v1"}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn describe_checks_arns() {
    let h = Harness::new();
    let msg = h
        .err(
            "DescribeStateMachine",
            json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"}),
            "StateMachineDoesNotExist",
        )
        .await;
    assert_eq!(
        msg,
        "State Machine Does Not Exist: 'arn:aws:states:us-east-1:123456789012:stateMachine:Nope'"
    );
    let msg = h
        .err(
            "DescribeStateMachine",
            json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:execution:A:b"}),
            "InvalidArn",
        )
        .await;
    assert_eq!(
        msg,
        "Invalid Arn: 'Resource type not valid in this context: execution'"
    );
    h.err(
        "DescribeStateMachine",
        json!({"stateMachineArn": "garbage"}),
        "InvalidArn",
    )
    .await;
    h.err("DescribeStateMachine", json!({}), "ValidationException")
        .await;
}

#[tokio::test]
async fn update_errors() {
    let h = Harness::new();
    let arn = h.create("Up", &pass_machine()).await;
    h.err(
        "UpdateStateMachine",
        json!({"stateMachineArn": arn}),
        "MissingRequiredParameter",
    )
    .await;
    h.err(
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": "{}"}),
        "InvalidDefinition",
    )
    .await;
    h.err(
        "UpdateStateMachine",
        json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Gone", "definition": pass_machine().to_string()}),
        "StateMachineDoesNotExist",
    )
    .await;
    // A failed update left the machine as it was.
    let d = h
        .ok("DescribeStateMachine", json!({"stateMachineArn": arn}))
        .await;
    assert_eq!(d["revisionId"], "1");
}

#[tokio::test]
async fn list_state_machines_pages() {
    let h = Harness::new();
    for name in ["e", "c", "a", "d", "b"] {
        h.create(name, &pass_machine()).await;
    }
    let mut names = vec![];
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = json!({"maxResults": 2});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = h.ok("ListStateMachines", req).await;
        pages += 1;
        for sm in page["stateMachines"].as_array().unwrap() {
            assert_eq!(sm["type"], "STANDARD");
            assert!(sm["creationDate"].as_f64().is_some());
            assert!(sm["stateMachineArn"]
                .as_str()
                .unwrap()
                .ends_with(sm["name"].as_str().unwrap()));
            names.push(sm["name"].as_str().unwrap().to_string());
        }
        match page.get("nextToken").and_then(|t| t.as_str()) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    assert_eq!(pages, 3);
    h.err(
        "ListStateMachines",
        json!({"nextToken": "bogus"}),
        "InvalidToken",
    )
    .await;
    h.err(
        "ListStateMachines",
        json!({"maxResults": 1001}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn validate_definition() {
    let h = Harness::new();
    let ok = h
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": pass_machine().to_string()}),
        )
        .await;
    assert_eq!(
        ok,
        json!({"result": "OK", "diagnostics": [], "truncated": false})
    );

    let bad = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Missing1"},
        "B": {"Type": "Pass", "Next": "Missing2"}
    }});
    let fail = h
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": bad.to_string()}),
        )
        .await;
    assert_eq!(fail["result"], "FAIL");
    assert_eq!(fail["truncated"], false);
    let diags = fail["diagnostics"].as_array().unwrap();
    assert!(diags.len() >= 2, "{fail}");
    assert_eq!(diags[0]["severity"], "ERROR");
    assert_eq!(diags[0]["code"], "MISSING_TRANSITION_TARGET");
    assert_eq!(diags[0]["location"], "/States/A/Next");

    let one = h
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": bad.to_string(), "maxResults": 1}),
        )
        .await;
    assert_eq!(one["diagnostics"].as_array().unwrap().len(), 1);
    assert_eq!(one["truncated"], true);

    let express = h
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": token_machine().to_string(), "type": "EXPRESS"}),
        )
        .await;
    assert_eq!(express["result"], "FAIL");

    h.err(
        "ValidateStateMachineDefinition",
        json!({"definition": "{}", "severity": "INFO"}),
        "ValidationException",
    )
    .await;
    h.err(
        "ValidateStateMachineDefinition",
        json!({"definition": "{}", "maxResults": 101}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn tags() {
    let h = Harness::new();
    let created = h
        .ok(
            "CreateStateMachine",
            json!({"name": "T", "definition": pass_machine().to_string(), "roleArn": ROLE,
                   "tags": [{"key": "team", "value": "core"}]}),
        )
        .await;
    let arn = created["stateMachineArn"].as_str().unwrap();
    let list = h
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(list, json!({"tags": [{"key": "team", "value": "core"}]}));

    h.ok(
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "api"}]}),
    )
    .await;
    let list = h
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(
        list["tags"],
        json!([{"key": "team", "value": "api"}, {"key": "env", "value": "dev"}])
    );
    h.ok(
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["team"]}),
    )
    .await;
    let list = h
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(list["tags"], json!([{"key": "env", "value": "dev"}]));

    let many: Vec<_> = (0..50)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let (status, body) = h
        .call("TagResource", json!({"resourceArn": arn, "tags": many}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "TooManyTags");
    assert_eq!(body["resourceName"], arn);

    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:Missing";
    h.err(
        "ListTagsForResource",
        json!({"resourceArn": missing}),
        "ResourceNotFound",
    )
    .await;
    h.err(
        "TagResource",
        json!({"resourceArn": "arn:aws:states:us-east-1:123456789012:execution:T:x", "tags": []}),
        "InvalidArn",
    )
    .await;
    h.err(
        "UntagResource",
        json!({"resourceArn": arn}),
        "ValidationException",
    )
    .await;

    // Tags go with the state machine.
    h.ok("DeleteStateMachine", json!({"stateMachineArn": arn}))
        .await;
    h.create("T", &pass_machine()).await;
    let list = h
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(list["tags"], json!([]));
}
