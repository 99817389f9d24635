//! field-service against the real Postgres, RabbitMQ and Redis on 127.0.0.1.
mod board;
mod booking;
mod cancel_race;
mod end_to_end;
mod follow_up;
mod helpers;
mod lifecycle;
mod paid;
mod recompute;
mod replicas;
mod rework;
mod seed;
mod sla;
mod technicians;
mod tools;
mod validation;
