//! The validator's rules, one test each: what AWS rejects is rejected with its code and a
//! pointer to the field, and what AWS accepts parses.

use serde_json::{json, Value};

use super::*;
use crate::diag::codes;

fn errors(def: Value) -> Vec<Diagnostic> {
    parse_value(&def, &ParseOptions::default())
        .err()
        .unwrap_or_default()
}

fn express_errors(def: Value) -> Vec<Diagnostic> {
    parse_value(
        &def,
        &ParseOptions {
            machine_type: MachineType::Express,
        },
    )
    .err()
    .unwrap_or_default()
}

fn has(diags: &[Diagnostic], code: &str, path: &str) -> bool {
    diags.iter().any(|d| d.code == code && d.path == path)
}

fn assert_has(diags: &[Diagnostic], code: &str, path: &str) {
    assert!(
        has(diags, code, path),
        "expected {code} at {path}, got {diags:#?}"
    );
}

fn pass_machine(extra: Value) -> Value {
    let mut state = json!({"Type": "Pass", "End": true});
    for (k, v) in extra.as_object().unwrap() {
        state[k] = v.clone();
    }
    json!({"StartAt": "A", "States": {"A": state}})
}

#[test]
fn a_minimal_machine_is_valid() {
    assert!(errors(pass_machine(json!({}))).is_empty());
}

#[test]
fn text_that_is_not_an_object_is_rejected() {
    let e = parse_text(" ", &ParseOptions::default()).unwrap_err();
    assert_eq!(e[0].message, "Definition must be a valid JSON object");
    let e = parse_text("[1]", &ParseOptions::default()).unwrap_err();
    assert_eq!(e[0].code, codes::SCHEMA_VALIDATION_FAILED);
    let e = parse_text("{\"StartAt\": ", &ParseOptions::default()).unwrap_err();
    assert_eq!(e[0].code, codes::INVALID_JSON_DESCRIPTION);
}

#[test]
fn required_top_level_fields() {
    let e = errors(json!({}));
    assert_eq!(e[0].message, "These fields are required: [States, StartAt]");
    assert_eq!(e[0].path, "/");
}

#[test]
fn unknown_fields_are_rejected_where_they_are() {
    let e = errors(pass_machine(json!({"Resource": "x"})));
    assert_has(&e, codes::SCHEMA_VALIDATION_FAILED, "/States/A/Resource");
    let e =
        errors(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}, "Foo": 1}));
    assert_has(&e, codes::SCHEMA_VALIDATION_FAILED, "/Foo");
}

#[test]
fn next_and_end_are_exactly_one() {
    let e = errors(json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}));
    assert_has(&e, codes::SCHEMA_VALIDATION_FAILED, "/States/A");
    let e = errors(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Next": "A"}}}),
    );
    assert_has(&e, codes::SCHEMA_VALIDATION_FAILED, "/States/A");
}

#[test]
fn missing_targets_and_unreachable_states() {
    let e = errors(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nope"},
        "B": {"Type": "Succeed"}
    }}));
    assert_has(&e, codes::MISSING_TRANSITION_TARGET, "/States/A/Next");
    assert_has(&e, codes::MISSING_TRANSITION_TARGET, "/States/B");
    let e = errors(json!({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}));
    assert_has(&e, codes::MISSING_TRANSITION_TARGET, "/StartAt");
}

#[test]
fn choice_targets_are_checked() {
    let e = errors(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "X"}], "Default": "Y"},
        "D": {"Type": "Succeed"}
    }}));
    assert_has(
        &e,
        codes::MISSING_TRANSITION_TARGET,
        "/States/C/Choices/0/Next",
    );
    assert_has(&e, codes::MISSING_TRANSITION_TARGET, "/States/C/Default");
}

#[test]
fn a_terminal_state_must_exist() {
    let e = errors(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}));
    assert_has(&e, codes::MISSING_END_STATE, "/");
}

#[test]
fn state_names_are_unique_across_branches() {
    let e = errors(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
        ]}
    }}));
    assert_has(
        &e,
        codes::DUPLICATE_STATE_NAME,
        "/States/P/Branches/0/States/P",
    );
}

#[test]
fn states_all_must_be_alone_and_last() {
    let task = |retry: Value| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true, "Retry": retry}}});
    let e = errors(task(json!([{"ErrorEquals": ["States.ALL", "X"]}])));
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/ErrorEquals",
    );
    let e = errors(task(
        json!([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]),
    ));
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/ErrorEquals",
    );
    assert!(errors(task(
        json!([{"ErrorEquals": ["X"]}, {"ErrorEquals": ["States.ALL"]}])
    ))
    .is_empty());
}

#[test]
fn retrier_numbers_are_checked() {
    let task = |retry: Value| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true, "Retry": [retry]}}});
    assert_has(
        &errors(task(json!({"ErrorEquals": ["X"], "BackoffRate": 0.5}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/BackoffRate",
    );
    assert_has(
        &errors(task(json!({"ErrorEquals": ["X"], "IntervalSeconds": 0}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/IntervalSeconds",
    );
    assert_has(
        &errors(task(json!({"ErrorEquals": ["X"], "MaxAttempts": -1}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/MaxAttempts",
    );
    assert_has(
        &errors(task(
            json!({"ErrorEquals": ["X"], "JitterStrategy": "SOME"}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/JitterStrategy",
    );
    assert_has(
        &errors(task(json!({"ErrorEquals": []}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/Retry/0/ErrorEquals",
    );
    assert!(errors(task(json!({"ErrorEquals": ["X"], "BackoffRate": 1, "MaxAttempts": 0, "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}))).is_empty());
}

#[test]
fn paths_and_templates_are_checked() {
    assert_has(
        &errors(pass_machine(json!({"InputPath": "foo"}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/A/InputPath",
    );
    assert_has(
        &errors(pass_machine(json!({"ResultPath": "$.a[*]"}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/A/ResultPath",
    );
    assert_has(
        &errors(pass_machine(json!({"Parameters": {"a": {"b.$": "nope"}}}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/A/Parameters/a/b.$",
    );
    assert_has(
        &errors(pass_machine(
            json!({"Parameters": {"x.$": "States.Nope(1)"}}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/A/Parameters/x.$",
    );
    assert!(errors(pass_machine(
        json!({"Parameters": {"x.$": "States.Format('{}', $.a)", "y.$": "$$.Execution.Id"}})
    ))
    .is_empty());
}

#[test]
fn wait_needs_exactly_one_duration_and_valid_timestamps() {
    let wait = |w: Value| {
        let mut s = json!({"Type": "Wait", "End": true});
        for (k, v) in w.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"StartAt": "W", "States": {"W": s}})
    };
    assert_has(
        &errors(wait(json!({}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/W",
    );
    assert_has(
        &errors(wait(json!({"Seconds": 1, "SecondsPath": "$.s"}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/W",
    );
    let e = errors(wait(json!({"Timestamp": "2016-13-05T21:29:29Z"})));
    assert_eq!(e[0].message, "String does not match RFC3339 timestamp");
    assert_eq!(e[0].path, "/States/W/Timestamp");
    assert_has(
        &errors(wait(json!({"Seconds": -1}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/W/Seconds",
    );
    assert!(errors(wait(json!({"Timestamp": "2016-03-14T01:59:00Z"}))).is_empty());
}

#[test]
fn choice_rules_need_one_operator_of_the_right_type() {
    let choice = |rule: Value| {
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "D"},
            "D": {"Type": "Succeed"}
        }})
    };
    assert_has(
        &errors(choice(
            json!({"Variable": "$.x", "StringEquals": 1, "Next": "D"}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/C/Choices/0/StringEquals",
    );
    assert_has(
        &errors(choice(
            json!({"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "D"}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/C/Choices/0",
    );
    assert_has(
        &errors(choice(
            json!({"Not": {"Variable": "$.x", "IsNull": true, "Next": "D"}, "Next": "D"}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/C/Choices/0/Not/Next",
    );
    assert_has(
        &errors(choice(
            json!({"Variable": "$.x", "TimestampEquals": "yesterday", "Next": "D"}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/C/Choices/0/TimestampEquals",
    );
    assert_has(
        &errors(choice(json!({"Variable": "$.x", "IsNull": true}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/C/Choices/0",
    );
    assert!(errors(choice(json!({"And": [{"Variable": "$.x", "IsNull": false}, {"Variable": "$.y", "NumericLessThanPath": "$.z"}], "Next": "D"}))).is_empty());
}

#[test]
fn fail_fields_are_exclusive_pairs() {
    let e = errors(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}}),
    );
    assert_has(&e, codes::SCHEMA_VALIDATION_FAILED, "/States/F");
    assert!(errors(json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('{}', $.c)"}}})).is_empty());
}

#[test]
fn task_resources_are_recognised() {
    let task = |r: &str| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": r, "End": true}}});
    assert!(errors(task("arn:aws:states:::lambda:invoke")).is_empty());
    assert!(errors(task("arn:aws:lambda:us-east-1:123456789012:function:f")).is_empty());
    assert!(errors(task("arn:aws:states:::sqs:sendMessage.waitForTaskToken")).is_empty());
    assert!(errors(task("arn:aws:states:::aws-sdk:s3:listBuckets")).is_empty());
    let e = errors(task("arn:aws:states:::dynamodb:query"));
    assert!(e[0].message.starts_with(
        "The resource provided arn:<partition>:states:::dynamodb:query is not recognized."
    ));
    assert!(!errors(task("not-an-arn")).is_empty());
}

/// CloudFormation `!Sub` templates write integrations with the region and account; AWS
/// accepts them as the same integration, and so the model holds the plain form.
#[test]
fn task_resources_with_region_and_account_are_the_same_integration() {
    let task = |r: &str| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": r, "End": true}}});
    for (written, plain) in [
        (
            "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject",
            "arn:aws:states:::aws-sdk:s3:getObject",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:lambda:invoke",
            "arn:aws:states:::lambda:invoke",
        ),
        (
            "arn:aws:states:us-west-2:123456789012:states:startExecution.sync:2",
            "arn:aws:states:::states:startExecution.sync:2",
        ),
    ] {
        let def = parse_value(&task(written), &ParseOptions::default())
            .unwrap_or_else(|e| panic!("{written}: {e:#?}"));
        match &def.definition.graph.states["T"].kind {
            crate::model::StateKind::Task(t) => assert_eq!(t.resource, plain),
            other => panic!("{other:?}"),
        }
    }
    // Unknown integrations stay unknown, in either form.
    let e = errors(task("arn:aws:states:us-east-1:123456789012:dynamodb:query"));
    assert!(e[0].message.contains("is not recognized"), "{e:#?}");
    let e = errors(task(
        "arn:aws:states:us-east-1:123456789012:lambda:invoke.later",
    ));
    assert!(e[0].message.contains("is not recognized"), "{e:#?}");
    // Activities keep their own form.
    assert!(errors(task(
        "arn:aws:states:us-east-1:123456789012:activity:approve"
    ))
    .is_empty());
    let e = express_errors(task(
        "arn:aws:states:us-east-1:123456789012:sqs:sendMessage.waitForTaskToken",
    ));
    assert_eq!(
        e[0].message,
        "Express state machine does not support '.waitForTaskToken' service integration "
    );
}

/// SNS Publish needs a destination (TopicArn, TargetArn or PhoneNumber) and a Message; static
/// Parameters lacking one are refused when the definition is created, at the Parameters.
#[test]
fn sns_publish_parameters_need_a_destination_and_a_message() {
    let task = |params: Value| {
        json!({"StartAt": "Tell", "States": {"Tell": {"Type": "Task",
        "Resource": "arn:aws:states:::sns:publish", "Parameters": params, "End": true}}})
    };
    let e = errors(task(json!({"Message": "hi"})));
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/Tell/Parameters",
    );
    assert_eq!(
        e[0].message,
        "One of the fields 'TopicArn', 'TargetArn' or 'PhoneNumber' is required but none was present"
    );
    let e = errors(task(
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}),
    ));
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/Tell/Parameters",
    );
    assert_eq!(
        e[0].message,
        "The field 'Message' is required but was missing"
    );
    assert_eq!(errors(task(json!({}))).len(), 2);
    // A null is no value.
    assert_eq!(
        errors(task(
            json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": null})
        ))
        .len(),
        1
    );
    // Paths are checked when the task runs; so is a state without Parameters (its input is them).
    assert!(errors(task(
        json!({"TargetArn.$": "$.target", "Message.$": "$.text"})
    ))
    .is_empty());
    assert!(errors(task(
        json!({"PhoneNumber": "+15555550100", "Message": {"a": 1}})
    ))
    .is_empty());
    assert!(errors(
        json!({"StartAt": "Tell", "States": {"Tell": {"Type": "Task",
        "Resource": "arn:aws:states:::sns:publish", "End": true}}})
    )
    .is_empty());
    // The callback pattern and the regional form are the same integration.
    let e = errors(json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
        "Resource": "arn:aws:states:us-east-1:123456789012:sns:publish.waitForTaskToken",
        "Parameters": {"Message.$": "$$.Task.Token"}, "End": true}}}));
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/Ask/Parameters",
    );
    // JSONata: an Arguments object is checked; an expression is not.
    let jsonata = |args: Value| {
        json!({"QueryLanguage": "JSONata", "StartAt": "Tell", "States": {"Tell": {"Type": "Task",
        "Resource": "arn:aws:states:::sns:publish", "Arguments": args, "End": true}}})
    };
    let e = errors(jsonata(json!({"TopicArn": "{% $states.input.t %}"})));
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/Tell/Arguments",
    );
    assert!(errors(jsonata(
        json!({"TopicArn": "t", "Message": "{% $states.input.m %}"})
    ))
    .is_empty());
    assert!(errors(jsonata(json!("{% $states.input %}"))).is_empty());
    // Message.$ is not a name in JSONata.
    assert!(!errors(jsonata(json!({"TopicArn": "t", "Message.$": "$.m"}))).is_empty());
}

#[test]
fn express_machines_reject_callbacks_and_sync() {
    let task = |r: &str| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": r, "End": true}}});
    let e = express_errors(task("arn:aws:states:::sqs:sendMessage.waitForTaskToken"));
    assert_eq!(
        e[0].message,
        "Express state machine does not support '.waitForTaskToken' service integration "
    );
    let e = express_errors(task("arn:aws:states:::states:startExecution.sync"));
    assert_eq!(
        e[0].message,
        "Express state machine does not support '.sync' service integration"
    );
    assert!(express_errors(task("arn:aws:states:::lambda:invoke")).is_empty());
}

#[test]
fn heartbeat_must_be_shorter_than_timeout() {
    let e = errors(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true, "TimeoutSeconds": 5, "HeartbeatSeconds": 5}}}),
    );
    assert_has(
        &e,
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/T/HeartbeatSeconds",
    );
}

#[test]
fn map_accepts_legacy_spellings_but_not_both() {
    let map = |m: Value| {
        let mut s = json!({"Type": "Map", "End": true});
        for (k, v) in m.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"StartAt": "M", "States": {"M": s}})
    };
    let proc_ = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    assert!(errors(map(
        json!({"Iterator": proc_, "Parameters": {"v.$": "$$.Map.Item.Value"}})
    ))
    .is_empty());
    assert!(errors(map(json!({"ItemProcessor": proc_, "ItemSelector": {}}))).is_empty());
    assert_has(
        &errors(map(json!({"ItemProcessor": proc_, "Iterator": proc_}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/M",
    );
    assert_has(
        &errors(map(json!({}))),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/M",
    );
    assert_has(
        &errors(map(
            json!({"ItemProcessor": proc_, "ToleratedFailurePercentage": 101}),
        )),
        codes::SCHEMA_VALIDATION_FAILED,
        "/States/M/ToleratedFailurePercentage",
    );
    let bad_inner = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q"}}});
    assert_has(
        &errors(map(json!({"ItemProcessor": bad_inner}))),
        codes::MISSING_TRANSITION_TARGET,
        "/States/M/ItemProcessor/States/P/Next",
    );
}

#[test]
fn query_language_cannot_go_back_to_jsonpath() {
    let e = errors(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "QueryLanguage": "JSONPath"}}}),
    );
    assert_eq!(
        e[0].message,
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    );
    assert_eq!(e[0].path, "/States/A");
}

#[test]
fn jsonpath_fields_are_refused_in_jsonata_states() {
    let e = errors(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "InputPath": "$"}}}),
    );
    assert_has(&e, codes::SCHEMA_VALIDATION_FAILED, "/States/A/InputPath");
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let e = errors(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "X", "Foo": 1},
        "B": {"Type": "Wait", "End": true}
    }}));
    assert!(e.len() >= 3, "{e:#?}");
}

#[test]
fn pointers_escape_slashes_and_tildes() {
    let e =
        errors(json!({"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "Next": "nope"}}}));
    assert_has(&e, codes::MISSING_TRANSITION_TARGET, "/States/a~1b~0c/Next");
}

#[test]
fn warnings_do_not_make_a_definition_invalid() {
    let parsed = parse_value(
        &pass_machine(json!({"Parameters": {"a": "$.x"}, "Result": {"b.$": "$.y"}})),
        &ParseOptions::default(),
    )
    .unwrap();
    let codes_found: Vec<&str> = parsed.warnings.iter().map(|d| d.code).collect();
    assert_eq!(
        codes_found,
        [codes::NO_DOLLAR, codes::PASS_RESULT_IS_STATIC]
    );
    assert_eq!(parsed.warnings[0].path, "/States/A/Parameters/a");
}

/// AWS refuses, at definition time, JSONata that does not parse or that reads the input
/// document Step Functions never supplies (recorded: `UNSUPPORTED_JSONATA_EXPRESSION:
/// Reference to 'phone' at the top level is not supported.` at `/States/E/Output/v`).
#[test]
fn jsonata_expressions_are_checked_when_the_definition_is_parsed() {
    let def = |output: Value| {
        json!({"QueryLanguage": "JSONata", "StartAt": "E",
               "States": {"E": {"Type": "Pass", "Output": output, "End": true}}})
    };
    let e = errors(def(json!({"v": "{% phone %}"})));
    assert_has(
        &e,
        codes::UNSUPPORTED_JSONATA_EXPRESSION,
        "/States/E/Output/v",
    );
    assert_eq!(
        e[0].message,
        "Reference to 'phone' at the top level is not supported."
    );
    let e = errors(def(json!("{% 1 + %}")));
    assert_has(&e, codes::INVALID_JSONATA_EXPRESSION, "/States/E/Output");
    assert!(errors(def(json!({"v": "{% $states.input.phone %}"}))).is_empty());
}

fn distributed(extra: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": true}}
        },
        "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

fn errors_of(def: Value) -> Vec<(String, String, String)> {
    errors(def)
        .into_iter()
        .filter(|d| d.severity == crate::diag::Severity::Error)
        .map(|d| (d.code.to_string(), d.path, d.message))
        .collect()
}

#[test]
fn result_writers_take_one_of_aws_field_combinations() {
    let check = |writer: Value| {
        errors_of(distributed(json!({ "ResultWriter": writer })))
            .into_iter()
            .map(|(code, at, _)| format!("{code} {at}"))
            .collect::<Vec<_>>()
    };
    let s3 = "arn:aws:states:::s3:putObject";
    assert!(
        check(json!({"Resource": s3, "Parameters": {"Bucket": "b", "Prefix": "p"}})).is_empty()
    );
    assert!(
        check(json!({"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}}))
            .is_empty()
    );
    assert!(
        check(json!({"Resource": s3, "Parameters": {"Bucket.$": "$.b"},
        "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"}}))
        .is_empty()
    );
    assert_eq!(
        check(json!({})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter"]
    );
    assert_eq!(
        check(json!({"Resource": s3})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter"]
    );
    assert_eq!(
        check(json!({"Parameters": {"Bucket": "b"}})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter"]
    );
    assert_eq!(
        check(json!({"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b"}})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter/Resource"]
    );
    assert_eq!(
        check(json!({"Resource": s3, "Parameters": {"Bucket": "b", "Key": "k"}})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter/Parameters/Key"]
    );
    assert_eq!(
        check(json!({"WriterConfig": {"Transformation": "SQUASH"}})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter/WriterConfig/Transformation"]
    );
    assert_eq!(
        check(json!({"WriterConfig": {"OutputType": "CSV"}})),
        ["SCHEMA_VALIDATION_FAILED /States/M/ResultWriter/WriterConfig/OutputType"]
    );
}

#[test]
fn item_readers_are_checked_where_they_are_wrong() {
    let ok = |reader: Value| {
        let errs = errors_of(distributed(json!({ "ItemReader": reader.clone() })));
        assert!(errs.is_empty(), "{reader}: {errs:?}");
    };
    ok(json!({"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 10},
              "Parameters": {"Bucket": "b", "Key.$": "$.key"}}));
    ok(json!({"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                               "CSVHeaders": ["a", "b"], "CSVDelimiter": "TAB", "MaxItemsPath": "$.n"},
              "Parameters": {"Bucket": "b", "Key": "k"}}));
    ok(json!({"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "b", "Key": "k"}}));
    ok(json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
              "Parameters": {"Bucket": "b", "Prefix": "in/"}}));
    ok(json!({"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "JSON", "ItemsPointer": "/data/items"},
              "Parameters": {"Bucket": "b", "Key": "k"}}));
    ok(json!({"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "MANIFEST", "ManifestType": "S3_INVENTORY"},
              "Parameters": {"Bucket": "b", "Key": "inventory/manifest.json"}}));
    ok(json!({"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "MANIFEST"},
              "Parameters": {"Bucket": "b", "Key": "inventory/manifest.json"}}));
    for (reader, code, at) in [
        (
            json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/Resource",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "XML"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/InputType",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "PARQUET"}}),
            "UNSUPPORTED_FEATURE",
            "/States/M/ItemReader/ReaderConfig/InputType",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "MANIFEST", "ManifestType": "ATHENA_DATA"}}),
            "UNSUPPORTED_FEATURE",
            "/States/M/ItemReader/ReaderConfig/ManifestType",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "ManifestType": "S3_INVENTORY"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/ManifestType",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL", "ItemsPointer": "/items"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/ItemsPointer",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "ItemsPointer": "items"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/ItemsPointer",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/CSVHeaders",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "CSVDelimiter": "COMMA"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/CSVDelimiter",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "ReaderConfig": {"InputType": "JSON"}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/InputType",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "ReaderConfig": {"MaxItems": 0}}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/ReaderConfig/MaxItems",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Extra": 1}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/M/ItemReader/Extra",
        ),
    ] {
        let errs = errors_of(distributed(json!({ "ItemReader": reader.clone() })));
        assert!(
            errs.iter().any(|(c, p, _)| c == code && p == at),
            "{reader}: {errs:?}"
        );
    }
    // Items come from the reader, not the input.
    let errs = errors_of(distributed(json!({
        "ItemsPath": "$.items",
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}}
    })));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].1, "/States/M/ItemsPath");
}

#[test]
fn item_batchers_are_checked() {
    assert!(errors_of(distributed(json!({"ItemBatcher": {"MaxItemsPerBatch": 2}}))).is_empty());
    assert!(errors_of(distributed(
        json!({"ItemBatcher": {"MaxInputBytesPerBatchPath": "$.n", "BatchInput": {"a.$": "$.a"}}})
    ))
    .is_empty());
    for (batcher, pointer) in [
        (json!({"BatchInput": {}}), "/States/M/ItemBatcher"),
        (
            json!({"MaxItemsPerBatch": 0}),
            "/States/M/ItemBatcher/MaxItemsPerBatch",
        ),
        (
            json!({"MaxInputBytesPerBatch": 262145}),
            "/States/M/ItemBatcher/MaxInputBytesPerBatch",
        ),
        (
            json!({"MaxItemsPerBatch": 1, "MaxItemsPerBatchPath": "$.n"}),
            "/States/M/ItemBatcher",
        ),
        (
            json!({"MaxItemsPerBatch": 1, "Size": 3}),
            "/States/M/ItemBatcher/Size",
        ),
        (
            json!({"MaxItemsPerBatch": 1, "BatchInput": [1]}),
            "/States/M/ItemBatcher/BatchInput",
        ),
    ] {
        let errs = errors_of(distributed(json!({ "ItemBatcher": batcher.clone() })));
        assert!(
            errs.iter()
                .any(|(c, p, _)| c == "SCHEMA_VALIDATION_FAILED" && p == pointer),
            "{batcher}: {errs:?}"
        );
    }
}

/// A Map whose every context reference is under `$$.Map` is marked so that the engine builds
/// only that part of the context object per item; anything else keeps the whole one.
#[test]
fn only_map_context_is_recognised() {
    let flag = |selector: Value, processor_param: &str| {
        let def = json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemSelector": selector, "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {
                "Type": "Pass", "Parameters": {"x.$": processor_param}, "End": true}}}}}});
        let parsed = parse_value(&def, &ParseOptions::default()).unwrap();
        parsed.definition.graph.states["M"].uses_only_map_context
    };
    assert!(flag(
        json!({"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"}),
        "$.v"
    ));
    assert!(flag(
        json!({"v.$": "States.Format('{}', $$.Map.Item.Value)"}),
        "$.v"
    ));
    assert!(flag(json!({"m.$": "$$.Map"}), "$.v"));
    assert!(!flag(
        json!({"v.$": "$$.Map.Item.Value", "n.$": "$$.Execution.Name"}),
        "$.v"
    ));
    assert!(!flag(json!({"v.$": "$$.Map.Item.Value"}), "$$.State.Name"));
    assert!(!flag(json!({"v.$": "$$.MapItems"}), "$.v"));
    assert!(!flag(json!({"c.$": "$$"}), "$.v"));
    assert!(!flag(
        json!({"v.$": "$$.Map.Item.Value", "note": "context"}),
        "$.v"
    ));
}
