//! `intake.request.cancelled`: release what the request holds (its stock becomes available and
//! waiting back-orders are served from it), or mark it so a later approval reserves nothing.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::Violations;
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, RequestNo};
use crate::error::Error;
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
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&payload.request_no));
        let branch = v.check("branch", BranchCode::parse(&payload.branch));
        let (request_no, branch) = v
            .done(|| Some((request_no?, branch?)))
            .map_err(Error::from)?;
        self.warehouse.release(txn, &request_no, &branch).await?;
        Ok(())
    }
}
