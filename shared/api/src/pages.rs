//! Pagination tokens as callers see them: the store's own token wrapped together with a
//! fingerprint of the listing it belongs to. A token that was not made by us, or that is sent
//! back with other arguments than the ones that made it, is AWS's `InvalidToken` — it never
//! reaches the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::ApiError;

/// AWS's limit on `nextToken`.
const MAX_TOKEN_CHARS: usize = 1024;

/// FNV-1a: a stable fingerprint of the listing's arguments (not a security measure).
fn fingerprint(scope: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in scope.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The token handed to the caller for the store's `inner` token of the listing `scope`.
pub fn encode(scope: &str, inner: &str) -> String {
    let text = json!([fingerprint(scope), inner]).to_string();
    URL_SAFE_NO_PAD.encode(text)
}

/// The store's token inside a caller's token, checked against the listing `scope`.
pub fn decode(scope: &str, token: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::invalid_token("Invalid pagination token");
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    match value.as_array().map(Vec::as_slice) {
        Some([Value::String(fp), Value::String(inner)]) if *fp == fingerprint(scope) => {
            Ok(inner.clone())
        }
        _ => Err(invalid()),
    }
}

/// Decodes an optional token.
pub fn decode_opt(scope: &str, token: Option<&str>) -> Result<Option<String>, ApiError> {
    token.map(|t| decode(scope, t)).transpose()
}

/// Where a page of a list paged by position starts: 0, or the position `token` carries.
pub fn offset(scope: &str, token: Option<&str>) -> Result<usize, ApiError> {
    match decode_opt(scope, token)? {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_token("Invalid pagination token")),
        None => Ok(0),
    }
}

/// The token of the page after the one of `max` items from `start`, if `total` goes on.
pub fn next_offset(scope: &str, start: usize, max: usize, total: usize) -> Option<String> {
    (start + max < total).then(|| encode(scope, &(start + max).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_within_scope_only() {
        let t = encode("history:arn:1", "42");
        assert_eq!(decode("history:arn:1", &t).unwrap(), "42");
        assert_eq!(
            decode("history:arn:2", &t).unwrap_err().name(),
            "InvalidToken"
        );
    }

    #[test]
    fn garbage_is_invalid_token() {
        for bad in ["", "!!!", "e30", &"a".repeat(2000)] {
            assert_eq!(decode("s", bad).unwrap_err().name(), "InvalidToken");
        }
    }
}
