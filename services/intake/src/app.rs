//! Intake as a service of the kit: what it is, and what it runs (the gRPC API and the timeline
//! consumer). Start-up, supervision and shutdown are the kit's.

use std::time::Duration;

use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::proto::intake::v1::intake_service_server::IntakeServiceServer;
use aftersales_platform::scanner::Scanner;

use crate::config::{IntakeSettings, SERVICE};
use crate::grpc::Api;
use crate::notify::Notifier;
use crate::notify::sender::Sender;
use crate::service::Intake;
use crate::store::ALL_MIGRATIONS;

pub struct App;

/// The scanner that sends the due messages (tests run it with `running().scanner(…)`).
pub const SENDER_SCAN: &str = "notifications";

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Submit the demo requests to a running intake and print a demo token (for `make up`).
    Seed {
        /// The intake to seed.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        addr: String,
    },
}

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "After-sales intake: requests, tracking numbers, lifecycle and timeline",
        section: "intake",
        grpc_port: Some(50051),
        http_port: None,
        admin_port: 51051,
        database: Some("aftersales_intake"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = IntakeSettings;
    type Command = Command;

    async fn build(ctx: &mut Ctx<IntakeSettings>) -> anyhow::Result<Parts> {
        let stuck = ctx
            .config()
            .stuck
            .clone()
            .ok_or_else(|| anyhow::anyhow!("intake.stuck_after was not prepared"))?;
        let notifier = Notifier::new(ctx.config().notify.clone(), ctx.offset, ctx.clock.clone());
        let intake = Intake::new(
            ctx.db()?,
            ctx.offset,
            ctx.clock.clone(),
            stuck,
            ctx.calendar.clone(),
            notifier.clone(),
        );
        let sender = Sender::new(ctx.db()?, notifier)?;
        let scan_every = Duration::from_millis(ctx.config().notify.scan_every_ms);
        let gauge = crate::metrics::init()?;
        let counting = intake.clone();
        let refresh = Duration::from_millis(ctx.config().stuck_refresh_ms);
        let api = Api {
            intake: intake.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: ctx.config().max_page_size,
        };
        Ok(Parts::new()
            .grpc(aftersales_platform::grpc_server!(
                IntakeServiceServer::new(api),
                ctx
            ))
            .subscriptions(crate::events::subscriptions(&intake))
            .scanner(Scanner::new(SENDER_SCAN, scan_every, move |now| {
                let sender = sender.clone();
                async move { sender.tick(now).await }
            }))
            .task("stuck requests gauge", move |stop| {
                crate::metrics::refresh_stuck(counting, gauge, refresh, stop)
            }))
    }

    async fn command(command: Command, tool: Tool<IntakeSettings>) -> anyhow::Result<()> {
        match command {
            Command::Seed { addr } => {
                let secret = tool.dev_secret()?;
                for n in crate::demo::seed(&addr, &secret).await? {
                    println!("demo request: {n}");
                }
                println!("demo token (branch SH01, branch_agent):");
                println!("{}", crate::demo::demo_token(&secret, "SH01")?);
                Ok(())
            }
        }
    }
}
