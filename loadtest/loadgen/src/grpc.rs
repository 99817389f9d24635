//! The intake leg: `SubmitRequest` over a few HTTP/2 connections (calls round-robin over them).
//! No retries: a failed call is counted by its status code.

use std::sync::Arc;
use std::time::Duration;

use aftersales_proto::intake::v1::intake_service_client::IntakeServiceClient;
use anyhow::Context as _;
use serde_json::{Value, json};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::Load;
use crate::body;
use crate::events;
use crate::run::{self, Outcome, Target};

#[derive(Clone)]
pub struct Intake {
    channels: Arc<Vec<Channel>>,
    auth: Arc<Vec<MetadataValue<tonic::metadata::Ascii>>>,
    branches: usize,
}

impl Intake {
    pub async fn connect(
        url: &str,
        connections: usize,
        secret: &str,
        branches: usize,
    ) -> anyhow::Result<Self> {
        let mut channels = Vec::new();
        for _ in 0..connections.max(1) {
            let ch = Endpoint::from_shared(url.to_owned())?
                .tcp_nodelay(true)
                .timeout(Duration::from_secs(30))
                .connect()
                .await
                .with_context(|| format!("intake at {url}"))?;
            channels.push(ch);
        }
        let auth = body::tokens(secret, branches)?
            .into_iter()
            .map(|t| format!("Bearer {t}").parse())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            channels: Arc::new(channels),
            auth: Arc::new(auth),
            branches,
        })
    }
}

impl Target for Intake {
    async fn call(&self, n: u64) -> Outcome {
        let b = (n % self.branches as u64) as usize;
        let branch = body::branch(n, self.branches);
        let ch = self.channels[(n as usize) % self.channels.len()].clone();
        let mut client = IntakeServiceClient::new(ch);
        let mut req =
            tonic::Request::new(body::proto(&branch, n, uuid::Uuid::new_v4().to_string()));
        req.metadata_mut()
            .insert("authorization", self.auth[b].clone());
        match client.submit_request(req).await {
            Ok(_) => Outcome::Ok,
            Err(s) => Outcome::Failed(format!("grpc {:?}", s.code())),
        }
    }
}

/// `loadgen grpc`.
pub async fn run(url: &str, connections: usize, load: &Load) -> anyhow::Result<Value> {
    let intake = Intake::connect(url, connections, &load.secret, load.branches).await?;
    if let Outcome::Failed(e) = intake.call(u64::MAX / 2).await {
        anyhow::bail!("intake at {url} refused a submission: {e}");
    }
    let probe = events::LagProbe::start(load, "").await?;
    let m = match (load.callers, load.rate) {
        (Some(c), _) => run::closed(intake, c, load.warmup(), load.duration()).await,
        (None, Some(r)) => {
            run::open(
                intake,
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
    out["target"] = json!("grpc");
    out["lag"] = probe.finish().await;
    Ok(out)
}
