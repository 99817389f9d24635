//! Feedback as a service of the kit: what it is, and what it runs (the gRPC API, the consumer of
//! every other service's events, the complaint-deadline scanner). Start-up, supervision and
//! shutdown are the kit's. `feedback rebuild-read-model` rebuilds the KPI read model from the
//! event log from the command line.

use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::outbox::Outbox;
use aftersales_platform::proto::feedback::v1::feedback_service_server::FeedbackServiceServer;

use crate::config::{SERVICE, Settings};
use crate::grpc::Api;
use crate::service::Feedback;
use crate::store::ALL_MIGRATIONS;

pub struct App;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Drop the KPI read model and rebuild it from the event log (the figures stay the same).
    RebuildReadModel,
}

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "Feedback: return visits, surveys, complaints, KPIs",
        section: "feedback",
        grpc_port: Some(50057),
        http_port: None,
        admin_port: 51057,
        database: Some("aftersales_feedback"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = Settings;
    type Command = Command;

    async fn build(ctx: &mut Ctx<Settings>) -> anyhow::Result<Parts> {
        let own = ctx.config();
        let policy = Arc::new(own.policy()?.clone());
        tracing::info!(policy = %policy.version, "policy loaded");
        let feedback = Feedback {
            db: ctx.db()?,
            outbox: ctx.outbox.clone(),
            policy,
            calendar: ctx.calendar.clone(),
            offset: ctx.offset,
            clock: ctx.clock.clone(),
        };
        let api = Api {
            feedback: feedback.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: own.max_page_size,
        };
        let every = Duration::from_millis(own.complaint_scan_interval_ms);
        Ok(Parts::new()
            .grpc(aftersales_platform::grpc_server!(
                FeedbackServiceServer::new(api),
                ctx
            ))
            .subscriptions(crate::events::subscriptions(&feedback))
            .scanner(crate::deadlines::scanner(&feedback, every)))
    }

    async fn command(command: Command, tool: Tool<Settings>) -> anyhow::Result<()> {
        match command {
            Command::RebuildReadModel => {
                let platform = &tool.settings.platform;
                let calendar = platform
                    .calendar
                    .build()
                    .map_err(|e| anyhow::anyhow!("{}: {}", e.key, e.message))?;
                let offset =
                    chrono::FixedOffset::east_opt(platform.calendar.utc_offset_minutes * 60)
                        .ok_or_else(|| {
                            anyhow::anyhow!("calendar.utc_offset_minutes: out of range")
                        })?;
                let feedback = Feedback {
                    db: tool.db().await?,
                    outbox: Outbox::new(SERVICE),
                    policy: Arc::new(tool.config().policy()?.clone()),
                    calendar,
                    offset,
                    clock: aftersales_platform::clock::Clock::system(),
                };
                let n = feedback.rebuild_read_model().await?;
                println!("read model rebuilt from {n} logged events");
                Ok(())
            }
        }
    }
}
