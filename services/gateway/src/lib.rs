//! The gateway: the front door for regional branches, partners and the dispatch board. REST/JSON
//! over the services' gRPC (DESIGN §8), authentication and branch scoping, per-branch rate
//! limits and idempotency keys in Redis, the live event stream (SSE) and the board page.
//!
//! # Layout
//! - [`config`]: typed settings (its own sections plus the platform's `auth`, `amqp`,
//!   `telemetry`); no database.
//! - [`app`]: startup, the router and its layers (trace span, metrics, body limit), `/readyz`.
//! - [`extract`]: the caller's token, role checks, JSON bodies that name the bad field.
//! - [`problem`]: RFC 9457 problem details and the gRPC-status mapping.
//! - [`peers`]: gRPC channels to the services; calls forward the caller's JWT and the trace.
//! - [`api`]: the resources: requests, claims, stock and the warehouse's receipts, pick lists,
//!   stocktakes, ledger and back-orders, carrier webhooks, board, OpenAPI.
//! - [`kv`]: Redis, and how a feature degrades without it.
//! - [`ratelimit`]: per-branch token bucket (Lua, atomic).
//! - [`idempotency`]: `Idempotency-Key` on POSTs.
//! - [`stream`]: events from the broker into a Redis stream, and `GET /v1/events/stream`.
//! - [`metrics`]: the gateway's own Prometheus metrics.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod api;
pub mod app;
pub mod config;
pub mod extract;
pub mod idempotency;
pub mod kv;
pub mod metrics;
pub mod peers;
pub mod problem;
pub mod ratelimit;
pub mod stream;
