//! The warehouse as a service of the kit: what it is, and what it runs (the gRPC API, the
//! consumer of approvals, cancellations, completed work orders, shipment exceptions, completed
//! pick-ups and decided dealer batches, and the scanner of overdue advance exchanges). Start-up, supervision and shutdown are the kit's.

use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::proto::warehouse::v1::warehouse_service_server::WarehouseServiceServer;
use secrecy::ExposeSecret;

use crate::config::{SERVICE, WarehouseSettings};
use crate::grpc::Api;
use crate::service::Warehouse;
use crate::store::ALL_MIGRATIONS;

pub struct App;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Upsert the demo product models and parts and book the parts' demo stock through a
    /// running warehouse (idempotent: seeding twice changes nothing).
    Seed {
        /// The warehouse to seed.
        #[arg(long, default_value = "http://127.0.0.1:50054")]
        addr: String,
    },
}

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "After-sales warehouse: catalogue, stock ledger, reservations, receipt, pick lists",
        section: "warehouse",
        grpc_port: Some(50054),
        http_port: None,
        admin_port: 51054,
        database: Some("aftersales_warehouse"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = WarehouseSettings;
    type Command = Command;

    async fn build(ctx: &mut Ctx<WarehouseSettings>) -> anyhow::Result<Parts> {
        let warehouse = Warehouse::new(
            ctx.db()?,
            ctx.config().partial_reservations,
            ctx.clock.clone(),
        )
        .with_exchange_return_days(ctx.config().advance_exchange_return_days);
        let every = std::time::Duration::from_millis(ctx.config().exchange_scan_interval_ms);
        let api = Api {
            warehouse: warehouse.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: ctx.config().max_page_size,
        };
        let server = WarehouseServiceServer::new(api)
            .max_decoding_message_size(ctx.max_message_bytes())
            .max_encoding_message_size(ctx.max_message_bytes());
        Ok(Parts::new()
            .grpc(server)
            .subscriptions(crate::events::subscriptions(&warehouse))
            .scanner(crate::service::scanner(&warehouse, every)))
    }

    async fn command(command: Command, tool: Tool<WarehouseSettings>) -> anyhow::Result<()> {
        match command {
            Command::Seed { addr } => {
                let secret = tool
                    .settings
                    .platform
                    .auth
                    .jwt_secret
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("seeding needs auth.jwt_secret (HS256)"))?;
                for line in crate::demo::seed(&addr, secret.expose_secret()).await? {
                    println!("{line}");
                }
                Ok(())
            }
        }
    }
}
