//! The whole mesh at saturation: every service running ([`aftersales_mesh::Mesh`], the real
//! binaries), the part in stock, submissions through the gateway by N callers back to back, and
//! the requests whose automatic chain reached its last automatic step,
//! `logistics.shipment.planned` (submitted → claim approved by the demo policy → parts reserved
//! → shipment planned). Each hop's lag comes from the events' own timestamps: the time from the
//! event that triggered a step to the event the step published.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aftersales_mesh::{Mesh, MeshOptions};
use aftersales_platform::auth::Role;
use aftersales_proto::common::v1 as common;
use aftersales_proto::warehouse::v1 as wh;
use aftersales_proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use anyhow::Context as _;
use serde_json::{Value, json};

use crate::events::{Subscriber, now_secs, occurred_at};
use crate::http::Gateway;
use crate::run::{self, histogram, latency_json, round, rss_mib};

#[derive(clap::Args, Debug)]
pub struct Opts {
    /// Where the eight binaries are (e.g. a release build's target/…/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Callers back to back through the gateway.
    #[arg(long, default_value_t = 32)]
    callers: usize,
    /// Measured seconds of load (after the warm-up).
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// After the load, wait at most this long for the chains still under way.
    #[arg(long, default_value_t = 60)]
    settle: u64,
    #[arg(long, default_value_t = 20)]
    branches: usize,
    /// Units of each part put in stock first (every request reserves one).
    #[arg(long, default_value_t = 200_000)]
    stock: u32,
    /// Distinct parts the requests ask for, in turn. The warehouse serialises the reservations
    /// of one part (its row lock keeps the last unit to one request), so one part for every
    /// request measures that lock rather than the mesh.
    #[arg(long, default_value_t = 8)]
    parts: usize,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp: String,
    /// SERVICE:KEY=VALUE for the mesh's processes (SERVICE may be `*`), repeatable.
    #[arg(long = "env")]
    env: Vec<String>,
}

/// The steps of the automatic chain, in order, and the outcomes that end it early.
const CHAIN: [&str; 4] = [
    "intake.request.submitted",
    "claims.claim.approved",
    "warehouse.reservation.confirmed",
    "logistics.shipment.planned",
];
const ENDS: [&str; 3] = [
    "claims.claim.rejected",
    "claims.claim.info_requested",
    "warehouse.stock.shortage",
];

pub async fn run(o: &Opts) -> anyhow::Result<Value> {
    let mut env = vec![
        // The front door's limits must not be what is measured.
        limit("AFTERSALES__GATEWAY__RATE_LIMIT_BURST"),
        limit("AFTERSALES__GATEWAY__RATE_LIMIT_PER_SECOND"),
        limit("AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_BURST"),
        limit("AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_PER_SECOND"),
    ];
    for e in &o.env {
        let (who, kv) = e.split_once(':').context("--env SERVICE:KEY=VALUE")?;
        let (k, v) = kv.split_once('=').context("--env SERVICE:KEY=VALUE")?;
        env.push((who.to_owned(), k.to_owned(), v.to_owned()));
    }
    let mesh = Mesh::start(MeshOptions {
        bin_dir: o.bin_dir.clone(),
        env,
        ..MeshOptions::default()
    })
    .await?;
    // Whatever happens (a signal included), the mesh is stopped and its databases, broker
    // names and Redis keys removed: its processes hold connections others need.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let result = tokio::select! {
        r = measure(&mesh, o) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        _ = term.recv() => Err(anyhow::anyhow!("terminated")),
    };
    mesh.stop().await;
    result
}

fn limit(key: &str) -> (String, String, String) {
    ("gateway".into(), key.into(), "1000000".into())
}

/// The parts of the run: the demo part first, then LG-PART-002 …
fn part_numbers(n: usize) -> Vec<String> {
    (0..n.max(1))
        .map(|i| {
            if i == 0 {
                crate::body::DEMO_PART.to_owned()
            } else {
                format!("LG-PART-{:03}", i + 1)
            }
        })
        .collect()
}

async fn stock(mesh: &Mesh, part_no: &str, qty: u32) -> anyhow::Result<()> {
    let token = mesh.token("loadgen", "*", &[Role::Admin]);
    let mut client = WarehouseServiceClient::with_interceptor(
        aftersales_platform::grpc::channel(&mesh.grpc_url("warehouse"), Duration::from_secs(30))?,
        aftersales_platform::grpc::ClientInterceptor::with_token(&token)?,
    );
    client
        .upsert_part(wh::UpsertPartRequest {
            part: Some(wh::Part {
                part_no: part_no.into(),
                name: format!("Bench part {part_no}"),
                unit: "pcs".into(),
                compatible_models: vec!["X55".into()],
                part_class: wh::PartClass::Unit as i32,
                unit_cost: Some(common::Money {
                    currency: "CNY".into(),
                    amount_minor: 18_000,
                }),
                lifecycle: wh::Lifecycle::InProduction as i32,
                product_category: "television".into(),
                ..Default::default()
            }),
        })
        .await
        .context("upsert the part")?;
    let receipt = client
        .receive_goods(wh::ReceiveGoodsRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            delivery_note: "LOADGEN".into(),
            lines: vec![wh::ReceiptLine {
                part_no: part_no.into(),
                quantity: qty,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .context("receive the stock")?
        .into_inner()
        .receipt
        .context("no receipt")?;
    client
        .record_inspection(wh::RecordInspectionRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            receipt_id: receipt.receipt_id,
            lines: vec![wh::InspectionLine {
                part_no: part_no.into(),
                passed: qty,
                failed: 0,
                failure_reason: String::new(),
            }],
        })
        .await
        .context("inspect the stock")?;
    Ok(())
}

/// When each step of each request happened (the events' `occurred_at`), by request number.
#[derive(Default)]
struct Chains {
    steps: HashMap<String, [Option<f64>; 4]>,
    ended: BTreeMap<String, u64>,
}

impl Chains {
    fn add(&mut self, key: &str, subject: &str, at: f64) {
        if let Some(i) = CHAIN.iter().position(|k| *k == key) {
            self.steps.entry(subject.to_owned()).or_default()[i] = Some(at);
        } else if ENDS.contains(&key) {
            *self.ended.entry(key.to_owned()).or_default() += 1;
        }
    }

    fn count(&self, step: usize, from: f64, to: f64) -> u64 {
        self.steps
            .values()
            .filter(|s| s[step].is_some_and(|t| t >= from && t < to))
            .count() as u64
    }
}

async fn measure(mesh: &Mesh, o: &Opts) -> anyhow::Result<Value> {
    let parts = part_numbers(o.parts);
    for p in &parts {
        stock(mesh, p, o.stock).await?;
    }
    let exchange = format!("{}aftersales.events", mesh.amqp_prefix());
    let keys: Vec<&str> = CHAIN.iter().chain(ENDS.iter()).copied().collect();
    let mut sub = Subscriber::start(&o.amqp, &exchange, &keys).await?;
    let pids: Vec<(&str, String)> = mesh
        .names()
        .into_iter()
        .filter_map(|n| Some((n, mesh.process(n).pid()?.to_string())))
        .collect();

    // Memory and CPU of every process while the load runs.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let pids = pids.clone();
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut max_rss: BTreeMap<String, u64> = BTreeMap::new();
            let cpu0: Vec<u64> = pids
                .iter()
                .map(|(_, p)| run::cpu_ticks_of(p).unwrap_or(0))
                .collect();
            let t0 = Instant::now();
            while sampling.load(Ordering::SeqCst) {
                for (n, p) in &pids {
                    let r = rss_mib(p).unwrap_or(0);
                    let e = max_rss.entry((*n).to_owned()).or_default();
                    *e = (*e).max(r);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu: BTreeMap<String, f64> = pids
                .iter()
                .zip(cpu0)
                .map(|((n, p), c0)| {
                    let ticks = run::cpu_ticks_of(p).unwrap_or(c0).saturating_sub(c0);
                    ((*n).to_owned(), round(ticks as f64 / secs, 1))
                })
                .collect();
            (max_rss, cpu)
        })
    };

    let idle_rss: BTreeMap<&str, u64> = pids
        .iter()
        .map(|(n, p)| (*n, rss_mib(p).unwrap_or(0)))
        .collect();
    // Straight to the gateway's HTTP port: the mesh's front proxy for the gateway follows the
    // process's first address, which is its gRPC port when it has one.
    let gateway_url = match mesh.process("gateway").http_addr {
        Some(a) => format!("http://{a}"),
        None => mesh.gateway_url(),
    };
    let gw = Gateway::new(&gateway_url, &mesh.secret, o.branches)?.with_parts(parts.clone());
    let t_start = now_secs();
    let measure_from = t_start + o.warmup;
    let measure_to = measure_from + o.duration;
    eprintln!(
        "loadgen: mesh {} up; {} callers through the gateway for {}+{} s",
        mesh.run, o.callers, o.warmup, o.duration
    );
    let load = run::closed(
        gw,
        o.callers,
        Duration::from_secs_f64(o.warmup),
        Duration::from_secs_f64(o.duration),
    )
    .await;
    sampling.store(false, Ordering::SeqCst);
    let (max_rss, cpu) = sampler.await?;

    // Let the chains under way finish (or stop moving).
    let mut chains = Chains::default();
    let settle_until = Instant::now() + Duration::from_secs(o.settle);
    let mut last_move = Instant::now();
    while Instant::now() < settle_until && last_move.elapsed() < Duration::from_secs(10) {
        match tokio::time::timeout(Duration::from_millis(500), sub.rx.recv()).await {
            Ok(Some(a)) => {
                last_move = Instant::now();
                chains.add(
                    &a.envelope.routing_key,
                    &a.envelope.subject,
                    occurred_at(&a.envelope),
                );
            }
            Ok(None) => break,
            Err(_) => {
                let submitted = chains.steps.values().filter(|s| s[0].is_some()).count();
                let done = chains.steps.values().filter(|s| s[3].is_some()).count() as u64
                    + chains.ended.values().sum::<u64>();
                if submitted as u64 == done && submitted > 0 {
                    break;
                }
            }
        }
    }
    let t_end = now_secs();

    let window = o.duration;
    let planned_in_window = chains.count(3, measure_from, measure_to);
    let submitted_in_window = chains.count(0, measure_from, measure_to);
    let planned_total = chains.steps.values().filter(|s| s[3].is_some()).count();
    let submitted_total = chains.steps.values().filter(|s| s[0].is_some()).count();
    let mut hops = serde_json::Map::new();
    for (i, name) in [
        "submitted_to_approved",
        "approved_to_reserved",
        "reserved_to_planned",
    ]
    .iter()
    .enumerate()
    {
        let mut h = histogram();
        for s in chains.steps.values() {
            if let (Some(a), Some(b)) = (s[i], s[i + 1])
                && s[0].is_some_and(|t| t >= measure_from && t < measure_to)
            {
                let _ = h.record((((b - a) * 1e6).max(1.0)) as u64);
            }
        }
        hops.insert((*name).into(), latency_json(&h));
    }
    let mut e2e = histogram();
    for s in chains.steps.values() {
        if let (Some(a), Some(b)) = (s[0], s[3])
            && a >= measure_from
            && a < measure_to
        {
            let _ = e2e.record((((b - a) * 1e6).max(1.0)) as u64);
        }
    }
    // The last lifecycle of the requests submitted in the window: how long the departments
    // needed to work off what the front door took in.
    let last_planned = chains
        .steps
        .values()
        .filter(|s| s[0].is_some_and(|t| t >= measure_from && t < measure_to))
        .filter_map(|s| s[3])
        .fold(0.0f64, f64::max);
    Ok(json!({
        "callers": o.callers,
        "parts": parts.len(),
        "window_s": window,
        "submit": load.json(),
        "submitted_in_window": submitted_in_window,
        "planned_in_window": planned_in_window,
        "lifecycles_per_s": round(planned_in_window as f64 / window, 1),
        "submitted_per_s": round(submitted_in_window as f64 / window, 1),
        "submitted_total": submitted_total,
        "planned_total": planned_total,
        "ended_otherwise": chains.ended,
        "backlog_drained_s_after_load": if last_planned > 0.0 { Some(round(last_planned - measure_to, 1)) } else { None },
        "observed_until_s_after_load": round(t_end - measure_to, 1),
        "hop_lag_ms": hops,
        "submitted_to_planned_ms": latency_json(&e2e),
        "rss_mib_idle": idle_rss,
        "rss_mib_max": max_rss,
        "cpu_pct": cpu,
    }))
}
