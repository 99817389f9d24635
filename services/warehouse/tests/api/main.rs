//! The warehouse against the real Postgres and RabbitMQ on 127.0.0.1.
mod abc;
mod cancel_race;
mod catalogue;
mod concurrency;
mod config;
mod helpers;
mod issue;
mod old_parts;
mod paging;
mod properties;
mod receipt;
mod reservations;
mod returns;
mod sabotage;
mod seed;
mod stocktake;
mod validation;
