//! Domain ↔ protobuf: the one place that knows the proto enums' numbers and builds the API's
//! messages and the outgoing events. Protobuf stops at the edges (this, `grpc`, `events`,
//! `projection`); the domain, the store and the service's rules never see it.

use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::proto::intake::v1 as intake;
use chrono::{DateTime, Utc};
use prost::Message;

use crate::domain::assessment::StarLevel;
use crate::domain::complaint::{
    Category, Complaint, ComplaintStatus, Department, Escalation, Severity,
};
use crate::domain::kpi::{KpiName, LifecycleClass, Ratio};
use crate::domain::survey::{Rating, Survey};
use crate::domain::visit::{Customer, Outcome, Visit, VisitSource, VisitStatus};

/// A number outside a proto enum (a client newer or older than this service, or a wrong one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownNumber(pub i32);

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn visit_status(s: VisitStatus) -> pb::VisitStatus {
    match s {
        VisitStatus::Due => pb::VisitStatus::Due,
        VisitStatus::Attempted => pb::VisitStatus::Attempted,
        VisitStatus::Done => pb::VisitStatus::Done,
        VisitStatus::ClosedUnreached => pb::VisitStatus::ClosedUnreached,
        VisitStatus::Cancelled => pb::VisitStatus::Cancelled,
    }
}

pub fn visit_status_from(v: i32) -> Option<VisitStatus> {
    Some(match pb::VisitStatus::try_from(v).ok()? {
        pb::VisitStatus::Due => VisitStatus::Due,
        pb::VisitStatus::Attempted => VisitStatus::Attempted,
        pb::VisitStatus::Done => VisitStatus::Done,
        pb::VisitStatus::ClosedUnreached => VisitStatus::ClosedUnreached,
        pb::VisitStatus::Cancelled => VisitStatus::Cancelled,
        pb::VisitStatus::Unspecified => return None,
    })
}

pub fn visit_source(s: VisitSource) -> pb::VisitSource {
    match s {
        VisitSource::WorkOrderCompleted => pb::VisitSource::WorkOrderCompleted,
        VisitSource::ShipmentDelivered => pb::VisitSource::ShipmentDelivered,
        VisitSource::RefundAuthorized => pb::VisitSource::RefundAuthorized,
    }
}

pub fn outcome(o: Outcome) -> pb::VisitOutcome {
    match o {
        Outcome::Reached => pb::VisitOutcome::Reached,
        Outcome::NoAnswer => pb::VisitOutcome::NoAnswer,
        Outcome::WrongNumber => pb::VisitOutcome::WrongNumber,
        Outcome::Refused => pb::VisitOutcome::Refused,
        Outcome::CallBack => pb::VisitOutcome::CallBack,
    }
}

pub fn outcome_from(v: i32) -> Option<Outcome> {
    Some(match pb::VisitOutcome::try_from(v).ok()? {
        pb::VisitOutcome::Reached => Outcome::Reached,
        pb::VisitOutcome::NoAnswer => Outcome::NoAnswer,
        pb::VisitOutcome::WrongNumber => Outcome::WrongNumber,
        pb::VisitOutcome::Refused => Outcome::Refused,
        pb::VisitOutcome::CallBack => Outcome::CallBack,
        pb::VisitOutcome::Unspecified => return None,
    })
}

pub fn rating(r: Rating) -> pb::Rating {
    match r {
        Rating::VerySatisfied => pb::Rating::VerySatisfied,
        Rating::Satisfied => pb::Rating::Satisfied,
        Rating::Dissatisfied => pb::Rating::Dissatisfied,
        Rating::VeryDissatisfied => pb::Rating::VeryDissatisfied,
    }
}

/// `Ok(None)` for UNSPECIFIED, `Err` for a number outside the enum.
pub fn rating_from(v: i32) -> Result<Option<Rating>, UnknownNumber> {
    Ok(
        match pb::Rating::try_from(v).map_err(|_| UnknownNumber(v))? {
            pb::Rating::Unspecified => None,
            pb::Rating::VerySatisfied => Some(Rating::VerySatisfied),
            pb::Rating::Satisfied => Some(Rating::Satisfied),
            pb::Rating::Dissatisfied => Some(Rating::Dissatisfied),
            pb::Rating::VeryDissatisfied => Some(Rating::VeryDissatisfied),
        },
    )
}

fn opt_rating(r: Option<Rating>) -> i32 {
    r.map(|r| rating(r) as i32).unwrap_or(0)
}

pub fn category(c: Category) -> pb::ComplaintCategory {
    match c {
        Category::ProductQuality => pb::ComplaintCategory::ProductQuality,
        Category::PackagingTransportDamage => pb::ComplaintCategory::PackagingTransportDamage,
        Category::StaffConduct => pb::ComplaintCategory::StaffConduct,
        Category::Other => pb::ComplaintCategory::Other,
        Category::DealerConduct => pb::ComplaintCategory::DealerConduct,
    }
}

/// `Ok(None)` for UNSPECIFIED, `Err` for a number outside the enum.
pub fn category_from(v: i32) -> Result<Option<Category>, UnknownNumber> {
    Ok(
        match pb::ComplaintCategory::try_from(v).map_err(|_| UnknownNumber(v))? {
            pb::ComplaintCategory::Unspecified => None,
            pb::ComplaintCategory::ProductQuality => Some(Category::ProductQuality),
            pb::ComplaintCategory::PackagingTransportDamage => {
                Some(Category::PackagingTransportDamage)
            }
            pb::ComplaintCategory::StaffConduct => Some(Category::StaffConduct),
            pb::ComplaintCategory::Other => Some(Category::Other),
            pb::ComplaintCategory::DealerConduct => Some(Category::DealerConduct),
        },
    )
}

pub fn department(d: Department) -> pb::Department {
    match d {
        Department::QualityRnd => pb::Department::QualityRnd,
        Department::WarehouseLogistics => pb::Department::WarehouseLogistics,
        Department::ServiceManagement => pb::Department::ServiceManagement,
        Department::CustomerService => pb::Department::CustomerService,
        Department::ChannelManagement => pb::Department::ChannelManagement,
    }
}

pub fn department_from(v: i32) -> Result<Option<Department>, UnknownNumber> {
    Ok(
        match pb::Department::try_from(v).map_err(|_| UnknownNumber(v))? {
            pb::Department::Unspecified => None,
            pb::Department::QualityRnd => Some(Department::QualityRnd),
            pb::Department::WarehouseLogistics => Some(Department::WarehouseLogistics),
            pb::Department::ServiceManagement => Some(Department::ServiceManagement),
            pb::Department::CustomerService => Some(Department::CustomerService),
            pb::Department::ChannelManagement => Some(Department::ChannelManagement),
        },
    )
}

pub fn severity(s: Severity) -> pb::Severity {
    match s {
        Severity::Minor => pb::Severity::Minor,
        Severity::Major => pb::Severity::Major,
        Severity::Serious => pb::Severity::Serious,
    }
}

pub fn severity_from(v: i32) -> Result<Option<Severity>, UnknownNumber> {
    Ok(
        match pb::Severity::try_from(v).map_err(|_| UnknownNumber(v))? {
            pb::Severity::Unspecified => None,
            pb::Severity::Minor => Some(Severity::Minor),
            pb::Severity::Major => Some(Severity::Major),
            pb::Severity::Serious => Some(Severity::Serious),
        },
    )
}

pub fn complaint_status(s: ComplaintStatus) -> pb::ComplaintStatus {
    match s {
        ComplaintStatus::Open => pb::ComplaintStatus::Open,
        ComplaintStatus::Escalated => pb::ComplaintStatus::Escalated,
        ComplaintStatus::Resolved => pb::ComplaintStatus::Resolved,
    }
}

pub fn complaint_status_from(v: i32) -> Result<Option<ComplaintStatus>, UnknownNumber> {
    Ok(
        match pb::ComplaintStatus::try_from(v).map_err(|_| UnknownNumber(v))? {
            pb::ComplaintStatus::Unspecified => None,
            pb::ComplaintStatus::Open => Some(ComplaintStatus::Open),
            pb::ComplaintStatus::Escalated => Some(ComplaintStatus::Escalated),
            pb::ComplaintStatus::Resolved => Some(ComplaintStatus::Resolved),
        },
    )
}

/// A category's name for a one-line summary (the number when it is unknown).
pub fn category_name(v: i32) -> String {
    match category_from(v) {
        Ok(Some(c)) => c.as_str().to_owned(),
        _ => format!("category {v}"),
    }
}

pub fn severity_name(v: i32) -> String {
    match severity_from(v) {
        Ok(Some(s)) => s.as_str().to_owned(),
        _ => format!("severity {v}"),
    }
}

pub fn star_level(l: StarLevel) -> pb::StarLevel {
    match l {
        StarLevel::BelowStandard => pb::StarLevel::BelowStandard,
        StarLevel::MeetsStandard => pb::StarLevel::MeetsStandard,
        StarLevel::ThreeStars => pb::StarLevel::ThreeStars,
        StarLevel::FourStars => pb::StarLevel::FourStars,
        StarLevel::FiveStars => pb::StarLevel::FiveStars,
    }
}

pub fn lifecycle_class(c: LifecycleClass) -> pb::LifecycleClass {
    match c {
        LifecycleClass::InProduction => pb::LifecycleClass::InProduction,
        LifecycleClass::Discontinued => pb::LifecycleClass::Discontinued,
        LifecycleClass::DiscontinuedLong => pb::LifecycleClass::DiscontinuedLong,
        LifecycleClass::Unknown => pb::LifecycleClass::Unknown,
    }
}

fn region(s: &str) -> common::Region {
    match s {
        "urban" => common::Region::Urban,
        "suburban" => common::Region::Suburban,
        "remote" => common::Region::Remote,
        _ => common::Region::Unspecified,
    }
}

fn region_name(v: i32) -> &'static str {
    match common::Region::try_from(v) {
        Ok(common::Region::Urban) => "urban",
        Ok(common::Region::Suburban) => "suburban",
        Ok(common::Region::Remote) => "remote",
        _ => "",
    }
}

pub fn customer(c: &Customer) -> common::Customer {
    common::Customer {
        name: c.name.clone(),
        phone: c.phone.clone(),
        address: c.address.clone(),
        region: region(&c.region) as i32,
        email: c.email.clone(),
    }
}

pub fn customer_from(c: &common::Customer) -> Customer {
    Customer {
        name: c.name.trim().to_owned(),
        phone: c.phone.trim().to_owned(),
        address: c.address.trim().to_owned(),
        region: region_name(c.region).to_owned(),
        email: c.email.trim().to_owned(),
    }
}

/// A KPI figure with its target.
pub fn kpi(r: Ratio, name: Option<KpiName>, target: u32) -> pb::Kpi {
    pb::Kpi {
        value_bp: r.bp(),
        numerator: r.numerator,
        denominator: r.denominator,
        target_bp: target,
        lower_is_better: name.is_some_and(KpiName::lower_is_better),
    }
}

pub fn visit(v: &Visit, now: DateTime<Utc>) -> pb::Visit {
    pb::Visit {
        visit_id: v.visit_id.clone(),
        request_no: v.request_no.clone(),
        branch: v.branch.clone(),
        source: visit_source(v.source) as i32,
        status: visit_status(v.status) as i32,
        due_date: v.due_date.to_string(),
        customer: v.customer.as_ref().map(customer),
        work_order_no: v.work_order_no.clone(),
        shipment_no: v.shipment_no.clone(),
        technician_id: v.technician_id.clone(),
        attempts: v.attempts,
        last_outcome: v.last_outcome.map(|o| outcome(o) as i32).unwrap_or(0),
        last_attempt_at: v.last_attempt_at.map(timestamp),
        done_at: v.done_at.map(timestamp),
        created_at: Some(timestamp(v.created_at)),
        note: v.note.clone(),
        overdue: v.is_overdue(now),
        due_at: Some(timestamp(v.due_at)),
        refund_id: v.refund_id.clone(),
        product_model: v.product_model.clone(),
        serial: v.serial.clone(),
        part_nos: v.part_nos.clone(),
        survey_id: v.survey_id.clone(),
        call_back_at: v.call_back_at.map(timestamp),
    }
}

pub fn survey(s: &Survey) -> pb::Survey {
    pb::Survey {
        survey_id: s.survey_id.clone(),
        visit_id: s.visit_id.clone(),
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        attitude: rating(s.ratings.attitude) as i32,
        technical_skill: opt_rating(s.ratings.technical_skill),
        arrival_time: opt_rating(s.ratings.arrival_time),
        promise_keeping: rating(s.ratings.promise_keeping) as i32,
        comment: s.comment.clone(),
        technician_id: s.technician_id.clone(),
        recorded_at: Some(timestamp(s.recorded_at)),
        recorded_by: s.recorded_by.clone(),
        resolved: s.resolved,
        satisfied: s.satisfied,
        complaint_id: s.complaint_id.clone(),
    }
}

pub fn complaint(c: &Complaint) -> pb::Complaint {
    pb::Complaint {
        complaint_id: c.complaint_id.clone(),
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        category: category(c.category) as i32,
        routed_to: department(c.routed_to) as i32,
        severity: severity(c.severity) as i32,
        status: complaint_status(c.status) as i32,
        description: c.description.clone(),
        customer: c.customer.as_ref().map(customer),
        escalation_level: c.escalation_level,
        assignee: c.assignee.clone(),
        technician_id: c.technician_id.clone(),
        source: c.source.clone(),
        survey_id: c.survey_id.clone(),
        resolution: c.resolution.clone(),
        opened_at: Some(timestamp(c.opened_at)),
        escalated_at: c.escalated_at.map(timestamp),
        resolved_at: c.resolved_at.map(timestamp),
        serial: c.serial.clone(),
        product_model: c.product_model.clone(),
        respond_by: Some(timestamp(c.respond_by)),
        reported_via: c.reported_via.clone(),
        resolved_by: c.resolved_by.clone(),
        part_nos: c.part_nos.clone(),
        deadline_escalated: c.deadline_escalated_at.is_some(),
        opened_by: c.opened_by.clone(),
    }
}

// Outgoing events.

pub fn visit_scheduled(v: &Visit) -> pb::VisitScheduled {
    pb::VisitScheduled {
        request_no: v.request_no.clone(),
        branch: v.branch.clone(),
        visit_id: v.visit_id.clone(),
        source: visit_source(v.source) as i32,
        due_date: v.due_date.to_string(),
        work_order_no: v.work_order_no.clone(),
        shipment_no: v.shipment_no.clone(),
        technician_id: v.technician_id.clone(),
        due_at: Some(timestamp(v.due_at)),
        refund_id: v.refund_id.clone(),
    }
}

pub fn survey_recorded(
    s: &Survey,
    v: &Visit,
    follow_up: Option<pb::FollowUp>,
) -> pb::SurveyRecorded {
    pb::SurveyRecorded {
        request_no: s.request_no.clone(),
        branch: s.branch.clone(),
        survey_id: s.survey_id.clone(),
        visit_id: s.visit_id.clone(),
        attitude: rating(s.ratings.attitude) as i32,
        technical_skill: opt_rating(s.ratings.technical_skill),
        arrival_time: opt_rating(s.ratings.arrival_time),
        promise_keeping: rating(s.ratings.promise_keeping) as i32,
        comment: s.comment.clone(),
        technician_id: s.technician_id.clone(),
        satisfied: s.satisfied,
        recorded_at: Some(timestamp(s.recorded_at)),
        resolved: s.resolved,
        complaint_id: s.complaint_id.clone(),
        follow_up,
        work_order_no: v.work_order_no.clone(),
        serial: v.serial.clone(),
        product_model: v.product_model.clone(),
        part_nos: v.part_nos.clone(),
        source: visit_source(v.source) as i32,
    }
}

pub fn complaint_opened(c: &Complaint) -> pb::ComplaintOpened {
    pb::ComplaintOpened {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        complaint_id: c.complaint_id.clone(),
        category: category(c.category) as i32,
        routed_to: department(c.routed_to) as i32,
        severity: severity(c.severity) as i32,
        description: c.description.clone(),
        technician_id: c.technician_id.clone(),
        serial: c.serial.clone(),
        product_model: c.product_model.clone(),
        opened_at: Some(timestamp(c.opened_at)),
        escalate_immediately: c.severity == Severity::Serious,
        source: c.source.clone(),
        respond_by: Some(timestamp(c.respond_by)),
        part_nos: c.part_nos.clone(),
        survey_id: c.survey_id.clone(),
        // The department's handler, before any escalation at opening.
        assignee: c.routed_to.as_str().to_owned(),
    }
}

pub fn complaint_escalated(c: &Complaint, e: &Escalation) -> pb::ComplaintEscalated {
    pb::ComplaintEscalated {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        complaint_id: c.complaint_id.clone(),
        category: category(c.category) as i32,
        severity: severity(c.severity) as i32,
        routed_to: department(c.routed_to) as i32,
        from_level: e.from_level,
        to_level: e.to_level,
        assignee: e.assignee.clone(),
        reason: e.reason.clone(),
        automatic: e.automatic,
        escalated_by: e.by.clone(),
        escalated_at: Some(timestamp(e.at)),
        deadline_passed: e.deadline_passed,
    }
}

pub fn complaint_resolved(c: &Complaint) -> pb::ComplaintResolved {
    pb::ComplaintResolved {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        complaint_id: c.complaint_id.clone(),
        category: category(c.category) as i32,
        severity: severity(c.severity) as i32,
        routed_to: department(c.routed_to) as i32,
        resolution: c.resolution.clone(),
        reported_via: c.reported_via.clone(),
        resolved_by: c.resolved_by.clone(),
        opened_at: Some(timestamp(c.opened_at)),
        respond_by: Some(timestamp(c.respond_by)),
        resolved_at: c.resolved_at.map(timestamp),
        escalation_level: c.escalation_level,
        technician_id: c.technician_id.clone(),
    }
}

fn payload_of(envelope: &[u8]) -> Option<Vec<u8>> {
    common::EventEnvelope::decode(envelope)
        .ok()
        .map(|e| e.payload)
}

/// The customer and the product (model, serial) from intake's logged submission.
pub fn submission(envelope: &[u8]) -> Option<(Customer, String, String)> {
    let r = intake::RequestSubmitted::decode(payload_of(envelope)?.as_slice())
        .ok()?
        .request?;
    let product = r.product.unwrap_or_default();
    Some((
        r.customer.as_ref().map(customer_from).unwrap_or_default(),
        product.model.trim().to_owned(),
        product.serial.trim().to_owned(),
    ))
}

/// What field-service needs for a follow-up work order: the job, the customer's words and the
/// complaint, with customer, site and product from the request's logged intake submission and
/// claim approval (the approval wins: it is the later and complete one).
pub fn follow_up(
    v: &Visit,
    s: &Survey,
    submitted: Option<&[u8]>,
    approved: Option<&[u8]>,
    completions: &[Vec<u8>],
) -> pb::FollowUp {
    // The parts the visited job fitted, with their quantities, from its completion.
    let previous_parts = completions
        .iter()
        .filter_map(|e| payload_of(e))
        .filter_map(|p| fieldservice::WorkOrderCompleted::decode(p.as_slice()).ok())
        .find(|c| !v.work_order_no.is_empty() && c.work_order_no == v.work_order_no)
        .map(|c| {
            c.parts_used
                .iter()
                .map(|l| common::PartLine {
                    part_no: l.part_no.clone(),
                    quantity: l.quantity,
                })
                .collect()
        })
        .unwrap_or_default();
    let request = submitted
        .and_then(payload_of)
        .and_then(|p| intake::RequestSubmitted::decode(p.as_slice()).ok())
        .and_then(|r| r.request);
    let claim = approved
        .and_then(payload_of)
        .and_then(|p| claims::ClaimApproved::decode(p.as_slice()).ok());
    let customer = claim
        .as_ref()
        .and_then(|c| c.customer.clone())
        .or_else(|| request.as_ref().and_then(|r| r.customer.clone()))
        .or_else(|| v.customer.as_ref().map(customer));
    let product = claim
        .as_ref()
        .and_then(|c| c.product.clone())
        .or_else(|| request.as_ref().and_then(|r| r.product.clone()));
    let site = claim.as_ref().and_then(|c| c.ship_to.clone()).or_else(|| {
        customer.as_ref().map(|c| common::Address {
            recipient: c.name.clone(),
            phone: c.phone.clone(),
            address: c.address.clone(),
            region: c.region,
            branch: v.branch.clone(),
        })
    });
    let kind = claim
        .as_ref()
        .map(|c| c.kind)
        .or_else(|| request.as_ref().map(|r| r.kind))
        .unwrap_or(0);
    let urgency = claim
        .as_ref()
        .map(|c| c.urgency)
        .or_else(|| request.as_ref().map(|r| r.urgency))
        .unwrap_or(0);
    pb::FollowUp {
        previous_work_order_no: v.work_order_no.clone(),
        previous_technician_id: v.technician_id.clone(),
        customer,
        site,
        product,
        kind,
        urgency,
        fault_description: if s.comment.is_empty() {
            "the customer says the problem is not solved".into()
        } else {
            s.comment.clone()
        },
        complaint_id: s.complaint_id.clone(),
        previous_parts,
    }
}
