//! Startup: connect, migrate, bind, then run the gRPC server, the admin server, the outbox relay
//! and the consumer side by side until shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use aftersales_platform::auth::Verifier;
use aftersales_platform::bus::{Bus, Consumer};
use aftersales_platform::config::Validated;
use aftersales_platform::http_admin::{self, Readiness};
use aftersales_platform::outbox::{Relay, RelayHandle};
use aftersales_platform::proto::warehouse::v1::warehouse_service_server::WarehouseServiceServer;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::{db, grpc};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::{SERVICE, Settings};
use crate::grpc::Api;
use crate::service::Warehouse;
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
}

impl App {
    /// Connects to the database, applies migrations and binds both ports (port 0 in tests).
    pub async fn build(settings: Settings, validated: Validated) -> anyhow::Result<App> {
        let db = db::connect(&settings.platform.database).await?;
        db::migrate(&db, ALL_MIGRATIONS).await?;
        let grpc_listener = TcpListener::bind(validated.grpc_addr).await?;
        let admin_listener = TcpListener::bind(validated.admin_addr).await?;
        let verifier = Verifier::from_settings(&settings.platform.auth)?;
        let relay = Relay::new(
            db.clone(),
            Bus::new(&settings.platform.amqp),
            SERVICE,
            settings.platform.outbox.clone(),
        );
        Ok(App {
            grpc_addr: grpc_listener.local_addr()?,
            admin_addr: admin_listener.local_addr()?,
            settings,
            db,
            grpc_listener,
            admin_listener,
            verifier,
            relay,
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

    /// Lets tests and operators watch or cut the relay's broker link.
    pub fn relay_handle(&self) -> RelayHandle {
        self.relay.handle()
    }

    /// Runs until `shutdown`; in-flight RPCs and handlers finish within the grace period.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let platform = &self.settings.platform;
        let warehouse = Warehouse::new(
            self.db.clone(),
            self.settings.warehouse.partial_reservations,
        );
        let consumer = Consumer::new(
            self.db.clone(),
            Bus::new(&platform.amqp),
            SERVICE,
            crate::events::subscriptions(&warehouse),
        );
        let relay_handle = self.relay.handle();
        let readiness = Readiness::new(Some(self.db.clone()), ALL_MIGRATIONS)
            .with_broker_flag(consumer.connected_flag());
        let api = Api {
            warehouse,
            verifier: self.verifier,
            max_page_size: self.settings.warehouse.max_page_size,
        };
        let service = WarehouseServiceServer::new(api)
            .max_decoding_message_size(platform.server.max_message_bytes)
            .max_encoding_message_size(platform.server.max_message_bytes);

        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let consumer = tokio::spawn(consumer.run(shutdown.clone()));
        let admin = tokio::spawn(http_admin::serve(
            self.admin_listener,
            readiness.clone(),
            shutdown.clone(),
        ));
        tracing::info!(grpc = %self.grpc_addr, admin = %self.admin_addr, "warehouse serving");
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
            let _ = admin.await;
        })
        .await;
        drop(relay_handle);
        served
    }
}
