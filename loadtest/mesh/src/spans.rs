//! Spans of the whole mesh for tests that run against a mesh another process started: `mesh up
//! --collect-spans` hosts an OTLP receiver every binary exports to and serves what it got as JSON
//! (`GET <MESH_SPANS_URL>`: every span; `DELETE`: forget them).

use std::net::SocketAddr;
use std::sync::Arc;

use aftersales_platform::testing::{CollectedSpan, OtlpReceiver};
use anyhow::Context;
use axum::Router;
use axum::routing::get;

pub struct SpanCollector {
    pub receiver: Arc<OtlpReceiver>,
    pub http_addr: SocketAddr,
}

impl SpanCollector {
    pub async fn start() -> anyhow::Result<SpanCollector> {
        let receiver = Arc::new(OtlpReceiver::start().await);
        let r = receiver.clone();
        let d = receiver.clone();
        let app = Router::new().route(
            "/spans",
            get(move || {
                let r = r.clone();
                async move { axum::Json(r.spans()) }
            })
            .delete(move || {
                let d = d.clone();
                async move {
                    d.clear();
                    "cleared"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let http_addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(SpanCollector {
            receiver,
            http_addr,
        })
    }

    pub fn otlp_endpoint(&self) -> String {
        self.receiver.endpoint()
    }

    pub fn spans_url(&self) -> String {
        format!("http://{}/spans", self.http_addr)
    }
}

/// Every span a collector got so far.
pub async fn fetch(spans_url: &str) -> anyhow::Result<Vec<CollectedSpan>> {
    let (base, path) = spans_url
        .strip_prefix("http://")
        .and_then(|r| r.split_once('/'))
        .context("MESH_SPANS_URL is not http://host:port/path")?;
    let client = crate::http::Client::new(&format!("http://{base}"), "-");
    let a = client.get(&format!("/{path}")).await?;
    anyhow::ensure!(a.ok(), "GET {spans_url}: {}", a.status);
    Ok(serde_json::from_str(&a.text)?)
}
