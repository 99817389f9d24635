//! `loadgen`: the load generator of `make bench` (loadtest/bench.sh). Every command prints one
//! JSON object on stdout for the script to read; progress goes to stderr. Every target is on
//! loopback and every run is bounded by its `--duration`.
//!
//! - `loadgen http` / `loadgen grpc`: submissions through the gateway (`POST /v1/requests` with a
//!   JWT and an `Idempotency-Key`) or straight to intake (`SubmitRequest`). `--callers N` is the
//!   closed model (N callers back to back: capacity); `--rate R` the open model (a constant
//!   arrival rate; each latency is measured from the request's intended send time, so a stall
//!   of the system or of the generator counts against the system instead of hiding: the
//!   coordinated-omission correction). `--lag-exchange` measures, during the run, the event lag
//!   from the envelope's `occurred_at` (stamped in the producing transaction) to a consumer
//!   queue, and `--sse-url` to the gateway's SSE stream.
//! - `loadgen drain`: stages a backlog of outbox rows in a service's database in one
//!   transaction and measures how fast the running relay publishes it to a consumer.
//! - `loadgen mesh`: starts the whole mesh ([`aftersales_mesh::Mesh`]), stocks the part, submits
//!   through the gateway at saturation and counts the requests whose automatic chain reached
//!   `logistics.shipment.planned`, with the lag of each hop from the events' timestamps.
//!
//! # Layout
//! - [`run`]: the open and closed models and what a run reports (HdrHistogram, CPU).
//! - [`http`]: the HTTP/1.1 client of the gateway leg, with its one retry rule.
//! - [`grpc`]: the gRPC client of the intake leg.
//! - [`body`]: the submission, as JSON and as protobuf, and the tokens.
//! - [`events`]: a consumer queue on the events exchange and the SSE stream: lags.
//! - [`drain`]: the relay's drain of a backlog.
//! - [`mesh`]: the whole mesh's lifecycles per second.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
// The service boundary of .clippy.toml (only the platform opens runtimes, broker and database
// connections) is for services on the kit. The generator is a client from outside: it sizes its
// own runtime, binds a queue of its own and writes a backlog straight into a service's outbox.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod body;
mod drain;
mod events;
mod grpc;
mod http;
mod mesh;
mod run;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator of make bench (JSON on stdout)"
)]
struct Cli {
    /// Worker threads of the generator's runtime.
    #[arg(long, global = true, default_value_t = 2)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Debug)]
pub struct Load {
    /// Closed model: this many callers back to back.
    #[arg(long, conflicts_with = "rate")]
    pub callers: Option<usize>,
    /// Open model: this many submissions per second, on schedule.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Open model: requests outstanding at most (beyond it a request waits, its latency still
    /// counted from its intended send time).
    #[arg(long, default_value_t = 2048)]
    pub max_in_flight: usize,
    /// HS256 secret the tokens are signed with.
    #[arg(long)]
    pub secret: String,
    /// Branches B001..Bnnn the submissions are spread over (one token each).
    #[arg(long, default_value_t = 20)]
    pub branches: usize,
    /// During the run, the lag from commit to a consumer queue bound on this exchange.
    #[arg(long)]
    pub lag_exchange: Option<String>,
    /// During the run, the lag from commit to the gateway's SSE stream at this base URL.
    #[arg(long)]
    pub sse_url: Option<String>,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub amqp: String,
}

impl Load {
    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup)
    }
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Submissions through the gateway (HTTP).
    Http {
        /// The gateway's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[command(flatten)]
        load: Load,
    },
    /// Submissions straight to intake (gRPC).
    Grpc {
        /// intake's gRPC URL.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        url: String,
        /// HTTP/2 connections the calls are spread over.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[command(flatten)]
        load: Load,
    },
    /// The relay draining a backlog staged in one transaction.
    Drain(drain::Opts),
    /// The whole mesh at saturation: lifecycles per second and the lag of each hop.
    Mesh(mesh::Opts),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()?;
    let out = rt.block_on(async move {
        match cli.command {
            Command::Http { url, load } => http::run(&url, &load).await,
            Command::Grpc {
                url,
                connections,
                load,
            } => grpc::run(&url, connections, &load).await,
            Command::Drain(opts) => drain::run(&opts).await,
            Command::Mesh(opts) => mesh::run(&opts).await,
        }
    })?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    // Connections and consumers still open end with the runtime, not after a wait.
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
