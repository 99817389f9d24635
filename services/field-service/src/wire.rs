//! The domain ↔ protobuf conversions: the one place that knows the proto enums' numbers and
//! builds the API's and the events' messages from the domain.

use aftersales_platform::calendar::Calendar;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use chrono::{DateTime, Utc};

use crate::domain::kinds::Coverage;
use crate::domain::paid::{Answer, Change, Item, Quotation};
use crate::domain::sla;
use crate::domain::slots::Window;
use crate::domain::technician::Technician;
use crate::domain::tools::{LoanStatus, ToolLoan};
use crate::domain::work_order::{
    Customer, Inspection, OldPart, PartUse, Product, Site, StatusChange,
};
use crate::domain::{Category, Region, RequestKind, Status, Urgency, WorkOrder};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(timestamp)
}

pub fn time_from(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

pub fn money(currency: &str, minor: i64) -> common::Money {
    common::Money {
        currency: currency.to_owned(),
        amount_minor: minor,
    }
}

pub fn status(s: Status) -> i32 {
    (match s {
        Status::New => pb::WorkOrderStatus::New,
        Status::Scheduled => pb::WorkOrderStatus::Scheduled,
        Status::EnRoute => pb::WorkOrderStatus::EnRoute,
        Status::OnSite => pb::WorkOrderStatus::OnSite,
        Status::InRepair => pb::WorkOrderStatus::InRepair,
        Status::WaitingParts => pb::WorkOrderStatus::WaitingParts,
        Status::Machining => pb::WorkOrderStatus::Machining,
        Status::AwaitingReply => pb::WorkOrderStatus::AwaitingReply,
        Status::Stopped => pb::WorkOrderStatus::Stopped,
        Status::Done => pb::WorkOrderStatus::Done,
        Status::Cancelled => pb::WorkOrderStatus::Cancelled,
    }) as i32
}

pub fn status_from(n: i32) -> Option<Status> {
    Status::ALL.into_iter().find(|s| status(*s) == n)
}

pub fn region(r: Option<Region>) -> i32 {
    (match r {
        None => common::Region::Unspecified,
        Some(Region::Urban) => common::Region::Urban,
        Some(Region::Suburban) => common::Region::Suburban,
        Some(Region::Remote) => common::Region::Remote,
    }) as i32
}

pub fn region_from(n: i32) -> Option<Region> {
    Region::ALL.into_iter().find(|r| region(Some(*r)) == n)
}

pub fn urgency(u: Option<Urgency>) -> i32 {
    (match u {
        None => common::Urgency::Unspecified,
        Some(Urgency::Low) => common::Urgency::Low,
        Some(Urgency::Normal) => common::Urgency::Normal,
        Some(Urgency::High) => common::Urgency::High,
        Some(Urgency::Critical) => common::Urgency::Critical,
    }) as i32
}

pub fn urgency_from(n: i32) -> Option<Urgency> {
    [
        Urgency::Low,
        Urgency::Normal,
        Urgency::High,
        Urgency::Critical,
    ]
    .into_iter()
    .find(|u| urgency(Some(*u)) == n)
}

pub fn kind(k: Option<RequestKind>) -> i32 {
    (match k {
        None => common::RequestKind::Unspecified,
        Some(RequestKind::Replacement) => common::RequestKind::Replacement,
        Some(RequestKind::Repair) => common::RequestKind::Repair,
        Some(RequestKind::Return) => common::RequestKind::Return,
        Some(RequestKind::Exchange) => common::RequestKind::Exchange,
        Some(RequestKind::Installation) => common::RequestKind::Installation,
    }) as i32
}

pub fn kind_from(n: i32) -> Option<RequestKind> {
    [
        RequestKind::Replacement,
        RequestKind::Repair,
        RequestKind::Return,
        RequestKind::Exchange,
        RequestKind::Installation,
    ]
    .into_iter()
    .find(|k| kind(Some(*k)) == n)
}

pub fn category(c: Category) -> i32 {
    (match c {
        Category::Paid => pb::ServiceCategory::Paid,
        Category::Contract => pb::ServiceCategory::Contract,
        Category::Free => pb::ServiceCategory::Free,
        Category::Internal => pb::ServiceCategory::Internal,
    }) as i32
}

pub fn category_from(n: i32) -> Option<Category> {
    [
        Category::Paid,
        Category::Contract,
        Category::Free,
        Category::Internal,
    ]
    .into_iter()
    .find(|c| category(*c) == n)
}

pub fn coverage(c: Option<Coverage>) -> i32 {
    (match c {
        None => common::Coverage::Unspecified,
        Some(Coverage::Free) => common::Coverage::Free,
        Some(Coverage::Paid) => common::Coverage::Paid,
        Some(Coverage::Contract) => common::Coverage::Contract,
    }) as i32
}

pub fn coverage_from(n: i32) -> Option<Coverage> {
    [Coverage::Free, Coverage::Paid, Coverage::Contract]
        .into_iter()
        .find(|c| coverage(Some(*c)) == n)
}

/// A job's category from the claim's coverage of the job as a whole.
pub fn category_of_coverage(n: i32) -> Option<Category> {
    coverage_from(n).map(|c| match c {
        Coverage::Free => Category::Free,
        Coverage::Paid => Category::Paid,
        Coverage::Contract => Category::Contract,
    })
}

pub fn loan_status(s: LoanStatus) -> i32 {
    (match s {
        LoanStatus::Out => pb::ToolLoanStatus::Out,
        LoanStatus::Returned => pb::ToolLoanStatus::Returned,
        LoanStatus::Damaged => pb::ToolLoanStatus::Damaged,
        LoanStatus::Lost => pb::ToolLoanStatus::Lost,
    }) as i32
}

pub fn loan_status_from(n: i32) -> Option<LoanStatus> {
    [
        LoanStatus::Out,
        LoanStatus::Returned,
        LoanStatus::Damaged,
        LoanStatus::Lost,
    ]
    .into_iter()
    .find(|s| loan_status(*s) == n)
}

fn answer_quotation(a: Answer) -> i32 {
    (match a {
        Answer::Pending => pb::QuotationStatus::Proposed,
        Answer::Approved => pb::QuotationStatus::Approved,
        Answer::Rejected => pb::QuotationStatus::Rejected,
    }) as i32
}

fn answer_change(a: Answer) -> i32 {
    (match a {
        Answer::Pending => pb::ChangeStatus::Pending,
        Answer::Approved => pb::ChangeStatus::Approved,
        Answer::Rejected => pb::ChangeStatus::Rejected,
    }) as i32
}

pub fn customer(c: &Customer) -> common::Customer {
    common::Customer {
        name: c.name.clone(),
        phone: c.phone.clone(),
        address: c.address.clone(),
        region: region(c.region),
        email: c.email.clone(),
    }
}

pub fn customer_from(c: &common::Customer) -> Customer {
    Customer {
        name: c.name.trim().to_owned(),
        phone: c.phone.trim().to_owned(),
        address: c.address.trim().to_owned(),
        region: region_from(c.region),
        email: c.email.trim().to_owned(),
    }
}

pub fn site(s: &Site) -> common::Address {
    common::Address {
        recipient: s.recipient.clone(),
        phone: s.phone.clone(),
        address: s.address.clone(),
        region: region(s.region),
        branch: s.branch.clone(),
    }
}

pub fn site_from(a: &common::Address) -> Site {
    Site {
        recipient: a.recipient.trim().to_owned(),
        phone: a.phone.trim().to_owned(),
        address: a.address.trim().to_owned(),
        region: region_from(a.region),
        branch: a.branch.trim().to_owned(),
    }
}

pub fn product(p: &Product) -> common::Product {
    common::Product {
        category: p.category.clone(),
        model: p.model.clone(),
        serial: p.serial.clone(),
        purchase_date: p.purchase_date.clone(),
        invoice_no: p.invoice_no.clone(),
        invoice_date: p.invoice_date.clone(),
        receipt_date: p.receipt_date.clone(),
        factory_date: p.factory_date.clone(),
        service_contract_no: p.service_contract_no.clone(),
    }
}

pub fn product_from(p: &common::Product) -> Product {
    Product {
        category: p.category.trim().to_lowercase(),
        model: p.model.trim().to_owned(),
        serial: p.serial.trim().to_owned(),
        purchase_date: p.purchase_date.trim().to_owned(),
        invoice_no: p.invoice_no.trim().to_owned(),
        invoice_date: p.invoice_date.trim().to_owned(),
        receipt_date: p.receipt_date.trim().to_owned(),
        factory_date: p.factory_date.trim().to_owned(),
        service_contract_no: p.service_contract_no.trim().to_owned(),
    }
}

pub fn part_use(p: &PartUse) -> pb::PartUsed {
    pb::PartUsed {
        part_no: p.part_no.clone(),
        quantity: p.quantity,
        coverage: coverage(p.coverage),
        serial: p.serial.clone(),
    }
}

pub fn old_part(o: &OldPart) -> pb::OldPart {
    pb::OldPart {
        part_no: o.part_no.clone(),
        quantity: o.quantity,
        serial: o.serial.clone(),
        must_return: o.must_return,
        return_by_date: o.return_by.map(|d| d.to_string()).unwrap_or_default(),
    }
}

pub fn window(w: &Window) -> common::TimeRange {
    common::TimeRange {
        from: Some(timestamp(w.from)),
        to: Some(timestamp(w.to)),
    }
}

fn inspection(i: &Inspection) -> pb::FinalInspection {
    pb::FinalInspection {
        passed: i.passed,
        inspected_by: i.inspected_by.clone(),
        inspected_at: Some(timestamp(i.inspected_at)),
        checklist: i.checklist.clone(),
        note: i.note.clone(),
        customer_signed: i.customer_signed,
    }
}

fn change_of_status(c: &StatusChange) -> pb::StatusChange {
    pb::StatusChange {
        from: c.from.map(status).unwrap_or(0),
        to: status(c.to),
        at: Some(timestamp(c.at)),
        by: c.by.clone(),
        note: c.note.clone(),
    }
}

fn item(i: &Item, currency: &str) -> pb::QuotationItem {
    pb::QuotationItem {
        code: i.code.clone(),
        description: i.description.clone(),
        quantity: i.quantity,
        unit_price: Some(money(currency, i.unit_minor)),
        amount: Some(money(currency, i.amount_minor())),
    }
}

fn quotation(q: &Quotation) -> pb::Quotation {
    pb::Quotation {
        items: q.items.iter().map(|i| item(i, &q.currency)).collect(),
        total: Some(money(&q.currency, q.total_minor())),
        status: answer_quotation(q.status),
        quoted_by: q.quoted_by.clone(),
        quoted_at: Some(timestamp(q.quoted_at)),
        decided_by: q.decided_by.clone(),
        decided_at: ts(q.decided_at),
        note: q.note.clone(),
        fee_table_version: q.fee_table_version.clone(),
    }
}

fn change(c: &Change, currency: &str) -> pb::ServiceChange {
    pb::ServiceChange {
        change_id: c.change_id.clone(),
        added: c.added.iter().map(|i| item(i, currency)).collect(),
        removed: c.removed.iter().map(|i| item(i, currency)).collect(),
        reason: c.reason.clone(),
        status: answer_change(c.status),
        delta: Some(money(currency, c.delta_minor())),
        proposed_by: c.proposed_by.clone(),
        proposed_at: Some(timestamp(c.proposed_at)),
        decided_by: c.decided_by.clone(),
        decided_at: ts(c.decided_at),
        note: c.note.clone(),
    }
}

/// Working seconds left to the arrival deadline at `now` (0 once arrived or without one).
pub fn seconds_left(wo: &WorkOrder, calendar: &Calendar, now: DateTime<Utc>) -> i64 {
    match (wo.arrival_due_at, wo.arrived_at, wo.status.is_open()) {
        (Some(due), None, true) => sla::seconds_left(calendar, now, due),
        _ => 0,
    }
}

/// The work order as the API shows it, its time left counted at `now`.
pub fn work_order(
    wo: &WorkOrder,
    currency: &str,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> pb::WorkOrder {
    let c = wo.completion.as_ref();
    let currency = c.map(|c| c.currency.as_str()).unwrap_or(currency);
    pb::WorkOrder {
        work_order_no: wo.work_order_no.clone(),
        request_no: wo.request_no.clone(),
        branch: wo.branch.clone(),
        status: status(wo.status),
        service_category: category(wo.category),
        kind: kind(wo.kind),
        urgency: urgency(wo.urgency),
        customer: Some(customer(&wo.customer)),
        site: Some(site(&wo.site)),
        product: Some(product(&wo.product)),
        fault_description: wo.fault_description.clone(),
        planned_parts: wo.planned_parts.iter().map(part_use).collect(),
        technician_id: wo.technician_id.clone(),
        appointment: wo.appointment.as_ref().map(window),
        called_at: ts(wo.called_at),
        arrival_due_at: ts(wo.arrival_due_at),
        arrived_at: ts(wo.arrived_at),
        completed_at: ts(wo.completed_at),
        parts_used: c
            .map(|c| c.parts_used.iter().map(part_use).collect())
            .unwrap_or_default(),
        labour_minutes: c.map(|c| c.labour_minutes).unwrap_or(0),
        charge: c.map(|c| money(&c.currency, c.charge_minor)),
        old_parts: c
            .map(|c| c.old_parts.iter().map(old_part).collect())
            .unwrap_or_default(),
        final_inspection: wo.inspections.last().map(inspection),
        rework_of: wo.rework_of.clone(),
        version: wo.version,
        history: wo.history.iter().map(change_of_status).collect(),
        resolution: c.map(|c| c.resolution.clone()).unwrap_or_default(),
        created_at: Some(timestamp(wo.created_at)),
        sla_breached: wo.sla_breached,
        status_note: wo.status_note.clone(),
        quotation: wo.quotation.as_ref().map(quotation),
        changes: wo.changes.iter().map(|ch| change(ch, currency)).collect(),
        authorized_amount: wo.authorized_minor().map(|m| money(currency, m)),
        internal_rework_count: wo.internal_rework_count,
        arrival_seconds_left: seconds_left(wo, calendar, now),
        follow_up_of: wo.follow_up_of.clone(),
        status_since: Some(timestamp(wo.status_since)),
    }
}

pub fn board_card(wo: &WorkOrder, calendar: &Calendar, now: DateTime<Utc>) -> pb::BoardCard {
    pb::BoardCard {
        work_order_no: wo.work_order_no.clone(),
        request_no: wo.request_no.clone(),
        branch: wo.branch.clone(),
        technician_id: wo.technician_id.clone(),
        technician_name: wo.technician_name.clone(),
        urgency: urgency(wo.urgency),
        customer_name: wo.customer.name.clone(),
        region: region(wo.region()),
        product_model: wo.product.model.clone(),
        appointment: wo.appointment.as_ref().map(window),
        arrival_due_at: ts(wo.arrival_due_at),
        sla_breached: wo.sla_breached,
        status_since: Some(timestamp(wo.status_since)),
        status_note: wo.status_note.clone(),
        version: wo.version,
        arrival_seconds_left: seconds_left(wo, calendar, now),
        site_address: wo.site_address().to_owned(),
        service_category: category(wo.category),
        status: status(wo.status),
    }
}

pub fn technician(t: &Technician) -> pb::Technician {
    pb::Technician {
        technician_id: t.technician_id.clone(),
        name: t.name.clone(),
        phone: t.phone.clone(),
        branch: t.branch.clone(),
        skills: t.skills.clone(),
        territories: t.territories.clone(),
        regions: t.regions.iter().map(|r| region(Some(*r))).collect(),
        daily_capacity: t.daily_capacity,
        active: t.active,
        created_at: Some(timestamp(t.created_at)),
        updated_at: Some(timestamp(t.updated_at)),
    }
}

pub fn loan(l: &ToolLoan, today: chrono::NaiveDate) -> pb::ToolLoan {
    pb::ToolLoan {
        loan_id: l.loan_id.clone(),
        tool_id: l.tool_id.clone(),
        tool_name: l.tool_name.clone(),
        technician_id: l.technician_id.clone(),
        work_order_no: l.work_order_no.clone(),
        loaned_at: Some(timestamp(l.loaned_at)),
        due_back_date: l.due_back.to_string(),
        returned_at: ts(l.returned_at),
        return_condition: l.return_condition.clone(),
        status: loan_status(l.status),
        overdue: l.overdue(today),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_round_trips_through_its_proto_number() {
        for s in Status::ALL {
            assert_eq!(status_from(status(s)), Some(s));
        }
        for r in Region::ALL {
            assert_eq!(region_from(region(Some(r))), Some(r));
        }
        assert_eq!(region_from(0), None);
        for c in [
            Category::Paid,
            Category::Contract,
            Category::Free,
            Category::Internal,
        ] {
            assert_eq!(category_from(category(c)), Some(c));
        }
        assert_eq!(category_from(0), None);
        assert_eq!(
            category_of_coverage(common::Coverage::Paid as i32),
            Some(Category::Paid)
        );
        assert_eq!(
            kind_from(kind(Some(RequestKind::Installation))),
            Some(RequestKind::Installation)
        );
        assert_eq!(
            loan_status_from(loan_status(LoanStatus::Lost)),
            Some(LoanStatus::Lost)
        );
    }
}
