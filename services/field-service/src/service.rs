//! The field-service operations, each one transaction, grouped by area: [`opening`] (work
//! orders from approvals, by hand and as survey follow-ups; cancellation; delivered parts — the
//! event-driven ones run in the handler's transaction), [`scheduling`] (suggestions, holds,
//! bookings, dispatch), [`board`] (status moves, reads, the board), [`paid`] (quotation and
//! change log), [`completion`] (completion, exit inspection, rework), [`technicians`],
//! [`tools`], and the arrival deadline's clock and scan ([`sla`]). Each takes a command already parsed into
//! domain types (by the gRPC layer or an event handler) and stages its events with the change.
//!
//! Concurrency: every change of a work order locks its row first (`work_orders::lock`); a
//! booking then locks the technicians it considers, in id order, so capacity is counted under
//! the lock and two bookings never deadlock; the appointment table's unique indexes are the last
//! wall. Everything that decides what the service holds for a request (approval, cancellation,
//! delivery, follow-up) first takes the request's advisory lock ([`crate::store::lock_request`]).

use std::sync::Arc;

use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::record_request_no;
use aftersales_platform::outbox::Outbox;
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

pub mod board;
pub mod completion;
pub mod holds;
pub mod opening;
pub mod paid;
pub mod publish;
pub mod scheduling;
pub mod sla;
pub mod technicians;
pub mod tools;

pub use holds::Holds;

use crate::domain::slots::Windows;
use crate::domain::{Policy, WorkOrder};
use crate::error::Error;
use crate::store::idempotency::{self, Seen};
use crate::store::work_orders;

/// What the operations need.
#[derive(Clone)]
pub struct FieldService {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub policy: Arc<Policy>,
    pub calendar: Calendar,
    /// The department's local time (dates, work order numbers).
    pub offset: FixedOffset,
    pub windows: Windows,
    /// Every "now" of an operation, deadline and scan (tests move it).
    pub clock: Clock,
    pub holds: Holds,
    /// The arrival deadlines' SLA clocks (their inputs, re-derivable: [`sla`]).
    pub clocks: aftersales_platform::sla::Clocks,
}

/// Who is asking, as far as the rules care: their subject, the only branch they see (`None`:
/// head office) and, for a technician who is nothing more, their own technician id: they see
/// and move only their own work orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub branch: Option<String>,
    pub technician: Option<String>,
}

impl Actor {
    /// The system itself (event handlers, scans, tools).
    pub fn system() -> Actor {
        Actor {
            subject: "system".into(),
            branch: None,
            technician: None,
        }
    }

    pub fn sees(&self, wo: &WorkOrder) -> bool {
        self.branch.as_deref().is_none_or(|b| b == wo.branch)
            && self
                .technician
                .as_deref()
                .is_none_or(|t| t == wo.technician_id)
    }

    pub fn sees_branch(&self, branch: &str) -> bool {
        self.branch.as_deref().is_none_or(|b| b == branch)
    }
}

/// An idempotency key and the request it came with (its encoding), for a replay.
#[derive(Debug, Clone, Default)]
pub struct Keyed {
    pub key: Option<String>,
    pub request: Vec<u8>,
}

impl FieldService {
    /// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// A work order the actor may see; another branch's (or another technician's) is NOT_FOUND,
    /// exactly as if it did not exist.
    fn visible(actor: &Actor, no: &str, wo: Option<WorkOrder>) -> Result<WorkOrder, Error> {
        match wo {
            Some(w) if actor.sees(&w) => {
                // The RPC's span joins the request's traces (DESIGN §9).
                if !w.request_no.is_empty() {
                    record_request_no(&w.request_no);
                }
                Ok(w)
            }
            _ => Err(Error::not_found(format!("work order {no}"))),
        }
    }

    pub(crate) async fn lock_visible(
        &self,
        txn: &DatabaseTransaction,
        actor: &Actor,
        no: &str,
    ) -> Result<WorkOrder, Error> {
        Self::visible(actor, no, work_orders::lock(txn, no).await?)
    }

    pub async fn get(&self, actor: &Actor, no: &str) -> Result<WorkOrder, Error> {
        Self::visible(actor, no, work_orders::get(&self.db, no).await?)
    }

    /// What an idempotency key holds, locked until the transaction ends: `Some(result)` for a
    /// replay of the same request; ALREADY_EXISTS for another request under the key.
    pub(crate) async fn replayed(
        &self,
        txn: &DatabaseTransaction,
        operation: &str,
        keyed: &Keyed,
    ) -> Result<Option<String>, Error> {
        let Some(key) = &keyed.key else {
            return Ok(None);
        };
        match idempotency::check(txn, operation, key, &keyed.request).await? {
            Seen::New => Ok(None),
            Seen::Replay(result) => Ok(Some(result)),
            Seen::Conflict => Err(Error::AlreadyExists(format!(
                "idempotency_key {key} was used for another {operation} request"
            ))),
        }
    }

    pub(crate) async fn remember(
        &self,
        txn: &DatabaseTransaction,
        operation: &str,
        keyed: &Keyed,
        result: &str,
    ) -> Result<(), Error> {
        if let Some(key) = &keyed.key {
            idempotency::record(txn, operation, key, &keyed.request, result).await?;
        }
        Ok(())
    }
}

/// `t` truncated to microseconds.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::DurationRound;
    t.duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(t)
}
