//! gRPC for every service: the server (health, reflection, a trace layer that joins the caller's
//! trace, RED metrics, a default deadline, graceful shutdown on a pre-bound listener) and the
//! client (an interceptor that injects the trace context; a default deadline).
//!
//! The request number (`aftersales.request_no`) travels as W3C baggage beside `traceparent`:
//! the interceptor sends the number of the caller's work, the server span takes it, and a
//! handler that knows better says so with [`record_request_no`]. When the RPC ends, its span
//! is linked to the request's first trace if it is in another (a person's step through the
//! gateway), see [`crate::telemetry::links`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use opentelemetry::global;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::server::NamedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};
use tower::{Layer, Service};
use tower_http::trace::TraceLayer;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::ServerSettings;
use crate::http_admin::Readiness;
use crate::shutdown::Shutdown;
use crate::telemetry::links::FirstTraces;
use crate::telemetry::{self, metrics};

pub use crate::validate::Violation;

/// INVALID_ARGUMENT with a `google.rpc.BadRequest` naming every bad field (at most
/// [`MAX_LISTED`](crate::validate::MAX_LISTED) per list, then "and N more"); the message lists
/// them too, for clients that do not read details.
pub fn invalid_argument(violations: &[Violation]) -> Status {
    let violations =
        crate::validate::cap_violations(violations.to_vec(), crate::validate::MAX_LISTED);
    let message = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    let details = ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// The bad fields of an INVALID_ARGUMENT status (for clients and tests).
pub fn violations(status: &Status) -> Vec<Violation> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| Violation::new(v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// Records the request number of the current work (`aftersales.request_no`, DESIGN §9): on the
/// RPC's span (or the delivery's, the batch's: the nearest span that carries the field), and
/// through it on every span of the work, those closed already included.
pub fn record_request_no(request_no: &str) {
    telemetry::request::record(request_no);
}

/// Span for an incoming RPC: `<package.Service>/<Method>`, child of the caller's context.
fn rpc_span<B>(req: &http::Request<B>) -> tracing::Span {
    let path = req.uri().path();
    let name = path.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
    let span = tracing::info_span!(
        "rpc",
        otel.name = %name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        aftersales.request_no = tracing::field::Empty,
    );
    let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
    telemetry::request::note_from_baggage(&span, &parent);
    telemetry::set_parent(&span, parent);
    span
}

/// When an RPC ends: its span links to the first trace of the request it was about, if that is
/// another trace; the first RPC about a request records its trace as the first.
#[derive(Clone, Debug, Default)]
pub struct FirstTraceLayer(Option<FirstTraces>);

impl<S> Layer<S> for FirstTraceLayer {
    type Service = FirstTrace<S>;
    fn layer(&self, inner: S) -> FirstTrace<S> {
        FirstTrace {
            inner,
            first_traces: self.0.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct FirstTrace<S> {
    inner: S,
    first_traces: Option<FirstTraces>,
}

impl<S, B, RB> Service<http::Request<B>> for FirstTrace<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let fut = self.inner.call(req);
        let first_traces = self.first_traces.clone();
        Box::pin(async move {
            let res = fut.await;
            // Polled inside the RPC's span (the trace layer enters it around this future).
            if let Some(f) = first_traces {
                f.observe(&tracing::Span::current());
            }
            res
        })
    }
}

/// Counts and times every RPC by method and status code.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedLayer;

impl<S> Layer<S> for RedLayer {
    type Service = Red<S>;
    fn layer(&self, inner: S) -> Red<S> {
        Red(inner)
    }
}

#[derive(Clone, Debug)]
pub struct Red<S>(S);

impl<S, B, RB> Service<http::Request<B>> for Red<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = req.uri().path().to_owned();
        let start = Instant::now();
        let fut = self.0.call(req);
        Box::pin(async move {
            let res = fut.await;
            // Errors come back trailers-only, with grpc-status in the headers; success puts it in
            // the trailers, which a unary RPC always ends with 0.
            let code = match &res {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport".to_owned(),
            };
            let m = metrics();
            m.rpc_requests.with_label_values(&[&method, &code]).inc();
            m.rpc_duration
                .with_label_values(&[&method])
                .observe(start.elapsed().as_secs_f64());
            if code != "0" {
                tracing::Span::current().record("rpc.grpc.status_code", code.as_str());
            }
            res
        })
    }
}

/// Before a handler verifies the caller's token: when the token names a signing key the JWKS
/// cache does not hold yet (a rotation at the identity provider), fetch the key set first, so
/// the handler's (synchronous) verification finds it.
#[derive(Clone)]
pub struct KeyLayer(pub crate::auth::Verifier);

impl<S> Layer<S> for KeyLayer {
    type Service = KeyService<S>;
    fn layer(&self, inner: S) -> KeyService<S> {
        KeyService {
            inner,
            verifier: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct KeyService<S> {
    inner: S,
    verifier: crate::auth::Verifier,
}

impl<S, B> Service<http::Request<B>> for KeyService<S>
where
    S: Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call (the tower idiom).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            if let Some(token) = token
                && verifier.uses_jwks()
            {
                verifier.ensure_key(&token).await;
            }
            inner.call(req).await
        })
    }
}

/// The gRPC services a process serves, with their names for the health service.
#[derive(Default)]
pub struct Services {
    routes: tonic::service::Routes,
    names: Vec<&'static str>,
    /// Where the RPCs' spans find the first trace of their request (the service's database).
    first_traces: Option<FirstTraces>,
}

impl Services {
    pub fn with<S>(mut self, svc: S) -> Self
    where
        S: Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes = self.routes.add_service(svc);
        self.names.push(S::NAME);
        self
    }

    /// Links each RPC about a request to the request's first trace (DESIGN §9).
    pub fn with_first_traces(mut self, first_traces: Option<FirstTraces>) -> Self {
        self.first_traces = first_traces;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Serves `services` plus health and reflection (v1 and v1alpha, for older clients such as
/// grpcurl 1.8) on `listener` until `shutdown` fires; in-flight RPCs get to finish. Health
/// follows `readiness`.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    settings: &ServerSettings,
    readiness: Readiness,
    verifier: Option<crate::auth::Verifier>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let names = services.names.clone();
    let watcher = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let status = if readiness.check().await.ready {
                    tonic_health::ServingStatus::Serving
                } else {
                    tonic_health::ServingStatus::NotServing
                };
                for name in &names {
                    reporter.set_service_status(*name, status).await;
                }
                reporter.set_service_status("", status).await;
                tokio::select! {
                    _ = shutdown.wait() => {
                        for name in &names {
                            reporter.set_service_status(*name, tonic_health::ServingStatus::NotServing).await;
                        }
                        reporter.set_service_status("", tonic_health::ServingStatus::NotServing).await;
                        return;
                    }
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        })
    };
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(aftersales_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(aftersales_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let trace = TraceLayer::new_for_grpc()
        .make_span_with(rpc_span)
        .on_request(())
        .on_response(())
        .on_failure(())
        .on_body_chunk(())
        .on_eos(());
    let routes = services
        .routes
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_alpha);
    let keys = tower::util::option_layer(verifier.map(KeyLayer));
    let result = Server::builder()
        .timeout(Duration::from_millis(settings.request_timeout_ms))
        .layer(trace)
        .layer(FirstTraceLayer(services.first_traces))
        .layer(RedLayer)
        .layer(keys)
        .add_routes(routes)
        .serve_with_incoming_shutdown(nodelay(listener), shutdown.wait())
        .await;
    watcher.abort();
    Ok(result?)
}

/// The accepted connections with `TCP_NODELAY` set. tonic's own `tcp_nodelay` (on by default)
/// is ignored by `serve_with_incoming*`; without it, Nagle holds the second write of a response
/// (HTTP/2 sends headers, data and trailers as separate frames) until the client's delayed ACK,
/// up to 40 ms: under load every call on a busy connection took 40 ms or more (`make bench`
/// measured intake over gRPC capped at 16 callers / 44 ms, whatever the database could do).
fn nodelay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY on an accepted connection");
        }
        Ok(stream)
    })
}

/// Injects the current span's trace context, the request number of its work as baggage and,
/// when set, the caller's bearer token.
#[derive(Clone, Debug, Default)]
pub struct ClientInterceptor {
    authorization: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl ClientInterceptor {
    /// Forwards `token` as `authorization: Bearer <token>`.
    pub fn with_token(token: &str) -> Result<Self, Status> {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::unauthenticated("token is not valid header text"))?;
        Ok(Self {
            authorization: Some(value),
        })
    }
}

impl Interceptor for ClientInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        let span = tracing::Span::current();
        let cx = telemetry::request::with_baggage(span.context(), &span);
        global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(req.metadata_mut().as_mut()))
        });
        if let Some(auth) = &self.authorization {
            req.metadata_mut().insert("authorization", auth.clone());
        }
        Ok(req)
    }
}

/// A lazily connecting channel with a default deadline for every call.
pub fn channel(url: &str, default_deadline: Duration) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(default_deadline)
        .tcp_nodelay(true)
        .connect_lazy())
}
