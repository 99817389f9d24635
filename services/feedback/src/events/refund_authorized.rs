//! `claims.refund.authorized`: a return ended in a refund with neither a technician nor a
//! delivery to visit after; the refund makes the return visit due.

use aftersales_platform::bus::Received;
use aftersales_platform::proto::claims::v1 as claims;
use sea_orm::DatabaseTransaction;

use super::{Reaction, branch, request_no};
use crate::domain::visit::{Trigger, VisitSource};
use crate::error::Error;
use crate::projection::{instant, occurred};
use crate::service::Feedback;
use crate::wire;

pub struct RefundAuthorized;

#[async_trait::async_trait]
impl Reaction for RefundAuthorized {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        ev: &Received,
    ) -> Result<(), Error> {
        let p: claims::RefundAuthorized = ev
            .payload()
            .map_err(|e| Error::invalid("payload", e.to_string()))?;
        let no = request_no(&p.request_no, ev)?;
        let branch = branch(&p.branch, ev, &no)?;
        let refund_id = if p.refund_id.trim().is_empty() {
            ev.envelope.event_id.clone()
        } else {
            p.refund_id.trim().to_owned()
        };
        // The refund names the customer; intake's submission says the rest.
        let customer = p.customer.as_ref().map(wire::customer_from);
        feedback
            .schedule(
                txn,
                &Trigger {
                    source: VisitSource::RefundAuthorized,
                    request_no: no.to_string(),
                    branch: branch.to_string(),
                    at: instant(&p.authorized_at).unwrap_or_else(|| occurred(&ev.envelope)),
                    work_order_no: String::new(),
                    shipment_no: String::new(),
                    refund_id,
                    technician_id: String::new(),
                    product_model: String::new(),
                    serial: String::new(),
                    part_nos: Vec::new(),
                    customer,
                },
            )
            .await?;
        Ok(())
    }
}
