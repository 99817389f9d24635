//! Every request parsed once into its command: each bad field is named (all of them at once),
//! nothing reaches the service half-checked.

use aftersales_platform::ids::{BranchCode, PartNo, Phone, RequestNo, Serial};
use aftersales_platform::paging;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;

use crate::domain::paid::ItemLine;
use crate::domain::tools::LoanStatus;
use crate::domain::work_order::{OldPart, PartUse};
use crate::domain::{Category, LoanId, Region, Status, TechnicianId, ToolId, WorkOrderNo};
use crate::service::board::{BoardQuery, Page, UpdateStatus};
use crate::service::completion::{Complete, Inspect};
use crate::service::opening::NewWorkOrder;
use crate::service::paid::{AnswerQuote, DecideChange, ProposeChange, Quote};
use crate::service::scheduling::{DispatchCmd, HoldSlot, Schedule, Suggest};
use crate::service::technicians::{Register, TechnicianQuery};
use crate::service::tools::{GiveBack, Lend, LoanQuery};
use crate::store::work_orders::Filter;
use crate::wire;

/// A list request with the service's largest page, so that parsing refuses a page too large
/// together with the request's other bad fields.
pub struct Paged<'a, M> {
    pub msg: &'a M,
    pub max_page_size: u32,
}

const DEFAULT_PAGE: u32 = 50;

pub fn page<K: DeserializeOwned>(
    v: &mut Violations,
    size: u32,
    token: &str,
    max: u32,
) -> Option<Page<K>> {
    let size = v.check("page_size", paging::page_size(size, DEFAULT_PAGE, max));
    let after = v.check("page_token", paging::decode::<K>(token));
    Some(Page {
        size: size?,
        after: after?,
    })
}

/// An idempotency key: required or not, at most 200 printable characters.
pub fn key(v: &mut Violations, s: &str, required: bool) -> Option<Option<String>> {
    let t = s.trim();
    if t.is_empty() {
        if required {
            v.add("idempotency_key", "is required");
            return None;
        }
        return Some(None);
    }
    if t.len() > 200 || t.chars().any(|c| c.is_control()) {
        v.add(
            "idempotency_key",
            "must be at most 200 printable characters",
        );
        return None;
    }
    Some(Some(t.to_owned()))
}

pub fn work_order_no(s: &str) -> Result<String, String> {
    WorkOrderNo::parse(s).map(|n| n.as_str().to_owned())
}

fn optional<T>(s: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse(s).map(Some)
    }
}

pub fn date(s: &str) -> Result<Option<NaiveDate>, String> {
    optional(s, |t| {
        NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{t:?} is not a date (YYYY-MM-DD)"))
    })
}

fn region(n: i32) -> Result<Option<Region>, String> {
    match n {
        0 => Ok(None),
        n => wire::region_from(n)
            .map(Some)
            .ok_or_else(|| format!("{n} is not a region")),
    }
}

fn positive(n: u32) -> Result<u32, String> {
    if n == 0 {
        Err("must be at least 1".into())
    } else {
        Ok(n)
    }
}

fn version(n: u64) -> Result<u64, String> {
    if n == 0 {
        Err("is required: the version of the work order as read".into())
    } else {
        Ok(n)
    }
}

fn window(
    v: &mut Violations,
    w: &Option<common::TimeRange>,
) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let Some(w) = w else {
        v.add("window", "is required");
        return None;
    };
    let from = wire::time_from(&w.from);
    if from.is_none() {
        v.add("window.from", "is required");
    }
    Some((from?, wire::time_from(&w.to)))
}

fn parts_used(v: &mut Violations, field: &str, list: &[pb::PartUsed]) -> Vec<PartUse> {
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let part_no = v.check(format!("{field}[{i}].part_no"), PartNo::parse(&p.part_no));
        let quantity = v.check(format!("{field}[{i}].quantity"), positive(p.quantity));
        let coverage = match p.coverage {
            0 => Some(None),
            n => v.check(
                format!("{field}[{i}].coverage"),
                wire::coverage_from(n)
                    .map(Some)
                    .ok_or_else(|| format!("{n} is not a coverage")),
            ),
        };
        let serial = v.check(
            format!("{field}[{i}].serial"),
            optional(&p.serial, Serial::parse),
        );
        if let (Some(part_no), Some(quantity), Some(coverage), Some(serial)) =
            (part_no, quantity, coverage, serial)
        {
            out.push(PartUse {
                part_no: part_no.into_string(),
                quantity,
                coverage,
                serial: serial.map(Serial::into_string).unwrap_or_default(),
            });
        }
    }
    out
}

fn item_lines(v: &mut Violations, field: &str, list: &[pb::ItemLine]) -> Vec<ItemLine> {
    let mut out = Vec::new();
    for (i, l) in list.iter().enumerate() {
        let code = v.check(format!("{field}[{i}].code"), required_text(&l.code, 40));
        let quantity = v.check(format!("{field}[{i}].quantity"), positive(l.quantity));
        if let (Some(code), Some(quantity)) = (code, quantity) {
            out.push(ItemLine { code, quantity });
        }
    }
    out
}

impl TryFrom<&pb::RegisterTechnicianRequest> for Register {
    type Error = Invalid;

    fn try_from(r: &pb::RegisterTechnicianRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let Some(t) = &r.technician else {
            return Err(Invalid::field("technician", "is required"));
        };
        let id = v.check(
            "technician.technician_id",
            optional(&t.technician_id, TechnicianId::parse),
        );
        let name = v.check("technician.name", required_text(&t.name, 100));
        let phone = v.check("technician.phone", Phone::parse(&t.phone));
        let branch = v.check("technician.branch", BranchCode::parse(&t.branch));
        let mut skills = Vec::new();
        for (i, s) in t.skills.iter().enumerate() {
            if let Some(s) = v.check(format!("technician.skills[{i}]"), required_text(s, 60)) {
                skills.push(s);
            }
        }
        if t.skills.is_empty() {
            v.add("technician.skills", "at least one skill is required");
        }
        let mut territories = Vec::new();
        for (i, s) in t.territories.iter().enumerate() {
            if let Some(s) = v.check(
                format!("technician.territories[{i}]"),
                required_text(s, 100),
            ) {
                territories.push(s);
            }
        }
        let mut regions = Vec::new();
        for (i, n) in t.regions.iter().enumerate() {
            match region(*n) {
                Ok(Some(r)) => regions.push(r),
                Ok(None) => v.add(format!("technician.regions[{i}]"), "must be a region"),
                Err(e) => v.add(format!("technician.regions[{i}]"), e),
            }
        }
        let capacity = v.check("technician.daily_capacity", positive(t.daily_capacity));
        v.done(|| {
            Some(Register {
                technician_id: id?,
                name: name?,
                phone: phone?.as_str().to_owned(),
                branch: branch?,
                skills,
                territories,
                regions,
                daily_capacity: capacity?,
                active: t.active,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListTechniciansRequest>> for TechnicianQuery {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::ListTechniciansRequest>) -> Result<Self, Invalid> {
        let r = p.msg;
        let mut v = Violations::new();
        let branch = v.check("branch", optional(&r.branch, BranchCode::parse));
        let skill = v.check("skill", optional(&r.skill, |s| required_text(s, 60)));
        let region = v.check("region", region(r.region));
        let day = v.check("available_on_date", date(&r.available_on_date));
        let page = page::<String>(&mut v, r.page_size, &r.page_token, p.max_page_size);
        v.done(|| {
            let page = page?;
            Some(TechnicianQuery {
                branch: branch?.map(BranchCode::into_string),
                skill: skill?.map(|s| s.to_lowercase()),
                region: region?,
                available_on: day?,
                include_inactive: r.include_inactive,
                size: page.size,
                after: page.after,
            })
        })
    }
}

impl TryFrom<&pb::CreateWorkOrderRequest> for NewWorkOrder {
    type Error = Invalid;

    fn try_from(r: &pb::CreateWorkOrderRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let category = match wire::category_from(r.service_category) {
            Some(c) => Some(c),
            None => {
                v.add(
                    "service_category",
                    "must be PAID, CONTRACT, FREE or INTERNAL",
                );
                None
            }
        };
        let internal = category == Some(Category::Internal);
        let request_no = if internal {
            if !r.request_no.trim().is_empty() {
                v.add("request_no", "must be empty for an INTERNAL job");
            }
            Some(None)
        } else {
            v.check("request_no", RequestNo::parse(&r.request_no).map(Some))
        };
        let branch = v.check("branch", BranchCode::parse(&r.branch));
        if let (Some(Some(no)), Some(b)) = (&request_no, &branch)
            && no.branch() != b.as_str()
        {
            v.add(
                "branch",
                format!("must be the request's branch {}", no.branch()),
            );
        }
        let kind = match r.kind {
            0 => None,
            n => v.check(
                "kind",
                wire::kind_from(n).ok_or_else(|| format!("{n} is not a request kind")),
            ),
        };
        let urgency = match r.urgency {
            0 => None,
            n => v.check(
                "urgency",
                wire::urgency_from(n).ok_or_else(|| format!("{n} is not an urgency")),
            ),
        };
        let customer = r
            .customer
            .as_ref()
            .map(wire::customer_from)
            .unwrap_or_default();
        if !internal {
            v.check("customer.name", required_text(&customer.name, 100));
            v.check("customer.phone", Phone::parse(&customer.phone));
        } else if !customer.phone.is_empty() {
            v.check("customer.phone", Phone::parse(&customer.phone));
        }
        v.check("customer.address", optional_text(&customer.address, 500));
        v.check(
            "customer.region",
            region(r.customer.as_ref().map(|c| c.region).unwrap_or(0)),
        );
        let site = r.site.as_ref().map(wire::site_from).unwrap_or_default();
        v.check("site.address", optional_text(&site.address, 500));
        v.check(
            "site.region",
            region(r.site.as_ref().map(|s| s.region).unwrap_or(0)),
        );
        if !internal && site.region.or(customer.region).is_none() {
            v.add(
                "customer.region",
                "is required (or site.region): it decides the arrival deadline",
            );
        }
        let product = r
            .product
            .as_ref()
            .map(wire::product_from)
            .unwrap_or_default();
        v.check("product.category", required_text(&product.category, 60));
        v.check("product.model", optional_text(&product.model, 100));
        v.check("product.serial", optional(&product.serial, Serial::parse));
        let fault = v.check(
            "fault_description",
            optional_text(&r.fault_description, 2000),
        );
        let planned = parts_used(&mut v, "planned_parts", &r.planned_parts);
        key(&mut v, &r.idempotency_key, true);
        v.done(|| {
            Some(NewWorkOrder {
                request_no: request_no?,
                branch: branch?,
                category: category?,
                kind,
                urgency,
                customer,
                site,
                product,
                fault_description: fault?,
                planned_parts: planned,
                called_at: wire::time_from(&r.called_at),
            })
        })
    }
}

impl TryFrom<&pb::SuggestSlotsRequest> for Suggest {
    type Error = Invalid;

    fn try_from(r: &pb::SuggestSlotsRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let from = v.check("from_date", date(&r.from_date));
        if r.days > 60 {
            v.add("days", "must be at most 60");
        }
        if r.limit > 200 {
            v.add("limit", "must be at most 200");
        }
        v.done(|| {
            Some(Suggest {
                work_order_no: no?,
                from_date: from?,
                days: (r.days > 0).then_some(r.days),
                limit: (r.limit > 0).then_some(r.limit),
            })
        })
    }
}

impl TryFrom<&pb::HoldSlotRequest> for HoldSlot {
    type Error = Invalid;

    fn try_from(r: &pb::HoldSlotRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let tech = v.check("technician_id", TechnicianId::parse(&r.technician_id));
        let w = window(&mut v, &r.window);
        v.done(|| {
            let (from, to) = w?;
            Some(HoldSlot {
                work_order_no: no?,
                technician_id: tech?,
                from,
                to,
            })
        })
    }
}

impl TryFrom<&pb::ScheduleAppointmentRequest> for Schedule {
    type Error = Invalid;

    fn try_from(r: &pb::ScheduleAppointmentRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let w = window(&mut v, &r.window);
        let tech = v.check(
            "technician_id",
            optional(&r.technician_id, TechnicianId::parse),
        );
        let note = v.check("note", optional_text(&r.note, 500));
        let hold = v.check("hold_id", optional(&r.hold_id, |s| required_text(s, 100)));
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            let (from, to) = w?;
            Some(Schedule {
                work_order_no: no?,
                from,
                to,
                technician_id: tech?,
                note: note?,
                hold_id: hold?,
            })
        })
    }
}

impl TryFrom<&pb::DispatchRequest> for DispatchCmd {
    type Error = Invalid;

    fn try_from(r: &pb::DispatchRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let tech = v.check(
            "technician_id",
            optional(&r.technician_id, TechnicianId::parse),
        );
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            Some(DispatchCmd {
                work_order_no: no?,
                technician_id: tech?,
            })
        })
    }
}

impl TryFrom<&pb::UpdateStatusRequest> for UpdateStatus {
    type Error = Invalid;

    fn try_from(r: &pb::UpdateStatusRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let version = v.check("expected_version", version(r.expected_version));
        let status = v.check(
            "status",
            wire::status_from(r.status).ok_or_else(|| "must be a work order status".to_owned()),
        );
        let note = v.check("note", optional_text(&r.note, 500));
        if let (Some(s), Some(n)) = (status, &note)
            && s.needs_note()
            && n.is_empty()
        {
            v.add("note", format!("is required for {}: say why", s.as_str()));
        }
        let mut awaited = Vec::new();
        for (i, p) in r.parts_awaited.iter().enumerate() {
            let part = v.check(
                format!("parts_awaited[{i}].part_no"),
                PartNo::parse(&p.part_no),
            );
            let q = v.check(format!("parts_awaited[{i}].quantity"), positive(p.quantity));
            if let (Some(part), Some(q)) = (part, q) {
                awaited.push((part.into_string(), q));
            }
        }
        if !awaited.is_empty() && status != Some(Status::WaitingParts) {
            v.add("parts_awaited", "only with status WAITING_PARTS");
        }
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            Some(UpdateStatus {
                work_order_no: no?,
                expected_version: version?,
                status: status?,
                note: note?,
                parts_awaited: awaited,
            })
        })
    }
}

impl TryFrom<&pb::SubmitQuotationRequest> for Quote {
    type Error = Invalid;

    fn try_from(r: &pb::SubmitQuotationRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let items = item_lines(&mut v, "items", &r.items);
        if r.items.is_empty() {
            v.add("items", "at least one item is required");
        }
        let note = v.check("note", optional_text(&r.note, 500));
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            Some(Quote {
                work_order_no: no?,
                expected_version: (r.expected_version > 0).then_some(r.expected_version),
                items,
                note: note?,
            })
        })
    }
}

impl TryFrom<&pb::ApproveQuotationRequest> for AnswerQuote {
    type Error = Invalid;

    fn try_from(r: &pb::ApproveQuotationRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let name = v.check("customer_name", required_text(&r.customer_name, 100));
        let note = v.check("note", optional_text(&r.note, 500));
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            Some(AnswerQuote {
                work_order_no: no?,
                expected_version: (r.expected_version > 0).then_some(r.expected_version),
                approved: r.approved,
                customer_name: name?,
                note: note?,
            })
        })
    }
}

impl TryFrom<&pb::ProposeChangeRequest> for ProposeChange {
    type Error = Invalid;

    fn try_from(r: &pb::ProposeChangeRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let added = item_lines(&mut v, "added", &r.added);
        let removed = item_lines(&mut v, "removed", &r.removed);
        if r.added.is_empty() && r.removed.is_empty() {
            v.add("added", "a change adds or removes at least one item");
        }
        let reason = v.check("reason", required_text(&r.reason, 500));
        // A change is a new entry of the log: a retry without the key would add it twice.
        key(&mut v, &r.idempotency_key, true);
        v.done(|| {
            Some(ProposeChange {
                work_order_no: no?,
                expected_version: (r.expected_version > 0).then_some(r.expected_version),
                added,
                removed,
                reason: reason?,
            })
        })
    }
}

impl TryFrom<&pb::DecideChangeRequest> for DecideChange {
    type Error = Invalid;

    fn try_from(r: &pb::DecideChangeRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let id = v.check("change_id", required_text(&r.change_id, 40));
        let name = v.check("customer_name", required_text(&r.customer_name, 100));
        let note = v.check("note", optional_text(&r.note, 500));
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            Some(DecideChange {
                work_order_no: no?,
                change_id: id?.to_ascii_uppercase(),
                expected_version: (r.expected_version > 0).then_some(r.expected_version),
                approved: r.approved,
                customer_name: name?,
                note: note?,
            })
        })
    }
}

impl TryFrom<&pb::CompleteWorkOrderRequest> for Complete {
    type Error = Invalid;

    fn try_from(r: &pb::CompleteWorkOrderRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let version = v.check("expected_version", version(r.expected_version));
        let used = parts_used(&mut v, "parts_used", &r.parts_used);
        let labour = v.check("labour_minutes", positive(r.labour_minutes));
        if r.labour_minutes > 24 * 60 * 14 {
            v.add("labour_minutes", "must be at most two weeks of minutes");
        }
        let charge = r.charge.as_ref().map(|m| {
            if m.amount_minor < 0 {
                v.add("charge.amount_minor", "must not be negative");
            }
            (m.currency.trim().to_ascii_uppercase(), m.amount_minor)
        });
        let mut old = Vec::new();
        for (i, o) in r.old_parts.iter().enumerate() {
            let part = v.check(format!("old_parts[{i}].part_no"), PartNo::parse(&o.part_no));
            let q = v.check(format!("old_parts[{i}].quantity"), positive(o.quantity));
            let serial = v.check(
                format!("old_parts[{i}].serial"),
                optional(&o.serial, Serial::parse),
            );
            let by = v.check(
                format!("old_parts[{i}].return_by_date"),
                date(&o.return_by_date),
            );
            if let (Some(part), Some(q), Some(serial), Some(by)) = (part, q, serial, by) {
                if by.is_some() && !o.must_return {
                    v.add(
                        format!("old_parts[{i}].return_by_date"),
                        "only for a part that must return",
                    );
                }
                old.push(OldPart {
                    part_no: part.into_string(),
                    quantity: q,
                    serial: serial.map(Serial::into_string).unwrap_or_default(),
                    must_return: o.must_return,
                    return_by: by,
                });
            }
        }
        let serial = v.check("serial", optional(&r.serial, Serial::parse));
        let resolution = v.check("resolution", optional_text(&r.resolution, 2000));
        let category = match r.service_category {
            0 => Some(None),
            n => v.check(
                "service_category",
                wire::category_from(n)
                    .map(Some)
                    .ok_or_else(|| format!("{n} is not a service category")),
            ),
        };
        key(&mut v, &r.idempotency_key, false);
        v.done(|| {
            Some(Complete {
                work_order_no: no?,
                expected_version: version?,
                parts_used: used,
                labour_minutes: labour?,
                charge,
                old_parts: old,
                serial: serial?.map(Serial::into_string),
                resolution: resolution?,
                category: category?,
            })
        })
    }
}

impl TryFrom<&pb::RecordFinalInspectionRequest> for Inspect {
    type Error = Invalid;

    fn try_from(r: &pb::RecordFinalInspectionRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let no = v.check("work_order_no", work_order_no(&r.work_order_no));
        let Some(i) = &r.inspection else {
            v.add("inspection", "is required");
            return Err(Invalid(v.into_vec()));
        };
        let by = v.check(
            "inspection.inspected_by",
            optional_text(&i.inspected_by, 100),
        );
        let mut checklist = Vec::new();
        for (n, line) in i.checklist.iter().enumerate() {
            if let Some(l) = v.check(
                format!("inspection.checklist[{n}]"),
                required_text(line, 200),
            ) {
                checklist.push(l);
            }
        }
        if i.checklist.is_empty() {
            v.add("inspection.checklist", "at least one check is required");
        }
        let note = v.check("inspection.note", optional_text(&i.note, 1000));
        // An inspection is a new record: a retry without the key would record it twice.
        key(&mut v, &r.idempotency_key, true);
        v.done(|| {
            Some(Inspect {
                work_order_no: no?,
                passed: i.passed,
                inspected_by: by?,
                checklist,
                note: note?,
                customer_signed: i.customer_signed,
            })
        })
    }
}

/// A list of work orders: the filter and the page.
pub struct WorkOrderQuery {
    pub filter: Filter,
    pub page: Page<(DateTime<Utc>, String)>,
}

impl TryFrom<Paged<'_, pb::ListWorkOrdersRequest>> for WorkOrderQuery {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::ListWorkOrdersRequest>) -> Result<Self, Invalid> {
        let r = p.msg;
        let mut v = Violations::new();
        let branch = v.check("branch", optional(&r.branch, BranchCode::parse));
        let tech = v.check(
            "technician_id",
            optional(&r.technician_id, TechnicianId::parse),
        );
        let request_no = v.check("request_no", optional(&r.request_no, RequestNo::parse));
        let serial = v.check("serial", optional(&r.serial, Serial::parse));
        let mut statuses = Vec::new();
        for (i, s) in r.statuses.iter().enumerate() {
            match wire::status_from(*s) {
                Some(s) => statuses.push(s),
                None => v.add(format!("statuses[{i}]"), "must be a work order status"),
            }
        }
        let (from, to) = r
            .created
            .as_ref()
            .map(|c| (wire::time_from(&c.from), wire::time_from(&c.to)))
            .unwrap_or((None, None));
        let page = page(&mut v, r.page_size, &r.page_token, p.max_page_size);
        v.done(|| {
            Some(WorkOrderQuery {
                filter: Filter {
                    branch: branch?.map(BranchCode::into_string),
                    technician_id: tech?.map(|t| t.as_str().to_owned()),
                    request_no: request_no?.map(RequestNo::into_string),
                    serial: serial?.map(Serial::into_string),
                    statuses,
                    created_from: from,
                    created_to: to,
                    sla_breached_only: r.sla_breached_only,
                    after: None,
                },
                page: page?,
            })
        })
    }
}

impl TryFrom<&pb::GetBoardRequest> for BoardQuery {
    type Error = Invalid;

    fn try_from(r: &pb::GetBoardRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let branch = v.check("branch", optional(&r.branch, BranchCode::parse));
        let tech = v.check(
            "technician_id",
            optional(&r.technician_id, TechnicianId::parse),
        );
        let mut statuses = Vec::new();
        for (i, s) in r.statuses.iter().enumerate() {
            match wire::status_from(*s) {
                Some(s) => statuses.push(s),
                None => v.add(format!("statuses[{i}]"), "must be a work order status"),
            }
        }
        v.done(|| {
            Some(BoardQuery {
                branch: branch?.map(BranchCode::into_string),
                technician_id: tech?.map(|t| t.as_str().to_owned()),
                statuses,
            })
        })
    }
}

impl TryFrom<&pb::LoanToolRequest> for Lend {
    type Error = Invalid;

    fn try_from(r: &pb::LoanToolRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let tool = v.check("tool_id", ToolId::parse(&r.tool_id));
        let name = v.check("tool_name", required_text(&r.tool_name, 100));
        let tech = v.check("technician_id", TechnicianId::parse(&r.technician_id));
        let wo = v.check("work_order_no", optional(&r.work_order_no, work_order_no));
        let due = match v.check("due_back_date", date(&r.due_back_date)) {
            Some(None) => {
                v.add("due_back_date", "is required");
                None
            }
            other => other.flatten(),
        };
        key(&mut v, &r.idempotency_key, true);
        v.done(|| {
            Some(Lend {
                tool_id: tool?,
                tool_name: name?,
                technician_id: tech?,
                work_order_no: wo?,
                due_back: due?,
            })
        })
    }
}

impl TryFrom<&pb::ReturnToolRequest> for GiveBack {
    type Error = Invalid;

    fn try_from(r: &pb::ReturnToolRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let id = v.check("loan_id", LoanId::parse(&r.loan_id));
        let outcome = match r.outcome {
            0 => Some(LoanStatus::Returned),
            n => match wire::loan_status_from(n) {
                Some(LoanStatus::Out) | None => {
                    v.add("outcome", "must be RETURNED, DAMAGED or LOST");
                    None
                }
                s => s,
            },
        };
        let condition = v.check("return_condition", optional_text(&r.return_condition, 500));
        v.done(|| {
            Some(GiveBack {
                loan_id: id?,
                outcome: outcome?,
                condition: condition?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListToolLoansRequest>> for LoanQuery {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::ListToolLoansRequest>) -> Result<Self, Invalid> {
        let r = p.msg;
        let mut v = Violations::new();
        let tech = v.check(
            "technician_id",
            optional(&r.technician_id, TechnicianId::parse),
        );
        let tool = v.check("tool_id", optional(&r.tool_id, ToolId::parse));
        let page = page::<i64>(&mut v, r.page_size, &r.page_token, p.max_page_size);
        v.done(|| {
            let page = page?;
            Some(LoanQuery {
                technician_id: tech?.map(|t| t.as_str().to_owned()),
                tool_id: tool?.map(|t| t.as_str().to_owned()),
                open_only: r.open_only,
                overdue_only: r.overdue_only,
                size: page.size,
                after: page.after,
            })
        })
    }
}

/// The rework statistics' scope.
pub struct ReworkQuery {
    pub branch: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TryFrom<&pb::GetReworkStatisticsRequest> for ReworkQuery {
    type Error = Invalid;

    fn try_from(r: &pb::GetReworkStatisticsRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let branch = v.check("branch", optional(&r.branch, BranchCode::parse));
        let (from, to) = r
            .completed
            .as_ref()
            .map(|c| (wire::time_from(&c.from), wire::time_from(&c.to)))
            .unwrap_or((None, None));
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            v.add("completed.to", "must be after completed.from");
        }
        v.done(|| {
            Some(ReworkQuery {
                branch: branch?.map(BranchCode::into_string),
                from,
                to,
            })
        })
    }
}
