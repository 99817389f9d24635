//! Pick lists and issuing against them: parsing the requests, answering with pick lists.

use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text};

use super::date;
use crate::domain::{PartLine, PartNo, Quantity, RequestNo};
use crate::service::{IssueParts, pick_list_id};
use crate::store::reservations::{Reservation, Status};
use crate::wire;

/// A pick list is named after its request: `PL-<request number>`.
pub fn pick_list_request_no(id: &str) -> Result<RequestNo, String> {
    let bad = || "must be a pick list id (PL-<request number>)".to_owned();
    let id = id.trim().to_ascii_uppercase();
    let no = id.strip_prefix("PL-").ok_or_else(bad)?;
    RequestNo::parse(no).map_err(|_| bad())
}

impl TryFrom<&pb::IssuePartsRequest> for IssueParts {
    type Error = Invalid;

    fn try_from(m: &pb::IssuePartsRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("pick_list_id", pick_list_request_no(&m.pick_list_id));
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
                request_no: request_no?,
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
        pick_list_id: pick_list_id(&r.request_no),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pick_list_id_is_pl_and_a_request_number() {
        assert_eq!(
            pick_list_request_no(" pl-as-2611-sh01-000042 ")
                .unwrap()
                .as_str(),
            "AS-2611-SH01-000042"
        );
        assert!(pick_list_request_no("AS-2611-SH01-000042").is_err());
        assert!(pick_list_request_no("PL-whatever").is_err());
    }
}
