use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::bus::Bus;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::claims_service_client::ClaimsServiceClient;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use claims_review::app::App;
use claims_review::domain::Policy;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

pub type Client = ClaimsServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

/// The deadline scanner's name.
pub const SCANNER: &str = claims_review::sla::SCANNER;

/// Claims-review started by the platform's test kit; this file keeps only claims-review's
/// fixtures.
pub struct TestApp {
    pub svc: TestService<App>,
    pub db: Db,
    pub grpc_addr: std::net::SocketAddr,
}

/// The test's database connection.
pub struct Db {
    pub conn: DatabaseConnection,
}

pub async fn spawn_app() -> TestApp {
    wrap(builder(None).start().await)
}

/// Claims-review deciding by `policy` instead of the demo policy.
pub async fn spawn_app_with(policy: Policy) -> TestApp {
    wrap(builder(Some(policy)).start().await)
}

/// How the tests start claims-review: `policy` (or the demo policy), and a scanner that runs
/// only when a test asks for it or moves the clock.
pub fn builder(policy: Option<Policy>) -> TestServiceBuilder<App> {
    TestService::<App>::builder()
        .env("AFTERSALES__CLAIMS_REVIEW__SLA_SCAN_INTERVAL_MS", "3600000")
        .adjust(move |_, own| own.policy = policy)
}

/// A clock standing still at the present (truncated to microseconds, as Postgres keeps it), for
/// a test that moves time.
pub fn manual_clock() -> Clock {
    let now = chrono::Utc::now();
    let now = chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    Clock::manual(now)
}

pub fn wrap(svc: TestService<App>) -> TestApp {
    TestApp {
        db: Db {
            conn: svc.conn().clone(),
        },
        grpc_addr: svc.grpc_addr(),
        svc,
    }
}

impl TestApp {
    pub fn bus(&self) -> Bus {
        self.svc.bus_settings()
    }

    pub fn clock(&self) -> &Clock {
        self.svc.clock()
    }

    /// Runs the deadline scanner once at the clock's now (waiting while the scanner's own loop,
    /// woken by the clock moving, holds it). How many claims breached.
    pub async fn scan(&self) -> usize {
        self.svc.scan(SCANNER).await
    }

    pub async fn client_with(&self, token: &str) -> Client {
        let channel = aftersales_platform::grpc::channel(
            &format!("http://{}", self.grpc_addr),
            Duration::from_secs(30),
        )
        .unwrap();
        ClaimsServiceClient::with_interceptor(
            channel,
            ClientInterceptor::with_token(token).unwrap(),
        )
    }

    /// A reviewer at head office.
    pub async fn reviewer(&self, name: &str) -> Client {
        self.client_with(&testing::token(name, "*", &[Role::Reviewer]))
            .await
    }

    pub async fn as_role(&self, branch: &str, role: Role) -> Client {
        self.client_with(&testing::token(
            &format!("{role}-{branch}"),
            branch,
            &[role],
        ))
        .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    /// Publishes `payload` as intake (or the warehouse, or logistics) would, about `request_no`;
    /// returns the event id.
    pub async fn publish<E: Event>(&self, request_no: &str, branch: &str, payload: &E) -> String {
        self.svc
            .publish(producer_of::<E>(), request_no, branch, payload)
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
            .publish_with_id(id, producer_of::<E>(), request_no, branch, payload)
            .await
    }

    /// A queue bound to `pattern` on the test exchange, yielding envelopes.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    /// Submits `r` as intake would and waits until its claim exists.
    pub async fn submit(&self, r: &intake::ServiceRequest) -> pb::Claim {
        self.publish(
            &r.request_no,
            &r.branch,
            &intake::RequestSubmitted {
                request: Some(r.clone()),
            },
        )
        .await;
        self.wait_claim(&r.request_no, |_| true).await
    }

    /// Waits until the claim exists and satisfies `pred`.
    pub async fn wait_claim(
        &self,
        request_no: &str,
        pred: impl Fn(&pb::Claim) -> bool,
    ) -> pb::Claim {
        let client = self.reviewer("waiter").await;
        let pred = &pred;
        testing::eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            async move {
                let c = client
                    .get_claim(pb::GetClaimRequest {
                        request_no: request_no.into(),
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .claim?;
                pred(&c).then_some(c)
            }
        })
        .await
        .unwrap_or_else(|| panic!("claim {request_no} never appeared as expected"))
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

/// The service an event comes from: the first part of its routing key.
fn producer_of<E: Event>() -> &'static str {
    match E::ROUTING_KEY.split('.').next() {
        Some("warehouse") => "warehouse",
        Some("claims") => "claims-review",
        Some("logistics") => "logistics",
        _ => "intake",
    }
}

pub fn prost_timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Waits for the next event with `routing_key` about `request_no`.
pub async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    routing_key: &str,
    request_no: &str,
) -> EventEnvelope {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let env = rx.recv().await.expect("event stream open");
            if env.routing_key == routing_key && env.subject == request_no {
                return env;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {routing_key} for {request_no}"))
}

/// A request number unique to the test.
pub fn request_no(branch: &str) -> String {
    // 1..=999999: a sequence of all zeros is not a tracking number.
    let n = uuid::Uuid::new_v4().as_u128() % 999_999 + 1;
    format!("AS-2611-{branch}-{n:06}")
}

/// A television bought 10 days ago with an invoice, asking for a power board: in warranty,
/// documents complete (the demo policy approves it by itself).
pub fn in_warranty(branch: &str) -> intake::ServiceRequest {
    let bought = (chrono::Utc::now() - chrono::Duration::days(10))
        .date_naive()
        .to_string();
    intake::ServiceRequest {
        request_no: request_no(branch),
        status: intake::RequestStatus::Submitted as i32,
        branch: branch.into(),
        channel: common::Channel::Hotline as i32,
        kind: common::RequestKind::Replacement as i32,
        urgency: common::Urgency::Normal as i32,
        customer: Some(common::Customer {
            name: "Li Wei".into(),
            phone: "+86 138 0013 8000".into(),
            address: "88 Century Avenue, Pudong, Shanghai".into(),
            region: common::Region::Urban as i32,
            email: String::new(),
        }),
        product: Some(common::Product {
            category: "television".into(),
            model: "X55".into(),
            serial: "SN12345678".into(),
            purchase_date: bought.clone(),
            invoice_no: "INV-9".into(),
            invoice_date: bought,
            receipt_date: String::new(),
            factory_date: "2025-08-15".into(),
            service_contract_no: String::new(),
        }),
        fault_description: "no picture".into(),
        photos: vec!["https://photos.example/1.jpg".into()],
        parts: vec![common::PartLine {
            part_no: "PWR-55-01".into(),
            quantity: 1,
        }],
        created_at: Some(prost_timestamp(chrono::Utc::now())),
        updated_at: Some(prost_timestamp(chrono::Utc::now())),
        status_reason: String::new(),
        submitted_by: "agent-SH01".into(),
        misuse_suspected: false,
        ..Default::default()
    }
}

/// The same, with damage by misuse flagged: PAID, a person decides (stays PENDING).
pub fn needs_review(branch: &str) -> intake::ServiceRequest {
    let mut r = in_warranty(branch);
    r.misuse_suspected = true;
    r
}
