//! The warehouse started by the platform's test kit (fresh database, the test's broker names,
//! port 0); this file keeps only the warehouse's fixtures.

use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;
use warehouse::app::App;
use warehouse::domain::{BranchCode, PartLine, PartNo, Quantity, RequestKind, RequestNo, Urgency};
use warehouse::service::{ReserveCommand, Warehouse};

pub type Client = WarehouseServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

pub struct TestApp {
    pub svc: TestService<App>,
    pub db: Db,
    pub grpc_addr: std::net::SocketAddr,
}

/// The test's own connection to the service's database (a pool of its own, so that tests
/// calling the operations directly do not starve the service's).
pub struct Db {
    pub conn: DatabaseConnection,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestService::builder()).await
}

/// Starts the warehouse as `builder` says (e.g. with an `AFTERSALES__WAREHOUSE__…` variable).
pub async fn spawn_app_with(builder: TestServiceBuilder<App>) -> TestApp {
    let svc = builder.start().await;
    TestApp {
        db: Db {
            conn: svc
                .db
                .as_ref()
                .expect("the test created the database")
                .conn
                .clone(),
        },
        grpc_addr: svc.grpc_addr(),
        svc,
    }
}

impl TestApp {
    /// The service's operations on the test database, for calling them directly.
    pub fn warehouse(&self) -> Warehouse {
        Warehouse::new(
            self.db.conn.clone(),
            self.svc.settings.own.partial_reservations,
            self.svc.clock().clone(),
        )
    }

    pub async fn client_with(&self, token: &str) -> Client {
        client_at(&self.svc.grpc_url(), token)
    }

    /// A client acting as `role` of `branch` ("*": head office).
    pub async fn as_role(&self, branch: &str, role: Role) -> Client {
        self.client_with(&testing::token("caller-1", branch, &[role]))
            .await
    }

    /// A client acting as a head-office warehouse clerk.
    pub async fn clerk(&self) -> Client {
        self.client_with(&testing::token("clerk-1", "*", &[Role::Warehouse]))
            .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    /// Publishes `payload` as another service would, about `request_no` of branch SH01.
    pub async fn publish<E: Event>(&self, producer: &str, request_no: &str, payload: &E) -> String {
        self.svc
            .publish(producer, request_no, "SH01", payload)
            .await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        payload: &E,
    ) {
        self.svc
            .publish_with_id(id, producer, request_no, "SH01", payload)
            .await
    }

    /// A queue bound to `pattern` on the test exchange, yielding envelopes.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    /// Waits until `sql` (a count) returns `n`.
    pub async fn wait_count(&self, sql: &str, n: i64) {
        self.svc.wait_count(sql, n).await
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

/// A client of the warehouse at `url` (e.g. a second instance on the same database).
pub fn client_at(url: &str, token: &str) -> Client {
    let channel = aftersales_platform::grpc::channel(url, Duration::from_secs(30)).unwrap();
    WarehouseServiceClient::with_interceptor(channel, ClientInterceptor::with_token(token).unwrap())
}

/// A head-office warehouse clerk's client of the warehouse at `url`.
pub fn clerk_at(url: &str) -> Client {
    client_at(url, &testing::token("clerk-1", "*", &[Role::Warehouse]))
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

/// Where the test requests' parts go.
pub fn ship_to() -> common::Address {
    common::Address {
        recipient: "Li Wei".into(),
        phone: "+86 138 0013 8000".into(),
        address: "88 Century Avenue".into(),
        region: common::Region::Urban as i32,
        branch: "SH01".into(),
    }
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
        ship_to: Some(ship_to()),
        ..Default::default()
    }
}

/// Part lines from (part number, quantity) pairs.
pub fn lines(lines: &[(&str, u32)]) -> Vec<PartLine> {
    lines
        .iter()
        .map(|(p, q)| PartLine {
            part_no: PartNo::parse(p).unwrap(),
            quantity: Quantity::parse(*q).unwrap(),
        })
        .collect()
}

/// What an approval of `parts` for `request_no` (branch SH01, no address) asks the warehouse.
pub fn reserve_command(
    request_no: &str,
    urgency: Urgency,
    parts: &[(&str, u32)],
) -> ReserveCommand {
    ReserveCommand {
        request_no: RequestNo::parse(request_no).unwrap(),
        branch: BranchCode::parse("SH01").unwrap(),
        urgency,
        kind: Some(RequestKind::Replacement),
        ship_to: None,
        onsite_required: false,
        product_model: None,
        lines: lines(parts),
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
        OR s.reserved <> COALESCE((SELECT SUM(rl.held) FROM reservation_lines rl JOIN reservations r USING (request_no, replacement) \
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
