//! Drives headless Chromium (Debian's `chromium`; `AFTERSALES_TEST_CHROMIUM` names another
//! binary) over the DevTools protocol: a WebSocket client small enough to live here.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub struct Browser {
    child: Child,
    ws: TcpStream,
    next_id: u64,
    _profile: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn chromium() -> String {
    if let Ok(b) = std::env::var("AFTERSALES_TEST_CHROMIUM") {
        return b;
    }
    for candidate in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "headless Chromium is needed for the board test: install Debian's package \
         (apt-get install -y chromium) or set AFTERSALES_TEST_CHROMIUM"
    );
}

impl Browser {
    /// Opens `url` in a fresh headless browser and attaches to its page.
    pub async fn open(url: &str) -> Browser {
        let profile = TempDir(
            std::env::temp_dir().join(format!("gateway-board-{}", uuid::Uuid::new_v4().simple())),
        );
        let mut child = Command::new(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                // This machine's network is closed: no background calls to Google's hosts.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--remote-debugging-port=0",
                "--window-size=1600,900",
            ])
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let devtools = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("DevTools listening on ws://").nth(1) {
                    return rest.split('/').next().map(str::to_owned);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromium printed its DevTools address");
        // Keep draining stderr so chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let page = crate::helpers::testing_eventually(Duration::from_secs(30), || {
            let devtools = devtools.clone();
            async move {
                let list = http_get(&devtools, "/json/list").await?;
                let targets: Value = serde_json::from_str(&list).ok()?;
                targets.as_array()?.iter().find_map(|t| {
                    (t["type"] == "page")
                        .then(|| t["webSocketDebuggerUrl"].as_str().map(str::to_owned))
                        .flatten()
                })
            }
        })
        .await
        .expect("the page target");
        let path = page
            .split_once(&devtools)
            .map(|(_, p)| p.to_owned())
            .expect("page url on the DevTools address");
        let ws = ws_connect(&devtools, &path).await;
        Browser {
            child,
            ws,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Sends a DevTools command and returns its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        ws_send(&mut self.ws, msg.as_bytes()).await;
        let ws = &mut self.ws;
        tokio::time::timeout(Duration::from_secs(30), async move {
            loop {
                let text = ws_recv(ws).await;
                let v: Value = serde_json::from_slice(&text).expect("DevTools JSON");
                if v["id"] == id {
                    if v.get("error").is_some() {
                        panic!("{method}: {}", v["error"]);
                    }
                    return v["result"].clone();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{method}: no answer from chromium"))
    }

    /// Evaluates a JavaScript expression in the page.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// A PNG of the page.
    pub async fn screenshot(&mut self) -> Vec<u8> {
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        base64_decode(r["data"].as_str().expect("screenshot data"))
    }

    pub async fn close(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn http_get(addr: &str, path: &str) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        // DevTools keeps the connection open: read the head, then Content-Length bytes.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.ok()?;
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))?
            .trim()
            .parse()
            .ok()?;
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.ok()?;
        String::from_utf8(body).ok()
    })
    .await
    .ok()
    .flatten()
}

async fn ws_connect(addr: &str, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect DevTools");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("upgrade");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.expect("upgrade answer");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

async fn ws_send(s: &mut TcpStream, payload: &[u8]) {
    let mut frame = vec![0x81u8];
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).await.expect("ws send");
}

async fn ws_recv(s: &mut TcpStream) -> Vec<u8> {
    let mut message = Vec::new();
    loop {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).await.expect("ws frame");
        let fin = h[0] & 0x80 != 0;
        let mut len = (h[1] & 0x7f) as u64;
        if len == 126 {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).await.expect("ws len");
            len = u16::from_be_bytes(b) as u64;
        } else if len == 127 {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).await.expect("ws len");
            len = u64::from_be_bytes(b);
        }
        let mut payload = vec![0u8; len as usize];
        s.read_exact(&mut payload).await.expect("ws payload");
        message.extend_from_slice(&payload);
        if fin {
            return message;
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
