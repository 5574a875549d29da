//! `waymark console --endpoint`, the real binary: it serves the console's page on loopback and
//! sends the page's API calls to the endpoint signed with the credentials of the environment
//! (the whole path against the API function on moto is in shared/aws/tests/console.rs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Console(Child);

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The whole HTTP request read from `stream`: head and body.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a request line");
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().expect("a length");
        }
        head.push_str(&line);
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the body");
    head + &String::from_utf8_lossy(&body)
}

fn exchange(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the console");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_console_signs_the_pages_api_calls_for_the_endpoint() {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/prod", api.local_addr().unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "console",
            "--endpoint",
            &endpoint,
            "--port",
            "0",
            "--region",
            "eu-west-1",
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIDCONSOLETEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("waymark console");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let _guard = Console(child);
    let port: u16 = loop {
        let line = lines.next().expect("the console says where it is").unwrap();
        if let Some((_, rest)) = line.split_once("at http://127.0.0.1:") {
            assert!(line.contains("eu-west-1"), "{line}");
            break rest.trim_end_matches('/').parse().expect("a port");
        }
    };

    let page = exchange(
        port,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page
        .to_ascii_lowercase()
        .contains("content-security-policy: default-src 'none'"));

    let forwarded = std::thread::spawn(move || {
        let (mut s, _) = api.accept().unwrap();
        let request = read_request(&mut s);
        let body = r#"{"stateMachines":[]}"#;
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        request
    });
    let answer = exchange(
        port,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"stateMachines":[]}"#), "{answer}");
    let request = forwarded.join().unwrap();
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("POST /prod/ HTTP/1.1"), "{request}");
    assert!(
        lower.contains("authorization: aws4-hmac-sha256 credential=akidconsoletest/"),
        "{request}"
    );
    assert!(
        lower.contains("/eu-west-1/execute-api/aws4_request"),
        "{request}"
    );
    assert!(lower.contains("x-amz-target: awsstepfunctions.liststatemachines"));
    assert!(request.ends_with("\r\n\r\n{}"), "{request}");

    // Not an API call of Step Functions: not forwarded (the fake API would hang on a second
    // request; it is not listening any more).
    let refused = exchange(
        port,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
}

#[test]
fn a_console_endpoint_must_be_a_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "console",
            "--endpoint",
            "abc.execute-api.eu-west-1.amazonaws.com",
            "--port",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http:// or https:// URL"));
}
