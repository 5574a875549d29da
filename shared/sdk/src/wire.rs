//! Scalars between Step Functions' JSON and the wire: timestamps, blobs, numbers, booleans.

use aws_smithy_types::date_time::{DateTime, Format};
use base64::Engine;
use serde_json::Value;

use crate::model::{Model, Ref, Shape};

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Where a timestamp is written, which picks its default format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    JsonBody,
    XmlBody,
    Query,
    Header,
    QueryString,
}

/// A timestamp from Step Functions: an ISO 8601 string, an HTTP date, or epoch seconds.
pub(crate) fn timestamp_in(v: &Value) -> Result<DateTime, String> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .map(DateTime::from_secs_f64)
            .ok_or_else(|| format!("{n} is not a timestamp")),
        Value::String(s) => DateTime::from_str(s, Format::DateTime)
            .or_else(|_| DateTime::from_str(s, Format::HttpDate))
            .or_else(|_| DateTime::from_str(s, Format::EpochSeconds))
            .map_err(|_| format!("'{s}' is not a timestamp (ISO 8601 or epoch seconds)")),
        other => Err(format!("{other} is not a timestamp")),
    }
}

fn format_name(r: Option<&Ref>, shape: &Shape, place: Place) -> &'static str {
    let explicit = r
        .and_then(|r| r.timestamp_format.as_deref())
        .or(shape.timestamp_format.as_deref());
    match explicit {
        Some("iso8601") => "iso8601",
        Some("rfc822") => "rfc822",
        Some("unixTimestamp") => "unixTimestamp",
        _ => match place {
            Place::JsonBody => "unixTimestamp",
            Place::Header => "rfc822",
            Place::XmlBody | Place::Query | Place::QueryString => "iso8601",
        },
    }
}

/// A timestamp as the wire wants it at `place`, as text.
pub(crate) fn timestamp_text(dt: DateTime, r: Option<&Ref>, shape: &Shape, place: Place) -> String {
    match format_name(r, shape, place) {
        "rfc822" => dt.fmt(Format::HttpDate).unwrap_or_default(),
        "unixTimestamp" => epoch(dt).to_string(),
        _ => dt.fmt(Format::DateTime).unwrap_or_default(),
    }
}

fn epoch(dt: DateTime) -> Value {
    if dt.subsec_nanos() == 0 {
        Value::from(dt.secs())
    } else {
        Value::from(dt.as_secs_f64())
    }
}

/// A timestamp in a JSON body.
pub(crate) fn timestamp_json(dt: DateTime, r: Option<&Ref>, shape: &Shape) -> Value {
    match format_name(r, shape, Place::JsonBody) {
        "unixTimestamp" => epoch(dt),
        "rfc822" => Value::String(dt.fmt(Format::HttpDate).unwrap_or_default()),
        _ => Value::String(dt.fmt(Format::DateTime).unwrap_or_default()),
    }
}

/// A timestamp read from the wire, in whichever format it came.
pub(crate) fn timestamp_from_wire(v: &Value) -> Option<DateTime> {
    match v {
        Value::Number(n) => n.as_f64().map(DateTime::from_secs_f64),
        Value::String(s) => DateTime::from_str(s, Format::DateTime)
            .or_else(|_| DateTime::from_str(s, Format::HttpDate))
            .or_else(|_| DateTime::from_str(s, Format::EpochSeconds))
            .ok()
            // Some services write ISO 8601 without the zone or with an offset.
            .or_else(|| DateTime::from_str(&format!("{s}Z"), Format::DateTime).ok()),
        _ => None,
    }
}

/// How Step Functions shows a timestamp: ISO 8601 in UTC.
pub(crate) fn timestamp_out(dt: DateTime) -> Value {
    Value::String(dt.fmt(Format::DateTime).unwrap_or_default())
}

/// A blob from Step Functions: a string is its UTF-8 bytes, anything else its JSON text.
pub(crate) fn blob_in(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

/// How Step Functions shows a blob: its text when it is UTF-8, base64 otherwise.
pub(crate) fn blob_out(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => Value::String(B64.encode(bytes)),
    }
}

/// A scalar (string, number, boolean, timestamp, blob) as text for a query string, header,
/// URI label, XML element or form field.
pub(crate) fn scalar_text(
    model: &Model,
    r: &Ref,
    v: &Value,
    place: Place,
    path: &str,
) -> Result<String, String> {
    let shape = model.shape(&r.shape);
    let bad = |what: &str| format!("{path}: expected {what}, got {v}");
    Ok(match shape.kind.as_str() {
        "string" => match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(bad("a string")),
        },
        "integer" | "long" | "short" | "byte" => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            Value::String(s) if s.parse::<i64>().is_ok() => s.clone(),
            _ => return Err(bad("an integer")),
        },
        "float" | "double" => match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) if s.parse::<f64>().is_ok() => s.clone(),
            _ => return Err(bad("a number")),
        },
        "boolean" => match v {
            Value::Bool(b) => b.to_string(),
            Value::String(s) if s == "true" || s == "false" => s.clone(),
            _ => return Err(bad("a boolean")),
        },
        "timestamp" => timestamp_text(
            timestamp_in(v).map_err(|e| format!("{path}: {e}"))?,
            Some(r),
            shape,
            place,
        ),
        "blob" => {
            let bytes = blob_in(v);
            B64.encode(bytes)
        }
        other => return Err(format!("{path}: a {other} cannot be sent here")),
    })
}

/// A scalar read from text (XML, a header) as Step Functions shows it.
pub(crate) fn scalar_from_text(shape: &Shape, text: &str) -> Value {
    match shape.kind.as_str() {
        "integer" | "long" | "short" | "byte" => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        "float" | "double" => match text.trim() {
            "NaN" | "Infinity" | "-Infinity" => Value::String(text.trim().to_string()),
            t => t
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.to_string())),
        },
        "boolean" => Value::Bool(text.trim() == "true"),
        "timestamp" => timestamp_from_wire(&Value::String(text.trim().to_string()))
            .map(timestamp_out)
            .unwrap_or_else(|| Value::String(text.to_string())),
        "blob" => match B64.decode(text.trim()) {
            Ok(bytes) => blob_out(&bytes),
            Err(_) => Value::String(text.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}
