//! Claims-review as a service of the kit: what it is, and what it runs (the gRPC API, the
//! consumer of intake's and the warehouse's events, the review-deadline scanner) and its own
//! subcommand `sla recompute`. Before it takes work it re-derives the review deadlines derived
//! with another calendar or policy version. Start-up, supervision and shutdown are the kit's.

use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::clock::Clock;
use aftersales_platform::kit::{self, Ctx, Parts, Spec, Tool};
use aftersales_platform::outbox::Outbox;
use aftersales_platform::proto::claims::v1::claims_service_server::ClaimsServiceServer;
use aftersales_platform::sla::SlaCommand;

use crate::config::{ClaimsSettings, SERVICE};
use crate::grpc::Api;
use crate::service::Claims;
use crate::store::ALL_MIGRATIONS;

pub struct App;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The review deadlines' SLA clocks.
    #[command(subcommand)]
    Sla(SlaCommand),
}

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "After-sales claims review: warranty and policy decisions, the review queue, refunds",
        section: "claims_review",
        grpc_port: Some(50052),
        http_port: None,
        admin_port: 51052,
        database: Some("aftersales_claims"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = ClaimsSettings;
    type Command = Command;

    async fn build(ctx: &mut Ctx<ClaimsSettings>) -> anyhow::Result<Parts> {
        let own = ctx.config();
        let policy = Arc::new(own.policy()?.clone());
        tracing::info!(policy = %policy.version, "policy loaded");
        let claims = Claims {
            db: ctx.db()?,
            outbox: ctx.outbox.clone(),
            policy,
            calendar: ctx.calendar.clone(),
            offset: ctx.offset,
            clock: ctx.clock.clone(),
            clocks: ctx.clocks()?,
        };
        // Deadlines derived with another calendar or policy are re-derived before any work.
        claims
            .clocks
            .recompute_stale(&claims.db, &claims, claims.now())
            .await?;
        let api = Api {
            claims: claims.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: own.max_page_size,
            loaded_at: ctx.clock.now(),
        };
        let server = ClaimsServiceServer::new(api)
            .max_decoding_message_size(ctx.max_message_bytes())
            .max_encoding_message_size(ctx.max_message_bytes());
        let every = Duration::from_millis(own.sla_scan_interval_ms);
        let dealers_every = Duration::from_millis(own.dealer_scan_interval_ms);
        Ok(Parts::new()
            .grpc(server)
            .subscriptions(crate::events::subscriptions(&claims))
            .scanner(crate::sla::scanner(&claims, every))
            .scanner(crate::service::dealers::scanner(&claims, dealers_every)))
    }

    async fn command(command: Command, tool: Tool<ClaimsSettings>) -> anyhow::Result<()> {
        match command {
            Command::Sla(cmd) => {
                let claims = Claims {
                    db: tool.db().await?,
                    outbox: Outbox::new(SERVICE),
                    policy: Arc::new(tool.config().policy()?.clone()),
                    calendar: tool.calendar()?,
                    offset: tool.offset()?,
                    clock: Clock::system(),
                    clocks: tool.clocks()?,
                };
                let report = claims
                    .clocks
                    .run(cmd, &claims.db, &claims, claims.now())
                    .await?;
                println!("{SERVICE}: {report}");
                Ok(())
            }
        }
    }
}
