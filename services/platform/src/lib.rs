//! Everything every after-sales service shares, in one place (DESIGN §4). Services import from
//! here; nothing of it is copied into a service.
//!
//! # Layout
//! - [`config`]: layered settings (defaults → file → `AFTERSALES__…` environment), validated
//!   before anything binds; a bad value exits 64 naming the key.
//! - [`telemetry`]: JSON logs with trace ids, OTLP export, W3C propagation, Prometheus metrics.
//! - [`auth`]: verifies the caller's JWT from gRPC metadata; roles and branch scope.
//! - [`grpc`]: server (health, reflection, trace layer, RED metrics, graceful shutdown) and
//!   client (trace-injecting interceptor, default deadline); one `Status` shape for bad input.
//! - [`http_admin`]: `/healthz`, `/readyz`, `/metrics` on the admin port.
//! - [`db`]: pooled connection, migrations under a transaction-scoped advisory lock.
//! - [`outbox`]: stage an event in the business transaction; the relay publishes with confirms.
//! - [`bus`]: RabbitMQ connection, topology, and the idempotent consumer loop with retry and DLQ.
//! - [`calendar`]: working days and hours with holidays, for every deadline.
//! - [`shutdown`]: one cancellation signal for servers, relay and consumers.
//! - [`testing`] (feature `testing`): fresh database per test, unique broker names, OTLP sink.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod auth;
pub mod bus;
pub mod calendar;
pub mod config;
pub mod db;
pub mod grpc;
pub mod http_admin;
pub mod outbox;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use aftersales_proto as proto;
