//! The API over HTTP with axum: `POST /` with `X-Amz-Target`, as AWS's SDKs and CLI send it
//! (point them at it with `--endpoint-url`). One log line per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::backend::Backend;
use crate::body::BodyError;
use crate::error::ApiError;
use crate::ops::{handle, operation_name, too_large, ApiResponse, CONTENT_TYPE, MAX_REQUEST_BYTES};

/// The content types AWS's clients send for this API.
const ACCEPTED_TYPES: &[&str] = &[
    "application/x-amz-json-1.0",
    "application/x-amz-json-1.1",
    "application/json",
];

/// The Step Functions API at `POST /`.
pub fn router<B: Backend>(backend: Arc<B>) -> Router {
    Router::new()
        .route("/", post(serve::<B>))
        .fallback(not_found)
        .with_state(backend)
}

/// The API at `POST /` and the console beside it: `GET /` and `/console/…` ([`crate::console`]).
/// For `waymark serve`, which listens on loopback; the API function on AWS has no console (its
/// API keeps IAM auth, which a browser cannot sign).
pub fn router_with_console<B: Backend>(backend: Arc<B>) -> Router {
    Router::new()
        .route("/", post(serve::<B>).get(crate::console::index))
        .fallback(not_found)
        .with_state(backend)
        .merge(crate::console::routes())
}

async fn serve<B: Backend>(
    State(backend): State<Arc<B>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let response = match check_content_type(&headers) {
        Err(e) => ApiResponse::error(&e),
        Ok(()) => match read_body(&headers, body).await {
            Err(e) => ApiResponse::error(&e),
            Ok(bytes) => run(backend, target.clone(), bytes).await,
        },
    };
    let operation = match operation_name(&target) {
        "" => target.as_str(),
        op => op,
    };
    tracing::info!(
        target: "waymark_api",
        operation,
        status = response.status,
        error = response.error_type.unwrap_or(""),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    to_http(response)
}

/// Runs [`handle`] in its own task, so that a client that goes away mid-request does not
/// cancel an operation half-way (the engine commits each step whole either way).
async fn run<B: Backend>(backend: Arc<B>, target: String, body: Bytes) -> ApiResponse {
    let task = tokio::spawn(async move { handle(&*backend, &target, &body).await });
    match task.await {
        Ok(response) => response,
        Err(e) => ApiResponse::error(&ApiError::InternalFailure(format!(
            "the request could not be completed: {e}"
        ))),
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let media = text.split(';').next().unwrap_or("").trim();
    if ACCEPTED_TYPES.iter().any(|t| media.eq_ignore_ascii_case(t)) {
        return Ok(());
    }
    Err(ApiError::UnsupportedMediaType(format!(
        "Content type '{text}' is not supported; send {CONTENT_TYPE}"
    )))
}

/// The bytes of the request's header lines, as AWS counts them against the 1 MB limit of a
/// whole request ("header and all other associated request data").
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let head = header_bytes(headers);
    let allowance = MAX_REQUEST_BYTES.saturating_sub(head);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    crate::body::read(body, declared, allowance)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => too_large(
                declared
                    .map_or(MAX_REQUEST_BYTES + 1, |n| head.saturating_add(n as usize))
                    .max(MAX_REQUEST_BYTES + 1),
            ),
            BodyError::TimedOut => ApiError::RequestTimeout(
                "The request body did not arrive in time; send it whole, promptly".into(),
            ),
            BodyError::Failed(e) => {
                ApiError::SerializationException(format!("The request body could not be read: {e}"))
            }
        })
}

fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    waymark_engine::memory::uuid_v4(nanos, n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos)
}

fn to_http(r: ApiResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, r.body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-requestid", id);
    }
    if let Some(t) = r.error_type {
        h.insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    response
}

async fn not_found() -> Response {
    let e = ApiError::UnknownOperationException(
        "The Step Functions API is served at POST / with an X-Amz-Target header".into(),
    );
    let mut r = to_http(ApiResponse::error(&e));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
