//! The gateway as a service of the kit (no database, Redis, a public HTTP listener beside the
//! admin port) and its router. The kit starts, supervises and stops it; the gateway runs its
//! HTTP server, the Redis stream reader and (through the kit's consumer) the live event feed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aftersales_platform::auth::{self, Role, Verifier};
use aftersales_platform::config::ConfigError;
use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use opentelemetry::global;
use opentelemetry_http::HeaderExtractor;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::config::{GatewayConfig, SERVICE, Settings};
use crate::contract::{self, Contract};
use crate::extract::authenticate;
use crate::idempotency::idempotency;
use crate::kv::Redis;
use crate::metrics::gateway_metrics;
use crate::peers::Peers;
use crate::photos::PhotoStore;
use crate::problem::Problem;
use crate::ratelimit;
use crate::stream::{Decoder, Feed, Hub};

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
    /// Where photos of a fault are kept, and their URLs signed.
    pub photos: PhotoStore,
    /// Fires when the gateway stops taking work (open streams end).
    pub shutdown: Shutdown,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct GatewayApp;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Mint a dev token (HS256, with auth.jwt_secret) and print it alone on the last line.
    Token {
        #[arg(long)]
        sub: String,
        /// A branch code, or `*` for head office.
        #[arg(long)]
        branch: String,
        /// Comma-separated: branch_agent, reviewer, warehouse, procurement, logistics,
        /// dispatcher, technician, analyst, admin (or dealer, with `--dealer`).
        #[arg(long, value_delimiter = ',', required_unless_present = "dealer")]
        roles: Vec<String>,
        /// A dealer's or agent's token (role `dealer`) acting for this dealer code.
        #[arg(long, conflicts_with = "roles")]
        dealer: Option<String>,
        /// Validity in hours.
        #[arg(long, default_value_t = 12)]
        hours: u64,
    },
}

impl kit::Service for GatewayApp {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "After-sales HTTP gateway: REST/JSON, auth, rate limits, idempotency, the live stream",
        section: "gateway",
        grpc_port: None,
        http_port: Some(8080),
        admin_port: 8081,
        database: None,
        migrations: &[],
        redis: true,
    };
    type Config = GatewayConfig;
    type Command = Command;

    async fn build(ctx: &mut Ctx<GatewayConfig>) -> anyhow::Result<Parts> {
        let settings = Settings::from_kit(&ctx.settings)?;
        crate::metrics::init()?;
        let redis = ctx.redis()?;
        let decoder = Decoder::new()?;
        let state = AppState(Arc::new(Shared {
            peers: Peers::new(&settings)?,
            verifier: ctx.verifier.clone(),
            hub: Hub::new(redis.clone()),
            redis: redis.clone(),
            decoder: decoder.clone(),
            photos: PhotoStore::new(&settings.gateway.photos)?,
            shutdown: ctx.shutdown.clone(),
            settings,
        }));
        let listener = ctx.take_http_listener()?;
        let app = router(state.clone())?;
        let feed = Feed::new(
            redis.clone(),
            decoder,
            state.settings.gateway.stream_max_len,
        );
        let reader = state.hub.clone();
        let probe = redis.clone();
        Ok(Parts::new()
            .subscriptions(feed.subscriptions())
            .consumer_waits_for(move || {
                let r = probe.clone();
                async move { r.ping().await }
            })
            .task("stream reader", move |stop| async move {
                reader.run_reader(stop).await;
                Ok(())
            })
            .task("http", move |stop| async move {
                // Without TCP_NODELAY, Nagle holds a small write (an SSE event, the rest of a
                // response) until the client's delayed ACK.
                let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY on an accepted connection");
                    }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.wait().await })
                    .await?;
                Ok(())
            }))
    }

    async fn command(command: Command, tool: Tool<GatewayConfig>) -> anyhow::Result<()> {
        let Command::Token {
            sub,
            branch,
            roles,
            dealer,
            hours,
        } = command;
        let secret = tool.dev_secret()?;
        let ttl = Duration::from_secs(hours * 3600);
        if let Some(code) = dealer {
            let t = auth::mint_hs256_dealer(&secret, &sub, &branch, &code, ttl)?;
            println!("token for {sub} (branch {branch}, dealer {code}), valid {hours} h:");
            println!("{t}");
            return Ok(());
        }
        let mut parsed = Vec::new();
        for r in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
            match Role::parse(r) {
                Some(role) => parsed.push(role),
                None => {
                    let known: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                    return Err(ConfigError::new(
                        "--roles",
                        format!("{r:?} is not one of {}", known.join(", ")),
                    )
                    .into());
                }
            }
        }
        let t = auth::mint_hs256(&secret, &sub, &branch, &parsed, ttl)?;
        println!(
            "token for {sub} (branch {branch}, roles {}), valid {hours} h:",
            roles.join(",")
        );
        println!("{t}");
        Ok(())
    }
}

/// Every route, from the handlers' `OpenApiRouter`s: the operations that need a token
/// (authentication, then the caller's and the branch's rate limits, then the document's gate,
/// then idempotency for POSTs) and the public ones (the document's gate only). The document
/// built from the same routers is the gate's ([`crate::contract`]) and `/openapi.json`.
pub fn router(state: AppState) -> anyhow::Result<Router> {
    let (authed, public) = api::routers();
    let (authed, authed_doc) = authed.split_for_parts();
    let (public, public_doc) = public.split_for_parts();
    let contract = Arc::new(Contract::new(&api::assemble(authed_doc, public_doc))?);
    let authed = authed
        .layer(middleware::from_fn_with_state(state.clone(), idempotency))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            contract::enforce,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let public = public.layer(middleware::from_fn_with_state(
        state.clone(),
        contract::enforce,
    ));
    Ok(Router::new()
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
        .layer(axum::Extension(contract))
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
        .with_state(state))
}

/// The root span of a request's trace (or a child of the caller's `traceparent`). It carries the
/// request number (`aftersales.request_no`): from the caller's `baggage` when it sent one, from
/// the handler (`record_request_no`) when the route names the request or its answer does; every
/// span under it gets it too, and the peers get it as baggage.
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
    telemetry::request::note_from_baggage(&span, &parent);
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
    // The access log: inside the request's span, so it carries the trace id that every service
    // the request reaches logs too.
    tracing::info!(method = %method, route = %route, status = %status, elapsed_ms = start.elapsed().as_millis() as u64, "request served");
    let m = gateway_metrics();
    m.http_requests
        .with_label_values(&[&route, &method, &status])
        .inc();
    m.http_duration
        .with_label_values(&[&route])
        .observe(start.elapsed().as_secs_f64());
    res
}
