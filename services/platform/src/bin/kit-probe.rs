//! A service of nothing but the kit, for the platform's own tests of supervision: a task that
//! panics after `kit_probe.panic_after_ms` (0: never) and a task that takes
//! `kit_probe.slow_stop_ms` to stop, so a test can watch readiness fall and the process end.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

use std::time::Duration;

use aftersales_platform::kit::{self, Config, Ctx, NoCommand, Parts, Spec};

struct Probe;

#[derive(Debug, Clone, serde::Deserialize)]
struct ProbeConfig {
    panic_after_ms: u64,
    slow_stop_ms: u64,
}

impl Config for ProbeConfig {
    const DEFAULTS: &'static str = "panic_after_ms = 0\nslow_stop_ms = 0";
}

impl kit::Service for Probe {
    const SPEC: Spec = Spec {
        name: "kit-probe",
        about: "A service of nothing but the kit (platform tests)",
        section: "kit_probe",
        grpc_port: None,
        http_port: None,
        admin_port: 0,
        database: None,
        migrations: &[],
        redis: false,
    };
    type Config = ProbeConfig;
    type Command = NoCommand;

    async fn build(ctx: &mut Ctx<ProbeConfig>) -> anyhow::Result<Parts> {
        let c = ctx.config().clone();
        Ok(Parts::new()
            .task("panicker", move |stop| async move {
                if c.panic_after_ms == 0 {
                    stop.wait().await;
                    return Ok(());
                }
                tokio::select! {
                    _ = stop.wait() => Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(c.panic_after_ms)) => {
                        panic!("the probe's task panics on purpose")
                    }
                }
            })
            .task("slow stopper", move |stop| async move {
                stop.wait().await;
                tokio::time::sleep(Duration::from_millis(c.slow_stop_ms)).await;
                Ok(())
            }))
    }
}

fn main() -> std::process::ExitCode {
    kit::main::<Probe>()
}
