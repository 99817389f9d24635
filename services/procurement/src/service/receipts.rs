//! Receipts against POs (`warehouse.goods.received`): each advances its PO's lines
//! (PARTIALLY_RECEIVED, then RECEIVED once every line passed its quantity), is announced as
//! `procurement.po.received`, and re-scores the supplier, whose status may move on the ladder in
//! the same transaction.

use aftersales_platform::proto::procurement::v1 as pb;
use chrono::NaiveDate;
use sea_orm::DatabaseTransaction;

use super::Procurement;
use crate::domain::PartNo;
use crate::error::Error;
use crate::store::orders;
use crate::store::receipts::{self, Receipt, ReceiptLine};
use crate::wire;

/// `warehouse.goods.received`, parsed (a receipt against a PO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsReceipt {
    pub receipt_id: String,
    pub po_number: String,
    pub lines: Vec<ReceivedLine>,
    /// `None`: today.
    pub received_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedLine {
    pub part_no: PartNo,
    /// The PO line it delivers (0: matched by part).
    pub po_line_no: u32,
    pub received: u32,
    pub passed: u32,
    pub failed: u32,
    pub failure_reason: String,
}

/// What a receipt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    Recorded,
    /// Recorded before (a repeated announcement): nothing done.
    AlreadyRecorded,
    /// Not against a PO of procurement's: not its business.
    NotOurs,
}

impl Procurement {
    pub async fn goods_received(
        &self,
        txn: &DatabaseTransaction,
        cmd: &GoodsReceipt,
    ) -> Result<ReceiptOutcome, Error> {
        let Some(mut po) = orders::get_for_update(txn, &cmd.po_number).await? else {
            tracing::warn!(po_number = %cmd.po_number, receipt_id = %cmd.receipt_id, "goods received against a PO procurement did not issue");
            return Ok(ReceiptOutcome::NotOurs);
        };
        let received_date = cmd.received_date.unwrap_or_else(|| self.today());
        let lines: Vec<ReceiptLine> = cmd
            .lines
            .iter()
            .map(|l| {
                let by_number = po
                    .lines
                    .iter()
                    .find(|x| x.line_no == l.po_line_no && x.part_no == l.part_no.as_str());
                let by_part = po.lines.iter().find(|x| x.part_no == l.part_no.as_str());
                ReceiptLine {
                    line_no: by_number.or(by_part).map(|x| x.line_no),
                    part_no: l.part_no.as_str().to_owned(),
                    received: l.received,
                    passed: l.passed,
                    failed: l.failed,
                    failure_reason: l.failure_reason.clone(),
                }
            })
            .collect();
        let receipt = Receipt {
            receipt_id: cmd.receipt_id.clone(),
            po_number: po.po_number.clone(),
            supplier_id: po.supplier_id.clone(),
            received_date,
            promised_date: po.promised_date,
            recorded_at: self.now(),
            lines,
        };
        if !receipts::insert_if_new(txn, &receipt).await? {
            return Ok(ReceiptOutcome::AlreadyRecorded);
        }
        for l in &receipt.lines {
            let Some(line) = l.line_no.and_then(|n| po.line_mut(n)) else {
                tracing::warn!(po_number = %po.po_number, part_no = %l.part_no, "received a part the PO does not order");
                continue;
            };
            let mut state = line.state();
            state.receive(l.received, l.passed, l.failed);
            line.set_state(state);
        }
        self.restate(&mut po);
        orders::update(txn, &po).await?;
        self.settle_promise_clock(txn, &po).await?;
        let view = self.view(txn, po).await?;
        let on_time = received_date <= view.po.promised_date;
        let event = pb::PoReceived {
            po_number: view.po.po_number.clone(),
            supplier_id: view.po.supplier_id.clone(),
            receipt_id: cmd.receipt_id.clone(),
            status: wire::po_status(view.po.status),
            lines: view
                .po
                .lines
                .iter()
                .map(|l| pb::PoReceivedLine {
                    line_no: l.line_no,
                    part_no: l.part_no.clone(),
                    ordered: l.quantity,
                    received: l.received,
                    passed: l.passed,
                    failed: l.failed,
                    outstanding: l.state().outstanding(),
                })
                .collect(),
            promised_date: view.po.promised_date.to_string(),
            received_date: received_date.to_string(),
            on_time,
            request_nos: view.request_nos(),
        };
        self.stage(txn, &view.po.po_number, &event.request_nos, &event)
            .await?;
        tracing::info!(po_number = %view.po.po_number, receipt_id = %cmd.receipt_id, status = %view.po.status, on_time, "receipt booked against the purchase order");
        self.evaluate(txn, &view.po.supplier_id).await?;
        Ok(ReceiptOutcome::Recorded)
    }
}
