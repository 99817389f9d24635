//! The relay's drain: `--events` outbox rows staged in the running service's database in one
//! transaction (so the whole backlog appears at once, as after an outage of the broker), under a
//! routing key only our queue is bound to; then the time until every one of them has reached
//! the queue and is marked published.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aftersales_proto::common::v1::EventEnvelope;
use anyhow::Context as _;
use prost::Message as _;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::events::Subscriber;
use crate::run::{cpu_ticks, round};

const KEY: &str = "loadgen.relay.drained";

#[derive(clap::Args, Debug)]
pub struct Opts {
    /// The database of the service whose relay drains (it must be running).
    #[arg(long)]
    database_url: String,
    /// The events exchange the relay publishes to.
    #[arg(long)]
    exchange: String,
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 180)]
    timeout: u64,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp: String,
}

pub async fn run(o: &Opts) -> anyhow::Result<Value> {
    // Two connections are all it needs; Postgres is shared (its connection slots too), so a
    // moment without a free slot is waited out rather than failing the phase.
    let mut opts = sea_orm::ConnectOptions::new(o.database_url.clone());
    opts.max_connections(2)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false);
    let mut attempt = 0;
    let db = loop {
        match sea_orm::Database::connect(opts.clone()).await {
            Ok(db) => break db,
            Err(e) if attempt < 6 => {
                attempt += 1;
                eprintln!("loadgen: the service's database: {e}; trying again");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => return Err(e).context("the service's database"),
        }
    };
    let mut sub = Subscriber::start(&o.amqp, &o.exchange, &[KEY]).await?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let txn = db.begin().await?;
    let staged_at = Instant::now();
    for chunk in (0..o.events).collect::<Vec<_>>().chunks(2_000) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 3);
        let mut rows = Vec::with_capacity(chunk.len());
        for i in chunk {
            let id = uuid::Uuid::now_v7();
            let now = chrono::Utc::now();
            let env = EventEnvelope {
                event_id: id.to_string(),
                r#type: "loadgen.Drained".into(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: now.timestamp(),
                    nanos: now.timestamp_subsec_nanos() as i32,
                }),
                producer: "loadgen".into(),
                subject: format!("drain-{run}-{i}"),
                sequence: 1,
                routing_key: KEY.into(),
                ..Default::default()
            };
            let n = values.len();
            rows.push(format!("(${}, '{KEY}', ${}, ${})", n + 1, n + 2, n + 3));
            values.push(id.into());
            values.push(env.subject.clone().into());
            values.push(env.encode_to_vec().into());
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "INSERT INTO outbox (event_id, routing_key, subject, envelope) VALUES {}",
                rows.join(", ")
            ),
            values,
        ))
        .await?;
    }
    txn.execute_unprepared("SELECT pg_notify('aftersales_outbox', '')")
        .await?;
    txn.commit().await?;
    let staging = staged_at.elapsed();
    eprintln!(
        "loadgen: {} outbox rows staged in {:.1}s; draining",
        o.events,
        staging.as_secs_f64()
    );

    let cpu0 = cpu_ticks();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.timeout);
    let mut seen = HashSet::with_capacity(o.events);
    let mut delivered_in = None;
    let mut published_in = None;
    let mut next_check = start;
    while Instant::now() < deadline && (delivered_in.is_none() || published_in.is_none()) {
        let wait = next_check.saturating_duration_since(Instant::now());
        if delivered_in.is_none() {
            if let Ok(Some(a)) = tokio::time::timeout(wait, sub.rx.recv()).await
                && a.envelope.subject.starts_with(&format!("drain-{run}-"))
            {
                seen.insert(a.envelope.event_id);
                if seen.len() == o.events {
                    delivered_in = Some(start.elapsed());
                }
            }
        } else {
            tokio::time::sleep(wait).await;
        }
        if Instant::now() >= next_check && published_in.is_none() {
            next_check = Instant::now() + Duration::from_millis(100);
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT count(*)::bigint FROM outbox WHERE routing_key = $1 AND published_at IS NULL",
                    [KEY.into()],
                ))
                .await?;
            let left: i64 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0);
            if left == 0 {
                published_in = Some(start.elapsed());
            }
        }
    }
    let wall = start.elapsed();
    let cpu_pct = 100.0 * (cpu_ticks().saturating_sub(cpu0) as f64 / 100.0) / wall.as_secs_f64();
    // Leave the service's outbox as it was.
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM outbox WHERE routing_key = $1",
        [KEY.into()],
    ))
    .await?;
    let done = match (delivered_in, published_in) {
        (Some(d), Some(p)) => Some(d.max(p)),
        _ => None,
    };
    Ok(json!({
        "events": o.events,
        "staging_s": round(staging.as_secs_f64(), 2),
        "delivered": seen.len(),
        "all_delivered_s": delivered_in.map(|d| round(d.as_secs_f64(), 2)),
        "all_marked_published_s": published_in.map(|d| round(d.as_secs_f64(), 2)),
        "events_per_s": done.map(|d| round(o.events as f64 / d.as_secs_f64(), 0)),
        "loadgen_cpu_pct": round(cpu_pct, 1),
    }))
}
