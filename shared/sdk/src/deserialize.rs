//! An HTTP response to what Step Functions returns: the output shape with the model's member
//! names, or the error code and message of a failed call.

use base64::Engine;
use serde_json::{Map, Value};

use crate::model::{Model, Operation, Ref};
use crate::wire::{self, B64};
use crate::xml::{self, Element};

/// A response as received.
pub(crate) struct Response {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a failed call answered.
#[derive(Debug, PartialEq)]
pub(crate) struct WireError {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

/// The output of a successful call, as Step Functions shows it.
pub(crate) fn output(model: &Model, op: &Operation, resp: &Response) -> Result<Value, String> {
    let Some(out) = &op.output else {
        return Ok(Value::Object(Map::new()));
    };
    let protocol = model.protocol();
    match protocol {
        "json" => {
            if resp.body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Object(Map::new()));
            }
            let v: Value = serde_json::from_slice(&resp.body)
                .map_err(|e| format!("the response is not JSON: {e}"))?;
            Ok(from_json(model, out, &v))
        }
        "rest-json" | "rest-xml" => rest_output(model, out, resp, protocol == "rest-xml"),
        "query" | "ec2" => {
            if resp.body.is_empty() {
                return Ok(Value::Object(Map::new()));
            }
            let text = String::from_utf8_lossy(&resp.body);
            let root = xml::parse(&text).map_err(|e| format!("the response is not XML: {e}"))?;
            let elem = match &out.result_wrapper {
                Some(w) => root.find(w).cloned().unwrap_or_default(),
                None => root,
            };
            Ok(from_xml(model, out, &elem))
        }
        other => Err(format!("the {other} protocol is not supported")),
    }
}

fn rest_output(model: &Model, out: &Ref, resp: &Response, xml_body: bool) -> Result<Value, String> {
    let shape = model.shape(&out.shape);
    let mut result = Map::new();
    for (name, m) in &shape.members {
        let loc = m.location_name.as_deref().unwrap_or(name);
        match m.location.as_deref() {
            Some("header") => {
                if let Some(h) = resp.header(loc) {
                    let ms = model.shape(&m.shape);
                    let v = match ms.kind.as_str() {
                        "list" => Value::Array(
                            h.split(',')
                                .map(|p| {
                                    let er = ms.member.as_deref().map(|r| model.shape(&r.shape));
                                    er.map(|s| wire::scalar_from_text(s, p.trim()))
                                        .unwrap_or_else(|| Value::String(p.trim().to_string()))
                                })
                                .collect(),
                        ),
                        // A JSON-valued header is base64 JSON.
                        "string" if m.jsonvalue => B64
                            .decode(h)
                            .ok()
                            .and_then(|b| serde_json::from_slice(&b).ok())
                            .unwrap_or_else(|| Value::String(h.to_string())),
                        _ => wire::scalar_from_text(ms, h),
                    };
                    result.insert(name.clone(), v);
                }
            }
            Some("headers") => {
                let prefix = loc.to_ascii_lowercase();
                let map: Map<String, Value> = resp
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix(&prefix)
                            .map(|rest| (rest.to_string(), Value::String(v.clone())))
                    })
                    .collect();
                if !map.is_empty() {
                    result.insert(name.clone(), Value::Object(map));
                }
            }
            Some("statusCode") => {
                result.insert(name.clone(), Value::from(resp.status));
            }
            _ => {}
        }
    }
    if let Some(payload) = &shape.payload {
        let m = shape
            .members
            .get(payload)
            .ok_or_else(|| format!("model: payload member {payload} missing"))?;
        let ms = model.shape(&m.shape);
        match ms.kind.as_str() {
            // S3 GetObject's Body, Lambda Invoke's Payload: the bytes as text.
            "blob" | "string" => {
                if !resp.body.is_empty() || ms.streaming {
                    result.insert(payload.clone(), wire::blob_out(&resp.body));
                }
            }
            _ if resp.body.is_empty() => {}
            _ if xml_body => {
                let root = xml::parse(&String::from_utf8_lossy(&resp.body))
                    .map_err(|e| format!("the response is not XML: {e}"))?;
                result.insert(payload.clone(), from_xml(model, m, &root));
            }
            _ => {
                let v: Value = serde_json::from_slice(&resp.body)
                    .map_err(|e| format!("the response is not JSON: {e}"))?;
                result.insert(payload.clone(), from_json(model, m, &v));
            }
        }
    } else if !resp.body.iter().all(u8::is_ascii_whitespace) {
        let body = if xml_body {
            let root = xml::parse(&String::from_utf8_lossy(&resp.body))
                .map_err(|e| format!("the response is not XML: {e}"))?;
            // S3's GetBucketLocation answers with the member itself as the document:
            // `<LocationConstraint>eu-west-1</LocationConstraint>`.
            let body_members: Vec<(&String, &Ref)> = shape
                .members
                .iter()
                .filter(|(_, m)| m.location.is_none())
                .collect();
            match body_members.as_slice() {
                [(name, m)]
                    if m.location_name.as_deref().unwrap_or(name) == root.name
                        && root.children.is_empty() =>
                {
                    let mut one = Map::new();
                    one.insert((*name).clone(), from_xml(model, m, &root));
                    Value::Object(one)
                }
                _ => from_xml(model, out, &root),
            }
        } else {
            let v: Value = serde_json::from_slice(&resp.body)
                .map_err(|e| format!("the response is not JSON: {e}"))?;
            from_json(model, out, &v)
        };
        if let Value::Object(map) = body {
            for (k, v) in map {
                let located = shape.members.get(&k).and_then(|m| m.location.as_ref());
                if located.is_none() {
                    result.insert(k, v);
                }
            }
        }
    }
    Ok(Value::Object(result))
}

/// A JSON body value to Step Functions' view: member names, ISO timestamps, blobs as text.
pub(crate) fn from_json(model: &Model, r: &Ref, v: &Value) -> Value {
    let shape = model.shape(&r.shape);
    if shape.document {
        return v.clone();
    }
    match (shape.kind.as_str(), v) {
        ("structure", Value::Object(map)) => {
            let mut out = Map::new();
            for (name, m) in &shape.members {
                let wname = m.location_name.as_deref().unwrap_or(name);
                if let Some(value) = map.get(wname).filter(|v| !v.is_null()) {
                    out.insert(name.clone(), from_json(model, m, value));
                }
            }
            Value::Object(out)
        }
        ("list", Value::Array(items)) => match shape.member.as_deref() {
            Some(er) => Value::Array(items.iter().map(|i| from_json(model, er, i)).collect()),
            None => v.clone(),
        },
        ("map", Value::Object(map)) => match shape.value.as_deref() {
            Some(vr) => Value::Object(
                map.iter()
                    .map(|(k, i)| (k.clone(), from_json(model, vr, i)))
                    .collect(),
            ),
            None => v.clone(),
        },
        ("timestamp", _) => wire::timestamp_from_wire(v)
            .map(wire::timestamp_out)
            .unwrap_or_else(|| v.clone()),
        ("blob", Value::String(s)) => match B64.decode(s) {
            Ok(bytes) => wire::blob_out(&bytes),
            Err(_) => v.clone(),
        },
        _ => v.clone(),
    }
}

/// An XML element to Step Functions' view of the shape `r`.
pub(crate) fn from_xml(model: &Model, r: &Ref, e: &Element) -> Value {
    let shape = model.shape(&r.shape);
    match shape.kind.as_str() {
        "structure" => {
            let mut out = Map::new();
            for (name, m) in &shape.members {
                if matches!(
                    m.location.as_deref(),
                    Some("header" | "headers" | "statusCode")
                ) {
                    continue;
                }
                let wname = m.location_name.as_deref().unwrap_or(name);
                if m.xml_attribute {
                    if let Some(a) = e.attribute(wname) {
                        out.insert(
                            name.clone(),
                            wire::scalar_from_text(model.shape(&m.shape), a),
                        );
                    }
                    continue;
                }
                let ms = model.shape(&m.shape);
                if (ms.kind == "list" || ms.kind == "map") && (m.flattened || ms.flattened) {
                    let items: Vec<&Element> = e.children_named(wname).collect();
                    if items.is_empty() {
                        continue;
                    }
                    let v = if ms.kind == "list" {
                        let er = ms.member.as_deref();
                        Value::Array(
                            items
                                .iter()
                                .map(|i| er.map(|er| from_xml(model, er, i)).unwrap_or_default())
                                .collect(),
                        )
                    } else {
                        map_entries(model, ms, &items)
                    };
                    out.insert(name.clone(), v);
                    continue;
                }
                if let Some(child) = e.child(wname) {
                    out.insert(name.clone(), from_xml(model, m, child));
                }
            }
            Value::Object(out)
        }
        "list" => {
            let Some(er) = shape.member.as_deref() else {
                return Value::Array(vec![]);
            };
            Value::Array(e.children.iter().map(|c| from_xml(model, er, c)).collect())
        }
        "map" => {
            let entries: Vec<&Element> = e.children.iter().collect();
            map_entries(model, shape, &entries)
        }
        _ => wire::scalar_from_text(shape, &e.text),
    }
}

fn map_entries(model: &Model, shape: &crate::model::Shape, entries: &[&Element]) -> Value {
    let (Some(kr), Some(vr)) = (shape.key.as_deref(), shape.value.as_deref()) else {
        return Value::Object(Map::new());
    };
    let kname = kr.location_name.as_deref().unwrap_or("key");
    let vname = vr.location_name.as_deref().unwrap_or("value");
    let mut out = Map::new();
    for entry in entries {
        let Some(k) = entry.child(kname) else {
            continue;
        };
        let v = entry
            .child(vname)
            .map(|v| from_xml(model, vr, v))
            .unwrap_or(Value::Null);
        out.insert(k.text.clone(), v);
    }
    Value::Object(out)
}

/// The code and message of a failed call, whatever the protocol wrote them as.
pub(crate) fn error(model: &Model, op: &Operation, resp: &Response) -> WireError {
    let request_id = resp
        .header("x-amzn-requestid")
        .or_else(|| resp.header("x-amz-request-id"))
        .map(str::to_string);
    let text = String::from_utf8_lossy(&resp.body);
    let trimmed = text.trim();
    let mut code = None;
    let mut message = None;
    let mut body_id = None;
    if trimmed.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            let field = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| map.get(*n).and_then(Value::as_str).map(str::to_string))
            };
            code = field(&["__type", "code", "Code"]);
            message = field(&["message", "Message", "errorMessage"]);
        }
    } else if trimmed.starts_with('<') {
        if let Ok(root) = xml::parse(trimmed) {
            code = root.find("Code").map(|e| e.text.clone());
            message = root.find("Message").map(|e| e.text.clone());
            body_id = root
                .find("RequestId")
                .or_else(|| root.find("RequestID"))
                .map(|e| e.text.clone());
        }
    }
    let header_code = resp.header("x-amzn-errortype").map(str::to_string);
    let code = header_code
        .or(code)
        .map(|c| clean_code(&c))
        .unwrap_or_else(|| {
            // A HEAD (or an empty 4xx) has no body to name the error.
            match (
                model.metadata.endpoint_prefix.as_str(),
                resp.status,
                op.name.as_str(),
            ) {
                ("s3", 404, "HeadObject" | "GetObject") => "NoSuchKey".to_string(),
                ("s3", 404, _) => "NoSuchBucket".to_string(),
                (_, 404, _) => "NotFound".to_string(),
                (_, 403, _) => "Forbidden".to_string(),
                (_, 304, _) => "NotModified".to_string(),
                (_, 400, _) => "BadRequest".to_string(),
                (_, s, _) => s.to_string(),
            }
        });
    WireError {
        code,
        message: message.unwrap_or_default(),
        request_id: request_id.or(body_id),
    }
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` and
/// `ResourceNotFoundException:http://internal.amazon.com/...` to `ResourceNotFoundException`.
pub(crate) fn clean_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    let code = code.rsplit('#').next().unwrap_or(code);
    code.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_lose_namespaces_and_suffixes() {
        assert_eq!(
            clean_code("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            clean_code("ResourceNotFoundException:http://internal.amazon.com/coral/"),
            "ResourceNotFoundException"
        );
        assert_eq!(clean_code("NoSuchKey"), "NoSuchKey");
    }
}
