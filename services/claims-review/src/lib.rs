//! Claims-review: decides a request's eligibility against versioned policy data (warranty
//! windows per category and part class, non-returnable categories, documents, misuse, service
//! contracts), sets coverage FREE / PAID / CONTRACT per part line with fees, and keeps the review
//! queue with its working-day deadline.
//!
//! # Layout
//! - [`config`]: typed settings (the platform's plus `[claims_review]`) and the policy file.
//! - [`domain`]: the policy data, the evaluation with its explanation, the claim's status machine
//!   and the review deadline. Pure.
//! - [`store`]: the `claims` and `claim_commands` tables and their migrations.
//! - [`service`]: the operations, one transaction each (open, get, list, decide, provide info,
//!   deadline scan).
//! - [`mapping`]: request / claim messages ↔ the domain's input and evaluation; event payloads.
//! - [`grpc`]: the tonic service: parse and authorize, call [`service`], answer.
//! - [`events`]: what claims-review consumes, one handler per kind of event, subscribed in one
//!   place.
//! - [`sla`]: the deadline scanner task.
//! - [`error`]: the error kinds and their mapping to gRPC status.
//! - [`app`]: startup and the tasks that run side by side.
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
