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
//! - [`clock`]: the one "now" of a service; tests move it.
//! - [`scanner`]: scans on a schedule that run once across replicas.
//! - [`sla`]: SLA clocks: every deadline derived from its events, the policy and the calendar,
//!   stored as inputs and re-derived when any of them changes (`<service> sla recompute`).
//! - [`topology`]: every service's inbox and routing keys, declared by everyone.
//! - [`kit`]: the service kit: a service declares itself, the kit starts, supervises and stops it.
//! - [`error`]: the error kinds, their gRPC status and the consumer's retry rule.
//! - [`validate`], [`ids`], [`paging`]: bad-field collection, the shared identifiers, page tokens.
//! - [`backoff`]: the one retry delay (exponential, jitter, reset after success).
//! - [`kv`]: Redis with a key prefix.
//! - [`shutdown`]: one cancellation signal for servers, relay and consumers.
//! - [`testing`] (feature `testing`): any service in process or as its binary, fresh database per
//!   test, unique broker names, a fault proxy, an OTLP sink.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod auth;
pub mod backoff;
pub mod bus;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod http_admin;
pub mod http_client;
pub mod ids;
pub mod kit;
pub mod kv;
pub mod outbox;
pub mod paging;
pub mod scanner;
pub mod shutdown;
pub mod sla;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod topology;
pub mod validate;

pub use aftersales_proto as proto;
