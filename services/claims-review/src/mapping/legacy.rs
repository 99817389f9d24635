//! Rows written before migration 2 hold the claim (`aftersales.claims.v1.Claim`) and the refund
//! (`aftersales.claims.v1.Refund`) as encoded protobuf, which SQL cannot turn into JSON. They are
//! decoded here when read; a claim's next write replaces the bytes with its JSON detail (refunds
//! never change, so theirs stay). Once no row has bytes left
//! (`SELECT count(*) FROM claims WHERE detail IS NULL`), this module and the two columns can go.

use aftersales_platform::proto::claims::v1 as pb;
use prost::Message;

use super::{
    customer_from_proto, from_timestamp, kind_from_proto, line_from_proto, money_from_proto,
    payment_from_proto, product_from_proto, reject_reason_from_proto, ship_to_from_proto,
    urgency_from_proto, window_from_proto,
};
use crate::domain::ClaimDetail;
use crate::domain::command::MissingInfo;
use crate::domain::evaluate::{Recommendation, RejectReason};
use crate::domain::refund::{Deduction, DeductionReason, Refund};

/// The detail of a claim stored as protobuf. Its status, version, deadline and escalation were
/// always kept in the row's own columns, which win.
pub fn claim_detail(bytes: &[u8]) -> Result<ClaimDetail, String> {
    let c = pb::Claim::decode(bytes).map_err(|e| format!("legacy bytes: {e}"))?;
    let reject_reason = pb::RejectReason::try_from(c.reject_reason)
        .ok()
        .and_then(reject_reason_from_proto);
    let recommendation = match pb::Recommendation::try_from(c.recommendation) {
        Ok(pb::Recommendation::Approve) => Some(Recommendation::Approve),
        Ok(pb::Recommendation::Reject) => Some(Recommendation::Reject(
            reject_reason.unwrap_or(RejectReason::Other),
        )),
        Ok(pb::Recommendation::Review) => Some(Recommendation::Review),
        _ => None,
    };
    Ok(ClaimDetail {
        // A claim left by a cancellation that came first has no kind.
        kind: kind_from_proto(c.kind).ok(),
        urgency: urgency_from_proto(c.urgency),
        customer: c.customer.as_ref().map(customer_from_proto),
        product: c
            .product
            .as_ref()
            .map(|p| product_from_proto(p, "product"))
            .transpose()?,
        fault_description: c.fault_description,
        photos: c.photos,
        misuse_suspected: c.misuse_suspected,
        recommendation,
        policy_version: c.policy_version,
        lines: c
            .lines
            .iter()
            .map(line_from_proto)
            .collect::<Result<_, _>>()?,
        window: c.window.as_ref().map(window_from_proto).transpose()?,
        explanation: c.explanation,
        onsite_required: c.onsite_required,
        total_fee: c.total_fee.as_ref().map(money_from_proto),
        ship_to: c.ship_to.as_ref().map(ship_to_from_proto),
        decided_at: c.decided_at.as_ref().and_then(from_timestamp),
        decided_by: c.decided_by,
        auto_decided: c.auto_decided,
        reject_reason,
        note: c.note,
        missing_info: c
            .missing_info
            .iter()
            .filter_map(|m| pb::MissingInfo::try_from(*m).ok())
            .filter_map(super::missing_info_from_proto)
            .collect::<Vec<MissingInfo>>(),
        payment: c.payment.as_ref().map(payment_from_proto).transpose()?,
        own_reasons: c.own_reasons,
    })
}

/// A refund stored as protobuf.
pub fn refund(bytes: &[u8]) -> Result<Refund, String> {
    let r = pb::Refund::decode(bytes).map_err(|e| format!("legacy bytes: {e}"))?;
    let amount = |m: &Option<aftersales_platform::proto::common::v1::Money>| {
        m.as_ref().map(|m| m.amount_minor).unwrap_or(0)
    };
    let deductions = r
        .deductions
        .iter()
        .map(|d| {
            let reason = match pb::DeductionReason::try_from(d.reason) {
                Ok(pb::DeductionReason::MissingAccessory) => DeductionReason::MissingAccessory,
                Ok(pb::DeductionReason::ServiceFee) => DeductionReason::ServiceFee,
                // Claims-review never wrote another reason.
                _ => return Err(format!("deduction reason {} unknown", d.reason)),
            };
            Ok(Deduction {
                reason,
                description: d.description.clone(),
                amount: amount(&d.amount),
                part_no: d.part_no.clone(),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Refund {
        refund_id: r
            .refund_id
            .parse()
            .map_err(|e| format!("refund_id {:?}: {e}", r.refund_id))?,
        currency: r
            .amount
            .as_ref()
            .map(|m| m.currency.clone())
            .unwrap_or_default(),
        gross: amount(&r.gross),
        service_fee: amount(&r.service_fee),
        amount: amount(&r.amount),
        deductions,
        payment: r
            .payment
            .as_ref()
            .map(payment_from_proto)
            .transpose()?
            .ok_or("no payment")?,
        authorized_at: r
            .authorized_at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or("no authorized_at")?,
        request_no: r.request_no,
        branch: r.branch,
        return_id: r.return_id,
        policy_version: r.policy_version,
        authorized_by: r.authorized_by,
        own_reasons: r.own_reasons,
    })
}
