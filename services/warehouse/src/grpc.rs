//! The tonic service: proto → domain through parsing (once, here), authorization on every call,
//! domain → proto for answers, one `Error → Status` mapping.

use std::collections::HashMap;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::grpc::Violation;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::proto::warehouse::v1::warehouse_service_server::WarehouseService;
use chrono::{DateTime, NaiveDate, Utc};
use tonic::{Request, Response, Status};

use crate::domain::stocktake::parse_period;
use crate::domain::{MovementKind, PartNo, Quantity, Zone};
use crate::error::Error;
use crate::service::{
    self, InspectionLine, IssueParts, ReceiveGoods, ReceiveOldPart, ReceiveReturn,
    ReturnToSupplier, StockView, Warehouse, accessory_to_proto, backorder_id, backorder_line,
    pick_line, pick_list_id, timestamp, zone_to_proto,
};
use crate::store::parts::Part;
use crate::store::receipts::Receipt;
use crate::store::reservations::{BackorderFilter, BackorderState, Reservation, Status as RStatus};
use crate::store::returns::{Accessory, ReturnedUnit};
use crate::store::stock::{LedgerEntry, LedgerFilter};
use crate::store::stocktakes::{Stocktake, StocktakeLine};

/// Who may move stock and change the catalogue (admin always may).
const WRITERS: &[Role] = &[Role::Warehouse];
/// Who may read stock, the ledger and back-orders.
const READERS: &[Role] = &[
    Role::BranchAgent,
    Role::Reviewer,
    Role::Warehouse,
    Role::Procurement,
    Role::Dispatcher,
    Role::Technician,
    Role::Analyst,
];

pub struct Api {
    pub warehouse: Warehouse,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }
}

/// Collects every bad field of one message.
#[derive(Default)]
struct Bad(Vec<Violation>);

impl Bad {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation::new(field, description));
    }
    fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.add(field, e)).ok()
    }
    fn done(self) -> Result<(), Status> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0).into())
        }
    }
}

fn text(s: &str, max: usize, required: bool) -> Result<String, String> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err("is required".into());
    }
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(t.to_owned())
}

fn part_no(s: &str) -> Result<String, String> {
    PartNo::parse(s).map(|p| p.as_str().to_owned())
}

fn movement_date(s: &str) -> Result<NaiveDate, String> {
    let today = Utc::now().date_naive();
    if s.trim().is_empty() {
        return Ok(today);
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))?;
    if d > today.succ_opt().unwrap_or(today) {
        return Err("must not be in the future".into());
    }
    Ok(d)
}

fn page_size(n: u32, default: u32, max: u32) -> Result<u32, String> {
    match n {
        0 => Ok(default.min(max)),
        n if n <= max => Ok(n),
        _ => Err(format!("must be at most {max}")),
    }
}

fn zone_from(raw: i32) -> Result<Option<Zone>, String> {
    Ok(Some(match pb::Zone::try_from(raw) {
        Ok(pb::Zone::Unspecified) => return Ok(None),
        Ok(pb::Zone::Qualified) => Zone::Qualified,
        Ok(pb::Zone::PendingInspection) => Zone::PendingInspection,
        Ok(pb::Zone::Nonconforming) => Zone::Nonconforming,
        Ok(pb::Zone::Valuables) => Zone::Valuables,
        Ok(pb::Zone::OldParts) => Zone::OldParts,
        Err(_) => return Err(format!("{raw} is not a zone")),
    }))
}

fn kind_from(raw: i32) -> Result<MovementKind, String> {
    let name = pb::MovementKind::try_from(raw)
        .map_err(|_| format!("{raw} is not a movement kind"))?
        .as_str_name();
    name.strip_prefix("MOVEMENT_KIND_")
        .and_then(MovementKind::parse)
        .ok_or_else(|| format!("{name} is not a movement kind"))
}

fn kind_to_proto(k: MovementKind) -> i32 {
    pb::MovementKind::from_str_name(&format!("MOVEMENT_KIND_{}", k.as_str()))
        .unwrap_or(pb::MovementKind::Unspecified) as i32
}

fn time(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

fn parse_part(p: Option<&pb::Part>) -> Result<Part, Status> {
    let Some(p) = p else {
        return Err(Error::Invalid(vec![Violation::new("part", "is required")]).into());
    };
    let mut bad = Bad::default();
    let part_no = bad.check("part.part_no", part_no(&p.part_no));
    let name = bad.check("part.name", text(&p.name, 200, true));
    let spec = bad.check("part.spec", text(&p.spec, 1000, false));
    let unit = bad.check("part.unit", text(&p.unit, 20, true));
    let category = bad.check(
        "part.product_category",
        text(&p.product_category, 64, false),
    );
    let mut models = Vec::new();
    for (i, m) in p.compatible_models.iter().enumerate() {
        if let Some(m) = bad.check(&format!("part.compatible_models[{i}]"), text(m, 64, true)) {
            models.push(m);
        }
    }
    let class = match pb::PartClass::try_from(p.part_class) {
        Ok(pb::PartClass::Unspecified) | Err(_) => {
            bad.add(
                "part.part_class",
                "is required: UNIT, KEY_PART, ACCESSORY or CONSUMABLE",
            );
            None
        }
        Ok(c) => c
            .as_str_name()
            .strip_prefix("PART_CLASS_")
            .map(str::to_owned),
    };
    let lifecycle = match pb::Lifecycle::try_from(p.lifecycle) {
        Ok(pb::Lifecycle::Unspecified) | Err(_) => {
            bad.add(
                "part.lifecycle",
                "is required: IN_PRODUCTION, SEMI_DISCONTINUED or DISCONTINUED",
            );
            None
        }
        Ok(l) => l
            .as_str_name()
            .strip_prefix("LIFECYCLE_")
            .map(str::to_owned),
    };
    let cost = match &p.unit_cost {
        None => {
            bad.add("part.unit_cost", "is required");
            None
        }
        Some(m) => {
            let currency_ok =
                m.currency.len() == 3 && m.currency.chars().all(|c| c.is_ascii_uppercase());
            if !currency_ok {
                bad.add(
                    "part.unit_cost.currency",
                    "must be an ISO 4217 code such as CNY",
                );
            }
            if m.amount_minor < 0 {
                bad.add("part.unit_cost.amount_minor", "must not be negative");
            }
            (currency_ok && m.amount_minor >= 0).then(|| (m.currency.clone(), m.amount_minor))
        }
    };
    bad.done()?;
    let (
        Some(part_no),
        Some(name),
        Some(spec),
        Some(unit),
        Some(category),
        Some(class),
        Some(lifecycle),
        Some((currency, amount)),
    ) = (part_no, name, spec, unit, category, class, lifecycle, cost)
    else {
        return Err(Status::internal("part parsing lost a field"));
    };
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    Ok(Part {
        part_no,
        name,
        spec,
        unit,
        compatible_models: models,
        part_class: class,
        valuable: p.valuable,
        unit_cost_currency: currency,
        unit_cost_minor: amount,
        lifecycle,
        safety_stock: i64::from(p.safety_stock),
        reorder_point: i64::from(p.reorder_point),
        reorder_quantity: i64::from(p.reorder_quantity),
        abc_class: None,
        product_category: category,
        created_at: epoch,
        updated_at: epoch,
    })
}

pub fn part_to_proto(p: &Part) -> pb::Part {
    pb::Part {
        part_no: p.part_no.clone(),
        name: p.name.clone(),
        spec: p.spec.clone(),
        unit: p.unit.clone(),
        compatible_models: p.compatible_models.clone(),
        part_class: pb::PartClass::from_str_name(&format!("PART_CLASS_{}", p.part_class))
            .unwrap_or(pb::PartClass::Unspecified) as i32,
        valuable: p.valuable,
        unit_cost: Some(common::Money {
            currency: p.unit_cost_currency.clone(),
            amount_minor: p.unit_cost_minor,
        }),
        lifecycle: service::lifecycle_to_proto(&p.lifecycle) as i32,
        safety_stock: p.safety_stock as u32,
        reorder_point: p.reorder_point as u32,
        reorder_quantity: p.reorder_quantity as u32,
        abc_class: p
            .abc_class
            .as_deref()
            .and_then(|c| pb::AbcClass::from_str_name(&format!("ABC_CLASS_{c}")))
            .unwrap_or(pb::AbcClass::Unspecified) as i32,
        created_at: Some(timestamp(p.created_at)),
        updated_at: Some(timestamp(p.updated_at)),
        product_category: p.product_category.clone(),
    }
}

fn stock_to_proto(s: &StockView) -> pb::StockLevel {
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
                    zone: zone_to_proto(*z) as i32,
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

fn ledger_to_proto(e: &LedgerEntry) -> pb::LedgerEntry {
    pb::LedgerEntry {
        entry_id: e.entry_id as u64,
        part_no: e.part_no.clone(),
        zone: zone_to_proto(e.zone) as i32,
        kind: kind_to_proto(e.kind),
        quantity: e.quantity as i32,
        balance_after: e.balance_after as u32,
        reference_type: e.reference_type.clone(),
        reference_id: e.reference_id.clone(),
        request_no: e.request_no.clone(),
        reason: e.reason.clone(),
        actor: e.actor.clone(),
        movement_date: e.movement_date.to_string(),
        recorded_at: Some(timestamp(e.recorded_at)),
    }
}

fn backorder_to_proto(r: &Reservation) -> pb::Backorder {
    let status = match r.status {
        RStatus::Backordered => pb::BackorderStatus::Open,
        RStatus::Confirmed | RStatus::Issued => pb::BackorderStatus::Served,
        RStatus::Released => pb::BackorderStatus::Cancelled,
    };
    pb::Backorder {
        backorder_id: backorder_id(&r.request_no),
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        urgency: service::urgency_to_proto(r.urgency) as i32,
        status: status as i32,
        lines: r.lines.iter().map(backorder_line).collect(),
        created_at: r.backordered_at.map(timestamp),
        served_at: if status == pb::BackorderStatus::Served {
            r.confirmed_at.map(timestamp)
        } else {
            None
        },
    }
}

pub fn pick_list_to_proto(r: &Reservation) -> pb::PickList {
    let status = match r.status {
        RStatus::Issued => pb::PickListStatus::Issued,
        RStatus::Released => pb::PickListStatus::Cancelled,
        RStatus::Confirmed | RStatus::Backordered => pb::PickListStatus::Open,
    };
    pb::PickList {
        pick_list_id: pick_list_id(&r.request_no),
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        status: status as i32,
        lines: r.lines.iter().map(pick_line).collect(),
        created_at: r.confirmed_at.map(timestamp),
        issued_at: r.issued_at.map(timestamp),
        issued_by: r.issued_by.clone(),
        shipment_no: r.shipment_no.clone(),
    }
}

fn receipt_to_proto(r: &Receipt) -> pb::Receipt {
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
        received_at: Some(timestamp(r.received_at)),
        inspected_by: r.inspected_by.clone(),
        inspected_at: r.inspected_at.map(timestamp),
    }
}

fn returned_unit_to_proto(u: &ReturnedUnit) -> pb::ReturnedUnit {
    pb::ReturnedUnit {
        return_id: u.return_id.clone(),
        request_no: u.request_no.clone(),
        branch: u.branch.clone(),
        pickup_no: u.pickup_no.clone(),
        part_no: u.part_no.clone(),
        serial: u.serial.clone(),
        model: u.model.clone(),
        status: if u.inspected {
            pb::ReturnStatus::Inspected
        } else {
            pb::ReturnStatus::Received
        } as i32,
        accessories: u.accessories.iter().map(accessory_to_proto).collect(),
        resaleable: u.resaleable,
        zone: u.zone.map(|z| zone_to_proto(z) as i32).unwrap_or(0),
        inspection_note: u.inspection_note.clone(),
        received_at: Some(timestamp(u.received_at)),
        inspected_at: u.inspected_at.map(timestamp),
        inspected_by: u.inspected_by.clone(),
    }
}

fn stocktake_line_to_proto(l: &StocktakeLine) -> pb::StocktakeLine {
    pb::StocktakeLine {
        part_no: l.part_no.clone(),
        zone: zone_to_proto(l.zone) as i32,
        book: l.book as u32,
        counted: l.counted.map(|c| c as u32),
        difference: l.counted.map(|c| c - l.book).unwrap_or(0) as i32,
        reason: l.reason.clone(),
        counted_by: l.counted_by.clone(),
    }
}

fn stocktake_to_proto(s: &Stocktake) -> pb::Stocktake {
    pb::Stocktake {
        stocktake_id: s.stocktake_id.clone(),
        status: if s.closed {
            pb::StocktakeStatus::Closed
        } else {
            pb::StocktakeStatus::Open
        } as i32,
        zones: s.zones.iter().map(|z| zone_to_proto(*z) as i32).collect(),
        part_nos: s.part_nos.clone(),
        lines: s.lines.iter().map(stocktake_line_to_proto).collect(),
        accuracy_bp: s.accuracy_bp as u32,
        difference_value: s.closed.then(|| common::Money {
            currency: s.currency.clone(),
            amount_minor: s.difference_minor,
        }),
        opened_at: Some(timestamp(s.opened_at)),
        closed_at: s.closed_at.map(timestamp),
        opened_by: s.opened_by.clone(),
        closed_by: s.closed_by.clone(),
    }
}

fn request_no_of_pick_list(id: &str) -> Result<String, Status> {
    id.trim()
        .strip_prefix("PL-")
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::Invalid(vec![Violation::new(
                "pick_list_id",
                "must be a pick list id (PL-<request number>)",
            )])
            .into()
        })
}

#[tonic::async_trait]
impl WarehouseService for Api {
    async fn upsert_part(
        &self,
        request: Request<pb::UpsertPartRequest>,
    ) -> Result<Response<pb::UpsertPartResponse>, Status> {
        self.authorize(&request, WRITERS)?;
        let part = parse_part(request.get_ref().part.as_ref())?;
        let (part, created) = self.warehouse.upsert_part(part).await?;
        Ok(Response::new(pb::UpsertPartResponse {
            part: Some(part_to_proto(&part)),
            created,
        }))
    }

    async fn get_part(
        &self,
        request: Request<pb::GetPartRequest>,
    ) -> Result<Response<pb::GetPartResponse>, Status> {
        self.authorize(&request, READERS)?;
        let mut bad = Bad::default();
        let no = bad.check("part_no", part_no(&request.get_ref().part_no));
        bad.done()?;
        let part = self.warehouse.get_part(&no.unwrap_or_default()).await?;
        Ok(Response::new(pb::GetPartResponse {
            part: Some(part_to_proto(&part)),
        }))
    }

    async fn list_parts(
        &self,
        request: Request<pb::ListPartsRequest>,
    ) -> Result<Response<pb::ListPartsResponse>, Status> {
        self.authorize(&request, READERS)?;
        let m = request.get_ref();
        let mut bad = Bad::default();
        let size = bad.check(
            "page_size",
            page_size(m.page_size, 50, self.max_page_size.min(200)),
        );
        let query = bad.check("query", text(&m.query, 100, false));
        bad.done()?;
        let size = size.unwrap_or(50);
        let (rows, more) = self
            .warehouse
            .list_parts(&query.unwrap_or_default(), m.page_token.trim(), size)
            .await?;
        let next = if more {
            rows.last().map(|p| p.part_no.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        // Model, class and lifecycle narrow the page (a page may come back shorter than asked).
        let parts = rows
            .iter()
            .map(part_to_proto)
            .filter(|p| {
                (m.compatible_model.is_empty()
                    || p.compatible_models.iter().any(|x| x == &m.compatible_model))
                    && (m.part_class == 0 || p.part_class == m.part_class)
                    && (m.lifecycle == 0 || p.lifecycle == m.lifecycle)
            })
            .collect();
        Ok(Response::new(pb::ListPartsResponse {
            parts,
            next_page_token: next,
        }))
    }

    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::GetStockResponse>, Status> {
        self.authorize(&request, READERS)?;
        let mut bad = Bad::default();
        let no = bad.check("part_no", part_no(&request.get_ref().part_no));
        bad.done()?;
        let s = self.warehouse.stock(&no.unwrap_or_default()).await?;
        Ok(Response::new(pb::GetStockResponse {
            stock: Some(stock_to_proto(&s)),
        }))
    }

    async fn list_ledger(
        &self,
        request: Request<pb::ListLedgerRequest>,
    ) -> Result<Response<pb::ListLedgerResponse>, Status> {
        self.authorize(&request, READERS)?;
        let m = request.get_ref();
        let mut bad = Bad::default();
        let part = if m.part_no.trim().is_empty() {
            None
        } else {
            bad.check("part_no", part_no(&m.part_no))
        };
        let zone = bad.check("zone", zone_from(m.zone)).flatten();
        let mut kinds = Vec::new();
        for (i, k) in m.kinds.iter().enumerate() {
            if let Some(k) = bad.check(&format!("kinds[{i}]"), kind_from(*k)) {
                kinds.push(k);
            }
        }
        let size = bad.check("page_size", page_size(m.page_size, 100, self.max_page_size));
        let before = if m.page_token.is_empty() {
            None
        } else {
            bad.check(
                "page_token",
                m.page_token
                    .parse::<i64>()
                    .map_err(|_| "is not a token this service issued".to_owned()),
            )
        };
        let (from, to) = m
            .recorded
            .as_ref()
            .map(|r| (time(&r.from), time(&r.to)))
            .unwrap_or((None, None));
        bad.done()?;
        let filter = LedgerFilter {
            part_no: part,
            zone,
            kinds,
            reference_id: Some(m.reference_id.trim().to_owned()).filter(|s| !s.is_empty()),
            request_no: Some(m.request_no.trim().to_owned()).filter(|s| !s.is_empty()),
            recorded_from: from,
            recorded_to: to,
            before,
            limit: size.unwrap_or(100),
        };
        let (rows, next) = self.warehouse.ledger(filter).await?;
        Ok(Response::new(pb::ListLedgerResponse {
            entries: rows.iter().map(ledger_to_proto).collect(),
            next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn list_backorders(
        &self,
        request: Request<pb::ListBackordersRequest>,
    ) -> Result<Response<pb::ListBackordersResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let m = request.get_ref();
        let mut bad = Bad::default();
        let part = if m.part_no.trim().is_empty() {
            None
        } else {
            bad.check("part_no", part_no(&m.part_no))
        };
        let state = match pb::BackorderStatus::try_from(m.status) {
            Ok(pb::BackorderStatus::Unspecified | pb::BackorderStatus::Open) => {
                Some(BackorderState::Open)
            }
            Ok(pb::BackorderStatus::Served) => Some(BackorderState::Served),
            Ok(pb::BackorderStatus::Cancelled) => Some(BackorderState::Cancelled),
            Err(_) => {
                bad.add("status", format!("{} is not a back-order status", m.status));
                None
            }
        };
        let size = bad.check("page_size", page_size(m.page_size, 100, self.max_page_size));
        let offset = if m.page_token.is_empty() {
            Some(0)
        } else {
            bad.check(
                "page_token",
                m.page_token
                    .parse::<u32>()
                    .map_err(|_| "is not a token this service issued".to_owned()),
            )
        };
        bad.done()?;
        // A branch sees only its own back-orders; head office sees every branch.
        let branch = match caller.branch() {
            Some(b) => {
                if !m.branch.is_empty() && m.branch != b {
                    return Ok(Response::new(pb::ListBackordersResponse::default()));
                }
                Some(b.to_owned())
            }
            None => Some(m.branch.clone()).filter(|b| !b.is_empty()),
        };
        let (rows, next) = self
            .warehouse
            .backorders(BackorderFilter {
                part_no: part,
                branch,
                state,
                offset: offset.unwrap_or(0),
                limit: size.unwrap_or(100),
            })
            .await?;
        Ok(Response::new(pb::ListBackordersResponse {
            backorders: rows.iter().map(backorder_to_proto).collect(),
            next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn receive_goods(
        &self,
        request: Request<pb::ReceiveGoodsRequest>,
    ) -> Result<Response<pb::ReceiveGoodsResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let key = bad.check("idempotency_key", text(&m.idempotency_key, 200, true));
        let po = bad.check("po_number", text(&m.po_number, 64, false));
        let supplier = bad.check("supplier_id", text(&m.supplier_id, 64, false));
        let note = bad.check("delivery_note", text(&m.delivery_note, 64, false));
        let date = bad.check("movement_date", movement_date(&m.movement_date));
        if m.lines.is_empty() {
            bad.add("lines", "at least one line is required");
        }
        if m.lines.len() > 500 {
            bad.add("lines", "at most 500 lines");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let p = bad.check(&format!("lines[{i}].part_no"), part_no(&l.part_no));
            let q = bad.check(&format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            if let (Some(p), Some(q)) = (p, q) {
                lines.push((p, q.get(), l.po_line_no));
            }
        }
        bad.done()?;
        let receipt = self
            .warehouse
            .receive_goods(
                &caller.subject,
                ReceiveGoods {
                    idempotency_key: key.unwrap_or_default(),
                    po_number: po.unwrap_or_default(),
                    supplier_id: supplier.unwrap_or_default(),
                    delivery_note: note.unwrap_or_default(),
                    lines,
                    movement_date: date.unwrap_or_default(),
                },
            )
            .await?;
        Ok(Response::new(pb::ReceiveGoodsResponse {
            receipt: Some(receipt_to_proto(&receipt)),
        }))
    }

    async fn record_inspection(
        &self,
        request: Request<pb::RecordInspectionRequest>,
    ) -> Result<Response<pb::RecordInspectionResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let receipt_id = bad.check("receipt_id", text(&m.receipt_id, 64, true));
        if m.lines.is_empty() {
            bad.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let p = bad.check(&format!("lines[{i}].part_no"), part_no(&l.part_no));
            let reason = bad.check(
                &format!("lines[{i}].failure_reason"),
                text(&l.failure_reason, 500, false),
            );
            if l.failed > 0 && reason.as_deref() == Some("") {
                bad.add(
                    format!("lines[{i}].failure_reason"),
                    "is required when units failed",
                );
            }
            if let (Some(p), Some(reason)) = (p, reason) {
                lines.push(InspectionLine {
                    part_no: p,
                    passed: l.passed,
                    failed: l.failed,
                    failure_reason: reason,
                });
            }
        }
        bad.done()?;
        let receipt = self
            .warehouse
            .record_inspection(&caller.subject, &receipt_id.unwrap_or_default(), lines)
            .await?;
        Ok(Response::new(pb::RecordInspectionResponse {
            receipt: Some(receipt_to_proto(&receipt)),
        }))
    }

    async fn get_pick_list(
        &self,
        request: Request<pb::GetPickListRequest>,
    ) -> Result<Response<pb::GetPickListResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let request_no = request_no_of_pick_list(&request.get_ref().pick_list_id)?;
        let r = self.warehouse.pick_list(&request_no).await?;
        if !caller.sees_branch(&r.branch) {
            return Err(Error::NotFound(format!("pick list {}", pick_list_id(&request_no))).into());
        }
        Ok(Response::new(pb::GetPickListResponse {
            pick_list: Some(pick_list_to_proto(&r)),
        }))
    }

    async fn issue_parts(
        &self,
        request: Request<pb::IssuePartsRequest>,
    ) -> Result<Response<pb::IssuePartsResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let request_no = request_no_of_pick_list(&m.pick_list_id)
            .map_err(|_| {
                bad.add(
                    "pick_list_id",
                    "must be a pick list id (PL-<request number>)",
                )
            })
            .ok();
        let shipment = bad.check("shipment_no", text(&m.shipment_no, 64, false));
        let date = bad.check("movement_date", movement_date(&m.movement_date));
        if m.lines.is_empty() {
            bad.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let p = bad.check(&format!("lines[{i}].part_no"), part_no(&l.part_no));
            let q = bad.check(&format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            if let (Some(p), Some(q)) = (p, q) {
                lines.push((p, q.get()));
            }
        }
        bad.done()?;
        let r = self
            .warehouse
            .issue(
                &caller.subject,
                IssueParts {
                    request_no: request_no.unwrap_or_default(),
                    branch_scope: caller.branch().map(str::to_owned),
                    lines,
                    shipment_no: shipment.unwrap_or_default(),
                    movement_date: date.unwrap_or_default(),
                },
            )
            .await?;
        Ok(Response::new(pb::IssuePartsResponse {
            pick_list: Some(pick_list_to_proto(&r)),
        }))
    }

    async fn receive_old_part(
        &self,
        request: Request<pb::ReceiveOldPartRequest>,
    ) -> Result<Response<pb::ReceiveOldPartResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let key = bad.check("idempotency_key", text(&m.idempotency_key, 200, true));
        let wo = bad.check("work_order_no", text(&m.work_order_no, 64, true));
        let request_no = bad.check("request_no", text(&m.request_no, 64, false));
        let part = bad.check("part_no", part_no(&m.part_no));
        let qty = bad.check("quantity", Quantity::parse(m.quantity));
        let serial = bad.check("serial", text(&m.serial, 64, false));
        let condition = bad.check("condition", text(&m.condition, 500, false));
        let date = bad.check("movement_date", movement_date(&m.movement_date));
        bad.done()?;
        let (r, was_expected) = self
            .warehouse
            .receive_old_part(
                &caller.subject,
                ReceiveOldPart {
                    idempotency_key: key.unwrap_or_default(),
                    work_order_no: wo.unwrap_or_default(),
                    request_no: request_no.unwrap_or_default(),
                    part_no: part.unwrap_or_default(),
                    quantity: qty.map(Quantity::get).unwrap_or_default(),
                    serial: serial.unwrap_or_default(),
                    condition: condition.unwrap_or_default(),
                    movement_date: date.unwrap_or_default(),
                },
            )
            .await?;
        Ok(Response::new(pb::ReceiveOldPartResponse {
            old_part: Some(pb::OldPartReturn {
                old_part_id: r.old_part_id,
                request_no: r.request_no,
                branch: r.branch,
                work_order_no: r.work_order_no,
                part_no: r.part_no,
                quantity: r.quantity as u32,
                serial: r.serial,
                technician_id: r.technician_id,
                expected_by_date: r
                    .expected_by_date
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                received_at: Some(timestamp(r.received_at)),
                condition: r.condition,
            }),
            was_expected,
        }))
    }

    async fn list_overdue_old_parts(
        &self,
        request: Request<pb::ListOverdueOldPartsRequest>,
    ) -> Result<Response<pb::ListOverdueOldPartsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let m = request.get_ref();
        let mut bad = Bad::default();
        let as_of = if m.as_of_date.trim().is_empty() {
            Some(Utc::now().date_naive())
        } else {
            bad.check(
                "as_of_date",
                NaiveDate::parse_from_str(m.as_of_date.trim(), "%Y-%m-%d")
                    .map_err(|_| format!("{:?} is not a date (YYYY-MM-DD)", m.as_of_date)),
            )
        };
        let size = bad.check("page_size", page_size(m.page_size, 100, self.max_page_size));
        let offset = if m.page_token.is_empty() {
            Some(0)
        } else {
            bad.check(
                "page_token",
                m.page_token
                    .parse::<u32>()
                    .map_err(|_| "is not a token this service issued".to_owned()),
            )
        };
        bad.done()?;
        let branch = match caller.branch() {
            Some(b) if !m.branch.is_empty() && m.branch != b => {
                return Ok(Response::new(pb::ListOverdueOldPartsResponse::default()));
            }
            Some(b) => Some(b.to_owned()),
            None => Some(m.branch.clone()).filter(|b| !b.is_empty()),
        };
        let as_of = as_of.unwrap_or_default();
        let (rows, next) = self
            .warehouse
            .overdue_old_parts(
                as_of,
                branch.as_deref(),
                Some(m.technician_id.as_str()).filter(|t| !t.is_empty()),
                offset.unwrap_or(0),
                size.unwrap_or(100),
            )
            .await?;
        Ok(Response::new(pb::ListOverdueOldPartsResponse {
            old_parts: rows
                .iter()
                .map(|e| pb::ExpectedOldPart {
                    request_no: e.request_no.clone(),
                    branch: e.branch.clone(),
                    work_order_no: e.work_order_no.clone(),
                    technician_id: e.technician_id.clone(),
                    part_no: e.part_no.clone(),
                    quantity: (e.quantity - e.received).max(0) as u32,
                    expected_by_date: e
                        .expected_by_date
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    days_overdue: e
                        .expected_by_date
                        .map(|d| (as_of - d).num_days().max(0) as u32)
                        .unwrap_or(0),
                })
                .collect(),
            next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn return_to_supplier(
        &self,
        request: Request<pb::ReturnToSupplierRequest>,
    ) -> Result<Response<pb::ReturnToSupplierResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let key = bad.check("idempotency_key", text(&m.idempotency_key, 200, true));
        let supplier = bad.check("supplier_id", text(&m.supplier_id, 64, true));
        let po = bad.check("po_number", text(&m.po_number, 64, false));
        let rma = bad.check("rma_no", text(&m.rma_no, 64, false));
        let reason = bad.check("reason", text(&m.reason, 500, true));
        let date = bad.check("movement_date", movement_date(&m.movement_date));
        if m.lines.is_empty() {
            bad.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let p = bad.check(&format!("lines[{i}].part_no"), part_no(&l.part_no));
            let q = bad.check(&format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            let z = match zone_from(l.zone) {
                Ok(Some(z @ (Zone::Nonconforming | Zone::OldParts))) => Some(z),
                Ok(_) => {
                    bad.add(
                        format!("lines[{i}].zone"),
                        "must be NONCONFORMING or OLD_PARTS",
                    );
                    None
                }
                Err(e) => {
                    bad.add(format!("lines[{i}].zone"), e);
                    None
                }
            };
            if let (Some(p), Some(q), Some(z)) = (p, q, z) {
                lines.push((p, q.get(), z));
            }
        }
        bad.done()?;
        let (id, entries) = self
            .warehouse
            .return_to_supplier(
                &caller.subject,
                ReturnToSupplier {
                    idempotency_key: key.unwrap_or_default(),
                    supplier_id: supplier.unwrap_or_default(),
                    po_number: po.unwrap_or_default(),
                    rma_no: rma.unwrap_or_default(),
                    lines,
                    reason: reason.unwrap_or_default(),
                    movement_date: date.unwrap_or_default(),
                },
            )
            .await?;
        Ok(Response::new(pb::ReturnToSupplierResponse {
            supplier_return_id: id,
            entries: entries.iter().map(ledger_to_proto).collect(),
        }))
    }

    async fn receive_return(
        &self,
        request: Request<pb::ReceiveReturnRequest>,
    ) -> Result<Response<pb::ReceiveReturnResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let key = bad.check("idempotency_key", text(&m.idempotency_key, 200, true));
        let request_no = bad.check("request_no", text(&m.request_no, 64, true));
        let pickup = bad.check("pickup_no", text(&m.pickup_no, 64, false));
        let part = bad.check("part_no", part_no(&m.part_no));
        let serial = bad.check("serial", text(&m.serial, 64, false));
        let model = bad.check("model", text(&m.model, 64, false));
        let date = bad.check("movement_date", movement_date(&m.movement_date));
        bad.done()?;
        let u = self
            .warehouse
            .receive_return(
                &caller.subject,
                ReceiveReturn {
                    idempotency_key: key.unwrap_or_default(),
                    request_no: request_no.unwrap_or_default(),
                    pickup_no: pickup.unwrap_or_default(),
                    part_no: part.unwrap_or_default(),
                    serial: serial.unwrap_or_default(),
                    model: model.unwrap_or_default(),
                    movement_date: date.unwrap_or_default(),
                },
            )
            .await?;
        Ok(Response::new(pb::ReceiveReturnResponse {
            returned_unit: Some(returned_unit_to_proto(&u)),
        }))
    }

    async fn inspect_return(
        &self,
        request: Request<pb::InspectReturnRequest>,
    ) -> Result<Response<pb::InspectReturnResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let id = bad.check("return_id", text(&m.return_id, 64, true));
        let note = bad.check("inspection_note", text(&m.inspection_note, 1000, false));
        let mut accessories = Vec::new();
        for (i, a) in m.accessories.iter().enumerate() {
            let name = bad.check(&format!("accessories[{i}].name"), text(&a.name, 200, true));
            let part = if a.part_no.trim().is_empty() {
                Some(String::new())
            } else {
                bad.check(&format!("accessories[{i}].part_no"), part_no(&a.part_no))
            };
            if a.present > a.expected {
                bad.add(
                    format!("accessories[{i}].present"),
                    "must not exceed expected",
                );
            }
            if let (Some(name), Some(part)) = (name, part) {
                accessories.push(Accessory {
                    part_no: part,
                    name,
                    expected: i64::from(a.expected),
                    present: i64::from(a.present),
                });
            }
        }
        bad.done()?;
        let u = self
            .warehouse
            .inspect_return(
                &caller.subject,
                &id.unwrap_or_default(),
                accessories,
                m.resaleable,
                &note.unwrap_or_default(),
            )
            .await?;
        Ok(Response::new(pb::InspectReturnResponse {
            returned_unit: Some(returned_unit_to_proto(&u)),
        }))
    }

    async fn open_stocktake(
        &self,
        request: Request<pb::OpenStocktakeRequest>,
    ) -> Result<Response<pb::OpenStocktakeResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let key = bad.check("idempotency_key", text(&m.idempotency_key, 200, true));
        let note = bad.check("note", text(&m.note, 500, false));
        let mut zones = Vec::new();
        for (i, z) in m.zones.iter().enumerate() {
            match zone_from(*z) {
                Ok(Some(z)) => zones.push(z),
                Ok(None) => bad.add(format!("zones[{i}]"), "must be a zone, not UNSPECIFIED"),
                Err(e) => bad.add(format!("zones[{i}]"), e),
            }
        }
        let mut parts = Vec::new();
        for (i, p) in m.part_nos.iter().enumerate() {
            if let Some(p) = bad.check(&format!("part_nos[{i}]"), part_no(p)) {
                parts.push(p);
            }
        }
        bad.done()?;
        let s = self
            .warehouse
            .open_stocktake(
                &caller.subject,
                &key.unwrap_or_default(),
                zones,
                parts,
                &note.unwrap_or_default(),
            )
            .await?;
        Ok(Response::new(pb::OpenStocktakeResponse {
            stocktake: Some(stocktake_to_proto(&s)),
        }))
    }

    async fn record_count(
        &self,
        request: Request<pb::RecordCountRequest>,
    ) -> Result<Response<pb::RecordCountResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let id = bad.check("stocktake_id", text(&m.stocktake_id, 64, true));
        let p = bad.check("part_no", part_no(&m.part_no));
        let zone = match zone_from(m.zone) {
            Ok(Some(z)) => Some(z),
            Ok(None) => {
                bad.add("zone", "is required");
                None
            }
            Err(e) => {
                bad.add("zone", e);
                None
            }
        };
        if m.counted > Quantity::MAX {
            bad.add("counted", format!("must be at most {}", Quantity::MAX));
        }
        bad.done()?;
        let (Some(id), Some(p), Some(zone)) = (id, p, zone) else {
            return Err(Status::internal("count parsing lost a field"));
        };
        let s = self
            .warehouse
            .record_count(&caller.subject, &id, &p, zone, m.counted)
            .await?;
        let line = s
            .lines
            .iter()
            .find(|l| l.part_no == p && l.zone == zone)
            .map(stocktake_line_to_proto);
        Ok(Response::new(pb::RecordCountResponse { line }))
    }

    async fn close_stocktake(
        &self,
        request: Request<pb::CloseStocktakeRequest>,
    ) -> Result<Response<pb::CloseStocktakeResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let m = request.into_inner();
        let mut bad = Bad::default();
        let id = bad.check("stocktake_id", text(&m.stocktake_id, 64, true));
        let default_reason = bad.check("default_reason", text(&m.default_reason, 500, false));
        let mut reasons = HashMap::new();
        for (i, r) in m.reasons.iter().enumerate() {
            let p = bad.check(&format!("reasons[{i}].part_no"), part_no(&r.part_no));
            let z = match zone_from(r.zone) {
                Ok(Some(z)) => Some(z),
                Ok(None) => {
                    bad.add(format!("reasons[{i}].zone"), "is required");
                    None
                }
                Err(e) => {
                    bad.add(format!("reasons[{i}].zone"), e);
                    None
                }
            };
            let reason = bad.check(&format!("reasons[{i}].reason"), text(&r.reason, 500, true));
            if let (Some(p), Some(z), Some(reason)) = (p, z, reason) {
                reasons.insert((p, z), reason);
            }
        }
        bad.done()?;
        let s = self
            .warehouse
            .close_stocktake(
                &caller.subject,
                &id.unwrap_or_default(),
                reasons,
                &default_reason.unwrap_or_default(),
                m.allow_uncounted,
            )
            .await?;
        Ok(Response::new(pb::CloseStocktakeResponse {
            stocktake: Some(stocktake_to_proto(&s)),
        }))
    }

    async fn get_stocktake(
        &self,
        request: Request<pb::GetStocktakeRequest>,
    ) -> Result<Response<pb::GetStocktakeResponse>, Status> {
        self.authorize(&request, READERS)?;
        let mut bad = Bad::default();
        let id = bad.check(
            "stocktake_id",
            text(&request.get_ref().stocktake_id, 64, true),
        );
        bad.done()?;
        let s = self.warehouse.stocktake(&id.unwrap_or_default()).await?;
        Ok(Response::new(pb::GetStocktakeResponse {
            stocktake: Some(stocktake_to_proto(&s)),
        }))
    }

    async fn close_period(
        &self,
        request: Request<pb::ClosePeriodRequest>,
    ) -> Result<Response<pb::ClosePeriodResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let mut bad = Bad::default();
        let period = bad.check("period", parse_period(&request.get_ref().period));
        bad.done()?;
        let p = self
            .warehouse
            .close_period(&caller.subject, period.unwrap_or_default())
            .await?;
        Ok(Response::new(pb::ClosePeriodResponse {
            period: Some(pb::Period {
                period: p.period,
                closed: true,
                closed_at: Some(timestamp(p.closed_at)),
                closed_by: p.closed_by,
            }),
        }))
    }

    async fn classify_abc(
        &self,
        request: Request<pb::ClassifyAbcRequest>,
    ) -> Result<Response<pb::ClassifyAbcResponse>, Status> {
        self.authorize(
            &request,
            &[Role::Warehouse, Role::Procurement, Role::Analyst],
        )?;
        let m = request.get_ref();
        let mut bad = Bad::default();
        let as_of = if m.as_of_date.trim().is_empty() {
            Some(Utc::now().date_naive())
        } else {
            bad.check(
                "as_of_date",
                NaiveDate::parse_from_str(m.as_of_date.trim(), "%Y-%m-%d")
                    .map_err(|_| format!("{:?} is not a date (YYYY-MM-DD)", m.as_of_date)),
            )
        };
        bad.done()?;
        let (classified, currency) = self
            .warehouse
            .classify_abc(as_of.unwrap_or_default())
            .await?;
        let money = |minor: i64| common::Money {
            currency: currency.clone(),
            amount_minor: minor,
        };
        Ok(Response::new(pb::ClassifyAbcResponse {
            total_usage_value: Some(money(
                classified.iter().map(|c| c.usage.value_minor.max(0)).sum(),
            )),
            entries: classified
                .iter()
                .map(|c| pb::AbcEntry {
                    part_no: c.usage.part_no.clone(),
                    usage_quantity: c.usage.quantity.max(0) as u32,
                    usage_value: Some(money(c.usage.value_minor)),
                    share_bp: c.share_bp,
                    cumulative_share_bp: c.cumulative_bp,
                    abc_class: pb::AbcClass::from_str_name(&format!(
                        "ABC_CLASS_{}",
                        c.class.as_str()
                    ))
                    .unwrap_or(pb::AbcClass::Unspecified) as i32,
                })
                .collect(),
        }))
    }
}
