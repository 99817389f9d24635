//! The one "now" of a service. Every deadline, scanner and timestamp of a decision reads it, so a
//! test moves time instead of waiting for it: [`Clock::manual`] starts at a chosen instant and
//! moves only when told ([`Clock::set`], [`Clock::advance`]); scanners wake when it moves.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
enum Inner {
    System,
    Manual {
        now: Mutex<DateTime<Utc>>,
        moved: watch::Sender<DateTime<Utc>>,
    },
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// Wall-clock time.
    pub fn system() -> Self {
        Self(Arc::new(Inner::System))
    }

    /// Time that stands still at `at` until moved.
    pub fn manual(at: DateTime<Utc>) -> Self {
        let (moved, _) = watch::channel(at);
        Self(Arc::new(Inner::Manual {
            now: Mutex::new(at),
            moved,
        }))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.0.as_ref() {
            Inner::System => Utc::now(),
            Inner::Manual { now, .. } => *now.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.0.as_ref(), Inner::Manual { .. })
    }

    /// Moves a manual clock to `at` (a system clock ignores it).
    pub fn set(&self, at: DateTime<Utc>) {
        if let Inner::Manual { now, moved } = self.0.as_ref() {
            *now.lock().unwrap_or_else(|p| p.into_inner()) = at;
            moved.send_replace(at);
        }
    }

    /// Moves a manual clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.set(self.now() + by);
    }

    /// Resolves when a manual clock is moved; never for the system clock.
    pub async fn moved(&self) {
        self.watch().moved().await
    }

    /// A watch that sees every move after it was made, also those that happen while its
    /// holder is busy (a scanner mid-scan): keep one across a loop's turns.
    pub fn watch(&self) -> ClockWatch {
        match self.0.as_ref() {
            Inner::System => ClockWatch(None),
            Inner::Manual { moved, .. } => ClockWatch(Some(moved.subscribe())),
        }
    }
}

/// See [`Clock::watch`].
#[derive(Debug)]
pub struct ClockWatch(Option<watch::Receiver<DateTime<Utc>>>);

impl ClockWatch {
    /// Resolves at the next move not seen yet; never for the system clock.
    pub async fn moved(&mut self) {
        match &mut self.0 {
            None => std::future::pending().await,
            Some(rx) => {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_told_and_says_so() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::manual(t0);
        assert_eq!(c.now(), t0);
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.moved().await })
        };
        tokio::task::yield_now().await;
        c.advance(Duration::hours(2));
        waiter.await.unwrap();
        assert_eq!(c.now(), t0 + Duration::hours(2));
    }
}
