//! The Step Functions JSON API (awsJson1.0) over the Waymark engine: the operations, their
//! request and response shapes, AWS's error names and messages, and an axum router. Both
//! homes — `waymark serve` on SQLite and the API Lambda on DynamoDB — serve requests through
//! [`handle`], so they speak exactly the same API.
//!
//! A home provides a [`Backend`] (every `waymark_engine::runner::Engine` is one) and either
//! mounts [`router`] or calls [`handle`] with the `X-Amz-Target` header and the body.

pub mod approvals;
pub mod backend;
pub mod body;
pub mod console;
pub mod error;
pub mod names;
pub mod ops;
pub mod pages;
pub mod router;
pub mod shapes;

pub use backend::{poll_until_ended, Backend};
pub use error::ApiError;
pub use ops::{handle, ApiResponse, CONTENT_TYPE, MAX_REQUEST_BYTES, OPERATIONS, TARGET_PREFIX};
pub use router::{router, router_with_console};
