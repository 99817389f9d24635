//! Feedback: return visits after every completed job, delivery or refund (due in N working days),
//! the four-dimension survey (solved or not), complaints routed by category with escalation, the
//! quality archive, and the department's figures — KPIs per branch and period, top returned
//! parts, parts fill rate by model lifecycle, the technicians' month, the star-level
//! self-assessment — computed from an append-only log of every event it sees.
//!
//! # Layout
//! - [`app`]: the service as the kit sees it (spec, parts, `feedback rebuild-read-model`).
//! - [`config`]: its own settings section `[feedback]` and the policy file it points at.
//! - [`domain`]: periods, the policy data, the visit's status machine, the survey, complaints
//!   (routing, escalation ladder), the KPI arithmetic, the star-level assessment. Pure.
//! - [`store`]: its tables (cases, visits, surveys, complaints, idempotency keys, assessment
//!   entries), the event log and the KPI read model with its figures; migrations.
//! - [`service`]: the operations, one transaction each, taking parsed commands; every event
//!   consumed or produced is logged and projected in the transaction of its effect.
//! - [`projection`]: what each logged event says for the read model (envelope → facts).
//! - [`wire`]: domain ↔ protobuf for answers and outgoing events.
//! - [`grpc`]: the tonic service: authorize, parse each request once (`TryFrom` into a command,
//!   in `grpc/<area>`), call [`service`], answer.
//! - [`events`]: what feedback consumes (every other service's events), one file per reaction.
//! - [`deadlines`]: the return-visit and complaint deadlines as the platform's SLA clocks
//!   (re-derived when the calendar or the policy changes: at start-up and `feedback sla
//!   recompute`) and the complaint-deadline scanner.
//! - [`error`]: the platform's error kinds (one gRPC mapping, one consumer retry rule).
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod config;
pub mod deadlines;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod projection;
pub mod service;
pub mod store;
pub mod wire;
