//! The Task integrations that call AWS (or an AWS-compatible server): Lambda, SNS, SQS and
//! DynamoDB through AWS's SDK clients; EventBridge, Athena, Glue and every `aws-sdk:` action
//! through the model-driven caller; each in the patterns Step Functions supports for it.
//! Whatever else a Resource names (nested executions, activities, mocks, integrations not built
//! here) goes to a fallback, so that each home composes the integrations it has around these.

use std::time::Duration;

use serde_json::Value;

use waymark_asl::error::names;
use waymark_asl::Failure;
use waymark_engine::ports::{TaskCheck, TaskOutcome, Tasks};
use waymark_engine::step::TaskRequest;

use crate::config::{Clients, TaskConfig};
use crate::item_reader::ObjectItems;
use crate::resource::{Pattern, Resource};
use crate::{dynamodb, events, item_reader, jobs, lambda, sns, sqs};

/// An optimised integration that is one API call as the service defines it, sent through the
/// model-driven caller (developer guide, "Integrating services"). Those that start a job also
/// have the Run a Job (.sync) pattern ([`jobs::KINDS`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Optimised {
    /// The service as the Resource names it (`arn:aws:states:::SERVICE:action`).
    pub service: &'static str,
    /// The model-driven caller's name for it.
    pub sdk: &'static str,
    pub actions: &'static [&'static str],
    /// The patterns besides Run a Job.
    pub patterns: &'static [Pattern],
    pub call: OptimisedCall,
}

/// How an optimised integration makes its call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OptimisedCall {
    /// The action of the service's model, with the task's parameters as they are.
    Model,
    /// Bedrock Runtime's InvokeModel, the body sent and read as JSON ([`crate::bedrock`]).
    Bedrock,
    /// An HTTP call to the user's API, no service model ([`crate::apigateway`]).
    ApiGateway,
    /// The HTTP Task: a call to any HTTPS API through an EventBridge connection
    /// ([`crate::http_invoke`]).
    Http,
}

const OPTIMISED: &[Optimised] = &[
    Optimised {
        service: "athena",
        sdk: "athena",
        actions: &[
            "startQueryExecution",
            "stopQueryExecution",
            "getQueryExecution",
            "getQueryResults",
        ],
        patterns: &[Pattern::RequestResponse],
        call: OptimisedCall::Model,
    },
    Optimised {
        service: "glue",
        sdk: "glue",
        actions: &["startJobRun"],
        patterns: &[Pattern::RequestResponse],
        call: OptimisedCall::Model,
    },
    Optimised {
        service: "ecs",
        sdk: "ecs",
        actions: &["runTask"],
        patterns: &[Pattern::RequestResponse, Pattern::WaitForTaskToken],
        call: OptimisedCall::Model,
    },
    Optimised {
        service: "apigateway",
        sdk: "apigateway",
        actions: crate::apigateway::ACTIONS,
        patterns: &[Pattern::RequestResponse, Pattern::WaitForTaskToken],
        call: OptimisedCall::ApiGateway,
    },
    Optimised {
        service: "http",
        sdk: "eventbridge",
        actions: crate::http_invoke::ACTIONS,
        patterns: &[Pattern::RequestResponse],
        call: OptimisedCall::Http,
    },
    Optimised {
        service: "bedrock",
        sdk: "bedrockruntime",
        actions: crate::bedrock::ACTIONS,
        patterns: &[Pattern::RequestResponse],
        call: OptimisedCall::Bedrock,
    },
    Optimised {
        service: "batch",
        sdk: "batch",
        actions: &["submitJob"],
        patterns: &[Pattern::RequestResponse],
        call: OptimisedCall::Model,
    },
];

pub(crate) fn optimised(service: &str) -> Option<&'static Optimised> {
    OPTIMISED.iter().find(|o| o.service == service)
}

/// Step Functions' optimised integrations that Waymark does not run (developer guide,
/// "Integrating services"): refused when a definition is checked rather than failing at run time.
const NOT_BUILT: &[&str] = &[
    "bedrockagentcore",
    "codebuild",
    "databrew",
    "eks",
    "elasticmapreduce",
    "emr-containers",
    "emr-serverless",
    "mediaconvert",
    "sagemaker",
];

/// How a refusal of an integration not built here starts: a mock may still answer it.
pub const NOT_BUILT_PREFIX: &str = "Waymark does not run";

/// How much longer than the task's `TimeoutSeconds` a call may take before the SDK gives up.
/// The engine's own timer ends the task with `States.Timeout` at `TimeoutSeconds`; the SDK's
/// limit only makes sure a call that hangs does not hold on to its caller for ever.
const CALL_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// What runs a Resource.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    Invoke(Pattern),
    Function(&'a str),
    Publish(Pattern),
    SendMessage(Pattern),
    DynamoDb(&'a str),
    /// `events:putEvents`.
    PutEvents(Pattern),
    /// An optimised integration that is one API call as the service defines it (Athena's
    /// queries, Glue's job runs), sent through the model-driven caller.
    Plain {
        service: &'static Optimised,
        action: &'a str,
        pattern: Pattern,
    },
    /// The Run a Job (.sync) pattern of an optimised integration that starts a job.
    Job {
        service: &'static str,
        action: &'a str,
    },
    /// `aws-sdk:SERVICE:action`: any action of the services `waymark-sdk` has models of.
    Sdk {
        service: &'a str,
        action: &'a str,
        pattern: Pattern,
    },
    /// A Resource of a service built here that Step Functions would not run either.
    Refused(String),
    Fallback,
}

fn route(resource: &str) -> Route<'_> {
    use Pattern::{RequestResponse, WaitForTaskToken};
    let (service, action, pattern) = match Resource::parse(resource) {
        Resource::LambdaFunction { arn } => return Route::Function(arn),
        Resource::Integration {
            service,
            action,
            pattern,
        } => (service, action, pattern),
        _ => return Route::Fallback,
    };
    if service == "aws-sdk" {
        let Some((sdk_service, sdk_action)) = action.split_once(':') else {
            return Route::Refused(format!(
                "The resource '{resource}' does not name an action: AWS SDK integrations are arn:aws:states:::aws-sdk:SERVICE:action"
            ));
        };
        // Step Functions runs SDK integrations as Request Response or Wait for Callback.
        if !matches!(pattern, RequestResponse | WaitForTaskToken) {
            return Route::Refused(format!(
                "The resource '{resource}' is not supported: AWS SDK integrations support the {} and {} patterns, not {pattern}",
                RequestResponse, WaitForTaskToken
            ));
        }
        if let Err(e) = waymark_sdk::check(sdk_service, sdk_action) {
            return Route::Refused(format!("The resource '{resource}' cannot be called: {e}"));
        }
        return Route::Sdk {
            service: sdk_service,
            action: sdk_action,
            pattern,
        };
    }
    if NOT_BUILT.contains(&service) {
        return Route::Refused(format!(
            "{NOT_BUILT_PREFIX} the optimised integration '{service}:{action}' yet (the resource '{resource}'); mock it in a test, or call the service through arn:aws:states:::aws-sdk:SERVICE:ACTION"
        ));
    }
    let (supported, all_actions): (&[Pattern], &[&str]) = match service {
        "lambda" => (&[RequestResponse, WaitForTaskToken], &["invoke"]),
        "sns" => (&[RequestResponse, WaitForTaskToken], &["publish"]),
        "sqs" => (&[RequestResponse, WaitForTaskToken], &["sendMessage"]),
        "dynamodb" => (&[RequestResponse], dynamodb::ACTIONS),
        "events" => (&[RequestResponse, WaitForTaskToken], events::ACTIONS),
        "s3" => {
            return Route::Refused(format!(
                "The resource '{resource}' is not a Task integration: Step Functions reads and writes Amazon S3 only in a distributed Map's ItemReader and ResultWriter; a Task calls arn:aws:states:::aws-sdk:s3:ACTION"
            ))
        }
        _ => match optimised(service) {
            Some(o) => (o.patterns, o.actions),
            None => return Route::Fallback,
        },
    };
    if !all_actions.contains(&action) {
        let known = format!("{service}:{action}");
        if waymark_asl::resource::INTEGRATIONS.contains(&known.as_str()) {
            // AWS has it (bedrock:createModelCustomizationJob, say); Waymark does not run it.
            return Route::Refused(format!(
                "{NOT_BUILT_PREFIX} the optimised integration '{known}' yet (the resource '{resource}'); mock it in a test, or call the service through arn:aws:states:::aws-sdk:SERVICE:ACTION"
            ));
        }
        return Route::Refused(format!(
            "The resource '{resource}' is not a Step Functions integration: the {service} integration has {}; other {service} actions are called through arn:aws:states:::aws-sdk:{service}:ACTION",
            all_actions
                .iter()
                .map(|a| format!("'{service}:{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if pattern == Pattern::Sync {
        if let Some(k) = jobs::kind(service, action) {
            return Route::Job {
                service: k.service,
                action,
            };
        }
    }
    if !supported.contains(&pattern) {
        return Route::Refused(format!(
            "The resource '{resource}' is not supported: '{service}:{action}' supports the {} pattern{}, not {pattern}",
            supported
                .iter()
                .map(Pattern::to_string)
                .collect::<Vec<_>>()
                .join(" and "),
            if supported.len() > 1 { "s" } else { "" },
        ));
    }
    match service {
        "lambda" => Route::Invoke(pattern),
        "sns" => Route::Publish(pattern),
        "sqs" => Route::SendMessage(pattern),
        "dynamodb" => Route::DynamoDb(action),
        "events" => Route::PutEvents(pattern),
        _ => match optimised(service) {
            Some(o) => Route::Plain {
                service: o,
                action,
                pattern,
            },
            None => Route::Fallback,
        },
    }
}

/// Whether [`AwsTasks`] runs `resource` itself (successfully or not) rather than its fallback.
pub fn handles(resource: &str) -> bool {
    route(resource) != Route::Fallback
}

/// Runs Lambda, SNS, SQS and DynamoDB Resources through the SDK; everything else goes to
/// `fallback`.
pub struct AwsTasks<F> {
    /// Built at the first call: reading the SDK's configuration and the system's root
    /// certificates takes milliseconds, most of a short `waymark run` that calls no service.
    clients: tokio::sync::OnceCell<Clients>,
    /// What the clients are built from, when they are built lazily.
    config: TaskConfig,
    fallback: F,
    /// HTTP Tasks' OAuth tokens, per connection, for as long as this process runs.
    oauth_tokens: crate::http_invoke::TokenCache,
    /// The most item text one ItemReader read gives ([`item_reader::MAX_READ_BYTES`]).
    read_window: usize,
}

impl<F> AwsTasks<F> {
    /// Clients for `config`, built when a task first needs one.
    pub fn new(config: &TaskConfig, fallback: F) -> Self {
        AwsTasks {
            clients: tokio::sync::OnceCell::new(),
            config: config.clone(),
            fallback,
            oauth_tokens: Default::default(),
            read_window: item_reader::MAX_READ_BYTES,
        }
    }

    /// ItemReaders give at most `bytes` of items a read (the first item always): tests read
    /// windows of a few items instead of 256 KiB.
    pub fn with_read_window(mut self, bytes: usize) -> Self {
        self.read_window = bytes;
        self
    }

    pub fn with_clients(clients: Clients, fallback: F) -> Self {
        AwsTasks {
            clients: tokio::sync::OnceCell::new_with(Some(clients)),
            config: TaskConfig::new(""),
            fallback,
            oauth_tokens: Default::default(),
            read_window: item_reader::MAX_READ_BYTES,
        }
    }

    pub async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| Clients::new(&self.config))
            .await
    }

    pub fn fallback(&self) -> &F {
        &self.fallback
    }

    async fn run(
        &self,
        route: Route<'_>,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> Result<Option<serde_json::Value>, Failure> {
        let timeout = req
            .timeout_seconds
            .map(|s| Duration::from_secs(s).saturating_add(CALL_TIMEOUT_MARGIN));
        let c = self.clients().await;
        let (result, pattern) = match route {
            Route::Invoke(pattern) => {
                check_credentials(req, c.custom_endpoints.lambda)?;
                (
                    lambda::invoke(&c.lambda, &req.parameters, timeout).await?,
                    pattern,
                )
            }
            Route::Function(arn) => {
                check_credentials(req, c.custom_endpoints.lambda)?;
                let out = lambda::invoke_function(&c.lambda, arn, &req.parameters, timeout).await?;
                (out, Pattern::RequestResponse)
            }
            Route::Publish(pattern) => {
                check_credentials(req, c.custom_endpoints.sns)?;
                (
                    sns::publish(&c.sns, &req.parameters, timeout).await?,
                    pattern,
                )
            }
            Route::SendMessage(pattern) => {
                check_credentials(req, c.custom_endpoints.sqs)?;
                (
                    sqs::send_message(&c.sqs, &req.parameters, timeout).await?,
                    pattern,
                )
            }
            Route::DynamoDb(action) => {
                check_credentials(req, c.custom_endpoints.dynamodb)?;
                let out = dynamodb::call(&c.dynamodb, action, &req.parameters, timeout).await?;
                (out, Pattern::RequestResponse)
            }
            Route::Sdk {
                service,
                action,
                pattern,
            } => {
                check_credentials(req, c.custom_endpoints.sdk)?;
                let params = req.parameters.clone();
                (
                    sdk_call(c, service, action, params, timeout).await?,
                    pattern,
                )
            }
            Route::PutEvents(pattern) => {
                check_credentials(req, c.custom_endpoints.sdk)?;
                let machine = match req.context.pointer("/StateMachine/Id") {
                    Some(Value::String(id)) => id.clone(),
                    _ => events::state_machine_of(execution_arn),
                };
                let params = events::request(&req.parameters, execution_arn, &machine)?;
                let out = sdk_call(c, "eventbridge", "putEvents", params, timeout).await?;
                (events::result(out)?, pattern)
            }
            Route::Plain {
                service,
                action,
                pattern,
            } => {
                check_credentials(req, c.custom_endpoints.sdk)?;
                let out = match service.call {
                    OptimisedCall::ApiGateway => self.invoke_api(req).await?,
                    OptimisedCall::Http => self.invoke_http(req).await?,
                    OptimisedCall::Bedrock => {
                        let params = crate::bedrock::request(&req.parameters)?;
                        crate::bedrock::result(
                            sdk_call(c, service.sdk, action, params, timeout).await?,
                        )?
                    }
                    OptimisedCall::Model => {
                        sdk_call(c, service.sdk, action, req.parameters.clone(), timeout).await?
                    }
                };
                if pattern != Pattern::RequestResponse {
                    jobs::check_started(service.service, &out)?;
                }
                (out, pattern)
            }
            Route::Refused(cause) => return Err(Failure::runtime(cause)),
            // `invoke` hands these to the fallback and to `run_job` before coming here.
            Route::Fallback | Route::Job { .. } => {
                return Err(Failure::runtime(format!(
                    "No integration runs the resource '{}'",
                    req.resource
                )))
            }
        };
        // After a successful send, a callback task waits for SendTaskSuccess/Failure.
        Ok((pattern != Pattern::WaitForTaskToken).then_some(result))
    }
}

/// A call an ItemReader made that failed, as the Map's `States.ItemReaderFailed`.
fn reader_failed(f: Failure) -> Failure {
    Failure::new(
        names::ITEM_READER_FAILED,
        format!(
            "{}: {}",
            f.error.unwrap_or_default(),
            f.cause.unwrap_or_default()
        ),
    )
}

/// Where an object's bytes go as they arrive: its parser, whose items are gathered. A `Write`
/// too, so that a gzip decoder can feed it.
struct Sink<'a> {
    parser: &'a mut ObjectItems,
    items: &'a mut Vec<Value>,
    /// Bytes to drop before parsing: what an earlier read used of a gzipped object, which
    /// cannot be unzipped from the middle.
    skip: u64,
    /// Why the last write failed (a `Write` error carries text only).
    failure: Option<Failure>,
}

impl Sink<'_> {
    fn take(&mut self, mut bytes: &[u8], last: bool) -> Result<(), Failure> {
        if self.skip > 0 {
            let n = self.skip.min(bytes.len() as u64);
            self.skip -= n;
            bytes = &bytes[n as usize..];
        }
        let read = self.parser.feed(bytes, last)?;
        self.items.extend(read);
        Ok(())
    }
}

impl std::io::Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.parser.done() {
            return Ok(buf.len()); // enough was read: the rest of the zip is not parsed
        }
        match self.take(buf, false) {
            Ok(()) => Ok(buf.len()),
            Err(f) => {
                let cause = f.cause.clone().unwrap_or_default();
                self.failure = Some(f);
                Err(std::io::Error::other(cause))
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An object's bytes as they arrive, unzipped first when the object is gzipped.
enum Target<'a> {
    Plain(Sink<'a>),
    Gzipped(Box<flate2::write::GzDecoder<Sink<'a>>>, String),
}

impl Target<'_> {
    fn done(&self) -> bool {
        match self {
            Target::Plain(s) => s.parser.done(),
            Target::Gzipped(g, _) => g.get_ref().parser.done(),
        }
    }

    /// Takes the next piece of the object (`last`: the object ends with it).
    fn take(&mut self, piece: &[u8], last: bool) -> Result<(), Failure> {
        use std::io::Write as _;
        match self {
            Target::Plain(s) => s.take(piece, last),
            Target::Gzipped(g, key) => {
                let mut r = g.write_all(piece);
                if r.is_ok() && last {
                    r = g.try_finish();
                }
                if let Err(e) = r {
                    return Err(g
                        .get_mut()
                        .failure
                        .take()
                        .unwrap_or_else(|| gzip_failure(key, e)));
                }
                // The end of the unzipped text.
                let s = g.get_mut();
                if last && !s.parser.done() {
                    s.take(&[], true)?;
                }
                Ok(())
            }
        }
    }
}

fn gzip_failure(key: &str, e: std::io::Error) -> Failure {
    Failure::new(
        names::ITEM_READER_FAILED,
        format!("The object '{key}' is not gzipped text: {e}"),
    )
}

/// The bytes of a GetObject's Body of `len` bytes. The caller shows a body that is UTF-8 as its
/// text and any other as base64 (as Step Functions shows blobs); a range may end inside a
/// character, so which one came follows from the length: base64 of `len` bytes is longer.
fn body_bytes(out: &Value, len: usize) -> Result<Vec<u8>, Failure> {
    use base64::Engine as _;
    let body = out.get("Body").and_then(Value::as_str).unwrap_or_default();
    if body.len() == len {
        return Ok(body.as_bytes().to_vec());
    }
    match base64::engine::general_purpose::STANDARD.decode(body) {
        Ok(bytes) if bytes.len() == len => Ok(bytes),
        _ => Err(Failure::new(
            names::ITEM_READER_FAILED,
            format!(
                "S3 answered {} bytes of text where {len} bytes were asked for",
                body.len()
            ),
        )),
    }
}

/// The largest S3 object an ItemReader reads whole (an inventory's manifest, a document an
/// `ItemsPointer` points into): its size is checked first.
const MAX_READER_OBJECT: u64 = 8 * 1024 * 1024;

/// The bytes of an object one ranged GetObject asks for when an ItemReader reads its items
/// piece by piece: about half of what one read gives ([`item_reader::MAX_READ_BYTES`]),
/// so that little is fetched past what is used.
pub const READ_RANGE_BYTES: u64 = 128 * 1024;

impl<F> AwsTasks<F> {
    /// A distributed Map's ItemReader ([`item_reader`]): one window of items, from where the
    /// configuration's `Cursor` says the last read stopped, as [`item_reader::answer`] gives
    /// it.
    async fn read_items(&self, req: &TaskRequest, config: &Value) -> Result<Value, Failure> {
        use item_reader::Cursor;
        let c = self.clients().await;
        check_credentials(req, c.custom_endpoints.sdk)?;
        let failed = reader_failed;
        let cursor = Cursor::of(config)?;
        let limit = config
            .get("MaxItems")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |n| n as usize);
        let left = limit.saturating_sub(cursor.read);
        let mut room = self.read_window;
        let mut items = Vec::new();
        let p = &req.parameters;
        let next = match waymark_asl::resource::integration_part(&req.resource) {
            _ if left == 0 => None,
            Some("s3:getObject") if config["InputType"] == "MANIFEST" => {
                let manifest = self.read_object(p).await?;
                let inventory = item_reader::inventory(&manifest)?;
                let mut next = None;
                let (mut file, mut at, mut etag) = (cursor.file, cursor.at, cursor.etag);
                while let Some(key) = inventory.files.get(file) {
                    let target = serde_json::json!({"Bucket": inventory.bucket, "Key": key});
                    let mut parser =
                        ObjectItems::inventory(inventory.columns.clone(), left - items.len())
                            .within(room)
                            .after_others(items.len());
                    if let Some(a) = &at {
                        parser = parser.resumed(a);
                    }
                    let from = at.as_ref().map_or(0, |a| a.offset);
                    let tag = self
                        .read_object_items(&target, &mut parser, &mut items, from, etag.as_ref())
                        .await?;
                    if let Some(a) = parser.resume() {
                        next = Some(Cursor {
                            read: cursor.read + items.len(),
                            etag: tag,
                            file,
                            at: Some(a),
                            ..Cursor::default()
                        });
                        break;
                    }
                    (file, at, etag) = (file + 1, None, None);
                    room = parser.room_left();
                    if parser.items_left() == 0 {
                        break;
                    }
                    if room == 0 && file < inventory.files.len() {
                        next = Some(Cursor {
                            read: cursor.read + items.len(),
                            file,
                            ..Cursor::default()
                        });
                        break;
                    }
                }
                next
            }
            Some("s3:getObject") if config.get("ItemsPointer").is_some() => {
                let body = self.read_object(p).await?;
                let (window, more) = item_reader::pointer_window(config, &body, cursor.read, room)?;
                items = window;
                more.then(|| Cursor {
                    read: cursor.read + items.len(),
                    ..Cursor::default()
                })
            }
            Some("s3:getObject") => {
                let mut parser = ObjectItems::new(config, left)?.within(room);
                if let Some(a) = &cursor.at {
                    parser = parser.resumed(a);
                }
                let from = cursor.at.as_ref().map_or(0, |a| a.offset);
                let tag = self
                    .read_object_items(p, &mut parser, &mut items, from, cursor.etag.as_ref())
                    .await?;
                parser.resume().map(|a| Cursor {
                    read: cursor.read + items.len(),
                    etag: tag,
                    at: Some(a),
                    ..Cursor::default()
                })
            }
            Some("s3:listObjectsV2") => {
                let mut params = p.clone();
                let (mut token, mut skip) = (cursor.token, cursor.skip);
                loop {
                    if let Some(t) = &token {
                        params["ContinuationToken"] = t.clone();
                    }
                    let page = sdk_call(c, "s3", "listObjectsV2", params.clone(), None)
                        .await
                        .map_err(failed)?;
                    let listed = item_reader::listed_objects(&page);
                    let before = items.len();
                    let stopped = item_reader::fill(
                        listed.into_iter().skip(skip),
                        &mut items,
                        &mut room,
                        left,
                    );
                    if stopped {
                        break Some(Cursor {
                            read: cursor.read + items.len(),
                            token,
                            skip: skip + items.len() - before,
                            ..Cursor::default()
                        });
                    }
                    let next = page.get("NextContinuationToken").cloned();
                    match next {
                        Some(t) if items.len() < left && page["IsTruncated"] == true => {
                            (token, skip) = (Some(t), 0);
                        }
                        _ => break None,
                    }
                }
            }
            _ => {
                return Err(Failure::new(
                    names::ITEM_READER_FAILED,
                    format!("Waymark does not read items with '{}'", req.resource),
                ))
            }
        };
        Ok(item_reader::answer(items, next))
    }

    /// What HeadObject says of the object an ItemReader reads (the same version, when the
    /// parameters name one), and its size.
    async fn head_object(&self, params: &Value) -> Result<(Value, u64), Failure> {
        let c = self.clients().await;
        let mut head = serde_json::Map::new();
        for k in ["Bucket", "Key", "VersionId"] {
            if let Some(v) = params.get(k) {
                head.insert(k.into(), v.clone());
            }
        }
        let meta = sdk_call(c, "s3", "headObject", Value::Object(head), None)
            .await
            .map_err(reader_failed)?;
        let size = meta
            .get("ContentLength")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Ok((meta, size))
    }

    /// Reads an object's items range by range (ranged GetObjects of [`READ_RANGE_BYTES`], all
    /// of the version the first HeadObject found, by its ETag), into `items`, from byte `from`
    /// (unzipped) on, until `parser` has what it wants or the object ends: an object of any
    /// size is read only as far as its items are used. A gzipped object (`.gz`: an S3
    /// inventory's files) is unzipped as it arrives, from its start. `etag`: the ETag an
    /// earlier read of the object found, which it must still have. Gives the object's ETag.
    async fn read_object_items(
        &self,
        params: &Value,
        parser: &mut ObjectItems,
        items: &mut Vec<Value>,
        from: u64,
        etag: Option<&Value>,
    ) -> Result<Option<Value>, Failure> {
        let c = self.clients().await;
        let (meta, size) = self.head_object(params).await?;
        let key = params
            .get("Key")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if etag.is_some() && meta.get("ETag") != etag {
            return Err(Failure::new(
                names::ITEM_READER_FAILED,
                format!("The object '{key}' changed while the Map read its items"),
            ));
        }
        let gzipped = key.ends_with(".gz");
        let sink = Sink {
            parser,
            items,
            skip: if gzipped { from } else { 0 },
            failure: None,
        };
        let mut target = if gzipped {
            Target::Gzipped(Box::new(flate2::write::GzDecoder::new(sink)), key.clone())
        } else {
            Target::Plain(sink)
        };
        let mut offset = if gzipped { 0 } else { from.min(size) };
        while !target.done() {
            let piece = if offset >= size {
                Vec::new() // S3 answers a range past the end (or of an empty object) with InvalidRange
            } else {
                let end = (offset + READ_RANGE_BYTES).min(size) - 1;
                let mut ranged = params.clone();
                ranged["Range"] = Value::from(format!("bytes={offset}-{end}"));
                if let Some(etag) = meta.get("ETag") {
                    ranged["IfMatch"] = etag.clone();
                }
                let out = sdk_call(c, "s3", "getObject", ranged, None)
                    .await
                    .map_err(reader_failed)?;
                body_bytes(&out, (end + 1 - offset) as usize)?
            };
            offset += piece.len() as u64;
            target.take(&piece, offset >= size)?;
        }
        Ok(meta.get("ETag").cloned())
    }

    /// One S3 object's text for an ItemReader, its size checked before it is read; a gzipped
    /// object (an S3 inventory's files) is unzipped, at most [`MAX_READER_OBJECT`] bytes of it.
    async fn read_object(&self, params: &Value) -> Result<String, Failure> {
        let c = self.clients().await;
        let failed = reader_failed;
        let too_big = |size: u64| {
            Failure::new(
                names::ITEM_READER_FAILED,
                format!("The object is {size} bytes; Waymark's ItemReader reads objects of at most {MAX_READER_OBJECT} bytes"),
            )
        };
        let (_, size) = self.head_object(params).await?;
        if size > MAX_READER_OBJECT {
            return Err(too_big(size));
        }
        let out = sdk_call(c, "s3", "getObject", params.clone(), None)
            .await
            .map_err(failed)?;
        let body = out.get("Body").and_then(Value::as_str).unwrap_or_default();
        let key = params
            .get("Key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !key.ends_with(".gz") {
            return Ok(body.to_string());
        }
        // The caller gives bytes that are not UTF-8 as base64.
        use base64::Engine as _;
        use std::io::Read as _;
        let zipped = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_else(|_| body.as_bytes().to_vec());
        let mut text = String::new();
        flate2::read::GzDecoder::new(zipped.as_slice())
            .take(MAX_READER_OBJECT + 1)
            .read_to_string(&mut text)
            .map_err(|e| gzip_failure(key, e))?;
        if text.len() as u64 > MAX_READER_OBJECT {
            return Err(too_big(text.len() as u64));
        }
        Ok(text)
    }

    /// `apigateway:invoke` ([`crate::apigateway`]).
    async fn invoke_api(&self, req: &TaskRequest) -> Result<Value, Failure> {
        let c = self.clients().await;
        let call = crate::apigateway::call(&req.parameters, &c.sdk.region())?;
        let aws_host = !call.url.starts_with("http://") && call.url.contains(".amazonaws.com");
        if aws_host && c.custom_endpoints.sdk {
            return Err(Failure::runtime(format!(
                "The ApiEndpoint '{}' is an AWS host, and AWS calls go to a local endpoint here: give the API's own URL (http://127.0.0.1:3000) as ApiEndpoint, or run against AWS",
                req.parameters["ApiEndpoint"].as_str().unwrap_or_default()
            )));
        }
        let timeout = req
            .timeout_seconds
            .map(|s| Duration::from_secs(s).saturating_add(CALL_TIMEOUT_MARGIN));
        let signing = call.sign.as_deref().map(|r| (r, "execute-api"));
        let fut = c.sdk.raw(
            &call.method,
            &call.url,
            &call.headers,
            call.body.clone(),
            signing,
        );
        let answer = match timeout {
            None => fut.await,
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .unwrap_or_else(|_| Err("the API did not answer in time".into())),
        };
        let r = answer.map_err(|e| Failure::new("ApiGateway.SdkClientException", e))?;
        crate::apigateway::result(r.status, &r.headers, &r.body)
    }

    /// The HTTP Task ([`crate::http_invoke`]): reads the connection (DescribeConnection, then
    /// its secret), gets an OAuth token when the connection uses OAuth, and calls the API.
    async fn invoke_http(&self, req: &TaskRequest) -> Result<Value, Failure> {
        use crate::http_invoke as h;
        let c = self.clients().await;
        let arn = h::connection_arn(&req.parameters)?;
        let name = h::connection_name(&arn)?;
        let described = sdk_call(
            c,
            "eventbridge",
            "describeConnection",
            serde_json::json!({ "Name": name }),
            None,
        )
        .await
        .map_err(h::lookup_error)?;
        let secret = match described.get("SecretArn").and_then(Value::as_str) {
            Some(secret_arn) => {
                let out = sdk_call(
                    c,
                    "secretsmanager",
                    "getSecretValue",
                    serde_json::json!({ "SecretId": secret_arn }),
                    None,
                )
                .await
                .map_err(h::lookup_error)?;
                out.get("SecretString")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(Value::Null)
            }
            None => Value::Null,
        };
        let conn = h::connection(&described, &secret)?;
        // At most the HTTP Task's own 60 seconds, or less when the task's timeout is shorter.
        let limit = Duration::from_secs(
            req.timeout_seconds
                .map_or(h::TIMEOUT_SECONDS, |t| t.min(h::TIMEOUT_SECONDS)),
        );
        let send = |r: h::Request| async move {
            let fut = c.sdk.raw(&r.method, &r.url, &r.headers, r.body, None);
            tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
                Err(format!(
                    "the API did not answer within {} seconds",
                    limit.as_secs()
                ))
            })
        };
        let (token, token_key) = match &conn.auth {
            h::Auth::OAuth(o) => {
                let key = h::TokenCache::key(&arn, o);
                let token = match self.oauth_tokens.get(&key, std::time::Instant::now()) {
                    Some(kept) => kept,
                    None => {
                        let asked = std::time::Instant::now();
                        let r = send(h::token_request(o))
                            .await
                            .map_err(|e| h::connection_error("InternalError", e))?;
                        let t = h::token(r.status, &r.body)?;
                        self.oauth_tokens.put(key.clone(), &t, asked);
                        t.access
                    }
                };
                (Some(token), Some(key))
            }
            _ => (None, None),
        };
        let call = h::request(&req.parameters, &conn, token.as_deref(), &c.sdk.region())?;
        // Step Functions calls HTTPS APIs only; a laptop's own API may be plain HTTP.
        let local_http = c.custom_endpoints.sdk && call.url.starts_with("http://");
        if !call.url.starts_with("https://") && !local_http {
            return Err(Failure::runtime(format!(
                "The ApiEndpoint '{}' is not an https:// URL",
                req.parameters["ApiEndpoint"].as_str().unwrap_or_default()
            )));
        }
        let r = send(call).await.map_err(h::socket_error)?;
        if let Some(key) = &token_key {
            self.oauth_tokens.answered(key, r.status);
        }
        h::result(r.status, &r.headers, &r.body)
    }

    /// A distributed Map's ResultWriter: performs one write of the export the engine makes
    /// (`waymark_engine::step::Write`): whole files put in order, the manifest last, or a step
    /// of a multipart upload. Its answer is what the next write needs (`UploadId`, `ETag`).
    async fn write_results(&self, req: &TaskRequest, write: &Value) -> Result<Value, Failure> {
        let c = self.clients().await;
        check_credentials(req, c.custom_endpoints.sdk)?;
        if waymark_asl::resource::integration_part(&req.resource) != Some("s3:putObject") {
            return Err(Failure::new(
                names::RESULT_WRITER_FAILED,
                format!("Waymark does not write results with '{}'", req.resource),
            ));
        }
        let bucket = write.get("Bucket").cloned().unwrap_or(Value::Null);
        let failed = |f: Failure| {
            Failure::new(
                names::RESULT_WRITER_FAILED,
                format!(
                    "{}: {}",
                    f.error.unwrap_or_default(),
                    f.cause.unwrap_or_default()
                ),
            )
        };
        let call = |action: &'static str, params: Value| async move {
            sdk_call(c, "s3", action, params, None)
                .await
                .map_err(failed)
        };
        if let Some(files) = write.get("Files").and_then(Value::as_array) {
            for file in files {
                let params = serde_json::json!({
                    "Bucket": bucket,
                    "Key": file["Key"],
                    "Body": file["Body"],
                    "ContentType": "application/json",
                });
                call("putObject", params).await?;
            }
            return Ok(Value::Null);
        }
        if let Some(b) = write.get("Begin") {
            let params = serde_json::json!({"Bucket": bucket, "Key": b["Key"],
                "ContentType": "application/json"});
            let out = call("createMultipartUpload", params).await?;
            return Ok(serde_json::json!({"UploadId": out["UploadId"]}));
        }
        if let Some(p) = write.get("Part") {
            let params = serde_json::json!({"Bucket": bucket, "Key": p["Key"],
                "UploadId": p["UploadId"], "PartNumber": p["PartNumber"], "Body": p["Body"]});
            let out = call("uploadPart", params).await?;
            return Ok(serde_json::json!({"ETag": out["ETag"]}));
        }
        if let Some(d) = write.get("Complete") {
            let params = serde_json::json!({"Bucket": bucket, "Key": d["Key"],
                "UploadId": d["UploadId"], "MultipartUpload": {"Parts": d["Parts"]}});
            call("completeMultipartUpload", params).await?;
            return Ok(Value::Null);
        }
        if let Some(a) = write.get("Abort") {
            let params = serde_json::json!({"Bucket": bucket, "Key": a["Key"],
                "UploadId": a["UploadId"]});
            call("abortMultipartUpload", params).await?;
            return Ok(Value::Null);
        }
        Err(Failure::new(
            names::RESULT_WRITER_FAILED,
            "The ResultWriter's request names no write",
        ))
    }

    /// A `.sync` task of a job-starting integration: starts the job, or asks about the one
    /// the engine hands back.
    async fn run_job(&self, service: &str, action: &str, req: &TaskRequest) -> TaskOutcome {
        let c = self.clients().await;
        let Some(kind) = jobs::kind(service, action) else {
            return TaskOutcome::Failed(Failure::runtime(format!(
                "No job integration runs the resource '{}'",
                req.resource
            )));
        };
        if let Err(f) = check_credentials(req, c.custom_endpoints.sdk) {
            return TaskOutcome::Failed(f);
        }
        let timeout = req
            .timeout_seconds
            .map(|s| Duration::from_secs(s).saturating_add(CALL_TIMEOUT_MARGIN));
        let answer = match &req.job {
            None => sdk_call(c, service, action, req.parameters.clone(), timeout)
                .await
                .and_then(|out| {
                    jobs::check_started(service, &out)?;
                    Ok(kind.started(&req.parameters, out))
                }),
            Some(job) => sdk_call(c, service, kind.describe, job.clone(), timeout)
                .await
                .map(|described| kind.verdict(job, described)),
        };
        answer.unwrap_or_else(TaskOutcome::Failed)
    }
}

/// One call through the model-driven caller, given up after `timeout`.
async fn sdk_call(
    c: &Clients,
    service: &str,
    action: &str,
    params: Value,
    timeout: Option<Duration>,
) -> Result<Value, Failure> {
    let call = c.sdk.call(service, action, params);
    let out = match timeout {
        None => call.await,
        Some(t) => match tokio::time::timeout(t, call).await {
            Ok(out) => out,
            Err(_) => {
                return Err(Failure::new(
                    names::TIMEOUT,
                    format!("The call to '{service}:{action}' did not answer in time"),
                ))
            }
        },
    };
    out.map_err(|e| Failure::new(e.error, e.cause))
}

/// A Task's `Credentials` (a role to assume) are not supported yet. Against a local endpoint
/// identities are not checked, so the call goes ahead; against AWS it would run under the
/// wrong identity, so the task fails instead.
fn check_credentials(req: &TaskRequest, custom_endpoint: bool) -> Result<(), Failure> {
    match &req.credentials {
        Some(c) if !c.is_null() && !custom_endpoint => Err(Failure::runtime(format!(
            "The Credentials {c} of the resource '{}' cannot be used: Waymark does not assume task roles yet",
            req.resource
        ))),
        _ => Ok(()),
    }
}

/// What [`check`] came to: a judgement, or a resource these integrations do not run.
pub enum Checked {
    Done(Result<(), String>),
    Fallback,
}

/// Checks a Task's resource and literal parameters, or a mocked result, without calling
/// anything: AWS SDK integrations against their service's API model, the resources built
/// here against what Step Functions accepts. `waymark validate` and [`AwsTasks`] both use it.
pub fn check(what: &TaskCheck<'_>) -> Checked {
    let resource = match what {
        TaskCheck::Task { resource, .. } | TaskCheck::MockResult { resource, .. } => resource,
    };
    let (service, action) = match route(resource) {
        Route::Fallback => return Checked::Fallback,
        Route::Refused(why) => {
            return Checked::Done(match what {
                TaskCheck::Task { .. } => Err(why),
                TaskCheck::MockResult { .. } => Ok(()),
            })
        }
        Route::Sdk {
            service, action, ..
        } => (service, action),
        // An HTTP call to the user's API: no service model to check it against.
        Route::Plain { service, .. }
            if matches!(
                service.call,
                OptimisedCall::ApiGateway | OptimisedCall::Http
            ) =>
        {
            return Checked::Done(Ok(()))
        }
        Route::Plain {
            service, action, ..
        } => (service.sdk, action),
        Route::Job { service, action } => (service, action),
        Route::PutEvents(_) => ("eventbridge", "putEvents"),
        _ => return Checked::Done(Ok(())),
    };
    Checked::Done(match what {
        TaskCheck::Task {
            parameters: Some(p),
            ..
        } => waymark_sdk::check_params(service, action, p),
        TaskCheck::Task { .. } => Ok(()),
        // A `.sync` result is the job's description, not the start call's answer.
        TaskCheck::MockResult { .. } if matches!(route(resource), Route::Job { .. }) => Ok(()),
        TaskCheck::MockResult { result, .. } => waymark_sdk::check_result(service, action, result),
    })
}

impl<F: Tasks> Tasks for AwsTasks<F> {
    fn check(&self, what: &TaskCheck<'_>) -> Result<(), String> {
        match check(what) {
            Checked::Fallback => self.fallback.check(what),
            Checked::Done(r) => r,
        }
    }

    async fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        let route = route(&req.resource);
        if route == Route::Fallback {
            return self.fallback.invoke(execution_arn, req).await;
        }
        if let Some(config) = &req.reader {
            return match self.read_items(req, config).await {
                Ok(answer) => TaskOutcome::Succeeded(answer),
                Err(f) => TaskOutcome::Failed(f),
            };
        }
        if let Some(write) = &req.writer {
            return match self.write_results(req, write).await {
                Ok(answer) => TaskOutcome::Succeeded(answer),
                Err(f) => TaskOutcome::Failed(f),
            };
        }
        if let Route::Job { service, action } = route {
            return self.run_job(service, action, req).await;
        }
        match self.run(route, execution_arn, req).await {
            Ok(Some(result)) => TaskOutcome::Succeeded(result),
            Ok(None) => TaskOutcome::Pending,
            Err(failure) => TaskOutcome::Failed(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_and_mocks_are_checked_against_the_api_models() {
        let done = |w: &TaskCheck<'_>| match check(w) {
            Checked::Done(r) => Some(r),
            Checked::Fallback => None,
        };
        let params = serde_json::json!({"Bucket": "b", "Key.$": "$.k"});
        let task = |resource, parameters| TaskCheck::Task {
            resource,
            parameters,
        };
        assert_eq!(
            done(&task(
                "arn:aws:states:::aws-sdk:s3:getObject",
                Some(&params)
            )),
            Some(Ok(()))
        );
        let e = done(&task("arn:aws:states:::aws-sdk:s3:getObjekt", None)).unwrap();
        assert!(e.is_err(), "{e:?}");
        let bad = serde_json::json!({"Bucket": "b", "Keey": "k"});
        let e = done(&task("arn:aws:states:::aws-sdk:s3:getObject", Some(&bad))).unwrap();
        assert!(e.unwrap_err().contains("Keey"));
        // An optimised integration with an action Step Functions lacks.
        let e = done(&task("arn:aws:states:::dynamodb:scan", None)).unwrap();
        assert!(e.unwrap_err().contains("aws-sdk:dynamodb"));
        // A resource these integrations do not run is the fallback's to judge.
        assert!(done(&task("arn:aws:states:::states:startExecution", None)).is_none());
        let result = serde_json::json!({"ContentLength": 3, "Bodyy": "x"});
        let e = done(&TaskCheck::MockResult {
            resource: "arn:aws:states:::aws-sdk:s3:getObject",
            result: &result,
            strict: true,
        })
        .unwrap();
        assert!(e.unwrap_err().contains("Bodyy"));
    }

    #[test]
    fn resources_are_routed_by_service_action_and_pattern() {
        assert_eq!(
            route("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            Route::Invoke(Pattern::WaitForTaskToken)
        );
        assert_eq!(
            route("arn:aws:lambda:eu-west-1:123456789012:function:f"),
            Route::Function("arn:aws:lambda:eu-west-1:123456789012:function:f")
        );
        assert_eq!(
            route("arn:aws:states:::sns:publish"),
            Route::Publish(Pattern::RequestResponse)
        );
        assert_eq!(
            route("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            Route::SendMessage(Pattern::WaitForTaskToken)
        );
        assert_eq!(
            route("arn:aws:states:::dynamodb:updateItem"),
            Route::DynamoDb("updateItem")
        );
        for fallback in [
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:us-east-1:123456789012:activity:approve",
            "not-an-arn",
        ] {
            assert_eq!(route(fallback), Route::Fallback, "{fallback}");
            assert!(!handles(fallback));
        }
    }

    #[test]
    fn optimised_integrations_that_are_one_call_go_through_the_generic_caller() {
        assert_eq!(
            route("arn:aws:states:::events:putEvents.waitForTaskToken"),
            Route::PutEvents(Pattern::WaitForTaskToken)
        );
        assert_eq!(
            route("arn:aws:states:us-east-1:123456789012:events:putEvents"),
            Route::PutEvents(Pattern::RequestResponse)
        );
        assert_eq!(
            route("arn:aws:states:::athena:getQueryResults"),
            Route::Plain {
                service: optimised("athena").unwrap(),
                action: "getQueryResults",
                pattern: Pattern::RequestResponse,
            }
        );
        assert_eq!(
            route("arn:aws:states:::glue:startJobRun"),
            Route::Plain {
                service: optimised("glue").unwrap(),
                action: "startJobRun",
                pattern: Pattern::RequestResponse,
            }
        );
        assert_eq!(
            route("arn:aws:states:::ecs:runTask.waitForTaskToken"),
            Route::Plain {
                service: optimised("ecs").unwrap(),
                action: "runTask",
                pattern: Pattern::WaitForTaskToken,
            }
        );
        assert_eq!(
            route("arn:aws:states:::batch:submitJob.sync"),
            Route::Job {
                service: "batch",
                action: "submitJob"
            }
        );
        for (resource, says) in [
            (
                "arn:aws:states:::athena:getQueryResults.sync",
                "supports the Request Response pattern, not Run a Job",
            ),
            ("arn:aws:states:::events:putEvents.sync", "not Run a Job"),
            ("arn:aws:states:::glue:getJobRun", "aws-sdk:glue:ACTION"),
            (
                "arn:aws:states:::codebuild:startBuild.sync",
                "Waymark does not run the optimised integration 'codebuild:startBuild'",
            ),
            (
                "arn:aws:states:::http:invoke.waitForTaskToken",
                "supports the Request Response pattern",
            ),
            (
                "arn:aws:states:::mediaconvert:createJob",
                "mock it in a test",
            ),
            (
                "arn:aws:states:::bedrock:createModelCustomizationJob.sync",
                "Waymark does not run the optimised integration 'bedrock:createModelCustomizationJob'",
            ),
            (
                "arn:aws:states:::bedrockagentcore:invokeHarness",
                "Waymark does not run the optimised integration 'bedrockagentcore:invokeHarness'",
            ),
            (
                "arn:aws:states:::athena:startQueryExecution.waitForTaskToken",
                "not Wait for Callback",
            ),
        ] {
            match route(resource) {
                Route::Refused(cause) => assert!(cause.contains(says), "{resource}: {cause}"),
                other => panic!("{resource}: {other:?}"),
            }
        }
        assert_eq!(
            route("arn:aws:states:::glue:startJobRun.sync"),
            Route::Job {
                service: "glue",
                action: "startJobRun"
            }
        );
        assert_eq!(
            route("arn:aws:states:::athena:startQueryExecution.sync"),
            Route::Job {
                service: "athena",
                action: "startQueryExecution"
            }
        );
        let params = serde_json::json!({"Entries": [{"Detail": {"a": 1}, "Sourcee": "x"}]});
        let checked = check(&TaskCheck::Task {
            resource: "arn:aws:states:::events:putEvents",
            parameters: Some(&params),
        });
        match checked {
            Checked::Done(Err(e)) => assert!(e.contains("Sourcee"), "{e}"),
            _ => panic!("an unknown member of PutEventsRequestEntry is refused"),
        }
        let params = serde_json::json!({"QueryString.$": "$.q", "WorkGroup": "primary"});
        assert!(matches!(
            check(&TaskCheck::Task {
                resource: "arn:aws:states:::athena:startQueryExecution",
                parameters: Some(&params),
            }),
            Checked::Done(Ok(()))
        ));
    }

    #[test]
    fn sdk_integrations_are_routed_to_the_generic_caller() {
        assert_eq!(
            route("arn:aws:states:::aws-sdk:dynamodb:query"),
            Route::Sdk {
                service: "dynamodb",
                action: "query",
                pattern: Pattern::RequestResponse
            }
        );
        assert_eq!(
            route("arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken"),
            Route::Sdk {
                service: "s3",
                action: "putObject",
                pattern: Pattern::WaitForTaskToken
            }
        );
        for (resource, says) in [
            (
                "arn:aws:states:::aws-sdk:s3:getObject.sync",
                "not Run a Job",
            ),
            ("arn:aws:states:::aws-sdk:s3", "does not name an action"),
            ("arn:aws:states:::aws-sdk:s3:GetObject", "getObject"),
            (
                "arn:aws:states:::aws-sdk:nosuchservice:doIt",
                "nosuchservice",
            ),
        ] {
            match route(resource) {
                Route::Refused(cause) => assert!(cause.contains(says), "{resource}: {cause}"),
                other => panic!("{resource}: {other:?}"),
            }
        }
    }

    #[test]
    fn task_credentials_are_refused_unless_the_endpoint_is_local() {
        let mut req = TaskRequest {
            frame: String::new(),
            seq: 1,
            state: "S".into(),
            resource: "arn:aws:states:::sqs:sendMessage".into(),
            parameters: serde_json::json!({}),
            token: "t".into(),
            wait_for_token: false,
            timeout_seconds: None,
            heartbeat_seconds: None,
            credentials: None,
            context: serde_json::json!({}),
            test_case: None,
            approval: None,
            job: None,
            reader: None,
            writer: None,
        };
        assert!(check_credentials(&req, false).is_ok());
        req.credentials = Some(serde_json::json!({"RoleArn": "arn:aws:iam::1:role/r"}));
        assert!(check_credentials(&req, true).is_ok());
        let f = check_credentials(&req, false).unwrap_err();
        assert_eq!(f.error.as_deref(), Some("States.Runtime"));
        assert!(f
            .cause
            .unwrap_or_default()
            .contains("arn:aws:iam::1:role/r"));
    }

    #[test]
    fn unsupported_patterns_and_actions_are_refused_by_name() {
        for (resource, says) in [
            (
                "arn:aws:states:::dynamodb:getItem.waitForTaskToken",
                "supports the Request Response pattern, not Wait for Callback",
            ),
            (
                "arn:aws:states:::lambda:invoke.sync",
                "supports the Request Response and Wait for Callback (.waitForTaskToken) patterns, not Run a Job (.sync)",
            ),
            ("arn:aws:states:::sns:publish.sync", "not Run a Job"),
            ("arn:aws:states:::dynamodb:scan", "is not a Step Functions integration"),
            ("arn:aws:states:::sqs:receiveMessage", "'sqs:sendMessage'"),
        ] {
            match route(resource) {
                Route::Refused(cause) => {
                    assert!(cause.contains(resource), "{cause}");
                    assert!(cause.contains(says), "{cause}");
                }
                other => panic!("{resource}: {other:?}"),
            }
            assert!(handles(resource));
        }
    }
}
