//! Signed approval links. The id in a link is derived from the task token with a keyed hash,
//! so it is unguessable (128 bits) and the token itself never appears in a URL; the signature
//! covers the id and the expiry, so a link cannot be forged, extended or pointed at another
//! approval.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::json;
use sha2::Sha256;
use waymark_engine::step::Approval;

type HmacSha256 = Hmac<Sha256>;

/// The deployment's secret for approval links.
#[derive(Clone)]
pub struct ApprovalKey(Vec<u8>);

impl std::fmt::Debug for ApprovalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApprovalKey(…)")
    }
}

impl ApprovalKey {
    /// A fresh random key (links die with the process).
    pub fn random() -> ApprovalKey {
        let mut k = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        ApprovalKey(k)
    }

    /// At least 16 bytes of secret.
    pub fn from_bytes(bytes: &[u8]) -> Option<ApprovalKey> {
        (bytes.len() >= 16).then(|| ApprovalKey(bytes.to_vec()))
    }

    /// Reads the key file, creating it (readable by its owner only) when absent, so links
    /// stay valid across restarts.
    pub fn load_or_create(path: &Path) -> std::io::Result<ApprovalKey> {
        match std::fs::read(path) {
            Ok(bytes) => ApprovalKey::from_bytes(&bytes).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} holds fewer than 16 bytes", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ApprovalKey::random();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    // The key sits beside the database: folders made for them are private.
                    let mut b = std::fs::DirBuilder::new();
                    b.recursive(true);
                    #[cfg(unix)]
                    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                    b.create(dir)?;
                }
                write_private(path, &key.0)?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    fn mac(&self, purpose: &str, data: &str) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        m.update(purpose.as_bytes());
        m.update(b"\0");
        m.update(data.as_bytes());
        m
    }

    fn sign(&self, purpose: &str, data: &str) -> String {
        hex(&self.mac(purpose, data).finalize().into_bytes())
    }

    fn verify(&self, purpose: &str, data: &str, sig: &str) -> bool {
        match unhex(sig) {
            Some(bytes) => self.mac(purpose, data).verify_slice(&bytes).is_ok(),
            None => false,
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Signature wrong or missing, or id malformed: forged or tampered with.
    Forged,
    Expired,
}

/// Makes and checks links for one deployment.
#[derive(Debug, Clone)]
pub struct Links {
    key: ApprovalKey,
    /// Where the pages are served, e.g. `http://127.0.0.1:8083` or the API's URL.
    base_url: String,
}

impl Links {
    pub fn new(key: ApprovalKey, base_url: impl Into<String>) -> Links {
        Links {
            key,
            base_url: base_url.into().trim_end_matches('/').to_string(),
        }
    }

    /// The approval id of a task token.
    pub fn id_for(&self, token: &str) -> String {
        self.key.sign("id", token)[..32].to_string()
    }

    fn link_sig(&self, id: &str, exp: i64) -> String {
        self.key.sign("link", &format!("{id}:{exp}"))
    }

    /// The links of a task token, expiring at `expires`.
    pub fn make(&self, token: &str, expires: DateTime<Utc>) -> Approval {
        let id = self.id_for(token);
        let exp = expires.timestamp();
        let url = format!(
            "{}/approvals/{id}?exp={exp}&sig={}",
            self.base_url,
            self.link_sig(&id, exp)
        );
        Approval {
            links: json!({
                "Id": id,
                "Url": url,
                "ApproveUrl": format!("{url}&action=approve"),
                "RejectUrl": format!("{url}&action=reject"),
                "ExpiresAt": waymark_asl::timestamp::format_millis(expires),
            }),
            id,
            expires,
        }
    }

    /// Checks a link's id, expiry and signature at `now`.
    pub fn check(
        &self,
        id: &str,
        exp: Option<i64>,
        sig: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), LinkProblem> {
        let (Some(exp), Some(sig)) = (exp, sig) else {
            return Err(LinkProblem::Forged);
        };
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LinkProblem::Forged);
        }
        if !self.key.verify("link", &format!("{id}:{exp}"), sig) {
            return Err(LinkProblem::Forged);
        }
        match Utc.timestamp_opt(exp, 0).single() {
            Some(t) if t > now => Ok(()),
            _ => Err(LinkProblem::Expired),
        }
    }

    /// The hidden field that proves a POST comes from the page we served for `id`.
    pub fn form_token(&self, id: &str) -> String {
        self.key.sign("form", id)
    }

    pub fn check_form_token(&self, id: &str, token: &str) -> bool {
        self.key.verify("form", id, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(
            ApprovalKey::from_bytes(b"0123456789abcdef0123").unwrap(),
            "http://x/",
        )
    }

    fn parts(url: &str) -> (String, i64, String) {
        let (path, query) = url.split_once('?').unwrap();
        let id = path.rsplit('/').next().unwrap().to_string();
        let q: std::collections::HashMap<_, _> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        (id, q["exp"].parse().unwrap(), q["sig"].to_string())
    }

    #[test]
    fn links_hide_the_token_and_check_out() {
        let l = links();
        let now = Utc::now();
        let a = l.make("secret-token-value", now + chrono::Duration::hours(1));
        let url = a.links["Url"].as_str().unwrap();
        assert!(!url.contains("secret-token-value"));
        assert!(url.starts_with("http://x/approvals/"));
        assert_eq!(a.id.len(), 32, "128 bits");
        let (id, exp, sig) = parts(url);
        assert_eq!(id, a.id);
        assert_eq!(l.check(&id, Some(exp), Some(&sig), now), Ok(()));
        assert_eq!(a.links["ApproveUrl"], format!("{url}&action=approve"));
    }

    #[test]
    fn tampering_expiry_and_other_keys_are_refused() {
        let l = links();
        let now = Utc::now();
        let (id, exp, sig) = parts(
            l.make("t", now + chrono::Duration::hours(1)).links["Url"]
                .as_str()
                .unwrap(),
        );
        assert_eq!(
            l.check(&id, Some(exp + 3600), Some(&sig), now),
            Err(LinkProblem::Forged)
        );
        let other = l.id_for("another token");
        assert_eq!(
            l.check(&other, Some(exp), Some(&sig), now),
            Err(LinkProblem::Forged)
        );
        let mut bad = sig.clone();
        bad.replace_range(0..1, if &sig[0..1] == "a" { "b" } else { "a" });
        assert_eq!(
            l.check(&id, Some(exp), Some(&bad), now),
            Err(LinkProblem::Forged)
        );
        assert_eq!(l.check(&id, Some(exp), None, now), Err(LinkProblem::Forged));
        assert_eq!(
            l.check(&id, Some(exp), Some(&sig), now + chrono::Duration::hours(2)),
            Err(LinkProblem::Expired)
        );
        let stranger = Links::new(ApprovalKey::random(), "http://x");
        assert_eq!(
            stranger.check(&id, Some(exp), Some(&sig), now),
            Err(LinkProblem::Forged)
        );
    }

    #[test]
    fn form_tokens_belong_to_one_approval() {
        let l = links();
        let t = l.form_token("a".repeat(32).as_str());
        assert!(l.check_form_token(&"a".repeat(32), &t));
        assert!(!l.check_form_token(&"b".repeat(32), &t));
        assert!(!l.check_form_token(&"a".repeat(32), "zz"));
    }

    #[test]
    fn keys_persist_in_their_file() {
        let dir = std::env::temp_dir().join(format!("waymark-key-{}", std::process::id()));
        let path = dir.join("approval.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = ApprovalKey::load_or_create(&path).unwrap();
        let b = ApprovalKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600, "the key");
            assert_eq!(mode(&dir), 0o700, "the folder made for it");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
