//! The HTTP Task (`http:invoke`) end to end: EventBridge connections made in moto (which keeps
//! their secrets in its Secrets Manager, as EventBridge does), an API of the test's own that
//! echoes what it receives. What the API sees is what the developer guide says Step Functions
//! sends: the connection's credentials and parameters merged over the task's, its user agent
//! and range; what the task gets back is the guide's result or error.

mod common;

use common::{request, Answer, EXECUTION, REGION};
use serde_json::{json, Value};
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_moto::Moto;
use waymark_tasks::{AwsTasks, TaskConfig};

/// An API that answers `/token` with an OAuth token, `/missing` with a 404, `/image` with an
/// image, and anything else with what it received: `{"line", "headers", "body"}`.
async fn api() -> String {
    common::serve_api(|head, body| {
        let line = head.lines().next().unwrap_or_default().to_string();
        let headers: serde_json::Map<String, Value> = head
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), json!(v.trim())))
            })
            .collect();
        if line.contains(" /token") {
            let ok = headers["authorization"] == "Basic aWQ6c2VjcmV0"
                && body.contains("grant_type=client_credentials");
            if ok {
                Answer::json("200 OK", r#"{"access_token":"tok-1"}"#)
            } else {
                Answer {
                    content_type: "text/plain",
                    ..Answer::json("401 Unauthorized", "bad client")
                }
            }
        } else if line.contains(" /missing") {
            Answer::json("404 Not Found", r#"{"message":"no such thing"}"#)
        } else if line.contains(" /image") {
            Answer {
                content_type: "image/png",
                ..Answer::json("200 OK", "PNG")
            }
        } else {
            Answer::json(
                "200 OK",
                json!({"line": line, "headers": headers, "body": body}).to_string(),
            )
        }
    })
    .await
}

async fn connection(tasks: &AwsTasks<NoTasks>, params: Value) -> String {
    let out = tasks
        .clients()
        .await
        .sdk
        .call("eventbridge", "createConnection", params)
        .await
        .unwrap();
    out["ConnectionArn"].as_str().unwrap().to_string()
}

async fn invoke(tasks: &AwsTasks<NoTasks>, params: Value) -> TaskOutcome {
    let req = request("arn:aws:states:::http:invoke", params);
    tasks.invoke(EXECUTION, &req).await
}

fn succeeded(o: TaskOutcome) -> Value {
    match o {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("{other:?}"),
    }
}

fn failed(o: TaskOutcome) -> (String, String) {
    match o {
        TaskOutcome::Failed(f) => (f.error.unwrap_or_default(), f.cause.unwrap_or_default()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn http_tasks_call_the_api_with_the_connections_credentials() {
    let moto = Moto::start();
    let endpoint = api().await;
    let tasks = AwsTasks::new(
        &TaskConfig::new(REGION).with_aws_endpoint(&moto.endpoint),
        NoTasks,
    );
    // API key, with the connection's own header, query and body parameters.
    let keyed = connection(
        &tasks,
        json!({"Name": "keyed", "AuthorizationType": "API_KEY", "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-1"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "Header-Param", "Value": "from-connection", "IsValueSecret": false}],
                "QueryStringParameters": [{"Key": "QueryParam", "Value": "from-connection", "IsValueSecret": false}],
                "BodyParameters": [{"Key": "BodyParam", "Value": "from-connection", "IsValueSecret": true}]}}}),
    )
    .await;
    let out = succeeded(
        invoke(
            &tasks,
            json!({"ApiEndpoint": format!("{endpoint}/v1/customers"), "Method": "POST",
                "InvocationConfig": {"ConnectionArn": keyed},
                "Headers": {"Header-Param": "from-task", "Request-Id": "r-1"},
                "QueryParameters": {"QueryParam": "from-task", "currency": "usd"},
                "RequestBody": {"Job": "Engineer", "BodyParam": "from-task"}}),
        )
        .await,
    );
    assert_eq!(out["StatusCode"], 200, "{out}");
    assert_eq!(out["StatusText"], "OK");
    assert_eq!(out["Headers"]["content-type"], json!(["application/json"]));
    let seen = &out["ResponseBody"];
    assert_eq!(
        seen["line"],
        "POST /v1/customers?currency=usd&QueryParam=from-connection HTTP/1.1"
    );
    let h = &seen["headers"];
    assert_eq!(h["x-api-key"], "key-1", "{seen}");
    assert_eq!(h["header-param"], "from-connection");
    assert_eq!(h["request-id"], "r-1");
    assert_eq!(h["range"], "bytes=0-262144");
    assert_eq!(h["user-agent"], "Amazon|StepFunctions|HttpInvoke|us-east-1");
    assert_eq!(h["content-type"], "application/json; charset=UTF-8");
    assert_eq!(
        seen["body"],
        r#"{"Job":"Engineer","BodyParam":"from-connection"}"#
    );

    // Basic, with a URL-encoded body.
    let basic = connection(
        &tasks,
        json!({"Name": "basic", "AuthorizationType": "BASIC", "AuthParameters": {
            "BasicAuthParameters": {"Username": "user", "Password": "pass"}}}),
    )
    .await;
    let out = succeeded(
        invoke(
            &tasks,
            json!({"ApiEndpoint": format!("{endpoint}/v1/invoices"), "Method": "POST",
                "Authentication": {"ConnectionArn": basic},
                "Headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "RequestBody": {"customer": "c-1", "items": ["a", "b"]},
                "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                              "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}}),
        )
        .await,
    );
    let seen = &out["ResponseBody"];
    assert_eq!(seen["headers"]["authorization"], "Basic dXNlcjpwYXNz");
    assert_eq!(
        seen["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(seen["body"], "customer=c-1&items%5B%5D=a&items%5B%5D=b");

    // OAuth client credentials: a token from the authorization endpoint, sent as Bearer.
    let oauth = connection(
        &tasks,
        json!({"Name": "oauth", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {
            "OAuthParameters": {
                "AuthorizationEndpoint": format!("{endpoint}/token"), "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"}}}}),
    )
    .await;
    let out = succeeded(
        invoke(
            &tasks,
            json!({"ApiEndpoint": format!("{endpoint}/me"), "Method": "GET",
                "InvocationConfig": {"ConnectionArn": oauth}}),
        )
        .await,
    );
    assert_eq!(
        out["ResponseBody"]["headers"]["authorization"],
        "Bearer tok-1"
    );
    assert_eq!(out["ResponseBody"]["body"], "");

    // Errors as the guide names them.
    let (error, cause) = failed(
        invoke(
            &tasks,
            json!({"ApiEndpoint": format!("{endpoint}/missing"), "Method": "GET",
                "InvocationConfig": {"ConnectionArn": basic}}),
        )
        .await,
    );
    assert_eq!(error, "States.Http.StatusCode.404");
    let cause: Value = serde_json::from_str(&cause).unwrap();
    assert_eq!(cause["ResponseBody"], json!({"message": "no such thing"}));
    let (error, _) = failed(
        invoke(
            &tasks,
            json!({"ApiEndpoint": format!("{endpoint}/image"), "Method": "GET",
                "InvocationConfig": {"ConnectionArn": basic}}),
        )
        .await,
    );
    assert_eq!(error, "States.Runtime");
    let gone = "arn:aws:events:us-east-1:123456789012:connection/gone/00000000-0000-0000-0000-000000000000";
    let (error, _) = failed(
        invoke(
            &tasks,
            json!({"ApiEndpoint": format!("{endpoint}/x"), "Method": "GET",
                "InvocationConfig": {"ConnectionArn": gone}}),
        )
        .await,
    );
    assert_eq!(error, "Events.ConnectionResource.ResourceNotFound");
    // Nothing listens here: no answer.
    let (error, _) = failed(
        invoke(
            &tasks,
            json!({"ApiEndpoint": "http://127.0.0.1:9/x", "Method": "GET",
                "InvocationConfig": {"ConnectionArn": basic}}),
        )
        .await,
    );
    assert_eq!(error, "States.Http.Socket");
}

/// An OAuth API of the test's own: `/token` gives `tok-N` (N counts the tokens given) good for
/// an hour, `/short-token` gives `short-N` good for 30 seconds, `/denied` answers 401, and
/// anything else echoes the Authorization header it got.
async fn oauth_api() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let given = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = given.clone();
    let url = common::serve_api(move |head, _| {
        let line = head.lines().next().unwrap_or_default();
        let auth = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("authorization")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let token = |prefix: &str, seconds: u64| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            json!({"access_token": format!("{prefix}-{n}"), "expires_in": seconds})
        };
        let (status, answer) = if line.contains(" /token") {
            ("200 OK", token("tok", 3600))
        } else if line.contains(" /short-token") {
            ("200 OK", token("short", 30))
        } else if line.contains(" /denied") {
            ("401 Unauthorized", json!({"message": "expired"}))
        } else {
            ("200 OK", json!({"auth": auth}))
        };
        Answer::json(status, answer.to_string())
    })
    .await;
    (url, given)
}

/// OAuth tokens are kept per connection as EventBridge keeps them: asked for once and used
/// until a minute before they expire; an API's 401 fails that call and the next one asks for
/// a new token; a connection updated since asks anew.
#[tokio::test]
async fn oauth_tokens_are_kept_until_they_expire_or_are_refused() {
    use std::sync::atomic::Ordering;
    let moto = Moto::start();
    let (endpoint, given) = oauth_api().await;
    let tasks = AwsTasks::new(
        &TaskConfig::new(REGION).with_aws_endpoint(&moto.endpoint),
        NoTasks,
    );
    let oauth = |name: &str, token_path: &str| {
        json!({"Name": name, "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {
            "OAuthParameters": {
                "AuthorizationEndpoint": format!("{endpoint}{token_path}"), "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"}}}})
    };
    let long = connection(&tasks, oauth("long", "/token")).await;
    let short = connection(&tasks, oauth("short", "/short-token")).await;
    let call = |conn: &str, path: &str| {
        json!({"ApiEndpoint": format!("{endpoint}{path}"), "Method": "GET",
            "InvocationConfig": {"ConnectionArn": conn}})
    };
    let auth = |o: TaskOutcome| succeeded(o)["ResponseBody"]["auth"].clone();

    assert_eq!(
        auth(invoke(&tasks, call(&long, "/me")).await),
        "Bearer tok-1"
    );
    assert_eq!(
        auth(invoke(&tasks, call(&long, "/me")).await),
        "Bearer tok-1"
    );
    assert_eq!(given.load(Ordering::SeqCst), 1, "one token for two calls");

    let (error, _) = failed(invoke(&tasks, call(&long, "/denied")).await);
    assert_eq!(error, "States.Http.StatusCode.401");
    assert_eq!(
        auth(invoke(&tasks, call(&long, "/me")).await),
        "Bearer tok-2"
    );
    assert_eq!(given.load(Ordering::SeqCst), 2, "a new token after a 401");

    // A token that expires within a minute is asked for again at every call.
    assert_eq!(
        auth(invoke(&tasks, call(&short, "/me")).await),
        "Bearer short-3"
    );
    assert_eq!(
        auth(invoke(&tasks, call(&short, "/me")).await),
        "Bearer short-4"
    );
    // The long-lived one is still kept, apart.
    assert_eq!(
        auth(invoke(&tasks, call(&long, "/me")).await),
        "Bearer tok-2"
    );
    assert_eq!(given.load(Ordering::SeqCst), 4);
}
