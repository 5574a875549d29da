//! What a Task state's `Resource` does. Every home (local, AWS) uses these integrations, so a
//! workflow behaves the same wherever it runs.

pub mod mock;

/// The state machine name inside an execution ARN
/// (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`, or `…:express:MACHINE:NAME:ID`).
pub fn state_machine_name(execution_arn: &str) -> Option<&str> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.get(5) {
        Some(&"execution") | Some(&"express") => parts.get(6).copied(),
        _ => None,
    }
}
