//! logistics against the real Postgres and RabbitMQ on 127.0.0.1.
mod cancel_race;
mod config;
mod consignments;
mod exceptions;
mod flow;
mod helpers;
mod journey;
mod manual;
mod pickups;
mod replicas;
mod sabotage;
mod stats;
mod tracking;
mod validation;
mod warehouse;
