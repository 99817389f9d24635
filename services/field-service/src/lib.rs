//! Field service: technicians, appointments, dispatch, work orders, arrival SLA, rework.
//!
//! # Layout
//! - [`app`]: the service as the kit sees it (spec, settings, what it runs).
//! - [`config`]: its own settings section `[field_service]`.
//! - [`store`]: its tables and migrations.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod config;
pub mod store;
