//! Step Functions' parameters (the input shape's member names, as JSON) to an HTTP request, per
//! the service's protocol: `json`, `rest-json`, `rest-xml`, `query` and `ec2`.

use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::model::{Model, Operation, Ref};
use crate::wire::{self, Place, B64};
use crate::xml;

/// Everything but `-_.~` is percent-encoded (RFC 3986 unreserved characters stay).
pub(crate) const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// A greedy URI label (`{Key+}`) keeps its slashes.
const GREEDY: &AsciiSet = &STRICT.remove(b'/');

/// A request before it has a host and a signature.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Request {
    pub method: String,
    /// Percent-encoded path.
    pub path: String,
    /// Raw (not yet encoded) query parameters, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Put in front of the service's host (`{bucket}.` for S3's virtual-hosted style).
    pub host_prefix: Option<String>,
}

impl Request {
    /// The path and query string, encoded.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let q: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    // `?uploads`, `?tagging`: subresources without a value.
                    utf8_percent_encode(k, STRICT).to_string()
                } else {
                    format!(
                        "{}={}",
                        utf8_percent_encode(k, STRICT),
                        utf8_percent_encode(v, STRICT)
                    )
                }
            })
            .collect();
        format!("{}?{}", self.path, q.join("&"))
    }
}

/// Builds the request for `op` from `params`. With `virtual_host`, an S3 `{Bucket}` label
/// goes to the host (`bucket.s3.region.amazonaws.com`) instead of the path.
pub(crate) fn serialize(
    model: &Model,
    op: &Operation,
    params: &Value,
    virtual_host: bool,
) -> Result<Request, String> {
    let empty = Map::new();
    let params = match params {
        Value::Object(m) => m,
        Value::Null => &empty,
        other => return Err(format!("the parameters must be an object, got {other}")),
    };
    if let Some(input) = &op.input {
        check_members_map(model, input, params, "")?;
    } else if !params.is_empty() {
        return Err(format!("{} takes no parameters", op.name));
    }
    // Like the SDKs, fill in an idempotency token (EC2's ClientToken, …) the caller left out.
    let mut filled;
    let mut params = params;
    if let Some(input) = &op.input {
        let missing: Vec<&String> = model
            .shape(&input.shape)
            .members
            .iter()
            .filter(|(name, m)| m.idempotency_token && !params.contains_key(*name))
            .map(|(name, _)| name)
            .collect();
        if !missing.is_empty() {
            filled = params.clone();
            for name in missing {
                filled.insert(
                    name.clone(),
                    Value::String(uuid::Uuid::new_v4().to_string()),
                );
            }
            params = &filled;
        }
    }
    let mut req = match model.protocol() {
        "json" => json_request(model, op, params)?,
        "rest-json" | "rest-xml" => rest_request(model, op, params, virtual_host)?,
        "query" | "ec2" => query_request(model, op, params)?,
        other => return Err(format!("the {other} protocol is not supported")),
    };
    if let Some(prefix) = op.endpoint.as_ref().and_then(|e| e.host_prefix.as_deref()) {
        let mut host = prefix.to_string();
        if let Some(input) = &op.input {
            for (name, m) in &model.shape(&input.shape).members {
                if m.host_label {
                    let v = params.get(name).map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    host = host.replace(&format!("{{{name}}}"), &v.unwrap_or_default());
                }
            }
        }
        req.host_prefix = Some(host + req.host_prefix.as_deref().unwrap_or(""));
    }
    let needs_md5 = op.http_checksum_required
        || op
            .http_checksum
            .as_ref()
            .is_some_and(|c| c.request_checksum_required);
    if needs_md5
        && !req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-md5"))
    {
        use md5::Digest;
        let digest = md5::Md5::digest(&req.body);
        req.headers
            .push(("Content-MD5".to_string(), B64.encode(digest)));
    }
    Ok(req)
}

/// Refuses a parameter the input shape has no member for, naming where it is.
pub(crate) fn check_members(
    model: &Model,
    r: &Ref,
    value: &Value,
    path: &str,
) -> Result<(), String> {
    match value {
        Value::Object(map) => check_members_map(model, r, map, path),
        Value::Array(_) => check_list(model, r, value, path),
        _ => Ok(()),
    }
}

fn check_members_map(
    model: &Model,
    r: &Ref,
    map: &Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    let shape = model.shape(&r.shape);
    match shape.kind.as_str() {
        "structure" if !shape.document => {
            for (k, v) in map {
                // A `Name.$` field is a path Step Functions fills in before the call.
                let name = k.strip_suffix(".$").unwrap_or(k);
                let Some(m) = shape.members.get(name) else {
                    let at = if path.is_empty() {
                        String::new()
                    } else {
                        format!(" in {path}")
                    };
                    let known: Vec<&str> = shape.members.keys().map(String::as_str).collect();
                    return Err(format!(
                        "unknown parameter '{name}'{at}; the parameters are: {}",
                        known.join(", ")
                    ));
                };
                if k.ends_with(".$") {
                    continue;
                }
                check_members(model, m, v, &join(path, name))?;
            }
        }
        "map" => {
            if let Some(vr) = &shape.value {
                for (k, v) in map {
                    check_members(model, vr, v, &join(path, k))?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_list(model: &Model, r: &Ref, v: &Value, path: &str) -> Result<(), String> {
    let shape = model.shape(&r.shape);
    if let (Some(m), Value::Array(items)) = (&shape.member, v) {
        for (i, item) in items.iter().enumerate() {
            check_members(model, m, item, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The name a member has on the wire in a body.
fn wire_name<'a>(name: &'a str, r: &'a Ref) -> &'a str {
    r.location_name.as_deref().unwrap_or(name)
}

// ---- JSON bodies (json, rest-json) ----

pub(crate) fn to_json(model: &Model, r: &Ref, v: &Value, path: &str) -> Result<Value, String> {
    let shape = model.shape(&r.shape);
    if shape.document {
        return Ok(v.clone());
    }
    Ok(match shape.kind.as_str() {
        "structure" => {
            let Value::Object(map) = v else {
                return Err(format!("{path}: expected an object, got {v}"));
            };
            let mut out = Map::new();
            for (name, m) in &shape.members {
                let Some(value) = map.get(name) else { continue };
                if value.is_null() {
                    continue;
                }
                out.insert(
                    wire_name(name, m).to_string(),
                    to_json(model, m, value, &join(path, name))?,
                );
            }
            Value::Object(out)
        }
        "list" => {
            let Value::Array(items) = v else {
                return Err(format!("{path}: expected an array, got {v}"));
            };
            let m = shape.member.as_deref().ok_or("list without member")?;
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| to_json(model, m, item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        "map" => {
            let Value::Object(map) = v else {
                return Err(format!("{path}: expected an object, got {v}"));
            };
            let vr = shape.value.as_deref().ok_or("map without value")?;
            let mut out = Map::new();
            for (k, value) in map {
                out.insert(k.clone(), to_json(model, vr, value, &join(path, k))?);
            }
            Value::Object(out)
        }
        "timestamp" => wire::timestamp_json(
            wire::timestamp_in(v).map_err(|e| format!("{path}: {e}"))?,
            Some(r),
            shape,
        ),
        "blob" => Value::String(B64.encode(wire::blob_in(v))),
        "integer" | "long" | "short" | "byte" => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
            Value::String(s) => s
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{path}: expected an integer, got {v}"))?,
            _ => return Err(format!("{path}: expected an integer, got {v}")),
        },
        "float" | "double" => match v {
            Value::Number(_) => v.clone(),
            Value::String(s) if s.parse::<f64>().is_ok() => {
                serde_json::from_str(s).unwrap_or_else(|_| v.clone())
            }
            _ => return Err(format!("{path}: expected a number, got {v}")),
        },
        "boolean" => match v {
            Value::Bool(_) => v.clone(),
            Value::String(s) if s == "true" || s == "false" => Value::Bool(s == "true"),
            _ => return Err(format!("{path}: expected a boolean, got {v}")),
        },
        _ => match v {
            Value::String(_) => v.clone(),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            _ => return Err(format!("{path}: expected a string, got {v}")),
        },
    })
}

fn json_request(
    model: &Model,
    op: &Operation,
    params: &Map<String, Value>,
) -> Result<Request, String> {
    let body = match &op.input {
        Some(input) => to_json(model, input, &Value::Object(params.clone()), "")?,
        None => Value::Object(Map::new()),
    };
    let version = model.metadata.json_version.as_deref().unwrap_or("1.0");
    let target = format!(
        "{}.{}",
        model.metadata.target_prefix.as_deref().unwrap_or_default(),
        op.name
    );
    Ok(Request {
        method: "POST".to_string(),
        path: "/".to_string(),
        headers: vec![
            (
                "Content-Type".to_string(),
                format!("application/x-amz-json-{version}"),
            ),
            ("X-Amz-Target".to_string(), target),
        ],
        body: serde_json::to_vec(&body).map_err(|e| e.to_string())?,
        ..Request::default()
    })
}

// ---- REST (rest-json, rest-xml) ----

fn rest_request(
    model: &Model,
    op: &Operation,
    params: &Map<String, Value>,
    virtual_host: bool,
) -> Result<Request, String> {
    let xml = model.protocol() == "rest-xml";
    let (template, literal_query) = match op.http.request_uri.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (op.http.request_uri.clone(), None),
    };
    let mut req = Request {
        method: op.http.method.clone(),
        ..Request::default()
    };
    if let Some(q) = literal_query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            req.query.push((k.to_string(), v.to_string()));
        }
    }
    let mut path = template;
    let Some(input) = &op.input else {
        req.path = path;
        return Ok(req);
    };
    let shape = model.shape(&input.shape);
    let mut body_members = Map::new();
    for (name, m) in &shape.members {
        let value = params.get(name).filter(|v| !v.is_null());
        let loc_name = m.location_name.as_deref().unwrap_or(name);
        match m.location.as_deref() {
            Some("uri") => {
                let Some(v) = value else {
                    if path.contains(&format!("{{{loc_name}}}"))
                        || path.contains(&format!("{{{loc_name}+}}"))
                    {
                        return Err(format!("missing required parameter '{name}'"));
                    }
                    continue;
                };
                let text = wire::scalar_text(model, m, v, Place::QueryString, name)?;
                if virtual_host && loc_name == "Bucket" && path.starts_with("/{Bucket}") {
                    path = path.replacen("/{Bucket}", "", 1);
                    req.host_prefix = Some(format!("{text}."));
                    continue;
                }
                path = path
                    .replace(
                        &format!("{{{loc_name}+}}"),
                        &utf8_percent_encode(&text, GREEDY).to_string(),
                    )
                    .replace(
                        &format!("{{{loc_name}}}"),
                        &utf8_percent_encode(&text, STRICT).to_string(),
                    );
            }
            Some("querystring") => {
                let Some(v) = value else { continue };
                let ms = model.shape(&m.shape);
                match (ms.kind.as_str(), v) {
                    ("list", Value::Array(items)) => {
                        let er = ms.member.as_deref().ok_or("list without member")?;
                        for item in items {
                            req.query.push((
                                loc_name.to_string(),
                                wire::scalar_text(model, er, item, Place::QueryString, name)?,
                            ));
                        }
                    }
                    ("map", Value::Object(map)) => {
                        let vr = ms.value.as_deref().ok_or("map without value")?;
                        for (k, item) in map {
                            match item {
                                Value::Array(items) => {
                                    let er = model.shape(&vr.shape).member.as_deref();
                                    for i in items {
                                        let er = er.ok_or("list without member")?;
                                        req.query.push((
                                            k.clone(),
                                            wire::scalar_text(model, er, i, Place::QueryString, k)?,
                                        ));
                                    }
                                }
                                _ => req.query.push((
                                    k.clone(),
                                    wire::scalar_text(model, vr, item, Place::QueryString, k)?,
                                )),
                            }
                        }
                    }
                    _ => req.query.push((
                        loc_name.to_string(),
                        wire::scalar_text(model, m, v, Place::QueryString, name)?,
                    )),
                }
            }
            Some("header") => {
                let Some(v) = value else { continue };
                let ms = model.shape(&m.shape);
                let text = match (ms.kind.as_str(), v) {
                    ("list", Value::Array(items)) => {
                        let er = ms.member.as_deref().ok_or("list without member")?;
                        items
                            .iter()
                            .map(|i| wire::scalar_text(model, er, i, Place::Header, name))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(",")
                    }
                    ("string", _) if m.jsonvalue => B64.encode(v.to_string()),
                    _ => wire::scalar_text(model, m, v, Place::Header, name)?,
                };
                req.headers.push((loc_name.to_string(), text));
            }
            Some("headers") => {
                let Some(Value::Object(map)) = value else {
                    continue;
                };
                for (k, v) in map {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    req.headers.push((format!("{loc_name}{k}"), text));
                }
            }
            Some("statusCode") => {}
            _ => {
                if let Some(v) = value {
                    body_members.insert(name.clone(), v.clone());
                }
            }
        }
    }
    // `/{Bucket}` with the bucket moved to the host leaves nothing.
    if path.is_empty() {
        path.push('/');
    }
    req.path = path;

    if let Some(payload) = &shape.payload {
        let Some(m) = shape.members.get(payload) else {
            return Err(format!("model: payload member {payload} missing"));
        };
        if let Some(v) = params.get(payload).filter(|v| !v.is_null()) {
            let ms = model.shape(&m.shape);
            match ms.kind.as_str() {
                "blob" | "string" => req.body = wire::blob_in(v),
                _ if xml => {
                    let root = m
                        .location_name
                        .clone()
                        .or_else(|| ms.location_name.clone())
                        .unwrap_or_else(|| m.shape.clone());
                    let mut out = String::new();
                    let ns = m.xml_namespace.as_ref().or(ms.xml_namespace.as_ref());
                    write_xml(
                        model,
                        m,
                        v,
                        &root,
                        ns.map(|n| n.attribute()),
                        &mut out,
                        payload,
                    )?;
                    req.body = out.into_bytes();
                    req.headers
                        .push(("Content-Type".to_string(), "application/xml".to_string()));
                }
                _ => {
                    req.body = serde_json::to_vec(&to_json(model, m, v, payload)?)
                        .map_err(|e| e.to_string())?;
                    req.headers
                        .push(("Content-Type".to_string(), "application/json".to_string()));
                }
            }
        }
    } else if !body_members.is_empty() {
        if xml {
            let root = shape
                .location_name
                .clone()
                .unwrap_or_else(|| input.shape.clone());
            let ns = input
                .xml_namespace
                .as_ref()
                .or(shape.xml_namespace.as_ref());
            let mut out = String::new();
            write_xml(
                model,
                input,
                &Value::Object(body_members),
                &root,
                ns.map(|n| n.attribute()),
                &mut out,
                "",
            )?;
            req.body = out.into_bytes();
            req.headers
                .push(("Content-Type".to_string(), "application/xml".to_string()));
        } else {
            req.body =
                serde_json::to_vec(&to_json(model, input, &Value::Object(body_members), "")?)
                    .map_err(|e| e.to_string())?;
            req.headers
                .push(("Content-Type".to_string(), "application/json".to_string()));
        }
    }
    Ok(req)
}

/// Writes `v` as the element `name`.
fn write_xml(
    model: &Model,
    r: &Ref,
    v: &Value,
    name: &str,
    ns: Option<(String, String)>,
    out: &mut String,
    path: &str,
) -> Result<(), String> {
    let shape = model.shape(&r.shape);
    let open = |out: &mut String, attrs: &[(String, String)]| {
        out.push('<');
        out.push_str(name);
        if let Some((k, v)) = &ns {
            out.push_str(&format!(" {k}=\"{}\"", xml::escape(v)));
        }
        for (k, v) in attrs {
            out.push_str(&format!(" {k}=\"{}\"", xml::escape(v)));
        }
        out.push('>');
    };
    match shape.kind.as_str() {
        "structure" => {
            let Value::Object(map) = v else {
                return Err(format!("{path}: expected an object, got {v}"));
            };
            let mut attrs = Vec::new();
            let mut inner = String::new();
            for (mname, m) in &shape.members {
                let Some(mv) = map.get(mname).filter(|v| !v.is_null()) else {
                    continue;
                };
                let wname = wire_name(mname, m);
                let mpath = join(path, mname);
                if m.xml_attribute {
                    let text = wire::scalar_text(model, m, mv, Place::XmlBody, &mpath)?;
                    attrs.push((wname.to_string(), text));
                    continue;
                }
                let ms = model.shape(&m.shape);
                let mns = m
                    .xml_namespace
                    .as_ref()
                    .or(ms.xml_namespace.as_ref())
                    .map(|n| n.attribute());
                if ms.kind == "list" && (m.flattened || ms.flattened) {
                    let Value::Array(items) = mv else {
                        return Err(format!("{mpath}: expected an array, got {mv}"));
                    };
                    let er = ms.member.as_deref().ok_or("list without member")?;
                    for (i, item) in items.iter().enumerate() {
                        write_xml(
                            model,
                            er,
                            item,
                            wname,
                            None,
                            &mut inner,
                            &format!("{mpath}[{i}]"),
                        )?;
                    }
                } else {
                    write_xml(model, m, mv, wname, mns, &mut inner, &mpath)?;
                }
            }
            open(out, &attrs);
            out.push_str(&inner);
        }
        "list" => {
            let Value::Array(items) = v else {
                return Err(format!("{path}: expected an array, got {v}"));
            };
            let er = shape.member.as_deref().ok_or("list without member")?;
            let ename = er.location_name.as_deref().unwrap_or("member");
            open(out, &[]);
            for (i, item) in items.iter().enumerate() {
                write_xml(model, er, item, ename, None, out, &format!("{path}[{i}]"))?;
            }
        }
        "map" => {
            let Value::Object(map) = v else {
                return Err(format!("{path}: expected an object, got {v}"));
            };
            let kr = shape.key.as_deref().ok_or("map without key")?;
            let vr = shape.value.as_deref().ok_or("map without value")?;
            let kname = kr.location_name.as_deref().unwrap_or("key");
            let vname = vr.location_name.as_deref().unwrap_or("value");
            open(out, &[]);
            for (k, item) in map {
                out.push_str("<entry>");
                write_xml(model, kr, &Value::String(k.clone()), kname, None, out, path)?;
                write_xml(model, vr, item, vname, None, out, &join(path, k))?;
                out.push_str("</entry>");
            }
        }
        _ => {
            let text = wire::scalar_text(model, r, v, Place::XmlBody, path)?;
            open(out, &[]);
            out.push_str(&xml::escape(&text));
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
    Ok(())
}

// ---- query and ec2 ----

fn query_request(
    model: &Model,
    op: &Operation,
    params: &Map<String, Value>,
) -> Result<Request, String> {
    let ec2 = model.protocol() == "ec2";
    let mut fields = vec![
        ("Action".to_string(), op.name.clone()),
        ("Version".to_string(), model.metadata.api_version.clone()),
    ];
    if let Some(input) = &op.input {
        query_fields(
            model,
            input,
            &Value::Object(params.clone()),
            "",
            ec2,
            &mut fields,
        )?;
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, STRICT),
                utf8_percent_encode(v, STRICT)
            )
        })
        .collect();
    Ok(Request {
        method: "POST".to_string(),
        path: "/".to_string(),
        headers: vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )],
        body: body.join("&").into_bytes(),
        ..Request::default()
    })
}

fn query_fields(
    model: &Model,
    r: &Ref,
    v: &Value,
    prefix: &str,
    ec2: bool,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let shape = model.shape(&r.shape);
    match shape.kind.as_str() {
        "structure" => {
            let Value::Object(map) = v else {
                return Err(format!("{prefix}: expected an object, got {v}"));
            };
            for (name, m) in &shape.members {
                let Some(mv) = map.get(name).filter(|v| !v.is_null()) else {
                    continue;
                };
                let key = if ec2 {
                    match (&m.query_name, &m.location_name) {
                        (Some(q), _) => q.clone(),
                        (None, Some(l)) => {
                            let mut c = l.chars();
                            c.next()
                                .map(|f| f.to_uppercase().chain(c).collect())
                                .unwrap_or_default()
                        }
                        _ => name.clone(),
                    }
                } else {
                    m.location_name.clone().unwrap_or_else(|| name.clone())
                };
                query_fields(model, m, mv, &join(prefix, &key), ec2, out)?;
            }
        }
        "list" => {
            let Value::Array(items) = v else {
                return Err(format!("{prefix}: expected an array, got {v}"));
            };
            let er = shape.member.as_deref().ok_or("list without member")?;
            if ec2 {
                for (i, item) in items.iter().enumerate() {
                    query_fields(model, er, item, &format!("{prefix}.{}", i + 1), ec2, out)?;
                }
                return Ok(());
            }
            if items.is_empty() {
                out.push((prefix.to_string(), String::new()));
                return Ok(());
            }
            let list_prefix = if r.flattened || shape.flattened {
                match &er.location_name {
                    Some(n) => match prefix.rsplit_once('.') {
                        Some((head, _)) => format!("{head}.{n}"),
                        None => n.clone(),
                    },
                    None => prefix.to_string(),
                }
            } else {
                format!(
                    "{prefix}.{}",
                    er.location_name.as_deref().unwrap_or("member")
                )
            };
            for (i, item) in items.iter().enumerate() {
                query_fields(
                    model,
                    er,
                    item,
                    &format!("{list_prefix}.{}", i + 1),
                    ec2,
                    out,
                )?;
            }
        }
        "map" => {
            let Value::Object(map) = v else {
                return Err(format!("{prefix}: expected an object, got {v}"));
            };
            let kr = shape.key.as_deref().ok_or("map without key")?;
            let vr = shape.value.as_deref().ok_or("map without value")?;
            let full = if r.flattened || shape.flattened {
                prefix.to_string()
            } else {
                format!("{prefix}.entry")
            };
            let kname = kr.location_name.as_deref().unwrap_or("key");
            let vname = vr.location_name.as_deref().unwrap_or("value");
            for (i, (k, item)) in map.iter().enumerate() {
                out.push((format!("{full}.{}.{kname}", i + 1), k.clone()));
                query_fields(
                    model,
                    vr,
                    item,
                    &format!("{full}.{}.{vname}", i + 1),
                    ec2,
                    out,
                )?;
            }
        }
        _ => {
            out.push((
                prefix.to_string(),
                wire::scalar_text(model, r, v, Place::Query, prefix)?,
            ));
        }
    }
    Ok(())
}
