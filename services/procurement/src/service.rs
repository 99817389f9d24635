//! Procurement's operations, each one transaction (or the event handler's), grouped by area:
//! the supplier register and scorecard ([`suppliers`]), quotes and their comparison
//! ([`quotes`]), purchase orders a person raises, cancels or re-dates ([`orders`]), what the
//! warehouse's events set in motion — shortages and low stock bought, cancelled requests taken
//! off ([`sourcing`]), receipts advancing POs and scoring suppliers ([`receipts`]) — the
//! scanners ([`scans`]) and the cost report ([`cost`]). Each takes a command already parsed into
//! domain types; the events they stage are the only protobuf they build (through
//! [`crate::wire`]).
//!
//! Every state change and its event commit together (the outbox, in the same transaction). Locks
//! are taken in the order [`crate::store`] gives, so concurrent handlers and calls wait for each
//! other instead of deadlocking.

use std::sync::Arc;

use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::{EventMeta, Outbox};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub mod cost;
pub mod orders;
pub mod promised;
pub mod quotes;
pub mod receipts;
pub mod scans;
pub mod sourcing;
pub mod suppliers;

pub use cost::CostQuery;
pub use orders::{CancelPo, CreatePo, PoLineInput, PoQuery, PoView, RevisePromisedDate};
pub use quotes::{CompareQuotes, SubmitQuote};
pub use sourcing::{CancelOutcome, Cancellation, Shortage, ShortageLine, StockLow};
pub use suppliers::{RegisterSupplier, SetStatus, SupplierQuery};

use crate::domain::Policy;
use crate::error::Error;
use crate::store::demands;

/// What the operations need.
#[derive(Clone)]
pub struct Procurement {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub policy: Arc<Policy>,
    /// Every "now" and "today" (tests move it).
    pub clock: Clock,
    /// Lead times are working days of the department's calendar.
    pub calendar: Calendar,
    /// The promised dates' SLA clocks ([`promised`]).
    pub clocks: aftersales_platform::sla::Clocks,
    /// The department's local time: "today" is its date.
    pub offset: FixedOffset,
    /// Shortages of one part within this window of an automatic PO's issue join it.
    pub coalesce_window: chrono::Duration,
    /// Where the goods go.
    pub delivery_place: String,
}

/// One page of a list: at most `size` rows, after the sort key where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<K> {
    pub size: u64,
    pub after: Option<K>,
}

impl<K> Page<K> {
    /// The rows of a page and the key the next one starts after (the last row's, when the page
    /// came back full).
    pub fn next<T, N>(&self, rows: Vec<T>, key: impl Fn(&T) -> N) -> (Vec<T>, Option<N>) {
        let next = (rows.len() as u64 >= self.size && self.size > 0)
            .then(|| rows.last().map(key))
            .flatten();
        (rows, next)
    }
}

impl Procurement {
    /// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// Today in the department's local time.
    pub fn today(&self) -> NaiveDate {
        self.local_date(self.clock.now())
    }

    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    /// The date goods ordered now arrive with a lead time of `days` working days.
    pub fn expected_date(&self, days: u32) -> NaiveDate {
        self.local_date(self.calendar.add_working_days(self.clock.now(), days))
    }

    /// Stages `payload` about the subject `subject` (a PO number or supplier id); the envelope
    /// names the request only when exactly one is served.
    async fn stage<E: aftersales_platform::proto::catalogue::Event, C: ConnectionTrait>(
        &self,
        txn: &C,
        subject: &str,
        request_nos: &[String],
        payload: &E,
    ) -> Result<(), Error> {
        let request_no = match request_nos {
            [one] => one.as_str(),
            _ => "",
        };
        self.outbox
            .stage(
                txn,
                EventMeta {
                    subject,
                    branch: "",
                    request_no,
                },
                payload,
            )
            .await?;
        Ok(())
    }
}

pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A command's fingerprint: what an idempotency key was first used for.
pub(crate) fn fingerprint<T: serde::Serialize>(cmd: &T) -> String {
    serde_json::to_string(cmd).unwrap_or_default()
}

/// A concurrent call with the same idempotency key won the insert, yet its row cannot be read
/// back to answer with: a race the caller retries.
pub(crate) fn vanished(what: &str) -> Error {
    Error::Aborted(format!("a concurrent {what} vanished; retry"))
}

/// The same idempotency key used for something else.
pub(crate) fn key_reused(what: &str) -> Error {
    Error::AlreadyExists(format!(
        "idempotency_key was already used for a different {what}; use a new key"
    ))
}

/// Sorted, without duplicates.
pub(crate) fn sorted_unique<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = items.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The parts of `demands`, sorted without duplicates: the order their locks are taken in.
pub(crate) fn parts_of(demands: &[demands::Demand]) -> Vec<String> {
    let mut v: Vec<String> = demands.iter().map(|d| d.part_no.clone()).collect();
    v.sort_unstable();
    v.dedup();
    v
}
