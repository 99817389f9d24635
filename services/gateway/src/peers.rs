//! The services behind the gateway: one lazily connecting channel each (a peer that is not
//! deployed or not up answers 503), clients that forward the caller's own JWT and the trace
//! context, and one way to make a call: in a client span, mapped to a problem on failure.

use std::future::Future;
use std::time::Duration;

use aftersales_platform::auth::Caller;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::claims::v1::claims_service_client::ClaimsServiceClient;
use aftersales_platform::proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use aftersales_platform::proto::fieldservice::v1::field_service_service_client::FieldServiceServiceClient;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::proto::logistics::v1::logistics_service_client::LogisticsServiceClient;
use aftersales_platform::proto::procurement::v1::procurement_service_client::ProcurementServiceClient;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument;

use crate::config::Settings;
use crate::problem::Problem;

pub type Intercepted = InterceptedService<Channel, ClientInterceptor>;

/// Channels to the peers that are configured.
#[derive(Clone, Debug)]
pub struct Peers {
    intake: Option<Channel>,
    claims: Option<Channel>,
    procurement: Option<Channel>,
    warehouse: Option<Channel>,
    logistics: Option<Channel>,
    field_service: Option<Channel>,
    feedback: Option<Channel>,
}

impl Peers {
    /// Builds the channels; nothing connects until the first call.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let deadline = Duration::from_millis(settings.server.request_timeout_ms);
        let make = |url: &str| -> anyhow::Result<Option<Channel>> {
            if url.is_empty() {
                return Ok(None);
            }
            Ok(Some(channel(url, deadline)?))
        };
        Ok(Self {
            intake: make(&settings.peers.intake.url)?,
            claims: make(&settings.peers.claims_review.url)?,
            procurement: make(&settings.peers.procurement.url)?,
            warehouse: make(&settings.peers.warehouse.url)?,
            logistics: make(&settings.peers.logistics.url)?,
            field_service: make(&settings.peers.field_service.url)?,
            feedback: make(&settings.peers.feedback.url)?,
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

    pub fn procurement(
        &self,
        caller: &Caller,
    ) -> Result<ProcurementServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.procurement, "procurement", caller)?;
        Ok(ProcurementServiceClient::with_interceptor(ch, i))
    }

    pub fn logistics(
        &self,
        caller: &Caller,
    ) -> Result<LogisticsServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.logistics, "logistics", caller)?;
        Ok(LogisticsServiceClient::with_interceptor(ch, i))
    }

    /// Logistics with the gateway's own credential (the carrier webhook: no user's token travels
    /// with it).
    pub fn logistics_as(
        &self,
        token: &str,
    ) -> Result<LogisticsServiceClient<Intercepted>, Problem> {
        let ch = self
            .logistics
            .clone()
            .ok_or_else(|| Problem::unavailable("logistics is not deployed"))?;
        let i = ClientInterceptor::with_token(token)
            .map_err(|s| Problem::from_status("logistics", &s))?;
        Ok(LogisticsServiceClient::with_interceptor(ch, i))
    }

    pub fn field_service(
        &self,
        caller: &Caller,
    ) -> Result<FieldServiceServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.field_service, "field-service", caller)?;
        Ok(FieldServiceServiceClient::with_interceptor(ch, i))
    }

    pub fn feedback(&self, caller: &Caller) -> Result<FeedbackServiceClient<Intercepted>, Problem> {
        let (ch, i) = Self::with(&self.feedback, "feedback", caller)?;
        Ok(FeedbackServiceClient::with_interceptor(ch, i))
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

/// Trailers this large are accepted from a peer: a refusal naming every bad line of a long
/// request (`google.rpc.BadRequest` in `grpc-status-details-bin`) outgrows h2's default 16 KiB,
/// and the call then failed as a protocol error (a 500) instead of a 422. Found by the API fuzzer.
const MAX_HEADER_LIST_BYTES: u32 = 1024 * 1024;

/// The platform's channel (`aftersales_platform::grpc::channel`: lazy, its connect timeout and default deadline,
/// no Nagle), with room for long error details.
fn channel(url: &str, deadline: Duration) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(deadline)
        .tcp_nodelay(true)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .connect_lazy())
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
