//! The HTTP side of `waymark serve`: hyper's connections driven one by one, so that no client
//! can hold the server. A header that does not arrive in time (a slow-loris client), a
//! connection on which nothing moves, a body that trickles in: each is cut off after its own
//! time. At most `max_connections` connections are served at once; more wait to be accepted.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long clients may take, and how many may be served at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a connection being ready for a request (opened, or done with the previous one) to
    /// the request's whole header having arrived. hyper's header timer: it also runs while a
    /// kept-alive connection waits, so it bounds idling too.
    pub header_timeout: Duration,
    /// How long a connection may sit with no byte moving either way and no request being
    /// handled (an idle keep-alive connection, or a client that stopped reading an answer).
    pub idle_timeout: Duration,
    /// From a request's header to the end of its body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// How long open connections may take to finish once the server is asked to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections finish
/// (for [`SHUTDOWN_GRACE`] at most).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let app = waymark_api::body::deadline(app, limits.body_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A slot first: beyond the cap, connections wait in the listen queue, unaccepted.
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: give the open connections time to close.
                    tracing::warn!(error = ?e.to_string(), "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            app.clone(),
            limits,
            stopped.clone(),
            slot,
        ));
    }
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
}

/// What happens on one connection: when a byte last moved, and how many requests are being
/// handled.
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last byte read or written.
    last: AtomicU64,
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    /// When the connection will have been idle for `idle`, or `None` while a request is being
    /// handled (a long StartSyncExecution is not idleness).
    fn idle_at(&self, idle: Duration) -> Option<Instant> {
        if self.handling.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(self.start + Duration::from_millis(self.last.load(Ordering::Relaxed)) + idle)
    }
}

/// Counts a request as handled until dropped (also when its future is dropped half-way).
struct Handling(Arc<Activity>);

impl Handling {
    fn new(a: Arc<Activity>) -> Handling {
        a.handling.fetch_add(1, Ordering::SeqCst);
        Handling(a)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handling.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let handler = activity.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        let handling = Handling::new(handler.clone());
        async move {
            let response = app.oneshot(req.map(Body::new)).await;
            drop(handling);
            response
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    // Once closing: until when the connection may finish what it is doing.
    let mut closing: Option<Instant> = None;
    loop {
        let wake = match closing {
            Some(until) => until,
            None => activity
                .idle_at(limits.idle_timeout)
                .unwrap_or_else(|| Instant::now() + limits.idle_timeout),
        };
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = ?e.to_string(), "connection ended");
                }
                return;
            }
            () = tokio::time::sleep_until(wake) => {
                if closing.is_some() {
                    // It did not finish in time (a client that does not read its answer).
                    return;
                }
                if activity.idle_at(limits.idle_timeout).is_some_and(|at| at <= Instant::now()) {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now() + limits.idle_timeout);
                }
            }
            _ = stopped.changed(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now() + SHUTDOWN_GRACE);
            }
        }
    }
}

/// A connection's socket that notes when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
