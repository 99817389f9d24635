//! Any event about a request: a timeline entry, and the status moved forward when the event
//! points further along the lifecycle. Also the shared steps the other handlers build on.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::intake::v1 as pb;
use chrono::Utc;
use sea_orm::DatabaseTransaction;

use crate::domain::RequestStatus;
use crate::domain::lifecycle::{in_service_move, target_of};
use crate::notify::{self, Notifier};
use crate::service::Intake;
use crate::store::requests::{self, StoredRequest};
use crate::store::timeline;

pub struct RecordTimeline {
    notifier: Notifier,
}

impl RecordTimeline {
    pub fn new(intake: &Intake) -> Self {
        Self {
            notifier: intake.notifier.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for RecordTimeline {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let request_no = request_no_of(ev);
        let summary = super::summary::summarize(ev);
        apply(txn, &self.notifier, ev, &request_no, &summary).await?;
        Ok(())
    }
}

/// The request the event is about: the envelope's `request_no`, else its subject.
pub fn request_no_of(ev: &Received) -> String {
    if ev.envelope.request_no.is_empty() {
        ev.envelope.subject.clone()
    } else {
        ev.envelope.request_no.clone()
    }
}

/// Records the event in the request's timeline, moves the status forward and writes the messages
/// the event owes the customer and the branch (none once the request has ended). Returns the
/// request as it now is, or `None` when intake does not know the request (logged, not retried: no
/// amount of waiting will make it appear).
pub async fn apply(
    txn: &DatabaseTransaction,
    notifier: &Notifier,
    ev: &Received,
    request_no: &str,
    summary: &str,
) -> Result<Option<StoredRequest>, HandlerError> {
    let Some(mut r) = requests::get_for_update(txn, request_no).await? else {
        tracing::warn!(request_no, routing_key = %ev.routing_key, "event about a request intake does not know");
        return Ok(None);
    };
    let target = match ev.routing_key.as_str() {
        "fieldservice.workorder.status_changed" => {
            let moved: aftersales_platform::proto::fieldservice::v1::WorkOrderStatusChanged =
                ev.payload()?;
            in_service_move(moved.to()).then_some(RequestStatus::InService)
        }
        rk => target_of(rk),
    };
    let ended = r.status.is_final();
    let after = target.map(|t| r.status.advance(t)).unwrap_or(r.status);
    if after != r.status {
        requests::set_status(txn, request_no, after, "", Utc::now()).await?;
        r.status = after;
        r.status_reason.clear();
    }
    let event_id = uuid::Uuid::parse_str(&ev.envelope.event_id).map_err(HandlerError::permanent)?;
    timeline::record(
        txn,
        &timeline::Entry {
            event_id,
            request_no: request_no.to_owned(),
            routing_key: ev.routing_key.clone(),
            producer: ev.envelope.producer.clone(),
            occurred_at: ev.occurred_at(),
            summary: summary.to_owned(),
            status_after: after,
        },
    )
    .await?;
    if !ended {
        let event = notify::Event {
            event_id,
            routing_key: &ev.routing_key,
            payload: &ev.envelope.payload,
        };
        notifier.intend(txn, &event, &r).await?;
    }
    Ok(Some(r))
}

/// Closes the request (unless it already ended), stages `intake.request.closed` and tells the
/// customer (not after a rejection: its message already gave the reason).
pub async fn close(
    txn: &DatabaseTransaction,
    outbox: &Outbox,
    notifier: &Notifier,
    r: &StoredRequest,
    reason: pb::CloseReason,
    detail: &str,
) -> Result<(), HandlerError> {
    if r.status == RequestStatus::Cancelled {
        return Ok(());
    }
    let now = Utc::now();
    let no = r.request_no.as_str();
    requests::set_status(txn, no, RequestStatus::Closed, detail, now).await?;
    let closed = pb::RequestClosed {
        request_no: no.to_owned(),
        branch: r.request.branch.to_string(),
        reason: reason as i32,
        detail: detail.to_owned(),
    };
    let env = outbox
        .stage(
            txn,
            EventMeta::request(no, r.request.branch.as_str()),
            &closed,
        )
        .await?;
    let event_id = uuid::Uuid::parse_str(&env.event_id).map_err(HandlerError::permanent)?;
    timeline::record(
        txn,
        &timeline::Entry {
            event_id,
            request_no: no.to_owned(),
            routing_key: env.routing_key.clone(),
            producer: env.producer,
            occurred_at: now,
            summary: format!("Request closed: {detail}"),
            status_after: RequestStatus::Closed,
        },
    )
    .await?;
    if reason != pb::CloseReason::ClaimRejected {
        let payload = prost::Message::encode_to_vec(&closed);
        let event = notify::Event {
            event_id,
            routing_key: &env.routing_key,
            payload: &payload,
        };
        notifier.intend(txn, &event, r).await?;
    }
    Ok(())
}
