use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::bus::Bus;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::testing::{self, TestBus, TestDb};
use bytes::Bytes;
use gateway::app::App;
use gateway::config::Settings;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use intake::config::IntakeSettings;
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel, Connection};
use prost::Message;
use secrecy::SecretString;
use serde_json::{Value, json};

/// Intake and the gateway in process, on their own database, broker names and Redis prefix.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub settings: Settings,
    pub redis_prefix: String,
    _db: TestDb,
    _bus_names: TestBus,
    intake_shutdown: Shutdown,
    pub shutdown: Shutdown,
    intake_task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// claims-review and warehouse, when started with [`spawn_mesh`].
    peers: Vec<Peer>,
    /// Intake's gRPC address.
    pub intake_addr: std::net::SocketAddr,
    /// The warehouse's gRPC address, when it runs.
    pub warehouse_addr: Option<std::net::SocketAddr>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    amqp: (Connection, Channel),
    _cleanup: RedisCleanup,
}

/// A peer service running in process on its own database.
struct Peer {
    name: &'static str,
    _db: TestDb,
    shutdown: Shutdown,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// As [`spawn_app`], letting the test change the gateway's settings first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(false, configure).await
}

/// Intake, claims-review (demo policy) and warehouse, each on its own database and all on one
/// set of broker names so their events flow between them, behind the gateway. The warehouse's
/// catalogue holds the demo parts, without stock.
pub async fn spawn_mesh() -> TestApp {
    let app = spawn(true, |_| {}).await;
    app.seed_catalogue().await;
    app
}

/// Waits until a service's admin port answers `/readyz` with 200 (its consumer has declared
/// its queues).
async fn wait_admin_ready(name: &str, addr: std::net::SocketAddr) {
    testing::eventually(Duration::from_secs(90), || async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.ok()?;
        buf.starts_with("HTTP/1.1 200").then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{name} became ready"));
}

async fn spawn_claims(bus_names: &TestBus) -> (Peer, std::net::SocketAddr) {
    use claims_review::config::{ClaimsSettings, Settings};
    let db = TestDb::create(claims_review::store::ALL_MIGRATIONS).await;
    let settings = Settings {
        platform: testing::settings("claims-review", &db.url, bus_names),
        claims: ClaimsSettings {
            policy_file: String::new(),
            max_page_size: 200,
            sla_scan_interval_ms: 3_600_000,
        },
        policy: claims_review::domain::Policy::demo().expect("demo policy"),
    };
    let validated = settings.validate().expect("claims-review test settings");
    let app = claims_review::app::App::build(settings, validated)
        .await
        .expect("claims-review builds");
    let (grpc, admin) = (app.grpc_addr(), app.admin_addr());
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    wait_admin_ready("claims-review", admin).await;
    let peer = Peer {
        name: "claims-review",
        _db: db,
        shutdown,
        task: Some(task),
    };
    (peer, grpc)
}

async fn spawn_warehouse(bus_names: &TestBus) -> (Peer, std::net::SocketAddr) {
    use warehouse::config::{Settings, WarehouseSettings};
    let db = TestDb::create(warehouse::store::ALL_MIGRATIONS).await;
    let settings = Settings {
        platform: testing::settings("warehouse", &db.url, bus_names),
        warehouse: WarehouseSettings::default(),
    };
    let validated = settings.validate().expect("warehouse test settings");
    let app = warehouse::app::App::build(settings, validated)
        .await
        .expect("warehouse builds");
    let (grpc, admin) = (app.grpc_addr(), app.admin_addr());
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    wait_admin_ready("warehouse", admin).await;
    let peer = Peer {
        name: "warehouse",
        _db: db,
        shutdown,
        task: Some(task),
    };
    (peer, grpc)
}

async fn spawn(mesh: bool, configure: impl FnOnce(&mut Settings)) -> TestApp {
    testing::telemetry();
    let db = TestDb::create(intake::store::ALL_MIGRATIONS).await;
    let bus_names = TestBus::new();
    let platform = testing::settings("intake", &db.url, &bus_names);
    let intake_settings = intake::config::Settings {
        platform: platform.clone(),
        intake: IntakeSettings { max_page_size: 200 },
    };
    let validated = intake_settings.validate().expect("intake test settings");
    let intake_app = intake::app::App::build(intake_settings, validated)
        .await
        .expect("intake builds");
    let intake_addr = intake_app.grpc_addr();
    let intake_shutdown = Shutdown::new();
    let intake_task = tokio::spawn(intake_app.run(intake_shutdown.clone()));
    let mut peers = Vec::new();
    let (mut claims_url, mut warehouse_url, mut warehouse_addr) = (
        // Nothing listens on port 1: without the mesh, claims-review and warehouse are "down".
        "http://127.0.0.1:1".to_owned(),
        "http://127.0.0.1:1".to_owned(),
        None,
    );
    if mesh {
        let (claims, claims_addr) = spawn_claims(&bus_names).await;
        let (warehouse, addr) = spawn_warehouse(&bus_names).await;
        peers.push(claims);
        peers.push(warehouse);
        claims_url = format!("http://{claims_addr}");
        warehouse_url = format!("http://{addr}");
        warehouse_addr = Some(addr);
    }

    let redis_prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let mut settings = Settings::defaults().expect("gateway defaults");
    settings.server.http_addr = "127.0.0.1:0".into();
    settings.server.shutdown_grace_ms = 2000;
    settings.redis.url = SecretString::from(redis_url());
    settings.redis.key_prefix = redis_prefix.clone();
    settings.peers.intake.url = format!("http://{intake_addr}");
    settings.peers.claims_review.url = claims_url;
    settings.peers.warehouse.url = warehouse_url;
    settings.amqp = platform.amqp.clone();
    settings.auth.jwt_secret = Some(SecretString::from(testing::TEST_JWT_SECRET.to_owned()));
    settings.gateway.heartbeat_secs = 1;
    settings.gateway.carrier_secrets.insert(
        "sf".into(),
        SecretString::from("carrier-secret-of-sf-express".to_owned()),
    );
    configure(&mut settings);
    let validated = settings
        .validate()
        .expect("gateway test settings are valid");
    let shutdown = Shutdown::new();
    let app = App::build(settings.clone(), validated, shutdown.clone())
        .await
        .expect("gateway builds");
    let addr = app.addr();
    let task = tokio::spawn(app.run());

    let bus = Bus::new(&platform.amqp);
    let conn = bus.connect("gateway-test").await.unwrap_or_else(|e| {
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
        addr,
        settings,
        redis_prefix: redis_prefix.clone(),
        _db: db,
        _bus_names: bus_names,
        intake_shutdown,
        shutdown,
        intake_task: Some(intake_task),
        peers,
        intake_addr,
        warehouse_addr,
        task: Some(task),
        amqp: (conn, ch),
        _cleanup: RedisCleanup(redis_prefix),
    };
    t.wait_ready().await;
    t
}

pub use aftersales_platform::testing::eventually as testing_eventually;

pub fn redis_url() -> String {
    std::env::var("AFTERSALES_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Deletes every key under the test's prefix when dropped.
struct RedisCleanup(String);

impl Drop for RedisCleanup {
    fn drop(&mut self) {
        let prefix = self.0.clone();
        let _ = std::thread::spawn(move || {
            let Ok(client) = redis::Client::open(redis_url()) else {
                return;
            };
            let Ok(mut conn) = client.get_connection() else {
                return;
            };
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query(&mut conn)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        })
        .join();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// One SSE event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: String,
    pub data: Value,
}

pub struct SseStream {
    body: Incoming,
    buf: String,
    pub status: u16,
    /// Comment lines seen so far (heartbeats).
    pub comments: usize,
}

impl SseStream {
    /// The next event (heartbeat comments skipped), or `None` after `timeout` or at the end.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                self.comments += block.lines().filter(|l| l.starts_with(':')).count();
                let mut id = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some(SseEvent {
                    id,
                    data: serde_json::from_str(&data).expect("event data is JSON"),
                });
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??;
            if let Ok(data) = frame.ok()?.into_data() {
                self.buf.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }

    /// Reads until a heartbeat comment arrives, for at most `timeout` (events read meanwhile
    /// stay buffered for [`SseStream::next`]).
    pub async fn heartbeat(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.comments > 0 || self.buf.starts_with(':') || self.buf.contains("\n:") {
                return true;
            }
            let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, self.body.frame()).await
            else {
                return false;
            };
            if let Ok(data) = frame.into_data() {
                self.buf.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }

    /// Whether the server ended the stream within `timeout`.
    pub async fn ends_within(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

impl TestApp {
    async fn wait_ready(&self) {
        testing::eventually(Duration::from_secs(60), || async {
            let r = self.send("GET", "/readyz", None, &[], None).await;
            (r.status == 200).then_some(())
        })
        .await
        .expect("gateway became ready (event feed consuming)");
    }

    /// Sends one request over a fresh HTTP/1.1 connection.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let res = self.open(method, path, token, headers, body).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    async fn open(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> hyper::Response<Incoming> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "gateway");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("request");
        sender.send_request(req).await.expect("send")
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.send("GET", path, Some(token), &[], None).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.send(
            "POST",
            path,
            Some(token),
            headers,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Opens the event stream.
    pub async fn stream(&self, token: &str, query: &str, last_event_id: Option<&str>) -> SseStream {
        let mut headers = vec![("accept", "text/event-stream")];
        if let Some(id) = last_event_id {
            headers.push(("last-event-id", id));
        }
        let res = self
            .open(
                "GET",
                &format!("/v1/events/stream{query}"),
                Some(token),
                &headers,
                None,
            )
            .await;
        SseStream {
            status: res.status().as_u16(),
            body: res.into_body(),
            buf: String::new(),
            comments: 0,
        }
    }

    /// Submits a valid request for `branch` as an agent of it; returns the 201 body.
    pub async fn create(&self, branch: &str) -> Value {
        let r = self
            .post("/v1/requests", &agent(branch), &request_body(branch), &[])
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// Publishes `payload` on the test exchange as another service would.
    pub async fn publish<E: Event>(
        &self,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let now = chrono::Utc::now();
        let env = EventEnvelope {
            event_id: id.clone(),
            r#type: E::full_name(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: now.timestamp_subsec_nanos() as i32,
            }),
            producer: producer.into(),
            subject: request_no.into(),
            sequence: 2,
            branch: branch.into(),
            payload: payload.encode_to_vec(),
            routing_key: E::ROUTING_KEY.into(),
            request_no: request_no.into(),
        };
        self.amqp
            .1
            .basic_publish(
                Bus::new(&self.settings.amqp)
                    .topology
                    .exchange
                    .as_str()
                    .into(),
                E::ROUTING_KEY.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &env.encode_to_vec(),
                BasicProperties::default()
                    .with_message_id(id.as_str().into())
                    .with_type(E::ROUTING_KEY.into())
                    .with_delivery_mode(2),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        id
    }

    /// Stops the gateway and starts another on the same intake, broker names and Redis prefix,
    /// with `configure` applied to the settings (as a rolling restart would).
    pub async fn restart_gateway(&mut self, configure: impl FnOnce(&mut Settings)) {
        self.shutdown.trigger();
        if let Some(t) = self.task.take() {
            t.await
                .expect("gateway task")
                .expect("gateway stopped cleanly");
        }
        configure(&mut self.settings);
        let validated = self.settings.validate().expect("settings are valid");
        self.shutdown = Shutdown::new();
        let app = App::build(self.settings.clone(), validated, self.shutdown.clone())
            .await
            .expect("gateway builds");
        self.addr = app.addr();
        self.task = Some(tokio::spawn(app.run()));
        self.wait_ready().await;
    }

    /// Redis keys under this test's prefix.
    pub async fn redis_keys(&self) -> Vec<String> {
        let client = redis::Client::open(redis_url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis is not reachable at 127.0.0.1:6379 (make infra)");
        redis::cmd("KEYS")
            .arg(format!("{}*", self.redis_prefix))
            .query_async(&mut conn)
            .await
            .expect("KEYS")
    }

    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(t) = self.task.take() {
            t.await
                .expect("gateway task")
                .expect("gateway stopped cleanly");
        }
        self.intake_shutdown.trigger();
        if let Some(t) = self.intake_task.take() {
            t.await
                .expect("intake task")
                .expect("intake stopped cleanly");
        }
        for mut p in self.peers.drain(..) {
            p.shutdown.trigger();
            if let Some(t) = p.task.take() {
                t.await
                    .unwrap_or_else(|e| panic!("{} task: {e}", p.name))
                    .unwrap_or_else(|e| panic!("{} stopped cleanly: {e}", p.name));
            }
        }
    }

    /// Puts the demo parts in the warehouse's catalogue (no stock) over its own gRPC: the
    /// gateway does not expose the catalogue.
    async fn seed_catalogue(&self) {
        use aftersales_platform::proto::warehouse::v1 as wpb;
        let addr = self.warehouse_addr.expect("the warehouse runs");
        let channel =
            aftersales_platform::grpc::channel(&format!("http://{addr}"), Duration::from_secs(30))
                .expect("channel");
        let mut client = wpb::warehouse_service_client::WarehouseServiceClient::with_interceptor(
            channel,
            aftersales_platform::grpc::ClientInterceptor::with_token(&testing::token(
                "hq-admin",
                "*",
                &[Role::Admin],
            ))
            .expect("interceptor"),
        );
        for (part_no, name, class, cost) in [
            (
                "PWR-55-01",
                "TV power board 55\"",
                wpb::PartClass::Unit,
                18_000,
            ),
            (
                "PNL-55-01",
                "TV panel 55\"",
                wpb::PartClass::KeyPart,
                120_000,
            ),
        ] {
            client
                .upsert_part(wpb::UpsertPartRequest {
                    part: Some(warehouse::demo::demo_part(part_no, name, class, cost)),
                })
                .await
                .expect("the part is in the catalogue");
        }
    }
}

/// A warehouse clerk at head office.
pub fn clerk() -> String {
    testing::token("clerk-1", "*", &[Role::Warehouse])
}

/// A claims reviewer at head office.
pub fn reviewer() -> String {
    testing::token("reviewer-1", "*", &[Role::Reviewer])
}

pub fn agent(branch: &str) -> String {
    testing::token(&format!("agent-{branch}"), branch, &[Role::BranchAgent])
}

pub fn head_office() -> String {
    testing::token("hq", "*", &[Role::Analyst])
}

/// The DESIGN §8 example body.
pub fn request_body(branch: &str) -> Value {
    json!({
        "branch": branch, "channel": "hotline", "kind": "replacement", "urgency": "normal",
        "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                      "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
        "product": { "category": "television", "model": "X55", "serial": "SN12345678",
                     "purchase_date": "2026-10-02", "invoice_no": "INV-9", "invoice_date": "2026-10-02",
                     "factory_date": "2026-08-15" },
        "fault_description": "no picture", "photos": ["https://photos.example/1.jpg"],
        "parts": [ { "part_no": "PWR-55-01", "quantity": 1 } ]
    })
}

pub fn violations(problem: &Value) -> HashMap<String, String> {
    problem["violations"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| {
                    (
                        x["field"].as_str().unwrap_or("").to_owned(),
                        x["description"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
