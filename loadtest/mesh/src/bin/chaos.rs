//! `chaos` (`make chaos`, issue 19): the whole mesh on this machine (loopback only) under
//! open-model load through the gateway, the demo operator playing the people, while in turn the
//! broker line is cut, each service's database line is cut, services are SIGKILLed and started
//! again, Redis is cut, and every service is replaced one after the other (a rolling update).
//! After each scenario the ledger checker accounts for every submission the generator saw
//! accepted. Writes a markdown report (loadtest/results/chaos-<date>.md), prints
//! `chaos: N scenarios, lost L, duplicated D, failed-during-roll F, unbalanced U` and exits
//! non-zero when anything was lost or duplicated, a book did not balance or a scenario failed.

// The service boundary of .clippy.toml is for services on the kit. The chaos suite supervises
// the services from outside: it owns its runtime and waits for Ctrl-C itself.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aftersales_mesh::chaos::{self, Callers, Ctx, Figures, Plan, Scenario};
use aftersales_mesh::ledger::{Accounting, Submission};
use aftersales_mesh::{Mesh, MeshOptions, Operator, OperatorConfig};
use anyhow::Context as _;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "chaos",
    about = "The chaos suite: the whole mesh under load while its lines and processes fail"
)]
struct Cli {
    /// Each scenario's time: steady load, the fault, load after the restore, the wait for its
    /// requests to close and the ledger check.
    #[arg(long, default_value_t = 3.0)]
    minutes_per_scenario: f64,
    /// Submissions per second through the gateway (open model).
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// The report (default loadtest/results/chaos-<date>.md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Which scenarios, in this order (broker, databases, kill, redis, roll).
    #[arg(long, default_value = "broker,databases,kill,redis,roll")]
    scenarios: String,
    /// Database lines cut one after the other (serial), all at once (together), or serial when
    /// the scenario's time allows it (auto).
    #[arg(long, default_value = "auto")]
    database_cuts: String,
    /// Seconds of steady load before each fault.
    #[arg(long, default_value_t = 20)]
    steady_seconds: u64,
    /// Seconds of load after each restore.
    #[arg(long, default_value_t = 30)]
    after_seconds: u64,
    /// The whole run's bound: a scenario that would end past it is not started.
    #[arg(long, default_value_t = 20.0)]
    max_minutes: f64,
    /// The services' log level.
    #[arg(long, default_value = "warn")]
    log_level: String,
    /// Keep the run's databases afterwards (a post-mortem).
    #[arg(long)]
    keep_databases: bool,
}

struct Machine {
    cores: usize,
    memory: String,
    kernel: String,
    load_at_start: String,
    rustc: String,
    postgres: String,
}

fn first_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into())
}

async fn machine() -> Machine {
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
        );
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    Machine {
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory,
        kernel: first_line("/proc/sys/kernel/osrelease"),
        load_at_start: first_line("/proc/loadavg"),
        rustc,
        postgres: chaos::postgres_version(&aftersales_platform::testing::admin_database_url())
            .await,
    }
}

struct Run {
    command: String,
    started: chrono::DateTime<chrono::Utc>,
    cli_rate: f64,
    minutes: f64,
    databases_together: bool,
    machine: Machine,
    scenarios: Vec<Figures>,
    whole: Option<Result<Accounting, String>>,
    whole_notes: Vec<String>,
    finished: bool,
    startup: Duration,
    problems: Vec<String>,
}

impl Run {
    fn lost(&self) -> usize {
        match &self.whole {
            Some(Ok(a)) => a.lost.len(),
            _ => self.scenarios.iter().map(Figures::lost).sum(),
        }
    }

    fn duplicated(&self) -> usize {
        match &self.whole {
            Some(Ok(a)) => a.duplicated.len(),
            _ => self.scenarios.iter().map(Figures::duplicated).sum(),
        }
    }

    fn unbalanced(&self) -> usize {
        let last = self
            .scenarios
            .iter()
            .map(Figures::unbalanced)
            .sum::<usize>();
        match &self.whole {
            Some(Ok(a)) => a.unbalanced.len().max(last),
            _ => last,
        }
    }

    fn failed_during_roll(&self) -> usize {
        self.scenarios
            .iter()
            .filter(|f| f.scenario == Scenario::Roll)
            .map(Figures::failed)
            .sum()
    }

    fn ran(&self) -> usize {
        self.scenarios
            .iter()
            .filter(|f| f.error.is_none() && f.accounting.is_some())
            .count()
    }

    fn summary(&self) -> String {
        format!(
            "chaos: {} scenarios, lost {}, duplicated {}, failed-during-roll {}, unbalanced {}",
            self.ran(),
            self.lost(),
            self.duplicated(),
            self.failed_during_roll(),
            self.unbalanced()
        )
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "# Chaos run {}{}\n",
            self.started.format("%Y-%m-%dT%H:%MZ"),
            if self.finished {
                ""
            } else {
                " (incomplete: still running or interrupted)"
            }
        );
        let _ = writeln!(s, "`{}`\n", self.summary());
        let _ = writeln!(
            s,
            "Command (from the repository root):\n\n```\n{}\n```\n",
            self.command
        );
        let _ = writeln!(
            s,
            "`make chaos ARGS=\"…\"` builds every binary (`cargo build --bins`) and runs the same \
             (scripts/chaos.sh).\n"
        );
        let _ = writeln!(
            s,
            "Machine: {} cores, {}, Linux {}; load average at the start {}; {}; {}. Everything \
             (the eight services, Postgres, RabbitMQ, Redis, the fault proxies, the load \
             generator and the demo operator) on this one machine, loopback only.\n",
            m.cores, m.memory, m.kernel, m.load_at_start, m.rustc, m.postgres
        );
        let _ = writeln!(
            s,
            "Set-up: `Mesh::start` with `MeshOptions::fast()` and `infra_proxies: true` (every \
             service behind its own TCP proxy, the way a Kubernetes Service fronts pods; each \
             service's Postgres line, the RabbitMQ line and the Redis line behind fault \
             proxies), the reference data seeded, the demo operator (`OperatorConfig::fast`) \
             playing the people through the gateway. Started in {:.0} s. Load: {} submissions/s \
             (open model: sent on a clock, each on its own task, whatever the earlier ones are \
             doing) by the agents of SH01, BJ02 and GZ03, mix per 20: 13 power-board replacements \
             (in stock), 4 panel replacements (50 in stock, then purchase orders), 2 \
             remote-control replacements (never in stock: the shortage path), 1 power-board \
             repair (a technician's visit). Each scenario: {} minutes at most \
             — steady load, the fault, restore, load on for a while, load stops, wait until its \
             requests are closed (or its time is up), then the ledger check. Database lines cut \
             {}.\n",
            self.startup.as_secs_f64(),
            self.cli_rate,
            self.minutes,
            if self.databases_together {
                "all at once"
            } else {
                "one service after the other"
            }
        );
        let _ = writeln!(
            s,
            "| # | scenario | accepted | failed requests (by code) | calls > 10 s | lost | duplicated | in flight at the check | books | time to recover (probe / backlog) |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for f in &self.scenarios {
            if f.calls.is_empty() {
                let _ = writeln!(
                    s,
                    "| {} | {} | not run: {} | | | | | | | |",
                    f.number,
                    f.scenario.name(),
                    f.error.as_deref().unwrap_or("")
                );
                continue;
            }
            let books = match &f.accounting {
                Some(a) if a.unbalanced.is_empty() => "balanced".to_owned(),
                Some(a) => format!("{} unbalanced", a.unbalanced.len()),
                None => "n/a".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                f.number,
                f.scenario.name(),
                f.accepted(),
                chaos::failures_text(&f.calls),
                f.hung(),
                f.lost(),
                f.duplicated(),
                f.in_flight_text(),
                books,
                f.recovery_text(),
                f.drain_text()
            );
        }
        match &self.whole {
            Some(Ok(a)) => {
                let _ = writeln!(
                    s,
                    "| all | whole run, checked at the end | {} | | | {} | {} | {} | {} | |",
                    a.accepted,
                    a.lost.len(),
                    a.duplicated.len(),
                    a.in_flight,
                    if a.unbalanced.is_empty() {
                        format!("{} rows balanced", a.stock_rows)
                    } else {
                        format!("{} unbalanced", a.unbalanced.len())
                    }
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(
                    s,
                    "| all | whole run | ledger check failed: {e} | | | | | | | |"
                );
            }
            None => {}
        }
        s.push('\n');
        for n in &self.whole_notes {
            let _ = writeln!(s, "- whole run: {n}\n");
        }
        for p in &self.problems {
            let _ = writeln!(s, "**Problem:** {p}\n");
        }
        let _ = writeln!(
            s,
            "Definitions:\n\
             - *accepted*: the gateway answered 2xx with a request number — the load generator's \
             own record; each submission carries a unique product serial (its marker in intake's \
             data).\n\
             - *failed requests*: any other answer, by HTTP status, or `no answer` (none within \
             {} s), `connect error`, `transport error`. Calls > 10 s counts every call answered \
             after more than 10 s or never.\n\
             - *lost*: accepted, yet no request with its marker in intake's database; \
             *duplicated*: more than one request with its marker, or stored under another \
             number than the one answered; *in flight*: found once, not yet closed or cancelled \
             when the check ran; *books*: on hand = the ledger's sum = its last balance, and \
             reserved = what open reservations hold, per part and zone (the ledger checker, \
             `aftersales_mesh::ledger::check`).\n\
             - *time to recover, probe*: from the restore (the end of the last fault window) \
             until a request submitted after it has the warehouse's answer in its timeline \
             (`warehouse.reservation.confirmed`, or `warehouse.stock.shortage` should the part \
             run out): submit → claim approved by the policy → reserved. A probe refused or not \
             there within 30 s is followed by another.\n\
             - *time to recover, backlog*: from the restore until no request accepted before it \
             is still `submitted`, `under_review` or `approved` (the backlog of the automatic \
             chain drained), read from intake's database every 0.5 s.\n\
             - Each scenario's check covers its own submissions; the *whole run* row checks \
             every submission of the run once more at the end.\n",
            chaos::GIVE_UP.as_secs()
        );
        for f in &self.scenarios {
            s.push_str(&f.markdown());
        }
        s
    }
}

fn write_report(path: &Path, run: &Run) {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(path, run.markdown()) {
        eprintln!("chaos: cannot write {}: {e}", path.display());
    }
}

async fn scenarios(
    mesh: &mut Mesh,
    list: &[Scenario],
    plan: &Plan,
    ctx: &Ctx<'_>,
    run: &mut Run,
    out: &Path,
) {
    for (i, s) in list.iter().enumerate() {
        let n = i + 1;
        let left = plan.hard_deadline.saturating_duration_since(Instant::now());
        // Room for the final check and the stop after the last scenario.
        let needs = plan.needs(*s) + Duration::from_secs(45);
        if left < needs {
            let why = format!(
                "not enough time left in the run's bound ({:.0} s left, about {:.0} s needed)",
                left.as_secs_f64(),
                needs.as_secs_f64()
            );
            eprintln!("chaos: {n}. {}: {why}", s.name());
            run.scenarios.push(Figures::skipped(n, *s, why));
            continue;
        }
        let f = chaos::run_scenario(mesh, n, *s, plan, ctx).await;
        run.scenarios.push(f);
        write_report(out, run);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let t0 = Instant::now();
    let started = chrono::Utc::now();
    anyhow::ensure!(
        cli.rate > 0.0 && cli.rate <= 200.0,
        "--rate must be in (0, 200]"
    );
    anyhow::ensure!(
        cli.minutes_per_scenario > 0.0,
        "--minutes-per-scenario must be positive"
    );
    let list = cli
        .scenarios
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| Scenario::parse(s).with_context(|| format!("--scenarios: no scenario {s}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = cli.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "loadtest/results/chaos-{}.md",
            started.format("%Y-%m-%d")
        ))
    });
    let budget = Duration::from_secs_f64(cli.minutes_per_scenario * 60.0);
    let steady = Duration::from_secs(cli.steady_seconds);
    let after = Duration::from_secs(cli.after_seconds);
    let serial_needs =
        steady + Scenario::Databases.fault_length(false) + after + Duration::from_secs(20);
    let databases_together = match cli.database_cuts.as_str() {
        "serial" => false,
        "together" => true,
        "auto" => budget < serial_needs,
        other => anyhow::bail!("--database-cuts {other}: serial, together or auto"),
    };
    let plan = Plan {
        rate: cli.rate,
        steady,
        after,
        budget,
        databases_together,
        hard_deadline: t0 + Duration::from_secs_f64(cli.max_minutes * 60.0),
    };
    let command = std::iter::once("target/debug/chaos".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let mut run = Run {
        command,
        started,
        cli_rate: cli.rate,
        minutes: cli.minutes_per_scenario,
        databases_together,
        machine: machine().await,
        scenarios: Vec::new(),
        whole: None,
        whole_notes: Vec::new(),
        finished: false,
        startup: Duration::ZERO,
        problems: Vec::new(),
    };

    eprintln!("chaos: starting the mesh (fast, infra behind fault proxies)");
    let mut mesh = Mesh::start(MeshOptions {
        infra_proxies: true,
        log_level: cli.log_level.clone(),
        keep_databases: cli.keep_databases,
        ..MeshOptions::fast()
    })
    .await?;
    if let Err(e) = mesh.seed().await {
        mesh.stop().await;
        return Err(e.context("seed the reference data"));
    }
    run.startup = t0.elapsed();
    eprintln!(
        "chaos: mesh {} ready in {:.0} s, gateway {}",
        mesh.run,
        run.startup.as_secs_f64(),
        mesh.gateway_url()
    );
    let operator = Arc::new(Operator::new(OperatorConfig::fast(
        &mesh.gateway_url(),
        &mesh.secret,
    ))?);
    let (stop_operator, rx) = tokio::sync::watch::channel(false);
    let operator_task = tokio::spawn(operator.clone().run(rx));
    let callers = Callers::new(&mesh);
    let intake_url = mesh.database_url("intake").context("no intake database")?;
    let warehouse_url = mesh
        .database_url("warehouse")
        .context("no warehouse database")?;
    let ctx = Ctx {
        callers: &callers,
        operator: &operator,
        intake_url: intake_url.clone(),
        warehouse_url: warehouse_url.clone(),
    };
    write_report(&out, &run);

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupted = tokio::select! {
        _ = scenarios(&mut mesh, &list, &plan, &ctx, &mut run, &out) => false,
        _ = tokio::signal::ctrl_c() => true,
        _ = term.recv() => true,
    };
    if interrupted {
        run.problems.push(
            "interrupted (SIGINT/SIGTERM): the scenarios after the last one reported did not run"
                .into(),
        );
    }

    // Every submission of the run, checked once more at the end.
    let all: Vec<Submission> = run
        .scenarios
        .iter()
        .flat_map(|f| f.calls.iter().map(chaos::Call::submission))
        .collect();
    if !all.is_empty() {
        let (result, retries) = chaos::check_retrying(&all, &intake_url, &warehouse_url).await;
        run.whole = Some(result);
        run.whole_notes = retries;
    }
    for f in &run.scenarios {
        if let Some(e) = &f.error {
            run.problems.push(format!(
                "scenario {} ({}): {e}",
                f.number,
                f.scenario.name()
            ));
        }
    }
    let _ = stop_operator.send(true);
    let _ = operator_task.await;
    mesh.stop().await;
    run.finished = !interrupted;
    write_report(&out, &run);
    let bad = run.lost() > 0
        || run.duplicated() > 0
        || run.unbalanced() > 0
        || !run.problems.is_empty()
        || run.ran() < list.len();
    eprintln!(
        "chaos: report {} ({:.1} min in all)",
        out.display(),
        t0.elapsed().as_secs_f64() / 60.0
    );
    println!("{}", run.summary());
    Ok(if bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
