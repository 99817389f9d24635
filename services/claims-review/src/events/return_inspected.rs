//! `warehouse.return.inspected`: the returned unit was checked; an approved return gets its
//! refund authorized (`claims.refund.authorized`), once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::RequestNo;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::Claims;
use crate::service::refund::Inspection;

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
        self.claims.authorize_refund(txn, &inspection(&p)?).await?;
        Ok(())
    }
}

/// What was missing: the accessory checks where the warehouse sent them, else its plain list.
fn inspection(p: &warehouse::ReturnInspected) -> Result<Inspection, Error> {
    let request_no =
        RequestNo::parse(&p.request_no).map_err(|e| Error::invalid("request_no", e))?;
    let missing = if p.accessories.is_empty() {
        p.missing_accessories
            .iter()
            .map(|part| (part.trim().to_uppercase(), 1))
            .collect()
    } else {
        p.accessories
            .iter()
            .filter(|a| a.present < a.expected)
            .map(|a| {
                let part = if a.part_no.trim().is_empty() {
                    a.name.trim().to_owned()
                } else {
                    a.part_no.trim().to_uppercase()
                };
                (part, a.expected - a.present)
            })
            .collect()
    };
    Ok(Inspection {
        request_no,
        return_id: p.return_id.clone(),
        missing,
    })
}
