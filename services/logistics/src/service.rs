//! Logistics' operations, each one transaction, grouped by area: planning ([`plan`]: on a
//! confirmed reservation or by a person; consolidation; replacements), packing and dispatch
//! ([`dispatch`]), tracking updates ([`tracking`]), exceptions ([`exceptions`]), cancellation
//! ([`cancel`]), return pick-ups ([`pickups`]), dealers' consignments ([`consignments`]: apart
//! from requests and their shipments), the scans ([`scans`]) and the queries ([`queries`]). Each
//! takes a command already parsed into domain types (by the gRPC layer or an event handler); the
//! events they stage are built in [`crate::wire`].
//!
//! Concurrency: everything that changes a request's shipments or pick-ups first locks the
//! request's row ([`requests::lock`], an upsert then `SELECT … FOR UPDATE`), so the handlers and
//! commands of one request run one after the other, in whatever order its events arrive and
//! however often they are redelivered, and each sees what the previous one committed — a
//! cancellation that came first (its marker), a plan that came first (the shipment it cancels).
//! A dealer's consignment belongs to no request: it is serialised on its own consignment_id.

pub mod cancel;
pub mod consignments;
pub mod dispatch;
pub mod exceptions;
pub mod pickups;
pub mod plan;
pub mod queries;
pub mod scans;
pub mod tracking;

use std::sync::Arc;

use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_proto::catalogue::Event;
use chrono::{DateTime, Duration, DurationRound, FixedOffset, NaiveDate, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub use cancel::CancelOutcome;
pub use consignments::{ConsignOutcome, IssuedConsignment};
pub use dispatch::{Dispatch, IssueOutcome, Issued};
pub use exceptions::{CloseException, ReportException};
pub use pickups::{Approved, CompletePickup, PickupOutcome, SchedulePickup};
pub use plan::{PlanOutcome, PlanShipment, Reserved};
pub use queries::{FreightQuery, ShipmentKey, ShipmentQuery, ShipmentView};
pub use tracking::{Target, Track};

use crate::carrier::Carriers;
pub use crate::domain::IssuedLine;
use crate::domain::{Method, Policy, Region, Transit};
use crate::error::Error;
use crate::store::requests::{self, RequestRow};

/// What the operations need.
#[derive(Clone)]
pub struct Logistics {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    /// Every "now", deadline and scan reads it (tests move it).
    pub clock: Clock,
    /// Transit times and chase dates are working time.
    pub calendar: Calendar,
    /// The department's local time: numbers' months, consolidation days, statistics' months.
    pub offset: FixedOffset,
    pub policy: Arc<Policy>,
    pub carriers: Carriers,
    /// The depot shipments leave from and returns go to.
    pub origin: String,
    pub auto_dispatch: bool,
    /// How far a carrier's `sent_at` may be from now.
    pub webhook_window: Duration,
}

impl Logistics {
    /// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// The department's local date of an instant.
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    /// `YYMM` of the local month (shipment and pick-up numbers).
    fn period(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.offset).format("%y%m").to_string()
    }

    /// When a consignment leaving at `from` arrives, `transit` being working time.
    pub fn arrival(&self, from: DateTime<Utc>, transit: Transit) -> DateTime<Utc> {
        micros(match transit.days {
            0 => self
                .calendar
                .add_working_hours(from, transit.same_day_hours),
            n => self.calendar.add_working_days(from, n),
        })
    }

    /// A method's transit time to a region (the rate table's default region when unknown).
    pub fn transit(&self, method: Method, region: Option<Region>) -> Transit {
        let region = region.unwrap_or(self.policy.default_region);
        let rate = self.policy.rate(method);
        let days = rate
            .and_then(|r| r.transit_days.get(&region).copied())
            .unwrap_or(1);
        Transit {
            days,
            same_day_hours: if days == 0 {
                rate.map(|r| r.same_day_hours).unwrap_or(0)
            } else {
                0
            },
        }
    }

    /// The working hours of the next working day after `now` (a pick-up's collection window).
    pub fn next_working_window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let mut day = self.local_day(now);
        for _ in 0..60 {
            day = day.succ_opt().unwrap_or(day);
            if self.calendar.is_working_day(day) {
                break;
            }
        }
        let midnight = self
            .offset
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        // The first working minute of that day, found through the calendar (which keeps the
        // working hours).
        let start = self
            .calendar
            .add_working_time(midnight, Duration::minutes(1))
            - Duration::minutes(1);
        (micros(start), micros(start + self.calendar.day_length()))
    }

    /// Locks a request's row (creating it when new): see the module doc.
    async fn lock_request<C: ConnectionTrait>(
        &self,
        txn: &C,
        request_no: &str,
        branch: &str,
    ) -> Result<RequestRow, Error> {
        Ok(requests::lock(txn, request_no, branch).await?)
    }

    /// Stages an event about a request.
    async fn stage<E: Event, C: ConnectionTrait>(
        &self,
        txn: &C,
        request_no: &str,
        branch: &str,
        event: &E,
    ) -> Result<(), Error> {
        self.outbox
            .stage(txn, EventMeta::request(request_no, branch), event)
            .await?;
        Ok(())
    }
}

pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

/// A branch-scoped caller sees only its branch's rows; another branch's is not found.
pub fn visible(scope: Option<&str>, branch: &str) -> bool {
    scope.is_none_or(|b| b == branch)
}

/// A database error as the operations report it: a lost unique race is for the caller to retry.
fn lost_race(e: sea_orm::DbErr, what: &str) -> Error {
    if aftersales_platform::db::is_unique_violation(&e) {
        Error::Aborted(format!("a concurrent {what} won the race; retry"))
    } else {
        e.into()
    }
}
