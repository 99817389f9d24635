//! `logistics.shipment.delivered`: a job waiting for its parts becomes actionable (NEW, or
//! SCHEDULED when its visit was booked meanwhile) and its arrival deadline starts; a delivery
//! handled before the approval is remembered, so the job opened then does not wait. A repeated
//! or late delivery changes nothing.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::RequestNo;
use aftersales_platform::proto::logistics::v1 as logistics;
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::FieldService;
use crate::wire;

pub struct ShipmentDelivered {
    svc: FieldService,
}

impl ShipmentDelivered {
    pub fn new(svc: &FieldService) -> Self {
        Self { svc: svc.clone() }
    }
}

#[async_trait::async_trait]
impl Handler for ShipmentDelivered {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: logistics::ShipmentDelivered = ev.payload()?;
        let request_no =
            RequestNo::parse(&p.request_no).map_err(|e| Error::invalid("request_no", e))?;
        self.svc
            .parts_delivered(
                txn,
                &request_no,
                p.shipment_no.trim(),
                wire::time_from(&p.delivered_at),
            )
            .await?;
        Ok(())
    }
}
