//! Procurement against the real Postgres and RabbitMQ on 127.0.0.1.
mod access;
mod cancel_race;
mod cost;
mod helpers;
mod orders;
mod overdue;
mod receipts;
mod recompute;
mod replenishment;
mod sabotage;
mod seed;
mod shortage;
mod suppliers;
mod validation;
mod with_warehouse;
