use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::bus::Bus;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::claims_service_client::ClaimsServiceClient;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::testing::{self, TestBus, TestDb};
use claims_review::app::App;
use claims_review::config::{ClaimsSettings, Settings};
use claims_review::domain::Policy;
use claims_review::service::Claims;
use lapin::{Channel, Connection};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

pub type Client = ClaimsServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

pub struct TestApp {
    pub db: TestDb,
    /// Held so that dropping the app deletes the test's exchanges.
    #[allow(dead_code)]
    pub bus_names: TestBus,
    pub settings: Settings,
    pub grpc_addr: std::net::SocketAddr,
    pub admin_addr: std::net::SocketAddr,
    pub claims: Claims,
    pub shutdown: Shutdown,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    amqp: (Connection, Channel),
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Policy::demo().expect("demo policy")).await
}

/// Starts claims-review on port 0 with its own database, broker names and `policy`, and waits
/// until its consumer has declared its queues.
pub async fn spawn_app_with(policy: Policy) -> TestApp {
    testing::telemetry();
    let db = TestDb::create(claims_review::store::ALL_MIGRATIONS).await;
    let bus_names = TestBus::new();
    let platform = testing::settings("claims-review", &db.url, &bus_names);
    let settings = Settings {
        platform,
        claims: ClaimsSettings {
            policy_file: String::new(),
            max_page_size: 200,
            // The tests drive the scanner themselves, at chosen instants.
            sla_scan_interval_ms: 3_600_000,
        },
        policy,
    };
    let validated = settings.validate().expect("test settings are valid");
    let app = App::build(settings.clone(), validated)
        .await
        .expect("app builds");
    let grpc_addr = app.grpc_addr();
    let admin_addr = app.admin_addr();
    let claims = app.claims();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run(shutdown.clone()));

    let bus = Bus::new(&settings.platform.amqp);
    let conn = bus.connect("claims-review-test").await.unwrap_or_else(|e| {
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
        claims,
        shutdown,
        task: Some(task),
        amqp: (conn, ch),
    };
    t.wait_ready().await;
    t
}

impl TestApp {
    async fn wait_ready(&self) {
        testing::wait_ready(self.admin_addr, "claims-review").await;
    }

    pub fn bus(&self) -> Bus {
        Bus::new(&self.settings.platform.amqp)
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
        let row = self
            .db
            .conn
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    }

    /// Publishes `payload` as another service would, about `request_no`; returns the event id.
    pub async fn publish<E: Event>(&self, request_no: &str, branch: &str, payload: &E) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        self.publish_with_id(&id, request_no, branch, payload).await;
        id
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) {
        testing::publish_event(
            &self.amqp.1,
            &self.bus(),
            testing::TestEvent {
                id,
                producer: "intake",
                request_no,
                branch,
            },
            payload,
        )
        .await;
    }

    /// A queue bound to `pattern` on the test exchange, yielding envelopes.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        testing::subscribe(&self.amqp.0, &self.bus(), pattern).await
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
        let mut client = self.reviewer("waiter").await;
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
        .unwrap_or_else(|| {
            panic!("claim {request_no} never appeared as expected");
        });
        client
            .get_claim(pb::GetClaimRequest {
                request_no: request_no.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .claim
            .unwrap()
    }

    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
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
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000;
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
    }
}

/// The same, with damage by misuse flagged: PAID, a person decides (stays PENDING).
pub fn needs_review(branch: &str) -> intake::ServiceRequest {
    let mut r = in_warranty(branch);
    r.misuse_suspected = true;
    r
}
