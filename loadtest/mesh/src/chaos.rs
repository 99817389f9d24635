//! `make chaos` (issue 19): the whole mesh ([`Mesh`], the eight real binaries, Postgres, RabbitMQ
//! and Redis behind fault proxies) under open-model load through the gateway, with the demo
//! operator playing the people, while one fault after another hits it: the broker line cut, each
//! service's database line cut for longer than its retry budget, services SIGKILLed and started
//! again, Redis cut, and every service replaced one after the other like a Kubernetes rolling
//! update. After each scenario the ledger checker ([`ledger::check`]) accounts for every
//! submission the load generator saw accepted.
//!
//! A scenario: steady load, the fault, the restore, more load, then the load stops and the run
//! waits for the scenario's requests to close (at most until the scenario's time is up) before
//! the check. Recovery is measured two ways from the restore (the end of the last fault
//! window): a fresh probe request reaching the warehouse's answer (`reservation.confirmed`, or
//! `stock.shortage` should the part run out), and the backlog draining (no request accepted
//! before the restore still `submitted`, `under_review` or `approved`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aftersales_platform::auth::Role;
use anyhow::Context as _;
use sea_orm::{DatabaseConnection, FromQueryResult, Statement};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::http::Client;
use crate::ledger::{self, Accounting, Submission};
use crate::operator::Operator;
use crate::{Mesh, SERVICES};

/// An answer slower than this counts as a hung call.
pub const HUNG: Duration = Duration::from_secs(10);
/// The generator gives up on a call after this long (recorded as `no answer`).
pub const GIVE_UP: Duration = Duration::from_secs(35);
/// The broker line is cut this long.
pub const BROKER_CUT: Duration = Duration::from_secs(20);
/// Each database line is cut this long: longer than a consumer's retry budget (5 attempts ×
/// 2 s, `amqp.max_attempts` × `amqp.retry_delay_ms`) and the pool's 5 s acquire timeout.
pub const DATABASE_CUT: Duration = Duration::from_secs(15);
/// A SIGKILLed service stays down this long before it is started again.
pub const KILL_DOWN: Duration = Duration::from_secs(10);
/// The services SIGKILLed, in turn.
pub const KILLED: [&str; 2] = ["warehouse", "intake"];
/// Redis is cut this long.
pub const REDIS_CUT: Duration = Duration::from_secs(15);
/// How long a replaced process gets to drain after SIGTERM.
pub const ROLL_GRACE: Duration = Duration::from_secs(15);
/// Between two replacements (and between the two kills).
pub const BETWEEN: Duration = Duration::from_secs(2);

/// The faults, in the order the issue lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Broker,
    Databases,
    Kill,
    Redis,
    Roll,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Broker,
        Scenario::Databases,
        Scenario::Kill,
        Scenario::Redis,
        Scenario::Roll,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Broker => "broker",
            Scenario::Databases => "databases",
            Scenario::Kill => "kill",
            Scenario::Redis => "redis",
            Scenario::Roll => "roll",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Self::ALL.into_iter().find(|x| x.name() == s.trim())
    }

    pub fn title(self) -> &'static str {
        match self {
            Scenario::Broker => "Broker line cut",
            Scenario::Databases => "Each service's database line cut",
            Scenario::Kill => "Services SIGKILLed and started again",
            Scenario::Redis => "Redis cut",
            Scenario::Roll => "Rolling restart of every service under load",
        }
    }

    /// About how long the fault part takes (to plan the scenario's time).
    pub fn fault_length(self, databases_together: bool) -> Duration {
        let with_db = SERVICES.iter().filter(|s| s.db.is_some()).count() as u32;
        match self {
            Scenario::Broker => BROKER_CUT,
            Scenario::Databases if databases_together => DATABASE_CUT,
            Scenario::Databases => DATABASE_CUT * with_db,
            Scenario::Kill => (KILL_DOWN + Duration::from_secs(5)) * KILLED.len() as u32 + BETWEEN,
            Scenario::Redis => REDIS_CUT,
            Scenario::Roll => Duration::from_secs(8) * SERVICES.len() as u32,
        }
    }
}

/// How a scenario is run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Submissions per second (open model: sent on a clock, whatever the answers).
    pub rate: f64,
    /// Steady load before the fault.
    pub steady: Duration,
    /// Load after the restore, before the generator stops.
    pub after: Duration,
    /// The scenario ends (its check runs) at the latest this long after it began.
    pub budget: Duration,
    /// Cut every database line at once instead of one after the other.
    pub databases_together: bool,
    /// Nothing runs past this instant (the whole run's bound).
    pub hard_deadline: Instant,
}

impl Plan {
    /// The least time the scenario needs: load, fault, load, a short wait.
    pub fn needs(&self, s: Scenario) -> Duration {
        self.steady + s.fault_length(self.databases_together) + self.after + Duration::from_secs(15)
    }
}

/// The gateway's callers: an agent per demo branch (the submissions) and head office (the
/// probes' timelines).
#[derive(Clone)]
pub struct Callers {
    agents: Vec<(&'static str, Client)>,
    head_office: Client,
}

impl Callers {
    pub fn new(mesh: &Mesh) -> Self {
        let gw = mesh.gateway_url();
        let agents = ["SH01", "BJ02", "GZ03"]
            .into_iter()
            .map(|b| {
                let t = mesh.token(
                    &format!("chaos-agent-{}", b.to_lowercase()),
                    b,
                    &[Role::BranchAgent],
                );
                (b, Client::new(&gw, &t))
            })
            .collect();
        let head_office = Client::new(&gw, &mesh.token("chaos-head-office", "*", &[Role::Admin]));
        Self {
            agents,
            head_office,
        }
    }
}

/// The load's mix, by submission number: mostly replacements of the power board (in stock;
/// shipped, delivered, the customer called back), some panels (50 in stock: later ones go
/// through a purchase order), remote controls (none in stock: always the shortage path), and one
/// repair in twenty for a technician — no more, because the demo technicians' free slots (a few
/// a day per branch) are what a repair waits for, not the faults: more repairs only pile up as
/// work orders nobody can book.
const MIX: [(&str, &str); 20] = [
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("repair", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PNL-55-01"),
    ("replacement", "RMT-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PNL-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PNL-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PNL-55-01"),
    ("replacement", "RMT-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
    ("replacement", "PWR-55-01"),
];

/// A unique serial number (the submission's marker in intake's data): `prefix` + 10 hex digits.
pub fn marker(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
    .to_uppercase()
}

/// A new request as a branch agent submits it (in warranty, documents complete: the demo policy
/// approves it without a person).
pub fn body(branch: &str, kind: &str, part: &str, serial: &str) -> Value {
    let today = chrono::Utc::now().date_naive();
    let bought = (today - chrono::Duration::days(40)).to_string();
    let made = (today - chrono::Duration::days(100)).to_string();
    json!({
        "branch": branch, "channel": "hotline", "kind": kind, "urgency": "normal",
        "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                      "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
        "product": { "category": "television", "model": "X55", "serial": serial,
                     "purchase_date": bought, "invoice_no": "INV-CHAOS", "invoice_date": bought,
                     "factory_date": made },
        "fault_description": "no picture",
        "parts": [ { "part_no": part, "quantity": 1 } ]
    })
}

/// One submission as the generator saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub marker: String,
    pub request_no: Option<String>,
    /// When it was sent, from the scenario's start.
    pub sent: Duration,
    pub latency: Duration,
    /// `None`: accepted (2xx); otherwise what came back (`503`, `no answer`, `connect` …).
    pub failure: Option<String>,
    /// A failure's answer (its body, or the error), shortened.
    pub detail: Option<String>,
    /// A recovery probe rather than the load.
    pub probe: bool,
}

impl Call {
    pub fn accepted(&self) -> bool {
        self.failure.is_none()
    }

    pub fn submission(&self) -> Submission {
        Submission {
            marker: self.marker.clone(),
            accepted: self.accepted(),
            request_no: self.request_no.clone(),
        }
    }
}

fn classify(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    if text.contains("no answer within") || text.contains("timed out") {
        "timeout".into()
    } else if text.contains("connect") {
        "connect error".into()
    } else {
        "transport error".into()
    }
}

async fn submit(client: Client, body: Value, marker: String, epoch: Instant, probe: bool) -> Call {
    let sent = epoch.elapsed();
    let t = Instant::now();
    let key = uuid::Uuid::new_v4().to_string();
    let answer = tokio::time::timeout(
        GIVE_UP,
        client.call(
            "POST",
            "/v1/requests",
            Some(&body),
            &[("idempotency-key", &key)],
        ),
    )
    .await;
    let latency = t.elapsed();
    let (request_no, failure, detail) = match answer {
        Err(_) => (None, Some("no answer".to_owned()), None),
        Ok(Err(e)) => (None, Some(classify(&e)), Some(format!("{e:#}"))),
        Ok(Ok(a)) if a.ok() => (a.json["request_no"].as_str().map(str::to_owned), None, None),
        Ok(Ok(a)) => (None, Some(a.status.to_string()), Some(a.text)),
    };
    Call {
        marker,
        request_no,
        sent,
        latency,
        failure,
        detail,
        probe,
    }
}

/// The open-model load: one submission every `1 / rate` seconds, each on its own task, whatever
/// the earlier ones are doing.
pub struct Generator {
    stop: watch::Sender<bool>,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Generator {
    pub fn start(callers: &Callers, rate: f64, prefix: String, epoch: Instant) -> Self {
        let (stop, mut rx) = watch::channel(false);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let agents = callers.agents.clone();
        let sink = calls.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut running = JoinSet::new();
            let mut n = 0usize;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    // The generator dropped without a stop: stop too.
                    changed = rx.changed() => if changed.is_err() { break; },
                }
                if *rx.borrow() {
                    break;
                }
                let (branch, client) = agents[n % agents.len()].clone();
                let (kind, part) = MIX[n % MIX.len()];
                let m = marker(&prefix);
                let b = body(branch, kind, part, &m);
                let sink = sink.clone();
                running.spawn(async move {
                    let c = submit(client, b, m, epoch, false).await;
                    lock(&sink).push(c);
                });
                n += 1;
                while running.try_join_next().is_some() {}
            }
            while running.join_next().await.is_some() {}
        });
        Self { stop, calls, task }
    }

    /// The markers of the submissions answered 2xx so far.
    pub fn accepted_markers(&self) -> Vec<String> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.accepted())
            .map(|c| c.marker.clone())
            .collect()
    }

    /// Stops sending and waits for every call under way (each at most [`GIVE_UP`]).
    pub async fn stop(self) -> Vec<Call> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        std::mem::take(&mut *lock(&self.calls))
    }
}

#[derive(Debug, FromQueryResult)]
struct N {
    n: i64,
}

/// How many of `markers` are in (or, `negate`, not in) one of `statuses` in intake's data.
async fn count_status(
    db: &DatabaseConnection,
    markers: &[String],
    statuses: &[&str],
    negate: bool,
) -> anyhow::Result<i64> {
    let sql = if negate {
        "SELECT count(*)::bigint AS n FROM requests \
         WHERE product->>'serial' = ANY($1) AND status <> ALL($2)"
    } else {
        "SELECT count(*)::bigint AS n FROM requests \
         WHERE product->>'serial' = ANY($1) AND status = ANY($2)"
    };
    let statuses: Vec<String> = statuses.iter().map(|s| (*s).to_owned()).collect();
    let n = N::find_by_statement(Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        sql,
        [markers.to_vec().into(), statuses.into()],
    ))
    .one(db)
    .await?
    .map_or(0, |n| n.n);
    Ok(n)
}

/// The automatic chain's early statuses: a request still here has not had the warehouse's answer.
const EARLY: [&str; 3] = ["submitted", "under_review", "approved"];
const FINAL: [&str; 2] = ["closed", "cancelled"];

/// A connection to `url` for the suite's own reads, tried again every 2 s until `until` (the
/// database may refuse a new client for a while: a fault, or every connection slot in use).
pub async fn connect_until(url: &str, until: Instant) -> Option<DatabaseConnection> {
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(10),
            aftersales_platform::testing::connect(url),
        )
        .await;
        if let Ok(Ok(db)) = attempt {
            return Some(db);
        }
        if Instant::now() + Duration::from_secs(2) >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// [`ledger::check`], tried up to 4 times 5 s apart when it cannot read the databases; the
/// result and a note for each failed attempt.
pub async fn check_retrying(
    submissions: &[Submission],
    intake_url: &str,
    warehouse_url: &str,
) -> (Result<Accounting, String>, Vec<String>) {
    let mut notes = Vec::new();
    for attempt in 1..=4 {
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            ledger::check(submissions, intake_url, warehouse_url),
        )
        .await;
        let e = match r {
            Ok(Ok(a)) => return (Ok(a), notes),
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => "no result within 60 s".to_owned(),
        };
        notes.push(format!(
            "the ledger check's attempt {attempt} failed (tried again 5 s later): {}",
            cell(&e)
        ));
        if attempt == 4 {
            return (Err(e), notes);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    (Err("not run".into()), notes)
}

/// From `from`: polls until none of `markers` is in an early status (the backlog drained).
async fn drain(
    intake_url: String,
    markers: Vec<String>,
    from: Instant,
    deadline: Instant,
) -> Option<Duration> {
    let db = connect_until(&intake_url, deadline).await?;
    let mut found = None;
    while Instant::now() < deadline {
        if let Ok(0) = count_status(&db, &markers, &EARLY, false).await {
            found = Some(from.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = db.close().await;
    found
}

/// Whether a request's timeline has the warehouse's answer.
async fn warehouse_answered(head_office: &Client, no: &str) -> bool {
    let Ok(a) = head_office
        .get(&format!("/v1/requests/{no}/timeline"))
        .await
    else {
        return false;
    };
    a.json["events"].as_array().is_some_and(|events| {
        events.iter().any(|e| {
            let t = e["type"].as_str().or_else(|| e["kind"].as_str());
            matches!(
                t,
                Some("warehouse.reservation.confirmed" | "warehouse.stock.shortage")
            )
        })
    })
}

/// From `from`: submits a fresh request (the in-stock power board) and follows it until the
/// warehouse answered; another one if it is refused or has not got there in 30 s. The time from
/// `from`, and every probe sent.
async fn probe(
    callers: Callers,
    prefix: String,
    epoch: Instant,
    from: Instant,
    deadline: Instant,
) -> (Option<Duration>, Vec<Call>) {
    let mut calls = Vec::new();
    let (branch, client) = callers.agents[0].clone();
    while Instant::now() < deadline {
        let m = marker(&prefix);
        let c = submit(
            client.clone(),
            body(branch, "replacement", "PWR-55-01", &m),
            m,
            epoch,
            true,
        )
        .await;
        let no = c.request_no.clone();
        calls.push(c);
        let Some(no) = no else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let give_up = (Instant::now() + Duration::from_secs(30)).min(deadline);
        while Instant::now() < give_up {
            if warehouse_answered(&callers.head_office, &no).await {
                return (Some(from.elapsed()), calls);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    (None, calls)
}

/// A stretch of time a fault was on (from the scenario's start).
#[derive(Debug, Clone)]
pub struct Window {
    pub label: String,
    pub from: Duration,
    pub to: Duration,
}

/// What one scenario showed.
#[derive(Debug, Clone)]
pub struct Figures {
    pub number: usize,
    pub scenario: Scenario,
    pub fault: String,
    pub started_utc: String,
    pub elapsed: Duration,
    pub windows: Vec<Window>,
    pub calls: Vec<Call>,
    /// The end of the last fault window, from the scenario's start.
    pub restored_at: Duration,
    /// When the load stopped, from the scenario's start.
    pub load_stopped_at: Duration,
    pub probe_recovery: Option<Duration>,
    pub drain: Option<Duration>,
    /// Requests accepted before the restore (the backlog the drain waits for).
    pub backlog: usize,
    /// From the load's stop until every accepted request was closed or cancelled.
    pub quiet_after: Option<Duration>,
    pub accounting: Option<Accounting>,
    pub ledger_error: Option<String>,
    pub operator_actions: u64,
    pub operator_failed: u64,
    pub operator_last_error: String,
    pub notes: Vec<String>,
    /// The scenario could not run (its fault failed, or no time was left).
    pub error: Option<String>,
}

/// Failures by code.
pub fn failures(calls: &[Call]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in calls {
        if let Some(f) = &c.failure {
            *m.entry(f.clone()).or_default() += 1;
        }
    }
    m
}

pub fn failures_text(calls: &[Call]) -> String {
    let f = failures(calls);
    if f.is_empty() {
        return "0".into();
    }
    let total: usize = f.values().sum();
    let parts: Vec<String> = f.iter().map(|(k, n)| format!("{k} × {n}")).collect();
    format!("{total} ({})", parts.join(", "))
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn cell(s: &str) -> String {
    let s = s.replace('|', "/").replace('\n', " ");
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

impl Figures {
    fn new(number: usize, scenario: Scenario) -> Self {
        Self {
            number,
            scenario,
            fault: String::new(),
            started_utc: chrono::Utc::now().format("%H:%M:%SZ").to_string(),
            elapsed: Duration::ZERO,
            windows: Vec::new(),
            calls: Vec::new(),
            restored_at: Duration::ZERO,
            load_stopped_at: Duration::ZERO,
            probe_recovery: None,
            drain: None,
            backlog: 0,
            quiet_after: None,
            accounting: None,
            ledger_error: None,
            operator_actions: 0,
            operator_failed: 0,
            operator_last_error: String::new(),
            notes: Vec::new(),
            error: None,
        }
    }

    /// A scenario that did not run.
    pub fn skipped(number: usize, scenario: Scenario, why: String) -> Self {
        let mut f = Self::new(number, scenario);
        f.error = Some(why);
        f
    }

    pub fn accepted(&self) -> usize {
        self.calls.iter().filter(|c| c.accepted()).count()
    }

    pub fn failed(&self) -> usize {
        self.calls.len() - self.accepted()
    }

    pub fn lost(&self) -> usize {
        self.accounting.as_ref().map_or(0, |a| a.lost.len())
    }

    pub fn duplicated(&self) -> usize {
        self.accounting.as_ref().map_or(0, |a| a.duplicated.len())
    }

    pub fn unbalanced(&self) -> usize {
        self.accounting.as_ref().map_or(0, |a| a.unbalanced.len())
    }

    pub fn hung(&self) -> usize {
        self.calls.iter().filter(|c| c.latency > HUNG).count()
    }

    pub fn in_flight_text(&self) -> String {
        match &self.accounting {
            None => "n/a".into(),
            Some(a) if a.in_flight == 0 => "0".into(),
            Some(a) => {
                let by: Vec<String> = a
                    .in_flight_by_status
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                format!("{} ({})", a.in_flight, by.join(", "))
            }
        }
    }

    pub fn recovery_text(&self) -> String {
        match self.probe_recovery {
            Some(d) => secs(d),
            None if self.error.is_some() => "n/a".into(),
            None => "not within the scenario".into(),
        }
    }

    pub fn drain_text(&self) -> String {
        match self.drain {
            Some(d) => secs(d),
            None if self.error.is_some() => "n/a".into(),
            None => "not within the scenario".into(),
        }
    }

    /// The scenario's section of the report.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "## {}. {} (`{}`)\n",
            self.number,
            self.scenario.title(),
            self.scenario.name()
        );
        if let Some(e) = &self.error
            && self.calls.is_empty()
        {
            let _ = writeln!(s, "Not run: {e}\n");
            return s;
        }
        let _ = writeln!(
            s,
            "Started {}, {} in all. Fault: {}\n",
            self.started_utc,
            secs(self.elapsed),
            self.fault
        );
        if let Some(e) = &self.error {
            let _ = writeln!(s, "**The scenario failed:** {e}\n");
        }
        let load: Vec<&Call> = self.calls.iter().filter(|c| !c.probe).collect();
        let probes = self.calls.len() - load.len();
        let mut lat: Vec<Duration> = self.calls.iter().map(|c| c.latency).collect();
        lat.sort();
        let slowest_failure = self
            .calls
            .iter()
            .filter(|c| !c.accepted())
            .map(|c| c.latency)
            .max();
        let _ = writeln!(s, "| figure | value |\n|---|---|");
        let mut row = |k: &str, v: String| {
            let _ = writeln!(s, "| {k} | {} |", cell(&v));
        };
        row(
            "submissions sent (load + recovery probes)",
            format!("{} ({} + {probes})", self.calls.len(), load.len()),
        );
        row(
            "accepted (2xx with a request number, the generator's own record)",
            self.accepted().to_string(),
        );
        row("failed requests, by code", failures_text(&self.calls));
        row(
            "calls answered after more than 10 s (or never)",
            format!(
                "{}{}",
                self.hung(),
                slowest_failure
                    .map(|d| format!(" (slowest failed answer {})", ms(d)))
                    .unwrap_or_default()
            ),
        );
        row(
            "latency of every answer p50 / p99 / max",
            format!(
                "{} / {} / {}",
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                ms(lat.last().copied().unwrap_or_default())
            ),
        );
        match (&self.accounting, &self.ledger_error) {
            (Some(a), _) => {
                row(
                    "lost (accepted, not in intake's data)",
                    if a.lost.is_empty() {
                        "0".into()
                    } else {
                        format!("{}: {}", a.lost.len(), a.lost.join(", "))
                    },
                );
                row(
                    "duplicated (accepted, stored twice or under another number)",
                    if a.duplicated.is_empty() {
                        "0".into()
                    } else {
                        format!("{}: {}", a.duplicated.len(), a.duplicated.join("; "))
                    },
                );
                row(
                    "completed (closed or cancelled) at the check",
                    a.completed.to_string(),
                );
                row("in flight at the check", self.in_flight_text());
                row(
                    "created without a 2xx answer (harmless; reported for completeness)",
                    a.created_without_answer.to_string(),
                );
                row(
                    "stock books (on hand = ledger sum = last balance; reserved = open reservations)",
                    if a.unbalanced.is_empty() {
                        format!("{} part/zone rows, all balanced", a.stock_rows)
                    } else {
                        format!(
                            "{} of {} rows unbalanced: {}",
                            a.unbalanced.len(),
                            a.stock_rows,
                            a.unbalanced.join("; ")
                        )
                    },
                );
            }
            (None, Some(e)) => row("ledger check", format!("failed: {e}")),
            (None, None) => row("ledger check", "not run".into()),
        }
        row(
            "time to recover: probe (restore → a fresh request has the warehouse's answer)",
            self.recovery_text(),
        );
        row(
            "time to recover: backlog drained (restore → no earlier request before the warehouse's answer)",
            format!(
                "{} ({} requests accepted before the restore)",
                self.drain_text(),
                self.backlog
            ),
        );
        row(
            "quiet (load stopped → every accepted request closed)",
            match self.quiet_after {
                Some(d) => secs(d),
                None => format!(
                    "not within the scenario's time ({} after the load stopped)",
                    secs(self.elapsed.saturating_sub(self.load_stopped_at))
                ),
            },
        );
        row(
            "demo operator (people's actions; failed calls are retried on its next pass)",
            format!(
                "{} actions, {} failed calls{}",
                self.operator_actions,
                self.operator_failed,
                if self.operator_failed > 0 && !self.operator_last_error.is_empty() {
                    format!(" (last: {})", self.operator_last_error)
                } else {
                    String::new()
                }
            ),
        );
        row(
            "timeline (from the scenario's start)",
            format!(
                "load from 0 s to {}; restore at {}",
                secs(self.load_stopped_at),
                secs(self.restored_at)
            ),
        );
        s.push('\n');
        if !self.windows.is_empty() {
            let _ = writeln!(
                s,
                "| fault window | from – to | sent in it | accepted | failed by code | slowest answer |\n|---|---|---|---|---|---|"
            );
            for w in &self.windows {
                let inside: Vec<Call> = self
                    .calls
                    .iter()
                    .filter(|c| c.sent >= w.from && c.sent < w.to)
                    .cloned()
                    .collect();
                let slowest = inside.iter().map(|c| c.latency).max().unwrap_or_default();
                let _ = writeln!(
                    s,
                    "| {} | {:.1}–{:.1} s ({}) | {} | {} | {} | {} |",
                    cell(&w.label),
                    w.from.as_secs_f64(),
                    w.to.as_secs_f64(),
                    secs(w.to.saturating_sub(w.from)),
                    inside.len(),
                    inside.iter().filter(|c| c.accepted()).count(),
                    failures_text(&inside),
                    ms(slowest)
                );
            }
            s.push('\n');
        }
        let mut samples: BTreeMap<&str, &str> = BTreeMap::new();
        for c in &self.calls {
            if let (Some(f), Some(d)) = (&c.failure, &c.detail) {
                samples.entry(f.as_str()).or_insert(d.as_str());
            }
        }
        for (code, d) in samples {
            let _ = writeln!(s, "- a `{code}` answer: `{}`", cell(d).replace('`', "'"));
        }
        for n in &self.notes {
            let _ = writeln!(s, "- {n}");
        }
        if !self.notes.is_empty() || self.failed() > 0 {
            s.push('\n');
        }
        s
    }
}

/// Everything a scenario needs beside the mesh.
pub struct Ctx<'a> {
    pub callers: &'a Callers,
    pub operator: &'a Operator,
    pub intake_url: String,
    pub warehouse_url: String,
}

fn operator_totals(op: &Operator) -> (u64, u64, String) {
    let a = op.actions();
    (a.done.values().sum(), a.failed, a.last_error)
}

/// Runs the fault of `s` and restores; the windows it was on.
async fn fault(
    mesh: &mut Mesh,
    s: Scenario,
    plan: &Plan,
    epoch: Instant,
    f: &mut Figures,
) -> anyhow::Result<()> {
    let window = |label: String, from: Duration| Window {
        label,
        from,
        to: epoch.elapsed(),
    };
    match s {
        Scenario::Broker => {
            f.fault = format!(
                "every process's AMQP connection goes through one proxy, cut (open connections \
                 closed, new ones refused) for {}, then restored.",
                secs(BROKER_CUT)
            );
            let p = mesh.amqp_proxy.as_ref().context("no AMQP proxy")?;
            let from = epoch.elapsed();
            p.cut();
            tokio::time::sleep(BROKER_CUT).await;
            p.restore();
            f.windows.push(window("broker line cut".into(), from));
        }
        Scenario::Databases => {
            let with_db: Vec<&'static str> = SERVICES
                .iter()
                .filter(|s| s.db.is_some())
                .map(|s| s.name)
                .collect();
            if plan.databases_together {
                f.fault = format!(
                    "the database lines of all {} services with a database cut at once for {} \
                     (longer than a consumer's retry budget of 5 attempts × 2 s and the pool's \
                     5 s acquire timeout), then restored — at once, not one after the other, \
                     because the scenario's time did not allow {} × {}.",
                    with_db.len(),
                    secs(DATABASE_CUT),
                    with_db.len(),
                    secs(DATABASE_CUT)
                );
                let from = epoch.elapsed();
                for name in &with_db {
                    mesh.database_proxy(name)
                        .with_context(|| format!("no database proxy for {name}"))?
                        .cut();
                }
                tokio::time::sleep(DATABASE_CUT).await;
                for name in &with_db {
                    if let Some(p) = mesh.database_proxy(name) {
                        p.restore();
                    }
                }
                f.windows
                    .push(window("every database line cut".into(), from));
            } else {
                f.fault = format!(
                    "each service's database line (its own Postgres proxy) cut for {} — longer \
                     than a consumer's retry budget of 5 attempts × 2 s and the pool's 5 s \
                     acquire timeout — then restored, one service after the other ({}).",
                    secs(DATABASE_CUT),
                    with_db.join(", ")
                );
                for name in &with_db {
                    let p = mesh
                        .database_proxy(name)
                        .with_context(|| format!("no database proxy for {name}"))?;
                    let from = epoch.elapsed();
                    p.cut();
                    tokio::time::sleep(DATABASE_CUT).await;
                    p.restore();
                    f.windows
                        .push(window(format!("{name}'s database line cut"), from));
                }
            }
        }
        Scenario::Kill => {
            f.fault = format!(
                "{} SIGKILLed (no drain), down {}, then started again on another port behind \
                 its proxy (the window ends when the new process is ready); {} between them.",
                KILLED.join(" then "),
                secs(KILL_DOWN),
                secs(BETWEEN)
            );
            for (i, name) in KILLED.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(BETWEEN).await;
                }
                let from = epoch.elapsed();
                mesh.kill(name).await;
                tokio::time::sleep(KILL_DOWN).await;
                mesh.start_again(name).await;
                f.windows
                    .push(window(format!("{name} killed → ready again"), from));
            }
        }
        Scenario::Redis => {
            f.fault = format!(
                "every process's Redis connection goes through one proxy, cut for {}, then \
                 restored (the gateway's rate limits and idempotency records, field-service's \
                 slot holds).",
                secs(REDIS_CUT)
            );
            let p = mesh.redis_proxy.as_ref().context("no Redis proxy")?;
            let from = epoch.elapsed();
            p.cut();
            tokio::time::sleep(REDIS_CUT).await;
            p.restore();
            f.windows.push(window("Redis line cut".into(), from));
        }
        Scenario::Roll => {
            f.fault = format!(
                "every service in turn ({}) replaced like a Kubernetes rolling update: the new \
                 process starts on another port and is ready before its proxy sends new \
                 connections to it, then the old one gets SIGTERM and drains (at most {}); {} \
                 between services.",
                SERVICES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                secs(ROLL_GRACE),
                secs(BETWEEN)
            );
            for (i, svc) in SERVICES.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(BETWEEN).await;
                }
                let from = epoch.elapsed();
                let drained = mesh.roll(svc.name, ROLL_GRACE).await;
                let w = window(format!("{} replaced", svc.name), from);
                if !drained {
                    f.notes.push(format!(
                        "the old {} did not exit within {} of SIGTERM and was killed",
                        svc.name,
                        secs(ROLL_GRACE)
                    ));
                }
                f.windows.push(w);
            }
        }
    }
    Ok(())
}

/// The gateway process's id and how many lines it has logged.
fn gateway_logs(mesh: &Mesh) -> (Option<u32>, usize) {
    let p = mesh.process("gateway");
    (p.pid(), p.logs().len())
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).or_else(|| v.get("fields").and_then(|f| f.get(k)))
}

/// What the gateway logged about its peers since `since` (the same process) or since it started
/// (a replacement): failed or unavailable peers, by peer and code, with one error each.
fn peer_errors(mesh: &Mesh, since: (Option<u32>, usize)) -> Vec<String> {
    let p = mesh.process("gateway");
    let from = if p.pid() == since.0 { since.1 } else { 0 };
    let mut seen: BTreeMap<(String, String, String), (usize, String)> = BTreeMap::new();
    for line in p.logs().iter().skip(from) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let msg = field(&v, "message").and_then(Value::as_str).unwrap_or("");
        if msg != "peer failed" && msg != "peer unavailable" {
            continue;
        }
        let text = |k: &str| {
            field(&v, k)
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                .unwrap_or_default()
        };
        let e = seen
            .entry((msg.to_owned(), text("peer"), text("code")))
            .or_insert((0, text("error")));
        e.0 += 1;
    }
    seen.into_iter()
        .map(|((msg, peer, code), (n, error))| {
            format!(
                "the gateway logged \"{msg}\" {n} × (peer {peer}{}): `{}`",
                if code.is_empty() {
                    String::new()
                } else {
                    format!(", code {code}")
                },
                cell(&error).replace('`', "'")
            )
        })
        .collect()
}

/// One scenario: steady load, the fault and its restore, more load, the wait for quiet, the
/// ledger check of its submissions.
pub async fn run_scenario(
    mesh: &mut Mesh,
    number: usize,
    s: Scenario,
    plan: &Plan,
    ctx: &Ctx<'_>,
) -> Figures {
    let mut f = Figures::new(number, s);
    let epoch = Instant::now();
    let deadline = (epoch + plan.budget).min(plan.hard_deadline);
    let (done0, failed0, _) = operator_totals(ctx.operator);
    let gateway_logs0 = gateway_logs(mesh);
    let generator = Generator::start(ctx.callers, plan.rate, format!("SNCH{number}"), epoch);
    eprintln!(
        "chaos: {number}. {} — steady load {}",
        s.title(),
        secs(plan.steady)
    );
    tokio::time::sleep(plan.steady).await;
    eprintln!("chaos: {number}. fault on");
    if let Err(e) = fault(mesh, s, plan, epoch, &mut f).await {
        f.error = Some(format!("{e:#}"));
    }
    let restored = Instant::now();
    f.restored_at = epoch.elapsed();
    eprintln!(
        "chaos: {number}. restored at {}; load goes on {}",
        secs(f.restored_at),
        secs(plan.after)
    );
    let backlog = generator.accepted_markers();
    f.backlog = backlog.len();
    let recovery_deadline = (restored + Duration::from_secs(150)).min(deadline);
    let prober = tokio::spawn(probe(
        ctx.callers.clone(),
        format!("SNPB{number}"),
        epoch,
        restored,
        recovery_deadline,
    ));
    let drainer = tokio::spawn(drain(
        ctx.intake_url.clone(),
        backlog,
        restored,
        recovery_deadline,
    ));
    let load_end = (Instant::now() + plan.after).min(deadline);
    tokio::time::sleep_until(load_end.into()).await;
    let mut calls = generator.stop().await;
    f.load_stopped_at = epoch.elapsed();
    let stopped = Instant::now();
    let (recovery, probes) = prober.await.unwrap_or((None, Vec::new()));
    f.probe_recovery = recovery;
    f.drain = drainer.await.ok().flatten();
    calls.extend(probes);
    calls.sort_by_key(|c| c.sent);
    eprintln!(
        "chaos: {number}. load stopped at {} ({} sent, {} accepted); waiting for quiet",
        secs(f.load_stopped_at),
        calls.len(),
        calls.iter().filter(|c| c.accepted()).count()
    );
    let markers: Vec<String> = calls
        .iter()
        .filter(|c| c.accepted())
        .map(|c| c.marker.clone())
        .collect();
    if let Some(db) = connect_until(&ctx.intake_url, deadline).await {
        while Instant::now() < deadline {
            if let Ok(0) = count_status(&db, &markers, &FINAL, true).await {
                f.quiet_after = Some(stopped.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let _ = db.close().await;
    }
    f.notes.extend(peer_errors(mesh, gateway_logs0));
    let submissions: Vec<Submission> = calls.iter().map(Call::submission).collect();
    let (result, retries) = check_retrying(&submissions, &ctx.intake_url, &ctx.warehouse_url).await;
    match result {
        Ok(a) => f.accounting = Some(a),
        Err(e) => f.ledger_error = Some(e),
    }
    f.notes.extend(retries);
    let (done1, failed1, last) = operator_totals(ctx.operator);
    f.operator_actions = done1.saturating_sub(done0);
    f.operator_failed = failed1.saturating_sub(failed0);
    if f.operator_failed > 0 {
        f.operator_last_error = last;
    }
    f.calls = calls;
    f.elapsed = epoch.elapsed();
    eprintln!(
        "chaos: {number}. {}: accepted {}, failed {}, lost {}, duplicated {}, in flight {}, recovery {}",
        s.name(),
        f.accepted(),
        failures_text(&f.calls),
        f.lost(),
        f.duplicated(),
        f.in_flight_text(),
        f.recovery_text()
    );
    f
}

/// `SELECT version()` of the Postgres at `url` (for the report's machine notes).
pub async fn postgres_version(url: &str) -> String {
    #[derive(FromQueryResult)]
    struct V {
        v: String,
    }
    let Ok(db) = aftersales_platform::testing::connect(url).await else {
        return "unknown".into();
    };
    let v = V::find_by_statement(Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        "SELECT version() AS v".to_owned(),
    ))
    .one(&db)
    .await
    .ok()
    .flatten()
    .map_or_else(|| "unknown".into(), |v| v.v);
    let _ = db.close().await;
    v
}
