//! Procurement: the qualified-supplier register and its computed scorecard (warning, then
//! suspension), supplier quotes and their comparison by a documented rule, purchase orders for
//! shortages (coalesced per part within a window) and low stock, receipts advancing them,
//! overdue alarms, cancelled requests taken off, and the purchase-cost report.
//!
//! # Layout
//! - [`app`]: the service as the kit runs it (its spec, its parts, `procurement seed`).
//! - [`config`]: its own settings section `[procurement]` and the policy file.
//! - [`domain`]: identifiers and amounts, the policy data, the supplier status ladder, the
//!   scorecard, the supplier rule, the PO state machine, the replenishment quantity, the cost
//!   report. Pure.
//! - [`store`]: the tables (suppliers, quotes, POs and lines, requests and demands, receipts,
//!   field failures, low-stock signals), their migrations, and the lock order.
//! - [`service`]: the operations, one transaction each, taking parsed commands: `suppliers`,
//!   `quotes`, `orders`, `sourcing` (shortage, low stock, cancellation), `receipts`, `scans`
//!   (overdue, fix-by, sourcing), `promised` (the promised date's SLA clock, re-derived when the
//!   calendar changes: at start-up and `procurement sla recompute`), `cost`.
//! - [`grpc`]: the tonic service: authorize, parse each request once (`TryFrom` into a command,
//!   in `grpc/<area>`), call [`service`], answer.
//! - [`wire`]: the domain ↔ protobuf conversions, the one place that knows a proto enum's numbers.
//! - [`events`]: what procurement consumes, one handler per routing key, subscribed in one place.
//! - [`error`]: the platform's error kinds (one gRPC mapping, one consumer retry rule).
//! - [`demo`]: the demo suppliers and quotes for `make up` (`procurement seed`).
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod service;
pub mod store;
pub mod wire;
