//! Receivers for what a service sends out, real servers on 127.0.0.1 for tests: an SMTP server
//! that keeps every message it accepts, and an HTTP endpoint that keeps every call (a branch's
//! webhook, an SMS provider) and answers with a status the test chooses.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One e-mail as received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Mail {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .unwrap_or_else(|| panic!("not an e-mail: {}", String::from_utf8_lossy(&self.raw)))
    }

    /// The Message-ID without its angle brackets.
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The text body, decoded.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.trim_end().to_owned())
            .unwrap_or_default()
    }
}

/// An SMTP server (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no auth) keeping what it
/// accepts.
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("SMTP sink: bind: {e}"));
        let addr = listener.local_addr().expect("SMTP sink address");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = session(stream, kept).await;
                });
            }
        });
        SmtpSink {
            addr,
            mails,
            server,
        }
    }

    /// `smtp://127.0.0.1:<port>` (for `intake.notify.smtp_url`).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits until at least `n` mails arrived (at most `timeout`) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        at_least(n, timeout, || self.mails()).await
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut raw = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-stuffing undone.
                let l = line.strip_prefix('.').unwrap_or(&line);
                raw.extend_from_slice(l.as_bytes());
            }
            if let Ok(mut m) = kept.lock() {
                m.push(Mail {
                    from: from.clone(),
                    to: to.clone(),
                    raw,
                });
            }
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn address(line: &str) -> String {
    let s = line.split_once(':').map(|(_, a)| a).unwrap_or("");
    let s = s.split_whitespace().next().unwrap_or("");
    s.trim_matches(['<', '>']).to_owned()
}

/// One HTTP call as received.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Call {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// An HTTP endpoint that keeps every POST and answers with the status the test set (200 first).
pub struct HttpSink {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    status: Arc<Mutex<u16>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl HttpSink {
    pub async fn start() -> HttpSink {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200u16));
        let (kept, answer) = (calls.clone(), status.clone());
        let app = axum::Router::new().fallback(axum::routing::post(
            move |uri: http::Uri, headers: http::HeaderMap, body: axum::body::Bytes| {
                let (kept, answer) = (kept.clone(), answer.clone());
                async move {
                    if let Ok(mut c) = kept.lock() {
                        c.push(Call {
                            path: uri.path().to_owned(),
                            headers,
                            body: body.to_vec(),
                        });
                    }
                    let code = answer.lock().map(|s| *s).unwrap_or(200);
                    http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK)
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("HTTP sink: bind: {e}"));
        let addr = listener.local_addr().expect("HTTP sink address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpSink {
            addr,
            calls,
            status,
            server,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The status the next calls get.
    pub fn answer(&self, status: u16) {
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Waits until at least `n` calls arrived (at most `timeout`) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Call> {
        at_least(n, timeout, || self.calls()).await
    }
}

/// What `kept` holds once it holds `n` things, or at `timeout`, whichever comes first.
async fn at_least<T>(n: usize, timeout: Duration, kept: impl Fn() -> Vec<T>) -> Vec<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let all = kept();
        if all.len() >= n || tokio::time::Instant::now() >= deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
