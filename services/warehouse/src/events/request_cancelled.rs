//! `intake.request.cancelled`: release what the request holds (its stock becomes available and
//! waiting back-orders are served from it), or mark it so a later approval reserves nothing.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::DatabaseTransaction;

use crate::service::Warehouse;

pub struct RequestCancelled {
    warehouse: Warehouse,
}

impl RequestCancelled {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for RequestCancelled {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: intake::RequestCancelled = ev.payload()?;
        if payload.request_no.trim().is_empty() {
            return Err(HandlerError::permanent(anyhow::anyhow!(
                "request.cancelled without a request_no"
            )));
        }
        self.warehouse
            .release(txn, payload.request_no.trim(), &payload.branch)
            .await?;
        Ok(())
    }
}
