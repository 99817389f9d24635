//! Startup: connect, migrate, bind, then run the gRPC server, the admin server, the outbox relay,
//! the consumer and the deadline scanner side by side until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::auth::Verifier;
use aftersales_platform::bus::{Bus, Consumer};
use aftersales_platform::config::Validated;
use aftersales_platform::http_admin::{self, Readiness};
use aftersales_platform::outbox::{Relay, RelayHandle};
use aftersales_platform::proto::claims::v1::claims_service_server::ClaimsServiceServer;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::{db, grpc};
use chrono::FixedOffset;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::{SERVICE, Settings};
use crate::grpc::Api;
use crate::service::Claims;
use crate::store::ALL_MIGRATIONS;

pub struct App {
    settings: Settings,
    db: DatabaseConnection,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    grpc_addr: SocketAddr,
    admin_addr: SocketAddr,
    verifier: Verifier,
    relay: Relay,
    claims: Claims,
}

impl App {
    /// Connects to the database, applies migrations and binds both ports (port 0 in tests).
    pub async fn build(settings: Settings, validated: Validated) -> anyhow::Result<App> {
        let platform = &settings.platform;
        let calendar = platform
            .calendar
            .build()
            .map_err(|e| anyhow::anyhow!("{}: {}", e.key, e.message))?;
        let offset = FixedOffset::east_opt(platform.calendar.utc_offset_minutes * 60)
            .ok_or_else(|| anyhow::anyhow!("calendar.utc_offset_minutes out of range"))?;
        let db = db::connect(&platform.database).await?;
        db::migrate(&db, ALL_MIGRATIONS).await?;
        let grpc_listener = TcpListener::bind(validated.grpc_addr).await?;
        let admin_listener = TcpListener::bind(validated.admin_addr).await?;
        let verifier = Verifier::from_settings(&platform.auth)?;
        let relay = Relay::new(
            db.clone(),
            Bus::new(&platform.amqp),
            SERVICE,
            platform.outbox.clone(),
        );
        let claims = Claims::new(
            db.clone(),
            Arc::new(settings.policy.clone()),
            calendar,
            offset,
        );
        tracing::info!(policy = %settings.policy.version, "policy loaded");
        Ok(App {
            grpc_addr: grpc_listener.local_addr()?,
            admin_addr: admin_listener.local_addr()?,
            settings,
            db,
            grpc_listener,
            admin_listener,
            verifier,
            relay,
            claims,
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The operations, for tests and tools (e.g. a deadline scan at a chosen instant).
    pub fn claims(&self) -> Claims {
        self.claims.clone()
    }

    /// Lets tests and operators watch or cut the relay's broker link.
    pub fn relay_handle(&self) -> RelayHandle {
        self.relay.handle()
    }

    /// Runs until `shutdown`; in-flight RPCs and handlers finish within the grace period.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let platform = &self.settings.platform;
        let consumer = Consumer::new(
            self.db.clone(),
            Bus::new(&platform.amqp),
            SERVICE,
            crate::events::subscriptions(&self.claims),
        );
        let readiness = Readiness::new(Some(self.db.clone()), ALL_MIGRATIONS)
            .with_broker_flag(consumer.connected_flag());
        let api = Api {
            claims: self.claims.clone(),
            verifier: self.verifier,
            max_page_size: self.settings.claims.max_page_size,
            loaded_at: chrono::Utc::now(),
        };
        let service = ClaimsServiceServer::new(api)
            .max_decoding_message_size(platform.server.max_message_bytes)
            .max_encoding_message_size(platform.server.max_message_bytes);

        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let consumer = tokio::spawn(consumer.run(shutdown.clone()));
        let scanner = tokio::spawn(crate::sla::run(
            self.claims.clone(),
            Duration::from_millis(self.settings.claims.sla_scan_interval_ms),
            shutdown.clone(),
        ));
        let admin = tokio::spawn(http_admin::serve(
            self.admin_listener,
            readiness.clone(),
            shutdown.clone(),
        ));
        tracing::info!(grpc = %self.grpc_addr, admin = %self.admin_addr, "claims-review serving");
        let served = grpc::serve(
            self.grpc_listener,
            service,
            &platform.server,
            readiness,
            shutdown.clone(),
        )
        .await;

        shutdown.trigger();
        let grace = Duration::from_millis(platform.server.shutdown_grace_ms);
        let _ = tokio::time::timeout(grace, async {
            let _ = relay.await;
            let _ = consumer.await;
            let _ = scanner.await;
            let _ = admin.await;
        })
        .await;
        served
    }
}
