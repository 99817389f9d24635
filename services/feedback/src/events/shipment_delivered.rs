//! `logistics.shipment.delivered`: for a request with no on-site work (parts shipped to the
//! customer, a return or an exchange), the delivery is the job; its return visit is due. When a
//! technician fits the parts, the work order's completion makes the visit due instead.

use aftersales_platform::bus::Received;
use aftersales_platform::proto::logistics::v1 as logistics;
use sea_orm::DatabaseTransaction;

use super::{Reaction, branch, request_no};
use crate::domain::visit::{Trigger, VisitSource};
use crate::error::Error;
use crate::projection::{instant, occurred};
use crate::service::Feedback;

pub struct ShipmentDelivered;

#[async_trait::async_trait]
impl Reaction for ShipmentDelivered {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        ev: &Received,
    ) -> Result<(), Error> {
        let p: logistics::ShipmentDelivered = ev
            .payload()
            .map_err(|e| Error::invalid("payload", e.to_string()))?;
        if p.onsite_required {
            return Ok(());
        }
        let no = request_no(&p.request_no, ev)?;
        let branch = branch(&p.branch, ev, &no)?;
        if p.shipment_no.trim().is_empty() {
            return Err(Error::invalid("shipment_no", "is required"));
        }
        let mut parts: Vec<String> = Vec::new();
        for l in &p.lines {
            let pn = l.part_no.trim().to_ascii_uppercase();
            if !pn.is_empty() && !parts.contains(&pn) {
                parts.push(pn);
            }
        }
        feedback
            .schedule(
                txn,
                &Trigger {
                    source: VisitSource::ShipmentDelivered,
                    request_no: no.to_string(),
                    branch: branch.to_string(),
                    at: instant(&p.delivered_at).unwrap_or_else(|| occurred(&ev.envelope)),
                    work_order_no: String::new(),
                    shipment_no: p.shipment_no.trim().to_owned(),
                    refund_id: String::new(),
                    technician_id: String::new(),
                    // Intake's submission says who and what.
                    product_model: String::new(),
                    serial: String::new(),
                    part_nos: parts,
                    customer: None,
                },
            )
            .await?;
        Ok(())
    }
}
