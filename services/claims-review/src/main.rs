//! `claims-review [--config PATH] [serve|migrate]`: wires config → telemetry → App::build → run.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

use std::path::PathBuf;
use std::process::ExitCode;

use aftersales_platform::config::{EnvSource, exit_on_error};
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::{db, telemetry};
use claims_review::app::App;
use claims_review::config::{SERVICE, Settings};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "claims-review",
    about = "After-sales claims review service",
    version
)]
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
        };
        guard.shutdown().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "claims-review failed");
                eprintln!("{SERVICE}: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let conn = db::connect(&settings.platform.database).await?;
    let applied = db::migrate(&conn, claims_review::store::ALL_MIGRATIONS).await?;
    tracing::info!(applied, "migrations done");
    println!("{SERVICE}: {applied} migration(s) applied");
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
