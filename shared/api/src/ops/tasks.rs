//! SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: answers to `.waitForTaskToken`
//! tasks, checked by the engine against the task the token was issued for.

use serde_json::{json, Value};
use waymark_asl::Failure;
use waymark_engine::runner::TaskAnswer;

use crate::backend::Backend;
use crate::error::ApiError;
use crate::ops::executions::json_payload;
use crate::shapes::{check_len, required, SendTaskInput};

/// AWS's limit on a task token's length.
const MAX_TOKEN_CHARS: usize = 2048;

/// A token that cannot have been issued (empty, too long, not printable ASCII) is
/// `InvalidToken`; one that could have been but was not is `TaskDoesNotExist`, from the
/// engine.
fn token(v: Option<String>) -> Result<String, ApiError> {
    let t = required("taskToken", v)?;
    if t.is_empty() {
        return Err(ApiError::invalid_token("The task token is empty"));
    }
    if t.len() > MAX_TOKEN_CHARS {
        return Err(ApiError::invalid_token(format!(
            "The task token is longer than {MAX_TOKEN_CHARS} characters"
        )));
    }
    if !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid_token("Invalid token"));
    }
    Ok(t)
}

pub async fn success<B: Backend + ?Sized>(b: &B, req: SendTaskInput) -> Result<Value, ApiError> {
    let token = token(req.task_token)?;
    let text = required("output", req.output)?;
    let output = json_payload(&text, ApiError::invalid_output)?;
    b.answer_task(&token, TaskAnswer::Success(output)).await?;
    Ok(json!({}))
}

pub async fn failure<B: Backend + ?Sized>(b: &B, req: SendTaskInput) -> Result<Value, ApiError> {
    let token = token(req.task_token)?;
    if let Some(e) = &req.error {
        check_len("error", e, 0, 256)?;
    }
    if let Some(c) = &req.cause {
        check_len("cause", c, 0, 32768)?;
    }
    let failure = Failure {
        error: req.error,
        cause: req.cause,
    };
    b.answer_task(&token, TaskAnswer::Failure(failure)).await?;
    Ok(json!({}))
}

pub async fn heartbeat<B: Backend + ?Sized>(b: &B, req: SendTaskInput) -> Result<Value, ApiError> {
    let token = token(req.task_token)?;
    b.answer_task(&token, TaskAnswer::Heartbeat).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_are_invalid() {
        for bad in [
            Some(String::new()),
            Some("a b".into()),
            Some("é".into()),
            Some("x".repeat(2049)),
        ] {
            assert_eq!(token(bad).unwrap_err().name(), "InvalidToken");
        }
        assert_eq!(token(None).unwrap_err().name(), "ValidationException");
        assert!(token(Some("0123abcd".into())).is_ok());
    }
}
