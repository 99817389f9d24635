//! Warehouse: the spare-parts catalogue, zones, the append-only stock ledger, reservations and
//! back-orders, inbound receipt with inspection, outbound only against a pick list, dealers' old
//! parts by batch, advance exchanges from turnover stock and dealers' parts orders (both shipped
//! as consignments to the dealer). It holds the money: stock levels
//! move only together with a ledger row, in one transaction, under row locks taken in a fixed
//! order, and the database refuses negative or over-reserved stock.
//!
//! # Layout
//! - [`app`]: the service as the platform kit runs it (its spec, its parts, `warehouse seed`).
//! - [`config`]: its own settings section `[warehouse]`.
//! - [`domain`]: quantities, zones, movement kinds, catalogue entries, product models and their
//!   lifecycle, the reservation plan (all or nothing / partial), pick-list ids (first and
//!   replacements), pick-list matching, the low-stock crossing, stocktake accuracy, ABC classes,
//!   how many bad lines an error names, dealer codes, how a dealer's old parts are identified
//!   and analysed, the states of an advance exchange, what a consignment to a dealer is. Pure. Part, request and branch numbers
//!   are the platform's identifiers.
//! - [`store`]: the tables (parts, product models, stock levels, ledger, reservations, receipts,
//!   returned units, old parts, supplier returns, stocktakes, closed periods, dealers' expected
//!   old parts and old-part batches, turnover transfers, advance exchanges, dealers' parts
//!   orders) and their migrations.
//! - [`service`]: the operations, one transaction each, taking parsed commands:
//!   `service/catalogue`, `models` (product models, and their lifecycle for the reservation
//!   events), `stock` (levels, ledger, back-orders, adjustments), `inbound` (receipt
//!   and inspection), `reservations` (reserve, reserve replacements, serve back-orders,
//!   release), `outbound` (issue), `returns` (by a clerk or on a completed pick-up),
//!   `old_parts` (and returns to suppliers), `dealer_parts` (dealers' old parts by batch),
//!   `exchanges` (turnover stock, advance exchanges and their overdue scanner), `dealer_orders`
//!   (dealers' parts orders, and the consignment event both announce), `stocktake` (and period
//!   close), `abc`.
//! - [`grpc`]: the tonic service: authorize (roles and branch, whatever the gateway checked),
//!   parse each request once (`TryFrom` into a command, in `grpc/<area>`), call [`service`],
//!   answer.
//! - [`wire`]: the domain ↔ protobuf conversions, the one place that knows a proto enum's numbers.
//! - [`events`]: what the warehouse consumes, one handler per kind of event, subscribed in one
//!   place.
//! - [`error`]: the platform's error kinds (one gRPC mapping, one consumer retry rule).
//! - [`demo`]: the demo product models, parts and stock for `make up` (`warehouse seed`).
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
