//! Endpoints, SigV4 and the HTTP exchange.
//!
//! The HTTP stack is the one `aws-config`'s default HTTPS client is built on (hyper-util's pooled
//! client, hyper-rustls, rustls with aws-lc-rs), so this crate compiles no new TLS or HTTP code.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::Value;

use crate::deserialize::{self, Response};
use crate::model::Service;
use crate::{error_name, resolve, serialize, SdkError};

/// Where and as whom the caller calls.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Sends every call here (path-style for S3) instead of the service's AWS endpoint; when
    /// unset, `AWS_ENDPOINT_URL_<SERVICE_ID>` and then `AWS_ENDPOINT_URL` are honoured.
    pub endpoint_url: Option<String>,
    /// Overrides the region of the loaded configuration.
    pub region: Option<String>,
}

/// What one call may change from the caller's configuration: a Task state's `Credentials`
/// (an assumed role's keys) or another region.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    pub credentials: Option<aws_credential_types::Credentials>,
    pub region: Option<String>,
}

/// Calls any action of the vendored services.
#[derive(Clone)]
pub struct SdkCaller {
    sdk: SdkConfig,
    config: Config,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for SdkCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkCaller")
            .field("config", &self.config)
            .finish()
    }
}

impl SdkCaller {
    /// Loads the standard AWS configuration (region, credential chain, `AWS_ENDPOINT_URL`).
    pub async fn new(config: Config) -> SdkCaller {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        SdkCaller::with_sdk_config(loader.load().await, config)
    }

    /// A caller with an already loaded AWS configuration.
    pub fn with_sdk_config(sdk: SdkConfig, config: Config) -> SdkCaller {
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        {
            Ok(b) => b,
            // No system certificates: plain HTTP endpoints (a local emulator) still work.
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(
                    rustls::crypto::aws_lc_rs::default_provider().into(),
                )
                .with_safe_default_protocol_versions()
                .expect("aws-lc-rs supports the default TLS versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            ),
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        // The Java SDK's default is 2 s; a little more room for a loaded local emulator.
        http.set_connect_timeout(Some(std::time::Duration::from_secs(10)));
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        SdkCaller {
            sdk,
            config,
            client,
        }
    }

    /// Calls `aws-sdk:<service>:<action>` with `params` (the input's member names) and returns
    /// the output with the model's member names.
    pub async fn call(
        &self,
        service: &str,
        action: &str,
        params: Value,
    ) -> Result<Value, SdkError> {
        self.call_with(service, action, params, &CallOptions::default())
            .await
    }

    /// [`SdkCaller::call`] with other credentials or region.
    pub async fn call_with(
        &self,
        service: &str,
        action: &str,
        params: Value,
        options: &CallOptions,
    ) -> Result<Value, SdkError> {
        let (svc, op_name) =
            resolve(service, action).map_err(|e| SdkError::new("States.Runtime", e))?;
        let prefix = svc.vendored.prefix;
        let model = &svc.model;
        let op = &model.operations[&op_name];

        let endpoint = self.endpoint_override(&svc);
        let region = options
            .region
            .clone()
            .or_else(|| self.config.region.clone())
            .or_else(|| self.sdk.region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".to_string());
        let is_s3 = model.metadata.endpoint_prefix == "s3";
        let virtual_host = is_s3
            && endpoint.is_none()
            && params
                .get("Bucket")
                .and_then(Value::as_str)
                .is_some_and(dns_compatible);
        let mut params = params;
        crate::customize::input(&model.metadata.endpoint_prefix, &mut params);
        let req = serialize::serialize(model, op, &params, virtual_host).map_err(|e| {
            SdkError::new(
                "States.Runtime",
                format!("invalid parameters for aws-sdk:{service}:{action}: {e}"),
            )
        })?;

        let (base, signing_region) = match &endpoint {
            Some(url) => (url.trim_end_matches('/').to_string(), region.clone()),
            None => default_endpoint(&svc, &region),
        };
        let (scheme, rest) = base.split_once("://").unwrap_or(("https", &base));
        let (authority, base_path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let authority = match (&req.host_prefix, &endpoint) {
            // An endpoint override gets no host prefix: it is one host for everything.
            (Some(p), None) => format!("{p}{authority}"),
            _ => authority.to_string(),
        };
        let uri = format!("{scheme}://{authority}{base_path}{}", req.path_and_query());

        let client_error =
            |cause: String| SdkError::new(format!("{prefix}.SdkClientException"), cause);
        let mut settings = SigningSettings::default();
        if is_s3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        let signing = Signing {
            credentials: options.credentials.clone(),
            region: &signing_region,
            service: model.signing_name(),
            settings,
        };
        let sent = self
            .send(
                req.method.as_str(),
                &uri,
                &authority,
                &req.headers,
                req.body.clone(),
                Some(signing),
            )
            .await
            .map_err(|e| match e {
                SendError::TooLarge => SdkError::new(
                    "States.DataLimitExceeded",
                    format!(
                        "The answer of {service}:{action} is larger than {MAX_RESPONSE_BYTES} bytes, more than Waymark reads from one call"
                    ),
                ),
                SendError::Client(cause) => client_error(cause),
            })?;
        let (status, headers, body) = (sent.status, sent.headers, sent.body);
        let resp = Response {
            status,
            headers,
            body,
        };
        if status >= 300 {
            let wire = deserialize::error(model, op, &resp);
            let modeled = svc.errors.get(&wire.code).map(String::as_str);
            let mut cause = wire.message.clone();
            if cause.is_empty() {
                cause = wire.code.clone();
            }
            cause.push_str(&format!(
                " (Service: {prefix}, Status Code: {status}, Request ID: {})",
                wire.request_id.as_deref().unwrap_or("null")
            ));
            return Err(SdkError::new(error_name(prefix, modeled), cause));
        }
        let mut out = deserialize::output(model, op, &resp).map_err(|e| {
            client_error(format!(
                "Unable to unmarshall response ({e}). Response Code: {status}"
            ))
        })?;
        crate::customize::output(&model.metadata.endpoint_prefix, &mut out);
        Ok(out)
    }

    fn endpoint_override(&self, svc: &Service) -> Option<String> {
        if let Some(url) = &self.config.endpoint_url {
            return Some(url.clone());
        }
        let env_name = format!(
            "AWS_ENDPOINT_URL_{}",
            svc.model
                .metadata
                .service_id
                .to_ascii_uppercase()
                .replace([' ', '-'], "_")
        );
        std::env::var(env_name)
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| self.sdk.endpoint_url().map(str::to_string))
    }
}

/// The service's AWS endpoint in `region`, and the region to sign for.
pub(crate) fn default_endpoint(svc: &Service, region: &str) -> (String, String) {
    let meta = &svc.model.metadata;
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let commercial = !region.starts_with("cn-") && !region.starts_with("us-gov-");
    // STS names a global endpoint too, but the SDKs call its regional ones.
    if let Some(global) = meta
        .global_endpoint
        .as_ref()
        .filter(|_| meta.endpoint_prefix != "sts")
    {
        if commercial {
            return (format!("https://{global}"), "us-east-1".to_string());
        }
    }
    if meta.endpoint_prefix == "organizations" && commercial {
        return (
            "https://organizations.us-east-1.amazonaws.com".to_string(),
            "us-east-1".to_string(),
        );
    }
    (
        format!("https://{}.{region}.{suffix}", meta.endpoint_prefix),
        region.to_string(),
    )
}

/// Whether a bucket name can be a host name label (virtual-hosted style).
fn dns_compatible(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

/// An HTTP answer: status, headers (in order, repeated names kept), body.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SdkCaller {
    /// One HTTP call outside any service model (API Gateway's `execute-api`), through the same
    /// client, signed with SigV4 for `service` in `region` when `signing` names them. An error is
    /// a call that got no answer.
    pub async fn raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
        signing: Option<(&str, &str)>,
    ) -> Result<RawResponse, String> {
        let authority = url
            .split_once("://")
            .map_or(url, |(_, r)| r)
            .split(['/', '?'])
            .next()
            .unwrap_or_default()
            .to_string();
        let signing = signing.map(|(region, service)| Signing {
            credentials: None,
            region,
            service,
            settings: SigningSettings::default(),
        });
        self.send(method, url, &authority, headers, body, signing)
            .await
            .map_err(|e| match e {
                SendError::TooLarge => format!(
                    "the answer is larger than {MAX_RESPONSE_BYTES} bytes, more than Waymark reads from one call"
                ),
                SendError::Client(cause) => cause,
            })
    }

    /// Builds, signs (when `signing` says how) and sends one request, and reads the answer up
    /// to [`MAX_RESPONSE_BYTES`]: the one HTTP path of modelled calls and [`SdkCaller::raw`].
    async fn send(
        &self,
        method: &str,
        uri: &str,
        authority: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
        signing: Option<Signing<'_>>,
    ) -> Result<RawResponse, SendError> {
        let client = |cause: String| SendError::Client(cause);
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", authority);
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            builder = builder.header("content-length", body.len().to_string());
        }
        let mut request = builder
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| client(format!("cannot build the request to {uri}: {e}")))?;

        if let Some(s) = signing {
            let credentials = match s.credentials {
                Some(c) => c,
                None => {
                    let provider = self.sdk.credentials_provider().ok_or_else(|| {
                        client("Unable to load credentials: no credential provider".into())
                    })?;
                    provider
                        .provide_credentials()
                        .await
                        .map_err(|e| client(format!("Unable to load credentials: {e}")))?
                }
            };
            let identity: Identity = credentials.into();
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region(s.region)
                .name(s.service)
                .time(SystemTime::now())
                .settings(s.settings)
                .build()
                .map_err(|e| client(format!("cannot sign the request: {e}")))?
                .into();
            let signed_headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let signable = SignableRequest::new(
                method,
                uri,
                signed_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                SignableBody::Bytes(&body),
            )
            .map_err(|e| client(format!("cannot sign the request: {e}")))?;
            let (instructions, _) = sign(signable, &params)
                .map_err(|e| client(format!("cannot sign the request: {e}")))?
                .into_parts();
            instructions.apply_to_request_http1x(&mut request);
        }

        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| client(format!("Unable to execute HTTP request: {e}")))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = read_body(response.into_body()).await.map_err(|e| match e {
            BodyError::TooLarge => SendError::TooLarge,
            BodyError::Read(e) => client(format!("Unable to read the response: {e}")),
        })?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

/// How [`SdkCaller::send`] signs a request.
struct Signing<'a> {
    /// The call's own credentials; `None`: the SDK configuration's.
    credentials: Option<aws_credential_types::Credentials>,
    region: &'a str,
    service: &'a str,
    settings: SigningSettings,
}

enum SendError {
    TooLarge,
    Client(String),
}

impl SdkCaller {
    /// The region calls are made in: the configured one, the SDK configuration's, or us-east-1.
    pub fn region(&self) -> String {
        self.config
            .region
            .clone()
            .or_else(|| self.sdk.region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".to_string())
    }
}

/// The most a call's answer may hold. Every result a task can use is far smaller (256 KiB of
/// state data; an ItemReader reads objects in ranges of 128 KiB, and documents of at most
/// 8 MiB whole): without a bound, one
/// `aws-sdk:s3:getObject` of a large object would be read into memory whole.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

enum BodyError {
    TooLarge,
    Read(String),
}

async fn read_body(body: hyper::body::Incoming) -> Result<Vec<u8>, BodyError> {
    match http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge)
        }
        Err(e) => Err(BodyError::Read(e.to_string())),
    }
}
