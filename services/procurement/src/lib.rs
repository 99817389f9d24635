//! Procurement: qualified suppliers, quotes, purchase orders, overdue alarms, cost reports.
//!
//! # Layout
//! - [`app`]: the service as the kit sees it (spec, settings, what it runs).
//! - [`config`]: its own settings section `[procurement]`.
//! - [`store`]: its tables and migrations.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod config;
pub mod store;
