//! Field-service as a service of the kit: what it is, and what it runs (the gRPC API, the
//! consumer of approvals, cancellations, deliveries and surveys, the arrival-deadline scanner)
//! and its own subcommands `seed` and `sla recompute`. Before it takes work it re-derives the
//! arrival deadlines derived with another calendar or policy version. Start-up, supervision and shutdown are the kit's.

use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::proto::fieldservice::v1::field_service_service_server::FieldServiceServiceServer;
use chrono::NaiveTime;

use crate::config::{SERVICE, Settings};
use crate::domain::slots::Windows;
use crate::grpc::Api;
use crate::service::{FieldService, Holds};
use crate::store::ALL_MIGRATIONS;

pub struct App;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The arrival deadlines' SLA clocks.
    #[command(subcommand)]
    Sla(aftersales_platform::sla::SlaCommand),
    /// Register the demo technicians of SH01, BJ02 and GZ03 through a running field-service
    /// (idempotent: seeding twice changes nothing).
    Seed {
        /// The field-service to seed.
        #[arg(long, default_value = "http://127.0.0.1:50056")]
        addr: String,
    },
}

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "Field service: technicians, appointments, dispatch, work orders, arrival SLA, rework",
        section: "field_service",
        grpc_port: Some(50056),
        http_port: None,
        admin_port: 51056,
        database: Some("aftersales_fieldservice"),
        migrations: ALL_MIGRATIONS,
        redis: true,
    };
    type Config = Settings;
    type Command = Command;

    async fn build(ctx: &mut Ctx<Settings>) -> anyhow::Result<Parts> {
        let own = ctx.config();
        let policy = Arc::new(own.policy()?.clone());
        tracing::info!(policy = %policy.version, "policy loaded");
        let cal = &ctx.platform().calendar;
        let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M");
        let windows = Windows::new(
            ctx.offset,
            time(&cal.work_start)?,
            time(&cal.work_end)?,
            policy.appointments.window_minutes,
        );
        if windows.per_day() == 0 {
            anyhow::bail!(
                "field_service policy: appointments.window_minutes ({}) is longer than the working day",
                policy.appointments.window_minutes
            );
        }
        let holds = Holds::new(
            ctx.redis()?,
            Duration::from_secs(policy.appointments.hold_ttl_secs),
        );
        let svc = FieldService {
            db: ctx.db()?,
            outbox: ctx.outbox.clone(),
            policy,
            calendar: ctx.calendar.clone(),
            offset: ctx.offset,
            windows,
            clock: ctx.clock.clone(),
            holds,
            clocks: ctx.clocks()?,
        };
        // Deadlines derived with another calendar or policy are re-derived before any work.
        svc.clocks.recompute_stale(&svc.db, &svc, svc.now()).await?;
        let api = Api {
            svc: svc.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: own.max_page_size,
        };
        let every = Duration::from_millis(own.sla_scan_interval_ms);
        Ok(Parts::new()
            .grpc(aftersales_platform::grpc_server!(
                FieldServiceServiceServer::new(api),
                ctx
            ))
            .subscriptions(crate::events::subscriptions(&svc))
            .scanner(crate::service::sla::scanner(&svc, every)))
    }

    async fn command(command: Command, tool: Tool<Settings>) -> anyhow::Result<()> {
        match command {
            Command::Sla(cmd) => {
                let policy = Arc::new(tool.config().policy()?.clone());
                let cal = &tool.settings.platform.calendar;
                let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M");
                let svc = FieldService {
                    db: tool.db().await?,
                    outbox: aftersales_platform::outbox::Outbox::new(SERVICE),
                    windows: Windows::new(
                        tool.offset()?,
                        time(&cal.work_start)?,
                        time(&cal.work_end)?,
                        policy.appointments.window_minutes,
                    ),
                    holds: Holds::new(
                        tool.redis()?,
                        Duration::from_secs(policy.appointments.hold_ttl_secs),
                    ),
                    policy,
                    calendar: tool.calendar()?,
                    offset: tool.offset()?,
                    clock: aftersales_platform::clock::Clock::system(),
                    clocks: tool.clocks()?,
                };
                let report = svc.clocks.run(cmd, &svc.db, &svc, svc.now()).await?;
                println!("{SERVICE}: {report}");
                Ok(())
            }
            Command::Seed { addr } => {
                let secret = tool.dev_secret()?;
                for line in crate::demo::seed(&addr, &secret).await? {
                    println!("{line}");
                }
                Ok(())
            }
        }
    }
}
