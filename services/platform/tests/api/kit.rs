//! The kit's supervision, watched from outside: the probe service's real binary.

use std::time::{Duration, Instant};

use aftersales_platform::testing::{self, ServiceProcess, TestBus};

async fn readyz(addr: std::net::SocketAddr) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.ok()?;
    let code = buf.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, buf))
}

fn probe_env(bus: &TestBus, panic_after_ms: u64) -> std::collections::HashMap<String, String> {
    let mut env = testing::service_env(None, bus, None);
    env.insert(
        "AFTERSALES__KIT_PROBE__PANIC_AFTER_MS".into(),
        panic_after_ms.to_string(),
    );
    // A task that takes a while to stop keeps the admin port up long enough to be watched.
    env.insert("AFTERSALES__KIT_PROBE__SLOW_STOP_MS".into(), "1500".into());
    env.insert(
        "AFTERSALES__SERVER__SHUTDOWN_GRACE_MS".into(),
        "4000".into(),
    );
    env
}

#[tokio::test]
async fn a_background_task_that_panics_takes_readiness_down_and_the_process_out_non_zero() {
    // Arrange: the probe is up and ready; its task panics 1.5 s after the start.
    let bus = TestBus::new();
    let mut p =
        ServiceProcess::start(env!("CARGO_BIN_EXE_kit-probe"), &probe_env(&bus, 1500)).await;

    // Act: wait for the panic to be noticed.
    let (code, body) = testing::eventually(Duration::from_secs(15), || async {
        readyz(p.admin_addr).await.filter(|(c, _)| *c == 503)
    })
    .await
    .expect("/readyz turns 503 after the task panicked");
    let noticed = Instant::now();

    // Assert: readiness names the task, and the process ends non-zero within the grace period.
    assert_eq!(code, 503);
    assert!(
        body.contains("panicker"),
        "the failed task is named: {body}"
    );
    let status = p
        .wait(Duration::from_secs(10))
        .await
        .expect("the process exits");
    assert!(
        !status.success(),
        "a failed task ends the process non-zero: {status:?}"
    );
    assert!(
        noticed.elapsed() <= Duration::from_millis(4000 + 1500),
        "within the 4 s grace: {:?}",
        noticed.elapsed()
    );
    let logs = p.logs().join("\n");
    assert!(
        logs.contains("task failed; the service is going down"),
        "the failure is logged: {logs}"
    );
}

#[tokio::test]
async fn sigterm_drains_and_ends_the_process_cleanly() {
    let bus = TestBus::new();
    let mut p = ServiceProcess::start(env!("CARGO_BIN_EXE_kit-probe"), &probe_env(&bus, 0)).await;
    assert_eq!(readyz(p.admin_addr).await.map(|r| r.0), Some(200));
    p.terminate();
    let status = p
        .wait(Duration::from_secs(10))
        .await
        .expect("the process exits");
    assert!(status.success(), "a clean stop exits 0: {status:?}");
}
