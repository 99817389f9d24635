//! `warehouse [--config PATH] [serve|migrate|seed]`: wires config → telemetry → App::build → run.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

use std::path::PathBuf;
use std::process::ExitCode;

use aftersales_platform::config::{EnvSource, exit_on_error};
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::{db, telemetry};
use clap::{Parser, Subcommand};
use warehouse::app::App;
use warehouse::config::{SERVICE, Settings};

#[derive(Parser)]
#[command(name = "warehouse", about = "After-sales warehouse service", version)]
struct Cli {
    /// Configuration file (TOML); also AFTERSALES_CONFIG. Environment AFTERSALES__… overrides it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Upsert the demo parts and book their demo stock through a running warehouse
    /// (idempotent: seeding twice changes nothing).
    Seed {
        /// The warehouse to seed.
        #[arg(long, default_value = "http://127.0.0.1:50054")]
        addr: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (settings, validated) = match Settings::load(cli.config.as_deref(), EnvSource::Process) {
        Ok(s) => s,
        Err(e) => exit_on_error(SERVICE, &e),
    };
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
        let guard = match telemetry::init(SERVICE, &settings.platform.telemetry) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{SERVICE}: telemetry: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        let result = match cli.command.unwrap_or(Command::Serve) {
            Command::Migrate => migrate(&settings).await,
            Command::Serve => serve(settings, validated).await,
            Command::Seed { addr } => seed(&settings, &addr).await,
        };
        guard.shutdown().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "warehouse failed");
                eprintln!("{SERVICE}: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let conn = db::connect(&settings.platform.database).await?;
    let applied = db::migrate(&conn, warehouse::store::ALL_MIGRATIONS).await?;
    tracing::info!(applied, "migrations done");
    println!("{SERVICE}: {applied} migration(s) applied");
    Ok(())
}

async fn seed(settings: &Settings, addr: &str) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let secret = settings
        .platform
        .auth
        .jwt_secret
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("seeding needs auth.jwt_secret (HS256)"))?;
    for line in warehouse::demo::seed(addr, secret.expose_secret()).await? {
        println!("{line}");
    }
    Ok(())
}

async fn serve(
    settings: Settings,
    validated: aftersales_platform::config::Validated,
) -> anyhow::Result<()> {
    let app = App::build(settings, validated).await?;
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    app.run(shutdown).await
}
