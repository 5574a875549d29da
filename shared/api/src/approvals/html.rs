//! The approval pages: small, self-contained HTML (no scripts, no external resources), every
//! value escaped.

use serde_json::Value;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#1d2230;margin:0}\
main{max-width:720px;margin:48px auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px}\
h1{font-size:1.4rem;margin:0 0 8px}p.lead{color:#5a6275;margin:0 0 24px}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0 0 20px}dt{color:#5a6275}dd{margin:0;word-break:break-all}\
pre{background:#f6f8fa;border:1px solid #e3e6ea;border-radius:8px;padding:12px;overflow:auto;max-height:320px;font-size:.85rem}\
label{display:block;font-weight:600;margin:16px 0 6px}input[type=text],textarea{width:100%;box-sizing:border-box;padding:8px;border:1px solid #c9ced6;border-radius:6px;font:inherit}\
textarea{min-height:80px}.actions{display:flex;gap:12px;margin-top:20px}\
button{font:inherit;font-weight:600;border:0;border-radius:8px;padding:10px 22px;cursor:pointer}\
.approve{background:#1f8a4c;color:#fff}.reject{background:#c0392b;color:#fff}.chosen{outline:3px solid #1d2230}\
.note{border-left:4px solid #c9ced6;padding:8px 14px;background:#f6f8fa}.ok{border-color:#1f8a4c}.bad{border-color:#c0392b}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// What the reviewer sees before deciding.
pub struct Review<'a> {
    pub state_machine: &'a str,
    pub execution: &'a str,
    pub state: &'a str,
    pub requested: &'a str,
    pub expires: &'a str,
    pub input: &'a Value,
    /// Where the form posts (the link's own path and query).
    pub action: &'a str,
    pub form_token: &'a str,
    /// `approve` or `reject` from the link, to preselect a button.
    pub preselect: Option<&'a str>,
}

pub fn review(r: &Review) -> String {
    let pretty = serde_json::to_string_pretty(r.input).unwrap_or_default();
    let chosen = |which: &str| {
        if r.preselect == Some(which) {
            " chosen\" autofocus=\"autofocus"
        } else {
            ""
        }
    };
    page(
        "Approval requested",
        &format!(
            "<h1>Approval requested</h1><p class=\"lead\">A workflow is waiting for your decision.</p>\
<dl><dt>State machine</dt><dd>{sm}</dd><dt>Execution</dt><dd>{ex}</dd><dt>Step</dt><dd>{st}</dd>\
<dt>Requested</dt><dd>{rq}</dd><dt>Link expires</dt><dd>{exp}</dd></dl>\
<label>What is to be approved</label><pre>{input}</pre>\
<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"form\" value=\"{ft}\">\
<label for=\"approver\">Your name (optional)</label><input type=\"text\" id=\"approver\" name=\"approver\" maxlength=\"200\">\
<label for=\"comment\">Comment (optional)</label><textarea id=\"comment\" name=\"comment\" maxlength=\"2000\"></textarea>\
<div class=\"actions\"><button class=\"approve{ca}\" type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button class=\"reject{cr}\" type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></div></form>",
            sm = escape(r.state_machine),
            ex = escape(r.execution),
            st = escape(r.state),
            rq = escape(r.requested),
            exp = escape(r.expires),
            input = escape(&pretty),
            action = escape(r.action),
            ft = escape(r.form_token),
            ca = chosen("approve"),
            cr = chosen("reject"),
        ),
    )
}

/// The page after a decision, or explaining why nothing can be decided.
pub fn notice(title: &str, message: &str, good: bool) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1><div class=\"note {}\"><p>{}</p></div>",
            escape(title),
            if good { "ok" } else { "bad" },
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        let page = review(&Review {
            state_machine: "<script>",
            execution: "e\"1",
            state: "s",
            requested: "now",
            expires: "later",
            input: &json!({"html": "<b>x</b>"}),
            action: "/approvals/x?exp=1&sig=2",
            form_token: "t",
            preselect: Some("reject"),
        });
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(page.contains("action=\"/approvals/x?exp=1&amp;sig=2\""));
        assert!(page.contains("reject chosen"));
    }
}
