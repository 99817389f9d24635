use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::config::PlatformSettings;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::testing::{self, TestBus, TestService};
use bytes::Bytes;
use gateway::app::GatewayApp;
use gateway::config::GatewayConfig;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};

type Configure = Box<dyn FnOnce(&mut PlatformSettings, &mut GatewayConfig) + Send>;

/// Intake and the gateway (and with [`spawn_mesh`] claims-review and the warehouse, with
/// [`spawn_full_mesh`] every service), each started by the platform's test kit on its own
/// database, all on one set of broker names so their events flow between them.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub admin_addr: std::net::SocketAddr,
    pub redis_prefix: String,
    /// Intake's gRPC address.
    pub intake_addr: std::net::SocketAddr,
    /// The warehouse's gRPC address, when it runs.
    pub warehouse_addr: Option<std::net::SocketAddr>,
    /// claims-review's gRPC address, when it runs.
    pub claims_addr: Option<std::net::SocketAddr>,
    gateway: Option<TestService<GatewayApp>>,
    intake: Option<TestService<intake::app::App>>,
    claims: Option<TestService<claims_review::app::App>>,
    warehouse: Option<TestService<warehouse::app::App>>,
    procurement: Option<TestService<procurement::app::App>>,
    logistics: Option<TestService<logistics::app::App>>,
    field_service: Option<TestService<field_service::app::App>>,
    feedback: Option<TestService<feedback::app::App>>,
    bus: Arc<TestBus>,
    peers_env: Vec<(String, String)>,
    /// Variables every service of the test was started with (the identity provider's, say).
    extra_env: Vec<(String, String)>,
}

/// Which services run behind the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mesh {
    /// Intake only.
    Intake,
    /// Intake, claims-review and the warehouse.
    Core,
    /// Every service.
    Full,
}

pub async fn spawn_app() -> TestApp {
    spawn(Mesh::Intake, Vec::new(), Box::new(|_, _| {}), None).await
}

/// Intake, claims-review and the warehouse behind the gateway, every one of them started with
/// `env` too (e.g. `TestIdp::env()`: all trust the test identity provider). The catalogue is
/// left empty: seeding it needs a token the services accept.
pub async fn spawn_mesh_with_env(env: Vec<(String, String)>) -> TestApp {
    spawn(Mesh::Core, env, Box::new(|_, _| {}), None).await
}

/// As [`spawn_app`], letting the test change the gateway's settings first.
pub async fn spawn_app_with(
    configure: impl FnOnce(&mut PlatformSettings, &mut GatewayConfig) + Send + 'static,
) -> TestApp {
    spawn(Mesh::Intake, Vec::new(), Box::new(configure), None).await
}

/// Intake, claims-review (demo policy) and warehouse behind the gateway. The warehouse's
/// catalogue holds the demo parts, without stock.
pub async fn spawn_mesh() -> TestApp {
    let app = spawn(Mesh::Core, Vec::new(), Box::new(|_, _| {}), None).await;
    app.seed_catalogue().await;
    app
}

/// As [`spawn_mesh`], claims-review and the warehouse on `clock` (a manual one: the test moves
/// the days), their scanners running only when the test asks ([`TestApp::scan_claims`],
/// [`TestApp::scan_warehouse`]) or the clock moves.
pub async fn spawn_mesh_on(clock: Clock) -> TestApp {
    let app = spawn(Mesh::Core, Vec::new(), Box::new(|_, _| {}), Some(clock)).await;
    app.seed_catalogue().await;
    app
}

/// Every service behind the gateway: the demo catalogue (no stock), procurement's demo
/// suppliers and quotes, field-service's demo technicians. Logistics gives every consignment to
/// carrier `sf` (the one whose webhook secret the gateway has), so a carrier's webhook reaches
/// the shipments of the test.
pub async fn spawn_full_mesh() -> TestApp {
    spawn_full_mesh_with(|_, _| {}).await
}

/// As [`spawn_full_mesh`], letting the test change the gateway's settings first.
pub async fn spawn_full_mesh_with(
    configure: impl FnOnce(&mut PlatformSettings, &mut GatewayConfig) + Send + 'static,
) -> TestApp {
    full_mesh(Vec::new(), Box::new(configure)).await
}

/// As [`spawn_full_mesh`], every service started with these `AFTERSALES__…` variables too.
pub async fn spawn_full_mesh_with_env(env: Vec<(String, String)>) -> TestApp {
    full_mesh(env, Box::new(|_, _| {})).await
}

async fn full_mesh(env: Vec<(String, String)>, configure: Configure) -> TestApp {
    let app = spawn(Mesh::Full, env, configure, None).await;
    app.seed_catalogue().await;
    let procurement = app.procurement.as_ref().expect("procurement runs");
    procurement::demo::seed(&procurement.grpc_url(), testing::TEST_JWT_SECRET)
        .await
        .expect("procurement's demo suppliers");
    let fs = app.field_service.as_ref().expect("field-service runs");
    field_service::demo::seed(&fs.grpc_url(), testing::TEST_JWT_SECRET)
        .await
        .expect("field-service's demo technicians");
    app
}

async fn start_gateway(
    bus: &Arc<TestBus>,
    peers_env: &[(String, String)],
    extra_env: &[(String, String)],
    redis_prefix: Option<&str>,
    configure: Configure,
) -> TestService<GatewayApp> {
    let mut b = TestService::<GatewayApp>::builder()
        .bus(bus)
        .env("AFTERSALES__SERVER__HTTP_ADDR", "127.0.0.1:0")
        .env("AFTERSALES__GATEWAY__HEARTBEAT_SECS", "1")
        .env(
            "AFTERSALES__GATEWAY__CARRIER_SECRETS__SF",
            "carrier-secret-of-sf-express",
        )
        // Development: the gateway mints its own credential for the carrier webhook.
        .env("AFTERSALES__AUTH__DEV_TOKENS", "true")
        .adjust(configure);
    for (k, v) in peers_env.iter().chain(extra_env) {
        b = b.env(k, v.clone());
    }
    if let Some(p) = redis_prefix {
        b = b.redis_prefix(p);
    }
    b.start().await
}

/// A builder of `S` with the test's broker names and every extra variable.
fn builder<S: aftersales_platform::kit::Service>(
    bus: &Arc<TestBus>,
    extra_env: &[(String, String)],
) -> aftersales_platform::testing::TestServiceBuilder<S> {
    let mut b = TestService::<S>::builder().bus(bus);
    for (k, v) in extra_env {
        b = b.env(k, v.clone());
    }
    b
}

/// Nothing listens on port 1: a peer that is not started is "down".
const DOWN: &str = "http://127.0.0.1:1";

/// A scan interval no test waits for: the scanners run when asked or when the clock moves.
const HOURLY_MS: &str = "3600000";

async fn spawn(
    mesh: Mesh,
    extra_env: Vec<(String, String)>,
    configure: Configure,
    clock: Option<Clock>,
) -> TestApp {
    let bus = Arc::new(TestBus::new());
    // Seven databases per test: small pools, so that tests running side by side stay within
    // the shared Postgres's connection limit.
    let pool = if mesh == Mesh::Full { "4" } else { "10" };
    let intake = builder::<intake::app::App>(&bus, &extra_env)
        .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool)
        .start()
        .await;
    let mut peers: Vec<(&str, String)> = vec![
        ("INTAKE", intake.grpc_url()),
        ("CLAIMS_REVIEW", DOWN.to_owned()),
        ("WAREHOUSE", DOWN.to_owned()),
        ("PROCUREMENT", DOWN.to_owned()),
        ("LOGISTICS", DOWN.to_owned()),
        ("FIELD_SERVICE", DOWN.to_owned()),
        ("FEEDBACK", DOWN.to_owned()),
    ];
    let mut set = |name: &str, url: String| {
        if let Some(p) = peers.iter_mut().find(|(n, _)| *n == name) {
            p.1 = url;
        }
    };
    let (mut claims, mut warehouse) = (None, None);
    if mesh != Mesh::Intake {
        let mut c = builder::<claims_review::app::App>(&bus, &extra_env)
            .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool);
        let mut w = builder::<warehouse::app::App>(&bus, &extra_env)
            .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool);
        if let Some(clock) = &clock {
            c = c
                .clock(clock.clone())
                .env("AFTERSALES__CLAIMS_REVIEW__SLA_SCAN_INTERVAL_MS", HOURLY_MS)
                .env(
                    "AFTERSALES__CLAIMS_REVIEW__DEALER_SCAN_INTERVAL_MS",
                    HOURLY_MS,
                );
            w = w.clock(clock.clone()).env(
                "AFTERSALES__WAREHOUSE__EXCHANGE_SCAN_INTERVAL_MS",
                HOURLY_MS,
            );
        }
        let c = c.start().await;
        let w = w.start().await;
        set("CLAIMS_REVIEW", c.grpc_url());
        set("WAREHOUSE", w.grpc_url());
        claims = Some(c);
        warehouse = Some(w);
    }
    let (mut procurement, mut logistics, mut field_service, mut feedback) =
        (None, None, None, None);
    if mesh == Mesh::Full {
        let p = builder::<procurement::app::App>(&bus, &extra_env)
            .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool)
            .start()
            .await;
        let l = builder::<logistics::app::App>(&bus, &extra_env)
            .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool)
            .env("AFTERSALES__LOGISTICS__CARRIER_OVERRIDE", "sf")
            .start()
            .await;
        let f = builder::<field_service::app::App>(&bus, &extra_env)
            .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool)
            .start()
            .await;
        let b = builder::<feedback::app::App>(&bus, &extra_env)
            .env("AFTERSALES__DATABASE__MAX_CONNECTIONS", pool)
            .start()
            .await;
        set("PROCUREMENT", p.grpc_url());
        set("LOGISTICS", l.grpc_url());
        set("FIELD_SERVICE", f.grpc_url());
        set("FEEDBACK", b.grpc_url());
        procurement = Some(p);
        logistics = Some(l);
        field_service = Some(f);
        feedback = Some(b);
    }
    let peers_env: Vec<(String, String)> = peers
        .into_iter()
        .map(|(name, url)| (format!("AFTERSALES__PEERS__{name}__URL"), url))
        .collect();
    let gateway = start_gateway(&bus, &peers_env, &extra_env, None, configure).await;
    TestApp {
        addr: gateway.http_addr(),
        admin_addr: gateway.admin_addr(),
        redis_prefix: gateway.redis_prefix.clone().unwrap_or_default(),
        intake_addr: intake.grpc_addr(),
        warehouse_addr: warehouse.as_ref().map(|w| w.grpc_addr()),
        claims_addr: claims.as_ref().map(|c| c.grpc_addr()),
        gateway: Some(gateway),
        intake: Some(intake),
        claims,
        warehouse,
        procurement,
        logistics,
        field_service,
        feedback,
        bus,
        peers_env,
        extra_env,
    }
}

pub use aftersales_platform::testing::eventually as testing_eventually;
pub use aftersales_platform::testing::redis_url;

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
    /// The test's broker names (to start another service on them).
    pub fn bus(&self) -> &Arc<TestBus> {
        &self.bus
    }

    /// Starts stopping the gateway (as SIGTERM would), without waiting.
    pub fn begin_shutdown(&self) {
        self.gateway().running().shutdown.trigger();
    }

    fn gateway(&self) -> &TestService<GatewayApp> {
        self.gateway.as_ref().expect("the gateway runs")
    }

    /// A GET on the gateway's admin port (`/readyz`, `/metrics`), which the public listener
    /// does not serve.
    pub async fn admin(&self, path: &str) -> TestResponse {
        self.send_to(self.admin_addr, "GET", path, None, &[], None)
            .await
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
        self.send_to(self.addr, method, path, token, headers, body)
            .await
    }

    async fn send_to(
        &self,
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let res = self.open_at(addr, method, path, token, headers, body).await;
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
        self.open_at(self.addr, method, path, token, headers, body)
            .await
    }

    async fn open_at(
        &self,
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> hyper::Response<Incoming> {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
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
        // JSON unless the caller names the type (a multipart upload).
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
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
        self.gateway()
            .publish(producer, request_no, branch, payload)
            .await
    }

    /// Stops the gateway and starts another on the same intake, broker names and Redis prefix,
    /// with `configure` applied to the settings (as a rolling restart would).
    pub async fn restart_gateway(
        &mut self,
        configure: impl FnOnce(&mut PlatformSettings, &mut GatewayConfig) + Send + 'static,
    ) {
        let mut old = self.gateway.take().expect("the gateway runs");
        old.take_running()
            .stop()
            .await
            .expect("gateway stopped cleanly");
        let gateway = start_gateway(
            &self.bus,
            &self.peers_env,
            &self.extra_env,
            Some(&self.redis_prefix),
            Box::new(configure),
        )
        .await;
        self.addr = gateway.http_addr();
        self.admin_addr = gateway.admin_addr();
        self.gateway = Some(gateway);
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
        if let Some(g) = self.gateway.take() {
            g.stop().await;
        }
        if let Some(i) = self.intake.take() {
            i.stop().await;
        }
        if let Some(c) = self.claims.take() {
            c.stop().await;
        }
        if let Some(w) = self.warehouse.take() {
            w.stop().await;
        }
        if let Some(p) = self.procurement.take() {
            p.stop().await;
        }
        if let Some(l) = self.logistics.take() {
            l.stop().await;
        }
        if let Some(f) = self.field_service.take() {
            f.stop().await;
        }
        if let Some(b) = self.feedback.take() {
            b.stop().await;
        }
    }

    /// Runs claims-review's scanner `name` once at the clock's now; how many it handled.
    pub async fn scan_claims(&self, name: &str) -> usize {
        self.claims
            .as_ref()
            .expect("claims-review runs")
            .scan(name)
            .await
    }

    /// Runs the warehouse's scanner `name` once at the clock's now; how many it handled.
    pub async fn scan_warehouse(&self, name: &str) -> usize {
        self.warehouse
            .as_ref()
            .expect("the warehouse runs")
            .scan(name)
            .await
    }

    /// Puts the demo parts in the warehouse's catalogue (no stock) over its own gRPC: the
    /// gateway does not expose the catalogue.
    pub async fn seed_catalogue(&self) {
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

/// The same request as [`request_body`], as intake's gRPC message.
pub fn grpc_submission(
    branch: &str,
) -> aftersales_platform::proto::intake::v1::SubmitRequestRequest {
    testing::demo::submission(branch)
}

/// A token of `role` for `sub` in `branch` (`*`: head office).
pub fn token_of(sub: &str, branch: &str, role: Role) -> String {
    testing::token(sub, branch, &[role])
}

/// `X-Signature` of `body` under carrier `sf`'s secret (as the tests' gateway has it).
pub fn carrier_signature(body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(b"carrier-secret-of-sf-express").expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A request for a television bought ten days ago with an invoice, for `part_no`: in warranty,
/// documents complete, so the demo policy approves it by itself.
pub fn in_warranty(branch: &str, part_no: &str) -> Value {
    let bought = (chrono::Utc::now() - chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let mut body = request_body(branch);
    body["product"]["purchase_date"] = json!(bought);
    body["product"]["invoice_date"] = json!(bought);
    body["parts"] = json!([{ "part_no": part_no, "quantity": 1 }]);
    body
}

/// How long an automatic step of the mesh may take in a test.
pub const WAIT: Duration = Duration::from_secs(60);

impl TestApp {
    /// POSTs `body` as `token` with a fresh Idempotency-Key.
    pub async fn post_new(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        self.post(
            path,
            token,
            body,
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await
    }

    /// Submits `body` as an agent of `branch`; returns the request number.
    pub async fn submit(&self, branch: &str, body: &Value) -> String {
        let r = self.post_new("/v1/requests", &agent(branch), body).await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["request_no"].as_str().unwrap().to_owned()
    }

    /// Books `quantity` units of `part_no` into stock: a receipt, then its inspection.
    pub async fn stock_up(&self, part_no: &str, quantity: u32) {
        let r = self
            .post_new(
                "/v1/receipts",
                &clerk(),
                &json!({"supplier_id": "SUP-1", "lines": [{"part_no": part_no, "quantity": quantity}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let id = r.json()["receipt_id"].as_str().unwrap().to_owned();
        let r = self
            .post_new(
                &format!("/v1/receipts/{id}/inspection"),
                &clerk(),
                &json!({"lines": [{"part_no": part_no, "passed": quantity, "failed": 0}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }

    /// The shipment of `request_no` once logistics planned it (and, with `dispatched`, once it
    /// has its waybill), read as head office's logistics clerk.
    pub async fn shipment_of(&self, request_no: &str, dispatched: bool) -> Value {
        let clerk = token_of("clerk-log", "*", Role::Logistics);
        testing::eventually(WAIT, || async {
            let r = self
                .get(&format!("/v1/shipments?request_no={request_no}"), &clerk)
                .await;
            let s = r.json()["items"].as_array()?.first()?.clone();
            (!dispatched || !s["waybill_no"].as_str()?.is_empty()).then_some(s)
        })
        .await
        .unwrap_or_else(|| panic!("a shipment of {request_no} (dispatched: {dispatched})"))
    }

    /// Issues the pick list of `request_no` exactly as reserved (logistics then dispatches it).
    pub async fn issue(&self, request_no: &str) {
        let path = format!("/v1/pick-lists/PL-{request_no}");
        let list = testing::eventually(WAIT, || async {
            let r = self.get(&path, &clerk()).await;
            (r.status == 200).then(|| r.json())
        })
        .await
        .unwrap_or_else(|| panic!("the pick list of {request_no}"));
        let lines: Vec<Value> = list["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| json!({"part_no": l["part_no"], "quantity": l["quantity"]}))
            .collect();
        let r = self
            .post_new(
                &format!("{path}/issue"),
                &clerk(),
                &json!({ "lines": lines }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }

    /// Sends a carrier event signed with `sf`'s secret.
    pub async fn carrier_event(&self, body: &Value) -> TestResponse {
        let bytes = body.to_string().into_bytes();
        let sig = carrier_signature(&bytes);
        self.send(
            "POST",
            "/v1/carriers/sf/events",
            None,
            &[("x-signature", &sig)],
            Some(bytes),
        )
        .await
    }
}
