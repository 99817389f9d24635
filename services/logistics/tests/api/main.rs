//! logistics against the real Postgres and RabbitMQ on 127.0.0.1.
