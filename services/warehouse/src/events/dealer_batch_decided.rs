//! `claims.dealer_batch.decided`: the faulty parts of a dealer batch's approved lines must come
//! back by the batch's `old_parts_due_at`; they are recorded as expected from the dealer, to be
//! identified when its box of old parts arrives. Rejected lines expect nothing. The platform
//! records the event id in this transaction and a (batch, line, part) is recorded once, so a
//! redelivered or duplicated decision expects its parts once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, DealerCode, PartNo, Quantity};
use crate::error::Error;
use crate::service::{DealerDuePart, ExpectDealerParts, Warehouse};

pub struct DealerBatchDecided {
    warehouse: Warehouse,
}

impl DealerBatchDecided {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

/// The approved lines' parts as expected old parts; every bad field is named (and the event goes
/// to the DLQ: it will not get better).
impl TryFrom<&claims::DealerBatchDecided> for ExpectDealerParts {
    type Error = Invalid;

    fn try_from(p: &claims::DealerBatchDecided) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        if p.batch_id.trim().is_empty() {
            v.add("batch_id", "is required");
        }
        let dealer = v.check("dealer_code", DealerCode::parse(&p.dealer_code));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let due_at = v.check(
            "old_parts_due_at",
            p.old_parts_due_at
                .as_ref()
                .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
                .ok_or("is required"),
        );
        let mut parts = Vec::new();
        let approved = claims::DealerLineStatus::Approved as i32;
        for (i, line) in p.lines.iter().enumerate() {
            if line.status != approved {
                continue;
            }
            let Some(input) = &line.input else { continue };
            for (k, used) in input.parts.iter().enumerate() {
                let field = |f: &str| format!("lines[{i}].input.parts[{k}].{f}");
                let part_no = v.check(field("part_no"), PartNo::parse(&used.part_no));
                let quantity = v.check(field("quantity"), Quantity::parse(used.quantity));
                if let (Some(part_no), Some(quantity)) = (part_no, quantity) {
                    parts.push(DealerDuePart {
                        line_no: line.line_no,
                        part_index: k as u32,
                        part_no,
                        quantity,
                        faulty_serial: used.faulty_serial.trim().to_owned(),
                    });
                }
            }
        }
        v.done(|| {
            Some(ExpectDealerParts {
                claim_batch_id: p.batch_id.trim().to_owned(),
                dealer_code: dealer?,
                branch: branch?,
                due_at: due_at?,
                parts,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for DealerBatchDecided {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: claims::DealerBatchDecided = ev.payload()?;
        let cmd = ExpectDealerParts::try_from(&payload).map_err(Error::from)?;
        let new = self.warehouse.expect_dealer_parts(txn, &cmd).await?;
        tracing::info!(
            batch_id = %cmd.claim_batch_id,
            dealer_code = %cmd.dealer_code,
            expected = cmd.parts.len(),
            new,
            "old parts expected back from a dealer"
        );
        Ok(())
    }
}
