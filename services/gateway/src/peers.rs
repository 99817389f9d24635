//! The services behind the gateway: one lazily connecting channel each (a peer that is not
//! deployed or not up answers 503), clients that forward the caller's own JWT and the trace
//! context, and one way to make a call: in a client span, mapped to a problem on failure.

use std::future::Future;
use std::time::Duration;

use aftersales_platform::auth::Caller;
use aftersales_platform::grpc::{self, ClientInterceptor};
use aftersales_platform::proto::claims::v1::claims_service_client::ClaimsServiceClient;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tracing::Instrument;

use crate::config::Settings;
use crate::problem::Problem;

pub type Intercepted = InterceptedService<Channel, ClientInterceptor>;

/// Channels to the peers that are configured.
#[derive(Clone, Debug)]
pub struct Peers {
    intake: Option<Channel>,
    claims: Option<Channel>,
    warehouse: Option<Channel>,
}

impl Peers {
    /// Builds the channels; nothing connects until the first call.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let deadline = Duration::from_millis(settings.server.request_timeout_ms);
        let make = |url: &str| -> anyhow::Result<Option<Channel>> {
            if url.is_empty() {
                return Ok(None);
            }
            Ok(Some(grpc::channel(url, deadline)?))
        };
        Ok(Self {
            intake: make(&settings.peers.intake.url)?,
            claims: make(&settings.peers.claims_review.url)?,
            warehouse: make(&settings.peers.warehouse.url)?,
        })
    }

    pub fn intake(&self, caller: &Caller) -> Result<IntakeServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.intake, "intake", caller)?;
        Ok(IntakeServiceClient::with_interceptor(ch, i))
    }

    pub fn claims(&self, caller: &Caller) -> Result<ClaimsServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.claims, "claims-review", caller)?;
        Ok(ClaimsServiceClient::with_interceptor(ch, i))
    }

    pub fn warehouse(
        &self,
        caller: &Caller,
    ) -> Result<WarehouseServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.warehouse, "warehouse", caller)?;
        Ok(WarehouseServiceClient::with_interceptor(ch, i))
    }

    fn with(
        ch: &Option<Channel>,
        peer: &str,
        caller: &Caller,
    ) -> Result<(Channel, ClientInterceptor), Problem> {
        let ch = ch
            .clone()
            .ok_or_else(|| Problem::unavailable(format!("{peer} is not deployed")))?;
        let interceptor = ClientInterceptor::with_token(&caller.token)
            .map_err(|s| Problem::from_status(peer, &s))?;
        Ok((ch, interceptor))
    }
}

/// Runs one RPC in a client span (`<package.Service>/<Method>`) so the interceptor injects this
/// span's context and the peer's server span becomes its child.
pub async fn call<T, F>(peer: &str, method: &str, fut: F) -> Result<T, Problem>
where
    F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let span = tracing::info_span!(
        "grpc.client",
        otel.name = %method,
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.method = %method,
        peer.service = %peer,
    );
    match fut.instrument(span).await {
        Ok(r) => Ok(r.into_inner()),
        Err(s) => Err(Problem::from_status(peer, &s)),
    }
}
