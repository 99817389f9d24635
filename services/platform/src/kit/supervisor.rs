//! One owner for every long-running task of a service. A task that ends or panics while the
//! service is meant to run turns readiness (and so gRPC health) to not-serving, starts the
//! shutdown, and makes the process exit non-zero once the grace period is over, so Kubernetes
//! restarts it: nothing dies silently while health stays green.
//!
//! Shutdown drains in three phases: the tasks that take work in (gRPC, consumers, scanners, the
//! service's own) stop and finish what is in flight; then the relay makes its last pass, so what
//! they committed goes out; then the admin port closes. Each phase waits at most what is left of
//! the grace period.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::http_admin::Readiness;
use crate::shutdown::Shutdown;
use crate::telemetry::metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    Intake,
    Outflow,
    Admin,
}

type Start = Box<dyn FnOnce(Shutdown) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

pub struct Supervisor {
    service: &'static str,
    shutdown: Shutdown,
    readiness: Readiness,
    grace: Duration,
    tasks: Vec<(String, Phase, Start)>,
}

impl Supervisor {
    pub fn new(
        service: &'static str,
        shutdown: Shutdown,
        readiness: Readiness,
        grace: Duration,
    ) -> Self {
        Self {
            service,
            shutdown,
            readiness,
            grace,
            tasks: Vec::new(),
        }
    }

    fn add<F, Fut>(&mut self, name: &str, phase: Phase, run: F)
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.tasks
            .push((name.to_owned(), phase, Box::new(move |s| Box::pin(run(s)))));
    }

    /// A task that takes work in; it stops first.
    pub fn intake<F, Fut>(&mut self, name: &str, run: F)
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.add(name, Phase::Intake, run)
    }

    /// A task that sends work out (the relay); it stops once the intake drained.
    pub fn outflow<F, Fut>(&mut self, name: &str, run: F)
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.add(name, Phase::Outflow, run)
    }

    /// The admin port; it stops last.
    pub fn admin<F, Fut>(&mut self, name: &str, run: F)
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.add(name, Phase::Admin, run)
    }

    /// Runs every task until shutdown (or a task's failure), then drains. `Err` when a task
    /// failed: the process must exit non-zero.
    pub async fn run(self) -> anyhow::Result<()> {
        let stops: HashMap<Phase, Shutdown> = [Phase::Intake, Phase::Outflow, Phase::Admin]
            .into_iter()
            .map(|p| (p, Shutdown::new()))
            .collect();
        let mut set = JoinSet::new();
        let mut names = HashMap::new();
        for (name, phase, start) in self.tasks {
            // Every task's series exists from the start (0), so dashboards and alert checks
            // find it before anything failed.
            metrics()
                .task_failures
                .with_label_values(&[&name])
                .inc_by(0);
            let fut = start(stops[&phase].clone());
            let handle = set.spawn(fut);
            names.insert(handle.id(), (name, phase));
        }
        let mut failed: Vec<String> = Vec::new();
        let record = |failed: &mut Vec<String>, name: &str, why: String| {
            tracing::error!(service = self.service, task = name, error = %why, "task failed; the service is going down");
            metrics().task_failures.with_label_values(&[name]).inc();
            self.readiness.fail(name);
            failed.push(format!("{name}: {why}"));
        };

        // Serving: until shutdown, or until a task ends on its own.
        tokio::select! {
            _ = self.shutdown.wait() => {}
            joined = set.join_next_with_id() => {
                if let Some(joined) = joined {
                    let (id, why) = match joined {
                        Ok((id, Ok(()))) => (id, "ended while the service was running".to_owned()),
                        Ok((id, Err(e))) => (id, format!("{e:#}")),
                        Err(e) => (e.id(), if e.is_panic() { panic_text(e) } else { "cancelled".into() }),
                    };
                    let name = names.get(&id).map(|(n, _)| n.clone()).unwrap_or_default();
                    names.remove(&id);
                    record(&mut failed, &name, why);
                }
                self.shutdown.trigger();
            }
        }

        // Draining, phase by phase, within the grace period.
        self.readiness.stopping();
        let deadline = Instant::now() + self.grace;
        for phase in [Phase::Intake, Phase::Outflow, Phase::Admin] {
            stops[&phase].trigger();
            while names.values().any(|(_, p)| *p == phase) {
                let joined = tokio::select! {
                    j = set.join_next_with_id() => j,
                    _ = tokio::time::sleep_until(deadline) => {
                        let left: Vec<_> = names.values().map(|(n, _)| n.clone()).collect();
                        tracing::warn!(service = self.service, tasks = ?left, "grace period over; stopping anyway");
                        set.abort_all();
                        return finish(failed);
                    }
                };
                let Some(joined) = joined else { break };
                match joined {
                    Ok((id, Ok(()))) => {
                        names.remove(&id);
                    }
                    Ok((id, Err(e))) => {
                        let name = names.remove(&id).map(|(n, _)| n).unwrap_or_default();
                        record(&mut failed, &name, format!("{e:#}"));
                    }
                    Err(e) => {
                        let name = names.remove(&e.id()).map(|(n, _)| n).unwrap_or_default();
                        if e.is_panic() {
                            record(&mut failed, &name, panic_text(e));
                        }
                    }
                }
            }
        }
        finish(failed)
    }
}

fn finish(failed: Vec<String>) -> anyhow::Result<()> {
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failed.join("; "))
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let p = e.into_panic();
    let text = p
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    format!("panicked: {text}")
}
