use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aftersales_mesh::http::{Answer, Client};
use aftersales_mesh::{Operator, OperatorConfig};
use aftersales_platform::auth::{Role, mint_hs256};
use serde_json::{Value, json};

pub struct Shared {
    pub vars: HashMap<String, String>,
    pub hands_off: Arc<Mutex<HashSet<String>>>,
    pub operator: Arc<Operator>,
}

fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Starts `mesh up` (this crate's binary) for this test process and waits for its env file.
fn start_own_mesh() -> HashMap<String, String> {
    let dir = std::env::temp_dir().join(format!("aftersales-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env_file = dir.join("mesh.env");
    let log = std::fs::File::create(dir.join("mesh.log")).expect("mesh log");
    // Never waited for: `--exit-with` ends the mesh when this test process ends.
    #[allow(clippy::zombie_processes)]
    std::process::Command::new(env!("CARGO_BIN_EXE_mesh"))
        .args(["up", "--fast", "--collect-spans", "--env-file"])
        .arg(&env_file)
        .args(["--exit-with", &std::process::id().to_string()])
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start mesh up");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if let Ok(text) = std::fs::read_to_string(&env_file) {
            return parse(&text);
        }
        assert!(
            Instant::now() < deadline,
            "the mesh did not start within 4 minutes; see {}",
            dir.join("mesh.log").display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The mesh and the operator every test shares (the operator runs on a runtime of its own that
/// outlives each test's).
pub fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let vars = match std::env::var("MESH_ENV_FILE") {
            Ok(path) => {
                parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
            }
            Err(_) => start_own_mesh(),
        };
        let hands_off = Arc::new(Mutex::new(HashSet::new()));
        let cfg = OperatorConfig {
            hands_off: hands_off.clone(),
            solved: Arc::new(|_| true),
            // The demo dealer's day runs too (tests/e2e/dealers.rs follows it).
            dealers: true,
            ..OperatorConfig::fast(&vars["MESH_GATEWAY_URL"], &vars["MESH_JWT_SECRET"])
        };
        let operator = Arc::new(Operator::new(cfg).expect("operator"));
        let op = operator.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("operator runtime");
            let (_tx, rx) = tokio::sync::watch::channel(false);
            rt.block_on(op.run(rx));
        });
        Shared {
            vars,
            hands_off,
            operator,
        }
    })
}

pub fn var(name: &str) -> String {
    shared()
        .vars
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("the mesh env has no {name}"))
}

pub fn token(sub: &str, branch: &str, roles: &[Role]) -> String {
    mint_hs256(
        &var("MESH_JWT_SECRET"),
        sub,
        branch,
        roles,
        Duration::from_secs(3600),
    )
    .expect("mint")
}

pub fn as_agent(branch: &str) -> Client {
    Client::new(
        &var("MESH_GATEWAY_URL"),
        &token(&format!("agent-{branch}"), branch, &[Role::BranchAgent]),
    )
}

pub fn head_office() -> Client {
    Client::new(
        &var("MESH_GATEWAY_URL"),
        &token("e2e-admin", "*", &[Role::Admin]),
    )
}

/// What a person does not touch while a test acts first.
pub fn hands_off(request_no: &str) {
    shared()
        .hands_off
        .lock()
        .expect("hands off")
        .insert(request_no.to_owned());
}

/// Hands the request back to the people the operator plays.
pub fn hands_back(request_no: &str) {
    shared()
        .hands_off
        .lock()
        .expect("hands off")
        .remove(request_no);
}

/// A head-office person in `role` (a reviewer, the returns intake's clerk).
pub fn at_head_office(sub: &str, role: Role) -> Client {
    Client::new(&var("MESH_GATEWAY_URL"), &token(sub, "*", &[role]))
}

pub struct NewRequest<'a> {
    pub branch: &'a str,
    pub kind: &'a str,
    pub part: &'a str,
    pub bought_days_ago: i64,
    pub serial: String,
}

impl<'a> NewRequest<'a> {
    pub fn new(branch: &'a str, kind: &'a str, part: &'a str) -> Self {
        Self {
            branch,
            kind,
            part,
            bought_days_ago: 40,
            serial: format!("SNE2E{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
                .to_uppercase(),
        }
    }

    pub fn body(&self) -> Value {
        let today = chrono::Utc::now().date_naive();
        let bought = (today - chrono::Duration::days(self.bought_days_ago)).to_string();
        let made = (today - chrono::Duration::days(self.bought_days_ago + 60)).to_string();
        json!({
            "branch": self.branch, "channel": "hotline", "kind": self.kind, "urgency": "normal",
            "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                          "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
            "product": { "category": "television", "model": "X55", "serial": self.serial,
                         "purchase_date": bought, "invoice_no": "INV-E2E", "invoice_date": bought,
                         "factory_date": made },
            "fault_description": "no picture",
            "parts": [ { "part_no": self.part, "quantity": 1 } ]
        })
    }

    /// Submits through the gateway as the branch's agent, as the first hop of a trace of the
    /// test's own (a `traceparent` the gateway continues); returns the request number and that
    /// trace id.
    pub async fn submit(&self) -> (String, String) {
        let trace = uuid::Uuid::new_v4().simple().to_string();
        let parent = &uuid::Uuid::new_v4().simple().to_string()[..16];
        let key = uuid::Uuid::new_v4().to_string();
        let a = as_agent(self.branch)
            .call(
                "POST",
                "/v1/requests",
                Some(&self.body()),
                &[
                    ("idempotency-key", &key),
                    ("traceparent", &format!("00-{trace}-{parent}-01")),
                ],
            )
            .await
            .expect("submit");
        let r = a.expect(201, "submit a request");
        (
            r["request_no"].as_str().expect("request_no").to_owned(),
            trace,
        )
    }
}

pub async fn request(no: &str) -> Value {
    head_office()
        .get(&format!("/v1/requests/{no}"))
        .await
        .expect("get request")
        .expect(200, "get request")
}

pub async fn timeline(no: &str) -> Vec<String> {
    let t = head_office()
        .get(&format!("/v1/requests/{no}/timeline"))
        .await
        .expect("timeline")
        .expect(200, "timeline");
    t["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            e["type"]
                .as_str()
                .or_else(|| e["kind"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Polls the request until its status is `want` (fails after `within`, with its timeline and
/// the operator's last error).
pub async fn wait_status(no: &str, want: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = request(no).await;
        if r["status"] == want {
            return r;
        }
        if Instant::now() > deadline {
            let actions = shared().operator.actions();
            panic!(
                "{no} is {} after {within:?}, not {want}; timeline: {:?}; operator: {:?}",
                r["status"],
                timeline(no).await,
                actions
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Polls `f` every 500 ms until it answers `Some`, at most `within`.
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn items(a: Answer) -> Vec<Value> {
    a.json["items"].as_array().cloned().unwrap_or_default()
}
