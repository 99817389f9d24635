//! Integration tests of the platform against the real Postgres and RabbitMQ on 127.0.0.1.
mod admin;
mod auth;
mod bus;
mod db;
mod grpc;
mod helpers;
mod kit;
mod outbox;
mod traces;
