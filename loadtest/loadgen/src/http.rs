//! The gateway leg: `POST /v1/requests` over HTTP/1.1 keep-alive connections from a pool.
//!
//! One retry rule: a POST is sent again, with the same `Idempotency-Key`, only when its
//! connection failed before a single byte of an answer arrived (a connection refused, or a
//! kept-alive connection the server had closed). Every connection counts the bytes it read, so
//! "before any answer byte" is known, not guessed. Once any byte arrived the outcome is
//! counted as it is: the generator never hides a failure behind a retry.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::Load;
use crate::body;
use crate::events;
use crate::run::{self, Outcome, Target};

/// A TCP stream that counts the bytes it has read.
struct Counted {
    inner: TcpStream,
    read: Arc<AtomicU64>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    read: Arc<AtomicU64>,
}

async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let read = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Counted {
        inner: tcp,
        read: read.clone(),
    });
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn { sender, read })
}

/// Submits through the gateway.
#[derive(Clone)]
pub struct Gateway {
    addr: SocketAddr,
    authority: String,
    tokens: Arc<Vec<String>>,
    branches: usize,
    idle: Arc<Mutex<Vec<Conn>>>,
    pub retries: Arc<AtomicU64>,
    /// The parts asked for, one per submission in turn.
    parts: Arc<Vec<String>>,
}

impl Gateway {
    pub fn new(base_url: &str, secret: &str, branches: usize) -> anyhow::Result<Self> {
        let uri: http::Uri = base_url.parse().context("gateway URL")?;
        let authority = uri
            .authority()
            .context("gateway URL has no host")?
            .to_string();
        let addr: SocketAddr = authority
            .replace("localhost", "127.0.0.1")
            .parse()
            .context("the gateway URL must be ip:port on loopback")?;
        Ok(Self {
            addr,
            authority,
            tokens: Arc::new(body::tokens(secret, branches)?),
            branches,
            idle: Arc::new(Mutex::new(Vec::new())),
            retries: Arc::new(AtomicU64::new(0)),
            parts: Arc::new(vec![body::DEMO_PART.to_owned()]),
        })
    }

    /// Submissions ask for these parts in turn.
    pub fn with_parts(mut self, parts: Vec<String>) -> Self {
        if !parts.is_empty() {
            self.parts = Arc::new(parts);
        }
        self
    }

    fn take(&self) -> Option<Conn> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn give_back(&self, c: Conn) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
    }

    /// One submission: the status and the body, or where it failed.
    pub async fn submit(&self, n: u64) -> Result<(u16, Bytes), String> {
        let b = (n % self.branches as u64) as usize;
        let branch = body::branch(n, self.branches);
        let part = &self.parts[((n / self.branches as u64) % self.parts.len() as u64) as usize];
        let payload = Bytes::from(body::json(&branch, n, part));
        let key = uuid::Uuid::new_v4().to_string();
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let mut conn = match self.take() {
                Some(c) => c,
                None => match connect(self.addr).await {
                    Ok(c) => c,
                    // Nothing was sent: trying again is safe.
                    Err(_) if attempt < ATTEMPTS => {
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(_) => return Err("connect".into()),
                },
            };
            if conn.sender.ready().await.is_err() {
                // A kept-alive connection the server closed; nothing was sent on it.
                continue;
            }
            let req = hyper::Request::post("/v1/requests")
                .header(hyper::header::HOST, self.authority.as_str())
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .header(
                    hyper::header::AUTHORIZATION,
                    format!("Bearer {}", self.tokens[b]),
                )
                .header("idempotency-key", key.as_str())
                .body(Full::new(payload.clone()))
                .map_err(|e| format!("request: {e}"))?;
            let read_before = conn.read.load(Ordering::Relaxed);
            match conn.sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = match resp.into_body().collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(e) => return Err(format!("body: {}", kind(&e))),
                    };
                    self.give_back(conn);
                    return Ok((status, body));
                }
                Err(e) => {
                    let answered = conn.read.load(Ordering::Relaxed) != read_before;
                    if !answered && attempt < ATTEMPTS {
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    return Err(format!(
                        "{} ({} answer bytes)",
                        kind(&e),
                        if answered { "after" } else { "before" }
                    ));
                }
            }
        }
        Err("connection lost before any answer, 3 times".into())
    }
}

fn kind(e: &hyper::Error) -> String {
    if e.is_canceled() {
        "canceled".into()
    } else if e.is_incomplete_message() {
        "connection closed mid-answer".into()
    } else if e.is_timeout() {
        "timeout".into()
    } else {
        // hyper's own words (a parse error, a reset …): few kinds, counted by kind.
        e.to_string()
    }
}

impl Target for Gateway {
    async fn call(&self, n: u64) -> Outcome {
        match self.submit(n).await {
            Ok((201, _)) => Outcome::Ok,
            Ok((status, _)) => Outcome::Failed(format!("http {status}")),
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// `loadgen http`.
pub async fn run(url: &str, load: &Load) -> anyhow::Result<Value> {
    let gw = Gateway::new(url, &load.secret, load.branches)?;
    // One request first: a gateway that is not there fails fast and says so.
    match gw.submit(u64::MAX / 2).await {
        Ok((201, _)) => {}
        Ok((s, b)) => anyhow::bail!(
            "the gateway answered {s} to a submission: {}",
            String::from_utf8_lossy(&b)
        ),
        Err(e) => anyhow::bail!("the gateway at {url}: {e}"),
    }
    let probe = events::LagProbe::start(load, url).await?;
    let m = match (load.callers, load.rate) {
        (Some(c), _) => run::closed(gw.clone(), c, load.warmup(), load.duration()).await,
        (None, Some(r)) => {
            run::open(
                gw.clone(),
                r,
                load.warmup(),
                load.duration(),
                load.max_in_flight,
            )
            .await
        }
        (None, None) => anyhow::bail!("--callers N (closed model) or --rate R (open model)"),
    };
    let mut out = m.json();
    out["target"] = json!("http");
    out["retries"] = json!(gw.retries.load(Ordering::Relaxed));
    out["lag"] = probe.finish().await;
    Ok(out)
}
