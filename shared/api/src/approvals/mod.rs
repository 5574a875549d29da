//! Human approval through task-token links, done right: links are signed and expire with the
//! task, carry an unguessable id instead of the token, a GET only shows the request, only the
//! POST from that page decides, and a link works once. Homes store the approvals
//! ([`ApprovalStore`]) and mount [`approval_router`].

mod html;
pub mod links;
mod routes;
pub mod store;

pub use links::{ApprovalKey, LinkProblem, Links};
pub use routes::{approval_router, ApprovalPages, RejectMode};
pub use store::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
