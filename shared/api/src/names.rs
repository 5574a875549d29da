//! What AWS accepts as a name and as a Step Functions ARN, checked before anything is looked
//! up so that a malformed request fails with `InvalidName` / `InvalidArn`, never with a
//! misleading "does not exist".

use crate::error::ApiError;

/// AWS's limit on state machine and execution names.
pub const MAX_NAME_CHARS: usize = 80;

/// Checks a state machine or execution name against AWS's rules: 1–80 characters, none of them
/// white space, a bracket, a wildcard, one of `" # % \ ^ | ~ ` $ & , ; : /` or a control
/// character.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_CHARS || name.chars().any(forbidden) {
        return Err(ApiError::invalid_name(name));
    }
    Ok(())
}

fn forbidden(c: char) -> bool {
    c.is_whitespace()
        || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
        || matches!(c as u32, 0x00..=0x1F | 0x7F..=0x9F)
}

/// What a Step Functions ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnResource {
    /// `…:stateMachine:<name>[:<version or alias>]`
    StateMachine {
        name: String,
        qualifier: Option<String>,
    },
    /// `…:execution:<state machine>:<name>`
    Execution { state_machine: String, name: String },
    /// `…:express:<state machine>:<name>:<id>`
    Express {
        state_machine: String,
        name: String,
        id: String,
    },
    /// `…:activity:<name>`
    Activity { name: String },
    /// `…:mapRun:…`, `…:stateMachine:…` of other shapes: valid ARNs this API does not serve.
    Other { kind: String },
}

impl ArnResource {
    pub fn kind(&self) -> &str {
        match self {
            ArnResource::StateMachine { .. } => "stateMachine",
            ArnResource::Execution { .. } => "execution",
            ArnResource::Express { .. } => "express",
            ArnResource::Activity { .. } => "activity",
            ArnResource::Other { kind } => kind,
        }
    }
}

/// A parsed `arn:<partition>:states:<region>:<account>:<resource>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatesArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub resource: ArnResource,
}

/// AWS's longest ARN in this API (`LongArn`).
const MAX_ARN_CHARS: usize = 2000;

pub fn parse_arn(arn: &str) -> Result<StatesArn, ApiError> {
    if arn.len() > MAX_ARN_CHARS {
        return Err(ApiError::invalid_arn(format!(
            "ARN is longer than {MAX_ARN_CHARS} characters"
        )));
    }
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[1].is_empty() {
        return Err(ApiError::invalid_arn(format!("Invalid ARN prefix: {arn}")));
    }
    if parts[2] != "states" {
        return Err(ApiError::invalid_arn(format!(
            "Invalid ARN service: {} in {arn}",
            parts[2]
        )));
    }
    if parts[3].is_empty()
        || !parts[3]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::invalid_arn(format!(
            "Invalid region in ARN: {arn}"
        )));
    }
    if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_arn(format!(
            "Invalid account in ARN: {arn}"
        )));
    }
    let rest = &parts[6..];
    let named = |s: &str| check_name(s).is_ok();
    let resource = match (parts[5], rest) {
        ("stateMachine", [name]) if named(name) => ArnResource::StateMachine {
            name: name.to_string(),
            qualifier: None,
        },
        ("stateMachine", [name, q]) if named(name) && !q.is_empty() => ArnResource::StateMachine {
            name: name.to_string(),
            qualifier: Some(q.to_string()),
        },
        // A distributed Map's child runs under its parent's machine and the Map's label.
        ("execution", [sm, name]) if (named(sm) || is_child_machine(sm)) && named(name) => {
            ArnResource::Execution {
                state_machine: sm.to_string(),
                name: name.to_string(),
            }
        }
        ("express", [sm, name, id]) if named(sm) && named(name) && !id.is_empty() => {
            ArnResource::Express {
                state_machine: sm.to_string(),
                name: name.to_string(),
                id: id.to_string(),
            }
        }
        ("activity", [name]) if named(name) => ArnResource::Activity {
            name: name.to_string(),
        },
        ("stateMachine" | "execution" | "express" | "activity", _) => {
            return Err(ApiError::invalid_arn(format!(
                "Invalid ARN resource: {arn}"
            )))
        }
        (kind, _) if !kind.is_empty() => ArnResource::Other {
            kind: kind.to_string(),
        },
        _ => {
            return Err(ApiError::invalid_arn(format!(
                "Invalid ARN resource: {arn}"
            )))
        }
    };
    Ok(StatesArn {
        partition: parts[1].to_string(),
        region: parts[3].to_string(),
        account: parts[4].to_string(),
        resource,
    })
}

fn wrong_kind(resource: &ArnResource) -> ApiError {
    ApiError::invalid_arn(format!(
        "Resource type not valid in this context: {}",
        resource.kind()
    ))
}

/// An ARN that must name a state machine. Versions and aliases parse, and are then simply not
/// found: this API keeps revisions but does not publish versions.
pub fn state_machine_arn(arn: &str) -> Result<StatesArn, ApiError> {
    let parsed = parse_arn(arn)?;
    match parsed.resource {
        ArnResource::StateMachine { .. } => Ok(parsed),
        ref other => Err(wrong_kind(other)),
    }
}

/// An ARN that must name an execution, standard or express.
/// `MACHINE/LABEL`: the machine part of a distributed Map's child's ARN.
fn is_child_machine(sm: &str) -> bool {
    sm.split_once('/')
        .is_some_and(|(machine, label)| check_name(machine).is_ok() && check_name(label).is_ok())
}

pub fn execution_arn(arn: &str) -> Result<StatesArn, ApiError> {
    let parsed = parse_arn(arn)?;
    match parsed.resource {
        ArnResource::Execution { .. } | ArnResource::Express { .. } => Ok(parsed),
        ref other => Err(wrong_kind(other)),
    }
}

/// Any IAM-style ARN (`roleArn`): only its shape is checked; nothing here assumes a role.
pub fn check_role_arn(arn: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if arn.len() > 256 || parts.len() < 6 || parts[0] != "arn" || parts[2].is_empty() {
        return Err(ApiError::invalid_arn(format!("Invalid ARN prefix: {arn}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        for ok in ["a", "Order-Processing_2", "ünïcødé", &"x".repeat(80)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "tab\t",
            "a<b",
            "a{b}",
            "a[0]",
            "wild*",
            "what?",
            "q\"",
            "#",
            "%",
            "back\\slash",
            "^",
            "|",
            "~",
            "`",
            "$",
            "&",
            ",",
            ";",
            "a:b",
            "a/b",
            "\u{7f}",
            "\u{85}",
            &"x".repeat(81),
        ] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.name(), "InvalidName", "{bad:?}");
        }
    }

    #[test]
    fn arns_parse_by_kind() {
        let sm = parse_arn("arn:aws:states:us-east-1:123456789012:stateMachine:Hello").unwrap();
        assert_eq!(
            sm.resource,
            ArnResource::StateMachine {
                name: "Hello".into(),
                qualifier: None
            }
        );
        let ex =
            execution_arn("arn:aws:states:us-east-1:123456789012:execution:Hello:run-1").unwrap();
        assert_eq!(ex.region, "us-east-1");
        let express =
            execution_arn("arn:aws:states:eu-west-1:123456789012:express:Hello:run:abc").unwrap();
        assert!(matches!(express.resource, ArnResource::Express { .. }));
        assert!(
            state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:H:1").is_ok()
        );
    }

    #[test]
    fn bad_arns_are_invalid_arn() {
        for bad in [
            "",
            "nope",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:us-east-1:12345:stateMachine:x",
            "arn:aws:states::123456789012:stateMachine:x",
            "arn:aws:states:us-east-1:123456789012:stateMachine:",
            "arn:aws:states:us-east-1:123456789012:stateMachine:a b",
            "arn:aws:states:us-east-1:123456789012:execution:only-one",
            "arn:aws:states:us-east-1:123456789012:execution:a:b:c",
        ] {
            assert_eq!(parse_arn(bad).unwrap_err().name(), "InvalidArn", "{bad}");
        }
    }

    #[test]
    fn wrong_kind_is_named() {
        let err = state_machine_arn("arn:aws:states:us-east-1:123456789012:execution:Hello:run-1")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid Arn: 'Resource type not valid in this context: execution'"
        );
        assert!(execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:x").is_err());
    }
}
