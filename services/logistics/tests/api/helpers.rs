//! Logistics started by the platform's test kit (fresh database, the test's broker names, port
//! 0, a manual clock); this file keeps only logistics' fixtures: the events the warehouse,
//! intake and claims-review would send, clients with tokens, and waits.

use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::proto::logistics::v1::logistics_service_client::LogisticsServiceClient;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use chrono::{DateTime, Utc};
use logistics::app::App;
use prost::Message;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Client = LogisticsServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Monday 2026-11-30, 10:00 in Shanghai: a working morning.
pub fn monday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub svc: TestService<App>,
}

/// Logistics on a manual clock at [`monday_morning`].
pub async fn spawn_app() -> TestApp {
    spawn_app_with(builder()).await
}

pub fn builder() -> TestServiceBuilder<App> {
    TestService::<App>::builder().clock(Clock::manual(monday_morning()))
}

pub async fn spawn_app_with(builder: TestServiceBuilder<App>) -> TestApp {
    TestApp {
        svc: builder.start().await,
    }
}

/// The token of the logistics clerk (the platform's `logistics` role is not there yet: the
/// dispatcher stands in, as `logistics::grpc::OPERATORS` says).
pub fn operator_token() -> String {
    testing::token("clerk-log", "*", logistics::grpc::OPERATORS)
}

pub fn client_at(url: &str, token: &str) -> Client {
    let channel = aftersales_platform::grpc::channel(url, Duration::from_secs(30)).unwrap();
    LogisticsServiceClient::with_interceptor(channel, ClientInterceptor::with_token(token).unwrap())
}

impl TestApp {
    pub fn clock(&self) -> &Clock {
        self.svc.clock()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }

    pub fn client_with(&self, token: &str) -> Client {
        client_at(&self.svc.grpc_url(), token)
    }

    /// The head-office logistics clerk.
    pub fn operator(&self) -> Client {
        self.client_with(&operator_token())
    }

    /// A branch agent of `branch`.
    pub fn agent(&self, branch: &str) -> Client {
        self.client_with(&testing::token("agent-1", branch, &[Role::BranchAgent]))
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    pub async fn wait_count(&self, sql: &str, n: i64) {
        self.svc.wait_count(sql, n).await
    }

    pub async fn publish<E: Event>(&self, producer: &str, request_no: &str, payload: &E) -> String {
        let branch = branch_of(request_no);
        self.svc
            .publish(producer, request_no, &branch, payload)
            .await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        payload: &E,
    ) {
        let branch = branch_of(request_no);
        self.svc
            .publish_with_id(id, producer, request_no, &branch, payload)
            .await
    }

    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    /// A dealer's own token (role `dealer`, its code in the `dealer` claim) at its branch.
    pub fn dealer(&self, branch: &str, dealer_code: &str) -> Client {
        self.client_with(&testing::dealer_token("dealer-user", branch, dealer_code))
    }

    /// Publishes the warehouse's `warehouse.consignment.issued` as its relay would (subject =
    /// consignment_id, branch = the dealer's); returns the event id.
    pub async fn publish_consignment(&self, c: &wh::ConsignmentIssued) -> String {
        self.svc
            .publish("warehouse", &c.consignment_id, &c.branch, c)
            .await
    }

    pub async fn publish_consignment_with_id(&self, id: &str, c: &wh::ConsignmentIssued) {
        self.svc
            .publish_with_id(id, "warehouse", &c.consignment_id, &c.branch, c)
            .await
    }

    /// How many deliveries logistics' inbox finished with (handled, a known duplicate, or dead
    /// letters): a test waits on it for a burst instead of sleeping.
    pub fn deliveries_finished(&self) -> u64 {
        let inbox = self.svc.bus_settings().topology.inbox("logistics");
        ["ok", "duplicate", "dead_lettered"]
            .into_iter()
            .map(|outcome| testing::consumer_count(&inbox, outcome))
            .sum()
    }

    /// Waits until logistics processed `n` events of `routing_key`.
    pub async fn wait_processed(&self, routing_key: &str, n: i64) {
        self.wait_count(
            &format!(
                "SELECT count(*)::bigint FROM processed_events WHERE routing_key = '{routing_key}'"
            ),
            n,
        )
        .await
    }

    /// Runs a scanner once at the clock's now; how many things it handled.
    pub async fn scan(&self, name: &str) -> usize {
        self.svc.scan(name).await
    }

    /// The request's shipments, oldest first.
    pub async fn shipments_of(&self, request_no: &str) -> Vec<pb::Shipment> {
        let mut s = self
            .operator()
            .list_shipments(pb::ListShipmentsRequest {
                request_no: request_no.into(),
                page_size: 200,
                ..Default::default()
            })
            .await
            .expect("list shipments")
            .into_inner()
            .shipments;
        s.reverse();
        s
    }

    /// Waits (up to 30 s) until the request has a shipment for which `ok` holds.
    pub async fn wait_shipment(
        &self,
        request_no: &str,
        ok: impl Fn(&pb::Shipment) -> bool,
    ) -> pb::Shipment {
        if let Some(s) = testing::eventually(Duration::from_secs(30), || async {
            self.shipments_of(request_no)
                .await
                .into_iter()
                .find(|s| ok(s))
        })
        .await
        {
            return s;
        }
        let seen: Vec<(String, i32)> = self
            .shipments_of(request_no)
            .await
            .into_iter()
            .map(|s| (s.shipment_no, s.status))
            .collect();
        panic!("{request_no}: no such shipment within 30 s; it has {seen:?}")
    }

    pub async fn shipment(&self, shipment_no: &str) -> pb::Shipment {
        self.operator()
            .get_shipment(pb::GetShipmentRequest {
                shipment_no: shipment_no.into(),
                ..Default::default()
            })
            .await
            .expect("get shipment")
            .into_inner()
            .shipment
            .unwrap()
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

pub fn branch_of(request_no: &str) -> String {
    request_no.split('-').nth(2).unwrap_or("SH01").to_owned()
}

/// A fresh request number of `branch`.
pub fn request_no(branch: &str) -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 999_999 + 1;
    format!("AS-2611-{branch}-{n:06}")
}

pub fn pick_list(request_no: &str) -> String {
    format!("PL-{request_no}")
}

/// Li Wei's door in Pudong, urban.
pub fn ship_to(branch: &str) -> common::Address {
    common::Address {
        recipient: "Li Wei".into(),
        phone: "+86 138 0013 8000".into(),
        address: "88 Century Avenue, Pudong, Shanghai".into(),
        region: common::Region::Urban as i32,
        branch: branch.into(),
    }
}

/// What the warehouse publishes when it reserved `lines` for `request_no`.
pub fn confirmed(
    request_no: &str,
    urgency: common::Urgency,
    lines: &[(&str, u32)],
) -> wh::ReservationConfirmed {
    let branch = branch_of(request_no);
    wh::ReservationConfirmed {
        request_no: request_no.into(),
        branch: branch.clone(),
        pick_list_id: pick_list(request_no),
        lines: lines
            .iter()
            .map(|(p, q)| wh::PickLine {
                part_no: (*p).into(),
                quantity: *q,
                zone: wh::Zone::Qualified as i32,
            })
            .collect(),
        urgency: urgency as i32,
        kind: common::RequestKind::Replacement as i32,
        ship_to: Some(ship_to(&branch)),
        onsite_required: false,
        backorder_id: String::new(),
        reserved_at: None,
        ..Default::default()
    }
}

/// A fresh dealer order's id, as the warehouse makes them.
pub fn order_id() -> String {
    format!("DO-{}", uuid::Uuid::new_v4().simple())
}

/// A dealer's workshop in Minhang, urban.
pub fn dealer_door(branch: &str) -> common::Address {
    common::Address {
        recipient: "Zhang Motors service desk".into(),
        phone: "+86 21 5555 0101".into(),
        address: "12 Dealer Road, Minhang, Shanghai".into(),
        region: common::Region::Urban as i32,
        branch: branch.into(),
    }
}

/// What the warehouse publishes when a dealer's order of `lines` (from QUALIFIED) left it.
pub fn consignment(
    consignment_id: &str,
    dealer_code: &str,
    branch: &str,
    lines: &[(&str, u32)],
) -> wh::ConsignmentIssued {
    wh::ConsignmentIssued {
        consignment_id: consignment_id.into(),
        kind: common::ConsignmentKind::DealerOrder as i32,
        dealer_code: dealer_code.into(),
        branch: branch.into(),
        ship_to: Some(dealer_door(branch)),
        lines: lines
            .iter()
            .map(|(p, q)| wh::PickLine {
                part_no: (*p).into(),
                quantity: *q,
                zone: wh::Zone::Qualified as i32,
            })
            .collect(),
        value: Some(common::Money {
            currency: "CNY".into(),
            amount_minor: 45_000 * lines.iter().map(|(_, q)| i64::from(*q)).sum::<i64>(),
        }),
        issued_at: None,
        urgency: common::Urgency::Normal as i32,
        dealer_reference: "PO-7781".into(),
    }
}

/// What the warehouse publishes when it issued the pick list of `confirmed`.
pub fn issued(c: &wh::ReservationConfirmed, shipment_no: &str) -> wh::PartsIssued {
    wh::PartsIssued {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        pick_list_id: c.pick_list_id.clone(),
        lines: c
            .lines
            .iter()
            .map(|l| wh::IssuedLine {
                part_no: l.part_no.clone(),
                quantity: l.quantity,
                zone: l.zone,
                unit_cost: Some(common::Money {
                    currency: "CNY".into(),
                    amount_minor: 45_000,
                }),
                ..Default::default()
            })
            .collect(),
        shipment_no: shipment_no.into(),
        issued_by: "clerk-1".into(),
        issued_at: None,
    }
}

pub fn cancelled(request_no: &str) -> intake::RequestCancelled {
    intake::RequestCancelled {
        request_no: request_no.into(),
        branch: branch_of(request_no),
        reason: "the customer withdrew it".into(),
        ..Default::default()
    }
}

pub fn released(request_no: &str) -> wh::ReservationReleased {
    wh::ReservationReleased {
        request_no: request_no.into(),
        branch: branch_of(request_no),
        pick_list_id: pick_list(request_no),
        reason: "request_cancelled".into(),
        ..Default::default()
    }
}

/// claims-review's approval of a return for a quality problem (`pickup_free`) or not.
pub fn approved_return(request_no: &str, pickup_free: bool) -> claims::ClaimApproved {
    let branch = branch_of(request_no);
    claims::ClaimApproved {
        request_no: request_no.into(),
        branch: branch.clone(),
        kind: common::RequestKind::Return as i32,
        urgency: common::Urgency::Normal as i32,
        region: common::Region::Urban as i32,
        customer: Some(aftersales_platform::testing::demo::customer()),
        product: Some(aftersales_platform::testing::demo::television("2026-11-25")),
        lines: vec![claims::ClaimLine {
            part_no: "TV-X55".into(),
            quantity: 1,
            ..Default::default()
        }],
        pickup_required: true,
        pickup_free,
        ..Default::default()
    }
}

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_ts(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap()
}

/// A carrier's update of `waybill`, sent now.
pub fn update(
    carrier: &str,
    waybill: &str,
    event_id: &str,
    status: pb::TrackingStatus,
    occurred_at: DateTime<Utc>,
    sent_at: DateTime<Utc>,
) -> pb::RecordTrackingEventRequest {
    pb::RecordTrackingEventRequest {
        carrier: carrier.into(),
        waybill_no: waybill.into(),
        carrier_event_id: event_id.into(),
        status: status as i32,
        occurred_at: Some(ts(occurred_at)),
        sent_at: Some(ts(sent_at)),
        location: "Shanghai hub".into(),
        ..Default::default()
    }
}

/// The next envelope of `routing_key` about `subject` (up to 30 s).
pub async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    routing_key: &str,
    subject: &str,
) -> EventEnvelope {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let env = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {routing_key} for {subject} within 30 s"))
            .expect("event stream open");
        if env.routing_key == routing_key && env.subject == subject {
            return env;
        }
    }
}

pub fn decode<M: Message + Default>(env: &EventEnvelope) -> M {
    M::decode(env.payload.as_slice()).unwrap()
}

/// Every event on `rx` until the sentinel `subject` arrives: publish a sentinel after the
/// events to wait for, so that "nothing else came" is known without sleeping.
pub async fn until_sentinel(
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    sentinel: &str,
) -> Vec<EventEnvelope> {
    let mut seen = Vec::new();
    loop {
        let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the sentinel arrives within 30 s")
            .expect("event stream open");
        if env.subject == sentinel {
            return seen;
        }
        seen.push(env);
    }
}

pub fn violations(status: &tonic::Status) -> HashMap<String, String> {
    aftersales_platform::grpc::violations(status)
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}
