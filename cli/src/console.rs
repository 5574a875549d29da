//! `waymark console --endpoint URL`: the console on localhost for a Waymark deployed on AWS.
//! The deployed API keeps IAM auth, which a browser cannot sign, so the pages and the graph are
//! served here and the API calls the pages make (`POST /`) are sent on to the deployed API
//! signed with SigV4 (`execute-api`) with the user's credentials from the standard chain.
//!
//! Whoever can reach this server acts with those credentials, so it listens on loopback only,
//! answers only requests addressed to a loopback name (a rebound DNS name is refused), and
//! forwards only Step Functions API calls, which carry `X-Amz-Target` and a JSON content type
//! and so cannot be sent cross-site by a form or a script without a CORS preflight this server
//! never grants.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::json;
use waymark_sdk::{Config, SdkCaller};

use crate::args::ConsoleArgs;
use crate::server::{self, Limits};

/// The largest API request forwarded: the API's own limit (1 MiB definitions) with room.
const MAX_REQUEST: usize = 2 * 1024 * 1024;

/// Where the API calls go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The deployed API's `POST /` address.
    pub url: String,
    /// The region its requests are signed for.
    pub region: String,
}

impl Target {
    /// Reads `--endpoint` (`https://ID.execute-api.REGION.amazonaws.com`, a stage path allowed);
    /// the region is `region` when given, else the one in an execute-api host name, else
    /// `default_region`.
    pub fn parse(endpoint: &str, region: Option<&str>, default_region: &str) -> Result<Target> {
        let Some((scheme, rest)) = endpoint.split_once("://") else {
            bail!("--endpoint must be an http:// or https:// URL, not {endpoint:?}");
        };
        if scheme != "https" && scheme != "http" {
            bail!("--endpoint must be an http:// or https:// URL, not {endpoint:?}");
        }
        if rest.contains(['?', '#']) {
            bail!("--endpoint must not hold a query or a fragment: {endpoint:?}");
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            bail!("--endpoint has no host: {endpoint:?}");
        }
        let from_host = host
            .split(':')
            .next()
            .and_then(|h| h.split_once(".execute-api."))
            .and_then(|(_, r)| r.split('.').next())
            .filter(|r| !r.is_empty());
        let region = region.or(from_host).unwrap_or(default_region).to_string();
        Ok(Target {
            url: format!("{}/", endpoint.trim_end_matches('/')),
            region,
        })
    }
}

/// The console's pages and the signing proxy to `target`.
pub fn router(target: Target, caller: SdkCaller) -> Router {
    Router::new()
        .route(
            "/",
            post(forward)
                .get(waymark_api::console::index)
                .layer(DefaultBodyLimit::max(MAX_REQUEST)),
        )
        .with_state((target, caller))
        .merge(waymark_api::console::routes())
}

fn refuse(status: StatusCode, kind: &str, message: String) -> Response {
    let mut r = (
        status,
        json!({"__type": kind, "message": message}).to_string(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    r
}

/// Whether a `Host` header names this machine's loopback (a page of another site that rebinds
/// its name to 127.0.0.1 arrives with its own name).
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn forward(
    State((target, caller)): State<(Target, SdkCaller)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let host = text(header::HOST);
    if !loopback_host(&host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            format!("the console answers requests to localhost only, not to {host:?}"),
        );
    }
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let content_type = text(header::CONTENT_TYPE);
    if !operation.starts_with("AWSStepFunctions.")
        || !content_type.starts_with("application/x-amz-json-1.")
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "the console forwards Step Functions API calls only (X-Amz-Target: AWSStepFunctions.*, Content-Type: application/x-amz-json-1.0)".into(),
        );
    }
    let sent = caller
        .raw(
            "POST",
            &target.url,
            &[
                ("content-type".into(), content_type),
                ("x-amz-target".into(), operation.clone()),
            ],
            body.to_vec(),
            Some((&target.region, "execute-api")),
        )
        .await;
    match sent {
        Err(cause) => {
            tracing::warn!(%operation, %cause, "the deployed API did not answer");
            refuse(
                StatusCode::BAD_GATEWAY,
                "ServiceUnavailable",
                format!("{} did not answer: {cause}", target.url),
            )
        }
        Ok(answer) => {
            tracing::info!(%operation, status = answer.status, "forwarded");
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut r = (status, answer.body).into_response();
            let kind = answer
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .and_then(|(_, v)| HeaderValue::from_str(v).ok())
                .unwrap_or(HeaderValue::from_static("application/x-amz-json-1.0"));
            r.headers_mut().insert(header::CONTENT_TYPE, kind);
            r
        }
    }
}

pub fn console(a: ConsoleArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let caller = SdkCaller::new(Config {
            endpoint_url: None,
            region: a.region.clone(),
        })
        .await;
        let target = Target::parse(&a.endpoint, a.region.as_deref(), &caller.region())?;
        let addr = format!("127.0.0.1:{}", a.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let port = listener.local_addr().map_or(a.port, |l| l.port());
        tracing::info!(
            "Waymark console for {} (signed for {}) at http://127.0.0.1:{port}/",
            target.url,
            target.region
        );
        let limits = Limits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(60),
            max_connections: 64,
        };
        server::serve(listener, router(target, caller), limits, async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_their_region_and_api_address() {
        let t = Target::parse(
            "https://abc123.execute-api.eu-west-1.amazonaws.com",
            None,
            "us-east-1",
        )
        .unwrap();
        assert_eq!(t.url, "https://abc123.execute-api.eu-west-1.amazonaws.com/");
        assert_eq!(t.region, "eu-west-1");
        let t = Target::parse("http://127.0.0.1:9000/prod/", None, "us-east-2").unwrap();
        assert_eq!(
            (t.url.as_str(), t.region.as_str()),
            ("http://127.0.0.1:9000/prod/", "us-east-2")
        );
        let t = Target::parse(
            "https://abc.execute-api.eu-west-1.amazonaws.com",
            Some("ap-south-1"),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(t.region, "ap-south-1");
        for bad in [
            "abc.execute-api.eu-west-1.amazonaws.com",
            "ftp://h/",
            "https://",
            "https://h/?x=1",
        ] {
            assert!(Target::parse(bad, None, "us-east-1").is_err(), "{bad}");
        }
    }

    #[test]
    fn only_loopback_names_are_answered() {
        for ok in ["127.0.0.1:8084", "localhost:1", "[::1]:80", "localhost"] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8084",
            "10.0.0.1:80",
            "",
            "[fe80::1]:80",
            "127.evil.example",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }
}
