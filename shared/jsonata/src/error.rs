//! The one error type of this crate, so callers never see the underlying
//! evaluator's types and the evaluator can be replaced without touching them.

/// What went wrong, at the level a caller acts on: a bad expression is a
/// definition error, a failed evaluation is a runtime error, and a limit is
/// the engine protecting itself rather than a property of the expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The expression does not parse.
    Syntax,
    /// The expression parsed but failed against its input (type errors,
    /// `$error()`, `$assert()`, bad arguments, ...).
    Evaluation,
    /// The recursion-depth, time or sequence-length limit was exceeded.
    Limit,
    /// A function Step Functions does not offer (`$eval`) was called.
    Unsupported,
}

/// A JSONata failure, carrying the JSONata error code when the language
/// defines one ("T2001", "D3030", "S0201", ...), because that code is what
/// tests, users and the JSONata documentation refer to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(self))]
pub struct JsonataError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The JSONata error code, if the failure has one.
    pub code: Option<String>,
    /// The message, without the code prefix.
    pub message: String,
    /// Character offset into the expression, when known. The current
    /// evaluator does not report positions, so this is `None` for now; it is
    /// here so callers need not change when a replacement does.
    pub position: Option<usize>,
}

fn render(e: &JsonataError) -> String {
    match &e.code {
        Some(code) => format!("{code}: {}", e.message),
        None => e.message.clone(),
    }
}

impl JsonataError {
    pub(crate) fn new(kind: ErrorKind, code: Option<&str>, message: impl Into<String>) -> Self {
        JsonataError {
            kind,
            code: code.map(str::to_owned),
            message: message.into(),
            position: None,
        }
    }

    /// Splits an underlying message such as
    /// `"Type error: Signature validation failed: T0410: Argument count mismatch"`
    /// into its code and the text after it; the evaluator puts codes at
    /// varying depths inside its messages.
    pub(crate) fn from_message(kind: ErrorKind, raw: &str) -> Self {
        match find_code(raw) {
            Some(at) => {
                let code = &raw[at..at + 5];
                let rest = raw[at + 6..].trim_start();
                JsonataError::new(kind, Some(code), rest)
            }
            None => JsonataError::new(kind, None, raw),
        }
    }
}

/// Byte offset of the first `X9999:` code in `msg`, where the code is not
/// glued to a preceding word character.
fn find_code(msg: &str) -> Option<usize> {
    let b = msg.as_bytes();
    (0..b.len().saturating_sub(5)).find(|&i| {
        b[i].is_ascii_uppercase()
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && b[i + 5] == b':'
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_found_inside_wrapped_messages() {
        let e = JsonataError::from_message(
            ErrorKind::Evaluation,
            "Type error: Signature validation failed: T0410: Argument count mismatch",
        );
        assert_eq!(e.code.as_deref(), Some("T0410"));
        assert_eq!(e.message, "Argument count mismatch");
        assert_eq!(e.to_string(), "T0410: Argument count mismatch");
    }

    #[test]
    fn message_without_code_is_kept_whole() {
        let e = JsonataError::from_message(ErrorKind::Evaluation, "something odd");
        assert_eq!(e.code, None);
        assert_eq!(e.to_string(), "something odd");
    }

    #[test]
    fn short_and_non_ascii_messages_do_not_panic() {
        for m in ["", "T", "T000", "T0000", "é€T0410:", "xT0410: y"] {
            let _ = JsonataError::from_message(ErrorKind::Evaluation, m);
        }
        let e = JsonataError::from_message(ErrorKind::Evaluation, "é€T0410: x");
        assert_eq!(e.code.as_deref(), Some("T0410"));
    }
}
