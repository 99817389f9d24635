//! A service's real binary as a child process, for tests that kill it (SIGKILL), stop it
//! (SIGTERM) and restart it, or read its logs. It is started from the same environment map as
//! an in-process [`super::TestService`]; its ports are read from its own "serving" log line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of another workspace binary beside the running test's own (`target/<profile>/NAME`):
/// cargo builds every binary of the workspace before it runs any test of `cargo test
/// --workspace` (`make test`). Panics, saying how to build it, when it is not there.
pub fn sibling_binary(name: &str) -> String {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("unexpected test binary location {}", exe.display()));
    let bin = profile_dir.join(name);
    if !bin.is_file() {
        panic!(
            "{} is not built: run `cargo build -p {name}` (make test builds every binary first)",
            bin.display()
        );
    }
    bin.display().to_string()
}

pub struct ServiceProcess {
    child: Child,
    pub grpc_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl ServiceProcess {
    /// Starts `bin serve` with `env` (and nothing else of the test's environment that starts
    /// with `AFTERSALES__`), waits for its "serving" line and then for `/readyz`.
    pub async fn start(bin: &str, env: &HashMap<String, String>) -> ServiceProcess {
        Self::start_with(bin, &["serve"], env, true).await
    }

    /// As [`ServiceProcess::start`] with other arguments; `ready` waits for `/readyz` too.
    pub async fn start_with(
        bin: &str,
        args: &[&str],
        env: &HashMap<String, String>,
        ready: bool,
    ) -> ServiceProcess {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env_clear()
            // Nothing of the test's own environment configures it: not the AFTERSALES__ keys,
            // not an OTLP exporter.
            .envs(
                std::env::vars()
                    .filter(|(k, _)| !k.starts_with("AFTERSALES__") && !k.starts_with("OTEL_")),
            )
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if std::env::var_os("TEST_LOG").is_some() {
                        eprintln!("{line}");
                    }
                    if let Ok(v) = serde_json::from_str::<Value>(&line)
                        && v["message"] == "serving"
                    {
                        let _ = tx.send(v);
                    }
                    logs.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        drop(tx);
        let serving = tokio::time::timeout(Duration::from_secs(90), rx.recv())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                let l = logs.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                panic!("{bin} never said it was serving; its output:\n{l}")
            });
        let addr =
            |k: &str| -> Option<SocketAddr> { serving[k].as_str().and_then(|s| s.parse().ok()) };
        let p = ServiceProcess {
            grpc_addr: addr("grpc"),
            http_addr: addr("http"),
            admin_addr: addr("admin")
                .unwrap_or_else(|| panic!("{bin}: no admin address in {serving}")),
            child,
            logs,
        };
        if ready {
            super::wait_ready(p.admin_addr, bin).await;
        }
        p
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no drain, no last relay pass.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, as Kubernetes stops a pod.
    pub fn terminate(&self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// Waits for the process to end, for at most `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Every line it printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Its JSON log lines.
    pub fn json_logs(&self) -> Vec<Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
