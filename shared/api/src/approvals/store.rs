//! What approval pages need from a home's storage: the engine's approval records, created
//! when the task's message goes out, decided at most once.

pub use waymark_engine::approval::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
