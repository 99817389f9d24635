//! Feedback as a service of the kit: what it is, and what it runs (the gRPC API, the consumer of
//! every other service's events, the complaint-deadline scanner). Start-up, supervision and
//! shutdown are the kit's. `feedback rebuild-read-model` rebuilds the KPI read model from the
//! event log from the command line; `feedback sla recompute` re-derives the open return-visit and
//! complaint deadlines (done at start-up too when the calendar or the policy version changed).

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
    /// The return-visit and complaint deadlines' SLA clocks.
    #[command(subcommand)]
    Sla(aftersales_platform::sla::SlaCommand),
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
            clocks: ctx.clocks()?,
        };
        // Deadlines derived with another calendar or policy are re-derived before any work.
        feedback
            .clocks
            .recompute_stale(&feedback.db, &feedback, feedback.now())
            .await?;
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
        let feedback = Feedback {
            db: tool.db().await?,
            outbox: Outbox::new(SERVICE),
            policy: Arc::new(tool.config().policy()?.clone()),
            calendar: tool.calendar()?,
            offset: tool.offset()?,
            clock: aftersales_platform::clock::Clock::system(),
            clocks: tool.clocks()?,
        };
        match command {
            Command::RebuildReadModel => {
                let n = feedback.rebuild_read_model().await?;
                println!("read model rebuilt from {n} logged events");
                Ok(())
            }
            Command::Sla(cmd) => {
                let report = feedback
                    .clocks
                    .run(cmd, &feedback.db, &feedback, feedback.now())
                    .await?;
                println!("{SERVICE}: {report}");
                Ok(())
            }
        }
    }
}
