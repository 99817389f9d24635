//! Intake: receives service requests from every channel, issues the tracking number
//! `AS-<YYMM>-<branch>-<seq>`, and keeps each request's lifecycle and timeline so a branch can
//! answer "where is my repair?" from here alone.
//!
//! # Layout
//! - [`config`]: typed settings (the platform's plus `[intake]`).
//! - [`domain`]: what a valid request is, tracking numbers, the status lifecycle. Pure.
//! - [`store`]: the `requests`, `tracking_sequences`, `timeline` and `photos` tables and their
//!   migrations.
//! - [`service`]: the operations, one transaction each (submit, get, list, cancel, timeline,
//!   photos).
//! - [`grpc`]: the tonic service: parse and authorize, call [`service`], answer.
//! - [`events`]: what intake consumes, one handler per kind of event, subscribed in one place.
//! - [`error`]: the error kinds and their mapping to gRPC status.
//! - [`app`]: startup and the tasks that run side by side.
//! - [`notify`]: messages to the customer and the branch for each step, their log and sender.
//! - [`demo`]: demo requests for `make up` (`intake seed`).
//! - [`metrics`]: the stuck-requests gauge.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod metrics;
pub mod notify;
pub mod service;
pub mod store;
