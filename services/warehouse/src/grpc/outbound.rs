//! Pick lists and issuing against them: parsing the requests, answering with pick lists.

use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text};

use super::date;
use crate::domain::{PartLine, PartNo, PickListId, Quantity};
use crate::service::IssueParts;
use crate::store::reservations::{Reservation, Status};
use crate::wire;

impl TryFrom<&pb::IssuePartsRequest> for IssueParts {
    type Error = Invalid;

    fn try_from(m: &pb::IssuePartsRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let pick_list = v.check("pick_list_id", PickListId::parse(&m.pick_list_id));
        let shipment_no = v.check("shipment_no", optional_text(&m.shipment_no, 64));
        let movement_date = v.check("movement_date", date(&m.movement_date));
        if m.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            let quantity = v.check(format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            if let (Some(part_no), Some(quantity)) = (part_no, quantity) {
                lines.push(PartLine { part_no, quantity });
            }
        }
        v.done(|| {
            Some(IssueParts {
                pick_list: pick_list?,
                // The caller's scope is authorization, set after parsing.
                branch_scope: None,
                lines,
                shipment_no: shipment_no?,
                movement_date: movement_date?,
            })
        })
    }
}

pub fn pick_list_to_proto(r: &Reservation) -> pb::PickList {
    let status = match r.status {
        Status::Issued => pb::PickListStatus::Issued,
        Status::Released => pb::PickListStatus::Cancelled,
        Status::Confirmed | Status::Backordered => pb::PickListStatus::Open,
    };
    pb::PickList {
        pick_list_id: r.pick_list_id(),
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        status: status as i32,
        lines: r.lines.iter().map(wire::pick_line).collect(),
        created_at: r.confirmed_at.map(wire::timestamp),
        issued_at: r.issued_at.map(wire::timestamp),
        issued_by: r.issued_by.clone(),
        shipment_no: r.shipment_no.clone(),
    }
}
