//! The HTTP Task, `arn:aws:states:::http:invoke` (developer guide, "Call HTTPS APIs in Step
//! Functions workflows"): a call to any HTTPS API, authorised through an EventBridge
//! connection. This module holds the pure parts — reading the connection, merging its
//! parameters into the task's, encoding the body, shaping the answer — so that they are tested
//! without a network; [`crate::aws`] fetches the connection and sends the calls.
//!
//! The rules kept here, as the guide gives them:
//! - the connection is `InvocationConfig.ConnectionArn` or `Authentication.ConnectionArn`;
//! - the connection's headers, query parameters and body parameters are added to the task's,
//!   and win on the same key; body parameters cannot be merged into a string body
//!   (`States.Runtime`);
//! - `Transform.RequestBodyEncoding: URL_ENCODED` sends the body as form data, arrays as
//!   `INDICES` (default), `REPEAT`, `COMMAS` or `BRACKETS`;
//! - Step Functions sets `User-Agent: Amazon|StepFunctions|HttpInvoke|REGION` and
//!   `Range: bytes=0-262144`; the task may not set the headers in [`REFUSED_HEADERS`];
//! - the result is `{"Headers", "ResponseBody", "StatusCode", "StatusText"}`; a status outside
//!   2XX fails with `States.Http.StatusCode.<status>`, a call with no answer (60 seconds at
//!   most) with `States.Http.Socket`, a binary answer with `States.Runtime`, and a connection
//!   that cannot be used with `Events.ConnectionResource.<reason>`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value};
use waymark_asl::Failure;

use crate::http_parts::{header_lists, query_string};

pub const ACTIONS: &[&str] = &["invoke"];

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// Headers a task may not set (matched without case); besides these, `x-forwarded-*`,
/// `x-amz-*` and `x-amzn-*`.
const REFUSED_HEADERS: &[&str] = &[
    "a-im",
    "accept-charset",
    "accept-datetime",
    "accept-encoding",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-md5",
    "date",
    "expect",
    "forwarded",
    "from",
    "host",
    "http2-settings",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "max-forwards",
    "origin",
    "pragma",
    "proxy-authorization",
    "referer",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "warning",
];

/// How long Step Functions waits for an answer.
pub const TIMEOUT_SECONDS: u64 = 60;

pub const CONNECTION_PREFIX: &str = "Events.ConnectionResource.";

fn runtime(why: impl Into<String>) -> Failure {
    Failure::runtime(why)
}

pub fn connection_error(reason: &str, cause: impl Into<String>) -> Failure {
    Failure::new(format!("{CONNECTION_PREFIX}{reason}"), cause.into())
}

/// An HTTP request, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Key/value pairs as a connection holds them, in order.
pub type Pairs = Vec<(String, String)>;

/// How a connection authorises calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    Basic { username: String, password: String },
    ApiKey { name: String, value: String },
    OAuth(OAuth),
}

/// An OAuth client-credentials connection: where to get a token and how to ask for it.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct OAuth {
    pub endpoint: String,
    pub method: String,
    pub client_id: String,
    pub client_secret: String,
    pub headers: Pairs,
    pub query: Pairs,
    pub body: Pairs,
}

/// An EventBridge connection, secrets included.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub auth: Auth,
    pub headers: Pairs,
    pub query: Pairs,
    pub body: Pairs,
}

/// The connection's ARN from the task's parameters.
pub fn connection_arn(params: &Value) -> Result<String, Failure> {
    let from = |field: &str| {
        params
            .get(field)
            .and_then(|v| v.get("ConnectionArn"))
            .and_then(Value::as_str)
    };
    match from("InvocationConfig").or_else(|| from("Authentication")) {
        Some(arn) if !arn.is_empty() => Ok(arn.to_string()),
        _ => Err(runtime(
            "http:invoke needs an EventBridge connection: 'InvocationConfig.ConnectionArn' or 'Authentication.ConnectionArn'",
        )),
    }
}

/// The connection's name, which DescribeConnection takes:
/// `arn:PARTITION:events:REGION:ACCOUNT:connection/NAME/ID`.
pub fn connection_name(arn: &str) -> Result<&str, Failure> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name = match parts.as_slice() {
        ["arn", _, "events", _, _, rest] => rest
            .strip_prefix("connection/")
            .and_then(|r| r.split('/').next()),
        _ => None,
    };
    match name {
        Some(n) if !n.is_empty() => Ok(n),
        _ => Err(connection_error(
            "ResourceNotFound",
            format!("'{arn}' is not the ARN of an EventBridge connection"),
        )),
    }
}

/// A field of a connection description or secret, whatever its case convention:
/// DescribeConnection names fields `ApiKeyName` (or `ClientId`), the connection's secret
/// `api_key_name` (or `client_id`).
fn field<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    let want: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    obj.as_object()?.iter().find_map(|(k, v)| {
        let key = k
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase());
        key.eq(want.chars()).then_some(v)
    })
}

fn text(obj: &Value, name: &str) -> Option<String> {
    match field(obj, name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `{"HeaderParameters": [{"Key", "Value"}], "QueryStringParameters": ..., "BodyParameters": ...}`.
fn http_parameters(obj: Option<&Value>) -> (Pairs, Pairs, Pairs) {
    let list = |name: &str| -> Pairs {
        obj.and_then(|o| field(o, name))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((text(p, "Key")?, text(p, "Value").unwrap_or_default())))
            .collect()
    };
    (
        list("HeaderParameters"),
        list("QueryStringParameters"),
        list("BodyParameters"),
    )
}

/// The connection from DescribeConnection's answer and its secret's value (where EventBridge
/// keeps the passwords, keys and client secrets that DescribeConnection leaves out).
pub fn connection(described: &Value, secret: &Value) -> Result<Connection, Failure> {
    let name = text(described, "Name").unwrap_or_default();
    match text(described, "ConnectionState").as_deref() {
        None | Some("AUTHORIZED") | Some("ACTIVE") => {}
        Some("AUTHORIZING") => {
            return Err(connection_error(
                "AuthInProgress",
                format!("The connection '{name}' is being authorised"),
            ))
        }
        Some("UPDATING") | Some("CREATING") | Some("DELETING") => {
            return Err(connection_error(
                "ConcurrentModification",
                format!("The connection '{name}' is changing"),
            ))
        }
        Some(state) => {
            return Err(connection_error(
                "InvalidConnectionState",
                format!("The connection '{name}' is {state}"),
            ))
        }
    }
    let params = field(described, "AuthParameters")
        .cloned()
        .unwrap_or_default();
    // The secret holds every value; the description the structure when the secret is flat.
    let pick = |section: &str, name: &str| -> Option<String> {
        text(secret, name)
            .or_else(|| field(secret, section).and_then(|s| text(s, name)))
            .or_else(|| field(&params, section).and_then(|s| text(s, name)))
    };
    let missing = |what: &str| {
        connection_error(
            "InvalidConnectionState",
            format!("The connection '{name}' has no {what}"),
        )
    };
    let kind = text(described, "AuthorizationType").unwrap_or_default();
    let auth = match kind.as_str() {
        "BASIC" => Auth::Basic {
            username: pick("BasicAuthParameters", "Username").ok_or_else(|| missing("Username"))?,
            password: pick("BasicAuthParameters", "Password").ok_or_else(|| missing("Password"))?,
        },
        "API_KEY" => Auth::ApiKey {
            name: pick("ApiKeyAuthParameters", "ApiKeyName").ok_or_else(|| missing("ApiKeyName"))?,
            value: pick("ApiKeyAuthParameters", "ApiKeyValue")
                .ok_or_else(|| missing("ApiKeyValue"))?,
        },
        "OAUTH_CLIENT_CREDENTIALS" => {
            let client = |n: &str| {
                field(secret, "ClientParameters")
                    .and_then(|c| text(c, n))
                    .or_else(|| text(secret, n))
                    .or_else(|| {
                        field(&params, "OAuthParameters")
                            .and_then(|o| field(o, "ClientParameters"))
                            .and_then(|c| text(c, n))
                    })
            };
            let oauth_params = field(secret, "OAuthHttpParameters").or_else(|| {
                field(&params, "OAuthParameters").and_then(|o| field(o, "OAuthHttpParameters"))
            });
            let (headers, query, body) = http_parameters(oauth_params);
            Auth::OAuth(OAuth {
                endpoint: pick("OAuthParameters", "AuthorizationEndpoint")
                    .ok_or_else(|| missing("AuthorizationEndpoint"))?,
                method: pick("OAuthParameters", "HttpMethod").unwrap_or_else(|| "POST".into()),
                client_id: client("ClientID").ok_or_else(|| missing("ClientID"))?,
                client_secret: client("ClientSecret").ok_or_else(|| missing("ClientSecret"))?,
                headers,
                query,
                body,
            })
        }
        other => {
            return Err(connection_error(
                "InvalidConnectionState",
                format!("The connection '{name}' has the authorization type '{other}', which Waymark does not use"),
            ))
        }
    };
    let invocation = field(secret, "InvocationHttpParameters")
        .or_else(|| field(&params, "InvocationHttpParameters"));
    let (headers, query, body) = http_parameters(invocation);
    Ok(Connection {
        auth,
        headers,
        query,
        body,
    })
}

/// The request for an OAuth client-credentials token: the client's id and secret as Basic
/// credentials, the connection's OAuth parameters as they are.
pub fn token_request(o: &OAuth) -> Request {
    let mut url = o.endpoint.clone();
    if !o.query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query_string(&o.query));
    }
    let mut headers = o.headers.clone();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", o.client_id, o.client_secret));
    headers.push(("Authorization".into(), format!("Basic {basic}")));
    let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
    form.extend(o.body.iter().cloned());
    headers.push((
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    Request {
        method: o.method.clone(),
        url,
        headers,
        body: query_string(&form).into_bytes(),
    }
}

/// The access token from the authorization server's answer.
pub fn token(status: u16, body: &[u8]) -> Result<Token, Failure> {
    let text = String::from_utf8_lossy(body);
    let denied = |why: String| connection_error("InvalidConnectionState", why);
    if !(200..300).contains(&status) {
        return Err(denied(format!(
            "The authorization endpoint answered {status}: {text}"
        )));
    }
    let v = serde_json::from_str::<Value>(&text).ok();
    let access = v
        .as_ref()
        .and_then(|v| v.get("access_token"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            denied(format!(
                "The authorization endpoint gave no access_token: {text}"
            ))
        })?;
    // RFC 6749 names it a number of seconds; some endpoints write it as a string.
    let expires_in = v.as_ref().and_then(|v| v.get("expires_in")).and_then(|e| {
        e.as_u64()
            .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
    });
    Ok(Token { access, expires_in })
}

/// An access token and the seconds it is good for, when the endpoint says.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub access: String,
    pub expires_in: Option<u64>,
}

/// How long before its expiry a kept token is replaced: EventBridge refreshes a token "if the
/// token expires within 60 seconds" when it is about to use it.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(60);

/// OAuth tokens kept per connection, as EventBridge keeps them: one is asked for when none is
/// kept or the kept one expires within [`REFRESH_BEFORE`], and dropped when an API answers
/// 401 or 407 (the call fails; the next one, a retry say, asks for a new token).
#[derive(Debug, Default)]
pub struct TokenCache {
    kept: std::sync::Mutex<std::collections::HashMap<String, (String, Option<Instant>)>>,
}

/// Tokens kept at most; past that the cache starts again empty (each is asked for again).
const MAX_KEPT_TOKENS: usize = 1024;

impl TokenCache {
    /// The connection's ARN and a hash of everything the token is asked with (its secret
    /// too, without keeping it in the key): a connection updated since asks anew.
    pub fn key(connection_arn: &str, o: &OAuth) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        o.hash(&mut h);
        format!("{connection_arn}#{:016x}", h.finish())
    }

    /// The kept token for `key`, if it is good for more than [`REFRESH_BEFORE`] at `now`.
    pub fn get(&self, key: &str, now: Instant) -> Option<String> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        match kept.get(key) {
            Some((token, None)) => Some(token.clone()),
            Some((token, Some(until))) if *until > now + REFRESH_BEFORE => Some(token.clone()),
            _ => None,
        }
    }

    pub fn put(&self, key: String, token: &Token, now: Instant) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= MAX_KEPT_TOKENS && !kept.contains_key(&key) {
            kept.clear();
        }
        let until = token
            .expires_in
            .map(|s| now + Duration::from_secs(s.min(10 * 365 * 86_400)));
        kept.insert(key, (token.access.clone(), until));
    }

    /// After an API's answer: a 401 or 407 drops the token it was called with.
    pub fn answered(&self, key: &str, status: u16) {
        if status == 401 || status == 407 {
            self.kept
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(key);
        }
    }
}

/// `{"name": "value"}` (a list of values repeats the name) as pairs; `field` names it in errors.
fn pairs(v: Option<&Value>, field: &str) -> Result<Pairs, Failure> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let Value::Object(m) = v else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        return Err(runtime(format!(
            "'{field}' must be an object of names and values"
        )));
    };
    let mut out = Vec::new();
    for (k, value) in m {
        let values: Vec<&Value> = match value {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for v in values {
            out.push((
                k.clone(),
                match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                },
            ));
        }
    }
    Ok(out)
}

/// Adds `extra` to `base`, `extra` replacing every pair of `base` with the same name.
fn merge(base: &mut Pairs, extra: &[(String, String)], same: fn(&str, &str) -> bool) {
    base.retain(|(k, _)| !extra.iter().any(|(e, _)| same(k, e)));
    base.extend(extra.iter().cloned());
}

/// Form encoding of a JSON object, nested objects as `a[b]`, arrays by `format`.
fn form_encode(body: &Map<String, Value>, format: &str) -> String {
    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    fn walk(key: &str, v: &Value, format: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{key}[{k}]"), v, format, out);
                }
            }
            Value::Array(a) => match format {
                "COMMAS" => out.push((
                    key.to_string(),
                    a.iter().map(scalar).collect::<Vec<_>>().join(","),
                )),
                "REPEAT" => a.iter().for_each(|v| walk(key, v, format, out)),
                "BRACKETS" => a
                    .iter()
                    .for_each(|v| walk(&format!("{key}[]"), v, format, out)),
                _ => a
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| walk(&format!("{key}[{i}]"), v, format, out)),
            },
            other => out.push((key.to_string(), scalar(other))),
        }
    }
    let mut out = Vec::new();
    for (k, v) in body {
        walk(k, v, format, &mut out);
    }
    query_string(&out)
}

/// Builds the call from the task's parameters and its connection, checking the parameters as
/// Step Functions does. `token` is the OAuth access token when the connection uses OAuth.
pub fn request(
    params: &Value,
    conn: &Connection,
    token: Option<&str>,
    region: &str,
) -> Result<Request, Failure> {
    let Value::Object(p) = params else {
        return Err(runtime("http:invoke takes an object of parameters"));
    };
    let endpoint = match p.get("ApiEndpoint") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(runtime("http:invoke needs 'ApiEndpoint', the API's URL")),
    };
    let method = match p.get("Method") {
        Some(Value::String(m)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            m.to_ascii_uppercase()
        }
        _ => {
            return Err(runtime(format!(
                "'Method' must be one of {}",
                METHODS.join(", ")
            )))
        }
    };
    let mut headers = pairs(p.get("Headers"), "Headers")?;
    for (k, _) in &headers {
        let l = k.to_ascii_lowercase();
        if REFUSED_HEADERS.contains(&l.as_str())
            || l.starts_with("x-forwarded")
            || l.starts_with("x-amz-")
            || l.starts_with("x-amzn-")
        {
            return Err(runtime(format!(
                "The header '{k}' cannot be set in an HTTP Task"
            )));
        }
    }
    merge(&mut headers, &conn.headers, |a, b| {
        a.eq_ignore_ascii_case(b)
    });
    match &conn.auth {
        Auth::Basic { username, password } => {
            let b =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            merge(
                &mut headers,
                &[("Authorization".into(), format!("Basic {b}"))],
                |a, b| a.eq_ignore_ascii_case(b),
            );
        }
        Auth::ApiKey { name, value } => {
            merge(&mut headers, &[(name.clone(), value.clone())], |a, b| {
                a.eq_ignore_ascii_case(b)
            });
        }
        Auth::OAuth(_) => {
            let token = token.ok_or_else(|| {
                connection_error("AuthInProgress", "The connection has no OAuth token yet")
            })?;
            merge(
                &mut headers,
                &[("Authorization".into(), format!("Bearer {token}"))],
                |a, b| a.eq_ignore_ascii_case(b),
            );
        }
    }
    let mut query = match p.get("QueryParameters") {
        Some(Value::String(s)) => s
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        other => pairs(other, "QueryParameters")?,
    };
    merge(&mut query, &conn.query, |a, b| a == b);
    let mut url = endpoint;
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query_string(&query));
    }
    // The body: the task's, with the connection's body parameters merged in.
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) if conn.body.is_empty() => None,
        None | Some(Value::Null) => Some(Value::Object(Map::new())),
        Some(Value::String(_)) if !conn.body.is_empty() => {
            return Err(runtime(
                "The connection has body parameters, which cannot be merged into a RequestBody that is a string",
            ))
        }
        Some(v) => Some(v.clone()),
    };
    let body = body.map(|mut b| {
        if let Value::Object(m) = &mut b {
            for (k, v) in &conn.body {
                m.insert(k.clone(), Value::String(v.clone()));
            }
        }
        b
    });
    let transform = p.get("Transform");
    let encoding = transform
        .and_then(|t| t.get("RequestBodyEncoding"))
        .and_then(Value::as_str)
        .unwrap_or("NONE");
    let array_format = transform
        .and_then(|t| t.pointer("/RequestEncodingOptions/ArrayFormat"))
        .and_then(Value::as_str)
        .unwrap_or("INDICES");
    if !["INDICES", "REPEAT", "COMMAS", "BRACKETS"].contains(&array_format) {
        return Err(runtime(format!(
            "'Transform.RequestEncodingOptions.ArrayFormat' must be INDICES, REPEAT, COMMAS or BRACKETS, not '{array_format}'"
        )));
    }
    let has_type = |h: &Pairs| {
        h.iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    };
    let body = match (encoding, body) {
        (_, None) => Vec::new(),
        ("NONE", Some(Value::String(s))) => s.into_bytes(),
        ("NONE", Some(v)) => {
            if !has_type(&headers) {
                headers.push((
                    "Content-Type".into(),
                    "application/json; charset=UTF-8".into(),
                ));
            }
            v.to_string().into_bytes()
        }
        ("URL_ENCODED", Some(Value::Object(m))) => form_encode(&m, array_format).into_bytes(),
        ("URL_ENCODED", Some(Value::String(s))) => s.into_bytes(),
        ("URL_ENCODED", Some(_)) => {
            return Err(runtime(
                "A URL_ENCODED RequestBody must be an object (or a string already encoded)",
            ))
        }
        (other, _) => {
            return Err(runtime(format!(
                "'Transform.RequestBodyEncoding' must be NONE or URL_ENCODED, not '{other}'"
            )))
        }
    };
    headers.push((
        "User-Agent".into(),
        format!("Amazon|StepFunctions|HttpInvoke|{region}"),
    ));
    headers.push(("Range".into(), "bytes=0-262144".into()));
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// The task's result for an answer, or its failure.
pub fn result(status: u16, headers: &[(String, String)], body: &[u8]) -> Result<Value, Failure> {
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media == "application/octet-stream"
        || ["image/", "video/", "audio/"]
            .iter()
            .any(|p| media.starts_with(p))
    {
        return Err(runtime(format!(
            "The API answered with content of type '{media}', which an HTTP Task does not read"
        )));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(runtime(
            "The API's answer cannot be read as text, which an HTTP Task needs",
        ));
    };
    let h = header_lists(headers);
    let response_body = if media.contains("json") {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    } else {
        Value::String(text.to_string())
    };
    let out = serde_json::json!({
        "Headers": h,
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    });
    if !(200..300).contains(&status) {
        return Err(Failure::new(
            format!("States.Http.StatusCode.{status}"),
            out.to_string(),
        ));
    }
    Ok(out)
}

/// A call that got no answer.
pub fn socket_error(cause: impl Into<String>) -> Failure {
    Failure::new("States.Http.Socket", cause.into())
}

/// DescribeConnection's or GetSecretValue's failure as the connection error Step Functions
/// names it.
pub fn lookup_error(f: Failure) -> Failure {
    let error = f.error.unwrap_or_default();
    let cause = f.cause.unwrap_or_default();
    let reason = if error.ends_with("ResourceNotFoundException") {
        "ResourceNotFound"
    } else if error.contains("AccessDenied") || error.contains("NotAuthorized") {
        "AccessDenied"
    } else {
        "InternalError"
    };
    connection_error(reason, format!("{error}: {cause}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn basic() -> Connection {
        Connection {
            auth: Auth::Basic {
                username: "u".into(),
                password: "p".into(),
            },
            headers: vec![],
            query: vec![],
            body: vec![],
        }
    }

    #[test]
    fn connections_are_named_by_their_arn() {
        assert_eq!(
            connection_name(
                "arn:aws:events:us-east-2:123456789012:connection/Stripe/81210c42-8af1"
            )
            .unwrap(),
            "Stripe"
        );
        let e = connection_name("arn:aws:sns:us-east-1:1:topic").unwrap_err();
        assert_eq!(
            e.error.as_deref(),
            Some("Events.ConnectionResource.ResourceNotFound")
        );
        assert_eq!(
            connection_arn(&json!({"InvocationConfig": {"ConnectionArn": "a"}})).unwrap(),
            "a"
        );
        assert_eq!(
            connection_arn(&json!({"Authentication": {"ConnectionArn": "b"}})).unwrap(),
            "b"
        );
        assert!(connection_arn(&json!({"ApiEndpoint": "https://x"})).is_err());
    }

    /// The guide's merging example: connection values win, the body keeps the task's order.
    #[test]
    fn the_connection_is_merged_as_the_guide_shows() {
        let described = json!({
            "Name": "Example", "ConnectionState": "AUTHORIZED", "AuthorizationType": "API_KEY",
            "AuthParameters": {
                "ApiKeyAuthParameters": {"ApiKeyName": "ApiKey"},
                "InvocationHttpParameters": {
                    "BodyParameters": [{"Key": "BodyParam", "Value": "connection_body_param"}],
                    "HeaderParameters": [{"Key": "Header-Param", "Value": "connection_header_param"}],
                    "QueryStringParameters": [{"Key": "QueryParam", "Value": "connection_query_param"}]
                }
            }
        });
        let secret = json!({"api_key_name": "ApiKey", "api_key_value": "key_value"});
        let conn = connection(&described, &secret).unwrap();
        let r = request(
            &json!({
                "ApiEndpoint": "https://example.com/path", "Method": "POST",
                "Headers": {"Request-Id": "my_request_id", "Header-Param": "state_machine_header_param"},
                "RequestBody": {"Job": "Software Engineer", "Company": "AnyCompany", "BodyParam": "state_machine_body_param"},
                "QueryParameters": {"QueryParam": "state_machine_query_param"}
            }),
            &conn,
            None,
            "us-east-2",
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://example.com/path?QueryParam=connection_query_param"
        );
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"Job":"Software Engineer","Company":"AnyCompany","BodyParam":"connection_body_param"}"#
        );
        let h = |name: &str| {
            r.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(h("Header-Param"), ["connection_header_param"]);
        assert_eq!(h("Request-Id"), ["my_request_id"]);
        assert_eq!(h("ApiKey"), ["key_value"]);
        assert_eq!(h("Content-Type"), ["application/json; charset=UTF-8"]);
        assert_eq!(h("Range"), ["bytes=0-262144"]);
        assert_eq!(
            h("User-Agent"),
            ["Amazon|StepFunctions|HttpInvoke|us-east-2"]
        );
    }

    #[test]
    fn bodies_are_url_encoded_in_each_array_format() {
        let call = |format: &str| {
            let r = request(
                &json!({"ApiEndpoint": "https://x", "Method": "POST",
                    "Headers": {"Content-Type": "application/x-www-form-urlencoded"},
                    "RequestBody": {"array": ["a", "b"], "description": "Monthly subscription",
                                    "metadata": {"order_details": "monthly report data"}},
                    "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                                  "RequestEncodingOptions": {"ArrayFormat": format}}}),
                &basic(),
                None,
                "us-east-1",
            )
            .unwrap();
            assert!(r
                .headers
                .contains(&("Authorization".into(), "Basic dTpw".into())));
            String::from_utf8(r.body).unwrap()
        };
        let rest = "description=Monthly%20subscription&metadata%5Border_details%5D=monthly%20report%20data";
        assert_eq!(
            call("INDICES"),
            format!("array%5B0%5D=a&array%5B1%5D=b&{rest}")
        );
        assert_eq!(call("REPEAT"), format!("array=a&array=b&{rest}"));
        assert_eq!(call("COMMAS"), format!("array=a%2Cb&{rest}"));
        assert_eq!(
            call("BRACKETS"),
            format!("array%5B%5D=a&array%5B%5D=b&{rest}")
        );
    }

    #[test]
    fn refused_parameters_fail_with_states_runtime() {
        let mut conn = basic();
        for (params, says) in [
            (json!({"Method": "GET"}), "ApiEndpoint"),
            (
                json!({"ApiEndpoint": "https://x", "Method": "FETCH"}),
                "Method",
            ),
            (
                json!({"ApiEndpoint": "https://x", "Method": "GET", "Headers": {"Authorization": "x"}}),
                "Authorization",
            ),
            (
                json!({"ApiEndpoint": "https://x", "Method": "GET", "Headers": {"x-amzn-trace-id": "x"}}),
                "x-amzn-trace-id",
            ),
            (
                json!({"ApiEndpoint": "https://x", "Method": "GET",
                    "Transform": {"RequestBodyEncoding": "GZIP"}, "RequestBody": {}}),
                "GZIP",
            ),
        ] {
            let e = request(&params, &conn, None, "us-east-1").unwrap_err();
            assert_eq!(e.error.as_deref(), Some("States.Runtime"));
            assert!(e.cause.unwrap().contains(says), "{params}");
        }
        conn.body = vec![("k".into(), "v".into())];
        let e = request(
            &json!({"ApiEndpoint": "https://x", "Method": "POST", "RequestBody": "text"}),
            &conn,
            None,
            "us-east-1",
        )
        .unwrap_err();
        assert!(e.cause.unwrap().contains("string"));
        // No body in the task: the connection's body parameters are the body.
        let r = request(
            &json!({"ApiEndpoint": "https://x", "Method": "POST"}),
            &conn,
            None,
            "r",
        )
        .unwrap();
        assert_eq!(r.body, br#"{"k":"v"}"#);
    }

    #[test]
    fn oauth_connections_ask_for_a_token_with_the_client_credentials() {
        let described = json!({
            "Name": "o", "ConnectionState": "AUTHORIZED", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
            "AuthParameters": {"OAuthParameters": {
                "AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "id"},
                "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "read"}]}}}
        });
        let secret = json!({"client_parameters": {"client_i_d": "id", "client_secret": "s"}});
        let conn = connection(&described, &secret).unwrap();
        let Auth::OAuth(o) = &conn.auth else {
            panic!("{conn:?}")
        };
        let t = token_request(o);
        assert_eq!(t.url, "https://auth.example.com/token");
        assert_eq!(t.body, b"grant_type=client_credentials&scope=read");
        assert!(t
            .headers
            .contains(&("Authorization".into(), "Basic aWQ6cw==".into())));
        assert_eq!(
            token(200, br#"{"access_token":"tok","expires_in":60}"#).unwrap(),
            Token {
                access: "tok".into(),
                expires_in: Some(60)
            }
        );
        assert_eq!(
            token(200, br#"{"access_token":"tok","expires_in":"3600"}"#)
                .unwrap()
                .expires_in,
            Some(3600)
        );
        let e = token(401, b"no").unwrap_err();
        assert_eq!(
            e.error.as_deref(),
            Some("Events.ConnectionResource.InvalidConnectionState")
        );
        let r = request(
            &json!({"ApiEndpoint": "https://x", "Method": "GET"}),
            &conn,
            Some("tok"),
            "r",
        )
        .unwrap();
        assert!(r
            .headers
            .contains(&("Authorization".into(), "Bearer tok".into())));
    }

    #[test]
    fn connections_that_cannot_be_used_are_named() {
        let e = connection(
            &json!({"Name": "c", "ConnectionState": "DEAUTHORIZED", "AuthorizationType": "BASIC"}),
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(
            e.error.as_deref(),
            Some("Events.ConnectionResource.InvalidConnectionState")
        );
        let e = connection(
            &json!({"Name": "c", "ConnectionState": "AUTHORIZING", "AuthorizationType": "BASIC"}),
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(
            e.error.as_deref(),
            Some("Events.ConnectionResource.AuthInProgress")
        );
        let e = lookup_error(Failure::new(
            "EventBridge.ResourceNotFoundException",
            "gone",
        ));
        assert_eq!(
            e.error.as_deref(),
            Some("Events.ConnectionResource.ResourceNotFound")
        );
    }

    #[test]
    fn answers_have_the_documented_shape_and_errors_their_status() {
        let out = result(
            200,
            &[("content-type".into(), "application/json".into())],
            br#"{"id":1}"#,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"Headers": {"content-type": ["application/json"]}, "ResponseBody": {"id": 1},
                   "StatusCode": 200, "StatusText": "OK"})
        );
        assert_eq!(
            result(200, &[], b"{\"a\":1}").unwrap()["ResponseBody"],
            "{\"a\":1}"
        );
        let e = result(404, &[], b"missing").unwrap_err();
        assert_eq!(e.error.as_deref(), Some("States.Http.StatusCode.404"));
        let cause: Value = serde_json::from_str(&e.cause.unwrap()).unwrap();
        assert_eq!(cause["StatusText"], "Not Found");
        assert_eq!(cause["ResponseBody"], "missing");
        for media in ["image/png", "application/octet-stream"] {
            let e = result(200, &[("Content-Type".into(), media.into())], b"x").unwrap_err();
            assert_eq!(e.error.as_deref(), Some("States.Runtime"));
        }
        assert_eq!(
            result(200, &[], &[0xff, 0xfe])
                .unwrap_err()
                .error
                .as_deref(),
            Some("States.Runtime")
        );
    }

    /// A kept token is used until a minute before it expires, dropped after a 401 or 407,
    /// kept after any other answer, and one without a lifetime is kept until refused.
    #[test]
    fn tokens_are_kept_as_eventbridge_keeps_them() {
        let cache = TokenCache::default();
        let now = Instant::now();
        let t = |access: &str, expires_in| Token {
            access: access.into(),
            expires_in,
        };
        cache.put("a".into(), &t("long", Some(3600)), now);
        cache.put("b".into(), &t("short", Some(59)), now);
        cache.put("c".into(), &t("forever", None), now);
        assert_eq!(cache.get("a", now).as_deref(), Some("long"));
        assert_eq!(cache.get("b", now), None, "expires within a minute");
        assert_eq!(
            cache.get("a", now + Duration::from_secs(3539)).as_deref(),
            Some("long")
        );
        assert_eq!(cache.get("a", now + Duration::from_secs(3541)), None);
        assert_eq!(
            cache.get("c", now + Duration::from_secs(86_400)).as_deref(),
            Some("forever")
        );
        cache.answered("a", 403);
        assert_eq!(cache.get("a", now).as_deref(), Some("long"));
        cache.answered("a", 401);
        assert_eq!(cache.get("a", now), None);
        cache.answered("c", 407);
        assert_eq!(cache.get("c", now), None);
        assert_eq!(cache.get("unknown", now), None);
    }
}
