//! Startup and the router: bind the port, then serve the API, the event feed and the buffer
//! reader side by side until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aftersales_platform::auth::Verifier;
use aftersales_platform::bus::Bus;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use opentelemetry::global;
use opentelemetry_http::HeaderExtractor;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::config::{Settings, Validated};
use crate::extract::authenticate;
use crate::idempotency::idempotency;
use crate::kv::Redis;
use crate::metrics::gateway_metrics;
use crate::peers::Peers;
use crate::problem::Problem;
use crate::ratelimit;
use crate::stream::{self, Decoder, Hub};

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    pub verifier: Verifier,
    pub peers: Peers,
    pub redis: Redis,
    pub hub: Hub,
    pub decoder: Decoder,
    pub shutdown: Shutdown,
    /// True while the event feed is consuming (the stream is live).
    pub feed_ready: Arc<AtomicBool>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl App {
    /// Checks the keys, builds the peers' channels (lazy), Redis (lazy) and binds the port
    /// (port 0 in tests). Nothing here needs a peer, Redis or the broker to be up.
    pub async fn build(
        settings: Settings,
        validated: Validated,
        shutdown: Shutdown,
    ) -> anyhow::Result<App> {
        let verifier = Verifier::from_settings(&settings.auth)?;
        let peers = Peers::new(&settings)?;
        let redis = Redis::new(&settings.redis)?;
        let hub = Hub::new(redis.clone());
        let decoder = Decoder::new()?;
        let listener = TcpListener::bind(validated.http_addr).await?;
        let addr = listener.local_addr()?;
        let state = AppState(Arc::new(Shared {
            settings,
            verifier,
            peers,
            redis,
            hub,
            decoder,
            shutdown,
            feed_ready: Arc::new(AtomicBool::new(false)),
        }));
        Ok(App {
            listener,
            addr,
            state,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the shutdown given to [`App::build`] fires; open requests and streams
    /// get the grace period to finish.
    pub async fn run(self) -> anyhow::Result<()> {
        let state = self.state;
        let shutdown = state.shutdown.clone();
        let s = &state.settings;
        let queue = format!("{}{}", s.amqp.name_prefix, s.gateway.stream_queue);
        let feed = tokio::spawn(stream::run_feed(
            Bus::new(&s.amqp),
            queue,
            state.redis.clone(),
            state.decoder.clone(),
            s.gateway.stream_max_len,
            state.feed_ready.clone(),
            shutdown.clone(),
        ));
        let reader = tokio::spawn(state.hub.clone().run_reader(shutdown.clone()));
        let grace = Duration::from_millis(s.server.shutdown_grace_ms);
        tracing::info!(http = %self.addr, "gateway serving");
        let served = {
            let shutdown = shutdown.clone();
            axum::serve(self.listener, router(state.clone()))
                .with_graceful_shutdown(async move { shutdown.wait().await })
                .await
        };
        shutdown.trigger();
        let _ = tokio::time::timeout(grace, async {
            let _ = feed.await;
            let _ = reader.await;
        })
        .await;
        Ok(served?)
    }
}

/// Every route. `/v1` needs a token (then the branch's rate limit, then idempotency for POSTs);
/// the admin endpoints, docs, board and carrier webhooks (HMAC-signed) do not.
pub fn router(state: AppState) -> Router {
    let mut authed = Router::new();
    let mut public = Router::new();
    for r in api::routes() {
        if r.auth {
            authed = authed.route(r.path, r.handler);
        } else {
            public = public.route(r.path, r.handler);
        }
    }
    let authed = authed
        .layer(middleware::from_fn_with_state(state.clone(), idempotency))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(authed)
        .merge(public)
        .fallback(|| async { Problem::not_found("no such resource") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not answer that method; see /openapi.json",
            )
        })
        .layer(middleware::from_fn(count))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(http_span)
                .on_request(())
                .on_response(())
                .on_failure(())
                .on_body_chunk(())
                .on_eos(()),
        )
        .layer(DefaultBodyLimit::max(state.settings.server.max_body_bytes))
        .with_state(state)
}

/// The root span of a request's trace (or a child of the caller's `traceparent`).
fn http_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{} {route}", req.method()),
        otel.kind = "server",
        http.request.method = %req.method(),
        http.route = %route,
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
        enduser.id = tracing::field::Empty,
        aftersales.request_no = tracing::field::Empty,
    );
    let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
    telemetry::set_parent(&span, parent);
    span
}

/// RED metrics by route and the status on the span.
async fn count(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    tracing::Span::current().record("http.response.status_code", status.as_str());
    let m = gateway_metrics();
    m.http_requests
        .with_label_values(&[&route, &method, &status])
        .inc();
    m.http_duration
        .with_label_values(&[&route])
        .observe(start.elapsed().as_secs_f64());
    res
}

#[derive(serde::Serialize)]
struct Ready {
    stream: bool,
    redis: bool,
}

/// Ready once the event feed consumes (the API itself works without it, and without Redis).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let report = Ready {
        stream: state.feed_ready.load(Ordering::SeqCst),
        redis: state.redis.ping().await,
    };
    let code = if report.stream {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(report))
}
