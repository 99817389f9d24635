//! `warehouse.return.inspected`: the returned unit was checked; an approved return gets its
//! refund authorized (`claims.refund.authorized`), once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use crate::service::Claims;

pub struct ReturnInspected {
    claims: Claims,
}

impl ReturnInspected {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for ReturnInspected {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: warehouse::ReturnInspected = ev.payload()?;
        if p.request_no.trim().is_empty() {
            return Err(HandlerError::permanent(anyhow::anyhow!(
                "warehouse.return.inspected without a request_no"
            )));
        }
        self.claims
            .authorize_refund(txn, &p)
            .await
            .map_err(super::handler_error)?;
        Ok(())
    }
}
