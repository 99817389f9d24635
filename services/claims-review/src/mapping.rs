//! Between the domain and the wire: a request (intake's event) or a stored claim becomes the
//! evaluation's input; an evaluation fills in the claim message; an approved claim becomes the
//! `claims.claim.approved` event.

use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::command::{Address, MissingInfo, Payment, PaymentMethod, Region};
use crate::domain::evaluate::{Line, StartSource, Window, WindowKind};
use crate::domain::policy::PartClass;
use crate::domain::{
    ClaimInput, ClaimStatus, Coverage, Evaluation, Kind, Recommendation, RejectReason,
};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

pub fn money(minor: i64, currency: &str) -> common::Money {
    common::Money {
        currency: currency.to_owned(),
        amount_minor: minor,
    }
}

fn date(field: &str, s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{field} {s:?} is not a date YYYY-MM-DD"))
}

pub fn kind_from(k: i32) -> Result<Kind, String> {
    Ok(match common::RequestKind::try_from(k) {
        Ok(common::RequestKind::Replacement) => Kind::Replacement,
        Ok(common::RequestKind::Repair) => Kind::Repair,
        Ok(common::RequestKind::Return) => Kind::Return,
        Ok(common::RequestKind::Exchange) => Kind::Exchange,
        Ok(common::RequestKind::Installation) => Kind::Installation,
        _ => return Err(format!("kind {k} is not a request kind")),
    })
}

/// The evaluation's input from a product, kind, lines and misuse flag, judged on `on`.
pub fn input(
    kind: i32,
    product: &common::Product,
    parts: Vec<(String, u32)>,
    misuse_suspected: bool,
    on: NaiveDate,
) -> Result<ClaimInput, String> {
    Ok(ClaimInput {
        kind: kind_from(kind)?,
        category: product.category.clone(),
        invoice_date: date("product.invoice_date", &product.invoice_date)?,
        receipt_date: date("product.receipt_date", &product.receipt_date)?,
        factory_date: date("product.factory_date", &product.factory_date)?,
        service_contract_no: product.service_contract_no.clone(),
        misuse_suspected,
        parts,
        on,
    })
}

pub fn request_input(r: &intake::ServiceRequest, on: NaiveDate) -> Result<ClaimInput, String> {
    let product = r.product.clone().unwrap_or_default();
    let parts = r
        .parts
        .iter()
        .map(|p| (p.part_no.trim().to_uppercase(), p.quantity))
        .collect();
    input(r.kind, &product, parts, r.misuse_suspected, on)
}

pub fn claim_input(c: &pb::Claim, on: NaiveDate) -> Result<ClaimInput, String> {
    let product = c.product.clone().unwrap_or_default();
    let parts = c
        .lines
        .iter()
        .map(|l| (l.part_no.clone(), l.quantity))
        .collect();
    input(c.kind, &product, parts, c.misuse_suspected, on)
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
        amount: p.amount.as_ref().map(|m| money(m.minor, &m.currency)),
        payer: p.payer.clone(),
    }
}

pub fn region_from_proto(r: common::Region) -> Option<Region> {
    match r {
        common::Region::Unspecified => None,
        common::Region::Urban => Some(Region::Urban),
        common::Region::Suburban => Some(Region::Suburban),
        common::Region::Remote => Some(Region::Remote),
    }
}

/// A delivery address as the claim keeps it; without a branch of its own, the claim's.
pub fn address_to_proto(a: &Address, claim_branch: &str) -> common::Address {
    common::Address {
        recipient: a.recipient.clone(),
        phone: a.phone.to_string(),
        address: a.address.clone(),
        region: match a.region {
            Region::Urban => common::Region::Urban,
            Region::Suburban => common::Region::Suburban,
            Region::Remote => common::Region::Remote,
        } as i32,
        branch: a
            .branch
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_else(|| claim_branch.to_owned()),
    }
}

fn class_to_proto(c: PartClass) -> warehouse::PartClass {
    match c {
        PartClass::Unit => warehouse::PartClass::Unit,
        PartClass::KeyPart => warehouse::PartClass::KeyPart,
        PartClass::Accessory => warehouse::PartClass::Accessory,
        PartClass::Consumable => warehouse::PartClass::Consumable,
    }
}

fn window_to_proto(w: &Window) -> pb::WarrantyWindow {
    pb::WarrantyWindow {
        kind: match w.kind {
            WindowKind::Return => pb::WindowKind::Return,
            WindowKind::Exchange => pb::WindowKind::Exchange,
            WindowKind::WholeUnit => pb::WindowKind::WholeUnit,
            WindowKind::KeyPart => pb::WindowKind::KeyPart,
            WindowKind::ServiceContract => pb::WindowKind::ServiceContract,
        } as i32,
        start: match w.start.map(|s| s.0) {
            Some(StartSource::Invoice) => pb::WarrantyStart::InvoiceDate,
            Some(StartSource::Receipt) => pb::WarrantyStart::ReceiptDate,
            Some(StartSource::FactoryPlusGrace) => pb::WarrantyStart::FactoryDatePlus3Months,
            None => pb::WarrantyStart::Unspecified,
        } as i32,
        start_date: w.start.map(|s| s.1.to_string()).unwrap_or_default(),
        end_date: w.end.map(|d| d.to_string()).unwrap_or_default(),
        within: w.within,
        label: w.label.clone(),
    }
}

fn line_to_proto(l: &Line, currency: &str) -> pb::ClaimLine {
    pb::ClaimLine {
        part_no: l.part_no.clone(),
        quantity: l.quantity,
        part_class: class_to_proto(l.class) as i32,
        coverage: coverage_to_proto(l.coverage) as i32,
        window: Some(window_to_proto(&l.window)),
        fee: (l.coverage == Coverage::Paid).then(|| money(l.fee_minor, currency)),
        rule: l.rule.clone(),
    }
}

/// Writes an evaluation's outcome into the claim.
pub fn apply_evaluation(c: &mut pb::Claim, e: &Evaluation) {
    c.recommendation = match e.recommendation {
        Recommendation::Approve => pb::Recommendation::Approve,
        Recommendation::Reject(_) => pb::Recommendation::Reject,
        Recommendation::Review => pb::Recommendation::Review,
    } as i32;
    c.reject_reason = match e.recommendation {
        Recommendation::Reject(r) => reject_reason_to_proto(r) as i32,
        _ => pb::RejectReason::Unspecified as i32,
    };
    c.policy_version = e.policy_version.clone();
    c.lines = e
        .lines
        .iter()
        .map(|l| line_to_proto(l, &e.currency))
        .collect();
    c.window = Some(window_to_proto(&e.window));
    c.explanation = e.explanation.clone();
    c.onsite_required = e.onsite_required;
    c.total_fee = Some(money(e.total_fee_minor, &e.currency));
}

/// The customer's own address, where parts or a replacement go unless the branch says otherwise.
pub fn ship_to(customer: &common::Customer, branch: &str) -> common::Address {
    common::Address {
        recipient: customer.name.clone(),
        phone: customer.phone.clone(),
        address: customer.address.clone(),
        region: customer.region,
        branch: branch.to_owned(),
    }
}

/// Coverage of the job as a whole: CONTRACT if a contract applies, FREE if every line is FREE,
/// otherwise PAID.
pub fn overall_coverage(c: &pb::Claim) -> common::Coverage {
    let contract = c
        .window
        .as_ref()
        .is_some_and(|w| w.kind == pb::WindowKind::ServiceContract as i32);
    let total = c.total_fee.as_ref().map(|m| m.amount_minor).unwrap_or(0);
    if contract {
        common::Coverage::Contract
    } else if c
        .lines
        .iter()
        .all(|l| l.coverage == common::Coverage::Free as i32)
        && total == 0
    {
        common::Coverage::Free
    } else if c
        .lines
        .iter()
        .all(|l| l.coverage == common::Coverage::Contract as i32)
        && !c.lines.is_empty()
    {
        common::Coverage::Contract
    } else {
        common::Coverage::Paid
    }
}

/// `claims.claim.approved` for an approved claim.
pub fn approved_event(c: &pb::Claim, at: DateTime<Utc>) -> pb::ClaimApproved {
    let kind = c.kind;
    let pickup = matches!(
        common::RequestKind::try_from(kind),
        Ok(common::RequestKind::Return | common::RequestKind::Exchange)
    );
    let region = c
        .ship_to
        .as_ref()
        .map(|a| a.region)
        .or(c.customer.as_ref().map(|cu| cu.region))
        .unwrap_or_default();
    pb::ClaimApproved {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        kind,
        urgency: c.urgency,
        region,
        customer: c.customer.clone(),
        product: c.product.clone(),
        fault_description: c.fault_description.clone(),
        lines: c.lines.clone(),
        window: c.window.clone(),
        policy_version: c.policy_version.clone(),
        ship_to: c.ship_to.clone(),
        onsite_required: c.onsite_required,
        coverage: overall_coverage(c) as i32,
        total_fee: c.total_fee.clone(),
        pickup_required: pickup,
        // Free for a quality problem; charged when the customer returns for their own reasons.
        pickup_free: pickup && !c.own_reasons,
        auto_approved: c.auto_decided,
        approved_by: c.decided_by.clone(),
        approved_at: Some(timestamp(at)),
        explanation: c.explanation.clone(),
        note: c.note.clone(),
    }
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
