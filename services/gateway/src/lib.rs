//! The gateway: the front door for regional branches, partners and the dispatch board. REST/JSON
//! over the services' gRPC (DESIGN §8), authentication and branch scoping, per-branch rate
//! limits and idempotency keys in Redis, the live event stream (SSE) and the board page.
//!
//! # Layout
//! - [`config`]: typed settings (its own sections plus the platform's `auth`, `amqp`,
//!   `telemetry`); no database.
//! - [`app`]: startup, the router and its layers (trace span, metrics, body limit).
//! - [`api`]: the resources, each handler annotated for the OpenAPI document (utoipa), and the
//!   document itself; [`contract`]: the document as the gate (roles, branch scope, schemas).
//! - [`extract`]: the caller's token, JSON bodies that name the bad field.
//! - [`problem`]: RFC 9457 problem details and the gRPC-status mapping.
//! - [`peers`]: gRPC channels to the services; calls forward the caller's JWT and the trace.
//! - [`kv`]: Redis, and how a feature degrades without it.
//! - [`ratelimit`]: per-caller and per-branch token buckets (Lua, atomic).
//! - [`idempotency`]: `Idempotency-Key` on POSTs, per caller and branch.
//! - [`stream`]: events from the broker into a Redis stream, and `GET /v1/events/stream`.
//! - [`metrics`]: the gateway's own Prometheus metrics.
//! - [`photos`]: the photo store (local directory or S3 through `object_store`), type sniffing,
//!   thumbnails and signed URLs.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod api;
pub mod app;
pub mod config;
pub mod contract;
pub mod extract;
pub mod idempotency;
pub mod kv;
pub mod metrics;
pub mod peers;
pub mod photos;
pub mod problem;
pub mod ratelimit;
pub mod stream;
