//! Old parts and returns to suppliers: parsing the requests, answering with old parts.

use aftersales_platform::ids::Serial;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use chrono::NaiveDate;

use super::{Paged, date, optional, page};
use crate::domain::{BranchCode, PartNo, Quantity, RequestNo, Zone};
use crate::service::{OverdueQuery, ReceiveOldPart, ReturnToSupplier, SupplierReturnLine};
use crate::store::old_parts::{Expected, OldPartReturn};
use crate::wire;

impl TryFrom<&pb::ReceiveOldPartRequest> for ReceiveOldPart {
    type Error = Invalid;

    fn try_from(m: &pb::ReceiveOldPartRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let work_order_no = v.check("work_order_no", required_text(&m.work_order_no, 64));
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let part_no = v.check("part_no", PartNo::parse(&m.part_no));
        let quantity = v.check("quantity", Quantity::parse(m.quantity));
        let serial = v.check("serial", optional(&m.serial, Serial::parse));
        let condition = v.check("condition", optional_text(&m.condition, 500));
        let movement_date = v.check("movement_date", date(&m.movement_date));
        v.done(|| {
            Some(ReceiveOldPart {
                idempotency_key: key?,
                work_order_no: work_order_no?,
                request_no: request_no?,
                part_no: part_no?,
                quantity: quantity?,
                serial: serial?,
                condition: condition?,
                movement_date: movement_date?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListOverdueOldPartsRequest>> for OverdueQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListOverdueOldPartsRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        let as_of = v.check("as_of_date", date(&m.as_of_date));
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let technician = v.check("technician_id", optional_text(&m.technician_id, 64));
        let page = page::<(NaiveDate, String, String)>(
            &mut v,
            m.page_size,
            &m.page_token,
            100,
            r.max_page_size,
        );
        v.done(|| {
            Some(OverdueQuery {
                as_of: as_of?,
                branch: branch?.map(BranchCode::into_string),
                technician_id: Some(technician?).filter(|t| !t.is_empty()),
                page: page?,
            })
        })
    }
}

impl TryFrom<&pb::ReturnToSupplierRequest> for ReturnToSupplier {
    type Error = Invalid;

    fn try_from(m: &pb::ReturnToSupplierRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let supplier = v.check("supplier_id", required_text(&m.supplier_id, 64));
        let po = v.check("po_number", optional_text(&m.po_number, 64));
        let rma = v.check("rma_no", optional_text(&m.rma_no, 64));
        let reason = v.check("reason", required_text(&m.reason, 500));
        let movement_date = v.check("movement_date", date(&m.movement_date));
        if m.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            let quantity = v.check(format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            let zone = v.check(
                format!("lines[{i}].zone"),
                wire::zone_from(l.zone).and_then(|z| match z {
                    Some(z @ (Zone::Nonconforming | Zone::OldParts)) => Ok(z),
                    _ => Err("must be NONCONFORMING or OLD_PARTS".to_owned()),
                }),
            );
            if let (Some(part_no), Some(quantity), Some(zone)) = (part_no, quantity, zone) {
                lines.push(SupplierReturnLine {
                    part_no,
                    quantity,
                    zone,
                });
            }
        }
        v.done(|| {
            Some(ReturnToSupplier {
                idempotency_key: key?,
                supplier_id: supplier?,
                po_number: po?,
                rma_no: rma?,
                lines,
                reason: reason?,
                movement_date: movement_date?,
            })
        })
    }
}

pub fn old_part_to_proto(r: &OldPartReturn) -> pb::OldPartReturn {
    pb::OldPartReturn {
        old_part_id: r.old_part_id.clone(),
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        work_order_no: r.work_order_no.clone(),
        part_no: r.part_no.clone(),
        quantity: r.quantity as u32,
        serial: r.serial.clone(),
        technician_id: r.technician_id.clone(),
        expected_by_date: wire::date_text(r.expected_by_date),
        received_at: Some(wire::timestamp(r.received_at)),
        condition: r.condition.clone(),
    }
}

/// An expected old part as overdue on `as_of`: what is still missing, and by how many days.
pub fn expected_to_proto(e: &Expected, as_of: NaiveDate) -> pb::ExpectedOldPart {
    pb::ExpectedOldPart {
        request_no: e.request_no.clone(),
        branch: e.branch.clone(),
        work_order_no: e.work_order_no.clone(),
        technician_id: e.technician_id.clone(),
        part_no: e.part_no.clone(),
        quantity: (e.quantity - e.received).max(0) as u32,
        expected_by_date: wire::date_text(e.expected_by_date),
        days_overdue: e
            .expected_by_date
            .map(|d| (as_of - d).num_days().max(0) as u32)
            .unwrap_or(0),
    }
}
