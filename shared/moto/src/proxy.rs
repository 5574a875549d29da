//! The proxy in front of `moto_server`: HTTP/1.1 in, HTTP/1.1 out, DynamoDB requests one at a
//! time (see the crate's documentation for why).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Mutex};

use crate::MotoError;

type Upstream = Client<HttpConnector, Full<Bytes>>;

/// The proxy, served by a thread of its own (so that it answers whatever the test's runtime is
/// doing); it stops when dropped.
pub(crate) struct Proxy {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Result<Proxy, MotoError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(MotoError::Proxy)?;
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(MotoError::Proxy)?;
        std_listener
            .set_nonblocking(true)
            .map_err(MotoError::Proxy)?;
        let addr = std_listener.local_addr().map_err(MotoError::Proxy)?;
        let listener = {
            let _inside = runtime.enter();
            TcpListener::from_std(std_listener).map_err(MotoError::Proxy)?
        };
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("moto-proxy".into())
            .spawn(move || runtime.block_on(serve(listener, upstream, stopped)))
            .map_err(MotoError::Proxy)?;
        Ok(Proxy {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: TcpListener, upstream: SocketAddr, mut stopped: oneshot::Receiver<()>) {
    let client: Upstream = Client::builder(TokioExecutor::new()).build_http();
    // One turn for all DynamoDB requests; tokio's mutex queues them in arrival order.
    let dynamodb = Arc::new(Mutex::new(()));
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors or the like: try again shortly, without spinning.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let (client, dynamodb) = (client.clone(), dynamodb.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        forward(request, upstream, client.clone(), dynamodb.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Answers moto's response, or a 502 saying what went wrong between the two.
async fn forward(
    request: Request<Incoming>,
    upstream: SocketAddr,
    client: Upstream,
    dynamodb: Arc<Mutex<()>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(relay(request, upstream, &client, &dynamodb)
        .await
        .unwrap_or_else(|why| {
            let mut response = Response::new(Full::new(Bytes::from(format!("moto proxy: {why}"))));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }))
}

async fn relay(
    request: Request<Incoming>,
    upstream: SocketAddr,
    client: &Upstream,
    dynamodb: &Mutex<()>,
) -> Result<Response<Full<Bytes>>, String> {
    let (mut parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("reading the request: {e}"))?
        .to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{upstream}{path}")
        .parse()
        .map_err(|e| format!("the request's path {path:?}: {e}"))?;
    drop_hop_by_hop(&mut parts.headers);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    // Held until moto's whole answer is read, so that moto has finished the request.
    let _turn = if is_dynamodb(&parts.headers) {
        Some(dynamodb.lock().await)
    } else {
        None
    };
    let response = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| format!("sending to moto_server: {e}"))?;
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("reading moto_server's answer: {e}"))?
        .to_bytes();
    drop(_turn);
    drop_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// DynamoDB's JSON protocol names the operation in `X-Amz-Target` (`DynamoDB_20120810.PutItem`).
fn is_dynamodb(headers: &HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("DynamoDB"))
}

/// Headers about one connection, which the proxy's two connections each set for themselves.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dynamodb_requests_take_turns() {
        let mut headers = HeaderMap::new();
        assert!(!is_dynamodb(&headers), "no target: SQS query, SNS");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.TransactWriteItems"),
        );
        assert!(is_dynamodb(&headers));
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("AmazonSQS.ReceiveMessage"),
        );
        assert!(!is_dynamodb(&headers));
    }
}
