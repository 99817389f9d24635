//! Warehouse: the spare-parts catalogue, zones, the append-only stock ledger, reservations and
//! back-orders, inbound receipt with inspection, and outbound only against a pick list. It holds
//! the money: stock levels move only together with a ledger row, in one transaction, under row
//! locks taken in a fixed order, and the database refuses negative or over-reserved stock.
//!
//! # Layout
//! - [`config`]: typed settings (the platform's plus `[warehouse]`).
//! - [`domain`]: part numbers, quantities, zones, movement kinds, the reservation plan (all or
//!   nothing / partial), pick-list matching, the low-stock crossing, stocktake accuracy, ABC
//!   classes. Pure.
//! - [`store`]: the tables (parts, stock levels, ledger, reservations, receipts, returned units,
//!   old parts, supplier returns, stocktakes, closed periods) and their migrations.
//! - [`service`]: the operations, one transaction each (catalogue, stock queries, receipt and
//!   inspection, reserve / release / issue, returned units, old parts, returns to suppliers,
//!   stocktake, period close, ABC classification).
//! - [`grpc`]: the tonic service: parse and authorize, call [`service`], answer.
//! - [`events`]: what the warehouse consumes, one handler per kind of event, subscribed in one
//!   place.
//! - [`error`]: the error kinds and their mapping to gRPC status and consumer failures.
//! - [`app`]: startup and the tasks that run side by side.
//! - [`demo`]: the demo parts and stock for `make up` (`warehouse seed`).
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
