//! Panics as a layer: a future wrapped here turns a panic while it runs into an error value,
//! so that whoever awaits it can answer for the work it held (the stepper reports every
//! message of a panicked group as failed, and SQS delivers them again) instead of the panic
//! tearing down the batch or silently dropping messages. The same idea as
//! aws-lambda-rust-runtime's `layers/panic.rs`.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that resolves to `Err(message)` if polling its inner future panicked.
pub struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

/// Wraps `f` so that a panic inside it becomes `Err` with the panic's message.
pub fn catch_panic<F: Future>(f: F) -> CatchPanic<F> {
    CatchPanic { inner: Box::pin(f) }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::catch_panic;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_a_value_passes() {
        assert_eq!(catch_panic(async { 7 }).await, Ok(7));
        let failed = catch_panic(async {
            tokio::task::yield_now().await;
            panic!("step blew up");
        })
        .await;
        assert_eq!(failed, Err::<(), _>("step blew up".to_string()));
    }
}
