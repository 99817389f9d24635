//! `fieldservice.workorder.completed`: the job is done; its return visit is due. Every completed
//! job is visited (one visit per work order).

use aftersales_platform::bus::Received;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use sea_orm::DatabaseTransaction;

use super::{Reaction, branch, request_no};
use crate::domain::visit::{Trigger, VisitSource};
use crate::error::Error;
use crate::projection::{instant, occurred};
use crate::service::Feedback;

pub struct WorkOrderCompleted;

#[async_trait::async_trait]
impl Reaction for WorkOrderCompleted {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        ev: &Received,
    ) -> Result<(), Error> {
        let p: fieldservice::WorkOrderCompleted = ev
            .payload()
            .map_err(|e| Error::invalid("payload", e.to_string()))?;
        let no = request_no(&p.request_no, ev)?;
        let branch = branch(&p.branch, ev, &no)?;
        if p.work_order_no.trim().is_empty() {
            return Err(Error::invalid("work_order_no", "is required"));
        }
        let mut parts: Vec<String> = Vec::new();
        for l in &p.parts_used {
            let pn = l.part_no.trim().to_ascii_uppercase();
            if !pn.is_empty() && !parts.contains(&pn) {
                parts.push(pn);
            }
        }
        feedback
            .schedule(
                txn,
                &Trigger {
                    source: VisitSource::WorkOrderCompleted,
                    request_no: no.to_string(),
                    branch: branch.to_string(),
                    at: instant(&p.completed_at).unwrap_or_else(|| occurred(&ev.envelope)),
                    work_order_no: p.work_order_no.trim().to_owned(),
                    shipment_no: String::new(),
                    refund_id: String::new(),
                    technician_id: p.technician_id.trim().to_owned(),
                    // As read on the unit; intake's submission fills what is missing.
                    product_model: p.product_model.trim().to_owned(),
                    serial: p.serial.trim().to_owned(),
                    part_nos: parts,
                    customer: None,
                },
            )
            .await?;
        Ok(())
    }
}
