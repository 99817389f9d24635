//! Parts, stock, the ledger and back-orders: parsing their requests, answering with them.

use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::{Paged, optional, page};
use crate::domain::{BranchCode, Money, PartNo, PartSpec, RequestNo, Zone};
use crate::service::{BackorderQuery, LedgerQuery, PartsQuery, StockView};
use crate::store::parts::Part;
use crate::store::reservations::{BackorderState, Reservation, Status};
use crate::store::stock::LedgerEntry;
use crate::wire;

impl TryFrom<&pb::UpsertPartRequest> for PartSpec {
    type Error = Invalid;

    fn try_from(m: &pb::UpsertPartRequest) -> Result<Self, Invalid> {
        let Some(p) = &m.part else {
            return Err(Invalid::field("part", "is required"));
        };
        let mut v = Violations::new();
        let part_no = v.check("part.part_no", PartNo::parse(&p.part_no));
        let name = v.check("part.name", required_text(&p.name, 200));
        let spec = v.check("part.spec", optional_text(&p.spec, 1000));
        let unit = v.check("part.unit", required_text(&p.unit, 20));
        let category = v.check(
            "part.product_category",
            optional_text(&p.product_category, 64),
        );
        let mut models = Vec::new();
        for (i, m) in p.compatible_models.iter().enumerate() {
            if let Some(m) = v.check(format!("part.compatible_models[{i}]"), required_text(m, 64)) {
                models.push(m);
            }
        }
        let class = v.check(
            "part.part_class",
            wire::part_class_from(p.part_class).and_then(|c| {
                c.ok_or_else(|| "is required: UNIT, KEY_PART, ACCESSORY or CONSUMABLE".into())
            }),
        );
        let lifecycle = v.check(
            "part.lifecycle",
            wire::lifecycle_from(p.lifecycle).and_then(|l| {
                l.ok_or_else(|| {
                    "is required: IN_PRODUCTION, SEMI_DISCONTINUED or DISCONTINUED".into()
                })
            }),
        );
        let cost = match &p.unit_cost {
            None => {
                v.add("part.unit_cost", "is required");
                None
            }
            Some(m) => {
                let currency = v.check("part.unit_cost.currency", Money::currency(&m.currency));
                let amount = v.check("part.unit_cost.amount_minor", Money::cost(m.amount_minor));
                currency.zip(amount).map(|(currency, amount_minor)| Money {
                    currency,
                    amount_minor,
                })
            }
        };
        v.done(|| {
            Some(PartSpec {
                part_no: part_no?,
                name: name?,
                spec: spec?,
                unit: unit?,
                compatible_models: models,
                part_class: class?,
                valuable: p.valuable,
                unit_cost: cost?,
                lifecycle: lifecycle?,
                safety_stock: i64::from(p.safety_stock),
                reorder_point: i64::from(p.reorder_point),
                reorder_quantity: i64::from(p.reorder_quantity),
                product_category: category?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListPartsRequest>> for PartsQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListPartsRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        // Parts are the widest rows: a catalogue page is capped lower than the other lists.
        let page = page(
            &mut v,
            m.page_size,
            &m.page_token,
            50,
            r.max_page_size.min(200),
        );
        let query = v.check("query", optional_text(&m.query, 100));
        let model = v.check("compatible_model", optional_text(&m.compatible_model, 64));
        let part_class = v.check("part_class", wire::part_class_from(m.part_class));
        let lifecycle = v.check("lifecycle", wire::lifecycle_from(m.lifecycle));
        v.done(|| {
            Some(PartsQuery {
                query: query?,
                compatible_model: Some(model?).filter(|m| !m.is_empty()),
                part_class: part_class?,
                lifecycle: lifecycle?,
                page: page?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListLedgerRequest>> for LedgerQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListLedgerRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        let part_no = v.check("part_no", optional(&m.part_no, PartNo::parse));
        let zone = v.check("zone", wire::zone_from(m.zone));
        let mut kinds = Vec::new();
        for (i, k) in m.kinds.iter().enumerate() {
            if let Some(k) = v.check(format!("kinds[{i}]"), wire::movement_kind_from(*k)) {
                kinds.push(k);
            }
        }
        let reference_id = v.check("reference_id", optional_text(&m.reference_id, 64));
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let page = page(&mut v, m.page_size, &m.page_token, 100, r.max_page_size);
        let (from, to) = m
            .recorded
            .as_ref()
            .map(|r| (wire::time_from(&r.from), wire::time_from(&r.to)))
            .unwrap_or((None, None));
        v.done(|| {
            Some(LedgerQuery {
                part_no: part_no?,
                zone: zone?,
                kinds,
                reference_id: Some(reference_id?).filter(|s| !s.is_empty()),
                request_no: request_no?,
                recorded_from: from,
                recorded_to: to,
                page: page?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListBackordersRequest>> for BackorderQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListBackordersRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        let part_no = v.check("part_no", optional(&m.part_no, PartNo::parse));
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let state = v.check(
            "status",
            match pb::BackorderStatus::try_from(m.status) {
                Ok(pb::BackorderStatus::Unspecified | pb::BackorderStatus::Open) => {
                    Ok(BackorderState::Open)
                }
                Ok(pb::BackorderStatus::Served) => Ok(BackorderState::Served),
                Ok(pb::BackorderStatus::Cancelled) => Ok(BackorderState::Cancelled),
                Err(_) => Err(format!("{} is not a back-order status", m.status)),
            },
        );
        let page = page(&mut v, m.page_size, &m.page_token, 100, r.max_page_size);
        v.done(|| {
            Some(BackorderQuery {
                part_no: part_no?,
                branch: branch?.map(BranchCode::into_string),
                state: state?,
                page: page?,
            })
        })
    }
}

pub fn part_to_proto(p: &Part) -> pb::Part {
    pb::Part {
        part_no: p.part_no.clone(),
        name: p.name.clone(),
        spec: p.spec.clone(),
        unit: p.unit.clone(),
        compatible_models: p.compatible_models.clone(),
        part_class: wire::part_class(p.part_class),
        valuable: p.valuable,
        unit_cost: Some(wire::money(&p.unit_cost_currency, p.unit_cost_minor)),
        lifecycle: wire::lifecycle(p.lifecycle),
        safety_stock: p.safety_stock as u32,
        reorder_point: p.reorder_point as u32,
        reorder_quantity: p.reorder_quantity as u32,
        abc_class: wire::abc_class(p.abc_class),
        created_at: Some(wire::timestamp(p.created_at)),
        updated_at: Some(wire::timestamp(p.updated_at)),
        product_category: p.product_category.clone(),
    }
}

pub fn stock_to_proto(s: &StockView) -> pb::StockLevel {
    let u = |n: i64| n.max(0) as u32;
    pb::StockLevel {
        part_no: s.part.part_no.clone(),
        available: u(s.available),
        on_hand: u(s.levels.iter().map(|l| l.on_hand).sum()),
        reserved: u(s.levels.iter().map(|l| l.reserved).sum()),
        zones: Zone::ALL
            .iter()
            .map(|z| {
                let l = s.levels.iter().find(|l| l.zone == *z);
                pb::ZoneStock {
                    zone: wire::zone(*z),
                    on_hand: u(l.map(|l| l.on_hand).unwrap_or(0)),
                    reserved: u(l.map(|l| l.reserved).unwrap_or(0)),
                    available: u(l.map(|l| l.available()).unwrap_or(0)),
                }
            })
            .collect(),
        reorder_point: u(s.part.reorder_point),
        backordered: u(s.backordered),
    }
}

pub fn ledger_to_proto(e: &LedgerEntry) -> pb::LedgerEntry {
    pb::LedgerEntry {
        entry_id: e.entry_id as u64,
        part_no: e.part_no.clone(),
        zone: wire::zone(e.zone),
        kind: wire::movement_kind(e.kind),
        quantity: e.quantity as i32,
        balance_after: e.balance_after as u32,
        reference_type: e.reference_type.clone(),
        reference_id: e.reference_id.clone(),
        request_no: e.request_no.clone(),
        reason: e.reason.clone(),
        actor: e.actor.clone(),
        movement_date: e.movement_date.to_string(),
        recorded_at: Some(wire::timestamp(e.recorded_at)),
    }
}

pub fn backorder_to_proto(r: &Reservation) -> pb::Backorder {
    let status = match r.status {
        Status::Backordered => pb::BackorderStatus::Open,
        Status::Confirmed | Status::Issued => pb::BackorderStatus::Served,
        Status::Released => pb::BackorderStatus::Cancelled,
    };
    pb::Backorder {
        backorder_id: r.backorder_id(),
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        urgency: wire::urgency(r.urgency),
        status: status as i32,
        lines: r.lines.iter().map(wire::backorder_line).collect(),
        created_at: r.backordered_at.map(wire::timestamp),
        served_at: if status == pb::BackorderStatus::Served {
            r.confirmed_at.map(wire::timestamp)
        } else {
            None
        },
    }
}
