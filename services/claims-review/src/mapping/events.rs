//! The events claims-review publishes, made from the claim (and refund) as it is after the change,
//! and staged in the change's transaction.

use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::claims::v1 as pb;
use sea_orm::DatabaseTransaction;

use super::{
    customer_to_proto, deductions_to_proto, kind_to_proto, line_to_proto, minor, missing_to_proto,
    money_to_proto, payment_to_proto, recommendation_to_proto, region_to_proto, reject_reason_i32,
    ship_to_proto, status_to_proto, timestamp, urgency_to_proto, window_to_proto,
};
use crate::domain::policy::LapseAction;
use crate::domain::refund::Refund;
use crate::domain::{Claim, ClaimEvent};
use crate::error::Error;

/// Stages `event` about `c` in `txn`: it goes out if and only if `txn` commits.
pub async fn stage(
    outbox: &Outbox,
    txn: &DatabaseTransaction,
    c: &Claim,
    event: &ClaimEvent,
) -> Result<(), Error> {
    let meta = EventMeta::request(&c.request_no, &c.branch);
    match event {
        ClaimEvent::Opened => outbox.stage(txn, meta, &opened(c)).await?,
        ClaimEvent::Approved { at } => outbox.stage(txn, meta, &approved(c, *at)).await?,
        ClaimEvent::Rejected { at } => outbox.stage(txn, meta, &rejected(c, *at)).await?,
        ClaimEvent::InfoRequested { at, by } => {
            outbox.stage(txn, meta, &info_requested(c, *at, by)).await?
        }
        ClaimEvent::SlaBreached { due, at, action } => {
            let breached = pb::ClaimSlaBreached {
                request_no: c.request_no.clone(),
                branch: c.branch.clone(),
                due_at: Some(timestamp(*due)),
                breached_at: Some(timestamp(*at)),
                action: match action {
                    LapseAction::Escalate => pb::SlaAction::Escalated,
                    LapseAction::AutoApprove => pb::SlaAction::AutoApproved,
                } as i32,
                status: status_to_proto(c.status) as i32,
                policy_version: c.detail.policy_version.clone(),
            };
            outbox.stage(txn, meta, &breached).await?
        }
        ClaimEvent::DeadlineChanged(m) => {
            let event = pb::ClaimDeadlineChanged {
                request_no: c.request_no.clone(),
                branch: c.branch.clone(),
                change: Some(m.change()),
            };
            outbox.stage(txn, meta, &event).await?
        }
        ClaimEvent::SlaBreachWithdrawn(m) => {
            let event = pb::ClaimSlaBreachWithdrawn {
                request_no: c.request_no.clone(),
                branch: c.branch.clone(),
                withdrawal: Some(m.withdrawal()),
                status: status_to_proto(c.status) as i32,
            };
            outbox.stage(txn, meta, &event).await?
        }
    };
    Ok(())
}

/// Stages `claims.refund.authorized` for `r`, the refund of `c`'s return.
pub async fn stage_refund(
    outbox: &Outbox,
    txn: &DatabaseTransaction,
    c: &Claim,
    r: &Refund,
) -> Result<(), Error> {
    let event = pb::RefundAuthorized {
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        refund_id: r.refund_id.to_string(),
        kind: kind_to_proto(c.detail.kind),
        amount: Some(minor(r.amount, &r.currency)),
        gross: Some(minor(r.gross, &r.currency)),
        deductions: deductions_to_proto(r),
        service_fee: Some(minor(r.service_fee, &r.currency)),
        payment: Some(payment_to_proto(&r.payment)),
        return_id: r.return_id.clone(),
        policy_version: r.policy_version.clone(),
        authorized_at: Some(timestamp(r.authorized_at)),
        authorized_by: r.authorized_by.clone(),
        customer: c.detail.customer.as_ref().map(customer_to_proto),
    };
    outbox
        .stage(txn, EventMeta::request(&c.request_no, &c.branch), &event)
        .await?;
    Ok(())
}

/// `claims.claim.opened`: the claim as evaluated.
fn opened(c: &Claim) -> pb::ClaimOpened {
    let d = &c.detail;
    pb::ClaimOpened {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        kind: kind_to_proto(d.kind),
        urgency: urgency_to_proto(d.urgency),
        recommendation: recommendation_to_proto(d.recommendation),
        policy_version: d.policy_version.clone(),
        opened_at: Some(timestamp(c.opened_at)),
        due_at: c.due_at.map(timestamp),
        lines: d.lines.iter().map(line_to_proto).collect(),
        explanation: d.explanation.clone(),
    }
}

/// `claims.claim.approved`: everything warehouse, field-service and logistics need.
fn approved(c: &Claim, at: chrono::DateTime<chrono::Utc>) -> pb::ClaimApproved {
    let d = &c.detail;
    let pickup = d.pickup_required();
    let region = d
        .ship_to
        .as_ref()
        .map(|a| a.region)
        .or(d.customer.as_ref().map(|cu| cu.region))
        .flatten();
    pb::ClaimApproved {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        kind: kind_to_proto(d.kind),
        urgency: urgency_to_proto(d.urgency),
        region: region_to_proto(region),
        customer: d.customer.as_ref().map(customer_to_proto),
        product: d.product.as_ref().map(super::product_to_proto),
        fault_description: d.fault_description.clone(),
        lines: d.lines.iter().map(line_to_proto).collect(),
        window: d.window.as_ref().map(window_to_proto),
        policy_version: d.policy_version.clone(),
        ship_to: d.ship_to.as_ref().map(ship_to_proto),
        onsite_required: d.onsite_required,
        coverage: super::coverage_to_proto(d.overall_coverage()) as i32,
        total_fee: d.total_fee.as_ref().map(money_to_proto),
        pickup_required: pickup,
        // Free for a quality problem; charged when the customer returns for their own reasons.
        pickup_free: pickup && !d.own_reasons,
        auto_approved: d.auto_decided,
        approved_by: d.decided_by.clone(),
        approved_at: Some(timestamp(at)),
        explanation: d.explanation.clone(),
        note: d.note.clone(),
    }
}

fn rejected(c: &Claim, at: chrono::DateTime<chrono::Utc>) -> pb::ClaimRejected {
    let d = &c.detail;
    pb::ClaimRejected {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        reason_code: reject_reason_i32(d.reject_reason),
        reason: d.note.clone(),
        policy_version: d.policy_version.clone(),
        explanation: d.explanation.clone(),
        auto_rejected: d.auto_decided,
        rejected_by: d.decided_by.clone(),
        rejected_at: Some(timestamp(at)),
    }
}

fn info_requested(
    c: &Claim,
    at: chrono::DateTime<chrono::Utc>,
    by: &str,
) -> pb::ClaimInfoRequested {
    pb::ClaimInfoRequested {
        request_no: c.request_no.clone(),
        branch: c.branch.clone(),
        missing: missing_to_proto(&c.detail.missing_info),
        text: c.detail.note.clone(),
        requested_by: by.to_owned(),
        requested_at: Some(timestamp(at)),
    }
}
