//! SLA clocks that can be recomputed: one model of a deadline for every service that owns one
//! (review deadlines, arrival deadlines, return-visit and complaint deadlines, PO promised dates).
//!
//! - [`model`]: the clock as a pure function: its marks (start, pauses and resumes, stop, each
//!   dated by the `occurred_at` of the request's own event), its budget under the policy version,
//!   and the working calendar give the deadline and the working time used, whatever order the
//!   marks arrived in.
//! - [`store`]: the inputs and what they derived, kept in the owning service's database (the
//!   component `sla`, listed after the platform's migrations), the log of moved deadlines and the
//!   calendars by fingerprint.
//! - [`Clocks`]: what a service uses: [`Clocks::record`] / [`Clocks::mark`] add marks in the
//!   service's transaction and re-derive (a late or out-of-order event re-derives the same way as
//!   any other); [`Clocks::recompute`] re-derives every open clock with the calendar and policy
//!   configured now and hands each one that changed to its [`Owner`], which updates its own copy
//!   (its due column), announces the move and withdraws a breach that no longer holds. A breach
//!   that now holds is the owner's scanner's to announce, once, as any other.
//! - At start-up a service calls [`Clocks::recompute_stale`]: the clocks derived with another
//!   calendar or policy version than the configured ones are re-derived before it takes work.
//!   By hand: `<service> sla recompute [--since DATE]` ([`SlaCommand`]).
//!
//! A closed (stopped) clock is never re-derived: the deadline a request met or missed stays.

pub mod model;
pub mod store;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

use crate::calendar::{Calendar, CalendarError, CalendarSettings};

pub use model::{Budget, Derived, Mark, MarkKind, Marks, State, derive};
pub use store::{Change, MIGRATIONS, StoredClock};

/// What a clock is the deadline of.
#[derive(Debug, Clone, Copy)]
pub struct ClockRef<'a> {
    /// `review`, `arrival`, `return_visit`, `complaint_response`, `promised_date`.
    pub kind: &'a str,
    /// The claim's request, the work order, the visit, the complaint, the PO.
    pub subject: &'a str,
    pub request_no: &'a str,
    pub branch: &'a str,
}

impl ClockRef<'_> {
    pub fn id(&self) -> String {
        clock_id(self.kind, self.subject)
    }
}

/// The id of the `kind` clock of `subject`.
pub fn clock_id(kind: &str, subject: &str) -> String {
    format!("{kind}:{subject}")
}

/// A clock re-derived: as it is now (saved), and what it derived before.
#[derive(Debug, Clone)]
pub struct Rederived {
    pub clock: StoredClock,
    /// `None` for a clock that did not exist before.
    pub before: Option<Derived>,
}

impl Rederived {
    pub fn after(&self) -> &Derived {
        &self.clock.derived
    }

    pub fn old_due(&self) -> Option<DateTime<Utc>> {
        self.before.as_ref().and_then(|d| d.due_at)
    }

    pub fn new_due(&self) -> Option<DateTime<Utc>> {
        self.clock.derived.due_at
    }

    /// A deadline that was set moved to another one: worth announcing. (Starting, pausing and
    /// resuming set or clear a deadline; the service announces those as what they are.)
    pub fn moved(&self) -> bool {
        matches!((self.old_due(), self.new_due()), (Some(a), Some(b)) if a != b)
    }
}

/// A moved deadline or a withdrawn breach, as an event tells it (no protobuf in a service's
/// domain: [`Move::change`] and [`Move::withdrawal`] make the shared messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Which deadline: the clock's kind.
    pub deadline: String,
    /// Before (a withdrawal: the deadline whose breach was announced).
    pub old_due: Option<DateTime<Utc>>,
    pub new_due: Option<DateTime<Utc>>,
    pub reason: String,
    pub policy_version: String,
    /// Working time used by `at`.
    pub used: Duration,
    pub at: DateTime<Utc>,
    /// The department's local time, for the lines people read.
    pub offset: FixedOffset,
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

impl Move {
    /// "YYYY-MM-DD HH:MM" in local time; empty for none.
    pub fn local(&self, t: Option<DateTime<Utc>>) -> String {
        t.map(|t| {
            t.with_timezone(&self.offset)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
    }

    pub fn change(&self) -> crate::proto::common::v1::DeadlineChange {
        crate::proto::common::v1::DeadlineChange {
            deadline: self.deadline.clone(),
            old_due_at: self.old_due.map(timestamp),
            new_due_at: self.new_due.map(timestamp),
            reason: self.reason.clone(),
            policy_version: self.policy_version.clone(),
            changed_at: Some(timestamp(self.at)),
            used_seconds: self.used.num_seconds(),
            old_due_local: self.local(self.old_due),
            new_due_local: self.local(self.new_due),
        }
    }

    pub fn withdrawal(&self) -> crate::proto::common::v1::BreachWithdrawal {
        crate::proto::common::v1::BreachWithdrawal {
            deadline: self.deadline.clone(),
            breached_due_at: self.old_due.map(timestamp),
            new_due_at: self.new_due.map(timestamp),
            reason: self.reason.clone(),
            withdrawn_at: Some(timestamp(self.at)),
            new_due_local: self.local(self.new_due),
        }
    }
}

/// The service that owns some clocks, as a recompute needs it.
#[async_trait::async_trait]
pub trait Owner: Send + Sync {
    /// The policy version in force.
    fn policy_version(&self) -> String;

    /// The budget of `clock` under the policy in force (its stored one where the policy does not
    /// decide it, e.g. a date a person gave), read in `txn` if it depends on what the service
    /// holds (the work order's region).
    async fn budget(
        &self,
        txn: &DatabaseTransaction,
        clock: &StoredClock,
    ) -> anyhow::Result<Budget>;

    /// Brings the service's own copy of a re-derived clock in line, in `txn` (which holds the
    /// clock's row): its due column, a breach that no longer holds withdrawn, and the moved
    /// deadline announced with `reason`. The change log row is written already.
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        change: &Rederived,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()>;
}

/// Which clocks a recompute looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every open clock; with `since`, only those due at or after it (and the paused).
    Open { since: Option<DateTime<Utc>> },
    /// The open clocks derived with another calendar or policy version (start-up).
    Stale,
}

/// What a recompute did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Open clocks looked at.
    pub examined: usize,
    /// Clocks whose derived values changed (handed to the owner).
    pub changed: usize,
    /// Deadlines that moved (recorded in the change log).
    pub moved: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} open clock(s) examined, {} re-derived, {} deadline(s) moved",
            self.examined, self.changed, self.moved
        )
    }
}

/// `<service> sla …`: add it to a service's own subcommands
/// (`#[command(subcommand)] Sla(SlaCommand)`) and run it with [`Clocks::run`].
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SlaCommand {
    /// Re-derive every open deadline from its stored inputs with the calendar and policy
    /// configured now: moved deadlines are recorded and announced, breaches that no longer hold
    /// are withdrawn (the running service's relay publishes the events).
    Recompute {
        /// Only deadlines on or after this local date (YYYY-MM-DD), and the paused ones.
        #[arg(long)]
        since: Option<NaiveDate>,
    },
}

/// How many clocks one page of a recompute takes.
const PAGE: u64 = 200;

/// The service's clocks under the configured calendar.
#[derive(Debug, Clone)]
pub struct Clocks {
    calendar: Calendar,
    settings: CalendarSettings,
    fingerprint: String,
}

impl Clocks {
    pub fn new(settings: &CalendarSettings) -> Result<Self, CalendarError> {
        Ok(Self {
            calendar: settings.build()?,
            settings: settings.canonical(),
            fingerprint: settings.fingerprint(),
        })
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The configured calendar's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Opens the clock of `r` (with `budget` under `policy_version`) unless it exists, adds
    /// `marks` and re-derives it, in `conn`'s transaction. An existing clock keeps its budget.
    pub async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        r: ClockRef<'_>,
        budget: Budget,
        policy_version: &str,
        marks: impl IntoIterator<Item = Mark>,
        now: DateTime<Utc>,
    ) -> Result<Rederived, DbErr> {
        let id = r.id();
        let (clock, before) = match store::get_for_update(conn, &id).await? {
            Some(c) => {
                let before = c.derived.clone();
                (c, Some(before))
            }
            None => {
                let marks = Marks::new();
                let derived = derive(&marks, &budget, &self.calendar);
                (
                    StoredClock {
                        clock_id: id,
                        kind: r.kind.to_owned(),
                        subject: r.subject.to_owned(),
                        request_no: r.request_no.to_owned(),
                        branch: r.branch.to_owned(),
                        marks,
                        budget,
                        policy_version: policy_version.to_owned(),
                        calendar: self.fingerprint.clone(),
                        derived,
                        updated_at: now,
                    },
                    None,
                )
            }
        };
        self.rederive(conn, clock, before, marks, None, now).await
    }

    /// Adds `marks` to the clock `clock_id` and re-derives it; `None` when there is no such
    /// clock.
    pub async fn mark<C: ConnectionTrait>(
        &self,
        conn: &C,
        clock_id: &str,
        marks: impl IntoIterator<Item = Mark>,
        now: DateTime<Utc>,
    ) -> Result<Option<Rederived>, DbErr> {
        let Some(c) = store::get_for_update(conn, clock_id).await? else {
            return Ok(None);
        };
        let before = Some(c.derived.clone());
        Ok(Some(
            self.rederive(conn, c, before, marks, None, now).await?,
        ))
    }

    /// Resumes every pause of the clock that has none yet, at `at`; `None` when there is no such
    /// clock.
    pub async fn resume_open<C: ConnectionTrait>(
        &self,
        conn: &C,
        clock_id: &str,
        at: DateTime<Utc>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Rederived>, DbErr> {
        let Some(c) = store::get_for_update(conn, clock_id).await? else {
            return Ok(None);
        };
        let before = Some(c.derived.clone());
        let resumes: Vec<Mark> = c
            .marks
            .open_pauses()
            .into_iter()
            .map(|key| Mark::resume(key, at, source))
            .collect();
        Ok(Some(
            self.rederive(conn, c, before, resumes, None, now).await?,
        ))
    }

    /// The move `r` made, as an event tells it.
    pub fn describe(&self, r: &Rederived, reason: &str, now: DateTime<Utc>) -> Move {
        Move {
            deadline: r.clock.kind.clone(),
            old_due: r.old_due(),
            new_due: r.new_due(),
            reason: reason.to_owned(),
            policy_version: r.clock.policy_version.clone(),
            used: r.after().used_at(&self.calendar, now),
            at: now,
            offset: self.calendar.offset(),
        }
    }

    /// Gives the clock a new budget (a promised date the supplier moved) and re-derives it;
    /// `None` when there is no such clock.
    pub async fn rebudget<C: ConnectionTrait>(
        &self,
        conn: &C,
        clock_id: &str,
        budget: Budget,
        now: DateTime<Utc>,
    ) -> Result<Option<Rederived>, DbErr> {
        let Some(c) = store::get_for_update(conn, clock_id).await? else {
            return Ok(None);
        };
        let before = Some(c.derived.clone());
        Ok(Some(
            self.rederive(conn, c, before, [], Some(budget), now)
                .await?,
        ))
    }

    async fn rederive<C: ConnectionTrait>(
        &self,
        conn: &C,
        mut clock: StoredClock,
        before: Option<Derived>,
        marks: impl IntoIterator<Item = Mark>,
        budget: Option<Budget>,
        now: DateTime<Utc>,
    ) -> Result<Rederived, DbErr> {
        for m in marks {
            clock.marks.add(m);
        }
        if let Some(b) = budget {
            clock.budget = b;
        }
        // A live change re-derives with the calendar configured now, like a recompute would.
        clock.derived = derive(&clock.marks, &clock.budget, &self.calendar);
        clock.calendar = self.fingerprint.clone();
        clock.updated_at = now;
        store::save(conn, &clock).await?;
        Ok(Rederived { clock, before })
    }

    /// Records a moved deadline in the change log (a recompute does it by itself).
    pub async fn log_change<C: ConnectionTrait>(
        &self,
        conn: &C,
        r: &Rederived,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let c = &r.clock;
        store::record_change(
            conn,
            &Change {
                clock_id: c.clock_id.clone(),
                kind: c.kind.clone(),
                subject: c.subject.clone(),
                request_no: c.request_no.clone(),
                old_due_at: r.old_due(),
                new_due_at: r.new_due(),
                reason: reason.to_owned(),
                policy_version: c.policy_version.clone(),
                calendar: c.calendar.clone(),
                changed_at: now,
            },
        )
        .await
    }

    /// At start-up: re-derives the open clocks derived with another calendar or policy version
    /// than the configured ones.
    pub async fn recompute_stale(
        &self,
        db: &DatabaseConnection,
        owner: &dyn Owner,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        let report = self.recompute(db, owner, Scope::Stale, now).await?;
        if report.examined > 0 {
            tracing::info!(%report, calendar = %self.fingerprint, policy = %owner.policy_version(), "SLA clocks re-derived for the configured calendar and policy");
        }
        Ok(report)
    }

    /// Runs `<service> sla …`.
    pub async fn run(
        &self,
        command: SlaCommand,
        db: &DatabaseConnection,
        owner: &dyn Owner,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        match command {
            SlaCommand::Recompute { since } => {
                let since = since.map(|d| self.calendar.start_of_day(d));
                self.recompute(db, owner, Scope::Open { since }, now).await
            }
        }
    }

    /// Re-derives the clocks of `scope`, one transaction each; those whose derived values
    /// changed go to `owner`.
    pub async fn recompute(
        &self,
        db: &DatabaseConnection,
        owner: &dyn Owner,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        store::remember_calendar(db, &self.fingerprint, &self.settings, now).await?;
        let policy = owner.policy_version();
        let mut report = Report::default();
        let mut after = String::new();
        loop {
            let ids = match scope {
                Scope::Open { since } => store::open_ids(db, since, &after, PAGE).await?,
                Scope::Stale => {
                    store::stale_ids(db, &self.fingerprint, &policy, &after, PAGE).await?
                }
            };
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for id in ids {
                let txn = db.begin().await?;
                let outcome = self
                    .recompute_one(&txn, owner, &id, &policy, scope, now)
                    .await?;
                txn.commit().await?;
                if let Some((changed, moved)) = outcome {
                    report.examined += 1;
                    report.changed += usize::from(changed);
                    report.moved += usize::from(moved);
                }
            }
            after = last;
        }
        Ok(report)
    }

    /// One clock: `None` when it was not looked at (gone, closed, or no longer stale), else
    /// whether it changed and whether its deadline moved.
    async fn recompute_one(
        &self,
        txn: &DatabaseTransaction,
        owner: &dyn Owner,
        id: &str,
        policy: &str,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(bool, bool)>> {
        let Some(mut c) = store::get_for_update(txn, id).await? else {
            return Ok(None);
        };
        let stale = c.calendar != self.fingerprint || c.policy_version != policy;
        if !c.derived.is_open() || (scope == Scope::Stale && !stale) {
            return Ok(None);
        }
        let budget = owner.budget(txn, &c).await?;
        let derived = derive(&c.marks, &budget, &self.calendar);
        if !stale && derived == c.derived && budget == c.budget {
            return Ok(Some((false, false)));
        }
        let reason = self.reason(txn, &c, policy).await?;
        let before = std::mem::replace(&mut c.derived, derived);
        let changed = before != c.derived;
        c.budget = budget;
        c.calendar = self.fingerprint.clone();
        c.policy_version = policy.to_owned();
        c.updated_at = now;
        store::save(txn, &c).await?;
        let r = Rederived {
            clock: c,
            before: Some(before),
        };
        let moved = r.old_due() != r.new_due();
        if moved {
            self.log_change(txn, &r, &reason, now).await?;
        }
        if changed {
            owner.apply(txn, &r, &reason, now).await?;
            tracing::info!(clock = %r.clock.clock_id, old_due = ?r.old_due(), new_due = ?r.new_due(), %reason, "SLA clock re-derived");
        }
        Ok(Some((changed, moved)))
    }

    /// Why `c` is re-derived, in words: what changed in the calendar, the policy version.
    async fn reason<C: ConnectionTrait>(
        &self,
        conn: &C,
        c: &StoredClock,
        policy: &str,
    ) -> Result<String, DbErr> {
        let mut parts = Vec::new();
        if c.calendar != self.fingerprint {
            let what = match store::calendar(conn, &c.calendar).await? {
                Some(old) => self.settings.describe_change_from(&old),
                None => String::new(),
            };
            parts.push(if what.is_empty() {
                "the working calendar changed".to_owned()
            } else {
                format!("calendar: {what}")
            });
        }
        if c.policy_version != policy {
            parts.push(format!("policy {} → {policy}", c.policy_version));
        }
        Ok(if parts.is_empty() {
            "recomputed".to_owned()
        } else {
            parts.join("; ")
        })
    }
}
