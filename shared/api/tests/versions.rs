//! Versions and aliases through `handle`: publishing (on its own, on create and update,
//! idempotent by revision), listing, qualified ARNs in StartExecution and Describe*, alias
//! routing, and AWS's refusals.

mod common;

use common::*;
use serde_json::{json, Value};

fn machine(greeting: &str) -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": greeting, "End": true}}})
}

async fn run(h: &Harness, arn: &str) -> Value {
    let started = h
        .ok("StartExecution", json!({"stateMachineArn": arn}))
        .await;
    h.settle().await;
    h.describe(started["executionArn"].as_str().unwrap()).await
}

#[tokio::test]
async fn versions_are_published_listed_run_and_deleted() {
    let h = Harness::new();
    let created = h
        .ok(
            "CreateStateMachine",
            json!({"name": "Greeter", "definition": machine("v1").to_string(),
                   "roleArn": "arn:aws:iam::123456789012:role/r", "publish": true,
                   "versionDescription": "first"}),
        )
        .await;
    let sm = created["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(created["stateMachineVersionArn"], format!("{sm}:1"));
    // The same revision again: the same version.
    let again = h
        .ok("PublishStateMachineVersion", json!({"stateMachineArn": sm}))
        .await;
    assert_eq!(again["stateMachineVersionArn"], format!("{sm}:1"));
    let updated = h
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": sm, "definition": machine("v2").to_string()}),
        )
        .await;
    assert!(updated.get("stateMachineVersionArn").is_none());
    h.err(
        "PublishStateMachineVersion",
        json!({"stateMachineArn": sm, "revisionId": "1"}),
        "ConflictException",
    )
    .await;
    let v2 = h
        .ok(
            "PublishStateMachineVersion",
            json!({"stateMachineArn": sm, "description": "second"}),
        )
        .await;
    assert_eq!(v2["stateMachineVersionArn"], format!("{sm}:2"));
    let listed = h
        .ok("ListStateMachineVersions", json!({"stateMachineArn": sm}))
        .await;
    let arns: Vec<&str> = listed["stateMachineVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stateMachineVersionArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [format!("{sm}:2"), format!("{sm}:1")]);
    let page = h
        .ok(
            "ListStateMachineVersions",
            json!({"stateMachineArn": sm, "maxResults": 1}),
        )
        .await;
    assert_eq!(page["stateMachineVersions"].as_array().unwrap().len(), 1);
    let rest = h
        .ok(
            "ListStateMachineVersions",
            json!({"stateMachineArn": sm, "nextToken": page["nextToken"]}),
        )
        .await;
    assert_eq!(
        rest["stateMachineVersions"][0]["stateMachineVersionArn"],
        format!("{sm}:1")
    );

    // A version runs its own definition and is named in the execution.
    let d = run(&h, &format!("{sm}:1")).await;
    assert_eq!(d["output"], "\"v1\"");
    assert_eq!(d["stateMachineArn"], sm);
    assert_eq!(d["stateMachineVersionArn"], format!("{sm}:1"));
    assert!(d.get("stateMachineAliasArn").is_none());
    let d = run(&h, &sm).await;
    assert_eq!(d["output"], "\"v2\"");
    assert!(d.get("stateMachineVersionArn").is_none());
    let described = h
        .ok(
            "DescribeStateMachine",
            json!({"stateMachineArn": format!("{sm}:1")}),
        )
        .await;
    assert_eq!(described["description"], "first");
    assert_eq!(described["definition"], machine("v1").to_string());
    assert_eq!(described["stateMachineArn"], format!("{sm}:1"));

    // Deleted versions are gone, and their numbers are not given again.
    h.ok(
        "DeleteStateMachineVersion",
        json!({"stateMachineVersionArn": format!("{sm}:2")}),
    )
    .await;
    h.err(
        "StartExecution",
        json!({"stateMachineArn": format!("{sm}:2")}),
        "StateMachineDoesNotExist",
    )
    .await;
    h.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "definition": machine("v3").to_string(), "publish": true}),
    )
    .await;
    let listed = h
        .ok("ListStateMachineVersions", json!({"stateMachineArn": sm}))
        .await;
    assert_eq!(
        listed["stateMachineVersions"][0]["stateMachineVersionArn"],
        format!("{sm}:3")
    );
    h.err(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "versionDescription": "x", "definition": machine("v4").to_string()}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn aliases_route_executions_between_versions() {
    let h = Harness::new();
    let sm = h.create("Router", &machine("one")).await;
    h.ok("PublishStateMachineVersion", json!({"stateMachineArn": sm}))
        .await;
    h.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "definition": machine("two").to_string(), "publish": true}),
    )
    .await;
    let (v1, v2) = (format!("{sm}:1"), format!("{sm}:2"));
    let created = h
        .ok(
            "CreateStateMachineAlias",
            json!({"name": "live", "description": "production",
                   "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
        )
        .await;
    let alias = format!("{sm}:live");
    assert_eq!(created["stateMachineAliasArn"], alias);
    // The same request again is the same alias; a different one conflicts.
    h.ok(
        "CreateStateMachineAlias",
        json!({"name": "live", "description": "production",
               "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
    )
    .await;
    h.err(
        "CreateStateMachineAlias",
        json!({"name": "live", "routingConfiguration": [{"stateMachineVersionArn": v2, "weight": 100}]}),
        "ConflictException",
    )
    .await;
    let d = run(&h, &alias).await;
    assert_eq!(d["output"], "\"one\"");
    assert_eq!(d["stateMachineAliasArn"], alias);
    assert_eq!(d["stateMachineVersionArn"], v1);

    h.ok(
        "UpdateStateMachineAlias",
        json!({"stateMachineAliasArn": alias,
               "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 50},
                                        {"stateMachineVersionArn": v2, "weight": 50}]}),
    )
    .await;
    let described = h
        .ok(
            "DescribeStateMachineAlias",
            json!({"stateMachineAliasArn": alias}),
        )
        .await;
    assert_eq!(described["name"], "live");
    assert_eq!(described["description"], "production");
    assert_eq!(
        described["routingConfiguration"],
        json!([{"stateMachineVersionArn": v1, "weight": 50},
               {"stateMachineVersionArn": v2, "weight": 50}])
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        seen.insert(
            run(&h, &alias).await["output"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen.len(), 2, "both versions run: {seen:?}");

    // A version an alias routes to cannot be deleted.
    h.err(
        "DeleteStateMachineVersion",
        json!({"stateMachineVersionArn": v2}),
        "ConflictException",
    )
    .await;
    for (routing, error) in [
        (
            json!([{"stateMachineVersionArn": v1, "weight": 60}]),
            "ValidationException",
        ),
        (json!([]), "ValidationException"),
        (
            json!([{"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v1, "weight": 50}]),
            "ValidationException",
        ),
        (
            json!([{"stateMachineVersionArn": format!("{sm}:9"), "weight": 100}]),
            "ResourceNotFound",
        ),
        (
            json!([{"stateMachineVersionArn": sm, "weight": 100}]),
            "ValidationException",
        ),
    ] {
        h.err(
            "CreateStateMachineAlias",
            json!({"name": "other", "routingConfiguration": routing}),
            error,
        )
        .await;
    }
    h.err(
        "CreateStateMachineAlias",
        json!({"name": "123", "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
        "ValidationException",
    )
    .await;
    let listed = h
        .ok("ListStateMachineAliases", json!({"stateMachineArn": sm}))
        .await;
    assert_eq!(
        listed["stateMachineAliases"][0]["stateMachineAliasArn"],
        alias
    );
    h.ok(
        "DeleteStateMachineAlias",
        json!({"stateMachineAliasArn": alias}),
    )
    .await;
    h.err(
        "DescribeStateMachineAlias",
        json!({"stateMachineAliasArn": alias}),
        "ResourceNotFound",
    )
    .await;
    h.ok(
        "DeleteStateMachineVersion",
        json!({"stateMachineVersionArn": v2}),
    )
    .await;
    // Deleting the machine takes its versions and aliases with it.
    h.ok(
        "CreateStateMachineAlias",
        json!({"name": "again", "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
    )
    .await;
    h.ok("DeleteStateMachine", json!({"stateMachineArn": sm}))
        .await;
    h.err(
        "DescribeStateMachineAlias",
        json!({"stateMachineAliasArn": format!("{sm}:again")}),
        "ResourceNotFound",
    )
    .await;
}
