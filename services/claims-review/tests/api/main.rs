//! Claims-review against the real Postgres and RabbitMQ on 127.0.0.1.
mod cancel_race;
mod config;
mod deadline;
mod dealers;
mod dealers_shipped;
mod decide;
mod helpers;
mod intake_events;
mod legacy;
mod queue;
mod refunds;
mod replicas;
mod sabotage;
mod sla;
mod tracing;
