//! The warehouse's values on the wire: the conversions between its domain types and the protobuf
//! types of `warehouse.v1` and `common.v1`, in one place. Requests and events are parsed through
//! these and answers and outgoing events are built with them; nothing else reads or writes a
//! proto enum's number.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::abc::Class;
use crate::domain::dealer::{ConsignmentKind, ExchangeStatus, Identification, Verdict};
use crate::domain::{
    Address, Lifecycle, MovementKind, PartClass, Region, RequestKind, Urgency, Zone,
};
use crate::store::reservations::Line;
use crate::store::returns::{Accessory, ReturnState};

pub fn zone(z: Zone) -> i32 {
    (match z {
        Zone::Qualified => pb::Zone::Qualified,
        Zone::PendingInspection => pb::Zone::PendingInspection,
        Zone::Nonconforming => pb::Zone::Nonconforming,
        Zone::Valuables => pb::Zone::Valuables,
        Zone::OldParts => pb::Zone::OldParts,
        Zone::Turnover => pb::Zone::Turnover,
    }) as i32
}

/// A zone of a request; `None` for UNSPECIFIED (the caller decides whether that means "any").
pub fn zone_from(raw: i32) -> Result<Option<Zone>, String> {
    Ok(Some(match pb::Zone::try_from(raw) {
        Ok(pb::Zone::Unspecified) => return Ok(None),
        Ok(pb::Zone::Qualified) => Zone::Qualified,
        Ok(pb::Zone::PendingInspection) => Zone::PendingInspection,
        Ok(pb::Zone::Nonconforming) => Zone::Nonconforming,
        Ok(pb::Zone::Valuables) => Zone::Valuables,
        Ok(pb::Zone::OldParts) => Zone::OldParts,
        Ok(pb::Zone::Turnover) => Zone::Turnover,
        Err(_) => return Err(format!("{raw} is not a zone")),
    }))
}

/// A zone that must be given.
pub fn required_zone(raw: i32) -> Result<Zone, String> {
    zone_from(raw)?.ok_or_else(|| "is required".to_owned())
}

pub fn movement_kind(k: MovementKind) -> i32 {
    use pb::MovementKind as P;
    (match k {
        MovementKind::Receipt => P::Receipt,
        MovementKind::InspectionPass => P::InspectionPass,
        MovementKind::InspectionFail => P::InspectionFail,
        MovementKind::Issue => P::Issue,
        MovementKind::OldPartReturn => P::OldPartReturn,
        MovementKind::ReturnToSupplier => P::ReturnToSupplier,
        MovementKind::Transfer => P::Transfer,
        MovementKind::StocktakeAdjustment => P::StocktakeAdjustment,
        MovementKind::CustomerReturn => P::CustomerReturn,
        MovementKind::ReturnInspection => P::ReturnInspection,
        MovementKind::AdvanceExchange => P::AdvanceExchange,
    }) as i32
}

pub fn movement_kind_from(raw: i32) -> Result<MovementKind, String> {
    use pb::MovementKind as P;
    Ok(match P::try_from(raw) {
        Ok(P::Receipt) => MovementKind::Receipt,
        Ok(P::InspectionPass) => MovementKind::InspectionPass,
        Ok(P::InspectionFail) => MovementKind::InspectionFail,
        Ok(P::Issue) => MovementKind::Issue,
        Ok(P::OldPartReturn) => MovementKind::OldPartReturn,
        Ok(P::ReturnToSupplier) => MovementKind::ReturnToSupplier,
        Ok(P::Transfer) => MovementKind::Transfer,
        Ok(P::StocktakeAdjustment) => MovementKind::StocktakeAdjustment,
        Ok(P::CustomerReturn) => MovementKind::CustomerReturn,
        Ok(P::ReturnInspection) => MovementKind::ReturnInspection,
        Ok(P::AdvanceExchange) => MovementKind::AdvanceExchange,
        Ok(P::Unspecified) | Err(_) => return Err(format!("{raw} is not a movement kind")),
    })
}

/// A verdict as the event (`OldPartVerdict`) carries it; `None` is UNSPECIFIED.
pub fn old_part_verdict(v: Option<Verdict>) -> i32 {
    use pb::OldPartVerdict as P;
    (match v {
        None => P::Unspecified,
        Some(Verdict::ConfirmedFault) => P::ConfirmedFault,
        Some(Verdict::NoFaultFound) => P::NoFaultFound,
        Some(Verdict::WrongPart) => P::WrongPart,
    }) as i32
}

/// A verdict as the API (`BatchPartVerdict`) carries it; `None` is UNSPECIFIED.
pub fn batch_verdict(v: Option<Verdict>) -> i32 {
    use pb::BatchPartVerdict as P;
    (match v {
        None => P::Unspecified,
        Some(Verdict::ConfirmedFault) => P::ConfirmedFault,
        Some(Verdict::NoFaultFound) => P::NoFaultFound,
        Some(Verdict::WrongPart) => P::WrongPart,
    }) as i32
}

/// An inspector's verdict, which must be given.
pub fn batch_verdict_from(raw: i32) -> Result<Verdict, String> {
    use pb::BatchPartVerdict as P;
    match P::try_from(raw) {
        Ok(P::ConfirmedFault) => Ok(Verdict::ConfirmedFault),
        Ok(P::NoFaultFound) => Ok(Verdict::NoFaultFound),
        Ok(P::WrongPart) => Ok(Verdict::WrongPart),
        Ok(P::Unspecified) => Err("is required".into()),
        Err(_) => Err(format!("{raw} is not a verdict")),
    }
}

pub fn identification(i: Identification) -> i32 {
    use pb::OldPartIdentification as P;
    (match i {
        Identification::Identified => P::Identified,
        Identification::WrongPartNo => P::WrongPartNo,
        Identification::Unidentified => P::Unidentified,
    }) as i32
}

pub fn exchange_status(s: ExchangeStatus) -> i32 {
    use pb::AdvanceExchangeStatus as P;
    (match s {
        ExchangeStatus::Outstanding => P::Outstanding,
        ExchangeStatus::Overdue => P::Overdue,
        ExchangeStatus::Returned => P::Returned,
    }) as i32
}

pub fn consignment_kind(k: ConsignmentKind) -> i32 {
    use common::ConsignmentKind as P;
    (match k {
        ConsignmentKind::DealerOrder => P::DealerOrder,
        ConsignmentKind::AdvanceExchange => P::AdvanceExchange,
    }) as i32
}

pub fn urgency(u: Urgency) -> i32 {
    (match u {
        Urgency::Low => common::Urgency::Low,
        Urgency::Normal => common::Urgency::Normal,
        Urgency::High => common::Urgency::High,
        Urgency::Critical => common::Urgency::Critical,
    }) as i32
}

/// An event's urgency. A value this build does not know (a newer producer) counts as NORMAL
/// rather than refusing the event: the reservation matters more than its place in the queue.
pub fn urgency_from(raw: i32) -> Urgency {
    match common::Urgency::try_from(raw) {
        Ok(common::Urgency::Low) => Urgency::Low,
        Ok(common::Urgency::High) => Urgency::High,
        Ok(common::Urgency::Critical) => Urgency::Critical,
        Ok(common::Urgency::Normal | common::Urgency::Unspecified) | Err(_) => Urgency::Normal,
    }
}

pub fn request_kind(k: Option<RequestKind>) -> i32 {
    use common::RequestKind as P;
    (match k {
        None => P::Unspecified,
        Some(RequestKind::Replacement) => P::Replacement,
        Some(RequestKind::Repair) => P::Repair,
        Some(RequestKind::Return) => P::Return,
        Some(RequestKind::Exchange) => P::Exchange,
        Some(RequestKind::Installation) => P::Installation,
    }) as i32
}

/// An event's request kind; `None` when unspecified or unknown to this build (it is only handed
/// on, so it does not refuse the event).
pub fn request_kind_from(raw: i32) -> Option<RequestKind> {
    use common::RequestKind as P;
    match P::try_from(raw) {
        Ok(P::Replacement) => Some(RequestKind::Replacement),
        Ok(P::Repair) => Some(RequestKind::Repair),
        Ok(P::Return) => Some(RequestKind::Return),
        Ok(P::Exchange) => Some(RequestKind::Exchange),
        Ok(P::Installation) => Some(RequestKind::Installation),
        Ok(P::Unspecified) | Err(_) => None,
    }
}

pub fn address(a: &Address) -> common::Address {
    common::Address {
        recipient: a.recipient.clone(),
        phone: a.phone.clone(),
        address: a.address.clone(),
        region: (match a.region {
            None => common::Region::Unspecified,
            Some(Region::Urban) => common::Region::Urban,
            Some(Region::Suburban) => common::Region::Suburban,
            Some(Region::Remote) => common::Region::Remote,
        }) as i32,
        branch: a.branch.clone(),
    }
}

pub fn address_from(a: &common::Address) -> Address {
    Address {
        recipient: a.recipient.clone(),
        phone: a.phone.clone(),
        address: a.address.clone(),
        region: match common::Region::try_from(a.region) {
            Ok(common::Region::Urban) => Some(Region::Urban),
            Ok(common::Region::Suburban) => Some(Region::Suburban),
            Ok(common::Region::Remote) => Some(Region::Remote),
            Ok(common::Region::Unspecified) | Err(_) => None,
        },
        branch: a.branch.clone(),
    }
}

pub fn part_class(c: PartClass) -> i32 {
    (match c {
        PartClass::Unit => pb::PartClass::Unit,
        PartClass::KeyPart => pb::PartClass::KeyPart,
        PartClass::Accessory => pb::PartClass::Accessory,
        PartClass::Consumable => pb::PartClass::Consumable,
    }) as i32
}

/// `None` for UNSPECIFIED.
pub fn part_class_from(raw: i32) -> Result<Option<PartClass>, String> {
    Ok(Some(match pb::PartClass::try_from(raw) {
        Ok(pb::PartClass::Unspecified) => return Ok(None),
        Ok(pb::PartClass::Unit) => PartClass::Unit,
        Ok(pb::PartClass::KeyPart) => PartClass::KeyPart,
        Ok(pb::PartClass::Accessory) => PartClass::Accessory,
        Ok(pb::PartClass::Consumable) => PartClass::Consumable,
        Err(_) => return Err(format!("{raw} is not a part class")),
    }))
}

pub fn lifecycle(l: Lifecycle) -> i32 {
    (match l {
        Lifecycle::InProduction => pb::Lifecycle::InProduction,
        Lifecycle::SemiDiscontinued => pb::Lifecycle::SemiDiscontinued,
        Lifecycle::Discontinued => pb::Lifecycle::Discontinued,
    }) as i32
}

/// `None` for UNSPECIFIED.
pub fn lifecycle_from(raw: i32) -> Result<Option<Lifecycle>, String> {
    Ok(Some(match pb::Lifecycle::try_from(raw) {
        Ok(pb::Lifecycle::Unspecified) => return Ok(None),
        Ok(pb::Lifecycle::InProduction) => Lifecycle::InProduction,
        Ok(pb::Lifecycle::SemiDiscontinued) => Lifecycle::SemiDiscontinued,
        Ok(pb::Lifecycle::Discontinued) => Lifecycle::Discontinued,
        Err(_) => return Err(format!("{raw} is not a lifecycle")),
    }))
}

/// A product model's lifecycle; UNSPECIFIED for a model the catalogue does not know.
pub fn model_lifecycle(l: Option<Lifecycle>) -> i32 {
    (match l {
        None => pb::ModelLifecycle::Unspecified,
        Some(Lifecycle::InProduction) => pb::ModelLifecycle::InProduction,
        Some(Lifecycle::SemiDiscontinued) => pb::ModelLifecycle::SemiDiscontinued,
        Some(Lifecycle::Discontinued) => pb::ModelLifecycle::Discontinued,
    }) as i32
}

/// `None` for UNSPECIFIED.
pub fn model_lifecycle_from(raw: i32) -> Result<Option<Lifecycle>, String> {
    Ok(Some(match pb::ModelLifecycle::try_from(raw) {
        Ok(pb::ModelLifecycle::Unspecified) => return Ok(None),
        Ok(pb::ModelLifecycle::InProduction) => Lifecycle::InProduction,
        Ok(pb::ModelLifecycle::SemiDiscontinued) => Lifecycle::SemiDiscontinued,
        Ok(pb::ModelLifecycle::Discontinued) => Lifecycle::Discontinued,
        Err(_) => return Err(format!("{raw} is not a model lifecycle")),
    }))
}

pub fn abc_class(c: Option<Class>) -> i32 {
    (match c {
        None => pb::AbcClass::Unspecified,
        Some(Class::A) => pb::AbcClass::A,
        Some(Class::B) => pb::AbcClass::B,
        Some(Class::C) => pb::AbcClass::C,
    }) as i32
}

pub fn money(currency: &str, amount_minor: i64) -> common::Money {
    common::Money {
        currency: currency.to_owned(),
        amount_minor,
    }
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A date as the wire writes it ("YYYY-MM-DD"); empty for none.
pub fn date_text(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub fn time_from(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

/// A held line as a pick list shows it (and the confirmation and release events carry it).
pub fn pick_line(l: &Line) -> pb::PickLine {
    pb::PickLine {
        part_no: l.part_no.clone(),
        quantity: l.held as u32,
        zone: zone(l.zone),
    }
}

/// A line as a back-order shows it: what is still missing.
pub fn backorder_line(l: &Line) -> pb::BackorderLine {
    pb::BackorderLine {
        part_no: l.part_no.clone(),
        requested: l.requested as u32,
        reserved: l.held as u32,
        missing: l.missing() as u32,
    }
}

pub fn accessory(a: &Accessory) -> pb::AccessoryCheck {
    pb::AccessoryCheck {
        part_no: a.part_no.clone(),
        name: a.name.clone(),
        expected: a.expected as u32,
        present: a.present as u32,
    }
}

pub fn return_state(s: ReturnState) -> i32 {
    (match s {
        ReturnState::Received => pb::ReturnStatus::Received,
        ReturnState::Inspected => pb::ReturnStatus::Inspected,
    }) as i32
}

/// A returned unit's status in a request; `None` for UNSPECIFIED (the caller decides what that
/// means).
pub fn return_state_from(raw: i32) -> Result<Option<ReturnState>, String> {
    Ok(Some(match pb::ReturnStatus::try_from(raw) {
        Ok(pb::ReturnStatus::Unspecified) => return Ok(None),
        Ok(pb::ReturnStatus::Received) => ReturnState::Received,
        Ok(pb::ReturnStatus::Inspected) => ReturnState::Inspected,
        Err(_) => return Err(format!("{raw} is not a returned unit's status")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_value_survives_the_wire() {
        for z in Zone::ALL {
            assert_eq!(zone_from(zone(*z)), Ok(Some(*z)));
        }
        for k in MovementKind::ALL {
            assert_eq!(movement_kind_from(movement_kind(*k)), Ok(*k));
        }
        for u in Urgency::ALL {
            assert_eq!(urgency_from(urgency(*u)), *u);
        }
        for v in Verdict::ALL {
            assert_eq!(batch_verdict_from(batch_verdict(Some(*v))), Ok(*v));
            // The event's enum has the API's numbers.
            assert_eq!(old_part_verdict(Some(*v)), batch_verdict(Some(*v)));
        }
        for k in RequestKind::ALL {
            assert_eq!(request_kind_from(request_kind(Some(*k))), Some(*k));
        }
        for c in PartClass::ALL {
            assert_eq!(part_class_from(part_class(*c)), Ok(Some(*c)));
        }
        for l in Lifecycle::ALL {
            assert_eq!(lifecycle_from(lifecycle(*l)), Ok(Some(*l)));
            assert_eq!(
                model_lifecycle_from(model_lifecycle(Some(*l))),
                Ok(Some(*l))
            );
        }
        assert_eq!(model_lifecycle_from(model_lifecycle(None)), Ok(None));
        for s in ReturnState::ALL {
            assert_eq!(return_state_from(return_state(*s)), Ok(Some(*s)));
        }
        for k in ConsignmentKind::ALL {
            assert_ne!(
                consignment_kind(*k),
                common::ConsignmentKind::Unspecified as i32
            );
        }
        let a = Address {
            region: Some(Region::Suburban),
            recipient: "x".into(),
            ..Default::default()
        };
        assert_eq!(address_from(&address(&a)), a);
    }

    #[test]
    fn unknown_numbers_are_named_and_unspecified_is_none() {
        assert_eq!(zone_from(0), Ok(None));
        assert!(zone_from(42).unwrap_err().contains("42"));
        assert!(movement_kind_from(0).is_err());
        assert_eq!(urgency_from(99), Urgency::Normal);
        assert_eq!(request_kind_from(99), None);
        assert!(model_lifecycle_from(9).unwrap_err().contains('9'));
        assert_eq!(return_state_from(0), Ok(None));
        assert!(return_state_from(7).unwrap_err().contains('7'));
    }

    #[test]
    fn model_lifecycles_have_the_numbers_feedback_reads() {
        // Feedback's fill rate: 1 in production, 2 and 3 discontinued, 0 not said.
        assert_eq!(model_lifecycle(Some(Lifecycle::InProduction)), 1);
        assert_eq!(model_lifecycle(Some(Lifecycle::SemiDiscontinued)), 2);
        assert_eq!(model_lifecycle(Some(Lifecycle::Discontinued)), 3);
        assert_eq!(model_lifecycle(None), 0);
    }
}
