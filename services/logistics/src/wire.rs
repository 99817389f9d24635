//! Logistics' values on the wire: the conversions between its domain and store types and the
//! protobuf types of `logistics.v1` and `common.v1`, in one place — the answers, the events it
//! publishes and the enums of what it consumes. Nothing else reads or writes a proto enum's
//! number.

use aftersales_platform::ids::{BranchCode, Phone};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::validate::{Violations, optional_text};
use chrono::{DateTime, Utc};

use crate::domain::{
    Address, ConsignmentKind, ConsignmentStatus, ExceptionKind, Line, Method, PackedLine, PartNo,
    PickupStatus, Region, ShipmentStatus, Source, TrackingStatus, Urgency,
};
use crate::store::consignments::DealerConsignment;
use crate::store::exceptions::ExceptionRow;
use crate::store::pickups::Pickup;
use crate::store::shipments::Shipment;
use crate::store::stats::StatsRow;
use crate::store::tracking::TrackingRow;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(timestamp)
}

/// A timestamp of a request; out of range is an error worded for the caller.
pub fn from_timestamp(t: &prost_types::Timestamp) -> Result<DateTime<Utc>, String> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err("is not a valid timestamp".into());
    }
    DateTime::from_timestamp(t.seconds, t.nanos as u32).ok_or_else(|| "is out of range".into())
}

pub fn money(minor: i64, currency: &str) -> common::Money {
    common::Money {
        currency: currency.to_owned(),
        amount_minor: minor,
    }
}

pub fn urgency(u: Urgency) -> i32 {
    (match u {
        Urgency::Low => common::Urgency::Low,
        Urgency::Normal => common::Urgency::Normal,
        Urgency::High => common::Urgency::High,
        Urgency::Critical => common::Urgency::Critical,
    }) as i32
}

/// An urgency; `None` for UNSPECIFIED or a number this build does not know.
pub fn urgency_from(raw: i32) -> Option<Urgency> {
    match common::Urgency::try_from(raw) {
        Ok(common::Urgency::Low) => Some(Urgency::Low),
        Ok(common::Urgency::Normal) => Some(Urgency::Normal),
        Ok(common::Urgency::High) => Some(Urgency::High),
        Ok(common::Urgency::Critical) => Some(Urgency::Critical),
        Ok(common::Urgency::Unspecified) | Err(_) => None,
    }
}

pub fn region(r: Option<Region>) -> i32 {
    (match r {
        None => common::Region::Unspecified,
        Some(Region::Urban) => common::Region::Urban,
        Some(Region::Suburban) => common::Region::Suburban,
        Some(Region::Remote) => common::Region::Remote,
    }) as i32
}

pub fn region_from(raw: i32) -> Option<Region> {
    match common::Region::try_from(raw) {
        Ok(common::Region::Urban) => Some(Region::Urban),
        Ok(common::Region::Suburban) => Some(Region::Suburban),
        Ok(common::Region::Remote) => Some(Region::Remote),
        Ok(common::Region::Unspecified) | Err(_) => None,
    }
}

pub fn address(a: &Address) -> common::Address {
    common::Address {
        recipient: a.recipient.clone(),
        phone: a.phone.clone(),
        address: a.address.clone(),
        region: region(a.region),
        branch: a.branch.clone(),
    }
}

/// An address of a request or an event, its texts checked and bad ones named under `field`:
/// an address or at least a branch to deliver to, a valid phone when one is given.
pub fn address_from(v: &mut Violations, field: &str, a: &common::Address) -> Option<Address> {
    let recipient = v.check(
        format!("{field}.recipient"),
        optional_text(&a.recipient, 200),
    );
    let phone = v.check(
        format!("{field}.phone"),
        match a.phone.trim() {
            "" => Ok(String::new()),
            p => Phone::parse(p).map(|p| p.as_str().to_owned()),
        },
    );
    let address = v.check(format!("{field}.address"), optional_text(&a.address, 500));
    let branch = v.check(
        format!("{field}.branch"),
        match a.branch.trim() {
            "" => Ok(String::new()),
            b => BranchCode::parse(b).map(BranchCode::into_string),
        },
    );
    if a.address.trim().is_empty() && a.branch.trim().is_empty() {
        v.add(
            format!("{field}.address"),
            "is required (or a branch to deliver to)",
        );
    }
    if common::Region::try_from(a.region).is_err() {
        v.add(
            format!("{field}.region"),
            format!("{} is not a region", a.region),
        );
    }
    Some(Address {
        recipient: recipient?,
        phone: phone?,
        address: address?,
        region: region_from(a.region),
        branch: branch?,
    })
}

/// A warehouse's pick lines as lines to ship, every bad one named (`lines[i].part_no`,
/// `lines[i].quantity`); at least one is required. A line issued from VALUABLES travels insured.
pub fn pick_lines(v: &mut Violations, lines: &[wh::PickLine]) -> Vec<Line> {
    if lines.is_empty() {
        v.add("lines", "at least one line is required");
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
        if l.quantity == 0 {
            v.add(format!("lines[{i}].quantity"), "must be at least 1");
        }
        if let Some(part_no) = part_no {
            out.push(Line {
                part_no: part_no.into_string(),
                quantity: l.quantity,
                valuable: l.zone == wh::Zone::Valuables as i32,
            });
        }
    }
    out
}

pub fn method(m: Method) -> i32 {
    (match m {
        Method::Express => pb::DeliveryMethod::Express,
        Method::DedicatedLine => pb::DeliveryMethod::DedicatedLine,
        Method::SpecialVehicle => pb::DeliveryMethod::SpecialVehicle,
    }) as i32
}

/// A method of a request: `None` for UNSPECIFIED ("chosen by the rate table").
pub fn method_from(raw: i32) -> Result<Option<Method>, String> {
    match pb::DeliveryMethod::try_from(raw) {
        Ok(pb::DeliveryMethod::Unspecified) => Ok(None),
        Ok(pb::DeliveryMethod::Express) => Ok(Some(Method::Express)),
        Ok(pb::DeliveryMethod::DedicatedLine) => Ok(Some(Method::DedicatedLine)),
        Ok(pb::DeliveryMethod::SpecialVehicle) => Ok(Some(Method::SpecialVehicle)),
        Err(_) => Err(format!("{raw} is not a delivery method")),
    }
}

pub fn shipment_status(s: ShipmentStatus) -> i32 {
    use pb::ShipmentStatus as P;
    (match s {
        ShipmentStatus::Planned => P::Planned,
        ShipmentStatus::Dispatched => P::Dispatched,
        ShipmentStatus::InTransit => P::InTransit,
        ShipmentStatus::Delivered => P::Delivered,
        ShipmentStatus::Failed => P::Failed,
        ShipmentStatus::Cancelled => P::Cancelled,
    }) as i32
}

pub fn shipment_status_from(raw: i32) -> Result<ShipmentStatus, String> {
    use pb::ShipmentStatus as P;
    Ok(match P::try_from(raw) {
        Ok(P::Planned) => ShipmentStatus::Planned,
        Ok(P::Dispatched) => ShipmentStatus::Dispatched,
        Ok(P::InTransit) => ShipmentStatus::InTransit,
        Ok(P::Delivered) => ShipmentStatus::Delivered,
        Ok(P::Failed) => ShipmentStatus::Failed,
        Ok(P::Cancelled) => ShipmentStatus::Cancelled,
        Ok(P::Unspecified) | Err(_) => return Err(format!("{raw} is not a shipment status")),
    })
}

pub fn tracking_status(s: TrackingStatus) -> i32 {
    use pb::TrackingStatus as P;
    (match s {
        TrackingStatus::PickedUp => P::PickedUp,
        TrackingStatus::InTransit => P::InTransit,
        TrackingStatus::OutForDelivery => P::OutForDelivery,
        TrackingStatus::Delivered => P::Delivered,
        TrackingStatus::Delayed => P::Delayed,
        TrackingStatus::Damaged => P::Damaged,
        TrackingStatus::Lost => P::Lost,
        TrackingStatus::DeliveryFailed => P::DeliveryFailed,
    }) as i32
}

pub fn tracking_status_from(raw: i32) -> Result<TrackingStatus, String> {
    use pb::TrackingStatus as P;
    Ok(match P::try_from(raw) {
        Ok(P::PickedUp) => TrackingStatus::PickedUp,
        Ok(P::InTransit) => TrackingStatus::InTransit,
        Ok(P::OutForDelivery) => TrackingStatus::OutForDelivery,
        Ok(P::Delivered) => TrackingStatus::Delivered,
        Ok(P::Delayed) => TrackingStatus::Delayed,
        Ok(P::Damaged) => TrackingStatus::Damaged,
        Ok(P::Lost) => TrackingStatus::Lost,
        Ok(P::DeliveryFailed) => TrackingStatus::DeliveryFailed,
        Ok(P::Unspecified) => return Err("is required".into()),
        Err(_) => return Err(format!("{raw} is not a tracking status")),
    })
}

pub fn exception_kind(k: ExceptionKind) -> i32 {
    (match k {
        ExceptionKind::Delay => pb::ExceptionKind::Delay,
        ExceptionKind::Damage => pb::ExceptionKind::Damage,
        ExceptionKind::Loss => pb::ExceptionKind::Loss,
    }) as i32
}

pub fn exception_kind_from(raw: i32) -> Result<ExceptionKind, String> {
    match pb::ExceptionKind::try_from(raw) {
        Ok(pb::ExceptionKind::Delay) => Ok(ExceptionKind::Delay),
        Ok(pb::ExceptionKind::Damage) => Ok(ExceptionKind::Damage),
        Ok(pb::ExceptionKind::Loss) => Ok(ExceptionKind::Loss),
        Ok(pb::ExceptionKind::Unspecified) => Err("is required".into()),
        Err(_) => Err(format!("{raw} is not an exception kind")),
    }
}

pub fn source(s: Source) -> i32 {
    (match s {
        Source::Carrier => pb::ReportSource::Carrier,
        Source::Staff => pb::ReportSource::Staff,
        Source::Scanner => pb::ReportSource::Scanner,
    }) as i32
}

pub fn pickup_status(s: PickupStatus) -> i32 {
    use pb::PickupStatus as P;
    (match s {
        PickupStatus::Scheduled => P::Scheduled,
        PickupStatus::Collected => P::Collected,
        PickupStatus::Delivered => P::Delivered,
        PickupStatus::Failed => P::Failed,
        PickupStatus::Cancelled => P::Cancelled,
    }) as i32
}

pub fn consignment_kind(k: ConsignmentKind) -> i32 {
    (match k {
        ConsignmentKind::DealerOrder => common::ConsignmentKind::DealerOrder,
        ConsignmentKind::AdvanceExchange => common::ConsignmentKind::AdvanceExchange,
    }) as i32
}

/// A consignment's kind; UNSPECIFIED or a number this build does not know is an error.
pub fn consignment_kind_from(raw: i32) -> Result<ConsignmentKind, String> {
    match common::ConsignmentKind::try_from(raw) {
        Ok(common::ConsignmentKind::DealerOrder) => Ok(ConsignmentKind::DealerOrder),
        Ok(common::ConsignmentKind::AdvanceExchange) => Ok(ConsignmentKind::AdvanceExchange),
        Ok(common::ConsignmentKind::Unspecified) => Err("is required".into()),
        Err(_) => Err(format!("{raw} is not a consignment kind")),
    }
}

pub fn consignment_status(s: ConsignmentStatus) -> i32 {
    (match s {
        ConsignmentStatus::Dispatched => pb::ConsignmentStatus::Dispatched,
    }) as i32
}

pub fn part_line(l: &Line) -> common::PartLine {
    common::PartLine {
        part_no: l.part_no.clone(),
        quantity: l.quantity,
    }
}

pub fn packing_line(l: &PackedLine) -> pb::PackingLine {
    pb::PackingLine {
        part_no: l.part_no.clone(),
        quantity: l.quantity,
        package_no: l.package_no,
        name: l.name.clone(),
        specification: l.specification.clone(),
    }
}

pub fn tracking_event(t: &TrackingRow) -> pb::TrackingEvent {
    pb::TrackingEvent {
        carrier_event_id: t.carrier_event_id.clone(),
        status: tracking_status(t.status),
        occurred_at: Some(timestamp(t.occurred_at)),
        location: t.location.clone(),
        description: t.description.clone(),
        applied: t.applied,
        note: t.note.clone(),
        recorded_at: Some(timestamp(t.recorded_at)),
        source: source(t.source),
    }
}

pub fn exception(e: &ExceptionRow) -> pb::ExceptionRecord {
    pb::ExceptionRecord {
        exception_id: e.exception_id.clone(),
        kind: exception_kind(e.kind),
        detail: e.detail.clone(),
        source: source(e.source),
        reported_at: Some(timestamp(e.reported_at)),
        resolved: e.resolved_at.is_some(),
        resolution: e.resolution.clone(),
        resolved_at: ts(e.resolved_at),
        resolved_by: e.resolved_by.clone(),
        new_eta: ts(e.new_eta),
        shipment_no: e.shipment_no.clone(),
        replacement_needed: e.replacement_needed,
        affected_lines: e.affected_lines.iter().map(part_line).collect(),
    }
}

pub fn shipment(
    s: &Shipment,
    tracking: &[TrackingRow],
    exceptions: &[ExceptionRow],
) -> pb::Shipment {
    pb::Shipment {
        shipment_no: s.shipment_no.clone(),
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        pick_list_id: s.pick_list_id.clone(),
        status: shipment_status(s.status),
        method: method(s.method),
        carrier: s.carrier.clone(),
        waybill_no: s.waybill_no.clone().unwrap_or_default(),
        ship_to: Some(address(&s.ship_to)),
        origin: s.origin.clone(),
        urgency: urgency(s.urgency),
        packing_list: s.packing_list.iter().map(packing_line).collect(),
        packages: s.packages.max(0) as u32,
        weight_grams: s.weight_grams.clamp(0, i64::from(u32::MAX)) as u32,
        estimated_cost: Some(money(s.estimated_cost_minor, &s.currency)),
        actual_cost: s.actual_cost_minor.map(|m| money(m, &s.currency)),
        method_reason: s.method_reason.clone(),
        planned_at: Some(timestamp(s.planned_at)),
        dispatched_at: ts(s.dispatched_at),
        eta: ts(s.eta.or(s.estimated_delivery)),
        delivered_at: ts(s.delivered_at),
        signed_by: s.signed_by.clone(),
        tracking: tracking.iter().map(tracking_event).collect(),
        exceptions: exceptions.iter().map(exception).collect(),
        replaces_shipment_no: s.replaces_shipment_no.clone(),
        insured_value: Some(money(s.insured_value_minor, &s.currency)),
        method_rule: s.method_rule.clone(),
        consolidation_id: s.consolidation_id.clone(),
        promised_eta: ts(s.promised_eta),
        replaced_by_shipment_no: s.replaced_by_shipment_no.clone(),
        cancelled_at: ts(s.cancelled_at),
    }
}

pub fn consignment(c: &DealerConsignment) -> pb::Consignment {
    pb::Consignment {
        consignment_id: c.consignment_id.clone(),
        kind: consignment_kind(c.kind),
        dealer_code: c.dealer_code.clone(),
        branch: c.branch.clone(),
        shipment_no: c.shipment_no.clone(),
        status: consignment_status(c.status),
        method: method(c.method),
        method_reason: c.method_reason.clone(),
        carrier: c.carrier.clone(),
        waybill_no: c.waybill_no.clone(),
        ship_to: Some(address(&c.ship_to)),
        lines: c.lines.iter().map(part_line).collect(),
        value: Some(money(c.value_minor, &c.value_currency)),
        estimated_cost: Some(money(c.estimated_cost_minor, &c.currency)),
        dispatched_at: Some(timestamp(c.dispatched_at)),
        eta: Some(timestamp(c.eta)),
        dealer_reference: c.dealer_reference.clone(),
    }
}

pub fn pickup(p: &Pickup, tracking: &[TrackingRow]) -> pb::Pickup {
    pb::Pickup {
        pickup_no: p.pickup_no.clone(),
        request_no: p.request_no.clone(),
        branch: p.branch.clone(),
        status: pickup_status(p.status),
        pickup_address: Some(address(&p.pickup_address)),
        destination: p.destination.clone(),
        window: (p.window_from.is_some() || p.window_to.is_some()).then(|| common::TimeRange {
            from: ts(p.window_from),
            to: ts(p.window_to),
        }),
        carrier: p.carrier.clone(),
        waybill_no: p.waybill_no.clone().unwrap_or_default(),
        method: method(p.method),
        part_no: p.part_no.clone(),
        serial: p.serial.clone(),
        model: p.model.clone(),
        items: p.items.clone(),
        free_of_charge: p.free_of_charge,
        fee: Some(money(p.fee_minor, &p.currency)),
        estimated_cost: Some(money(p.estimated_cost_minor, &p.currency)),
        scheduled_at: Some(timestamp(p.scheduled_at)),
        collected_at: ts(p.collected_at),
        tracking: tracking.iter().map(tracking_event).collect(),
        customer_ships: p.customer_ships,
        arrived_at: ts(p.arrived_at),
        chase_due_at: ts(p.chase_due_at),
        chased_at: ts(p.chased_at),
        fee_reason: p.fee_reason.clone(),
        cancelled_at: ts(p.cancelled_at),
    }
}

pub fn stats_row(r: &StatsRow, currency: &str) -> pb::FreightStatsRow {
    let count = |n: i64| n.clamp(0, i64::from(u32::MAX)) as u32;
    let consignments = r.shipments + r.pickups;
    pb::FreightStatsRow {
        key: r.key.clone(),
        shipments: count(r.shipments),
        pickups: count(r.pickups),
        total_cost: Some(money(r.cost_minor, currency)),
        average_cost: Some(money(
            if consignments > 0 {
                r.cost_minor / consignments
            } else {
                0
            },
            currency,
        )),
        delivered: count(r.delivered),
        on_time: count(r.on_time),
        on_time_rate_bp: if r.delivered > 0 {
            count(r.on_time * 10_000 / r.delivered)
        } else {
            0
        },
        average_transit_minutes: if r.delivered > 0 {
            count(r.transit_minutes / r.delivered)
        } else {
            0
        },
        delays: count(r.delays),
        damages: count(r.damages),
        losses: count(r.losses),
        exception_rate_bp: if r.shipments > 0 {
            count((r.delays + r.damages + r.losses) * 10_000 / r.shipments)
        } else {
            0
        },
    }
}

/// The proposed `logistics.pickup.overdue` (see events.proto): staged by the returns chase once
/// the catalogue has it.
pub fn pickup_overdue_event(p: &Pickup) -> pb::PickupOverdue {
    pb::PickupOverdue {
        request_no: p.request_no.clone(),
        branch: p.branch.clone(),
        pickup_no: p.pickup_no.clone(),
        scheduled_at: Some(timestamp(p.scheduled_at)),
        chase_due_at: ts(p.chase_due_at),
        chased_at: ts(p.chased_at),
        part_no: p.part_no.clone(),
        serial: p.serial.clone(),
    }
}

// The events logistics publishes.

pub fn planned_event(s: &Shipment) -> pb::ShipmentPlanned {
    pb::ShipmentPlanned {
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        shipment_no: s.shipment_no.clone(),
        pick_list_id: s.pick_list_id.clone(),
        method: method(s.method),
        carrier: s.carrier.clone(),
        ship_to: Some(address(&s.ship_to)),
        urgency: urgency(s.urgency),
        lines: s.lines.iter().map(part_line).collect(),
        estimated_cost: Some(money(s.estimated_cost_minor, &s.currency)),
        estimated_delivery: ts(s.estimated_delivery),
        replaces_shipment_no: s.replaces_shipment_no.clone(),
        method_reason: s.method_reason.clone(),
        insured_value: Some(money(s.insured_value_minor, &s.currency)),
        consolidation_id: s.consolidation_id.clone(),
    }
}

pub fn dispatched_event(s: &Shipment) -> pb::ShipmentDispatched {
    pb::ShipmentDispatched {
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        shipment_no: s.shipment_no.clone(),
        waybill_no: s.waybill_no.clone().unwrap_or_default(),
        carrier: s.carrier.clone(),
        method: method(s.method),
        eta: ts(s.eta),
        dispatched_at: ts(s.dispatched_at),
        packing_list: s.packing_list.iter().map(packing_line).collect(),
        ship_to: Some(address(&s.ship_to)),
        pick_list_id: s.pick_list_id.clone(),
        insured_value: Some(money(s.insured_value_minor, &s.currency)),
        replaces_shipment_no: s.replaces_shipment_no.clone(),
    }
}

/// The shipment notice of a dealer's consignment (envelope subject = consignment_id).
pub fn consignment_dispatched_event(c: &DealerConsignment) -> pb::ConsignmentDispatched {
    pb::ConsignmentDispatched {
        consignment_id: c.consignment_id.clone(),
        kind: consignment_kind(c.kind),
        dealer_code: c.dealer_code.clone(),
        branch: c.branch.clone(),
        shipment_no: c.shipment_no.clone(),
        waybill_no: c.waybill_no.clone(),
        carrier: c.carrier.clone(),
        method: method(c.method),
        ship_to: Some(address(&c.ship_to)),
        lines: c.lines.iter().map(part_line).collect(),
        value: Some(money(c.value_minor, &c.value_currency)),
        dispatched_at: Some(timestamp(c.dispatched_at)),
        eta: Some(timestamp(c.eta)),
        estimated_cost: Some(money(c.estimated_cost_minor, &c.currency)),
        dealer_reference: c.dealer_reference.clone(),
    }
}

pub fn delivered_event(s: &Shipment) -> pb::ShipmentDelivered {
    pb::ShipmentDelivered {
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        shipment_no: s.shipment_no.clone(),
        waybill_no: s.waybill_no.clone().unwrap_or_default(),
        carrier: s.carrier.clone(),
        delivered_at: ts(s.delivered_at),
        signed_by: s.signed_by.clone(),
        on_time: matches!((s.delivered_at, s.promised_eta), (Some(d), Some(p)) if d <= p),
        eta: ts(s.promised_eta),
        onsite_required: s.onsite_required,
        kind: s.kind,
        method: method(s.method),
        lines: s.lines.iter().map(part_line).collect(),
    }
}

pub fn exception_event(s: &Shipment, e: &ExceptionRow) -> pb::ShipmentException {
    pb::ShipmentException {
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        shipment_no: s.shipment_no.clone(),
        exception_id: e.exception_id.clone(),
        kind: exception_kind(e.kind),
        detail: e.detail.clone(),
        source: source(e.source),
        waybill_no: s.waybill_no.clone().unwrap_or_default(),
        carrier: s.carrier.clone(),
        reported_at: Some(timestamp(e.reported_at)),
        new_eta: ts(e.new_eta),
        affected_lines: e.affected_lines.iter().map(part_line).collect(),
        pick_list_id: s.pick_list_id.clone(),
        replacement_needed: e.replacement_needed,
        urgency: urgency(s.urgency),
        ship_to: Some(address(&s.ship_to)),
    }
}

pub fn pickup_scheduled_event(p: &Pickup) -> pb::PickupScheduled {
    pb::PickupScheduled {
        request_no: p.request_no.clone(),
        branch: p.branch.clone(),
        pickup_no: p.pickup_no.clone(),
        window: (p.window_from.is_some() || p.window_to.is_some()).then(|| common::TimeRange {
            from: ts(p.window_from),
            to: ts(p.window_to),
        }),
        pickup_address: Some(address(&p.pickup_address)),
        carrier: p.carrier.clone(),
        waybill_no: p.waybill_no.clone().unwrap_or_default(),
        part_no: p.part_no.clone(),
        serial: p.serial.clone(),
        items: p.items.clone(),
        free_of_charge: p.free_of_charge,
        fee: Some(money(p.fee_minor, &p.currency)),
        customer_ships: p.customer_ships,
        model: p.model.clone(),
    }
}

pub fn pickup_completed_event(p: &Pickup) -> pb::PickupCompleted {
    pb::PickupCompleted {
        request_no: p.request_no.clone(),
        branch: p.branch.clone(),
        pickup_no: p.pickup_no.clone(),
        carrier: p.carrier.clone(),
        waybill_no: p.waybill_no.clone().unwrap_or_default(),
        collected_at: ts(p.collected_at),
        part_no: p.part_no.clone(),
        serial: p.serial.clone(),
        model: p.model.clone(),
        items: p
            .items_handed_over
            .clone()
            .unwrap_or_else(|| p.items.clone()),
        destination: p.destination.clone(),
        eta: None,
        arrived_at: ts(p.arrived_at),
        customer_shipped: p.customer_ships,
        free_of_charge: p.free_of_charge,
        fee: Some(money(p.fee_minor, &p.currency)),
    }
}
