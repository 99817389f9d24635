//! `warehouse.goods.received`: a receipt against one of procurement's POs advances its lines and
//! scores its supplier. A free receipt (no PO number) or one against a PO procurement did not
//! issue is not its business; a receipt recorded before changes nothing.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::domain::{PartNo, optional_date};
use crate::error::Error;
use crate::service::Procurement;
use crate::service::receipts::{GoodsReceipt, ReceivedLine};

pub struct GoodsReceived {
    procurement: Procurement,
}

impl GoodsReceived {
    pub fn new(p: &Procurement) -> Self {
        Self {
            procurement: p.clone(),
        }
    }
}

impl TryFrom<&warehouse::GoodsReceived> for GoodsReceipt {
    type Error = Invalid;

    fn try_from(p: &warehouse::GoodsReceived) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        if p.receipt_id.trim().is_empty() {
            v.add("receipt_id", "is required");
        }
        let received_date = v.check("received_date", optional_date(&p.received_date));
        let mut lines = Vec::new();
        for (i, l) in p.lines.iter().enumerate() {
            if let Some(part_no) = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no))
            {
                lines.push(ReceivedLine {
                    part_no,
                    po_line_no: l.po_line_no,
                    received: l.received,
                    passed: l.passed,
                    failed: l.failed,
                    failure_reason: l.failure_reason.clone(),
                });
            }
        }
        v.done(|| {
            Some(GoodsReceipt {
                receipt_id: p.receipt_id.trim().to_owned(),
                po_number: p.po_number.trim().to_owned(),
                lines,
                received_date: received_date?,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for GoodsReceived {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: warehouse::GoodsReceived = ev.payload()?;
        if payload.po_number.trim().is_empty() {
            // A free receipt: nothing was ordered.
            return Ok(());
        }
        let cmd = GoodsReceipt::try_from(&payload).map_err(Error::from)?;
        self.procurement.goods_received(txn, &cmd).await?;
        Ok(())
    }
}
