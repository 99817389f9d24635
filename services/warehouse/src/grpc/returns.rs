//! Units returned by customers: parsing the requests, answering with returned units.

use aftersales_platform::ids::Serial;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::{Paged, date, optional, page};
use crate::domain::{PartNo, RequestNo};
use crate::service::{AccessoryCheck, InspectReturn, ReceiveReturn, ReturnsQuery};
use crate::store::returns::{ReturnState, ReturnedUnit};
use crate::wire;

impl TryFrom<&pb::ReceiveReturnRequest> for ReceiveReturn {
    type Error = Invalid;

    fn try_from(m: &pb::ReceiveReturnRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let request_no = v.check("request_no", RequestNo::parse(&m.request_no));
        let pickup_no = v.check("pickup_no", optional_text(&m.pickup_no, 64));
        let part_no = v.check("part_no", PartNo::parse(&m.part_no));
        let serial = v.check("serial", optional(&m.serial, Serial::parse));
        let model = v.check("model", optional_text(&m.model, 64));
        let movement_date = v.check("movement_date", date(&m.movement_date));
        v.done(|| {
            Some(ReceiveReturn {
                idempotency_key: key?,
                request_no: request_no?,
                pickup_no: pickup_no?,
                part_no: part_no?,
                serial: serial?,
                model: model?,
                movement_date: movement_date?,
            })
        })
    }
}

impl TryFrom<&pb::InspectReturnRequest> for InspectReturn {
    type Error = Invalid;

    fn try_from(m: &pb::InspectReturnRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let return_id = v.check("return_id", required_text(&m.return_id, 64));
        let note = v.check("inspection_note", optional_text(&m.inspection_note, 1000));
        let mut accessories = Vec::new();
        for (i, a) in m.accessories.iter().enumerate() {
            let name = v.check(
                format!("accessories[{i}].name"),
                required_text(&a.name, 200),
            );
            let part_no = v.check(
                format!("accessories[{i}].part_no"),
                optional(&a.part_no, PartNo::parse),
            );
            if a.present > a.expected {
                v.add(
                    format!("accessories[{i}].present"),
                    "must not exceed expected",
                );
            }
            if let (Some(name), Some(part_no)) = (name, part_no) {
                accessories.push(AccessoryCheck {
                    part_no,
                    name,
                    expected: a.expected,
                    present: a.present,
                });
            }
        }
        v.done(|| {
            Some(InspectReturn {
                return_id: return_id?,
                accessories,
                resaleable: m.resaleable,
                note: note?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListReturnsRequest>> for ReturnsQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListReturnsRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        // UNSPECIFIED is the intake's work list: the units waiting for their inspection.
        let state = v.check("status", wire::return_state_from(m.status));
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let page = page(
            &mut v,
            m.page_size,
            &m.page_token,
            50,
            r.max_page_size.min(200),
        );
        v.done(|| {
            Some(ReturnsQuery {
                state: state?.unwrap_or(ReturnState::Received),
                request_no: request_no?,
                page: page?,
            })
        })
    }
}

pub fn returned_unit_to_proto(u: &ReturnedUnit) -> pb::ReturnedUnit {
    pb::ReturnedUnit {
        return_id: u.return_id.clone(),
        request_no: u.request_no.clone(),
        branch: u.branch.clone(),
        pickup_no: u.pickup_no.clone(),
        part_no: u.part_no.clone(),
        serial: u.serial.clone(),
        model: u.model.clone(),
        status: wire::return_state(if u.inspected {
            ReturnState::Inspected
        } else {
            ReturnState::Received
        }),
        accessories: u.accessories.iter().map(wire::accessory).collect(),
        resaleable: u.resaleable,
        zone: u.zone.map(wire::zone).unwrap_or(0),
        inspection_note: u.inspection_note.clone(),
        received_at: Some(wire::timestamp(u.received_at)),
        inspected_at: u.inspected_at.map(wire::timestamp),
        inspected_by: u.inspected_by.clone(),
    }
}
