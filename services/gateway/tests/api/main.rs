//! The gateway against real intake (and, in `mesh`, claims-review and warehouse; in `matrix`,
//! `procurement`, `logistics`, `fieldservice` and `feedback`, every service) in process, Redis,
//! Postgres and RabbitMQ on 127.0.0.1.
mod auth;
mod binary;
mod board;
mod browser;
mod concurrency;
mod dealers;
mod faults;
mod feedback;
mod fieldservice;
mod helpers;
mod idempotency;
mod identifiers;
mod identity;
mod kpis_page;
mod logistics;
mod matrix;
mod mesh;
mod notifications;
mod pages;
mod peers;
mod photos;
mod procurement;
mod ratelimit;
mod requests;
mod stream;
mod tracing;
