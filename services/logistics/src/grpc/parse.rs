//! Every request parsed once into a command (`TryFrom`), naming each bad field at once; nothing
//! is written for a request with a bad field.

use aftersales_platform::paging;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use sha2::Digest;

use crate::domain::{Line, PackedLine, PartNo, RequestNo, Source, Urgency};
use crate::service::{
    CloseException, CompletePickup, Dispatch, FreightQuery, PlanShipment, ReportException,
    SchedulePickup, ShipmentKey, ShipmentQuery, Track,
};
use crate::store::shipments::Filter;
use crate::store::stats::Grouping;
use crate::wire;

/// The largest quantity of one line.
const MAX_QUANTITY: u32 = 100_000;

/// A fingerprint of a request, so that an idempotency key reused with another body is refused.
pub fn fingerprint<M: Message>(m: &M) -> String {
    hex::encode(sha2::Sha256::digest(m.encode_to_vec()))
}

fn idempotency_key(v: &mut Violations, key: &str) -> Option<String> {
    v.check("idempotency_key", required_text(key, 200))
}

fn timestamp(
    v: &mut Violations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<Option<DateTime<Utc>>> {
    match t {
        None => Some(None),
        Some(t) => v
            .check(field, wire::from_timestamp(t))
            .map(|t| Some(crate::service::micros(t))),
    }
}

fn carrier_code(s: &str) -> Result<Option<String>, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Ok(None);
    }
    if t.len() > 40
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("must be a carrier code of letters, digits, '-' and '_' (at most 40)".into());
    }
    Ok(Some(t))
}

fn required_carrier(s: &str) -> Result<String, String> {
    carrier_code(s)?.ok_or_else(|| "is required".to_owned())
}

fn lines(v: &mut Violations, field: &str, lines: &[common::PartLine], required: bool) -> Vec<Line> {
    if required && lines.is_empty() {
        v.add(field, "at least one line is required");
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let part_no = v.check(format!("{field}[{i}].part_no"), PartNo::parse(&l.part_no));
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            v.add(
                format!("{field}[{i}].quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            );
        }
        if let Some(part_no) = part_no {
            out.push(Line {
                part_no: part_no.into_string(),
                quantity: l.quantity,
                valuable: false,
            });
        }
    }
    out
}

fn urgency(v: &mut Violations, raw: i32) -> Option<Urgency> {
    let u = wire::urgency_from(raw);
    if u.is_none() {
        v.add("urgency", "must be one of LOW, NORMAL, HIGH, CRITICAL");
    }
    u
}

fn shipment_no(v: &mut Violations, s: &str) -> Option<String> {
    v.check("shipment_no", number("SH", s))
}

/// `SH-2611-000042` / `PU-2611-000007`, upper-cased.
pub fn number(prefix: &str, s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_uppercase();
    if t.is_empty() {
        return Err("is required".into());
    }
    let mut parts = t.split('-');
    let ok = parts.next() == Some(prefix)
        && parts
            .next()
            .is_some_and(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|p| p.len() == 6 && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_none();
    if ok {
        Ok(t)
    } else {
        Err(format!("must be a number like {prefix}-2611-000042"))
    }
}

/// A consignment's id (a dealer order's order_id or an advance exchange's exchange_id).
pub fn consignment_id(s: &str) -> Result<String, String> {
    required_text(s, 80)
}

fn weight(raw: u32) -> Option<u32> {
    (raw > 0).then_some(raw)
}

impl TryFrom<&pb::PlanShipmentRequest> for PlanShipment {
    type Error = Invalid;

    fn try_from(m: &pb::PlanShipmentRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = idempotency_key(&mut v, &m.idempotency_key);
        let request_no = v.check("request_no", RequestNo::parse(&m.request_no));
        let pick_list_id = v.check("pick_list_id", required_text(&m.pick_list_id, 80));
        let ship_to = match &m.ship_to {
            Some(a) => wire::address_from(&mut v, "ship_to", a),
            None => {
                v.add("ship_to", "is required");
                None
            }
        };
        let urgency = urgency(&mut v, m.urgency);
        let lines = lines(&mut v, "lines", &m.lines, true);
        let method = v.check("method", wire::method_from(m.method));
        let carrier = v.check("carrier", carrier_code(&m.carrier));
        v.done(|| {
            Some(PlanShipment {
                idempotency_key: key?,
                request_hash: fingerprint(m),
                request_no: request_no?,
                pick_list_id: pick_list_id?,
                ship_to: ship_to?,
                urgency: urgency?,
                lines,
                method: method?,
                carrier: carrier?,
                weight_grams: weight(m.weight_grams),
                scope: None,
            })
        })
    }
}

impl TryFrom<&pb::GetShipmentRequest> for ShipmentKey {
    type Error = Invalid;

    fn try_from(m: &pb::GetShipmentRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        if !m.shipment_no.trim().is_empty() {
            let no = shipment_no(&mut v, &m.shipment_no);
            return v.done(|| Some(ShipmentKey::No(no?)));
        }
        let carrier = v.check("carrier", required_carrier(&m.carrier));
        let waybill = v.check("waybill_no", required_text(&m.waybill_no, 80));
        if m.waybill_no.trim().is_empty() {
            v.add("shipment_no", "is required (or waybill_no with carrier)");
        }
        v.done(|| {
            Some(ShipmentKey::Waybill {
                carrier: carrier?,
                waybill_no: waybill?,
            })
        })
    }
}

/// A list request with the service's largest page.
pub struct Paged<'a, M> {
    pub msg: &'a M,
    pub max_page_size: u32,
}

impl TryFrom<Paged<'_, pb::ListShipmentsRequest>> for ShipmentQuery {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::ListShipmentsRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let branch = match m.branch.trim() {
            "" => Some(None),
            b => v
                .check("branch", aftersales_platform::ids::BranchCode::parse(b))
                .map(|b| Some(b.into_string())),
        };
        let request_no = match m.request_no.trim() {
            "" => Some(None),
            r => v
                .check("request_no", RequestNo::parse(r))
                .map(|r| Some(r.into_string())),
        };
        let mut statuses = Vec::new();
        for (i, s) in m.statuses.iter().enumerate() {
            if let Some(s) = v.check(format!("statuses[{i}]"), wire::shipment_status_from(*s)) {
                statuses.push(s);
            }
        }
        let method = v.check("method", wire::method_from(m.method));
        let carrier = v.check("carrier", carrier_code(&m.carrier));
        let (from, to) = match &m.planned {
            None => (Some(None), Some(None)),
            Some(r) => (
                timestamp(&mut v, "planned.from", r.from.as_ref()),
                timestamp(&mut v, "planned.to", r.to.as_ref()),
            ),
        };
        let size = v.check(
            "page_size",
            paging::page_size(m.page_size, 50, p.max_page_size),
        );
        let after = v.check(
            "page_token",
            paging::decode::<(DateTime<Utc>, String)>(&m.page_token),
        );
        v.done(|| {
            Some(ShipmentQuery {
                filter: Filter {
                    branch: branch?,
                    request_no: request_no?,
                    statuses,
                    method: method?,
                    carrier: carrier?,
                    with_open_exception: m.with_open_exception,
                    planned_from: from?,
                    planned_to: to?,
                },
                size: size?,
                after: after?,
            })
        })
    }
}

impl TryFrom<&pb::DispatchShipmentRequest> for Dispatch {
    type Error = Invalid;

    fn try_from(m: &pb::DispatchShipmentRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = shipment_no(&mut v, &m.shipment_no);
        let waybill = v.check("waybill_no", optional_text(&m.waybill_no, 80));
        let carrier = v.check("carrier", carrier_code(&m.carrier));
        let mut packing = Vec::new();
        for (i, l) in m.packing_list.iter().enumerate() {
            let part_no = v.check(
                format!("packing_list[{i}].part_no"),
                PartNo::parse(&l.part_no),
            );
            if !(1..=MAX_QUANTITY).contains(&l.quantity) {
                v.add(
                    format!("packing_list[{i}].quantity"),
                    format!("must be between 1 and {MAX_QUANTITY}"),
                );
            }
            let name = v.check(
                format!("packing_list[{i}].name"),
                optional_text(&l.name, 200),
            );
            let spec = v.check(
                format!("packing_list[{i}].specification"),
                optional_text(&l.specification, 200),
            );
            if let (Some(part_no), Some(name), Some(specification)) = (part_no, name, spec) {
                packing.push(PackedLine {
                    name: if name.is_empty() {
                        part_no.to_string()
                    } else {
                        name
                    },
                    part_no: part_no.into_string(),
                    quantity: l.quantity,
                    package_no: l.package_no.max(1),
                    specification,
                });
            }
        }
        let eta = timestamp(&mut v, "eta", m.eta.as_ref());
        v.done(|| {
            Some(Dispatch {
                shipment_no: no?,
                waybill_no: waybill.map(|w| (!w.is_empty()).then_some(w))?,
                carrier: carrier?,
                packing_list: packing,
                packages: (m.packages > 0).then_some(m.packages),
                weight_grams: weight(m.weight_grams),
                eta: eta?,
                scope: None,
            })
        })
    }
}

impl TryFrom<&pb::RecordTrackingEventRequest> for Track {
    type Error = Invalid;

    fn try_from(m: &pb::RecordTrackingEventRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        // A person's entry names the shipment; a carrier's webhook its waybill.
        let by_shipment = !m.shipment_no.trim().is_empty();
        let (shipment, carrier, waybill) = if by_shipment {
            (
                shipment_no(&mut v, &m.shipment_no).map(Some),
                Some(String::new()),
                Some(String::new()),
            )
        } else {
            (
                Some(None),
                v.check("carrier", required_carrier(&m.carrier)),
                v.check("waybill_no", required_text(&m.waybill_no, 80)),
            )
        };
        let event_id = v.check("carrier_event_id", required_text(&m.carrier_event_id, 120));
        let status = v.check("status", wire::tracking_status_from(m.status));
        let occurred_at = match &m.occurred_at {
            Some(t) => v
                .check("occurred_at", wire::from_timestamp(t))
                .map(crate::service::micros),
            None => {
                v.add("occurred_at", "is required");
                None
            }
        };
        let sent_at = timestamp(&mut v, "sent_at", m.sent_at.as_ref());
        if !by_shipment && m.sent_at.is_none() {
            v.add(
                "sent_at",
                "is required for a carrier's update (inside the signed body)",
            );
        }
        let location = v.check("location", optional_text(&m.location, 200));
        let description = v.check("description", optional_text(&m.description, 1000));
        let signed_by = v.check("signed_by", optional_text(&m.signed_by, 200));
        let raw_status = v.check("raw_status", optional_text(&m.raw_status, 80));
        let eta = timestamp(&mut v, "eta", m.eta.as_ref());
        v.done(|| {
            Some(Track {
                carrier: carrier?,
                waybill_no: waybill?,
                shipment_no: shipment?,
                carrier_event_id: event_id?,
                status: status?,
                occurred_at: occurred_at?,
                sent_at: sent_at?,
                location: location?,
                description: description?,
                signed_by: signed_by?,
                eta: eta?,
                raw_status: raw_status?,
                source: if by_shipment {
                    Source::Staff
                } else {
                    Source::Carrier
                },
                scope: None,
            })
        })
    }
}

impl TryFrom<&pb::ReportExceptionRequest> for ReportException {
    type Error = Invalid;

    fn try_from(m: &pb::ReportExceptionRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = idempotency_key(&mut v, &m.idempotency_key);
        let no = shipment_no(&mut v, &m.shipment_no);
        let kind = v.check("kind", wire::exception_kind_from(m.kind));
        let detail = v.check("detail", required_text(&m.detail, 2000));
        let new_eta = timestamp(&mut v, "new_eta", m.new_eta.as_ref());
        let affected = lines(&mut v, "affected_lines", &m.affected_lines, false);
        v.done(|| {
            Some(ReportException {
                idempotency_key: key?,
                request_hash: fingerprint(m),
                shipment_no: no?,
                kind: kind?,
                detail: detail?,
                new_eta: new_eta?,
                affected_lines: affected,
                actor: String::new(),
                scope: None,
            })
        })
    }
}

impl TryFrom<&pb::CloseExceptionRequest> for CloseException {
    type Error = Invalid;

    fn try_from(m: &pb::CloseExceptionRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = shipment_no(&mut v, &m.shipment_no);
        let id = v.check(
            "exception_id",
            uuid::Uuid::parse_str(m.exception_id.trim())
                .map(|u| u.to_string())
                .map_err(|_| "must be an exception id (a UUID)".to_owned()),
        );
        let resolution = v.check("resolution", required_text(&m.resolution, 2000));
        v.done(|| {
            Some(CloseException {
                shipment_no: no?,
                exception_id: id?,
                resolution: resolution?,
                actor: String::new(),
                scope: None,
            })
        })
    }
}

impl TryFrom<&pb::SchedulePickupRequest> for SchedulePickup {
    type Error = Invalid;

    fn try_from(m: &pb::SchedulePickupRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = idempotency_key(&mut v, &m.idempotency_key);
        let request_no = v.check("request_no", RequestNo::parse(&m.request_no));
        let door = match &m.pickup_address {
            Some(a) => {
                if a.address.trim().is_empty() && !m.customer_ships {
                    v.add("pickup_address.address", "is required: the customer's door");
                }
                wire::address_from(&mut v, "pickup_address", a)
            }
            None => {
                v.add("pickup_address", "is required");
                None
            }
        };
        let window = match &m.window {
            None => Some(None),
            Some(r) => {
                let from = timestamp(&mut v, "window.from", r.from.as_ref());
                let to = timestamp(&mut v, "window.to", r.to.as_ref());
                match (from, to) {
                    (Some(Some(f)), Some(Some(t))) if t > f => Some(Some((f, t))),
                    (Some(Some(_)), Some(Some(_))) => {
                        v.add("window.to", "must be after window.from");
                        None
                    }
                    (Some(_), Some(_)) => {
                        v.add("window", "needs both from and to");
                        None
                    }
                    _ => None,
                }
            }
        };
        let part_no = match m.part_no.trim() {
            "" => Some(String::new()),
            p => v
                .check("part_no", PartNo::parse(p))
                .map(PartNo::into_string),
        };
        let serial = match m.serial.trim() {
            "" => Some(String::new()),
            s => v
                .check("serial", aftersales_platform::ids::Serial::parse(s))
                .map(|s| s.into_string()),
        };
        let model = v.check("model", optional_text(&m.model, 120));
        let mut items = Vec::new();
        for (i, it) in m.items.iter().enumerate() {
            if let Some(t) = v.check(format!("items[{i}]"), required_text(it, 200)) {
                items.push(t);
            }
        }
        let carrier = v.check("carrier", carrier_code(&m.carrier));
        v.done(|| {
            Some(SchedulePickup {
                idempotency_key: key?,
                request_hash: fingerprint(m),
                request_no: request_no?,
                door: door?,
                window: window?,
                part_no: part_no?,
                serial: serial?,
                model: model?,
                items,
                free_of_charge: m.free_of_charge,
                carrier: carrier?,
                customer_ships: m.customer_ships,
                scope: None,
            })
        })
    }
}

impl TryFrom<&pb::CompletePickupRequest> for CompletePickup {
    type Error = Invalid;

    fn try_from(m: &pb::CompletePickupRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("pickup_no", number("PU", &m.pickup_no));
        let collected = timestamp(&mut v, "collected_at", m.collected_at.as_ref());
        let arrived = timestamp(&mut v, "arrived_at", m.arrived_at.as_ref());
        let waybill = v.check("waybill_no", optional_text(&m.waybill_no, 80));
        let mut items = Vec::new();
        for (i, it) in m.items.iter().enumerate() {
            if let Some(t) = v.check(format!("items[{i}]"), required_text(it, 200)) {
                items.push(t);
            }
        }
        let note = v.check("note", optional_text(&m.note, 2000));
        v.done(|| {
            Some(CompletePickup {
                pickup_no: no?,
                collected_at: collected?,
                arrived_at: arrived?,
                waybill_no: waybill.map(|w| (!w.is_empty()).then_some(w))?,
                items,
                note: note?,
                scope: None,
            })
        })
    }
}

/// "YYYY-MM" → its first day.
fn month(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a month (YYYY-MM)"))
}

impl TryFrom<&pb::GetFreightStatsRequest> for FreightQuery {
    type Error = Invalid;

    fn try_from(m: &pb::GetFreightStatsRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let grouping = match pb::FreightGrouping::try_from(m.group_by) {
            Ok(pb::FreightGrouping::Method) => Some(Grouping::Method),
            Ok(pb::FreightGrouping::Carrier) => Some(Grouping::Carrier),
            Ok(pb::FreightGrouping::Region) => Some(Grouping::Region),
            Ok(pb::FreightGrouping::Branch) => Some(Grouping::Branch),
            Ok(pb::FreightGrouping::Month) => Some(Grouping::Month),
            Ok(pb::FreightGrouping::Unspecified) | Err(_) => {
                v.add(
                    "group_by",
                    "must be one of METHOD, CARRIER, REGION, BRANCH, MONTH",
                );
                None
            }
        };
        let month = match m.month.trim() {
            "" => Some(None),
            s => v.check("month", month(s)).map(Some),
        };
        let (from, to) = match &m.period {
            None => (Some(None), Some(None)),
            Some(r) => (
                timestamp(&mut v, "period.from", r.from.as_ref()),
                timestamp(&mut v, "period.to", r.to.as_ref()),
            ),
        };
        if m.period.is_some() && !m.month.trim().is_empty() {
            v.add("month", "give either month or period, not both");
        }
        let branch = match m.branch.trim() {
            "" => Some(None),
            b => v
                .check("branch", aftersales_platform::ids::BranchCode::parse(b))
                .map(|b| Some(b.into_string())),
        };
        v.done(|| {
            Some(FreightQuery {
                grouping: grouping?,
                from: from?,
                to: to?,
                month: month?,
                branch: branch?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipment_and_pickup_numbers_have_a_prefix_a_month_and_a_sequence() {
        assert_eq!(number("SH", " sh-2611-000042 ").unwrap(), "SH-2611-000042");
        for bad in [
            "",
            "SH-2611-42",
            "PU-2611-000042",
            "SH-26-000042",
            "SH-2611-000042-1",
        ] {
            assert!(number("SH", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_carrier_update_needs_its_waybill_event_id_and_send_time_and_names_each_bad_field() {
        let bad = Track::try_from(&pb::RecordTrackingEventRequest {
            carrier: "sim!".into(),
            status: 0,
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|v| v.field.as_str()).collect();
        for f in [
            "carrier",
            "waybill_no",
            "carrier_event_id",
            "status",
            "occurred_at",
            "sent_at",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn a_months_first_day_and_a_bad_month_is_named() {
        assert_eq!(
            month("2026-11").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert!(month("2026-13").is_err());
    }
}
