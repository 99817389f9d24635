//! The one place where claims-review's domain meets protobuf: the stored claim and refund as the
//! API answers them, the pieces intake's event and the API's requests are parsed from, the
//! outgoing events ([`events`]) and the rows written as protobuf before migration 2
//! ([`legacy`]). The service and the store never see a proto type.

pub mod dealers;
pub mod events;
pub mod legacy;

use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::claim::{ClaimLine, Customer, Product, ShipTo};
use crate::domain::command::{MissingInfo, Money, Payment, PaymentMethod, Region, Urgency};
use crate::domain::evaluate::{StartSource, Window, WindowKind};
use crate::domain::policy::PartClass;
use crate::domain::refund::{DeductionReason, Refund};
use crate::domain::{Claim, ClaimStatus, Coverage, Kind, Recommendation, RejectReason};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

pub fn money_to_proto(m: &Money) -> common::Money {
    common::Money {
        currency: m.currency.clone(),
        amount_minor: m.minor,
    }
}

fn money_from_proto(m: &common::Money) -> Money {
    Money {
        currency: m.currency.clone(),
        minor: m.amount_minor,
    }
}

fn minor(minor: i64, currency: &str) -> common::Money {
    common::Money {
        currency: currency.to_owned(),
        amount_minor: minor,
    }
}

/// A date field `YYYY-MM-DD`; empty: none.
pub fn date(field: &str, s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{field} {s:?} is not a date YYYY-MM-DD"))
}

fn date_to_proto(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

const KINDS: [(Kind, common::RequestKind); 5] = [
    (Kind::Replacement, common::RequestKind::Replacement),
    (Kind::Repair, common::RequestKind::Repair),
    (Kind::Return, common::RequestKind::Return),
    (Kind::Exchange, common::RequestKind::Exchange),
    (Kind::Installation, common::RequestKind::Installation),
];

pub fn kind_from_proto(k: i32) -> Result<Kind, String> {
    KINDS
        .iter()
        .find(|(_, p)| *p as i32 == k)
        .map(|(d, _)| *d)
        .ok_or_else(|| format!("kind {k} is not a request kind"))
}

fn kind_to_proto(k: Option<Kind>) -> i32 {
    k.and_then(|k| KINDS.iter().find(|(d, _)| *d == k))
        .map(|(_, p)| *p)
        .unwrap_or(common::RequestKind::Unspecified) as i32
}

const URGENCIES: [(Urgency, common::Urgency); 4] = [
    (Urgency::Low, common::Urgency::Low),
    (Urgency::Normal, common::Urgency::Normal),
    (Urgency::High, common::Urgency::High),
    (Urgency::Critical, common::Urgency::Critical),
];

/// Unspecified (or unknown) is `None`.
pub fn urgency_from_proto(u: i32) -> Option<Urgency> {
    URGENCIES
        .iter()
        .find(|(_, p)| *p as i32 == u)
        .map(|(d, _)| *d)
}

fn urgency_to_proto(u: Option<Urgency>) -> i32 {
    u.and_then(|u| URGENCIES.iter().find(|(d, _)| *d == u))
        .map(|(_, p)| *p)
        .unwrap_or(common::Urgency::Unspecified) as i32
}

pub fn region_from_proto(r: common::Region) -> Option<Region> {
    match r {
        common::Region::Unspecified => None,
        common::Region::Urban => Some(Region::Urban),
        common::Region::Suburban => Some(Region::Suburban),
        common::Region::Remote => Some(Region::Remote),
    }
}

fn region_from_i32(r: i32) -> Option<Region> {
    common::Region::try_from(r).ok().and_then(region_from_proto)
}

fn region_to_proto(r: Option<Region>) -> i32 {
    let r = match r {
        None => common::Region::Unspecified,
        Some(Region::Urban) => common::Region::Urban,
        Some(Region::Suburban) => common::Region::Suburban,
        Some(Region::Remote) => common::Region::Remote,
    };
    r as i32
}

pub fn coverage_to_proto(c: Coverage) -> common::Coverage {
    match c {
        Coverage::Free => common::Coverage::Free,
        Coverage::Paid => common::Coverage::Paid,
        Coverage::Contract => common::Coverage::Contract,
    }
}

pub fn coverage_from_proto(c: common::Coverage) -> Option<Coverage> {
    Some(match c {
        common::Coverage::Unspecified => return None,
        common::Coverage::Free => Coverage::Free,
        common::Coverage::Paid => Coverage::Paid,
        common::Coverage::Contract => Coverage::Contract,
    })
}

const REASONS: [(RejectReason, pb::RejectReason); 11] = [
    (
        RejectReason::NonReturnableCategory,
        pb::RejectReason::NonReturnableCategory,
    ),
    (
        RejectReason::ReturnWindowExpired,
        pb::RejectReason::ReturnWindowExpired,
    ),
    (
        RejectReason::ExchangeWindowExpired,
        pb::RejectReason::ExchangeWindowExpired,
    ),
    (
        RejectReason::InvalidDocuments,
        pb::RejectReason::InvalidDocuments,
    ),
    (
        RejectReason::SerialMismatch,
        pb::RejectReason::SerialMismatch,
    ),
    (RejectReason::Duplicate, pb::RejectReason::Duplicate),
    (
        RejectReason::PaidServiceDeclined,
        pb::RejectReason::PaidServiceDeclined,
    ),
    (
        RejectReason::InfoNotProvided,
        pb::RejectReason::InfoNotProvided,
    ),
    (RejectReason::NoFaultFound, pb::RejectReason::NoFaultFound),
    (
        RejectReason::FraudSuspected,
        pb::RejectReason::FraudSuspected,
    ),
    (RejectReason::Other, pb::RejectReason::Other),
];

pub fn reject_reason_to_proto(r: RejectReason) -> pb::RejectReason {
    REASONS
        .iter()
        .find(|(d, _)| *d == r)
        .map(|(_, p)| *p)
        .unwrap_or(pb::RejectReason::Other)
}

pub fn reject_reason_from_proto(r: pb::RejectReason) -> Option<RejectReason> {
    REASONS.iter().find(|(_, p)| *p == r).map(|(d, _)| *d)
}

fn reject_reason_i32(r: Option<RejectReason>) -> i32 {
    r.map(reject_reason_to_proto)
        .unwrap_or(pb::RejectReason::Unspecified) as i32
}

const MISSING: [(MissingInfo, pb::MissingInfo); 10] = [
    (MissingInfo::Invoice, pb::MissingInfo::Invoice),
    (MissingInfo::Receipt, pb::MissingInfo::Receipt),
    (MissingInfo::Photos, pb::MissingInfo::Photos),
    (MissingInfo::Serial, pb::MissingInfo::Serial),
    (MissingInfo::PurchaseDate, pb::MissingInfo::PurchaseDate),
    (
        MissingInfo::ServiceContract,
        pb::MissingInfo::ServiceContract,
    ),
    (
        MissingInfo::FaultDescription,
        pb::MissingInfo::FaultDescription,
    ),
    (MissingInfo::Payment, pb::MissingInfo::Payment),
    (MissingInfo::PartNumbers, pb::MissingInfo::PartNumbers),
    (MissingInfo::Other, pb::MissingInfo::Other),
];

pub fn missing_info_to_proto(m: MissingInfo) -> pb::MissingInfo {
    MISSING
        .iter()
        .find(|(d, _)| *d == m)
        .map(|(_, p)| *p)
        .unwrap_or(pb::MissingInfo::Other)
}

pub fn missing_info_from_proto(m: pb::MissingInfo) -> Option<MissingInfo> {
    MISSING.iter().find(|(_, p)| *p == m).map(|(d, _)| *d)
}

fn missing_to_proto(list: &[MissingInfo]) -> Vec<i32> {
    list.iter()
        .map(|m| missing_info_to_proto(*m) as i32)
        .collect()
}

const METHODS: [(PaymentMethod, pb::PaymentMethod); 6] = [
    (PaymentMethod::Card, pb::PaymentMethod::Card),
    (PaymentMethod::BankTransfer, pb::PaymentMethod::BankTransfer),
    (PaymentMethod::Wallet, pb::PaymentMethod::Wallet),
    (PaymentMethod::Cash, pb::PaymentMethod::Cash),
    (PaymentMethod::Marketplace, pb::PaymentMethod::Marketplace),
    (PaymentMethod::Other, pb::PaymentMethod::Other),
];

pub fn payment_method_from_proto(m: pb::PaymentMethod) -> Option<PaymentMethod> {
    METHODS.iter().find(|(_, p)| *p == m).map(|(d, _)| *d)
}

pub fn payment_to_proto(p: &Payment) -> pb::Payment {
    pb::Payment {
        method: METHODS
            .iter()
            .find(|(d, _)| *d == p.method)
            .map(|(_, m)| *m)
            .unwrap_or(pb::PaymentMethod::Other) as i32,
        reference: p.reference.clone(),
        amount: p.amount.as_ref().map(money_to_proto),
        payer: p.payer.clone(),
    }
}

fn payment_from_proto(p: &pb::Payment) -> Result<Payment, String> {
    Ok(Payment {
        method: pb::PaymentMethod::try_from(p.method)
            .ok()
            .and_then(payment_method_from_proto)
            .ok_or_else(|| format!("payment method {} is not one we know", p.method))?,
        reference: p.reference.clone(),
        amount: p.amount.as_ref().map(money_from_proto),
        payer: p.payer.clone(),
    })
}

pub fn customer_from_proto(c: &common::Customer) -> Customer {
    Customer {
        name: c.name.clone(),
        phone: c.phone.clone(),
        address: c.address.clone(),
        region: region_from_i32(c.region),
        email: c.email.clone(),
    }
}

fn customer_to_proto(c: &Customer) -> common::Customer {
    common::Customer {
        name: c.name.clone(),
        phone: c.phone.clone(),
        address: c.address.clone(),
        region: region_to_proto(c.region),
        email: c.email.clone(),
    }
}

/// The product, its dates parsed; a bad date names `at.<field>`.
pub fn product_from_proto(p: &common::Product, at: &str) -> Result<Product, String> {
    Ok(Product {
        category: p.category.clone(),
        model: p.model.clone(),
        serial: p.serial.clone(),
        purchase_date: date(&format!("{at}.purchase_date"), &p.purchase_date)?,
        invoice_no: p.invoice_no.clone(),
        invoice_date: date(&format!("{at}.invoice_date"), &p.invoice_date)?,
        receipt_date: date(&format!("{at}.receipt_date"), &p.receipt_date)?,
        factory_date: date(&format!("{at}.factory_date"), &p.factory_date)?,
        service_contract_no: p.service_contract_no.clone(),
    })
}

fn product_to_proto(p: &Product) -> common::Product {
    common::Product {
        category: p.category.clone(),
        model: p.model.clone(),
        serial: p.serial.clone(),
        purchase_date: date_to_proto(p.purchase_date),
        invoice_no: p.invoice_no.clone(),
        invoice_date: date_to_proto(p.invoice_date),
        receipt_date: date_to_proto(p.receipt_date),
        factory_date: date_to_proto(p.factory_date),
        service_contract_no: p.service_contract_no.clone(),
    }
}

fn ship_to_proto(a: &ShipTo) -> common::Address {
    common::Address {
        recipient: a.recipient.clone(),
        phone: a.phone.clone(),
        address: a.address.clone(),
        region: region_to_proto(a.region),
        branch: a.branch.clone(),
    }
}

fn ship_to_from_proto(a: &common::Address) -> ShipTo {
    ShipTo {
        recipient: a.recipient.clone(),
        phone: a.phone.clone(),
        address: a.address.clone(),
        region: region_from_i32(a.region),
        branch: a.branch.clone(),
    }
}

const CLASSES: [(PartClass, warehouse::PartClass); 4] = [
    (PartClass::Unit, warehouse::PartClass::Unit),
    (PartClass::KeyPart, warehouse::PartClass::KeyPart),
    (PartClass::Accessory, warehouse::PartClass::Accessory),
    (PartClass::Consumable, warehouse::PartClass::Consumable),
];

fn class_to_proto(c: PartClass) -> i32 {
    CLASSES
        .iter()
        .find(|(d, _)| *d == c)
        .map(|(_, p)| *p)
        .unwrap_or(warehouse::PartClass::Unspecified) as i32
}

fn class_from_proto(c: i32) -> Option<PartClass> {
    CLASSES
        .iter()
        .find(|(_, p)| *p as i32 == c)
        .map(|(d, _)| *d)
}

const WINDOW_KINDS: [(WindowKind, pb::WindowKind); 5] = [
    (WindowKind::Return, pb::WindowKind::Return),
    (WindowKind::Exchange, pb::WindowKind::Exchange),
    (WindowKind::WholeUnit, pb::WindowKind::WholeUnit),
    (WindowKind::KeyPart, pb::WindowKind::KeyPart),
    (WindowKind::ServiceContract, pb::WindowKind::ServiceContract),
];

const STARTS: [(StartSource, pb::WarrantyStart); 3] = [
    (StartSource::Invoice, pb::WarrantyStart::InvoiceDate),
    (StartSource::Receipt, pb::WarrantyStart::ReceiptDate),
    (
        StartSource::FactoryPlusGrace,
        pb::WarrantyStart::FactoryDatePlus3Months,
    ),
];

fn window_to_proto(w: &Window) -> pb::WarrantyWindow {
    pb::WarrantyWindow {
        kind: WINDOW_KINDS
            .iter()
            .find(|(d, _)| *d == w.kind)
            .map(|(_, p)| *p)
            .unwrap_or(pb::WindowKind::Unspecified) as i32,
        start: w
            .start
            .and_then(|(s, _)| STARTS.iter().find(|(d, _)| *d == s))
            .map(|(_, p)| *p)
            .unwrap_or(pb::WarrantyStart::Unspecified) as i32,
        start_date: date_to_proto(w.start.map(|s| s.1)),
        end_date: date_to_proto(w.end),
        within: w.within,
        label: w.label.clone(),
    }
}

fn window_from_proto(w: &pb::WarrantyWindow) -> Result<Window, String> {
    let kind = WINDOW_KINDS
        .iter()
        .find(|(_, p)| *p as i32 == w.kind)
        .map(|(d, _)| *d)
        .ok_or_else(|| format!("window kind {} is not one we know", w.kind))?;
    let source = STARTS
        .iter()
        .find(|(_, p)| *p as i32 == w.start)
        .map(|(d, _)| *d);
    let start = match (source, date("window.start_date", &w.start_date)?) {
        (Some(s), Some(d)) => Some((s, d)),
        _ => None,
    };
    Ok(Window {
        kind,
        start,
        end: date("window.end_date", &w.end_date)?,
        within: w.within,
        label: w.label.clone(),
    })
}

fn line_to_proto(l: &ClaimLine) -> pb::ClaimLine {
    pb::ClaimLine {
        part_no: l.part_no.clone(),
        quantity: l.quantity,
        part_class: class_to_proto(l.class),
        coverage: coverage_to_proto(l.coverage) as i32,
        window: l.window.as_ref().map(window_to_proto),
        fee: l.fee.as_ref().map(money_to_proto),
        rule: l.rule.clone(),
    }
}

fn line_from_proto(l: &pb::ClaimLine) -> Result<ClaimLine, String> {
    Ok(ClaimLine {
        part_no: l.part_no.clone(),
        quantity: l.quantity,
        class: class_from_proto(l.part_class)
            .ok_or_else(|| format!("line {}: part class {} unknown", l.part_no, l.part_class))?,
        coverage: common::Coverage::try_from(l.coverage)
            .ok()
            .and_then(coverage_from_proto)
            .ok_or_else(|| format!("line {}: coverage {} unknown", l.part_no, l.coverage))?,
        window: l.window.as_ref().map(window_from_proto).transpose()?,
        fee: l.fee.as_ref().map(money_from_proto),
        rule: l.rule.clone(),
    })
}

fn recommendation_to_proto(r: Option<Recommendation>) -> i32 {
    let r = match r {
        None => pb::Recommendation::Unspecified,
        Some(Recommendation::Approve) => pb::Recommendation::Approve,
        Some(Recommendation::Reject(_)) => pb::Recommendation::Reject,
        Some(Recommendation::Review) => pb::Recommendation::Review,
    };
    r as i32
}

pub fn status_to_proto(s: ClaimStatus) -> pb::ClaimStatus {
    match s {
        ClaimStatus::Pending => pb::ClaimStatus::Pending,
        ClaimStatus::Approved => pb::ClaimStatus::Approved,
        ClaimStatus::Rejected => pb::ClaimStatus::Rejected,
        ClaimStatus::InfoRequested => pb::ClaimStatus::InfoRequested,
        ClaimStatus::Cancelled => pb::ClaimStatus::Cancelled,
    }
}

pub fn status_from_proto(s: pb::ClaimStatus) -> Option<ClaimStatus> {
    ClaimStatus::ALL
        .into_iter()
        .find(|d| status_to_proto(*d) == s)
}

/// The claim as the API shows it.
pub fn claim_to_proto(c: &Claim) -> pb::Claim {
    let d = &c.detail;
    pb::Claim {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        status: status_to_proto(c.status) as i32,
        recommendation: recommendation_to_proto(d.recommendation),
        policy_version: d.policy_version.clone(),
        kind: kind_to_proto(d.kind),
        urgency: urgency_to_proto(d.urgency),
        customer: d.customer.as_ref().map(customer_to_proto),
        product: d.product.as_ref().map(product_to_proto),
        fault_description: d.fault_description.clone(),
        photos: d.photos.clone(),
        lines: d.lines.iter().map(line_to_proto).collect(),
        window: d.window.as_ref().map(window_to_proto),
        explanation: d.explanation.clone(),
        due_at: c.due_at.map(timestamp),
        opened_at: Some(timestamp(c.opened_at)),
        decided_at: d.decided_at.map(timestamp),
        decided_by: d.decided_by.clone(),
        auto_decided: d.auto_decided,
        reject_reason: reject_reason_i32(d.reject_reason),
        note: d.note.clone(),
        missing_info: missing_to_proto(&d.missing_info),
        version: c.version as u64,
        onsite_required: d.onsite_required,
        ship_to: d.ship_to.as_ref().map(ship_to_proto),
        misuse_suspected: d.misuse_suspected,
        escalated: c.escalated,
        payment: d.payment.as_ref().map(payment_to_proto),
        total_fee: d.total_fee.as_ref().map(money_to_proto),
        own_reasons: d.own_reasons,
    }
}

const DEDUCTIONS: [(DeductionReason, pb::DeductionReason); 2] = [
    (
        DeductionReason::MissingAccessory,
        pb::DeductionReason::MissingAccessory,
    ),
    (DeductionReason::ServiceFee, pb::DeductionReason::ServiceFee),
];

fn deductions_to_proto(r: &Refund) -> Vec<pb::Deduction> {
    r.deductions
        .iter()
        .map(|d| pb::Deduction {
            reason: DEDUCTIONS
                .iter()
                .find(|(x, _)| *x == d.reason)
                .map(|(_, p)| *p)
                .unwrap_or(pb::DeductionReason::Other) as i32,
            description: d.description.clone(),
            amount: Some(minor(d.amount, &r.currency)),
            part_no: d.part_no.clone(),
        })
        .collect()
}

/// The refund as the API shows it.
pub fn refund_to_proto(r: &Refund) -> pb::Refund {
    pb::Refund {
        refund_id: r.refund_id.to_string(),
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        gross: Some(minor(r.gross, &r.currency)),
        deductions: deductions_to_proto(r),
        service_fee: Some(minor(r.service_fee, &r.currency)),
        amount: Some(minor(r.amount, &r.currency)),
        payment: Some(payment_to_proto(&r.payment)),
        return_id: r.return_id.clone(),
        policy_version: r.policy_version.clone(),
        authorized_at: Some(timestamp(r.authorized_at)),
        authorized_by: r.authorized_by.clone(),
        own_reasons: r.own_reasons,
    }
}
