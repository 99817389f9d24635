//! Logistics: the delivery method by urgency, region and cost from a rate table; shipments with a
//! packing list and a waybill; carrier tracking that never moves a shipment back; delay, damage
//! and loss exceptions with replacement shipments; door pick-ups of returned units; freight
//! statistics; dealers' consignments (a parts order, an advance exchange's good unit) shipped with
//! their own notice, apart from requests. A request cancelled before dispatch gets no shipment,
//! whatever order its events arrive in.
//!
//! # Layout
//! - [`app`]: the service as the platform kit runs it (its spec, its parts).
//! - [`config`]: its own settings section `[logistics]` and the rate table it loads.
//! - [`domain`]: the rate table (policy data), the method choice with its explanation, packing,
//!   the tracking state machine, the sim carrier's sequence, the pick-up fee. Pure.
//! - [`carrier`]: carriers behind one adapter trait (`sim`, and carriers recorded by hand).
//! - [`store`]: the tables (requests, shipments, pick-ups, tracking, exceptions, the sim
//!   schedule, parts issued before their plan, dealers' consignments) and their migrations.
//! - [`service`]: the operations, one transaction each, taking parsed commands, under the
//!   request's lock (a dealer's consignment: under its consignment_id's).
//! - [`scanners`]: the sim carrier, the ETA watch, the returns chase, as platform scanners.
//! - [`grpc`]: the tonic service: authorize, parse once (`grpc/parse`), call [`service`], answer.
//! - [`wire`]: the domain ↔ protobuf conversions and the events published.
//! - [`events`]: what logistics consumes, one handler per routing key, subscribed in one place.
//! - [`error`]: the platform's error kinds (one gRPC mapping, one consumer retry rule).
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub mod carrier;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod scanners;
pub mod service;
pub mod store;
pub mod wire;
