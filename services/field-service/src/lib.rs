//! Field service: technicians and their capacity, appointments (slots held in Redis while
//! someone confirms, booked in Postgres where a slot can never be booked twice), dispatch, work
//! orders and the repair status board, the arrival deadline in working hours, paid work
//! (quotation and change approval), completion with the exit inspection, tool loans, and rework.
//!
//! # Layout
//! - [`app`]: the service as the platform kit runs it (its spec, its parts, `field-service seed`).
//! - [`config`]: its own settings section `[field_service]` and the policy file.
//! - [`domain`]: the rules, pure: the board's state machine, the work order aggregate, the
//!   arrival deadline, appointment windows and the ranking of slots, quotation and changes,
//!   rework, tool loans, the policy as data. Property-tested beside the code.
//! - [`store`]: the tables (technicians, work orders, appointments, markers of cancelled and
//!   delivered requests, tool loans, idempotency keys) and their migrations.
//! - [`service`]: the operations, one transaction each, taking parsed commands; the Redis
//!   holds; the arrival deadline's SLA clock (re-derived when the calendar or the policy changes:
//!   at start-up and `field-service sla recompute`) and its scanner.
//! - [`grpc`]: the tonic service: authorize, parse each request once (`TryFrom` into a command,
//!   in `grpc/parse`), call [`service`], answer.
//! - [`wire`]: the domain ↔ protobuf conversions, the one place that knows a proto enum's
//!   numbers.
//! - [`events`]: what field-service consumes, one handler per kind of event, subscribed in one
//!   place.
//! - [`error`]: the platform's error kinds, and the rules' refusals mapped onto them.
//! - [`demo`]: the demo technicians for `make up` (`field-service seed`).
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
