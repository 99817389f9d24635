//! `intake.request.cancelled`: nothing stays open or in flight for the request here, before,
//! after or concurrently with its confirmation (see [`crate::service::cancel`]).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::Violations;
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, RequestNo};
use crate::error::Error;
use crate::service::Logistics;

pub struct RequestCancelled {
    logistics: Logistics,
}

impl RequestCancelled {
    pub fn new(logistics: &Logistics) -> Self {
        Self {
            logistics: logistics.clone(),
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
        let reason = if payload.reason.trim().is_empty() {
            "request cancelled".to_owned()
        } else {
            payload.reason.trim().to_owned()
        };
        self.logistics
            .cancel(txn, &request_no, &branch, &reason, None)
            .await?;
        Ok(())
    }
}
