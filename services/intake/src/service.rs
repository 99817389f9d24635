//! Intake's operations, each one transaction: submit, get, list, cancel, timeline, photos
//! ([`photos`]). The gRPC layer parses and authorizes, then calls these.

mod coalesce;
pub mod photos;

use aftersales_platform::auth::Caller;
use std::sync::Arc;

use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::intake::v1 as pb;
use chrono::{FixedOffset, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::domain::stuck::{Stuck, StuckPolicy};
use crate::domain::tracking::{self, RequestNo};
use crate::domain::{NewRequest, RequestStatus};
use crate::error::Error;
use crate::notify::Notifier;
use crate::store::requests::{self, ListFilter, StoredRequest, StuckCutoffs};
use crate::store::{notifications, timeline};

/// What the operations need.
#[derive(Clone)]
pub struct Intake {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    /// Local offset of the department: the tracking number's month is the local month.
    pub offset: FixedOffset,
    pub clock: Clock,
    /// When a request is stuck, measured on this calendar.
    pub stuck: Arc<StuckPolicy>,
    pub calendar: Calendar,
    /// Writes the messages each customer-facing event owes.
    pub notifier: Notifier,
    /// Concurrent submissions share transactions (group commit).
    coalescer: Arc<coalesce::Coalescer>,
}

impl Intake {
    pub fn new(
        db: DatabaseConnection,
        offset: FixedOffset,
        clock: Clock,
        stuck: StuckPolicy,
        calendar: Calendar,
        notifier: Notifier,
    ) -> Self {
        let outbox = Outbox::new(crate::config::SERVICE);
        Self {
            coalescer: Arc::new(coalesce::Coalescer::new(
                db.clone(),
                outbox.clone(),
                offset,
                clock.clone(),
            )),
            db,
            outbox,
            offset,
            clock,
            stuck: Arc::new(stuck),
            calendar,
            notifier,
        }
    }

    /// Whether `r` is stuck now.
    pub fn stuck_now(&self, r: &StoredRequest) -> Option<Stuck> {
        self.stuck.check(
            r.status,
            &r.last_step,
            r.last_step_at,
            self.clock.now(),
            &self.calendar,
        )
    }

    /// The cut-offs of "stuck" now (lists and the metric).
    pub fn stuck_cutoffs(&self) -> StuckCutoffs {
        self.stuck.cutoffs(self.clock.now(), &self.calendar)
    }

    /// Every request by status and branch.
    pub async fn count_by_status(&self) -> Result<Vec<(String, String, i64)>, Error> {
        Ok(requests::count_by_status(&self.db).await?)
    }

    /// Open requests whose next step is overdue, by status and branch.
    pub async fn count_stuck(&self) -> Result<Vec<(String, String, i64)>, Error> {
        Ok(requests::count_stuck(&self.db, &self.stuck_cutoffs()).await?)
    }

    /// Stores the request under a new tracking number and stages `intake.request.submitted`,
    /// in one transaction. The same idempotency key returns the first result (`created` false).
    ///
    /// Four round trips to the database: `BEGIN`, the number, one statement for the request, its
    /// timeline entry and its event, `COMMIT`; and under load those four are shared with the
    /// submissions that arrived meanwhile (group commit, [`coalesce`]). Whether the key is new
    /// is decided by the unique constraint, not by a read first: a retry (rare) pays a rollback
    /// and a read instead of every submission paying a read.
    pub async fn submit(
        &self,
        caller: &Caller,
        req: NewRequest,
    ) -> Result<(StoredRequest, bool), Error> {
        let fingerprint = req.fingerprint();
        let req = match self
            .coalescer
            .submit(caller.subject.clone(), req, fingerprint.clone())
            .await
        {
            coalesce::Coalesced::Stored(stored) => {
                aftersales_platform::grpc::record_request_no(stored.request_no.as_str());
                return Ok((stored, true));
            }
            coalesce::Coalesced::Alone(req) => req,
            coalesce::Coalesced::Lost => {
                return Err(Error::Unavailable(anyhow::anyhow!(
                    "the submission was not written: intake is stopping"
                )));
            }
        };
        self.submit_alone(caller, req, fingerprint).await
    }

    /// The single path: one transaction for this submission alone.
    async fn submit_alone(
        &self,
        caller: &Caller,
        req: NewRequest,
        fingerprint: String,
    ) -> Result<(StoredRequest, bool), Error> {
        let key = req.idempotency_key.clone();
        let txn = self.db.begin().await?;
        match self
            .insert_new(&txn, caller, req, fingerprint.clone())
            .await?
        {
            Some(stored) => {
                txn.commit().await?;
                Ok((stored, true))
            }
            None => {
                // The key was used before, or by a concurrent submission that committed first:
                // its number stands, and ours rolls back with the transaction (no gap).
                txn.rollback().await?;
                let existing = requests::find_by_idempotency_key(&self.db, &key)
                    .await?
                    .ok_or_else(|| {
                        Error::Unexpected(anyhow::anyhow!(
                            "idempotency conflict with a vanished row"
                        ))
                    })?;
                replay(existing, &fingerprint, caller)
            }
        }
    }

    /// The new request, or `None` when its idempotency key is taken.
    async fn insert_new(
        &self,
        txn: &DatabaseTransaction,
        caller: &Caller,
        req: NewRequest,
        fingerprint: String,
    ) -> Result<Option<StoredRequest>, Error> {
        let now = micros(self.clock.now());
        let period = tracking::period(now, self.offset);
        let seq = requests::next_sequence(txn, req.branch.as_str(), &period).await?;
        let request_no =
            RequestNo::new(&period, &req.branch, seq).map_err(Error::FailedPrecondition)?;
        aftersales_platform::grpc::record_request_no(request_no.as_str());
        let stored = StoredRequest {
            last_step: "intake.request.submitted".to_owned(),
            last_step_at: now,
            request_no,
            fingerprint,
            status: RequestStatus::Submitted,
            status_reason: String::new(),
            request: req,
            submitted_by: caller.subject.clone(),
            created_at: now,
            updated_at: now,
        };
        let event = pb::RequestSubmitted {
            request: Some(crate::grpc::to_proto(&stored)),
        };
        // A number just issued has no event yet: its first event is sequence 1.
        let staged = self.outbox.first_of_subject(
            EventMeta::request(stored.request_no.as_str(), stored.request.branch.as_str()),
            &event,
        );
        let entry = first_entry(&stored, &staged, now);
        let rows = [(stored, entry, staged)];
        match requests::insert_submitted(txn, &rows).await {
            Ok(()) => {
                let [(stored, _, _)] = rows;
                Ok(Some(stored))
            }
            Err(e) if requests::is_idempotency_conflict(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The request, if the caller may see it (another branch's request is simply not found).
    pub async fn get(
        &self,
        caller: &Caller,
        request_no: &RequestNo,
    ) -> Result<StoredRequest, Error> {
        let r = requests::get(&self.db, request_no.as_str())
            .await?
            .filter(|r| caller.sees_branch(r.request.branch.as_str()))
            .ok_or_else(|| Error::NotFound(format!("request {request_no}")))?;
        aftersales_platform::grpc::record_request_no(request_no.as_str());
        Ok(r)
    }

    /// One page, newest first, and the keyset of the next page if there is one.
    pub async fn list(
        &self,
        mut filter: ListFilter,
    ) -> Result<(Vec<StoredRequest>, Option<StoredRequest>), Error> {
        let limit = filter.limit as usize;
        filter.limit = limit as u32;
        let mut rows = requests::list(&self.db, &filter).await?;
        if rows.len() > limit {
            rows.truncate(limit);
            let last = rows.last().cloned();
            return Ok((rows, last));
        }
        Ok((rows, None))
    }

    /// Cancels before dispatch and stages `intake.request.cancelled`. Cancelling a cancelled
    /// request returns it unchanged.
    pub async fn cancel(
        &self,
        caller: &Caller,
        request_no: &RequestNo,
        reason: &str,
    ) -> Result<StoredRequest, Error> {
        aftersales_platform::grpc::record_request_no(request_no.as_str());
        let txn = self.db.begin().await?;
        let mut r = requests::get_for_update(&txn, request_no.as_str())
            .await?
            .filter(|r| caller.sees_branch(r.request.branch.as_str()))
            .ok_or_else(|| Error::NotFound(format!("request {request_no}")))?;
        if r.status == RequestStatus::Cancelled {
            return Ok(r);
        }
        if !r.status.can_cancel() {
            return Err(Error::FailedPrecondition(format!(
                "request {request_no} is {}; it can be cancelled only before dispatch (submitted, under_review, approved, sourcing)",
                r.status
            )));
        }
        let now = micros(self.clock.now());
        let previous = r.status;
        let reason = if reason.trim().is_empty() {
            "cancelled at the customer's request"
        } else {
            reason.trim()
        };
        requests::set_status(
            &txn,
            request_no.as_str(),
            RequestStatus::Cancelled,
            reason,
            now,
        )
        .await?;
        let event = pb::RequestCancelled {
            request_no: request_no.to_string(),
            branch: r.request.branch.to_string(),
            reason: reason.to_owned(),
            cancelled_by: caller.subject.clone(),
            previous_status: crate::grpc::status_to_proto(previous) as i32,
        };
        let env = self
            .outbox
            .stage(
                &txn,
                EventMeta::request(request_no.as_str(), r.request.branch.as_str()),
                &event,
            )
            .await?;
        timeline::record(
            &txn,
            &timeline::Entry {
                event_id: parse_id(&env.event_id)?,
                request_no: request_no.to_string(),
                routing_key: env.routing_key,
                producer: env.producer,
                occurred_at: now,
                summary: format!("Cancelled by {}: {reason}", caller.subject),
                status_after: RequestStatus::Cancelled,
            },
        )
        .await?;
        txn.commit().await?;
        r.status = RequestStatus::Cancelled;
        r.status_reason = reason.to_owned();
        r.updated_at = now;
        Ok(r)
    }

    pub async fn timeline(
        &self,
        caller: &Caller,
        request_no: &RequestNo,
    ) -> Result<
        (
            StoredRequest,
            Vec<timeline::Entry>,
            Vec<notifications::Message>,
        ),
        Error,
    > {
        let r = self.get(caller, request_no).await?;
        let entries = timeline::list(&self.db, request_no.as_str()).await?;
        let messages = notifications::of_request(&self.db, request_no.as_str()).await?;
        Ok((r, entries, messages))
    }

    /// The request's message log, oldest first.
    pub async fn notifications(
        &self,
        caller: &Caller,
        request_no: &RequestNo,
    ) -> Result<Vec<notifications::Message>, Error> {
        self.get(caller, request_no).await?;
        Ok(notifications::of_request(&self.db, request_no.as_str()).await?)
    }
}

/// A new request's first timeline entry: received, with the event that announces it.
fn first_entry(
    stored: &StoredRequest,
    staged: &aftersales_platform::outbox::Staged,
    now: chrono::DateTime<Utc>,
) -> timeline::Entry {
    timeline::Entry {
        event_id: staged.event_id,
        request_no: stored.request_no.to_string(),
        routing_key: staged.envelope.routing_key.clone(),
        producer: staged.envelope.producer.clone(),
        occurred_at: now,
        summary: format!(
            "Request received by branch {} via {} ({} of a {} {})",
            stored.request.branch,
            stored.request.channel.as_str(),
            stored.request.kind.as_str(),
            stored.request.product.category,
            stored.request.product.model
        ),
        status_after: RequestStatus::Submitted,
    }
}

/// `t` at the precision Postgres keeps (microseconds), so an answer equals a later read.
fn micros(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    use chrono::DurationRound;
    t.duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(t)
}

fn replay(
    existing: StoredRequest,
    fingerprint: &str,
    caller: &Caller,
) -> Result<(StoredRequest, bool), Error> {
    if existing.fingerprint != fingerprint || !caller.sees_branch(existing.request.branch.as_str())
    {
        return Err(Error::AlreadyExists(
            "idempotency_key was already used for a different request; use a new key for a new request".into(),
        ));
    }
    Ok((existing, false))
}

pub fn parse_id(id: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|e| Error::Unexpected(anyhow::anyhow!("event id {id}: {e}")))
}
