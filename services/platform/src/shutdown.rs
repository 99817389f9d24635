//! One shutdown signal for everything a service runs: the gRPC server, the admin server, the
//! outbox relay and the consumers all stop when it fires.

use tokio_util::sync::CancellationToken;

/// Cloneable; cancel once, every holder sees it.
#[derive(Clone, Debug, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    pub fn new() -> Self {
        Self(CancellationToken::new())
    }

    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves once the shutdown has started.
    pub async fn wait(&self) {
        self.0.cancelled().await
    }

    /// Triggers on SIGINT or SIGTERM (what Kubernetes sends), caught by `signals`. Installed before the service starts, they
    /// make a signal that arrives while it starts, or right after it answers ready, start the
    /// shutdown instead of killing the process with the default action.
    pub fn trigger_on(&self, signals: Signals) {
        let this = self.clone();
        tokio::spawn(async move {
            signals.recv().await;
            tracing::info!("shutdown signal received");
            this.trigger();
        });
    }
}

/// SIGTERM and SIGINT, caught from the moment [`Signals::install`] returns.
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers now (within a Tokio runtime).
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Resolves at the first of them.
    pub async fn recv(mut self) {
        #[cfg(unix)]
        {
            async fn one(s: Option<&mut tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = one(self.term.as_mut()) => {},
                _ = one(self.int.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
