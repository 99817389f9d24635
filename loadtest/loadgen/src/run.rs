//! The two load models and what a run reports.
//!
//! Closed model: N callers, each sending its next request when the last one answered; what
//! they complete per second is the capacity at that concurrency. Open model: requests are due
//! at a constant rate whatever the answers do; each latency runs from the request's *intended*
//! send time, so when the system (or the generator) stalls, the requests that should have gone
//! out meanwhile carry the stall in their latency (coordinated omission corrected), exactly as
//! users arriving on their own schedule would feel it.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// How one request ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ok,
    /// The kind of failure (`http 503`, `grpc Unavailable`, `connect` …), counted by kind.
    Failed(String),
}

/// Something to send requests to; `n` numbers the request within the run.
pub trait Target: Clone + Send + Sync + 'static {
    fn call(&self, n: u64) -> impl Future<Output = Outcome> + Send;
}

/// Latencies in microseconds, 1 µs to 10 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|e| panic!("histogram: {e}"))
}

/// What a run measured (only what completed inside the measured window counts).
pub struct Measured {
    pub model: &'static str,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub latency: Histogram<u64>,
    pub window: Duration,
    /// Open model: the rate asked for.
    pub rate: Option<f64>,
    pub callers: Option<usize>,
    /// Open model: how late the generator was, at worst, in sending a request (a generator
    /// that cannot keep its schedule shows here).
    pub max_send_delay: Duration,
    pub cpu: CpuUse,
}

impl Measured {
    pub fn json(&self) -> Value {
        let total = self.ok + self.errors.values().sum::<u64>();
        json!({
            "model": self.model,
            "rate": self.rate,
            "callers": self.callers,
            "window_s": round(self.window.as_secs_f64(), 3),
            "completed": total,
            "ok": self.ok,
            "errors": self.errors,
            "error_rate": if total == 0 { 0.0 } else { round(1.0 - self.ok as f64 / total as f64, 4) },
            "ok_per_s": round(self.ok as f64 / self.window.as_secs_f64(), 1),
            "latency_ms": latency_json(&self.latency),
            "max_send_delay_ms": round(self.max_send_delay.as_secs_f64() * 1000.0, 2),
            "loadgen_cpu_pct": round(self.cpu.pct(), 1),
        })
    }
}

pub fn latency_json(h: &Histogram<u64>) -> Value {
    let ms = |v: u64| round(v as f64 / 1000.0, 2);
    if h.is_empty() {
        return json!({ "count": 0 });
    }
    json!({
        "count": h.len(),
        "mean": round(h.mean() / 1000.0, 2),
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p95": ms(h.value_at_quantile(0.95)),
        "p99": ms(h.value_at_quantile(0.99)),
        "p999": ms(h.value_at_quantile(0.999)),
        "max": ms(h.max()),
    })
}

pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// The generator's own CPU time over a stretch of wall time (user + system, all threads).
pub struct CpuUse {
    ticks: u64,
    wall: Duration,
}

impl CpuUse {
    /// Percent of one core.
    pub fn pct(&self) -> f64 {
        // USER_HZ, the unit of /proc/<pid>/stat's times, is 100 on Linux.
        100.0 * (self.ticks as f64 / 100.0) / self.wall.as_secs_f64().max(1e-9)
    }
}

/// CPU ticks (user + system) of this process so far, from /proc/self/stat.
pub fn cpu_ticks() -> u64 {
    cpu_ticks_of("self").unwrap_or(0)
}

/// CPU ticks of a process (`self` or a pid).
pub fn cpu_ticks_of(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Resident memory of a process in MiB.
pub fn rss_mib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

struct Tally {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            ok: 0,
            errors: BTreeMap::new(),
            latency: histogram(),
        }
    }

    fn record(&mut self, outcome: Outcome, latency: Duration) {
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                let us = (latency.as_micros() as u64).clamp(1, 600_000_000);
                let _ = self.latency.record(us);
            }
            Outcome::Failed(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        let _ = self.latency.add(&other.latency);
    }
}

/// `callers` callers back to back for `warmup + duration`; counts what completes in the
/// measured window.
pub async fn closed<T: Target>(
    target: T,
    callers: usize,
    warmup: Duration,
    duration: Duration,
) -> Measured {
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + duration;
    let cpu0 = cpu_ticks();
    let mut tasks = Vec::with_capacity(callers);
    for c in 0..callers {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            let mut n = c as u64;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let outcome = target.call(n).await;
                let done = Instant::now();
                n += callers as u64;
                if sent >= measure_from && done <= until {
                    tally.record(outcome, done - sent);
                }
            }
            tally
        }));
    }
    let mut tally = Tally::new();
    for t in tasks {
        if let Ok(t) = t.await {
            tally.merge(t);
        }
    }
    let wall = start.elapsed();
    Measured {
        model: "closed",
        ok: tally.ok,
        errors: tally.errors,
        latency: tally.latency,
        window: duration,
        rate: None,
        callers: Some(callers),
        max_send_delay: Duration::ZERO,
        cpu: CpuUse {
            ticks: cpu_ticks().saturating_sub(cpu0),
            wall,
        },
    }
}

/// `rate` requests per second on schedule for `warmup + duration`, then waits for what is
/// still outstanding (at most 30 s); counts the requests due in the measured window, each
/// latency from its intended send time.
pub async fn open<T: Target>(
    target: T,
    rate: f64,
    warmup: Duration,
    duration: Duration,
    max_in_flight: usize,
) -> Measured {
    let start = tokio::time::Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + duration;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let cpu0 = cpu_ticks();
    let wall0 = Instant::now();
    let tally = Arc::new(Mutex::new(Tally::new()));
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut max_delay = Duration::ZERO;
    let mut n: u64 = 0;
    loop {
        let due = start + interval.mul_f64(n as f64);
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due).await;
        // Waiting for a slot delays the send, not the clock: the latency still runs from `due`.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let late = tokio::time::Instant::now().saturating_duration_since(due);
        if due >= measure_from {
            max_delay = max_delay.max(late);
        }
        let target = target.clone();
        let tally = tally.clone();
        tasks.spawn(async move {
            let outcome = target.call(n).await;
            let done = tokio::time::Instant::now();
            drop(permit);
            if due >= measure_from {
                tally
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(outcome, done - due);
            }
        });
        // Reap finished tasks as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
        n += 1;
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    let outstanding = tasks.len() as u64;
    tasks.abort_all();
    let wall = wall0.elapsed();
    let mut tally = std::mem::replace(
        &mut *tally.lock().unwrap_or_else(|p| p.into_inner()),
        Tally::new(),
    );
    if outstanding > 0 {
        *tally
            .errors
            .entry("no answer within 30 s of the run's end".into())
            .or_default() += outstanding;
    }
    Measured {
        model: "open",
        ok: tally.ok,
        errors: tally.errors,
        latency: tally.latency,
        window: duration,
        rate: Some(rate),
        callers: None,
        max_send_delay: max_delay,
        cpu: CpuUse {
            ticks: cpu_ticks().saturating_sub(cpu0),
            wall,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Answers after a fixed delay, except that one request in the run stalls for long.
    #[derive(Clone)]
    struct Stalling {
        calls: Arc<AtomicU64>,
    }

    impl Target for Stalling {
        async fn call(&self, n: u64) -> Outcome {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let d = if n == 10 { 500 } else { 1 };
            tokio::time::sleep(Duration::from_millis(d)).await;
            Outcome::Ok
        }
    }

    #[tokio::test]
    async fn the_open_model_keeps_its_rate_and_counts_from_the_intended_send_time() {
        let t = Stalling {
            calls: Arc::new(AtomicU64::new(0)),
        };
        let m = open(t.clone(), 200.0, Duration::ZERO, Duration::from_secs(1), 1).await;
        // One slot: while request 10 stalls for 500 ms, the ~100 due meanwhile wait for it, and
        // their latencies carry the wait (a closed-loop tool would record one slow request).
        assert!(m.ok >= 190, "{}", m.ok);
        let over_100ms = m.latency.count_between(100_000, 600_000_000);
        assert!(
            over_100ms >= 50,
            "the stall shows in {over_100ms} latencies"
        );
    }

    #[tokio::test]
    async fn the_closed_model_counts_only_the_measured_window() {
        let t = Stalling {
            calls: Arc::new(AtomicU64::new(0)),
        };
        let m = closed(t, 2, Duration::from_millis(200), Duration::from_millis(500)).await;
        assert!(m.ok > 50, "{}", m.ok);
        assert!(m.latency.max() < 600_000);
    }

    #[test]
    fn this_process_reads_its_own_cpu_and_memory() {
        assert!(cpu_ticks_of("self").is_some());
        assert!(rss_mib("self").is_some_and(|m| m > 0));
    }
}
