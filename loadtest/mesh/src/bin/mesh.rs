//! `mesh up`: the eight binaries started once on ports of their own (databases, broker names and
//! Redis keys of this run), described in an env file for scripts, until SIGINT/SIGTERM; then
//! everything is stopped and removed.

use std::path::PathBuf;

use aftersales_mesh::{Mesh, MeshOptions};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mesh", about = "The whole after-sales mesh on one machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service, write the env file, wait for SIGINT/SIGTERM, stop and clean up.
    Up {
        /// Where to write MESH_* variables (the gateway URL, each service's URL, admin address,
        /// database, the JWT secret); removed on exit.
        #[arg(long)]
        env_file: Option<PathBuf>,
        /// Export every process's spans to this OTLP/gRPC endpoint.
        #[arg(long)]
        otlp: Option<String>,
        #[arg(long, default_value = "warn")]
        log_level: String,
        /// SERVICE:KEY=VALUE (SERVICE may be `*`), repeatable.
        #[arg(long = "env")]
        env: Vec<String>,
        /// Keep the run's databases after stopping.
        #[arg(long)]
        keep_databases: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Command::Up {
        env_file,
        otlp,
        log_level,
        env,
        keep_databases,
    } = Cli::parse().command;
    let mut extra = Vec::new();
    for e in env {
        let (who, kv) = e
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--env {e}: expected SERVICE:KEY=VALUE"))?;
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--env {e}: expected SERVICE:KEY=VALUE"))?;
        extra.push((who.to_owned(), k.to_owned(), v.to_owned()));
    }
    let mesh = Mesh::start(MeshOptions {
        otlp_endpoint: otlp,
        log_level,
        env: extra,
        keep_databases,
        ..MeshOptions::default()
    })
    .await?;
    if let Some(path) = &env_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, mesh.env_lines().join("\n") + "\n")?;
        std::fs::rename(&tmp, path)?;
    }
    eprintln!("mesh: ready ({}), gateway {}", mesh.run, mesh.gateway_url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("mesh: stopping");
    if let Some(path) = &env_file {
        let _ = std::fs::remove_file(path);
    }
    mesh.stop().await;
    eprintln!("mesh: stopped");
    Ok(())
}
