//! Logistics as a service of the kit: what it is, and what it runs (the gRPC API, the consumer
//! of reservations, issues, approvals, cancellations and dealers' consignments, and the scans:
//! the sim carrier, the ETA watch, the returns chase). Start-up, supervision and shutdown are
//! the kit's.

use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::grpc_server;
use aftersales_platform::kit::{self, Ctx, NoCommand, Parts, Spec};
use aftersales_platform::proto::logistics::v1::logistics_service_server::LogisticsServiceServer;

use crate::carrier::Carriers;
use crate::config::{SERVICE, Settings};
use crate::grpc::Api;
use crate::service::Logistics;
use crate::store::ALL_MIGRATIONS;

pub struct App;

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "Logistics: delivery method, shipments, waybills, carrier tracking, exceptions, pick-ups",
        section: "logistics",
        grpc_port: Some(50055),
        http_port: None,
        admin_port: 51055,
        database: Some("aftersales_logistics"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = Settings;
    type Command = NoCommand;

    async fn build(ctx: &mut Ctx<Settings>) -> anyhow::Result<Parts> {
        let own = ctx.config().clone();
        let policy = Arc::new(own.policy()?.clone());
        tracing::info!(rate_table = %policy.version, "rate table loaded");
        let logistics = Logistics {
            db: ctx.db()?,
            outbox: ctx.outbox.clone(),
            clock: ctx.clock.clone(),
            calendar: ctx.calendar.clone(),
            offset: ctx.offset,
            policy,
            carriers: Carriers::new(own.sim_time_scale, &own.carrier_override),
            origin: own.origin.clone(),
            auto_dispatch: own.auto_dispatch,
            webhook_window: chrono::Duration::seconds(own.webhook_window_secs as i64),
        };
        let api = Api {
            logistics: logistics.clone(),
            verifier: ctx.verifier.clone(),
            max_page_size: own.max_page_size,
        };
        let mut parts = Parts::new()
            .grpc(grpc_server!(LogisticsServiceServer::new(api), ctx))
            .subscriptions(crate::events::subscriptions(&logistics));
        for s in crate::scanners::all(
            &logistics,
            Duration::from_millis(own.sim_scan_interval_ms),
            Duration::from_millis(own.deadline_scan_interval_ms),
        ) {
            parts = parts.scanner(s);
        }
        Ok(parts)
    }
}
