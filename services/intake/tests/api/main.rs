//! Intake against the real Postgres and RabbitMQ on 127.0.0.1.
mod auth;
mod cancel;
mod config;
mod faults;
mod helpers;
mod list;
mod notify;
mod sabotage;
mod stuck;
mod submit;
mod timeline;
mod tracing;
mod validation;
