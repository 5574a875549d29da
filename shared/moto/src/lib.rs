//! `moto_server` for the tests that talk to AWS services through the real SDK clients, with a
//! proxy in front of it that lets one DynamoDB request through at a time.
//!
//! Why the proxy: moto 5.2.x answers from a threaded werkzeug server (`run_simple(threaded=True)`,
//! and `moto_server` has no flag to turn that off), and its `transact_write_items` deep-copies
//! every table the transaction names, then puts the copies back when a condition fails. A write
//! another request made to those tables in the meantime is erased, which real DynamoDB never
//! does. Waymark's stepper commits with conditional transactions from many tasks at once, so
//! without the proxy a test could fail (or pass) for moto's reasons. DynamoDB requests (the
//! ones whose `X-Amz-Target` names DynamoDB) wait their turn; every other request (SQS long
//! polls, SNS, …) goes straight through, so a receive that waits for messages never holds up
//! the writes that would send them. `tests/lost_writes.rs` proves that no write is lost through
//! the proxy; `examples/lost_writes.rs` shows moto losing them without it.
//!
//! A test that needs moto fails when `moto_server` is missing: it never passes as skipped.
//! `scripts/test` installs the pinned moto into `target/test-venv` and puts it on `PATH`.

mod proxy;
mod server;

use std::time::Duration;

/// Why moto could not be started for a test.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "moto_server is not on PATH. Run the tests with `scripts/test`, which installs \
         moto[server]=={MOTO_VERSION} into target/test-venv and puts it on PATH \
         (or: pip install 'moto[server]=={MOTO_VERSION}')"
    )]
    NotInstalled,
    #[error("cannot start moto_server: {0}")]
    Spawn(std::io::Error),
    #[error("moto_server stopped before serving:\n{0}")]
    Stopped(String),
    #[error("moto_server did not start serving within {0:?}")]
    Timeout(Duration),
    #[error("moto_server announced an address that is not one: {0}")]
    Address(String),
    #[error("cannot start the proxy in front of moto_server: {0}")]
    Proxy(std::io::Error),
}

/// The moto version `scripts/test` installs, for messages.
pub const MOTO_VERSION: &str = "5.2.1";

/// A `moto_server` of the test's own on a free loopback port, behind its proxy; both stop when
/// this is dropped.
pub struct Moto {
    /// Where the SDK clients should send their requests: the proxy.
    pub endpoint: String,
    /// `moto_server` itself, bypassing the proxy: only for showing what the proxy prevents.
    pub direct_endpoint: String,
    // Declared first so that it stops before the server it forwards to.
    _proxy: proxy::Proxy,
    _server: server::Server,
}

impl Moto {
    /// Starts moto and its proxy, or panics saying why (and how to get moto when it is missing),
    /// which is what a test wants.
    pub fn start() -> Moto {
        Moto::try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start() -> Result<Moto, MotoError> {
        let server = server::Server::start()?;
        let proxy = proxy::Proxy::start(server.addr)?;
        Ok(Moto {
            endpoint: format!("http://{}", proxy.addr),
            direct_endpoint: format!("http://{}", server.addr),
            _proxy: proxy,
            _server: server,
        })
    }

    /// One unsigned `PUT` to moto's S3 (moto does not check signatures): a bucket when `key`
    /// is empty, else an object of exactly `body`'s bytes (gzip, say, which a workflow's
    /// putObject, whose Body is text, cannot send). Panics when moto does not answer 200.
    pub fn put_s3(&self, bucket: &str, key: &str, body: &[u8]) {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        let mut sock = std::net::TcpStream::connect(host).expect("moto's proxy listens");
        let path = if key.is_empty() {
            format!("/{bucket}")
        } else {
            format!("/{bucket}/{key}")
        };
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        sock.write_all(head.as_bytes()).expect("request sent");
        sock.write_all(body).expect("body sent");
        let mut answer = String::new();
        let _ = sock.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }

    /// One `GET` of an object from moto's S3: its bytes, which a workflow's getObject
    /// could not return past the payload limit. Panics when moto does not answer 200.
    pub fn get_s3(&self, bucket: &str, key: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        let mut sock = std::net::TcpStream::connect(host).expect("moto's proxy listens");
        // moto answers an anonymous GET of a private object 403; it reads who asks from the
        // Authorization header and does not check the signature.
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
                    SignedHeaders=host, Signature=0";
        let head = format!(
            "GET /{bucket}/{key} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
        );
        sock.write_all(head.as_bytes()).expect("request sent");
        let mut answer = Vec::new();
        let _ = sock.read_to_end(&mut answer);
        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&answer[..end]);
        assert!(head.starts_with("HTTP/1.1 200"), "{bucket}/{key}: {head}");
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        answer[end + 4..].to_vec()
    }
}
