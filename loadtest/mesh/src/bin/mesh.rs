//! `mesh up`: the eight binaries started once on ports of their own (databases, broker names and
//! Redis keys of this run), described in an env file for scripts, until SIGINT/SIGTERM; then
//! everything is stopped and removed.

// The service boundary of .clippy.toml is for services on the kit. The launcher supervises the
// services from outside: it owns its runtime and waits for Ctrl-C itself.
#![allow(clippy::disallowed_methods)]

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
        /// Stop when the process with this pid ends (a test binary that started the mesh).
        #[arg(long)]
        exit_with: Option<u32>,
        /// Test timings (the simulated carrier's hours pass in seconds) and the reference data
        /// seeded (parts and stock, suppliers, technicians).
        #[arg(long)]
        fast: bool,
        /// Collect every process's spans in this process and serve them (MESH_SPANS_URL).
        #[arg(long, conflicts_with = "otlp")]
        collect_spans: bool,
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
        collect_spans,
        fast,
        exit_with,
    } = Cli::parse().command;
    let collector = if collect_spans {
        Some(aftersales_mesh::spans::SpanCollector::start().await?)
    } else {
        None
    };
    let otlp = otlp.or_else(|| collector.as_ref().map(|c| c.otlp_endpoint()));
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
    let base = if fast {
        MeshOptions::fast()
    } else {
        MeshOptions::default()
    };
    let mut env_all = base.env.clone();
    env_all.extend(extra);
    let mesh = Mesh::start(MeshOptions {
        otlp_endpoint: otlp,
        log_level,
        env: env_all,
        keep_databases,
        ..base
    })
    .await?;
    mesh.seed().await?;
    if let Some(path) = &env_file {
        let tmp = path.with_extension("tmp");
        let mut lines = mesh.env_lines();
        if let Some(c) = &collector {
            lines.push(format!("MESH_SPANS_URL={}", c.spans_url()));
        }
        std::fs::write(&tmp, lines.join("\n") + "\n")?;
        std::fs::rename(&tmp, path)?;
    }
    eprintln!("mesh: ready ({}), gateway {}", mesh.run, mesh.gateway_url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let parent_gone = async {
        match exit_with {
            Some(pid) => {
                let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
                while proc_dir.exists() {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = parent_gone => {}
    }
    eprintln!("mesh: stopping");
    if let Some(path) = &env_file {
        let _ = std::fs::remove_file(path);
    }
    mesh.stop().await;
    eprintln!("mesh: stopped");
    Ok(())
}
