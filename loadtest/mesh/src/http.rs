//! A small JSON client for the gateway: one HTTP/1.1 connection per call (the operator and the
//! tests call at a human pace; the load generator has its own client).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

/// An answer: status, headers (lower-case names) and the body as JSON (`Null` when empty or not
/// JSON; `text` keeps it).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body, or a panic saying what was expected and what came back.
    pub fn expect(self, status: u16, what: &str) -> Value {
        assert_eq!(
            self.status, status,
            "{what}: expected {status}, got {}: {}",
            self.status, self.text
        );
        self.json
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    timeout: Duration,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            timeout: Duration::from_secs(30),
        }
    }

    /// The same gateway as another caller.
    pub fn as_caller(&self, token: &str) -> Self {
        Self {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.call("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        let key = uuid::Uuid::new_v4().to_string();
        self.call("POST", path, Some(body), &[("idempotency-key", &key)])
            .await
    }

    /// A POST with a given idempotency key (a retry of the same intent).
    pub async fn post_with_key(
        &self,
        path: &str,
        body: &Value,
        key: &str,
    ) -> anyhow::Result<Answer> {
        self.call("POST", path, Some(body), &[("idempotency-key", key)])
            .await
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let authority = self
            .base
            .split_once("://")
            .map_or(self.base.as_str(), |(_, r)| r)
            .to_owned();
        let stream = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(&authority))
            .await
            .with_context(|| format!("connect {authority}: timed out"))?
            .with_context(|| format!("connect {authority}"))?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &authority)
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(bytes)))?;
        let res = tokio::time::timeout(self.timeout, sender.send_request(req))
            .await
            .with_context(|| format!("{method} {url}: no answer within {:?}", self.timeout))?
            .with_context(|| format!("{method} {url}"))?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = tokio::time::timeout(self.timeout, res.into_body().collect())
            .await
            .with_context(|| format!("{method} {url}: body timed out"))??
            .to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            json,
            text,
        })
    }
}
