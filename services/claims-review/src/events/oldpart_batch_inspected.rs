//! `warehouse.oldpart_batch.inspected`: the warehouse's verdicts on a dealer's old parts; a part
//! found not faulty or not the part claimed charges its line back, once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use crate::domain::dealer::LineReason;
use crate::error::Error;
use crate::service::Claims;
use crate::service::dealers::Verdict;

pub struct OldPartBatchInspected {
    claims: Claims,
}

impl OldPartBatchInspected {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for OldPartBatchInspected {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: warehouse::OldPartBatchInspected = ev.payload()?;
        let verdicts = verdicts(&p)?;
        self.claims
            .record_verdicts(txn, p.dealer_code.trim(), &verdicts)
            .await?;
        Ok(())
    }
}

fn verdicts(p: &warehouse::OldPartBatchInspected) -> Result<Vec<Verdict>, Error> {
    p.parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let batch_id = uuid::Uuid::parse_str(part.claim_batch_id.trim()).map_err(|_| {
                Error::invalid(
                    format!("parts[{i}].claim_batch_id"),
                    "is not a dealer batch id",
                )
            })?;
            let charge = match warehouse::OldPartVerdict::try_from(part.verdict) {
                Ok(warehouse::OldPartVerdict::ConfirmedFault) => None,
                Ok(warehouse::OldPartVerdict::NoFaultFound) => Some(LineReason::OldPartNoFault),
                Ok(warehouse::OldPartVerdict::WrongPart) => Some(LineReason::OldPartWrong),
                _ => {
                    return Err(Error::invalid(
                        format!("parts[{i}].verdict"),
                        "is not a verdict",
                    ));
                }
            };
            Ok(Verdict {
                batch_id,
                line_no: part.line_no,
                faulty_serial: part.faulty_serial.trim().to_owned(),
                charge,
            })
        })
        .collect()
}
