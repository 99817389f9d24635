use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::bus::Bus;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::testing::{self, TestBus, TestDb};
use lapin::{Channel, Connection};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;
use warehouse::app::App;
use warehouse::config::{Settings, WarehouseSettings};
use warehouse::service::Warehouse;

pub type Client = WarehouseServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

pub struct TestApp {
    pub db: TestDb,
    /// Held so that dropping the app deletes the test's exchanges.
    #[allow(dead_code)]
    pub bus_names: TestBus,
    pub settings: Settings,
    pub grpc_addr: std::net::SocketAddr,
    pub admin_addr: std::net::SocketAddr,
    pub shutdown: Shutdown,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    amqp: (Connection, Channel),
}

/// Starts the warehouse on port 0 with its own database and broker names, and waits until its
/// consumer has declared its queues.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(WarehouseSettings::default()).await
}

pub async fn spawn_app_with(warehouse: WarehouseSettings) -> TestApp {
    testing::telemetry();
    let db = TestDb::create(warehouse::store::ALL_MIGRATIONS).await;
    let bus_names = TestBus::new();
    let platform = testing::settings("warehouse", &db.url, &bus_names);
    let settings = Settings {
        platform,
        warehouse,
    };
    let validated = settings.validate().expect("test settings are valid");
    let app = App::build(settings.clone(), validated)
        .await
        .expect("app builds");
    let grpc_addr = app.grpc_addr();
    let admin_addr = app.admin_addr();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run(shutdown.clone()));

    let bus = Bus::new(&settings.platform.amqp);
    let conn = bus.connect("warehouse-test").await.unwrap_or_else(|e| {
        panic!(
            "RabbitMQ is not reachable at {}: {e}. Start it (make infra).",
            testing::amqp_url()
        )
    });
    let ch = conn.create_channel().await.expect("channel");
    ch.confirm_select(Default::default())
        .await
        .expect("confirms");
    bus.declare_exchanges(&ch).await.expect("exchanges");
    let t = TestApp {
        db,
        bus_names,
        settings,
        grpc_addr,
        admin_addr,
        shutdown,
        task: Some(task),
        amqp: (conn, ch),
    };
    t.wait_ready().await;
    t
}

impl TestApp {
    async fn wait_ready(&self) {
        testing::wait_ready(self.admin_addr, "warehouse").await;
    }

    pub fn bus(&self) -> Bus {
        Bus::new(&self.settings.platform.amqp)
    }

    /// The service's operations on the test database, for calling them directly.
    pub fn warehouse(&self) -> Warehouse {
        Warehouse::new(
            self.db.conn.clone(),
            self.settings.warehouse.partial_reservations,
        )
    }

    pub async fn client_with(&self, token: &str) -> Client {
        let channel = aftersales_platform::grpc::channel(
            &format!("http://{}", self.grpc_addr),
            Duration::from_secs(30),
        )
        .unwrap();
        WarehouseServiceClient::with_interceptor(
            channel,
            ClientInterceptor::with_token(token).unwrap(),
        )
    }

    /// A client acting as a head-office warehouse clerk.
    pub async fn clerk(&self) -> Client {
        self.client_with(&testing::token("clerk-1", "*", &[Role::Warehouse]))
            .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        count(&self.db.conn, sql).await
    }

    /// Publishes `payload` as another service would, about `request_no`.
    pub async fn publish<E: Event>(&self, producer: &str, request_no: &str, payload: &E) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        self.publish_with_id(&id, producer, request_no, payload)
            .await;
        id
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        payload: &E,
    ) {
        testing::publish_event(
            &self.amqp.1,
            &self.bus(),
            testing::TestEvent {
                id,
                producer,
                request_no,
                branch: "SH01",
            },
            payload,
        )
        .await;
    }

    /// A queue bound to `pattern` on the test exchange, yielding envelopes.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        testing::subscribe(&self.amqp.0, &self.bus(), pattern).await
    }

    /// Waits until `sql` (a count) returns `n`.
    pub async fn wait_count(&self, sql: &str, n: i64) {
        let conn = self.db.conn.clone();
        let got = testing::eventually(Duration::from_secs(30), || {
            let conn = conn.clone();
            async move { (count(&conn, sql).await == n).then_some(()) }
        })
        .await;
        assert!(
            got.is_some(),
            "{sql} never reached {n} (now {})",
            self.count(sql).await
        );
    }

    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

pub async fn count(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// A catalogue part with `reorder_point`.
pub fn part(part_no: &str, valuable: bool, reorder_point: u32) -> pb::Part {
    let mut p = warehouse::demo::demo_part(part_no, "Test part", pb::PartClass::Unit, 1_000);
    p.valuable = valuable;
    p.reorder_point = reorder_point;
    p.reorder_quantity = reorder_point * 2;
    p
}

/// Adds the part and books `qty` passed units of it (into QUALIFIED or VALUABLES).
pub async fn stock_part(client: &mut Client, part_no: &str, valuable: bool, qty: u32) {
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part(part_no, valuable, 0)),
        })
        .await
        .expect("upsert part");
    if qty > 0 {
        receive_and_pass(client, part_no, qty).await;
    }
}

pub async fn receive_and_pass(client: &mut Client, part_no: &str, qty: u32) -> pb::Receipt {
    let r = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            delivery_note: "DN-1".into(),
            lines: vec![pb::ReceiptLine {
                part_no: part_no.into(),
                quantity: qty,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .expect("receive")
        .into_inner()
        .receipt
        .unwrap();
    client
        .record_inspection(pb::RecordInspectionRequest {
            idempotency_key: String::new(),
            receipt_id: r.receipt_id,
            lines: vec![pb::InspectionLine {
                part_no: part_no.into(),
                passed: qty,
                failed: 0,
                failure_reason: String::new(),
            }],
        })
        .await
        .expect("inspect")
        .into_inner()
        .receipt
        .unwrap()
}

/// An approval of `lines` for `request_no`.
pub fn approval(
    request_no: &str,
    urgency: common::Urgency,
    lines: &[(&str, u32)],
) -> claims::ClaimApproved {
    claims::ClaimApproved {
        request_no: request_no.into(),
        branch: "SH01".into(),
        kind: common::RequestKind::Replacement as i32,
        urgency: urgency as i32,
        lines: lines
            .iter()
            .map(|(p, q)| claims::ClaimLine {
                part_no: (*p).into(),
                quantity: *q,
                ..Default::default()
            })
            .collect(),
        ship_to: Some(common::Address {
            recipient: "Li Wei".into(),
            phone: "+86 138 0013 8000".into(),
            address: "88 Century Avenue".into(),
            region: common::Region::Urban as i32,
            branch: "SH01".into(),
        }),
        ..Default::default()
    }
}

pub async fn stock(client: &mut Client, part_no: &str) -> pb::StockLevel {
    client
        .get_stock(pb::GetStockRequest {
            part_no: part_no.into(),
        })
        .await
        .expect("stock")
        .into_inner()
        .stock
        .unwrap()
}

pub fn zone(s: &pb::StockLevel, z: pb::Zone) -> pb::ZoneStock {
    s.zones
        .iter()
        .find(|x| x.zone == z as i32)
        .cloned()
        .unwrap()
}

pub fn violations(status: &tonic::Status) -> HashMap<String, String> {
    aftersales_platform::grpc::violations(status)
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

/// The books balance: per part and zone, on-hand equals the ledger's sum and the last row's
/// balance; reserved equals what open reservations hold; nothing is negative or over-reserved.
pub async fn assert_books_balance(conn: &DatabaseConnection) {
    let bad = count(
        conn,
        "SELECT count(*)::bigint FROM stock_levels s WHERE \
           s.on_hand <> COALESCE((SELECT SUM(quantity) FROM ledger l WHERE l.part_no = s.part_no AND l.zone = s.zone), 0) \
        OR s.on_hand <> COALESCE((SELECT balance_after FROM ledger l WHERE l.part_no = s.part_no AND l.zone = s.zone ORDER BY entry_id DESC LIMIT 1), 0) \
        OR s.reserved <> COALESCE((SELECT SUM(rl.held) FROM reservation_lines rl JOIN reservations r USING (request_no) \
              WHERE rl.part_no = s.part_no AND rl.zone = s.zone AND r.status IN ('CONFIRMED', 'BACKORDERED')), 0) \
        OR s.on_hand < 0 OR s.reserved < 0 OR s.reserved > s.on_hand",
    )
    .await;
    assert_eq!(
        bad, 0,
        "stock levels disagree with the ledger or the reservations"
    );
    let negative_balance = count(
        conn,
        "SELECT count(*)::bigint FROM ledger WHERE balance_after < 0",
    )
    .await;
    assert_eq!(negative_balance, 0, "a ledger balance went negative");
}
