//! The HTTP/1 server under the routes: accepts connections up to a cap, gives each one
//! a time limit to send its request head (which is also how long a kept-alive
//! connection may sit idle), and on shutdown stops accepting and gives the requests in
//! flight a bounded time to finish.
//!
//! hyper answers a request it cannot parse (a bad request line, a bad or doubled
//! `Content-Length`, HTTP/0.9, a head past the buffer) itself, with an empty body.
//! [`Conn`] sits between hyper and the socket and turns those answers into the API's
//! JSON errors, so that every error the daemon sends is `{"error": {...}}`.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How long a connection has to send a complete request head, counted from when it
/// opens or from its last response (so it is also the idle limit between requests).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request's body may take to arrive, from the end of its head.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request head (request line and headers) read; past it, 431.
pub const MAX_HEAD: usize = 64 << 10;
/// How long the requests in flight get to finish once shutdown starts.
pub const DRAIN: Duration = Duration::from_secs(5);
/// File descriptors kept back from the connection cap: the store, the snapshot, the
/// sink, the log.
const RESERVED_FDS: u64 = 64;

/// Raises the soft limit on open files to the hard limit, and returns the connection
/// cap: `wanted`, or fewer if the open-files limit would not leave room for them.
pub fn connection_cap(wanted: usize) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => limit = getrlimit(Resource::Nofile),
            Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
        }
    }
    let room = limit.current.map_or(usize::MAX, |n| {
        usize::try_from(n.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX)
    });
    if room < wanted {
        tracing::warn!(
            open_files = limit.current,
            connections = room,
            "the open-files limit leaves room for fewer connections than --max-connections"
        );
    }
    wanted.min(room).max(1)
}

/// Serves `router` on `listener` until `shutdown` completes, at most `cap` connections
/// at a time (more wait in the listen queue). Then stops accepting, and gives the
/// requests in flight [`DRAIN`] to finish before it returns; connections still open
/// then are left to close with the process.
pub async fn run(
    listener: TcpListener,
    router: Router,
    cap: usize,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEAD);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(cap));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = http.serve_connection(TokioIo::new(Conn::new(stream)), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = watched.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still in flight after {DRAIN:?}; leaving them");
        }
    }
}

/// A connection's socket, which rewrites hyper's own bodiless error answers into JSON
/// errors (see the module's doc).
pub struct Conn {
    stream: TcpStream,
    /// Bytes owed to the socket: a rewritten answer not yet fully written.
    owed: Vec<u8>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            owed: Vec::new(),
        }
    }

    /// Writes what is owed; ready once all of it is written.
    fn pay(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.owed.is_empty() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.owed) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.owed.drain(..n.min(self.owed.len()));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// hyper's own answer to a request it could not read, rewritten with a JSON body; or
/// `None` for any other bytes. hyper writes such an answer alone, in one piece: a
/// 4xx status line and headers with `content-length: 0` and no `content-type` (every
/// answer of the routes has a JSON body and says so).
pub fn rewrite(written: &[u8]) -> Option<Vec<u8>> {
    let head = written.strip_suffix(b"\r\n\r\n")?;
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?
        .parse()
        .ok()?;
    if !(400..500).contains(&status) {
        return None;
    }
    let headers: Vec<&str> = lines.collect();
    let lower = |h: &&str| h.to_ascii_lowercase();
    if headers
        .iter()
        .map(lower)
        .any(|h| h.starts_with("content-type:"))
        || !headers
            .iter()
            .map(lower)
            .any(|h| h.replace(' ', "") == "content-length:0")
    {
        return None;
    }
    let (code, message) = match status {
        431 => (
            "too_large",
            format!("the request's head (request line and headers) is over {MAX_HEAD} bytes"),
        ),
        414 => ("too_large", "the request's path is too long".to_string()),
        _ => (
            "bad_request",
            "not a valid HTTP/1.1 request: check the request line, the headers and the \
             Content-Length (one, a whole number)"
                .to_string(),
        ),
    };
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let mut out = String::from(status_line);
    out.push_str("\r\n");
    for h in headers {
        if !h.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str("content-type: application/json\r\n");
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    out.push_str(&body);
    Some(out.into_bytes())
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.pay(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(answer) = rewrite(buf) {
            self.owed = answer;
            // Taken whole: what is owed goes out here and on flush.
            if let Poll::Ready(Err(e)) = self.pay(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.pay(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.stream).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.pay(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.stream).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_error_answers_are_rewritten() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sun, 01 Jan 2027 00:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(hyper).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("date: Sun"));
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "bad_request");
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(String::from_utf8(rewrite(big).unwrap())
            .unwrap()
            .contains("\"too_large\""));
        // Answers of the routes, and bodies, pass through.
        for other in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"{\"error\": 1}",
        ] {
            assert_eq!(rewrite(other), None);
        }
    }
}
