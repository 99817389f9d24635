//! `gateway [--config PATH] [serve|token --sub … --branch … --roles …]`: wires config →
//! telemetry → App::build → run; `token` mints a dev token with the same configuration.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aftersales_platform::auth::{self, Role};
use aftersales_platform::config::{ConfigError, EnvSource, exit_on_error};
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry;
use clap::{Parser, Subcommand};
use gateway::app::App;
use gateway::config::{SERVICE, Settings};
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(name = "gateway", about = "After-sales HTTP gateway", version)]
struct Cli {
    /// Configuration file (TOML); also AFTERSALES_CONFIG. Environment AFTERSALES__… overrides it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Mint a dev token (HS256, with auth.jwt_secret) and print it alone on the last line.
    Token {
        #[arg(long)]
        sub: String,
        /// A branch code, or `*` for head office.
        #[arg(long)]
        branch: String,
        /// Comma-separated: branch_agent, reviewer, warehouse, procurement, dispatcher,
        /// technician, analyst, admin.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Validity in hours.
        #[arg(long, default_value_t = 12)]
        hours: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (settings, validated) = match Settings::load(cli.config.as_deref(), EnvSource::Process) {
        Ok(s) => s,
        Err(e) => exit_on_error(SERVICE, &e),
    };
    if let Some(Command::Token {
        sub,
        branch,
        roles,
        hours,
    }) = cli.command.clone()
    {
        return token(&settings, &sub, &branch, &roles, hours);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{SERVICE}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let guard = match telemetry::init(SERVICE, &settings.telemetry) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{SERVICE}: telemetry: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        let result = match App::build(settings, validated, shutdown).await {
            Ok(app) => app.run().await,
            Err(e) => Err(e),
        };
        guard.shutdown().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "gateway failed");
                eprintln!("{SERVICE}: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

fn token(settings: &Settings, sub: &str, branch: &str, roles: &[String], hours: u64) -> ExitCode {
    let mut parsed = Vec::new();
    for r in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        match Role::parse(r) {
            Some(role) => parsed.push(role),
            None => {
                let known: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                exit_on_error(
                    SERVICE,
                    &ConfigError::new(
                        "--roles",
                        format!("{r:?} is not one of {}", known.join(", ")),
                    ),
                )
            }
        }
    }
    let Some(secret) = settings.auth.jwt_secret.as_ref() else {
        exit_on_error(
            SERVICE,
            &ConfigError::new("auth.jwt_secret", "minting needs the HS256 secret"),
        )
    };
    match auth::mint_hs256(
        secret.expose_secret(),
        sub,
        branch,
        &parsed,
        Duration::from_secs(hours * 3600),
    ) {
        Ok(t) => {
            println!(
                "token for {sub} (branch {branch}, roles {}), valid {hours} h:",
                roles.join(",")
            );
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{SERVICE}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
