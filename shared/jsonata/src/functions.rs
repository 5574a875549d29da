//! The function set Step Functions gives JSONata expressions, layered over
//! the evaluator's built-ins: AWS's additions (`$partition`, `$range`,
//! `$hash`, `$random` with a seed, `$uuid`, `$parse`), `$eval` refused, and
//! the impure built-ins (`$now`, `$millis`, `$random`, `$shuffle`) re-routed
//! to the caller's [`Host`](crate::Host) so this crate reads no clock and no
//! entropy of its own.
//!
//! The rules, as AWS documents them and as pinned down by the tests below:
//! - `$partition(array, size)`: consecutive chunks of `size` items, the last
//!   one possibly shorter; `size` must be a positive integer; a non-array is
//!   treated as a one-item array, as JSONata's `a` signature type does.
//! - `$range(start, end, step)`: from `start` towards `end` by `step`,
//!   including `end` when a step lands on it; `step` defaults to 1 and must
//!   not be 0; a step pointing away from `end` gives `[]`; at most 10^7
//!   items, like JSONata's own range operator.
//! - `$hash(string, algorithm)`: lowercase hex digest of the UTF-8 bytes;
//!   `algorithm` is one of `MD5`, `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`.
//! - `$random([seed])`: a number in [0, 1); with a seed, the same seed always
//!   gives the same number. (AWS does not document its generator, so seeded
//!   values match AWS's in range and determinism, not digit for digit.)
//! - `$uuid()`: a random version-4 UUID, lowercase.
//! - `$parse(string)`: the JSON value the string holds.
//! - `$eval(...)`: always an error.
//!
//! As everywhere in JSONata, an undefined main argument gives an undefined
//! result.

use std::cell::Cell;
use std::rc::Rc;

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::host::{splitmix64, unit_float};

/// Start of the message `$eval` fails with; [`crate::Expression`] recognises
/// it to report [`crate::ErrorKind::Unsupported`].
pub(crate) const EVAL_REFUSED: &str = "$eval is not available in Step Functions";

/// Largest array `$range` builds, the limit JSONata puts on `[a..b]`.
const MAX_RANGE: f64 = 1e7;

/// The per-evaluation generator, shared by every function that needs
/// randomness so one seed from the host drives them all.
#[derive(Clone)]
struct Rng(Rc<Cell<u64>>);

impl Rng {
    fn next_u64(&self) -> u64 {
        let (next, out) = splitmix64(self.0.get());
        self.0.set(next);
        out
    }
}

/// Registers the Step Functions function set on `ev`, for one evaluation
/// that sees the time `now_millis` and draws randomness from `entropy`.
pub(crate) fn install(
    ev: &mut Evaluator,
    now_millis: i64,
    entropy: u64,
    max_sequence_length: Option<usize>,
) -> Result<(), EvaluatorError> {
    let rng = Rng(Rc::new(Cell::new(entropy)));

    ev.register_fn_override("eval", |_: &[JValue]| {
        Err(EvaluatorError::EvaluationError(format!(
            "{EVAL_REFUSED}; use $parse to read a JSON string"
        )))
    })?;
    ev.register_fn_override("now", move |args: &[JValue]| now(args, now_millis))?;
    ev.register_fn_override("millis", move |args: &[JValue]| {
        arity("millis", args, 0, 0)?;
        Ok(JValue::Number(now_millis as f64))
    })?;
    let r = rng.clone();
    ev.register_fn_override("random", move |args: &[JValue]| random(args, &r))?;
    let r = rng.clone();
    ev.register_fn_override("shuffle", move |args: &[JValue]| shuffle(args, &r))?;
    ev.register_fn("uuid", move |args: &[JValue]| uuid(args, &rng))?;
    ev.register_fn("partition", partition)?;
    let max_range = max_sequence_length.map_or(MAX_RANGE, |n| (n as f64).min(MAX_RANGE));
    ev.register_fn("range", move |args: &[JValue]| range(args, max_range))?;
    ev.register_fn("hash", hash)?;
    ev.register_fn("parse", parse)?;
    Ok(())
}

fn signature_error(function: &str, index: usize) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!(
        "T0410: Argument {index} of function \"{function}\" does not match function signature"
    ))
}

fn arity(function: &str, args: &[JValue], min: usize, max: usize) -> Result<(), EvaluatorError> {
    if args.len() < min || args.len() > max {
        return Err(signature_error(function, args.len().max(1)));
    }
    Ok(())
}

/// The argument at `index` as a string, `None` when absent or undefined.
fn opt_string<'a>(
    function: &str,
    args: &'a [JValue],
    index: usize,
) -> Result<Option<&'a str>, EvaluatorError> {
    match args.get(index) {
        None | Some(JValue::Undefined) => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| signature_error(function, index + 1)),
    }
}

/// The argument at `index` as a number, `None` when absent or undefined.
fn opt_number(
    function: &str,
    args: &[JValue],
    index: usize,
) -> Result<Option<f64>, EvaluatorError> {
    match args.get(index) {
        None | Some(JValue::Undefined) => Ok(None),
        Some(JValue::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(signature_error(function, index + 1)),
    }
}

/// Runs `expr` on a fresh evaluator with `bindings`, to reuse a built-in's
/// exact behaviour from inside an override of it.
fn builtin(expr: &str, bindings: &[(&str, JValue)]) -> Result<JValue, EvaluatorError> {
    let ast = jsonata_core::parser::parse(expr)
        .map_err(|e| EvaluatorError::EvaluationError(e.to_string()))?;
    let mut ctx = Context::new();
    for (name, value) in bindings {
        ctx.bind((*name).to_owned(), value.clone());
    }
    Evaluator::with_context(ctx).evaluate(&ast, &JValue::Undefined)
}

/// `$now([picture [, timezone]])` at the host's instant, formatted exactly
/// as `$fromMillis` formats it.
fn now(args: &[JValue], now_millis: i64) -> Result<JValue, EvaluatorError> {
    arity("now", args, 0, 2)?;
    let picture = opt_string("now", args, 0)?;
    let timezone = opt_string("now", args, 1)?;
    let text = |s: Option<&str>| s.map_or(JValue::Undefined, JValue::from);
    builtin(
        "$fromMillis($t, $p, $z)",
        &[
            ("t", JValue::Number(now_millis as f64)),
            ("p", text(picture)),
            ("z", text(timezone)),
        ],
    )
}

fn random(args: &[JValue], rng: &Rng) -> Result<JValue, EvaluatorError> {
    arity("random", args, 0, 1)?;
    let bits = match opt_number("random", args, 0)? {
        None => rng.next_u64(),
        Some(seed) => {
            // Equal numbers must seed equally, whatever their f64 spelling.
            let key = if seed.fract() == 0.0 && seed.abs() < 9.2e18 {
                seed as i64 as u64
            } else {
                seed.to_bits()
            };
            splitmix64(key).1
        }
    };
    Ok(JValue::Number(unit_float(bits)))
}

/// Fisher–Yates with the evaluation's generator; anything that needs no
/// randomness (undefined, non-arrays, short arrays) goes to the built-in.
fn shuffle(args: &[JValue], rng: &Rng) -> Result<JValue, EvaluatorError> {
    arity("shuffle", args, 1, 1)?;
    match args[0].as_array() {
        Some(items) if items.len() > 1 => {
            let mut items = items.clone();
            for i in (1..items.len()).rev() {
                let j = (unit_float(rng.next_u64()) * (i + 1) as f64) as usize;
                items.swap(i, j.min(i));
            }
            Ok(JValue::array(items))
        }
        _ => builtin("$shuffle($a)", &[("a", args[0].clone())]),
    }
}

fn uuid(args: &[JValue], rng: &Rng) -> Result<JValue, EvaluatorError> {
    arity("uuid", args, 0, 0)?;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex = hex(&bytes);
    Ok(JValue::from(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )))
}

fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("partition", args, 2, 2)?;
    let items: Vec<JValue> = match &args[0] {
        JValue::Undefined => return Ok(JValue::Undefined),
        v => match v.as_array() {
            Some(items) => items.clone(),
            None => vec![v.clone()],
        },
    };
    let size = match opt_number("partition", args, 1)? {
        Some(n) if n >= 1.0 && n.fract() == 0.0 => n,
        _ => {
            return Err(EvaluatorError::EvaluationError(
                "T0410: Argument 2 of function \"partition\" must be a positive integer".to_owned(),
            ))
        }
    };
    // Saturates for sizes beyond any array's length, which is what we want.
    let size = size as usize;
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|chunk| JValue::array(chunk.to_vec()))
            .collect(),
    ))
}

fn range(args: &[JValue], max: f64) -> Result<JValue, EvaluatorError> {
    arity("range", args, 2, 3)?;
    let (Some(start), Some(end)) = (opt_number("range", args, 0)?, opt_number("range", args, 1)?)
    else {
        return Ok(JValue::Undefined);
    };
    let step = opt_number("range", args, 2)?.unwrap_or(1.0);
    if step == 0.0 {
        return Err(EvaluatorError::EvaluationError(
            "T0410: Argument 3 of function \"range\" must not be zero".to_owned(),
        ));
    }
    let span = ((end - start) / step).floor();
    if span < 0.0 {
        return Ok(JValue::array(Vec::new()));
    }
    let count = span + 1.0;
    if !count.is_finite() || count > MAX_RANGE {
        return Err(EvaluatorError::EvaluationError(format!(
            "D2014: The size of the sequence allocated by $range ({count}) must not exceed 1e7"
        )));
    }
    if count > max {
        return Err(EvaluatorError::EvaluationError(format!(
            "D2015: The maximum sequence length of {max} was exceeded by $range ({count})."
        )));
    }
    Ok(JValue::array(
        (0..count as usize)
            .map(|i| JValue::Number(start + i as f64 * step))
            .collect(),
    ))
}

fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("hash", args, 2, 2)?;
    let Some(data) = opt_string("hash", args, 0)? else {
        return Ok(JValue::Undefined);
    };
    let algorithm = opt_string("hash", args, 1)?.unwrap_or_default();
    let bytes = data.as_bytes();
    let digest = match algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(EvaluatorError::EvaluationError(format!(
                "T0410: Argument 2 of function \"hash\" must be one of MD5, SHA-1, SHA-256, \
                 SHA-384, SHA-512; got \"{other}\""
            )))
        }
    };
    Ok(JValue::from(hex(&digest)))
}

fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("parse", args, 1, 1)?;
    let Some(text) = opt_string("parse", args, 0)? else {
        return Ok(JValue::Undefined);
    };
    serde_json::from_str::<serde_json::Value>(text)
        .map(JValue::from)
        .map_err(|e| {
            EvaluatorError::EvaluationError(format!(
                "Argument 1 of function \"parse\" is not valid JSON: {e}"
            ))
        })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}
