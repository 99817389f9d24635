//! Receipts and their inspection: parsing the requests, answering with receipts.

use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::date;
use crate::domain::{PartNo, Quantity};
use crate::service::{GoodsLine, InspectionLine, ReceiveGoods, RecordInspection};
use crate::store::receipts::Receipt;
use crate::wire;

/// More lines than any delivery note has; a bigger message is a mistake, not a delivery.
const MAX_RECEIPT_LINES: usize = 500;

impl TryFrom<&pb::ReceiveGoodsRequest> for ReceiveGoods {
    type Error = Invalid;

    fn try_from(m: &pb::ReceiveGoodsRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let po = v.check("po_number", optional_text(&m.po_number, 64));
        let supplier = v.check("supplier_id", optional_text(&m.supplier_id, 64));
        let note = v.check("delivery_note", optional_text(&m.delivery_note, 64));
        let movement_date = v.check("movement_date", date(&m.movement_date));
        if m.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        if m.lines.len() > MAX_RECEIPT_LINES {
            v.add("lines", format!("at most {MAX_RECEIPT_LINES} lines"));
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            let quantity = v.check(format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            if let (Some(part_no), Some(quantity)) = (part_no, quantity) {
                lines.push(GoodsLine {
                    part_no,
                    quantity,
                    po_line_no: l.po_line_no,
                });
            }
        }
        v.done(|| {
            Some(ReceiveGoods {
                idempotency_key: key?,
                po_number: po?,
                supplier_id: supplier?,
                delivery_note: note?,
                lines,
                movement_date: movement_date?,
            })
        })
    }
}

impl TryFrom<&pb::RecordInspectionRequest> for RecordInspection {
    type Error = Invalid;

    fn try_from(m: &pb::RecordInspectionRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let receipt_id = v.check("receipt_id", required_text(&m.receipt_id, 64));
        if m.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            let reason = v.check(
                format!("lines[{i}].failure_reason"),
                optional_text(&l.failure_reason, 500),
            );
            if l.failed > 0 && reason.as_deref() == Some("") {
                v.add(
                    format!("lines[{i}].failure_reason"),
                    "is required when units failed",
                );
            }
            if let (Some(part_no), Some(failure_reason)) = (part_no, reason) {
                lines.push(InspectionLine {
                    part_no,
                    passed: l.passed,
                    failed: l.failed,
                    failure_reason,
                });
            }
        }
        v.done(|| {
            Some(RecordInspection {
                receipt_id: receipt_id?,
                lines,
            })
        })
    }
}

pub fn receipt_to_proto(r: &Receipt) -> pb::Receipt {
    pb::Receipt {
        receipt_id: r.receipt_id.clone(),
        po_number: r.po_number.clone(),
        supplier_id: r.supplier_id.clone(),
        delivery_note: r.delivery_note.clone(),
        status: if r.inspected {
            pb::ReceiptStatus::Inspected
        } else {
            pb::ReceiptStatus::PendingInspection
        } as i32,
        lines: r
            .lines
            .iter()
            .map(|l| pb::ReceiptLine {
                part_no: l.part_no.clone(),
                quantity: l.quantity as u32,
                po_line_no: l.po_line_no as u32,
                passed: l.passed as u32,
                failed: l.failed as u32,
                failure_reason: l.failure_reason.clone(),
            })
            .collect(),
        received_by: r.received_by.clone(),
        received_at: Some(wire::timestamp(r.received_at)),
        inspected_by: r.inspected_by.clone(),
        inspected_at: r.inspected_at.map(wire::timestamp),
    }
}
