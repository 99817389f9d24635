//! Feedback's operations, each one transaction, taking parsed commands: return visits
//! ([`visits`]: scheduled from events, cancelled with their request, called, listed), surveys
//! ([`surveys`]), complaints ([`complaints`]: opened, escalated by hand and by deadline,
//! resolved), the figures ([`reports`]: KPIs, top returned parts, fill rate, technicians, quality
//! archive), the star-level self-assessment ([`assessment`]) and the read model's rebuild
//! ([`readmodel`]). "Now" is always the kit's [`Clock`].
//!
//! Every event feedback consumes or produces goes into its event log and through the read model's
//! projection in the same transaction as its effect ([`Feedback::record`], [`Feedback::emit`]).

pub mod assessment;
pub mod complaints;
pub mod readmodel;
pub mod reports;
pub mod surveys;
pub mod visits;

use std::fmt::Debug;
use std::sync::Arc;

use aftersales_platform::auth::Caller;
use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::common::v1::EventEnvelope;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::Policy;
use crate::error::Error;
use crate::projection;
use crate::store::{commands, log, readmodel as rm};

/// What the operations need.
#[derive(Clone)]
pub struct Feedback {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub policy: Arc<Policy>,
    pub calendar: Calendar,
    /// The department's local offset: due dates and periods are local.
    pub offset: FixedOffset,
    /// The one "now" of every deadline, decision and scan.
    pub clock: Clock,
    /// The return-visit and complaint deadlines' SLA clocks ([`crate::deadlines`]).
    pub clocks: aftersales_platform::sla::Clocks,
}

/// Microsecond precision, as Postgres keeps it, so an answer equals a later read.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A new identifier with a prefix (`V-`, `S-`, `C-`): time-ordered, unique.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple()).to_ascii_uppercase()
}

impl Feedback {
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.offset).date_naive()
    }

    /// Logs an envelope and projects it into the read model; `false` when it was logged already
    /// (nothing is projected twice).
    pub async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        env: &EventEnvelope,
    ) -> Result<bool, Error> {
        let event_id = uuid::Uuid::parse_str(&env.event_id)
            .map_err(|_| Error::invalid("event_id", "is not a UUID"))?;
        let logged = log::Logged {
            event_id,
            routing_key: &env.routing_key,
            producer: &env.producer,
            subject: &env.subject,
            request_no: projection::request_of(env),
            branch: &env.branch,
            sequence: env.sequence,
            occurred_at: projection::occurred(env),
            envelope: env.encode_to_vec(),
        };
        if !log::append(conn, &logged).await? {
            return Ok(false);
        }
        self.project(conn, env).await?;
        Ok(true)
    }

    /// The read model's part of an envelope.
    pub async fn project<C: ConnectionTrait>(
        &self,
        conn: &C,
        env: &EventEnvelope,
    ) -> Result<(), Error> {
        for fact in projection::facts(env, &self.policy, &self.calendar) {
            rm::apply(conn, &fact, &self.calendar).await?;
        }
        Ok(())
    }

    /// Stages one of feedback's events in `conn`'s transaction and records it in the event log
    /// (its own events count in its KPIs as much as the others').
    pub async fn emit<E: Event, C: ConnectionTrait>(
        &self,
        conn: &C,
        meta: EventMeta<'_>,
        payload: &E,
    ) -> Result<(), Error> {
        let env = self.outbox.stage(conn, meta, payload).await?;
        self.record(conn, &env).await?;
        Ok(())
    }

    /// Records an idempotency key in `conn`'s transaction: `None` for a new command, the target
    /// of the first use for a repeat of the same command; the key reused for another command is
    /// ALREADY_EXISTS.
    pub async fn claim_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        key: &str,
        kind: &str,
        command: &impl Debug,
        target: &str,
    ) -> Result<Option<String>, Error> {
        let fingerprint = commands::fingerprint(&format!("{command:?}"));
        match commands::record(conn, key, kind, &fingerprint, target).await? {
            None => Ok(None),
            Some(first) if first.kind == kind && first.fingerprint == fingerprint => {
                Ok(Some(first.target))
            }
            Some(_) => Err(Error::AlreadyExists(format!(
                "idempotency_key {key:?} was used for another command"
            ))),
        }
    }
}

/// The meta of an event about `request_no` (or, about no request, `subject`).
pub fn meta<'a>(request_no: &'a str, subject: &'a str, branch: &'a str) -> EventMeta<'a> {
    if request_no.is_empty() {
        EventMeta {
            subject,
            branch,
            request_no: "",
        }
    } else {
        EventMeta::request(request_no, branch)
    }
}

/// Whether the caller may see something of `branch`.
pub fn sees(caller: &Caller, branch: &str) -> bool {
    caller.sees_branch(branch)
}

/// The branch a caller asks a figure for: its own when it has one (another branch's is not
/// found), any (or all, empty) for head office.
pub fn figure_branch(caller: &Caller, asked: Option<&str>) -> Result<String, Error> {
    match (caller.branch(), asked) {
        (Some(own), None) => Ok(own.to_owned()),
        (Some(own), Some(a)) if a == own => Ok(own.to_owned()),
        (Some(_), Some(a)) => Err(Error::not_found(format!("branch {a}"))),
        (None, a) => Ok(a.unwrap_or("").to_owned()),
    }
}
