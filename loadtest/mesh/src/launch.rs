//! The eight real binaries started once, on ports of their own, each with a database of its own
//! for this run, broker names and Redis keys under the run's prefix, every gRPC service and the
//! gateway behind a TCP proxy (the way a Kubernetes Service fronts pods, so a restarted or
//! replaced process can come up on another port), and optionally Postgres, RabbitMQ and Redis
//! behind proxies too (the chaos suite cuts those lines).
//!
//! Each binary gets only the variables it reads (its own `config keys`): the peers it calls, the
//! database and Redis it uses.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aftersales_platform::auth::Role;
use aftersales_platform::testing::{self, FaultProxy, ServiceProcess, TestBus};
use anyhow::{Context, bail};
use sea_orm::ConnectionTrait;

/// A service of the mesh: its binary, its database's short name, its peer key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Svc {
    pub name: &'static str,
    /// `aftersales_<db>` in `make up`; `None` for the gateway.
    pub db: Option<&'static str>,
    /// The `PEERS__<KEY>__URL` others use to reach it.
    pub peer_key: &'static str,
}

/// Start order: the services, then the gateway in front of them.
pub const SERVICES: [Svc; 8] = [
    Svc {
        name: "intake",
        db: Some("intake"),
        peer_key: "INTAKE",
    },
    Svc {
        name: "claims-review",
        db: Some("claims"),
        peer_key: "CLAIMS_REVIEW",
    },
    Svc {
        name: "procurement",
        db: Some("procurement"),
        peer_key: "PROCUREMENT",
    },
    Svc {
        name: "warehouse",
        db: Some("warehouse"),
        peer_key: "WAREHOUSE",
    },
    Svc {
        name: "logistics",
        db: Some("logistics"),
        peer_key: "LOGISTICS",
    },
    Svc {
        name: "field-service",
        db: Some("fieldservice"),
        peer_key: "FIELD_SERVICE",
    },
    Svc {
        name: "feedback",
        db: Some("feedback"),
        peer_key: "FEEDBACK",
    },
    Svc {
        name: "gateway",
        db: None,
        peer_key: "GATEWAY",
    },
];

pub fn svc(name: &str) -> Svc {
    *SERVICES
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name} in the mesh"))
}

/// What to start.
#[derive(Debug, Clone)]
pub struct MeshOptions {
    /// Export every process's spans here (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otlp_endpoint: Option<String>,
    /// Postgres (one proxy per service), RabbitMQ and Redis behind fault proxies.
    pub infra_proxies: bool,
    /// `AFTERSALES__TELEMETRY__LOG_LEVEL` of every process.
    pub log_level: String,
    /// Extra variables: (service or `*`, key, value). A key no binary of that service reads is an
    /// error, so a typo never goes unnoticed.
    pub env: Vec<(String, String, String)>,
    /// Where the binaries are (default: beside the running executable, `target/<profile>`).
    pub bin_dir: Option<PathBuf>,
    /// Keep the run's databases when the mesh stops (for the ledger checker or a post-mortem).
    pub keep_databases: bool,
}

impl MeshOptions {
    /// For tests and the chaos suite: the simulated carrier's hours pass in seconds, its
    /// scanner looks often.
    pub fn fast() -> Self {
        let env = [
            (
                "logistics",
                "AFTERSALES__LOGISTICS__SIM_TIME_SCALE",
                "20000",
            ),
            (
                "logistics",
                "AFTERSALES__LOGISTICS__SIM_SCAN_INTERVAL_MS",
                "500",
            ),
        ];
        Self {
            env: env
                .iter()
                .map(|(s, k, v)| ((*s).to_owned(), (*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Self::default()
        }
    }
}

impl Default for MeshOptions {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            infra_proxies: false,
            log_level: "warn".into(),
            env: Vec::new(),
            bin_dir: None,
            keep_databases: false,
        }
    }
}

struct Member {
    svc: Svc,
    bin: String,
    env: HashMap<String, String>,
    process: Option<ServiceProcess>,
    /// Where callers connect: the gRPC port (the gateway's HTTP port) behind its proxy.
    front: FaultProxy,
    /// Its database line, when `infra_proxies`.
    db_proxy: Option<FaultProxy>,
}

/// The running mesh. Stop it with [`Mesh::stop`]; dropping it kills the processes.
pub struct Mesh {
    pub run: String,
    pub secret: String,
    members: BTreeMap<&'static str, Member>,
    databases: Vec<(String, String)>,
    bus: Option<TestBus>,
    redis_prefix: String,
    pub amqp_proxy: Option<FaultProxy>,
    pub redis_proxy: Option<FaultProxy>,
    keep_databases: bool,
}

fn default_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // A test binary lives in target/<profile>/deps.
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    }
}

/// The variables a binary reads (`<bin> config keys`; `…__*` entries are prefixes).
fn keys_read(bin: &str) -> anyhow::Result<Vec<String>> {
    let out = std::process::Command::new(bin)
        .args(["config", "keys"])
        .output()
        .with_context(|| format!("{bin} config keys"))?;
    if !out.status.success() {
        bail!(
            "{bin} config keys: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn reads(keys: &[String], key: &str) -> bool {
    !key.starts_with("AFTERSALES__")
        || keys.iter().any(|k| match k.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => k == key,
        })
}

fn addr_of(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port
        .parse()
        .with_context(|| format!("{url}: not host:port on loopback"))
}

fn with_addr(url: &str, addr: SocketAddr) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("no scheme")?;
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((a, r)) => (format!("{a}@"), r),
        None => (String::new(), rest),
    };
    let tail = rest.find(['/', '?']).map_or("", |i| &rest[i..]);
    Ok(format!("{scheme}://{auth}{addr}{tail}"))
}

fn database_url(admin: &str, name: &str) -> String {
    match admin.rsplit_once('/') {
        Some((base, tail)) => {
            let query = tail
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{name}{query}")
        }
        None => format!("{admin}/{name}"),
    }
}

impl Mesh {
    /// Creates the run's databases and starts the eight processes (services first, each ready
    /// before the next, then the gateway). Fails naming the binary that is missing or did not
    /// become ready.
    pub async fn start(opts: MeshOptions) -> anyhow::Result<Mesh> {
        let bus = TestBus::new();
        let run = bus.prefix.trim_end_matches('.').to_owned();
        let secret = format!("mesh-{run}-{}", uuid::Uuid::new_v4().simple());
        let bin_dir = opts.bin_dir.clone().unwrap_or_else(default_bin_dir);
        let admin_url = testing::admin_database_url();
        let amqp_url = testing::amqp_url();
        let redis_url = testing::redis_url();
        let amqp_proxy = if opts.infra_proxies {
            Some(FaultProxy::start(addr_of(&amqp_url)?).await)
        } else {
            None
        };
        let redis_proxy = if opts.infra_proxies {
            Some(FaultProxy::start(addr_of(&redis_url)?).await)
        } else {
            None
        };
        let admin = testing::connect(&admin_url).await.with_context(|| {
            format!("Postgres is not reachable at {admin_url} (make infra starts it)")
        })?;
        let mut mesh = Mesh {
            run: run.clone(),
            secret: secret.clone(),
            members: BTreeMap::new(),
            databases: Vec::new(),
            bus: Some(bus),
            redis_prefix: format!("{run}:"),
            amqp_proxy,
            redis_proxy,
            keep_databases: opts.keep_databases,
        };
        // Every front proxy first (targets filled in as each process starts), so each binary can
        // be given its peers' stable addresses.
        let placeholder: SocketAddr = "127.0.0.1:9".parse()?;
        let mut fronts = BTreeMap::new();
        for s in SERVICES {
            fronts.insert(s.name, FaultProxy::start(placeholder).await);
        }
        let front_addrs: BTreeMap<&str, SocketAddr> =
            fronts.iter().map(|(k, p)| (*k, p.addr())).collect();
        for s in SERVICES {
            let bin = bin_dir.join(s.name);
            if !bin.is_file() {
                bail!(
                    "{} is not built: cargo build --bins (make test builds every binary first)",
                    bin.display()
                );
            }
            let bin = bin.display().to_string();
            let keys = keys_read(&bin)?;
            let mut env: HashMap<String, String> = HashMap::new();
            let mut put = |k: &str, v: String| {
                if reads(&keys, k) {
                    env.insert(k.to_owned(), v);
                }
            };
            // The gateway serves HTTP, the others gRPC (every binary reads both keys).
            if s.db.is_some() {
                put("AFTERSALES__SERVER__GRPC_ADDR", "127.0.0.1:0".into());
            } else {
                put("AFTERSALES__SERVER__HTTP_ADDR", "127.0.0.1:0".into());
            }
            put("AFTERSALES__SERVER__ADMIN_ADDR", "127.0.0.1:0".into());
            put("AFTERSALES__SERVER__SHUTDOWN_GRACE_MS", "5000".into());
            put("AFTERSALES__AUTH__JWT_SECRET", secret.clone());
            put("AFTERSALES__AUTH__DEV_TOKENS", "true".into());
            put("AFTERSALES__TELEMETRY__LOG_FORMAT", "json".into());
            // The kit's "serving" line (its ports) is read at start, whatever the level.
            put(
                "AFTERSALES__TELEMETRY__LOG_LEVEL",
                format!("{},aftersales_platform::kit=info", opts.log_level),
            );
            let amqp = match &mesh.amqp_proxy {
                Some(p) => with_addr(&amqp_url, p.addr())?,
                None => amqp_url.clone(),
            };
            put("AFTERSALES__AMQP__URL", amqp);
            put("AFTERSALES__AMQP__NAME_PREFIX", format!("{run}."));
            put("AFTERSALES__AMQP__QUEUE_TYPE", "classic".into());
            put("AFTERSALES__AMQP__QUEUE_EXPIRES_MS", "600000".into());
            let redis = match &mesh.redis_proxy {
                Some(p) => with_addr(&redis_url, p.addr())?,
                None => redis_url.clone(),
            };
            put("AFTERSALES__REDIS__URL", redis);
            put("AFTERSALES__REDIS__KEY_PREFIX", mesh.redis_prefix.clone());
            for peer in SERVICES {
                put(
                    &format!("AFTERSALES__PEERS__{}__URL", peer.peer_key),
                    format!("http://{}", front_addrs[peer.name]),
                );
            }
            let mut db_proxy = None;
            if let Some(db) = s.db {
                let name = format!("mesh_{run}_{db}");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("CREATE DATABASE {name}"))?;
                let url = database_url(&admin_url, &name);
                mesh.databases.push((s.name.to_owned(), url.clone()));
                let url = if opts.infra_proxies {
                    let p = FaultProxy::start(addr_of(&url)?).await;
                    let u = with_addr(&url, p.addr())?;
                    db_proxy = Some(p);
                    u
                } else {
                    url
                };
                put("AFTERSALES__DATABASE__URL", url);
                // Seven databases on one Postgres (default max_connections 100, shared with
                // the tests): 8 each leaves room, where the default 16 each could take them all
                // under load. `opts.env` may set another.
                put("AFTERSALES__DATABASE__MAX_CONNECTIONS", "8".to_owned());
            }
            if let Some(endpoint) = &opts.otlp_endpoint {
                env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.clone());
            }
            for (who, k, v) in &opts.env {
                if who == "*" || who == s.name {
                    if reads(&keys, k) {
                        env.insert(k.clone(), v.clone());
                    } else if who == s.name {
                        bail!(
                            "{}: {k} is not a variable it reads (`{} config keys`)",
                            s.name,
                            s.name
                        );
                    }
                }
            }
            let front = fronts.remove(s.name).context("front proxy")?;
            let started = Instant::now();
            let process = ServiceProcess::start(&bin, &env).await;
            let target = process.http_addr.or(process.grpc_addr).with_context(|| {
                format!("{}: no gRPC or HTTP address in its serving line", s.name)
            })?;
            front.retarget(target);
            eprintln!(
                "mesh: {} ready in {:.1}s (pid {}, {target}, behind {})",
                s.name,
                started.elapsed().as_secs_f64(),
                process.pid().unwrap_or(0),
                front.addr()
            );
            mesh.members.insert(
                s.name,
                Member {
                    svc: s,
                    bin,
                    env,
                    process: Some(process),
                    front,
                    db_proxy,
                },
            );
        }
        let _ = admin.close().await;
        Ok(mesh)
    }

    fn member(&self, name: &str) -> &Member {
        self.members
            .get(name)
            .unwrap_or_else(|| panic!("no service {name} in the mesh"))
    }

    fn member_mut(&mut self, name: &str) -> &mut Member {
        self.members
            .get_mut(name)
            .unwrap_or_else(|| panic!("no service {name} in the mesh"))
    }

    /// The gateway's base URL (through its proxy).
    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.member("gateway").front.addr())
    }

    /// A service's gRPC URL (through its proxy).
    pub fn grpc_url(&self, name: &str) -> String {
        format!("http://{}", self.member(name).front.addr())
    }

    /// The proxy in front of a service (the chaos suite cuts it to play "the pod is gone").
    pub fn front(&self, name: &str) -> &FaultProxy {
        &self.member(name).front
    }

    /// A service's admin address (its current process).
    pub fn admin_addr(&self, name: &str) -> SocketAddr {
        self.process(name).admin_addr
    }

    pub fn process(&self, name: &str) -> &ServiceProcess {
        self.member(name)
            .process
            .as_ref()
            .unwrap_or_else(|| panic!("{name} is not running"))
    }

    /// The proxy on a service's database line (with `infra_proxies`).
    pub fn database_proxy(&self, name: &str) -> Option<&FaultProxy> {
        self.member(name).db_proxy.as_ref()
    }

    /// The run's database URL of a service (direct, not through a proxy).
    pub fn database_url(&self, name: &str) -> Option<String> {
        self.databases
            .iter()
            .find(|(s, _)| s == name)
            .map(|(_, u)| u.clone())
    }

    /// The broker name prefix of this run (`<run>.`).
    pub fn amqp_prefix(&self) -> String {
        format!("{}.", self.run)
    }

    pub fn redis_prefix(&self) -> &str {
        &self.redis_prefix
    }

    /// A token for this mesh (HS256 with the run's secret).
    pub fn token(&self, subject: &str, branch: &str, roles: &[Role]) -> String {
        aftersales_platform::auth::mint_hs256(
            &self.secret,
            subject,
            branch,
            roles,
            Duration::from_secs(12 * 3600),
        )
        .unwrap_or_else(|e| panic!("mint token: {e}"))
    }

    /// SIGKILL, no drain.
    pub async fn kill(&mut self, name: &str) {
        if let Some(mut p) = self.member_mut(name).process.take() {
            p.kill().await;
        }
    }

    /// SIGTERM and wait for the exit (the drain), at most `timeout`.
    pub async fn terminate(&mut self, name: &str, timeout: Duration) -> bool {
        match self.member_mut(name).process.take() {
            Some(mut p) => {
                p.terminate();
                let exited = p.wait(timeout).await.is_some();
                if !exited {
                    p.kill().await;
                }
                exited
            }
            None => true,
        }
    }

    /// Starts a service that was killed or stopped; its proxy follows the new port.
    pub async fn start_again(&mut self, name: &str) {
        let m = self.member_mut(name);
        assert!(m.process.is_none(), "{name} is still running");
        let p = ServiceProcess::start(&m.bin, &m.env).await;
        if let Some(t) = p.http_addr.or(p.grpc_addr) {
            m.front.retarget(t);
        }
        m.process = Some(p);
    }

    /// A Kubernetes-style rolling replacement: a second process starts on other ports and
    /// becomes ready, the proxy sends new connections to it, then the old one gets SIGTERM and
    /// drains. Returns whether the old one exited within `grace`.
    pub async fn roll(&mut self, name: &str, grace: Duration) -> bool {
        let m = self.member_mut(name);
        let new = ServiceProcess::start(&m.bin, &m.env).await;
        if let Some(t) = new.http_addr.or(new.grpc_addr) {
            m.front.retarget(t);
        }
        let old = m.process.replace(new);
        match old {
            Some(mut old) => {
                old.terminate();
                let exited = old.wait(grace).await.is_some();
                if !exited {
                    old.kill().await;
                }
                exited
            }
            None => true,
        }
    }

    /// The reference data every demo and test uses (DESIGN §11): the warehouse's parts and
    /// stock, procurement's suppliers and quotes, field-service's technicians — each through
    /// its own `seed` subcommand against the running service (idempotent).
    pub async fn seed(&self) -> anyhow::Result<()> {
        for name in ["warehouse", "procurement", "field-service"] {
            self.run_tool(name, &["seed", "--addr", &self.grpc_url(name)])
                .await?;
        }
        Ok(())
    }

    /// Runs `<bin> <args…>` of a service with its environment (a subcommand: seed, dlq replay,
    /// sla recompute …); fails with its output when it exits non-zero.
    pub async fn run_tool(&self, name: &str, args: &[&str]) -> anyhow::Result<String> {
        let m = self.member(name);
        let out = tokio::process::Command::new(&m.bin)
            .args(args)
            .env_clear()
            .envs(
                std::env::vars()
                    .filter(|(k, _)| !k.starts_with("AFTERSALES__") && !k.starts_with("OTEL_")),
            )
            .envs(&m.env)
            .output()
            .await
            .with_context(|| format!("{name} {}", args.join(" ")))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            bail!("{name} {} exited {}: {text}", args.join(" "), out.status);
        }
        Ok(text)
    }

    /// The names of the services, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        SERVICES.iter().map(|s| s.name).collect()
    }

    /// `KEY=VALUE` lines describing the mesh for scripts (`mesh up --env-file`).
    pub fn env_lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("MESH_RUN={}", self.run),
            format!("MESH_JWT_SECRET={}", self.secret),
            format!("MESH_GATEWAY_URL={}", self.gateway_url()),
            format!("MESH_AMQP_PREFIX={}", self.amqp_prefix()),
            format!("MESH_REDIS_PREFIX={}", self.redis_prefix),
        ];
        for m in self.members.values() {
            let key = m.svc.peer_key;
            lines.push(format!("MESH_{key}_URL=http://{}", m.front.addr()));
            if let Some(p) = &m.process {
                lines.push(format!("MESH_{key}_ADMIN=http://{}", p.admin_addr));
            }
            if let Some(url) = self.database_url(m.svc.name) {
                lines.push(format!("MESH_{key}_DATABASE_URL={url}"));
            }
        }
        lines
    }

    /// SIGTERM to every process (gateway first, then the others in reverse start order), then
    /// the run's databases, broker names and Redis keys go.
    pub async fn stop(mut self) {
        let names: Vec<&'static str> = SERVICES.iter().rev().map(|s| s.name).collect();
        for name in names {
            self.terminate(name, Duration::from_secs(15)).await;
        }
        self.cleanup().await;
    }

    async fn cleanup(&mut self) {
        if !self.keep_databases
            && let Ok(admin) = testing::connect(&testing::admin_database_url()).await
        {
            for (_, url) in self.databases.drain(..) {
                if let Some((_, name)) = url.rsplit_once('/') {
                    let name = name.split('?').next().unwrap_or(name);
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            }
            let _ = admin.close().await;
        }
        testing::delete_redis_keys(&self.redis_prefix).await;
        // The bus's names go when it drops.
        self.bus.take();
    }
}
