//! What feedback consumes: every event of the catalogue but its own (its row of
//! `platform::topology::TABLE`), each into the event log and the KPI read model
//! ([`record::Consume`]), in the handler's transaction. Some also act, one file per kind:
//! a completed work order, a delivery with no on-site work and an authorized refund make a
//! return visit due; a cancelled request (or its released reservation) calls its visits off;
//! intake's submission tells visits who the customer is.
//!
//! The subscriptions follow the topology row, so an event added to the catalogue is logged from
//! the first start that knows it.

pub mod record;
pub mod refund_authorized;
pub mod request_cancelled;
pub mod request_submitted;
pub mod reservation_released;
pub mod shipment_delivered;
pub mod workorder_completed;

use std::sync::Arc;

use aftersales_platform::bus::{Received, Subscription};
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::topology;
use sea_orm::DatabaseTransaction;

use crate::config::SERVICE;
use crate::error::Error;
use crate::service::Feedback;

/// What an event does beyond being logged.
#[async_trait::async_trait]
pub trait Reaction: Send + Sync + 'static {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        event: &Received,
    ) -> Result<(), Error>;
}

fn reaction(routing_key: &str) -> Option<Arc<dyn Reaction>> {
    Some(match routing_key {
        "fieldservice.workorder.completed" => Arc::new(workorder_completed::WorkOrderCompleted),
        "logistics.shipment.delivered" => Arc::new(shipment_delivered::ShipmentDelivered),
        "claims.refund.authorized" => Arc::new(refund_authorized::RefundAuthorized),
        "intake.request.cancelled" => Arc::new(request_cancelled::RequestCancelled),
        "warehouse.reservation.released" => Arc::new(reservation_released::ReservationReleased),
        "intake.request.submitted" => Arc::new(request_submitted::RequestSubmitted),
        _ => return None,
    })
}

pub fn subscriptions(feedback: &Feedback) -> Vec<Subscription> {
    topology::inbox(SERVICE)
        .map(|row| row.routing_keys())
        .unwrap_or_default()
        .into_iter()
        .map(|key| Subscription::new(key, record::Consume::new(feedback, reaction(key))))
        .collect()
}

/// The request an event is about: the payload's number, else the envelope's.
pub fn request_no(payload: &str, ev: &Received) -> Result<RequestNo, Error> {
    let s = if payload.trim().is_empty() {
        crate::projection::request_of(&ev.envelope)
    } else {
        payload
    };
    RequestNo::parse(s).map_err(|e| Error::invalid("request_no", e))
}

/// The branch of an event: the payload's, else the envelope's, else the request number's.
pub fn branch(payload: &str, ev: &Received, request_no: &RequestNo) -> Result<BranchCode, Error> {
    let s = [payload, ev.envelope.branch.as_str(), request_no.branch()]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("");
    BranchCode::parse(s).map_err(|e| Error::invalid("branch", e))
}
