//! `intake.request.submitted`: the request's customer and product, for visits scheduled before
//! the submission reached feedback (a job's event can overtake it after a retry).

use aftersales_platform::bus::Received;
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::DatabaseTransaction;

use super::{Reaction, branch, request_no};
use crate::error::Error;
use crate::service::Feedback;
use crate::wire;

pub struct RequestSubmitted;

#[async_trait::async_trait]
impl Reaction for RequestSubmitted {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        ev: &Received,
    ) -> Result<(), Error> {
        let p: intake::RequestSubmitted = ev
            .payload()
            .map_err(|e| Error::invalid("payload", e.to_string()))?;
        let Some(r) = p.request else {
            return Ok(());
        };
        let Some(customer) = r.customer.as_ref().map(wire::customer_from) else {
            return Ok(());
        };
        let product = r.product.unwrap_or_default();
        let no = request_no(&r.request_no, ev)?;
        let branch = branch(&r.branch, ev, &no)?;
        feedback
            .learn_customer(
                txn,
                no.as_str(),
                branch.as_str(),
                &customer,
                product.model.trim(),
                product.serial.trim(),
            )
            .await
    }
}
