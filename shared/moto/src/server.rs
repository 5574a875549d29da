//! The `moto_server` process.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::MotoError;

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `moto_server`, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// moto picks its port (`-p 0`) and names it on stderr, so that tests starting at once never
    /// race for one; stderr is then drained for as long as the server runs.
    pub fn start() -> Result<Server, MotoError> {
        Server::start_program("moto_server")
    }

    fn start_program(program: &str) -> Result<Server, MotoError> {
        let mut child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => MotoError::NotInstalled,
                _ => MotoError::Spawn(e),
            })?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            return Err(MotoError::Stopped(
                "no stderr to read its address from".into(),
            ));
        };
        // From here on the child is killed on drop, whatever goes wrong.
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut announced = false;
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
                let Ok(line) = line else { break };
                if !announced {
                    if let Some(url) = line.trim().strip_prefix("* Running on ") {
                        announced = true;
                        let _ = tx.send(Ok(url.trim().to_string()));
                    } else {
                        seen.push(line);
                    }
                }
            }
            if !announced {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        let url = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(url)) => url,
            Ok(Err(output)) => return Err(MotoError::Stopped(output)),
            Err(_) => return Err(MotoError::Timeout(START_TIMEOUT)),
        };
        server.addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|_| MotoError::Address(url.clone()))?;
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&server.addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err(MotoError::Timeout(START_TIMEOUT));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_moto_says_how_to_get_it() {
        let err = Server::start_program("moto_server-not-installed-here")
            .err()
            .expect("no such program");
        assert!(matches!(err, MotoError::NotInstalled), "{err}");
        let message = err.to_string();
        assert!(message.contains("scripts/test"), "{message}");
        assert!(message.contains("moto[server]==5.2.1"), "{message}");
    }
}
