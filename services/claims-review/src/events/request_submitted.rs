//! `intake.request.submitted`: open the claim, evaluate it against the policy and, where the
//! policy decides alone, approve it. A request opens one claim however often it arrives.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::Claims;

pub struct RequestSubmitted {
    claims: Claims,
}

impl RequestSubmitted {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for RequestSubmitted {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: intake::RequestSubmitted = ev.payload()?;
        let request = payload
            .request
            .ok_or_else(|| Error::invalid("request", "is required"))?;
        self.claims.open(txn, &request).await?;
        Ok(())
    }
}
