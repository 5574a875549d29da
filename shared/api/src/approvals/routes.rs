//! The two routes of an approval: GET shows what is to be decided and changes nothing; only
//! the POST from that page acts. Every way a link can be wrong gets a clear page, never an
//! error dump: queries and forms are read by hand (an extractor's rejection is plain text),
//! and every answer under `/approvals/` carries the page's security headers.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use serde_json::{json, Value};
use waymark_asl::timestamp::format_millis;
use waymark_engine::record::{ExecutionRecord, Phase};
use waymark_engine::runner::{EngineError, TaskAnswer};

use super::html::{notice, review, Review};
use super::links::{LinkProblem, Links};
use super::store::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
use crate::body::BodyError;
use crate::Backend;

/// What a rejection does to the waiting task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RejectMode {
    /// SendTaskSuccess with `{"approved": false, …}`: the workflow decides what follows.
    #[default]
    Output,
    /// SendTaskFailure with the error `Approval.Rejected`: Catch decides what follows.
    Fail,
}

pub struct ApprovalPages<B, A> {
    pub backend: Arc<B>,
    pub store: A,
    pub links: Links,
    pub reject: RejectMode,
}

/// The most a decision form may weigh: its fields are a few hundred characters (the comment is
/// clipped to 2,000), so anything near this is not from the page.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// `urlencoded` text as pairs; a field given twice has no value, since which one was meant is
/// anyone's guess. Malformed escapes are read leniently, never refused.
fn fields(text: &str) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
    move |name| {
        let mut found = pairs.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v.clone()),
            _ => None,
        }
    }
}

/// A link's query. An `exp` that is not a number, or a repeated `exp` or `sig`, leaves it
/// missing: the link is then refused as tampered with.
#[derive(Debug, Default)]
pub struct LinkQuery {
    exp: Option<i64>,
    sig: Option<String>,
    action: Option<String>,
}

impl LinkQuery {
    fn parse(raw: Option<&str>) -> LinkQuery {
        let get = fields(raw.unwrap_or(""));
        LinkQuery {
            exp: get("exp").and_then(|v| v.parse().ok()),
            sig: get("sig"),
            action: get("action"),
        }
    }
}

#[derive(Debug, Default)]
pub struct DecisionForm {
    decision: Option<String>,
    comment: Option<String>,
    approver: Option<String>,
    form: Option<String>,
}

impl DecisionForm {
    fn parse(body: &[u8]) -> DecisionForm {
        let get = fields(&String::from_utf8_lossy(body));
        DecisionForm {
            decision: get("decision"),
            comment: get("comment"),
            approver: get("approver"),
            form: get("form"),
        }
    }
}

pub fn approval_router<B: Backend, A: ApprovalStore + 'static>(
    pages: Arc<ApprovalPages<B, A>>,
) -> Router {
    Router::new()
        .route(
            "/approvals/{id}",
            get(show::<B, A>)
                .post(decide::<B, A>)
                .fallback(wrong_method),
        )
        .route("/approvals", any(unknown))
        .route("/approvals/", any(unknown))
        .route("/approvals/{id}/{*rest}", any(unknown))
        .layer(axum::middleware::map_response(secure))
        .with_state(pages)
}

/// Pages carry a signed link: keep it out of referrers, caches and frames. Set on every
/// answer under `/approvals/`, whichever code made it.
async fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    r
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

async fn unknown() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Unknown approval",
        "There is no approval request with this link.",
    )
}

async fn wrong_method() -> Response {
    let mut r = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "Open the link in a browser",
        "An approval link is opened, and decided on from its page.",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    r
}

fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    html(status, notice(title, message, false))
}

/// What stands between a request and a decision page, as a response to give instead.
async fn checked<B: Backend, A: ApprovalStore>(
    p: &ApprovalPages<B, A>,
    id: &str,
    q: &LinkQuery,
) -> Result<(ApprovalRecord, ExecutionRecord), Response> {
    match p.links.check(id, q.exp, q.sig.as_deref(), p.backend.now()) {
        Ok(()) => {}
        Err(LinkProblem::Forged) => {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "This link is not valid",
                "The approval link was altered or copied incompletely. Open the link from the original message.",
            ))
        }
        Err(LinkProblem::Expired) => {
            return Err(problem(
                StatusCode::GONE,
                "This link has expired",
                "The time to decide on this request is over; the workflow has moved on without your decision.",
            ))
        }
    }
    let record = match p.store.get_approval(id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(problem(
                StatusCode::NOT_FOUND,
                "Unknown approval",
                "There is no approval request with this link.",
            ))
        }
        Err(e) => {
            tracing::error!(approval = ?id, error = ?e.to_string(), "approval not read");
            return Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "The approval could not be read just now.",
            ));
        }
    };
    if record.status != ApprovalStatus::Pending {
        let verdict = if record.status == ApprovalStatus::Approved {
            "approved"
        } else {
            "rejected"
        };
        let by = record
            .approver
            .as_deref()
            .map(|a| format!(" by {a}"))
            .unwrap_or_default();
        let when = record
            .decided_at
            .map(|t| format!(" on {}", format_millis(t)))
            .unwrap_or_default();
        return Err(problem(
            StatusCode::CONFLICT,
            "Already decided",
            &format!("This request was already {verdict}{by}{when}. A link can be used once."),
        ));
    }
    let execution = match p.backend.execution(&record.task.execution_arn).await {
        Ok(Some(e)) => e,
        _ => return Err(ended("the execution no longer exists")),
    };
    let waiting = !execution.status.is_terminal()
        && execution
            .frames
            .get(&record.task.frame)
            .is_some_and(|f| f.seq == record.task.seq && matches!(f.phase, Phase::Task(_)));
    if !waiting {
        let why = if execution.status.is_terminal() {
            format!("the execution has ended ({})", execution.status.as_str())
        } else {
            "the step that asked has finished".to_string()
        };
        return Err(ended(&why));
    }
    Ok((record, execution))
}

fn ended(why: &str) -> Response {
    problem(
        StatusCode::GONE,
        "Nothing left to decide",
        &format!("The workflow no longer waits for this decision: {why}."),
    )
}

async fn show<B: Backend, A: ApprovalStore>(
    State(p): State<Arc<ApprovalPages<B, A>>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Ok(Path(id)) = path else {
        return unknown().await;
    };
    let q = LinkQuery::parse(raw.as_deref());
    let (record, execution) = match checked(&p, &id, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let input = execution
        .frames
        .get(&record.task.frame)
        .map(|f| f.input.clone())
        .unwrap_or(Value::Null);
    let requested = execution
        .frames
        .get(&record.task.frame)
        .map(|f| format_millis(f.entered_time))
        .unwrap_or_default();
    // Relative to the page (`…/approvals/{id}`), so that the form posts back through
    // whatever prefix the page was reached by: an API stage, a custom domain's base path.
    let action = format!(
        "{id}?exp={}&sig={}",
        q.exp.unwrap_or_default(),
        q.sig.as_deref().unwrap_or_default()
    );
    let form_token = p.links.form_token(&id);
    html(
        StatusCode::OK,
        review(&Review {
            state_machine: &execution.state_machine_name,
            execution: &execution.name,
            state: &record.state,
            requested: &requested,
            expires: &format_millis(record.expires),
            input: &input,
            action: &action,
            form_token: &form_token,
            preselect: q
                .action
                .as_deref()
                .filter(|a| *a == "approve" || *a == "reject"),
        }),
    )
}

fn clip(s: Option<String>, max: usize) -> Option<String> {
    s.map(|v| v.trim().chars().take(max).collect::<String>())
        .filter(|v| !v.is_empty())
}

/// The decision form, as the page posts it.
async fn read_form(headers: &HeaderMap, body: Body) -> Result<DecisionForm, Response> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Decide from the approval page",
            "This decision did not come from the approval page. Open the link and use its buttons.",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    match crate::body::read(body, declared, MAX_FORM_BYTES).await {
        Ok(bytes) => Ok(DecisionForm::parse(&bytes)),
        Err(BodyError::TooLarge) => Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too much to send",
            "The decision is larger than the approval page sends. Keep the comment short.",
        )),
        Err(BodyError::TimedOut) => Err(problem(
            StatusCode::REQUEST_TIMEOUT,
            "Try again",
            "The decision did not arrive in time.",
        )),
        Err(BodyError::Failed(_)) => Err(problem(
            StatusCode::BAD_REQUEST,
            "Try again",
            "The decision did not arrive whole.",
        )),
    }
}

async fn decide<B: Backend, A: ApprovalStore>(
    State(p): State<Arc<ApprovalPages<B, A>>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path(id)) = path else {
        return unknown().await;
    };
    let q = LinkQuery::parse(raw.as_deref());
    let (record, _) = match checked(&p, &id, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = match read_form(&headers, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !f
        .form
        .as_deref()
        .is_some_and(|t| p.links.check_form_token(&id, t))
    {
        return problem(
            StatusCode::FORBIDDEN,
            "Decide from the approval page",
            "This decision did not come from the approval page. Open the link and use its buttons.",
        );
    }
    let approved = match f.decision.as_deref() {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "No decision",
                "Choose Approve or Reject.",
            )
        }
    };
    let decision = Decision {
        approved,
        approver: clip(f.approver, 200),
        comment: clip(f.comment, 2000),
        at: p.backend.now(),
    };
    match p.store.decide_approval(&id, &decision).await {
        Ok(true) => {}
        Ok(false) => {
            return problem(
                StatusCode::CONFLICT,
                "Already decided",
                "Someone decided on this request first.",
            )
        }
        Err(e) => {
            tracing::error!(approval = ?id, error = ?e.to_string(), "decision not recorded");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "The decision could not be recorded.",
            );
        }
    }
    let answer = if approved || p.reject == RejectMode::Output {
        TaskAnswer::Success(json!({
            "approved": approved,
            "comment": decision.comment,
            "approver": decision.approver,
        }))
    } else {
        TaskAnswer::Failure(waymark_asl::Failure::new(
            "Approval.Rejected",
            decision
                .comment
                .clone()
                .unwrap_or_else(|| "Rejected".into()),
        ))
    };
    match p.backend.answer_task_ref(record.task.clone(), answer).await {
        Ok(()) => {
            tracing::info!(approval = ?id, execution = ?record.task.execution_arn, approved, "approval decided");
            let (title, message) = if approved {
                (
                    "Approved",
                    "Thank you. The workflow goes on with your approval.",
                )
            } else {
                (
                    "Rejected",
                    "Thank you. The workflow has been told of your rejection.",
                )
            };
            html(StatusCode::OK, notice(title, message, true))
        }
        Err(EngineError::TaskTimedOut) | Err(EngineError::TaskDoesNotExist) => {
            ended("the step that asked has finished")
        }
        Err(e) => {
            tracing::error!(approval = ?id, error = ?e.to_string(), "answer not delivered");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "The workflow could not be told just now.",
            )
        }
    }
}
