//! Procurement started by the platform's test kit (fresh database, the test's broker names,
//! port 0); this file keeps only procurement's fixtures.

use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::procurement::v1::procurement_service_client::ProcurementServiceClient;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use procurement::app::App;
use prost::Message;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

pub type Client = ProcurementServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

pub struct TestApp {
    pub svc: TestService<App>,
}

/// How the tests start procurement: scanners that run only when a test asks (or moves a manual
/// clock).
pub fn builder() -> TestServiceBuilder<App> {
    TestService::<App>::builder().env("AFTERSALES__PROCUREMENT__SCAN_INTERVAL_MS", "3600000")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(builder()).await
}

pub async fn spawn_app_with(builder: TestServiceBuilder<App>) -> TestApp {
    TestApp {
        svc: builder.start().await,
    }
}

/// A clock standing still on a Tuesday at 10:00 in Shanghai (02:00 UTC), for tests that move
/// time.
pub fn manual_clock() -> Clock {
    Clock::manual(at("2026-12-01T02:00:00Z"))
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The request number `n` of branch SH01.
pub fn request_no(n: u32) -> String {
    format!("AS-2611-SH01-{n:06}")
}

pub fn money(minor: i64) -> Option<common::Money> {
    Some(common::Money {
        currency: "CNY".into(),
        amount_minor: minor,
    })
}

pub fn client_at(url: &str, token: &str) -> Client {
    let channel = aftersales_platform::grpc::channel(url, Duration::from_secs(30)).unwrap();
    ProcurementServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(token).unwrap(),
    )
}

impl TestApp {
    pub fn client_with(&self, token: &str) -> Client {
        client_at(&self.svc.grpc_url(), token)
    }

    /// A buyer at head office.
    pub fn buyer(&self) -> Client {
        self.client_with(&testing::token("buyer-1", "*", &[Role::Procurement]))
    }

    pub fn as_role(&self, branch: &str, role: Role) -> Client {
        self.client_with(&testing::token(
            &format!("{role}-{branch}"),
            branch,
            &[role],
        ))
    }

    pub fn clock(&self) -> &Clock {
        self.svc.clock()
    }

    pub fn today(&self) -> NaiveDate {
        let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        self.clock().now().with_timezone(&offset).date_naive()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    /// Publishes `payload` as `producer` would, about `subject` (no branch).
    pub async fn publish<E: Event>(&self, producer: &str, subject: &str, payload: &E) -> String {
        self.svc.publish(producer, subject, "", payload).await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        subject: &str,
        payload: &E,
    ) {
        self.svc
            .publish_with_id(id, producer, subject, "", payload)
            .await
    }

    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    /// The POs serving `request_no`, newest first (as head office sees them).
    pub async fn pos_of(&self, request_no: &str) -> Vec<pb::PurchaseOrder> {
        self.buyer()
            .list_purchase_orders(pb::ListPurchaseOrdersRequest {
                request_no: request_no.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .purchase_orders
    }

    /// Waits (30 s at most) for the one PO serving `request_no`.
    pub async fn wait_po_of(&self, request_no: &str) -> pb::PurchaseOrder {
        testing::eventually(Duration::from_secs(30), || async {
            self.pos_of(request_no).await.into_iter().next()
        })
        .await
        .unwrap_or_else(|| panic!("no purchase order serves {request_no}"))
    }

    pub async fn po(&self, po_number: &str) -> pb::PurchaseOrder {
        self.buyer()
            .get_purchase_order(pb::GetPurchaseOrderRequest {
                po_number: po_number.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .purchase_order
            .unwrap()
    }

    /// Waits (30 s at most) until the PO satisfies `pred`.
    pub async fn wait_po(
        &self,
        po_number: &str,
        pred: impl Fn(&pb::PurchaseOrder) -> bool,
    ) -> pb::PurchaseOrder {
        let pred = &pred;
        testing::eventually(Duration::from_secs(30), || async move {
            let po = self.po(po_number).await;
            pred(&po).then_some(po)
        })
        .await
        .unwrap_or_else(|| panic!("{po_number} did not reach the expected state in 30 s"))
    }

    pub async fn supplier(&self, id: &str) -> pb::Supplier {
        self.buyer()
            .get_supplier(pb::GetSupplierRequest {
                supplier_id: id.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .supplier
            .unwrap()
    }

    /// Registers `id` qualified for `parts` (a good admission evaluation).
    pub async fn register(&self, id: &str, parts: &[&str]) -> pb::Supplier {
        self.buyer()
            .register_supplier(registration(id, parts))
            .await
            .unwrap()
            .into_inner()
            .supplier
            .unwrap()
    }

    /// A quote of `supplier` for `part` at `price` fen with `lead` working days, valid a year.
    pub async fn quote(&self, supplier: &str, part: &str, price: i64, lead: u32) -> pb::Quote {
        let until = self.today() + chrono::Duration::days(365);
        self.buyer()
            .submit_quote(quote_request(supplier, part, price, lead, until))
            .await
            .unwrap()
            .into_inner()
            .quote
            .unwrap()
    }

    /// Publishes the warehouse's shortage of `missing` × `part` for `request_no` (branch SH01).
    pub async fn shortage(&self, request_no: &str, part: &str, missing: u32) -> String {
        self.svc
            .publish(
                "warehouse",
                request_no,
                "SH01",
                &shortage(request_no, part, missing),
            )
            .await
    }

    /// Publishes intake's cancellation of `request_no` (branch SH01).
    pub async fn cancel(&self, request_no: &str) -> String {
        self.svc
            .publish("intake", request_no, "SH01", &cancellation(request_no))
            .await
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

pub fn registration(id: &str, parts: &[&str]) -> pb::RegisterSupplierRequest {
    pb::RegisterSupplierRequest {
        idempotency_key: format!("register-{id}"),
        supplier: Some(pb::Supplier {
            supplier_id: id.into(),
            name: format!("Supplier {id}"),
            contact_name: "Zhang Wei".into(),
            phone: "+86 21 5555 0101".into(),
            email: "sales@example.com".into(),
            part_nos: parts.iter().map(|p| (*p).to_owned()).collect(),
            lead_time_days: 5,
            qualification: Some(pb::SupplierQualification {
                reputation_bp: 9_000,
                quality_bp: 9_000,
                capacity_bp: 8_000,
                price_bp: 8_000,
                evaluated_on: String::new(),
                note: String::new(),
            }),
            ..Default::default()
        }),
    }
}

pub fn quote_request(
    supplier: &str,
    part: &str,
    price: i64,
    lead: u32,
    until: NaiveDate,
) -> pb::SubmitQuoteRequest {
    pb::SubmitQuoteRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        quote: Some(pb::Quote {
            supplier_id: supplier.into(),
            part_no: part.into(),
            unit_price: money(price),
            min_quantity: 1,
            lead_time_days: lead,
            valid_until_date: until.to_string(),
            ..Default::default()
        }),
    }
}

pub fn shortage(request_no: &str, part: &str, missing: u32) -> warehouse::StockShortage {
    warehouse::StockShortage {
        request_no: request_no.into(),
        branch: "SH01".into(),
        backorder_id: format!("BO-{request_no}"),
        urgency: common::Urgency::Normal as i32,
        lines: vec![warehouse::BackorderLine {
            part_no: part.into(),
            requested: missing,
            reserved: 0,
            missing,
        }],
        partially_reserved: false,
        ..Default::default()
    }
}

pub fn cancellation(request_no: &str) -> aftersales_platform::proto::intake::v1::RequestCancelled {
    aftersales_platform::proto::intake::v1::RequestCancelled {
        request_no: request_no.into(),
        branch: "SH01".into(),
        reason: "the customer withdrew it".into(),
        ..Default::default()
    }
}

/// A goods receipt against `po_number` line 1 of `part`.
pub fn receipt(
    receipt_id: &str,
    po_number: &str,
    part: &str,
    passed: u32,
    failed: u32,
    received_date: NaiveDate,
) -> warehouse::GoodsReceived {
    warehouse::GoodsReceived {
        receipt_id: receipt_id.into(),
        po_number: po_number.into(),
        supplier_id: String::new(),
        delivery_note: "DN-1".into(),
        lines: vec![warehouse::GoodsReceivedLine {
            part_no: part.into(),
            po_line_no: 1,
            received: passed + failed,
            passed,
            failed,
            failure_reason: if failed > 0 {
                "scratched housing".into()
            } else {
                String::new()
            },
        }],
        received_date: received_date.to_string(),
        received_at: None,
        inspected_at: None,
    }
}

/// The next envelope of `rx` satisfying `pred` (30 s at most).
pub async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    pred: impl Fn(&EventEnvelope) -> bool,
) -> EventEnvelope {
    loop {
        let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the event arrives within 30 s")
            .expect("event stream open");
        if pred(&env) {
            return env;
        }
    }
}

pub fn decode<M: Message + Default>(env: &EventEnvelope) -> M {
    M::decode(env.payload.as_slice()).unwrap()
}

pub fn violations(status: &tonic::Status) -> HashMap<String, String> {
    aftersales_platform::grpc::violations(status)
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

impl TestApp {
    /// Stops this instance; what is published meanwhile waits in its inbox, as behind an outage.
    /// The database stays (this value owns it).
    pub async fn stop_consuming(&mut self) {
        self.svc
            .take_running()
            .stop()
            .await
            .expect("procurement stops cleanly");
    }

    /// Another instance on the same database and broker names, built by `builder`: it takes a
    /// backlog many deliveries at a time (the broker's prefetch), handled concurrently.
    pub async fn replica(&self, builder: TestServiceBuilder<App>) -> TestApp {
        spawn_app_with(
            builder
                .bus(&self.svc.bus)
                .database_url(&self.svc.database_url()),
        )
        .await
    }

    /// Deliveries of `routing_key` the consumer settled (handled, found duplicate or
    /// dead-lettered); retries are not settled yet.
    pub fn settled(&self, routing_key: &str) -> u64 {
        let queue = self.svc.bus_settings().topology.inbox("procurement");
        ["ok", "duplicate", "dead_lettered"]
            .iter()
            .map(|outcome| {
                aftersales_platform::telemetry::metrics()
                    .consumer_processed
                    .with_label_values(&[queue.as_str(), routing_key, outcome])
                    .get()
            })
            .sum()
    }

    /// Waits (60 s at most) until `n` deliveries of `routing_key` were settled.
    pub async fn wait_settled(&self, routing_key: &str, n: u64) {
        testing::eventually(Duration::from_secs(60), || async {
            (self.settled(routing_key) >= n).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("{} of {n} {routing_key} settled", self.settled(routing_key)));
    }
}
