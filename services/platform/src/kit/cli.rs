//! The command line every service binary shares, and `main`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::bus::{Bus, Replay};
use crate::clock::Clock;
use crate::config::{EXIT_CONFIG, EnvSource};
use crate::kit::{self, Service, Tool};
use crate::{outbox, telemetry};

/// For a service without subcommands of its own.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum NoCommand {}

#[derive(Parser)]
struct Cli<E: Subcommand> {
    /// Configuration file (TOML); also AFTERSALES_CONFIG. Environment AFTERSALES__… overrides it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command<E>>,
}

#[derive(Subcommand)]
enum Command<E: Subcommand> {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Dead-lettered events of this service.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Outbox rows the broker refused.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The broker topology (every service's inbox, DLQ and retry queue).
    #[command(subcommand)]
    Topology(TopologyCommand),
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    #[command(flatten)]
    Own(E),
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List the dead letters (left in place), one JSON line each.
    List,
    /// Put dead letters back into the inbox with their attempts reset; idempotency still gives
    /// each event one effect.
    Replay {
        /// Every dead letter.
        #[arg(long, conflicts_with = "event_id")]
        all: bool,
        /// Only this event (repeatable).
        #[arg(long = "event-id")]
        event_id: Vec<String>,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// List the quarantined rows, one JSON line each.
    ListQuarantined,
    /// Put quarantined rows back in line (all, or one event).
    RetryQuarantined {
        #[arg(long = "event-id")]
        event_id: Option<uuid::Uuid>,
    },
}

#[derive(Subcommand)]
enum TopologyCommand {
    /// Declare every exchange and every service's inbox, retry queue and DLQ, then exit.
    Declare,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every environment variable this binary reads, one per line.
    Keys,
    /// Load and validate the configuration, then exit (64 naming the key when it is bad).
    Check,
}

/// The whole `main` of a service binary.
pub fn main<S: Service>() -> ExitCode {
    let spec = S::SPEC;
    let command = Cli::<S::Command>::command()
        .name(spec.name)
        .bin_name(spec.name)
        .about(spec.about)
        .version(env!("CARGO_PKG_VERSION"));
    let matches = command.get_matches();
    let cli = match Cli::<S::Command>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Some(Command::Config(ConfigCommand::Keys)) = &cli.command {
        // A closed pipe (`… config keys | head`) ends the listing quietly.
        let mut out = std::io::stdout().lock();
        for key in crate::config::keys(
            &kit::defaults::<S>(),
            <S::Config as kit::Config>::OPTIONAL_KEYS,
        ) {
            if writeln!(out, "{key}").is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let settings = match kit::load::<S>(cli.config.as_deref(), EnvSource::Process, |_, _| {}) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", spec.name);
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    let unknown = crate::config::unknown_keys(
        &kit::defaults::<S>(),
        <S::Config as kit::Config>::OPTIONAL_KEYS,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: cannot start the runtime: {e}", spec.name);
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let guard = match telemetry::init(spec.name, &settings.platform.telemetry) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{}: telemetry: {e:#}", spec.name);
                return ExitCode::FAILURE;
            }
        };
        for key in &unknown {
            tracing::warn!(key = %key, "environment variable not read by this service (misspelt, or meant for another)");
        }
        let result = run::<S>(cli.command.unwrap_or(Command::Serve), settings).await;
        guard.shutdown().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            // A command refused for its configuration exits like bad configuration does.
            Err(e) if e.downcast_ref::<crate::config::ConfigError>().is_some() => {
                eprintln!("{}: {e:#}", spec.name);
                ExitCode::from(EXIT_CONFIG as u8)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "{} failed", spec.name);
                eprintln!("{}: {e:#}", spec.name);
                ExitCode::FAILURE
            }
        }
    })
}

async fn run<S: Service>(
    command: Command<S::Command>,
    settings: kit::Settings<S::Config>,
) -> anyhow::Result<()> {
    let name = S::SPEC.name;
    match command {
        Command::Serve => {
            // Caught from before the start: a SIGTERM while it starts, or just after it answers
            // ready, drains it like any other.
            let signals = crate::shutdown::Signals::install();
            let running = kit::start::<S>(settings, Clock::system()).await?;
            running.shutdown.trigger_on(signals);
            running.wait().await
        }
        Command::Migrate => {
            kit::connect_and_migrate::<S>(&settings.platform).await?;
            println!("{name}: migrations applied");
            Ok(())
        }
        Command::Dlq(DlqCommand::List) => {
            let bus = Bus::new(&settings.platform.amqp);
            let letters = bus.dlq_list(name).await?;
            for l in &letters {
                println!("{}", serde_json::to_string(l)?);
            }
            eprintln!(
                "{name}: {} dead letter(s) in {}",
                letters.len(),
                bus.topology.dlq(name)
            );
            Ok(())
        }
        Command::Dlq(DlqCommand::Replay { all, event_id }) => {
            let which = match (all, event_id.is_empty()) {
                (true, _) => Replay::All,
                (false, false) => Replay::EventIds(event_id),
                (false, true) => anyhow::bail!("say --all or --event-id ID"),
            };
            let bus = Bus::new(&settings.platform.amqp);
            let replayed = bus.dlq_replay(name, &which).await?;
            for l in &replayed {
                println!("{}", serde_json::to_string(l)?);
            }
            eprintln!(
                "{name}: {} dead letter(s) replayed into {}",
                replayed.len(),
                bus.topology.inbox(name)
            );
            Ok(())
        }
        Command::Outbox(cmd) => {
            let db = crate::db::connect(settings.platform.database()?).await?;
            match cmd {
                OutboxCommand::ListQuarantined => {
                    let rows = outbox::list_quarantined(&db).await?;
                    for r in &rows {
                        println!("{}", serde_json::to_string(r)?);
                    }
                    eprintln!("{name}: {} quarantined row(s)", rows.len());
                }
                OutboxCommand::RetryQuarantined { event_id } => {
                    let n = outbox::retry_quarantined(&db, event_id).await?;
                    eprintln!("{name}: {n} quarantined row(s) put back in line");
                }
            }
            Ok(())
        }
        Command::Topology(TopologyCommand::Declare) => {
            let bus = Bus::new(&settings.platform.amqp);
            let conn = bus.connect(&format!("{name}-topology")).await?;
            bus.declare_all(&conn).await?;
            let _ = conn.close(200, "declared".into()).await;
            println!(
                "{name}: topology declared ({} inboxes)",
                crate::topology::TABLE.len()
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            println!("{name}: configuration valid");
            Ok(())
        }
        Command::Config(ConfigCommand::Keys) => Ok(()),
        Command::Own(cmd) => S::command(cmd, Tool { settings }).await,
    }
}
