//! The gateway against real intake (and, in `mesh`, claims-review and warehouse) in process,
//! Redis, Postgres and RabbitMQ on 127.0.0.1.
mod auth;
mod binary;
mod board;
mod browser;
mod concurrency;
mod faults;
mod helpers;
mod idempotency;
mod identifiers;
mod identity;
mod matrix;
mod mesh;
mod pages;
mod peers;
mod ratelimit;
mod requests;
mod stream;
mod tracing;
