//! Claims-review: decides a request's eligibility against versioned policy data (warranty
//! windows per category and part class, non-returnable categories, documents, misuse, service
//! contracts), sets coverage FREE / PAID / CONTRACT per part line with fees, and keeps the review
//! queue with its working-day deadline. For dealers and agents: their batch claims decided line
//! by line, charge-backs, parts orders shipped to them and their monthly statements.
//!
//! # Layout
//! - [`config`]: its own settings section `[claims_review]` and the policy file it points at.
//! - [`domain`]: the policy data, the evaluation with its explanation, the claim as kept (its
//!   detail stored as JSON) and its status machine, the review deadline, the refund, intake's
//!   submission, the commands, and the dealers' batches, shipments and statements. Pure.
//! - [`store`]: the `claims`, `claim_commands`, `refunds` and dealer tables and their
//!   migrations; rows come back as domain types.
//! - [`service`]: the operations, one transaction each (open, cancel, get, list, decide,
//!   provide info, refund), reading "now" from the kit's clock.
//! - [`mapping`]: domain → protobuf for the API's answers and the outgoing events, the field
//!   conversions the edges share, and the rows written as protobuf before migration 2. Protobuf
//!   stops at the edges (this, [`grpc`], [`events`]): [`service`], [`store`], [`sla`] and
//!   [`domain`] never see it.
//! - [`grpc`]: the tonic service: authorize, parse each request once into its command
//!   ([`grpc::parse`]), call [`service`], answer.
//! - [`events`]: what claims-review consumes, one handler per kind of event, subscribed in one
//!   place; each parses its event into a domain type.
//! - [`sla`]: the review deadline as the platform's SLA clock (claims-review re-derives it when
//!   the calendar or the policy changes: at start-up and `claims-review sla recompute`) and its
//!   scanner (the platform's, once across replicas).
//! - [`error`]: the platform's error kinds, their gRPC status and retry rule.
//! - [`app`]: the service as the kit sees it: its spec and the parts it runs.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod mapping;
pub mod service;
pub mod sla;
pub mod store;
