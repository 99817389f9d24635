//! Feedback against the real Postgres and RabbitMQ on 127.0.0.1.
mod assessment;
mod auth;
mod cancel_race;
mod complaints;
mod helpers;
mod kpis;
mod lifecycle;
mod recompute;
mod replicas;
mod sabotage;
mod surveys;
mod visits;
