//! Claims-review: decides a request's eligibility against versioned policy data (warranty
//! windows per category and part class, non-returnable categories, documents, misuse, service
//! contracts), sets coverage FREE / PAID / CONTRACT per part line with fees, and keeps the review
//! queue with its working-day deadline.
//!
//! # Layout
//! - [`config`]: its own settings section `[claims_review]` and the policy file it points at.
//! - [`domain`]: the policy data, the evaluation with its explanation, the claim's status
//!   machine, the review deadline, the refund and the commands. Pure.
//! - [`store`]: the `claims` and `claim_commands` tables and their migrations.
//! - [`service`]: the operations, one transaction each (open, cancel, get, list, decide,
//!   provide info, refund), reading "now" from the kit's clock.
//! - [`mapping`]: request / claim messages ↔ the domain's input and evaluation; event payloads.
//! - [`grpc`]: the tonic service: authorize, parse each request once into its command
//!   ([`grpc::parse`]), call [`service`], answer.
//! - [`events`]: what claims-review consumes, one handler per kind of event, subscribed in one
//!   place.
//! - [`sla`]: the review-deadline scanner (the platform's, once across replicas) and its scan.
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
