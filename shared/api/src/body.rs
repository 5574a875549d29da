//! Request bodies read within bounds: at most so many bytes, and — where a server puts a
//! [`deadline`] on them — within a time from the request's start, so that a client trickling a
//! body a byte at a time cannot hold a connection and a handler for ever. The deadline is a
//! total, not a pause between chunks: one byte every few seconds still runs out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::Router;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::time::Sleep;

/// The error a body gives once its deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// More than the limit, declared or sent.
    TooLarge,
    /// The deadline passed before the body was complete.
    TimedOut,
    /// The connection failed or the body was malformed.
    Failed(String),
}

/// A body that fails with [`BodyTimedOut`] once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Gives every request body of `router` a deadline of `limit` from when its head arrived.
pub fn deadline(router: Router, limit: Duration) -> Router {
    router.layer(axum::middleware::map_request(
        move |req: Request| async move {
            req.map(|inner| {
                Body::new(DeadlineBody {
                    inner,
                    sleep: Box::pin(tokio::time::sleep(limit)),
                })
            })
        },
    ))
}

/// Whether `e`, or what caused it, is a [`BodyTimedOut`].
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<BodyTimedOut>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Reads a whole body of at most `limit` bytes; a declared length over it fails before
/// anything is read.
pub async fn read(body: Body, declared: Option<u64>, limit: usize) -> Result<Bytes, BodyError> {
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if timed_out(&e) {
                BodyError::TimedOut
            } else {
                BodyError::Failed(e.to_string())
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn echo(req: Request) -> axum::response::Response {
        match read(req.into_body(), None, 8).await {
            Ok(b) => (StatusCode::OK, b).into_response(),
            Err(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
            Err(BodyError::TimedOut) => StatusCode::REQUEST_TIMEOUT.into_response(),
            Err(BodyError::Failed(_)) => StatusCode::BAD_REQUEST.into_response(),
        }
    }

    fn app() -> Router {
        deadline(
            Router::new().route("/", post(echo)),
            Duration::from_millis(50),
        )
    }

    #[tokio::test]
    async fn whole_bodies_within_the_limit_arrive() {
        let r = app()
            .oneshot(Request::post("/").body(Body::from("1234")).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = app()
            .oneshot(Request::post("/").body(Body::from("123456789")).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            read(Body::empty(), Some(9), 8).await,
            Err(BodyError::TooLarge)
        );
    }

    /// One byte, then nothing more, for ever (the client stopped sending).
    struct Stalled {
        sent: bool,
    }

    impl http_body::Body for Stalled {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            if self.sent {
                return Poll::Pending;
            }
            self.sent = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"1")))))
        }
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_times_out() {
        let stalled = Body::new(Stalled { sent: false });
        let r = app()
            .oneshot(Request::post("/").body(stalled).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    }
}
