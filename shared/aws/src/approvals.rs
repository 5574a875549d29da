//! Human approval on AWS: the signing key and where the pages are served, read from the
//! environment; the links the engine puts in `$$.Task.Approval`; and the request published to
//! the approval topic (whose e-mail subscriber so gets the links) when a task asks for one.
//!
//! Approvals are on when `WAYMARK_APPROVAL_KEY` holds a key (hex or base64, at least 16
//! bytes); without it everything works as before and `$$.Task.Approval` does not exist.
//! `WAYMARK_PUBLIC_URL` is the API's URL, the links' base. The API function may go without it
//! (template.yaml cannot give it the URL of the API that invokes it: that would be a circular
//! dependency), and then takes the host of the requests it serves, which API Gateway sets.

use std::sync::RwLock;

use base64::Engine as _;
use serde_json::Value;
use waymark_api::approvals::{ApprovalKey, Links, RejectMode};
use waymark_engine::step::{Approval, TaskRequest};

use crate::error::AwsError;

/// What `WAYMARK_APPROVAL_*` and `WAYMARK_PUBLIC_URL` say.
#[derive(Debug, Clone)]
pub struct ApprovalConfig {
    /// `WAYMARK_APPROVAL_KEY`.
    pub key: ApprovalKey,
    /// `WAYMARK_PUBLIC_URL`: the API's URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`.
    pub public_url: Option<String>,
    /// `WAYMARK_APPROVAL_REJECT`: `output` (the default: the task succeeds with
    /// `{"approved": false, …}`) or `fail` (it fails with `Approval.Rejected`).
    pub reject: RejectMode,
}

impl ApprovalConfig {
    /// `None` when no key is given: approvals are off.
    pub fn from_vars(
        key: Option<&str>,
        public_url: Option<&str>,
        reject: Option<&str>,
    ) -> Result<Option<ApprovalConfig>, AwsError> {
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(None);
        };
        let reject = match reject.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("output") => RejectMode::Output,
            Some("fail") => RejectMode::Fail,
            Some(other) => {
                return Err(AwsError::Config(format!(
                    "WAYMARK_APPROVAL_REJECT={other}: expected output or fail"
                )))
            }
        };
        Ok(Some(ApprovalConfig {
            key: parse_key(key)?,
            public_url: public_url
                .map(|u| u.trim().trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            reject,
        }))
    }
}

/// A key as hex (`openssl rand -hex 32`) or base64 (`openssl rand -base64 32`).
pub fn parse_key(text: &str) -> Result<ApprovalKey, AwsError> {
    let bad = |why: &str| AwsError::Config(format!("WAYMARK_APPROVAL_KEY {why}"));
    let text = text.trim();
    let bytes = if text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad("is not hex"))?
    } else {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let padded = match text.len() % 4 {
            2 => format!("{text}=="),
            3 => format!("{text}="),
            _ => text.to_string(),
        };
        STANDARD
            .decode(&padded)
            .or_else(|_| URL_SAFE.decode(&padded))
            .map_err(|_| bad("is neither hex nor base64"))?
    };
    ApprovalKey::from_bytes(&bytes).ok_or_else(|| bad("holds fewer than 16 bytes"))
}

/// A home's approvals: the key, and the links' base (configured, or learned from requests).
#[derive(Debug)]
pub struct Approvals {
    key: ApprovalKey,
    base: RwLock<Option<String>>,
    configured: bool,
    pub reject: RejectMode,
}

impl Approvals {
    pub fn new(config: &ApprovalConfig) -> Approvals {
        Approvals {
            key: config.key.clone(),
            base: RwLock::new(config.public_url.clone()),
            configured: config.public_url.is_some(),
            reject: config.reject,
        }
    }

    /// Whether the links' base comes from `WAYMARK_PUBLIC_URL`.
    pub fn has_public_url(&self) -> bool {
        self.configured
    }

    /// The links' base, if known.
    pub fn base(&self) -> Option<String> {
        self.base.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes `https://<host>` as the links' base, unless one is configured or known already.
    pub fn learn_host(&self, host: &str) {
        if self.configured || host.is_empty() || !host.bytes().all(is_host_byte) {
            return;
        }
        let mut base = self.base.write().unwrap_or_else(|p| p.into_inner());
        if base.is_none() {
            tracing::info!("approval links are served at https://{host}");
            *base = Some(format!("https://{host}"));
        }
    }

    /// Makes and checks links (with the base known now; the pages need none).
    pub fn links(&self) -> Links {
        Links::new(self.key.clone(), self.base().unwrap_or_default())
    }

    /// The links of a task token, for the engine's `$$.Task.Approval`.
    pub fn make(&self, token: &str, expires: chrono::DateTime<chrono::Utc>) -> Approval {
        if self.base().is_none() {
            tracing::warn!("WAYMARK_PUBLIC_URL is not set: approval links are relative");
        }
        self.links().make(token, expires)
    }
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':')
}

/// SNS subjects: ASCII, no line breaks, fewer than 100 characters.
fn subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= 99 {
        clean
    } else {
        format!("{}...", &clean[..96])
    }
}

/// The request published to the approval topic: (subject, message). Never the task token.
pub fn announcement(
    execution_arn: &str,
    req: &TaskRequest,
    approval: &Approval,
) -> (String, String) {
    let ctx = &req.context;
    let name = |v: &Value| v.as_str().map(str::to_string);
    let execution = name(&ctx["Execution"]["Name"])
        .unwrap_or_else(|| execution_arn.rsplit(':').next().unwrap_or("").to_string());
    let machine = name(&ctx["StateMachine"]["Name"]).unwrap_or_else(|| {
        execution_arn
            .rsplit(':')
            .nth(1)
            .unwrap_or_default()
            .to_string()
    });
    let link = |k: &str| approval.links[k].as_str().unwrap_or("").to_string();
    let message = format!(
        "A workflow is waiting for your decision.\n\n\
         State machine: {machine}\n\
         Execution:     {execution}\n\
         Step:          {state}\n\
         Decide by:     {expires}\n\n\
         Review the request and decide:\n{url}\n\n\
         Approve: {approve}\n\
         Reject:  {reject}\n\n\
         Each link opens a page that shows the request; nothing is decided until you press \
         Approve or Reject there. A link can be used once.\n\n\
         Execution ARN: {execution_arn}\n\
         Approval id: {id}\n",
        state = req.state,
        expires = link("ExpiresAt"),
        url = link("Url"),
        approve = link("ApproveUrl"),
        reject = link("RejectUrl"),
        id = approval.id,
    );
    (
        subject(&format!("Approval requested: {} of {execution}", req.state)),
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hex_or_base64_of_at_least_16_bytes() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(parse_key(hex).is_ok());
        assert!(parse_key("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=").is_ok());
        assert!(parse_key("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA").is_ok());
        assert!(parse_key("0011223344556677").is_err(), "8 bytes");
        assert!(parse_key("not a key at all!").is_err());
        let off = ApprovalConfig::from_vars(None, Some("https://x"), None).unwrap();
        assert!(off.is_none());
        let on = ApprovalConfig::from_vars(Some(hex), Some("https://x/"), Some("fail"))
            .unwrap()
            .unwrap();
        assert_eq!(on.public_url.as_deref(), Some("https://x"));
        assert_eq!(on.reject, RejectMode::Fail);
        assert!(ApprovalConfig::from_vars(Some(hex), None, Some("maybe")).is_err());
    }

    #[test]
    fn the_base_is_configured_or_learned_once() {
        let key = "00112233445566778899aabbccddeeff";
        let learned = Approvals::new(
            &ApprovalConfig::from_vars(Some(key), None, None)
                .unwrap()
                .unwrap(),
        );
        learned.learn_host("evil host/");
        assert_eq!(learned.base(), None);
        learned.learn_host("abc.execute-api.eu-west-1.amazonaws.com");
        learned.learn_host("other.example");
        assert_eq!(
            learned.base().as_deref(),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com")
        );
        let fixed = Approvals::new(
            &ApprovalConfig::from_vars(Some(key), Some("https://approvals.example"), None)
                .unwrap()
                .unwrap(),
        );
        fixed.learn_host("abc.example");
        let a = fixed.make("token", chrono::Utc::now() + chrono::Duration::hours(1));
        assert!(a.links["Url"]
            .as_str()
            .unwrap()
            .starts_with("https://approvals.example/approvals/"));
    }

    #[test]
    fn subjects_suit_sns() {
        assert_eq!(subject("Approval: a\nb"), "Approval: a?b");
        let long = subject(&"x".repeat(300));
        assert!(long.len() < 100);
        assert_eq!(subject("Zürich"), "Z?rich");
    }
}
