//! Procurement's values on the wire: the conversions between its domain and store types and the
//! protobuf types of `procurement.v1` and `common.v1`, in one place. Answers and outgoing events
//! are built here; nothing else reads or writes a proto enum's number.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::procurement::v1 as pb;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use crate::domain::policy::ScorecardPolicy;
use crate::domain::rule::{ChoiceRecord, Ranked};
use crate::domain::scorecard::{Card, formula};
use crate::domain::supplier::Contract;
use crate::domain::{PoStatus, PurchaseReason, SupplierStatus};
use crate::service::PoView;
use crate::store::orders::PoLine;
use crate::store::quotes::Quote;
use crate::store::suppliers::Supplier;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

pub fn money(currency: &str, minor: i64) -> common::Money {
    common::Money {
        currency: currency.to_owned(),
        amount_minor: minor,
    }
}

pub fn supplier_status(s: SupplierStatus) -> i32 {
    (match s {
        SupplierStatus::Active => pb::SupplierStatus::Active,
        SupplierStatus::Warned => pb::SupplierStatus::Warned,
        SupplierStatus::Suspended => pb::SupplierStatus::Suspended,
        SupplierStatus::Terminated => pb::SupplierStatus::Terminated,
    }) as i32
}

/// A supplier status as a request gives it; `None` for UNSPECIFIED.
pub fn supplier_status_from(raw: i32) -> Result<Option<SupplierStatus>, String> {
    Ok(Some(match pb::SupplierStatus::try_from(raw) {
        Ok(pb::SupplierStatus::Unspecified) => return Ok(None),
        Ok(pb::SupplierStatus::Active) => SupplierStatus::Active,
        Ok(pb::SupplierStatus::Warned) => SupplierStatus::Warned,
        Ok(pb::SupplierStatus::Suspended) => SupplierStatus::Suspended,
        Ok(pb::SupplierStatus::Terminated) => SupplierStatus::Terminated,
        Err(_) => return Err(format!("{raw} is not a supplier status")),
    }))
}

pub fn po_status(s: PoStatus) -> i32 {
    (match s {
        PoStatus::Issued => pb::PurchaseOrderStatus::Issued,
        PoStatus::PartiallyReceived => pb::PurchaseOrderStatus::PartiallyReceived,
        PoStatus::Received => pb::PurchaseOrderStatus::Received,
        PoStatus::Cancelled => pb::PurchaseOrderStatus::Cancelled,
    }) as i32
}

pub fn po_status_from(raw: i32) -> Result<Option<PoStatus>, String> {
    Ok(Some(match pb::PurchaseOrderStatus::try_from(raw) {
        Ok(pb::PurchaseOrderStatus::Unspecified) => return Ok(None),
        Ok(pb::PurchaseOrderStatus::Issued) => PoStatus::Issued,
        Ok(pb::PurchaseOrderStatus::PartiallyReceived) => PoStatus::PartiallyReceived,
        Ok(pb::PurchaseOrderStatus::Received) => PoStatus::Received,
        Ok(pb::PurchaseOrderStatus::Cancelled) => PoStatus::Cancelled,
        Err(_) => return Err(format!("{raw} is not a purchase order status")),
    }))
}

pub fn reason(r: PurchaseReason) -> i32 {
    (match r {
        PurchaseReason::Shortage => pb::PurchaseReason::Shortage,
        PurchaseReason::Replenishment => pb::PurchaseReason::Replenishment,
        PurchaseReason::Manual => pb::PurchaseReason::Manual,
    }) as i32
}

pub fn reason_from(raw: i32) -> Result<Option<PurchaseReason>, String> {
    Ok(Some(match pb::PurchaseReason::try_from(raw) {
        Ok(pb::PurchaseReason::Unspecified) => return Ok(None),
        Ok(pb::PurchaseReason::Shortage) => PurchaseReason::Shortage,
        Ok(pb::PurchaseReason::Replenishment) => PurchaseReason::Replenishment,
        Ok(pb::PurchaseReason::Manual) => PurchaseReason::Manual,
        Err(_) => return Err(format!("{raw} is not a purchase reason")),
    }))
}

fn date_opt(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Midnight starting `day` in the department's local time.
pub fn local_midnight(offset: FixedOffset, day: NaiveDate) -> DateTime<Utc> {
    offset
        .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)))
}

pub fn scorecard(
    supplier_id: &str,
    card: &Card,
    from: NaiveDate,
    to: NaiveDate,
    status: SupplierStatus,
    policy: &ScorecardPolicy,
    offset: FixedOffset,
) -> pb::Scorecard {
    pb::Scorecard {
        supplier_id: supplier_id.to_owned(),
        period: Some(common::TimeRange {
            from: Some(timestamp(local_midnight(offset, from))),
            to: Some(timestamp(local_midnight(
                offset,
                to.succ_opt().unwrap_or(to),
            ))),
        }),
        deliveries: card.deliveries,
        on_time_deliveries: card.on_time_deliveries,
        on_time_rate_bp: card.on_time_rate_bp,
        units_inspected: card.units_inspected,
        units_passed: card.units_passed,
        pass_rate_bp: card.pass_rate_bp,
        price_index_bp: card.price_index_bp,
        score_bp: card.score_bp,
        warn_below_bp: policy.warn_below_bp,
        suspend_below_bp: policy.suspend_below_bp,
        status: supplier_status(status),
        formula: formula(policy),
        field_failures: card.field_failures,
        field_failure_rate_bp: card.field_failure_rate_bp,
        field_failures_counted: card.field_failures_counted,
    }
}

fn contract(c: &Contract) -> pb::SupplierContract {
    pb::SupplierContract {
        contract_no: c.contract_no.clone(),
        specification: c.specification.clone(),
        quality_standard: c.quality_standard.clone(),
        delivery_period_days: c.delivery_period_days,
        price_terms: c.price_terms.clone(),
        payment_terms: c.payment_terms.clone(),
        after_sales_terms: c.after_sales_terms.clone(),
        valid_from_date: date_opt(c.valid_from),
        valid_until_date: date_opt(c.valid_until),
    }
}

pub fn supplier(s: &Supplier) -> pb::Supplier {
    let q = &s.qualification;
    pb::Supplier {
        supplier_id: s.supplier_id.clone(),
        name: s.name.clone(),
        contact_name: s.contact_name.clone(),
        phone: s.phone.clone(),
        email: s.email.clone(),
        address: s.address.clone(),
        tax_id: s.tax_id.clone(),
        part_nos: s.part_nos.clone(),
        status: supplier_status(s.status),
        score_bp: s.score_bp,
        lead_time_days: s.lead_time_days,
        status_reason: s.status_reason.clone(),
        registered_at: Some(timestamp(s.registered_at)),
        updated_at: Some(timestamp(s.updated_at)),
        certifications: s.certifications.clone(),
        fix_by_date: date_opt(s.fix_by),
        contract: s.contract.as_ref().map(contract),
        qualification: Some(pb::SupplierQualification {
            reputation_bp: q.reputation_bp,
            quality_bp: q.quality_bp,
            capacity_bp: q.capacity_bp,
            price_bp: q.price_bp,
            evaluated_on: q.evaluated_on.to_string(),
            note: q.note.clone(),
        }),
    }
}

pub fn quote(q: &Quote) -> pb::Quote {
    pb::Quote {
        quote_id: q.quote_id.clone(),
        supplier_id: q.supplier_id.clone(),
        part_no: q.part_no.clone(),
        unit_price: Some(money(&q.currency, q.unit_price_minor)),
        min_quantity: q.min_quantity,
        lead_time_days: q.lead_time_days,
        valid_from_date: q.valid_from.to_string(),
        valid_until_date: q.valid_until.to_string(),
        submitted_at: Some(timestamp(q.submitted_at)),
        supplier_ref: q.supplier_ref.clone(),
        specification: q.specification.clone(),
        freight: Some(money(&q.currency, q.freight_minor)),
    }
}

pub fn ranked(r: &Ranked, q: Option<&Quote>, currency: &str, quantity: u32) -> pb::RankedQuote {
    let c = &r.candidate;
    pb::RankedQuote {
        quote: q.map(quote),
        supplier_name: c.supplier_name.clone(),
        supplier_status: supplier_status(c.status),
        supplier_score_bp: c.score_bp,
        total: Some(money(
            currency,
            c.unit_price_minor.saturating_mul(i64::from(quantity)),
        )),
        expected_date: r.expected.to_string(),
        eligible: r.eligible,
        ineligible_reason: r.ineligible_reason.clone(),
        rank_value_bp: r.value_bp,
        rank: r.rank,
        meets_need_by: r.meets_need_by,
    }
}

pub fn choice(c: &ChoiceRecord) -> pb::SupplierChoice {
    pb::SupplierChoice {
        rule: c.rule.clone(),
        chosen_quote_id: c.chosen_quote_id.clone(),
        chosen_value_bp: c.chosen_value_bp,
        runner_up_supplier_id: c.runner_up_supplier_id.clone(),
        runner_up_quote_id: c.runner_up_quote_id.clone(),
        runner_up_value_bp: c.runner_up_value_bp,
        explanation: c.explanation.clone(),
    }
}

pub fn po_line(v: &PoView, l: &PoLine) -> pb::PurchaseOrderLine {
    let cur = &v.po.currency;
    pb::PurchaseOrderLine {
        line_no: l.line_no,
        part_no: l.part_no.clone(),
        quantity: l.quantity,
        unit_price: Some(money(cur, l.unit_price_minor)),
        quote_id: l.quote_id.clone().unwrap_or_default(),
        request_nos: v.line_requests(l.line_no),
        received: l.received,
        passed: l.passed,
        failed: l.failed,
        quoted_unit_price: Some(money(cur, l.quoted_price_minor)),
        specification: l.specification.clone(),
        best_quoted_unit_price: Some(money(cur, l.best_price_minor)),
        outstanding: l.state().outstanding(),
    }
}

pub fn po(v: &PoView, today: NaiveDate) -> pb::PurchaseOrder {
    let p = &v.po;
    pb::PurchaseOrder {
        po_number: p.po_number.clone(),
        supplier_id: p.supplier_id.clone(),
        status: po_status(p.status),
        reason: reason(p.reason),
        lines: p.lines.iter().map(|l| po_line(v, l)).collect(),
        total: Some(money(&p.currency, p.total_minor())),
        promised_date: p.promised_date.to_string(),
        overdue: p.status.is_open() && p.promised_date < today,
        issued_at: Some(timestamp(p.issued_at)),
        issued_by: p.issued_by.clone(),
        received_at: p.received_at.map(timestamp),
        backorder_ids: v.backorder_ids(),
        note: p.note.clone(),
        request_nos: v.request_nos(),
        choice: p.choice.as_ref().map(choice),
        delivery_place: p.delivery_place.clone(),
        freight: Some(money(&p.currency, p.freight_minor)),
        revision: p.revision,
        supplier_name: v.supplier_name.clone(),
        cancel_reason: p.cancel_reason.clone(),
        cancelled_at: p.cancelled_at.map(timestamp),
    }
}

pub fn po_line_event(v: &PoView, l: &PoLine) -> pb::PoLine {
    pb::PoLine {
        line_no: l.line_no,
        part_no: l.part_no.clone(),
        quantity: l.quantity,
        unit_price: Some(money(&v.po.currency, l.unit_price_minor)),
        request_nos: v.line_requests(l.line_no),
        quote_id: l.quote_id.clone().unwrap_or_default(),
        quoted_unit_price: Some(money(&v.po.currency, l.quoted_price_minor)),
    }
}

/// `procurement.po.issued` for the PO as it now is; `added`: the requests this revision added
/// (every request on the first).
pub fn po_issued(v: &PoView, added: Vec<String>) -> pb::PoIssued {
    let p = &v.po;
    let request_nos = v.request_nos();
    pb::PoIssued {
        po_number: p.po_number.clone(),
        supplier_id: p.supplier_id.clone(),
        supplier_name: v.supplier_name.clone(),
        reason: reason(p.reason),
        lines: p.lines.iter().map(|l| po_line_event(v, l)).collect(),
        total: Some(money(&p.currency, p.total_minor())),
        promised_date: p.promised_date.to_string(),
        added_request_nos: if p.revision <= 1 {
            request_nos.clone()
        } else {
            added
        },
        request_nos,
        backorder_ids: v.backorder_ids(),
        issued_at: Some(timestamp(p.issued_at)),
        revision: p.revision,
        choice: p.choice.as_ref().map(choice),
        delivery_place: p.delivery_place.clone(),
    }
}
