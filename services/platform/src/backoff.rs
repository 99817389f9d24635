//! The one retry delay of the mesh (reconnecting to the broker, Redis or the database, the relay
//! after a failure, a paused consumer): exponential with jitter, capped, and reset after a
//! success so a recovered link starts quick again. Built on `backon`.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::shutdown::Shutdown;

#[derive(Debug)]
pub struct Backoff {
    builder: ExponentialBuilder,
    current: ExponentialBackoff,
}

impl Backoff {
    /// From `min` doubling up to `max`, with jitter, for ever.
    pub fn new(min: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(min)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        Self {
            current: builder.build(),
            builder,
        }
    }

    /// 200 ms to 10 s: reconnecting to a server.
    pub fn reconnect() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        self.current.next().unwrap_or(Duration::from_secs(10))
    }

    /// After a success: the next failure waits the shortest delay again.
    pub fn reset(&mut self) {
        self.current = self.builder.build();
    }

    /// Sleeps the next delay; `false` if shutdown started meanwhile.
    pub async fn sleep(&mut self, shutdown: &Shutdown) -> bool {
        let d = self.next_delay();
        tokio::select! {
            _ = shutdown.wait() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_start_over_after_a_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let first = b.next_delay();
        let mut last = first;
        for _ in 0..20 {
            last = b.next_delay();
        }
        // Jitter adds up to one delay on top.
        assert!(last <= Duration::from_secs(2), "{last:?}");
        assert!(last >= Duration::from_secs(1), "{last:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(200));
        assert!(first <= Duration::from_millis(200));
    }
}
