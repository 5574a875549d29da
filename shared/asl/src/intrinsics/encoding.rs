//! `States.Base64Encode`, `States.Base64Decode` and `States.Hash`.
//!
//! Text is UTF-8 on the way in and out. Lengths are limited to 10,000 characters, counted as
//! Java counts them (UTF-16 code units), as AWS documents for all three.

use base64::Engine as _;
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{invalid, invalid_because, java_length, take, EvalResult, Function};

const MAX_CHARS: usize = 10_000;

pub(super) fn base64_encode(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::Base64Encode;
    let [text] = take::<1>(F, values)?;
    let Value::String(text) = text else {
        return invalid(F);
    };
    if java_length(&text) > MAX_CHARS {
        return invalid_because(F, "the input is longer than 10000 characters");
    }
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
    ))
}

pub(super) fn base64_decode(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::Base64Decode;
    let [text] = take::<1>(F, values)?;
    let Value::String(text) = text else {
        return invalid(F);
    };
    if java_length(&text) > MAX_CHARS {
        return invalid_because(F, "the input is longer than 10000 characters");
    }
    let bytes = lenient_decode(&text);
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// AWS's decoder forgives what a strict one rejects (recorded runs decode `abc`,
/// `!!!invalid!!!`, `ab==cd` and ` YWJjZA== `): it skips characters outside the alphabet,
/// reads both the standard and the URL-safe alphabet, stops at the first `=`, and decodes a
/// trailing partial group as far as its bits go. This is Apache Commons Codec's behaviour.
fn lenient_decode(text: &str) -> Vec<u8> {
    fn sextet(c: char) -> Option<u32> {
        Some(match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            _ => return None,
        })
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0u8);
    for c in text.chars() {
        if c == '=' {
            break;
        }
        let Some(bits) = sextet(c) else { continue };
        acc = (acc << 6) | bits;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            (acc, n) = (0, 0);
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => {}
    }
    out
}

/// The data may be any value: AWS's runs hash a non-string as its JSON text.
pub(super) fn hash(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::Hash;
    let [data, algorithm] = take::<2>(F, values)?;
    let data = match data {
        Value::String(s) => s,
        other => crate::json::to_text(&other),
    };
    if java_length(&data) > MAX_CHARS {
        return invalid_because(F, "the data is longer than 10000 characters");
    }
    let bytes = data.as_bytes();
    let digest = match algorithm.as_str() {
        Some("MD5") => Md5::digest(bytes).to_vec(),
        Some("SHA-1") => Sha1::digest(bytes).to_vec(),
        Some("SHA-256") => Sha256::digest(bytes).to_vec(),
        Some("SHA-384") => Sha384::digest(bytes).to_vec(),
        Some("SHA-512") => Sha512::digest(bytes).to_vec(),
        _ => {
            return invalid_because(
                F,
                "the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512",
            )
        }
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Value::String(hex))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{invalid, ok};

    #[test]
    fn base64_encodes_utf8_with_padding() {
        let f = "States.Base64Encode($.s)";
        for (s, expected) in [
            ("Data to encode", "RGF0YSB0byBlbmNvZGU="),
            ("", ""),
            (" ", "IA=="),
            ("✓", "4pyT"),
            ("Hello World", "SGVsbG8gV29ybGQ="),
        ] {
            assert_eq!(ok(f, json!({ "s": s })), json!(expected), "{s:?}");
        }
        assert_eq!(
            ok(f, json!({ "s": "a".repeat(10_000) }))
                .as_str()
                .map(str::len),
            Some(13_336)
        );
    }

    #[test]
    fn base64_decodes_to_text() {
        let f = "States.Base64Decode($.s)";
        let cases = [
            ("RGF0YSB0byBlbmNvZGU=", "Data to encode"),
            ("", ""),
            ("aGVsbG8=", "hello"),
            ("4pyT", "✓"),
            ("44GT44KT44Gr44Gh44Gv", "こんにちは"),
            ("YWJjAGRlZg==", "abc\u{0}def"),
            ("IA==", " "),
        ];
        for (s, expected) in cases {
            assert_eq!(ok(f, json!({ "s": s })), json!(expected), "{s:?}");
        }
        assert_eq!(
            ok(
                "States.Base64Decode(States.Base64Encode('hello'))",
                json!({})
            ),
            json!("hello")
        );
    }

    #[test]
    fn base64_decoding_forgives_malformed_text_as_aws_does() {
        let f = "States.Base64Decode($.s)";
        for (s, expected) in [
            (" YWJjZA== ", "abcd"),
            ("YWJj\nZA==", "abcd"),
            ("abc", "i\u{fffd}"),
            ("ab==cd", "i"),
            ("YQ", "a"),
            ("Y", ""),
            ("-_-_", "\u{fffd}\u{fffd}\u{fffd}"),
        ] {
            assert_eq!(ok(f, json!({ "s": s })), json!(expected), "{s:?}");
        }
    }

    #[test]
    fn base64_limits_and_types() {
        invalid("States.Base64Encode($.s)", json!({"s": "a".repeat(10_001)}));
        invalid("States.Base64Decode($.s)", json!({"s": "A".repeat(10_001)}));
        invalid("States.Base64Encode(123)", json!({}));
        invalid("States.Base64Decode($.o)", json!({"o": {}}));
        // 5,000 astral characters are 10,000 Java characters: at the limit, still allowed.
        assert!(ok("States.Base64Encode($.s)", json!({"s": "🚀".repeat(5_000)})).is_string());
        invalid(
            "States.Base64Encode($.s)",
            json!({"s": format!("{}a", "🚀".repeat(5_000))}),
        );
    }

    #[test]
    fn hash_supports_the_five_algorithms() {
        let cases = [
            ("MD5", "5d41402abc4b2a76b9719d911017c592"),
            ("SHA-1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
            ("SHA-256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
            (
                "SHA-384",
                "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f",
            ),
            (
                "SHA-512",
                "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
            ),
        ];
        for (algorithm, expected) in cases {
            assert_eq!(
                ok("States.Hash('hello', $.a)", json!({ "a": algorithm })),
                json!(expected),
                "{algorithm}"
            );
        }
        let f = "States.Hash($.d, $.a)";
        assert_eq!(
            ok(f, json!({"d": "input data", "a": "MD5"})),
            json!("812f45842bc6d66ee14572ce20db8e86")
        );
        assert_eq!(
            ok(f, json!({"d": "input data", "a": "SHA-1"})),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            ok("States.Hash($.s, 'SHA-256')", json!({"s": "🚀"})),
            json!("ebbc0b2870eb323f2b6cffa5c493ceef81ae7eb36afc73d4e0367301631daec5")
        );
        assert_eq!(
            ok(
                "States.Hash(States.Format('{}:{}', $.a, $.b), 'SHA-256')",
                json!({"a": "x", "b": "y"})
            ),
            json!("1274e286686b54fe765ec40735665b4bf789cee2a5b22124c5e0491a88e15271")
        );
    }

    #[test]
    fn hash_reads_non_strings_as_json_text() {
        assert_eq!(
            ok("States.Hash(123, 'MD5')", json!({})),
            ok("States.Hash('123', 'MD5')", json!({}))
        );
        assert_eq!(
            ok("States.Hash($.o, 'MD5')", json!({"o": {}})),
            ok("States.Hash('{}', 'MD5')", json!({}))
        );
    }

    #[test]
    fn hash_rejects_unknown_algorithms_and_long_data() {
        for a in [
            json!("UNSUPPORTED"),
            json!("sha-256"),
            json!("SHA256"),
            json!(""),
            json!("MD-5"),
            json!(123),
        ] {
            invalid("States.Hash('data', $.a)", json!({ "a": a }));
        }
        assert!(ok(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "a".repeat(10_000)})
        )
        .is_string());
        invalid(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "a".repeat(10_001)}),
        );
    }
}
