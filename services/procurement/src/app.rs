//! Procurement as a service of the kit: what it is, and what it runs (the gRPC API, the consumer
//! of the warehouse's and intake's events, the scanners) and its own subcommands (`procurement
//! seed`, `procurement sla recompute`). Before it takes work it re-derives the promised dates
//! derived with another calendar. Start-up, supervision and shutdown are the kit's.

use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::proto::procurement::v1::procurement_service_server::ProcurementServiceServer;

use crate::config::{SERVICE, Settings};
use crate::grpc::Api;
use crate::service::Procurement;
use crate::store::ALL_MIGRATIONS;

pub struct App;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The promised dates' SLA clocks.
    #[command(subcommand)]
    Sla(aftersales_platform::sla::SlaCommand),
    /// Register the demo suppliers and their quotes for the demo parts through a running
    /// procurement (idempotent: seeding twice changes nothing).
    Seed {
        /// The procurement service to seed.
        #[arg(long, default_value = "http://127.0.0.1:50053")]
        addr: String,
    },
}

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "Procurement: qualified suppliers, quotes, purchase orders, overdue alarms, cost reports",
        section: "procurement",
        grpc_port: Some(50053),
        http_port: None,
        admin_port: 51053,
        database: Some("aftersales_procurement"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = Settings;
    type Command = Command;

    async fn build(ctx: &mut Ctx<Settings>) -> anyhow::Result<Parts> {
        let own = ctx.config();
        let policy = Arc::new(own.policy()?.clone());
        tracing::info!(policy = %policy.version, "policy loaded");
        let procurement = Procurement {
            db: ctx.db()?,
            outbox: ctx.outbox.clone(),
            policy,
            clock: ctx.clock.clone(),
            calendar: ctx.calendar.clone(),
            clocks: ctx.clocks()?,
            offset: ctx.offset,
            coalesce_window: chrono::Duration::seconds(
                i64::try_from(own.coalesce_window_secs).unwrap_or(i64::MAX),
            ),
            delivery_place: own.delivery_place.trim().to_owned(),
        };
        // Promised dates derived with another calendar are re-derived before any work.
        procurement
            .clocks
            .recompute_stale(&procurement.db, &procurement, procurement.now())
            .await?;
        let api = Api {
            procurement: procurement.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: own.max_page_size,
        };
        let every = Duration::from_millis(own.scan_interval_ms);
        let mut parts = Parts::new()
            .grpc(aftersales_platform::grpc_server!(
                ProcurementServiceServer::new(api),
                ctx
            ))
            .subscriptions(crate::events::subscriptions(&procurement));
        for s in crate::service::scans::scanners(&procurement, every) {
            parts = parts.scanner(s);
        }
        Ok(parts)
    }

    async fn command(command: Command, tool: Tool<Settings>) -> anyhow::Result<()> {
        match command {
            Command::Seed { addr } => {
                let secret = tool.dev_secret()?;
                for line in crate::demo::seed(&addr, &secret).await? {
                    println!("{line}");
                }
                Ok(())
            }
            Command::Sla(cmd) => {
                let own = tool.config();
                let procurement = Procurement {
                    db: tool.db().await?,
                    outbox: aftersales_platform::outbox::Outbox::new(SERVICE),
                    policy: Arc::new(own.policy()?.clone()),
                    clock: aftersales_platform::clock::Clock::system(),
                    calendar: tool.calendar()?,
                    clocks: tool.clocks()?,
                    offset: tool.offset()?,
                    coalesce_window: chrono::Duration::seconds(
                        i64::try_from(own.coalesce_window_secs).unwrap_or(i64::MAX),
                    ),
                    delivery_place: own.delivery_place.trim().to_owned(),
                };
                let report = procurement
                    .clocks
                    .run(cmd, &procurement.db, &procurement, procurement.now())
                    .await?;
                println!("{SERVICE}: {report}");
                Ok(())
            }
        }
    }
}
