//! Feedback started by the platform's test kit; this file keeps only feedback's fixtures: its
//! clients by role, publishing the other services' events (also with a chosen instant and
//! sequence, for a known history), and the events' payloads.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use feedback::app::App;
use prost::Message;
use tokio::sync::{OnceCell, mpsc};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

pub type Client = FeedbackServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

pub const SCANNER: &str = feedback::deadlines::SCANNER;

/// Feedback under test.
pub struct TestApp {
    pub svc: TestService<App>,
    raw: OnceCell<RawPublisher>,
}

/// How the tests start feedback: a scanner that runs only when a test asks for it or moves the
/// clock.
pub fn builder() -> TestServiceBuilder<App> {
    TestService::<App>::builder().env(
        "AFTERSALES__FEEDBACK__COMPLAINT_SCAN_INTERVAL_MS",
        "3600000",
    )
}

pub async fn spawn_app() -> TestApp {
    wrap(builder().start().await)
}

pub async fn spawn_at(clock: Clock) -> TestApp {
    wrap(builder().clock(clock).start().await)
}

pub fn wrap(svc: TestService<App>) -> TestApp {
    TestApp {
        svc,
        raw: OnceCell::new(),
    }
}

/// Local time (UTC+8, the department's) as an instant.
pub fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A clock standing still at `at`.
pub fn clock_at(at: DateTime<Utc>) -> Clock {
    Clock::manual(at)
}

/// The service an event comes from: the first part of its routing key.
pub fn producer_of(routing_key: &str) -> &'static str {
    match routing_key.split('.').next() {
        Some("claims") => "claims-review",
        Some("fieldservice") => "field-service",
        Some("warehouse") => "warehouse",
        Some("logistics") => "logistics",
        Some("procurement") => "procurement",
        _ => "intake",
    }
}

/// Publishes envelopes built by the test (its own instant and sequence), as a relay would.
struct RawPublisher {
    /// Keeps the broker connection open while the channel is used.
    _connection: Box<dyn std::any::Any + Send + Sync>,
    channel: lapin::Channel,
    exchange: String,
}

impl TestApp {
    pub fn clock(&self) -> &Clock {
        self.svc.clock()
    }

    pub async fn client_with(&self, token: &str) -> Client {
        let channel =
            aftersales_platform::grpc::channel(&self.svc.grpc_url(), Duration::from_secs(30))
                .unwrap();
        FeedbackServiceClient::with_interceptor(
            channel,
            ClientInterceptor::with_token(token).unwrap(),
        )
    }

    pub async fn as_role(&self, branch: &str, role: Role) -> Client {
        self.client_with(&testing::token(
            &format!("{role}-{branch}"),
            branch,
            &[role],
        ))
        .await
    }

    /// A branch agent of `branch`.
    pub async fn agent(&self, branch: &str) -> Client {
        self.as_role(branch, Role::BranchAgent).await
    }

    /// An analyst of `branch` (`*`: head office).
    pub async fn analyst(&self, branch: &str) -> Client {
        self.as_role(branch, Role::Analyst).await
    }

    pub async fn admin(&self) -> Client {
        self.as_role("*", Role::Admin).await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    /// Publishes `payload` as its producer's relay would, about `request_no`; the event id.
    pub async fn publish<E: Event>(&self, request_no: &str, branch: &str, payload: &E) -> String {
        self.svc
            .publish(producer_of(E::ROUTING_KEY), request_no, branch, payload)
            .await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) {
        self.svc
            .publish_with_id(id, producer_of(E::ROUTING_KEY), request_no, branch, payload)
            .await
    }

    /// Publishes an envelope that says it happened at `at` with the producer's `sequence`; the
    /// event id.
    pub async fn publish_at<E: Event>(
        &self,
        at: DateTime<Utc>,
        sequence: u64,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) -> String {
        self.publish_bytes::<E>(at, sequence, request_no, branch, payload.encode_to_vec())
            .await
    }

    /// The same with the payload's bytes as given (a payload with fields its producer will add).
    pub async fn publish_bytes<E: Event>(
        &self,
        at: DateTime<Utc>,
        sequence: u64,
        request_no: &str,
        branch: &str,
        payload: Vec<u8>,
    ) -> String {
        let raw = self
            .raw
            .get_or_init(|| async {
                let bus = self.svc.bus_settings();
                let conn = bus.connect("feedback-test-publisher").await.unwrap();
                let channel = conn.create_channel().await.unwrap();
                channel.confirm_select(Default::default()).await.unwrap();
                bus.declare_exchanges(&channel).await.unwrap();
                RawPublisher {
                    _connection: Box::new(conn),
                    channel,
                    exchange: bus.topology.exchange.clone(),
                }
            })
            .await;
        let id = uuid::Uuid::now_v7().to_string();
        let env = EventEnvelope {
            event_id: id.clone(),
            r#type: E::full_name(),
            occurred_at: Some(ts(at)),
            producer: producer_of(E::ROUTING_KEY).into(),
            subject: request_no.into(),
            sequence,
            branch: branch.into(),
            payload,
            routing_key: E::ROUTING_KEY.into(),
            request_no: request_no.into(),
        };
        raw.channel
            .basic_publish(
                raw.exchange.as_str().into(),
                E::ROUTING_KEY.into(),
                lapin::options::BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &env.encode_to_vec(),
                lapin::BasicProperties::default()
                    .with_message_id(id.as_str().into())
                    .with_type(E::ROUTING_KEY.into())
                    .with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        id
    }

    /// A queue bound to `pattern` on the test exchange, yielding envelopes.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    /// How many envelopes feedback has logged.
    pub async fn logged(&self) -> i64 {
        self.count("SELECT count(*)::bigint FROM event_log").await
    }

    /// Waits until feedback has handled `n` events of other services (each once).
    pub async fn wait_processed(&self, n: i64) {
        self.svc
            .wait_count("SELECT count(*)::bigint FROM processed_events", n)
            .await
    }

    /// Runs the complaint-deadline scanner once at the clock's now; how many complaints lapsed.
    pub async fn scan(&self) -> usize {
        self.svc.scan(SCANNER).await
    }

    /// The visits of a request, in any status (head office's view).
    pub async fn visits_of(&self, request_no: &str) -> Vec<pb::Visit> {
        let mut c = self.admin().await;
        c.list_due_visits(pb::ListDueVisitsRequest {
            request_no: request_no.into(),
            statuses: vec![1, 2, 3, 4, 5],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .visits
    }

    /// Waits until the request has a visit and returns it.
    pub async fn wait_visit(&self, request_no: &str) -> pb::Visit {
        testing::eventually(Duration::from_secs(20), || async {
            self.visits_of(request_no).await.into_iter().next()
        })
        .await
        .unwrap_or_else(|| panic!("no visit for {request_no}"))
    }

    /// Waits until everything feedback staged went out, publishes a sentinel `pattern` event and
    /// returns what `rx` got before it: the broker keeps a queue's order, so nothing published
    /// before the sentinel comes after it.
    pub async fn drain(
        &self,
        rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    ) -> Vec<EventEnvelope> {
        self.svc
            .wait_count(
                "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
                0,
            )
            .await;
        let sentinel = request_no("ZZ99");
        self.svc
            .publish(
                "feedback",
                &sentinel,
                "ZZ99",
                &pb::ComplaintEscalated {
                    request_no: sentinel.clone(),
                    branch: "ZZ99".into(),
                    ..Default::default()
                },
            )
            .await;
        let mut got = Vec::new();
        loop {
            let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("the sentinel arrives")
                .expect("event stream open");
            if env.subject == sentinel {
                return got;
            }
            got.push(env);
        }
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

/// Waits for the next event with `routing_key` about `subject`.
pub async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    routing_key: &str,
    subject: &str,
) -> EventEnvelope {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let env = rx.recv().await.expect("event stream open");
            if env.routing_key == routing_key && env.subject == subject {
                return env;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {routing_key} for {subject}"))
}

/// A request number unique to the test.
pub fn request_no(branch: &str) -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 999_999 + 1;
    format!("AS-2610-{branch}-{n:06}")
}

/// The bad fields of an INVALID_ARGUMENT status.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    aftersales_platform::grpc::violations(status)
        .into_iter()
        .map(|v| v.field)
        .collect()
}

pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

// Payloads of the other services' events.

pub fn submitted(no: &str, branch: &str, at: DateTime<Utc>) -> intake::RequestSubmitted {
    intake::RequestSubmitted {
        request: Some(intake::ServiceRequest {
            request_no: no.into(),
            status: intake::RequestStatus::Submitted as i32,
            branch: branch.into(),
            channel: common::Channel::Hotline as i32,
            kind: common::RequestKind::Repair as i32,
            urgency: common::Urgency::Normal as i32,
            customer: Some(testing::demo::customer()),
            product: Some(testing::demo::television("2026-09-01")),
            fault_description: "no picture".into(),
            parts: testing::demo::power_board(),
            created_at: Some(ts(at)),
            ..Default::default()
        }),
    }
}

pub fn approved(
    no: &str,
    branch: &str,
    parts: &[&str],
    at: DateTime<Utc>,
) -> claims::ClaimApproved {
    claims::ClaimApproved {
        request_no: no.into(),
        branch: branch.into(),
        kind: common::RequestKind::Repair as i32,
        urgency: common::Urgency::High as i32,
        customer: Some(testing::demo::customer()),
        product: Some(testing::demo::television("2026-09-01")),
        lines: parts
            .iter()
            .map(|p| claims::ClaimLine {
                part_no: (*p).into(),
                quantity: 1,
                ..Default::default()
            })
            .collect(),
        ship_to: Some(common::Address {
            recipient: "Li Wei".into(),
            phone: "+86 138 0013 8000".into(),
            address: "88 Century Avenue, Pudong, Shanghai".into(),
            region: common::Region::Urban as i32,
            branch: branch.into(),
        }),
        onsite_required: true,
        approved_at: Some(ts(at)),
        ..Default::default()
    }
}

pub fn completed(
    no: &str,
    branch: &str,
    work_order_no: &str,
    technician: &str,
    at: DateTime<Utc>,
) -> fieldservice::WorkOrderCompleted {
    fieldservice::WorkOrderCompleted {
        request_no: no.into(),
        branch: branch.into(),
        work_order_no: work_order_no.into(),
        technician_id: technician.into(),
        serial: "SN12345678".into(),
        product_model: "X55".into(),
        product_category: "television".into(),
        parts_used: vec![fieldservice::PartUsed {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            coverage: common::Coverage::Free as i32,
            ..Default::default()
        }],
        labour_minutes: 45,
        completed_at: Some(ts(at)),
        arrival_on_time: true,
        resolution: "power board replaced".into(),
        ..Default::default()
    }
}

pub fn delivered(
    no: &str,
    branch: &str,
    shipment_no: &str,
    onsite_required: bool,
    at: DateTime<Utc>,
) -> logistics::ShipmentDelivered {
    logistics::ShipmentDelivered {
        request_no: no.into(),
        branch: branch.into(),
        shipment_no: shipment_no.into(),
        waybill_no: format!("WB-{shipment_no}"),
        carrier: "SF".into(),
        delivered_at: Some(ts(at)),
        signed_by: "Li Wei".into(),
        on_time: true,
        onsite_required,
        kind: common::RequestKind::Replacement as i32,
        lines: testing::demo::power_board(),
        ..Default::default()
    }
}

pub fn refunded(
    no: &str,
    branch: &str,
    refund_id: &str,
    at: DateTime<Utc>,
) -> claims::RefundAuthorized {
    claims::RefundAuthorized {
        request_no: no.into(),
        branch: branch.into(),
        refund_id: refund_id.into(),
        kind: common::RequestKind::Return as i32,
        authorized_at: Some(ts(at)),
        customer: Some(testing::demo::customer()),
        ..Default::default()
    }
}

pub fn cancelled(no: &str, branch: &str) -> intake::RequestCancelled {
    intake::RequestCancelled {
        request_no: no.into(),
        branch: branch.into(),
        reason: "customer changed their mind".into(),
        cancelled_by: "agent".into(),
        previous_status: intake::RequestStatus::Sourcing as i32,
    }
}

/// A survey of `visit_id` with every rating `r` (skill and arrival too).
pub fn survey(visit_id: &str, r: pb::Rating, resolved: bool) -> pb::RecordSurveyRequest {
    pb::RecordSurveyRequest {
        idempotency_key: key(),
        visit_id: visit_id.into(),
        attitude: r as i32,
        technical_skill: r as i32,
        arrival_time: r as i32,
        promise_keeping: r as i32,
        comment: String::new(),
        resolved: Some(resolved),
        ..Default::default()
    }
}
