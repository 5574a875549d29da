//! Human approval pages end to end over the in-memory engine: link → GET page (nothing
//! changes) → POST approve → the execution goes on; reject; second use; expired; tampered
//! signature; unknown id; ended execution; a POST not from the page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tower::ServiceExt;
use waymark_api::approvals::*;
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_engine::memory::{
    MemoryScheduler, MemoryStore, NullNotifier, RandomIds, ScaledClock, Work,
};
use waymark_engine::ports::{Scheduler, StateMachine, StoreError, TaskOutcome, TaskRef, Tasks};
use waymark_engine::record::Status;
use waymark_engine::runner::{Config, Engine};
use waymark_engine::step::TaskRequest;

#[derive(Default, Clone)]
struct Approvals(Arc<Mutex<HashMap<String, ApprovalRecord>>>);

impl ApprovalStore for Approvals {
    async fn put_approval(&self, rec: &ApprovalRecord) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .entry(rec.id.clone())
            .or_insert_with(|| rec.clone());
        Ok(())
    }
    async fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        Ok(self.0.lock().unwrap().get(id).cloned())
    }
    async fn decide_approval(&self, id: &str, d: &Decision) -> Result<bool, StoreError> {
        let mut all = self.0.lock().unwrap();
        match all.get_mut(id) {
            Some(r) if r.status == ApprovalStatus::Pending => {
                r.status = if d.approved {
                    ApprovalStatus::Approved
                } else {
                    ApprovalStatus::Rejected
                };
                r.decided_at = Some(d.at);
                r.approver = d.approver.clone();
                r.comment = d.comment.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// What a home does when it sends the approval request: record it, keep the message.
struct Home {
    approvals: Approvals,
    messages: Mutex<Vec<Value>>,
    tokens: Mutex<Vec<String>>,
}

impl Tasks for Home {
    async fn invoke(&self, arn: &str, req: &TaskRequest) -> TaskOutcome {
        if let Some(a) = &req.approval {
            let rec = ApprovalRecord {
                id: a.id.clone(),
                task: TaskRef {
                    execution_arn: arn.into(),
                    frame: req.frame.clone(),
                    seq: req.seq,
                },
                state: req.state.clone(),
                expires: a.expires,
                status: ApprovalStatus::Pending,
                decided_at: None,
                approver: None,
                comment: None,
            };
            self.approvals.put_approval(&rec).await.unwrap();
        }
        self.messages.lock().unwrap().push(req.parameters.clone());
        self.tokens.lock().unwrap().push(req.token.clone());
        TaskOutcome::Pending
    }
}

type TestEngine = Engine<MemoryStore, MemoryScheduler, Home, NullNotifier, ScaledClock, RandomIds>;

struct Setup {
    engine: Arc<TestEngine>,
    app: axum::Router,
    links: Links,
}

fn setup(reject: RejectMode) -> Setup {
    setup_at(reject, Utc::now())
}

/// With the engine's clock starting at `start` (a virtual clock, as `--wait-scale` makes).
fn setup_at(reject: RejectMode, start: chrono::DateTime<Utc>) -> Setup {
    let links = Links::new(ApprovalKey::random(), "http://approvals.test");
    let approvals = Approvals::default();
    let maker = links.clone();
    let engine = Arc::new(Engine {
        store: MemoryStore::default(),
        scheduler: MemoryScheduler::default(),
        tasks: Home {
            approvals: approvals.clone(),
            messages: Mutex::default(),
            tokens: Mutex::default(),
        },
        notifier: NullNotifier,
        clock: ScaledClock::new(start, 0.0),
        ids: RandomIds,
        config: Config::default(),
        approvals: Some(Box::new(move |t, e| maker.make(t, e))),
    });
    let pages = Arc::new(ApprovalPages {
        backend: engine.clone(),
        store: approvals,
        links: links.clone(),
        reject,
    });
    Setup {
        engine,
        app: approval_router(pages),
        links,
    }
}

const MACHINE: &str = r#"{"StartAt": "Ask", "States": {
  "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken", "TimeoutSeconds": 3600,
          "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:approvals",
                         "Message.$": "States.Format('Please review: {}', $$.Task.Approval.Url)"},
          "ResultPath": "$.decision", "End": true}}}"#;

impl Setup {
    /// Starts an execution and returns it with the link its message carried.
    async fn start(&self, input: Value) -> (String, String) {
        let def: Value = serde_json::from_str(MACHINE).unwrap();
        let parsed = parse_value(&def, &ParseOptions::default()).unwrap();
        let sm = StateMachine::new(
            self.engine.config.state_machine_arn("Expenses"),
            "Expenses".into(),
            MACHINE.into(),
            Arc::new(parsed.definition),
            MachineType::Standard,
            self.engine.config.role_arn.clone(),
            Utc::now(),
        );
        self.engine.store.put_state_machine(sm.clone());
        let rec = self.engine.start_execution(&sm, None, input).await.unwrap();
        // Run the task the start dispatched (timers stay queued).
        while let Some((at, arn, work)) = self.engine.scheduler.pop() {
            match work {
                Work::Task(req) => self.engine.run_task(&arn, &req).await.unwrap(),
                Work::Signal(signal) => {
                    self.engine
                        .scheduler
                        .schedule(&arn, at, signal)
                        .await
                        .unwrap();
                    break;
                }
            }
        }
        let msg = self
            .engine
            .tasks
            .messages
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        let text = msg["Message"].as_str().unwrap();
        let url = text.strip_prefix("Please review: ").unwrap().to_string();
        (rec.execution_arn, url)
    }

    async fn get(&self, url: &str) -> (StatusCode, String) {
        let path = url.strip_prefix("http://approvals.test").unwrap();
        let r = self
            .app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn post(&self, url: &str, form: &str) -> (StatusCode, String) {
        let path = url.strip_prefix("http://approvals.test").unwrap();
        let req = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap();
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn form(&self, url: &str, decision: &str) -> String {
        let id = approval_id(url);
        format!(
            "decision={decision}&approver=Ada&comment=fine+by+me&form={}",
            self.links.form_token(id)
        )
    }

    async fn status(&self, arn: &str) -> (Status, Option<Value>) {
        let r = self.engine.describe(arn).await.unwrap();
        (r.status, r.output)
    }
}

/// The approval id in a link `…/approvals/{id}?…`.
fn approval_id(url: &str) -> &str {
    let path = url.split("/approvals/").nth(1).expect("an approval link");
    path.split('?').next().unwrap_or(path)
}

#[tokio::test]
async fn get_shows_post_decides_and_the_execution_goes_on() {
    let s = setup(RejectMode::Output);
    let (arn, url) = s
        .start(json!({"amount": 1200, "reason": "conference <travel>"}))
        .await;
    let token = s
        .engine
        .tasks
        .tokens
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert!(!url.contains(&token));
    assert!(matches!(
        &s.engine.describe(&arn).await.unwrap().frames[""].phase,
        waymark_engine::record::Phase::Task(t) if t.token_hash != token
    ));

    let (code, page) = s.get(&url).await;
    assert_eq!(code, StatusCode::OK, "{page}");
    assert!(page.contains("Approval requested") && page.contains("conference &lt;travel&gt;"));
    // The form posts back to the link's own path, under whatever prefix it was served.
    let id = approval_id(&url);
    assert!(page.contains(&format!("action=\"{id}?exp=")), "{page}");
    // Looking changes nothing.
    s.get(&url).await;
    assert_eq!(s.status(&arn).await.0, Status::Running);

    let (code, page) = s.post(&url, &s.form(&url, "approve")).await;
    assert_eq!(code, StatusCode::OK, "{page}");
    assert!(page.contains("Approved"));
    let (status, output) = s.status(&arn).await;
    assert_eq!(status, Status::Succeeded);
    assert_eq!(
        output.unwrap()["decision"],
        json!({"approved": true, "comment": "fine by me", "approver": "Ada"})
    );

    // Used once.
    let (code, page) = s.post(&url, &s.form(&url, "reject")).await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(page.contains("already approved by Ada"), "{page}");
    assert_eq!(s.get(&url).await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn reject_as_output_or_as_failure() {
    let s = setup(RejectMode::Output);
    let (arn, url) = s.start(json!({"amount": 5})).await;
    assert_eq!(
        s.post(&url, &s.form(&url, "reject")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.status(&arn).await.1.unwrap()["decision"]["approved"],
        json!(false)
    );

    let s = setup(RejectMode::Fail);
    let (arn, url) = s.start(json!({"amount": 5})).await;
    assert_eq!(
        s.post(&url, &s.form(&url, "reject")).await.0,
        StatusCode::OK
    );
    let r = s.engine.describe(&arn).await.unwrap();
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        r.failure.unwrap().error.as_deref(),
        Some("Approval.Rejected")
    );
}

#[tokio::test]
async fn bad_links_get_clear_pages_and_change_nothing() {
    let s = setup(RejectMode::Output);
    let (arn, url) = s.start(json!({})).await;

    let tampered = url.replace("sig=", "sig=00");
    let (code, page) = s.get(&tampered).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(page.contains("This link is not valid"));
    assert_eq!(
        s.post(&tampered, &s.form(&url, "approve")).await.0,
        StatusCode::FORBIDDEN
    );

    // A valid signature for an approval that does not exist.
    let stranger = s
        .links
        .make("a token nobody issued", Utc::now() + Duration::hours(1));
    let (code, page) = s.get(stranger.links["Url"].as_str().unwrap()).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(page.contains("Unknown approval"));

    let expired = s.links.make("another", Utc::now() - Duration::seconds(1));
    let (code, page) = s.get(expired.links["Url"].as_str().unwrap()).await;
    assert_eq!(code, StatusCode::GONE);
    assert!(page.contains("expired"));

    // A POST that did not come from the page.
    let (code, _) = s.post(&url, "decision=approve").await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = s.post(&url, &s.form(&url, "maybe")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(s.status(&arn).await.0, Status::Running);

    // The execution ends otherwise: the link has nothing left to decide.
    s.engine
        .stop(&arn, Some("Operator".into()), None)
        .await
        .unwrap();
    let (code, page) = s.get(&url).await;
    assert_eq!(code, StatusCode::GONE);
    assert!(
        page.contains("no longer waits") && page.contains("ABORTED"),
        "{page}"
    );
    assert_eq!(
        s.post(&url, &s.form(&url, "approve")).await.0,
        StatusCode::GONE
    );
}

/// What every answer under `/approvals/` must be: an HTML page with the security headers.
fn assert_is_page(r: &axum::http::Response<Body>, probe: &str) {
    let h = r.headers();
    assert_eq!(
        h.get("content-type").map(|v| v.to_str().unwrap()),
        Some("text/html; charset=utf-8"),
        "{probe}: {h:?}"
    );
    assert!(
        h.get("content-security-policy")
            .is_some_and(|v| v.to_str().unwrap().contains("default-src 'none'")),
        "{probe}: {h:?}"
    );
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(
            h.get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{probe}: {name}"
        );
    }
}

/// The probes that used to get axum's plain-text rejections: each gets a page instead, with
/// the page's headers, and none decides anything.
#[tokio::test]
async fn hostile_requests_get_pages_with_security_headers() {
    let s = setup(RejectMode::Output);
    let (arn, url) = s.start(json!({"amount": 7})).await;
    let path = url
        .strip_prefix("http://approvals.test")
        .unwrap()
        .to_string();
    let id = approval_id(&url).to_string();
    let form = s.form(&url, "approve");
    let plain = format!("/approvals/{id}");
    let big = "a".repeat(3 * 1024 * 1024);
    let probes: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "exp is not a number",
            Request::get(format!("{plain}?exp=abc&sig=00"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            "exp overflows",
            Request::get(format!("{plain}?exp=99999999999999999999999&sig=00"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            "exp given twice",
            Request::get(format!("{path}&exp=1"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            "decision given twice",
            Request::post(&path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("{form}&decision=reject")))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a JSON body",
            Request::post(&path)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"decision": "approve"}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a body over 2 MB",
            Request::post(&path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("{form}&comment={big}")))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "an id that is not UTF-8",
            Request::get("/approvals/%FF%FE?exp=1&sig=00")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "a method the page does not use",
            Request::put(&path).body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "no id",
            Request::get("/approvals/").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "a path below an id",
            Request::get(format!("{plain}/x/y"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (probe, req, expected) in probes {
        let r = s.app.clone().oneshot(req).await.unwrap();
        assert_eq!(r.status(), expected, "{probe}");
        assert_is_page(&r, probe);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("<html"), "{probe}: {text}");
    }
    assert_eq!(
        s.status(&arn).await.0,
        Status::Running,
        "nothing was decided"
    );
    // The page itself still works after all that.
    let (code, _) = s.post(&url, &form).await;
    assert_eq!(code, StatusCode::OK);
}

/// What a failing store says cannot forge log lines: it is logged as an escaped field.
#[tokio::test]
async fn newlines_in_an_approval_id_stay_inside_their_log_line() {
    use std::io::Write;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A store that cannot be read: the route logs the id it was asked for.
    struct Broken;
    impl ApprovalStore for Broken {
        async fn put_approval(&self, _: &ApprovalRecord) -> Result<(), StoreError> {
            Ok(())
        }
        async fn get_approval(&self, _: &str) -> Result<Option<ApprovalRecord>, StoreError> {
            Err(StoreError::permanent("disk", "FORGED\nFORGED by the store"))
        }
        async fn decide_approval(&self, _: &str, _: &Decision) -> Result<bool, StoreError> {
            Ok(false)
        }
    }

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = setup(RejectMode::Output);
    let links = s.links.clone();
    let pages = Arc::new(ApprovalPages {
        backend: s.engine.clone(),
        store: Broken,
        links: links.clone(),
        reject: RejectMode::Output,
    });
    let app = approval_router(pages);
    // A real link, so that the request gets as far as reading the store.
    let url = signed_url(&links);
    let r = app
        .clone()
        .oneshot(Request::get(url).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("approval not read"), "{log}");
    for line in log.lines() {
        assert!(!line.starts_with("FORGED"), "a forged line: {log}");
    }
}

/// The path of a valid signed link.
fn signed_url(links: &Links) -> String {
    let a = links.make("token-behind-the-id", Utc::now() + Duration::hours(1));
    let url = a.links["Url"].as_str().unwrap().to_string();
    url.strip_prefix("http://approvals.test")
        .unwrap()
        .to_string()
}

/// Links are made and checked on the engine's clock, whatever the wall clock says: under a
/// virtual clock a week behind, a link valid for an hour is valid, and the decision is dated
/// on the engine's clock.
#[tokio::test]
async fn links_are_checked_on_the_engines_clock() {
    let start = Utc::now() - Duration::days(7);
    let s = setup_at(RejectMode::Output, start);
    let (arn, url) = s.start(json!({"amount": 3})).await;
    let (code, page) = s.get(&url).await;
    assert_eq!(code, StatusCode::OK, "{page}");
    let (code, page) = s.post(&url, &s.form(&url, "approve")).await;
    assert_eq!(code, StatusCode::OK, "{page}");
    assert_eq!(s.status(&arn).await.0, Status::Succeeded);
    let id = approval_id(&url);
    let decided = s
        .engine
        .tasks
        .approvals
        .get_approval(id)
        .await
        .unwrap()
        .unwrap();
    let at = decided.decided_at.unwrap();
    assert!(
        at < start + Duration::hours(1),
        "dated {at} on the engine's clock"
    );
}
