//! `operator`: the demo operator `make up` starts — the department's people acting through the
//! gateway (see `aftersales_mesh::operator`) until SIGINT/SIGTERM.

// The service boundary of .clippy.toml is for services on the kit. The operator is a client of
// the gateway from outside: it owns its runtime and waits for Ctrl-C itself.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;

use aftersales_mesh::{Operator, OperatorConfig};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "operator",
    about = "The demo operator: the department's people, through the gateway"
)]
struct Cli {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    gateway: String,
    /// The development JWT secret the people's tokens are signed with (default: the
    /// AFTERSALES__AUTH__JWT_SECRET of scripts/dev-env.sh).
    #[arg(long)]
    secret: Option<String>,
    /// No pauses and every customer satisfied (as the tests run it).
    #[arg(long)]
    fast: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let secret = match cli.secret {
        Some(s) => s,
        None => std::env::var("AFTERSALES__AUTH__JWT_SECRET").map_err(|_| {
            anyhow::anyhow!(
                "no secret: --secret or AFTERSALES__AUTH__JWT_SECRET (source scripts/dev-env.sh)"
            )
        })?,
    };
    let cfg = if cli.fast {
        OperatorConfig {
            verbose: true,
            ..OperatorConfig::fast(&cli.gateway, &secret)
        }
    } else {
        OperatorConfig::demo(&cli.gateway, &secret)
    };
    let op = Arc::new(Operator::new(cfg)?);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(op.clone().run(rx));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let _ = tx.send(true);
    let _ = task.await;
    Ok(())
}
