//! What the integrations that call a user's HTTP API share (`apigateway:invoke`, the HTTP
//! Task): percent-encoding of query strings and form bodies, and answers' headers as Step
//! Functions gives them, each name with the list of its values.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

/// What RFC 3986 leaves alone (unreserved characters); everything else is percent-encoded.
pub(crate) const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `k1=v1&k2=v2`, names and values percent-encoded.
pub(crate) fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, ENCODE),
                utf8_percent_encode(v, ENCODE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `{"name": ["value", …]}`, a repeated header's values in order.
pub(crate) fn header_lists(headers: &[(String, String)]) -> Map<String, Value> {
    let mut h = Map::new();
    for (k, v) in headers {
        let entry = h
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(Value::String(v.clone()));
        }
    }
    h
}
