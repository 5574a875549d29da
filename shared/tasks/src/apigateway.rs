//! The optimised `apigateway:invoke` (developer guide, "Call API Gateway with Step
//! Functions"): a call to an API Gateway endpoint built from `ApiEndpoint`, `Stage`, `Path`,
//! `QueryParameters` (lists of values), `Headers` (lists of values), `RequestBody` (JSON or
//! text) and `Method`, signed with SigV4 for `execute-api` when `AuthType` is `IAM_ROLE` or
//! `RESOURCE_POLICY`. The result is `{"ResponseBody", "Headers", "StatusCode", "StatusText"}`;
//! a status outside 2XX fails the task with `ApiGateway.<status>` and the body as the cause,
//! a call that gets no answer with `ApiGateway.<exception>`.
//!
//! Waymark extension, for APIs that run on a laptop: `ApiEndpoint` may be a URL with its
//! scheme (`http://127.0.0.1:3000`); AWS takes a host name only.

use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value};
use waymark_asl::Failure;

use crate::http_parts::{header_lists, query_string, ENCODE};

pub const ACTIONS: &[&str] = &["invoke"];

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Header names Step Functions does not let a task send (besides `X-Forwarded*`, `X-Amz*`).
const REFUSED_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-md5",
    "expect",
    "host",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "te",
    "transfer-encoding",
    "trailer",
    "upgrade",
    "via",
    "www-authenticate",
];

/// The HTTP call a task's parameters describe.
#[derive(Debug, PartialEq)]
pub struct Call {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The region to sign for with SigV4 (`execute-api`), when the call is signed.
    pub sign: Option<String>,
}

fn bad(why: impl Into<String>) -> Failure {
    Failure::runtime(why)
}

/// A `{"name": ["value", ...]}` parameter as pairs; a lone string counts as a list of one.
fn lists(p: &Map<String, Value>, field: &str) -> Result<Vec<(String, String)>, Failure> {
    let Some(v) = p.get(field) else {
        return Ok(Vec::new());
    };
    let Value::Object(m) = v else {
        return Err(bad(format!(
            "'{field}' must be an object whose values are lists of strings"
        )));
    };
    let mut out = Vec::new();
    for (k, values) in m {
        let values: Vec<&Value> = match values {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for v in values {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => return Err(bad(format!("'{field}.{k}' must be a list of strings"))),
            };
            out.push((k.clone(), text));
        }
    }
    Ok(out)
}

/// Builds the call, checking the parameters as Step Functions does.
pub fn call(params: &Value, default_region: &str) -> Result<Call, Failure> {
    let Value::Object(p) = params else {
        return Err(bad("apigateway:invoke takes an object of parameters"));
    };
    let endpoint = match p.get("ApiEndpoint") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => {
            return Err(bad(
                "apigateway:invoke needs 'ApiEndpoint', the API's host name",
            ))
        }
    };
    let method = match p.get("Method") {
        Some(Value::String(m)) if METHODS.contains(&m.as_str()) => m.clone(),
        _ => {
            return Err(bad(format!(
                "'Method' must be one of {}",
                METHODS.join(", ")
            )))
        }
    };
    let sign = match p
        .get("AuthType")
        .and_then(Value::as_str)
        .unwrap_or("NO_AUTH")
    {
        "NO_AUTH" => false,
        "IAM_ROLE" | "RESOURCE_POLICY" => true,
        other => {
            return Err(bad(format!(
                "'AuthType' must be NO_AUTH, IAM_ROLE or RESOURCE_POLICY, not '{other}'"
            )))
        }
    };
    let base = if endpoint.contains("://") {
        endpoint.trim_end_matches('/').to_string()
    } else {
        format!("https://{}", endpoint.trim_end_matches('/'))
    };
    let mut url = base;
    for part in ["Stage", "Path"] {
        match p.get(part) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                for seg in s.split('/').filter(|s| !s.is_empty()) {
                    url.push('/');
                    url.extend(utf8_percent_encode(seg, ENCODE));
                }
            }
            Some(_) => return Err(bad(format!("'{part}' must be a string"))),
        }
    }
    let query = lists(p, "QueryParameters")?;
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query_string(&query));
    }
    let mut headers = lists(p, "Headers")?;
    for (k, _) in &headers {
        let l = k.to_ascii_lowercase();
        if REFUSED_HEADERS.contains(&l.as_str())
            || l.starts_with("x-forwarded")
            || l.starts_with("x-amz")
        {
            return Err(bad(format!(
                "The header '{k}' cannot be sent through apigateway:invoke"
            )));
        }
    }
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            v.to_string().into_bytes()
        }
    };
    // <api>.execute-api.<region>.amazonaws.com names its region.
    let region = endpoint
        .split("://")
        .last()
        .unwrap_or(endpoint)
        .split('.')
        .collect::<Vec<_>>();
    let region = match region.iter().position(|s| *s == "execute-api") {
        Some(i) if i + 1 < region.len() => region[i + 1].to_string(),
        _ => default_region.to_string(),
    };
    Ok(Call {
        method,
        url,
        headers,
        body,
        sign: sign.then_some(region),
    })
}

/// The task's result for an answer, or its failure for a status outside 2XX.
pub fn result(status: u16, headers: &[(String, String)], body: &[u8]) -> Result<Value, Failure> {
    let text = String::from_utf8_lossy(body).into_owned();
    if !(200..300).contains(&status) {
        return Err(Failure::new(format!("ApiGateway.{status}"), text));
    }
    let h = header_lists(headers);
    let response_body = if text.is_empty() {
        Value::String(String::new())
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(serde_json::json!({
        "ResponseBody": response_body,
        "Headers": h,
        "StatusCode": status,
        "StatusText": status_text(status),
    }))
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_url_is_built_from_stage_path_and_query_lists() {
        let c = call(
            &json!({"ApiEndpoint": "abc123.execute-api.eu-west-1.amazonaws.com", "Method": "GET",
                "Stage": "prod", "Path": "bills/a b", "QueryParameters": {"billId": ["1", "2"]},
                "Headers": {"key": ["v1", "v2"]}, "AuthType": "IAM_ROLE"}),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            c.url,
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/bills/a%20b?billId=1&billId=2"
        );
        assert_eq!(
            c.headers,
            [
                ("key".to_string(), "v1".to_string()),
                ("key".into(), "v2".into())
            ]
        );
        assert_eq!(c.sign.as_deref(), Some("eu-west-1"));
        assert!(c.body.is_empty());
        let c = call(
            &json!({"ApiEndpoint": "http://127.0.0.1:3000", "Method": "POST", "RequestBody": {"a": 1}}),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(c.url, "http://127.0.0.1:3000");
        assert_eq!(c.body, br#"{"a":1}"#);
        assert_eq!(c.sign, None);
        for (params, says) in [
            (json!({"Method": "GET"}), "ApiEndpoint"),
            (json!({"ApiEndpoint": "h", "Method": "FETCH"}), "Method"),
            (
                json!({"ApiEndpoint": "h", "Method": "GET", "AuthType": "IAM_AUTH"}),
                "AuthType",
            ),
            (
                json!({"ApiEndpoint": "h", "Method": "GET", "Headers": {"X-Amz-Date": ["x"]}}),
                "X-Amz-Date",
            ),
            (
                json!({"ApiEndpoint": "h", "Method": "GET", "Headers": {"Host": ["x"]}}),
                "Host",
            ),
        ] {
            let e = call(&params, "us-east-1").unwrap_err();
            assert!(e.cause.unwrap().contains(says), "{params}");
        }
    }

    #[test]
    fn answers_become_the_documented_output_or_an_error_named_by_status() {
        let out = result(
            200,
            &[("content-type".into(), "application/json".into())],
            br#"{"myBills":[]}"#,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"ResponseBody": {"myBills": []}, "Headers": {"content-type": ["application/json"]},
                   "StatusCode": 200, "StatusText": "OK"})
        );
        assert_eq!(result(200, &[], b"plain").unwrap()["ResponseBody"], "plain");
        let e = result(403, &[], br#"{"message":"Missing Authentication Token"}"#).unwrap_err();
        assert_eq!(e.error.as_deref(), Some("ApiGateway.403"));
        assert_eq!(
            e.cause.as_deref(),
            Some(r#"{"message":"Missing Authentication Token"}"#)
        );
    }
}
