//! The API function's service: the Step Functions JSON API (`waymark_api`) at `POST /`, the
//! same as `waymark serve`, and plain REST conveniences over the same operations:
//!
//! - `POST /state-machines/{name}/executions` — the body is the input (`?name=` names the
//!   execution): StartExecution;
//! - `GET /executions/{id}` — DescribeExecution, `{id}` being the execution ARN or
//!   `<state machine>:<execution name>`;
//! - `GET /executions/{id}/history` — GetExecutionHistory (`?maxResults=`, `?nextToken=`,
//!   `?reverseOrder=true`);
//! - `GET` and `POST /approvals/{id}` — the human-approval pages (`waymark_api::approvals`),
//!   when approvals are on ([`crate::approvals`]).
//!
//! Steps the API takes (starting, answering a task, stopping, redriving) are not redelivered
//! by any queue if the function dies between a commit and its effects: the engine queues a
//! delayed settle message before each ([`crate::scheduler::SqsScheduler`]'s `settle_later`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use waymark_api::approvals::{approval_router, ApprovalPages};
use waymark_api::{ApiResponse, Backend, CONTENT_TYPE};
use waymark_engine::history::HistoryEvent;
use waymark_engine::ports::{
    ExecutionFilter, ExecutionStore, Page, StateMachine, StateMachineStore, StateMachineSummary,
    StoreError, TagStore,
};
use waymark_engine::record::ExecutionRecord;
use waymark_engine::runner::{Config, EngineError, TaskAnswer};

use crate::home::Home;

/// The engine as the API sees it.
pub struct AwsBackend {
    home: Arc<Home>,
    activity_poll: std::time::Duration,
}

/// GetActivityTask's wait on AWS: API Gateway's HTTP APIs end a request at 30 s, so the API
/// function waits less than AWS's 60 s (20 s unless `WAYMARK_ACTIVITY_POLL_SECONDS` says
/// otherwise, at most 25) and answers `{}`; workers, like the SDKs' activity pollers, ask again.
const DEFAULT_ACTIVITY_POLL: u64 = 20;
const MAX_ACTIVITY_POLL: u64 = 25;

impl AwsBackend {
    pub fn new(home: Arc<Home>) -> Self {
        let secs = std::env::var("WAYMARK_ACTIVITY_POLL_SECONDS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(DEFAULT_ACTIVITY_POLL)
            .min(MAX_ACTIVITY_POLL);
        AwsBackend {
            home,
            activity_poll: std::time::Duration::from_secs(secs),
        }
    }
}

type R<T> = Result<T, StoreError>;

impl Backend for AwsBackend {
    type Versions = crate::store::DynamoStore;
    type Activities = crate::store::DynamoStore;

    fn activity_store(&self) -> &crate::store::DynamoStore {
        &self.home.store
    }

    fn activity_poll(&self) -> std::time::Duration {
        self.activity_poll
    }

    fn deliver(
        &self,
        arn: &str,
        signal: waymark_engine::step::Signal,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.home.engine.deliver(arn, signal)
    }

    fn take_activity_task(
        &self,
        activity_arn: &str,
        worker: Option<&str>,
    ) -> impl Future<Output = Result<Option<waymark_engine::activity::ActivityTask>, EngineError>> + Send
    {
        self.home.engine.take_activity_task(activity_arn, worker)
    }

    fn version_store(&self) -> &crate::store::DynamoStore {
        &self.home.store
    }

    fn config(&self) -> &Config {
        &self.home.engine.config
    }

    fn now(&self) -> DateTime<Utc> {
        self.home.engine.now()
    }

    fn create_state_machine(&self, sm: &StateMachine) -> impl Future<Output = R<()>> + Send {
        self.home.store.create_state_machine(sm)
    }

    fn state_machine(&self, arn: &str) -> impl Future<Output = R<Option<StateMachine>>> + Send {
        self.home.store.get_state_machine(arn)
    }

    fn state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> impl Future<Output = R<Option<StateMachine>>> + Send {
        self.home.store.get_state_machine_revision(arn, revision)
    }

    fn update_state_machine(&self, sm: &StateMachine) -> impl Future<Output = R<()>> + Send {
        self.home.store.update_state_machine(sm)
    }

    fn delete_state_machine(&self, arn: &str) -> impl Future<Output = R<()>> + Send {
        self.home.store.delete_state_machine(arn)
    }

    fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = R<Page<StateMachineSummary>>> + Send {
        self.home.store.list_state_machines(max, next_token)
    }

    fn start_execution(
        &self,
        sm: &StateMachine,
        name: Option<&str>,
        input: Value,
        test_case: Option<&str>,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        self.home
            .engine
            .start_execution_with(sm, name, input, test_case)
    }

    fn execution(&self, arn: &str) -> impl Future<Output = R<Option<ExecutionRecord>>> + Send {
        self.home.store.load(arn)
    }

    fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        self.home.engine.stop(arn, error, cause)
    }

    fn redrive_execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        self.home.engine.redrive(arn)
    }

    fn answer_task(
        &self,
        token: &str,
        answer: TaskAnswer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.home.engine.answer_task(token, answer)
    }

    fn answer_task_ref(
        &self,
        task: waymark_engine::ports::TaskRef,
        answer: TaskAnswer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.home.engine.answer_task_ref(task, None, answer)
    }

    fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = R<Page<HistoryEvent>>> + Send {
        self.home.store.history_page(arn, reverse, max, next_token)
    }

    fn map_child(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = R<Option<waymark_engine::map_children::ChildExecution>>> + Send {
        waymark_engine::ports::MapChildStore::map_child(&self.home.store, execution_arn)
    }

    fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<waymark_engine::record::Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = R<Page<waymark_engine::map_children::ChildExecution>>> + Send {
        waymark_engine::ports::MapChildStore::map_children(
            &self.home.store,
            map_run_arn,
            status,
            max,
            next_token,
        )
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = R<Page<ExecutionRecord>>> + Send {
        self.home.store.list_executions(filter, max, next_token)
    }

    fn tags(&self, arn: &str) -> impl Future<Output = R<Vec<(String, String)>>> + Send {
        self.home.store.tags(arn)
    }

    fn tag(&self, arn: &str, tags: &[(String, String)]) -> impl Future<Output = R<()>> + Send {
        self.home.store.tag(arn, tags)
    }

    fn untag(&self, arn: &str, keys: &[String]) -> impl Future<Output = R<()>> + Send {
        self.home.store.untag(arn, keys)
    }

    fn test_state(
        &self,
        req: waymark_engine::test_state::TestStateRequest,
    ) -> impl Future<Output = Result<waymark_engine::test_state::TestStateOutcome, EngineError>> + Send
    {
        self.home.engine.test_state(req)
    }

    fn check_task(&self, what: &waymark_engine::ports::TaskCheck<'_>) -> Result<(), String> {
        use waymark_engine::ports::Tasks;
        self.home.engine.tasks.check(what)
    }

    fn wait_until_ended(
        &self,
        arn: &str,
        limit: Duration,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        waymark_api::poll_until_ended(self, arn, limit)
    }
}

/// The API function's routes.
pub fn router(home: Arc<Home>) -> Router {
    let approvals = home.approvals.clone();
    let backend = Arc::new(AwsBackend::new(home.clone()));
    let rest = Router::new()
        .route("/state-machines/{name}/executions", post(start))
        .route("/executions/{id}", get(describe))
        .route("/executions/{id}/history", get(history))
        .with_state(backend.clone());
    // Human-approval pages, `GET` and `POST /approvals/{id}` (template.yaml routes them here
    // without IAM auth: the links are signed).
    let pages = match &approvals {
        Some(a) => approval_router(Arc::new(ApprovalPages {
            backend: backend.clone(),
            store: home.store.clone(),
            links: a.links(),
            reject: a.reject,
        })),
        None => Router::new().route("/approvals/{id}", any(approvals_off)),
    };
    let app = rest.merge(pages).merge(waymark_api::router(backend));
    match approvals {
        // Links made here take the host API Gateway was called on.
        Some(a) if !a.has_public_url() => app.layer(axum::middleware::map_request(
            move |request: axum::extract::Request| {
                let a = a.clone();
                async move {
                    if let Some(host) = request
                        .headers()
                        .get(header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .or_else(|| request.uri().host())
                    {
                        a.learn_host(host);
                    }
                    request
                }
            },
        )),
        _ => app,
    }
}

async fn approvals_off() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Human approval is not enabled on this deployment (WAYMARK_APPROVAL_KEY is not set).\n",
    )
        .into_response()
}

/// An operation's answer as an HTTP response, with AWS's content type and error header.
fn respond(r: ApiResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, r.body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(t) = r.error_type {
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    response
}

async fn call(backend: &AwsBackend, operation: &str, request: Value) -> Response {
    let target = format!("{}{operation}", waymark_api::TARGET_PREFIX);
    respond(waymark_api::handle(backend, &target, request.to_string().as_bytes()).await)
}

/// `{id}`: an execution ARN, or `<state machine>:<execution name>` of this home.
fn execution_arn(backend: &AwsBackend, id: &str) -> String {
    if id.starts_with("arn:") {
        return id.to_string();
    }
    let c = backend.config();
    format!("arn:aws:states:{}:{}:execution:{id}", c.region, c.account)
}

#[derive(serde::Deserialize)]
struct StartQuery {
    name: Option<String>,
}

async fn start(
    State(backend): State<Arc<AwsBackend>>,
    Path(name): Path<String>,
    Query(q): Query<StartQuery>,
    body: Bytes,
) -> Response {
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        "{}".to_string()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let mut request = json!({
        "stateMachineArn": backend.config().state_machine_arn(&name),
        "input": input,
    });
    if let Some(n) = q.name {
        request["name"] = Value::String(n);
    }
    call(&backend, "StartExecution", request).await
}

async fn describe(State(backend): State<Arc<AwsBackend>>, Path(id): Path<String>) -> Response {
    let arn = execution_arn(&backend, &id);
    call(
        &backend,
        "DescribeExecution",
        json!({ "executionArn": arn }),
    )
    .await
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryQuery {
    max_results: Option<u32>,
    next_token: Option<String>,
    reverse_order: Option<bool>,
}

async fn history(
    State(backend): State<Arc<AwsBackend>>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let mut request = json!({ "executionArn": execution_arn(&backend, &id) });
    if let Some(m) = q.max_results {
        request["maxResults"] = json!(m);
    }
    if let Some(t) = q.next_token {
        request["nextToken"] = json!(t);
    }
    if let Some(r) = q.reverse_order {
        request["reverseOrder"] = json!(r);
    }
    call(&backend, "GetExecutionHistory", request).await
}
