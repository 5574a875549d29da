//! `waymark serve` under hostile clients, over real sockets: a slow-loris client is cut off
//! after the header timeout, an idle kept-alive connection after the idle timeout, a trickled
//! body after the body timeout (with an AWS-shaped 408), and connections beyond the cap wait
//! while those within it are still answered. The timeouts are set short for the tests; every
//! wait below is a bound against hanging, never a measurement.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// No single wait in these tests should come near this.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let port = free_port();
        let port_text = port.to_string();
        let mut args = vec![
            "serve",
            "--port",
            &port_text,
            "--db",
            ":memory:",
            "--wait-scale",
            "0",
        ];
        args.extend_from_slice(extra);
        let child = Command::new(env!("CARGO_BIN_EXE_waymark"))
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("waymark serve starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < HANG_GUARD,
                "waymark serve did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn list_request() -> Vec<u8> {
    let body = "{}";
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP response (headers and a Content-Length body) and returns it as text.
fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            other => panic!(
                "no whole response ({other:?}) after {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).expect("the response body");
    format!("{head}{}", String::from_utf8_lossy(&body))
}

/// Whether the server closed the connection (end of stream or reset) before the guard ran out;
/// whatever it sent before closing is ignored.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(e) => panic!("reading: {e}"),
        }
    }
}

#[test]
fn a_slow_loris_client_is_cut_off_after_the_header_timeout() {
    let server = Server::start(&["--header-timeout", "1", "--idle-timeout", "600"]);
    let mut loris = server.connect();
    loris
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Tar")
        .unwrap();
    assert!(closed_by_server(&mut loris), "the half header was held");
    // Others are served meanwhile and after.
    let mut other = server.connect();
    other.write_all(&list_request()).unwrap();
    assert!(read_response(&mut other).starts_with("HTTP/1.1 200"));
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let server = Server::start(&["--header-timeout", "600", "--idle-timeout", "1"]);
    let mut s = server.connect();
    s.write_all(&list_request()).unwrap();
    let response = read_response(&mut s);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        !response.to_ascii_lowercase().contains("connection: close"),
        "kept alive: {response}"
    );
    // Nothing more is asked: the server closes the connection.
    assert!(closed_by_server(&mut s), "the idle connection was kept");
}

#[test]
fn a_trickled_body_gets_a_408_after_the_body_timeout() {
    let server = Server::start(&[
        "--header-timeout",
        "600",
        "--idle-timeout",
        "600",
        "--body-timeout",
        "1",
    ]);
    let mut s = server.connect();
    s.write_all(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 100\r\n\r\n{\"max",
    )
    .unwrap();
    let response = read_response(&mut s);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("RequestTimeoutException"), "{response}");
}

#[test]
fn connections_beyond_the_cap_wait_while_the_others_are_answered() {
    let server = Server::start(&[
        "--max-connections",
        "2",
        "--header-timeout",
        "600",
        "--idle-timeout",
        "600",
    ]);
    let mut a = server.connect();
    let mut b = server.connect();
    for s in [&mut a, &mut b] {
        s.write_all(&list_request()).unwrap();
        assert!(read_response(s).starts_with("HTTP/1.1 200"));
    }
    // A third connection is not served while both slots are held…
    let mut c = server.connect();
    c.write_all(&list_request()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut byte = [0u8; 1];
    match c.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the third connection was served beyond the cap: {other:?}"),
    }
    // …while the connections within the cap still are.
    a.write_all(&list_request()).unwrap();
    assert!(read_response(&mut a).starts_with("HTTP/1.1 200"));
    // One closes: the waiting connection is served.
    drop(b);
    c.set_read_timeout(Some(HANG_GUARD)).unwrap();
    assert!(read_response(&mut c).starts_with("HTTP/1.1 200"));
}
