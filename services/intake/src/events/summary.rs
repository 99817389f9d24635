//! One line per event that a branch agent can read to a customer.

use aftersales_platform::bus::Received;
use aftersales_platform::proto::{
    claims, feedback, fieldservice, logistics, procurement, warehouse,
};
use prost::Message;

fn decode<M: Message + Default>(ev: &Received) -> Option<M> {
    M::decode(ev.envelope.payload.as_slice()).ok()
}

pub(crate) fn money(m: &Option<aftersales_platform::proto::common::v1::Money>) -> String {
    match m {
        Some(m) => format!(
            "{}.{:02} {}",
            m.amount_minor / 100,
            (m.amount_minor % 100).abs(),
            m.currency
        ),
        None => "0".into(),
    }
}

/// The name of a deadline a customer hears.
fn deadline_name(kind: &str) -> &'static str {
    match kind {
        "review" => "Review deadline",
        "arrival" => "Technician arrival deadline",
        "return_visit" => "Return visit due",
        "complaint_response" => "Complaint response deadline",
        "promised_date" => "Promised delivery date",
        _ => "Deadline",
    }
}

/// "Review deadline moved from 2026-12-02 10:00 to 2026-12-03 10:00 (calendar: holiday
/// 2026-12-02 added)".
fn moved(what: &str, c: &Option<aftersales_platform::proto::common::v1::DeadlineChange>) -> String {
    let Some(c) = c else {
        return format!("{what} changed");
    };
    let name = deadline_name(&c.deadline);
    let to = if c.new_due_local.is_empty() {
        "none (paused)".to_owned()
    } else {
        c.new_due_local.clone()
    };
    let mut line = if c.old_due_local.is_empty() {
        format!("{name}{what} set to {to}")
    } else {
        format!("{name}{what} moved from {} to {to}", c.old_due_local)
    };
    if !c.reason.is_empty() {
        line.push_str(&format!(" ({})", c.reason));
    }
    line
}

/// "Review deadline breach withdrawn: now due 2026-12-03 10:00 (calendar: …)".
fn withdrawn(
    what: &str,
    w: &Option<aftersales_platform::proto::common::v1::BreachWithdrawal>,
) -> String {
    let Some(w) = w else {
        return format!("Breach{what} withdrawn");
    };
    let mut line = format!("{}{what} no longer missed", deadline_name(&w.deadline));
    if !w.new_due_local.is_empty() {
        line.push_str(&format!(": now due {}", w.new_due_local));
    }
    if !w.reason.is_empty() {
        line.push_str(&format!(" ({})", w.reason));
    }
    line
}

/// A readable line; unknown or undecodable payloads fall back to the routing key in words.
pub fn summarize(ev: &Received) -> String {
    let specific = match ev.routing_key.as_str() {
        "claims.claim.opened" => decode::<claims::v1::ClaimOpened>(ev).map(|e| {
            format!(
                "Warranty review opened ({} line(s), policy {})",
                e.lines.len(),
                e.policy_version
            )
        }),
        "claims.claim.approved" => decode::<claims::v1::ClaimApproved>(ev).map(|e| {
            let how = if e.auto_approved {
                "automatically"
            } else {
                "by a reviewer"
            };
            format!(
                "Claim approved {how}; fee {}{}",
                money(&e.total_fee),
                if e.onsite_required {
                    "; on-site service"
                } else {
                    ""
                }
            )
        }),
        "claims.claim.rejected" => {
            decode::<claims::v1::ClaimRejected>(ev).map(|e| format!("Claim rejected: {}", e.reason))
        }
        "claims.claim.info_requested" => decode::<claims::v1::ClaimInfoRequested>(ev)
            .map(|e| format!("More information needed: {}", e.text)),
        "claims.claim.deadline_changed" => {
            decode::<claims::v1::ClaimDeadlineChanged>(ev).map(|e| moved("", &e.change))
        }
        "claims.claim.sla_breach_withdrawn" => {
            decode::<claims::v1::ClaimSlaBreachWithdrawn>(ev).map(|e| withdrawn("", &e.withdrawal))
        }
        "fieldservice.workorder.deadline_changed" => {
            decode::<fieldservice::v1::WorkOrderDeadlineChanged>(ev)
                .map(|e| moved(&format!(" (work order {})", e.work_order_no), &e.change))
        }
        "fieldservice.workorder.sla_breach_withdrawn" => {
            decode::<fieldservice::v1::WorkOrderSlaBreachWithdrawn>(ev)
                .map(|e| withdrawn(&format!(" (work order {})", e.work_order_no), &e.withdrawal))
        }
        "feedback.visit.deadline_changed" => {
            decode::<feedback::v1::VisitDeadlineChanged>(ev).map(|e| moved("", &e.change))
        }
        "feedback.complaint.deadline_changed" => {
            decode::<feedback::v1::ComplaintDeadlineChanged>(ev)
                .map(|e| moved(&format!(" (complaint {})", e.complaint_id), &e.change))
        }
        "feedback.complaint.sla_breach_withdrawn" => {
            decode::<feedback::v1::ComplaintSlaBreachWithdrawn>(ev).map(|e| {
                let mut line =
                    withdrawn(&format!(" (complaint {})", e.complaint_id), &e.withdrawal);
                line.push_str(&format!("; back with {}", e.assignee));
                line
            })
        }
        "procurement.po.deadline_changed" => {
            decode::<procurement::v1::PoDeadlineChanged>(ev).map(|e| {
                let mut line = format!(
                    "Purchase order {} now promised for {} (was {})",
                    e.po_number, e.new_promised_date, e.old_promised_date
                );
                if let Some(reason) = e
                    .change
                    .as_ref()
                    .map(|c| &c.reason)
                    .filter(|r| !r.is_empty())
                {
                    line.push_str(&format!(": {reason}"));
                }
                line
            })
        }
        "procurement.po.overdue_withdrawn" => decode::<procurement::v1::PoOverdueWithdrawn>(ev)
            .map(|e| {
                format!(
                    "Purchase order {} is no longer late: now promised for {}",
                    e.po_number, e.new_promised_date
                )
            }),
        "claims.refund.authorized" => decode::<claims::v1::RefundAuthorized>(ev)
            .map(|e| format!("Refund of {} authorized", money(&e.amount))),
        "warehouse.reservation.confirmed" => {
            decode::<warehouse::v1::ReservationConfirmed>(ev).map(|e| {
                format!(
                    "Parts reserved ({} line(s), pick list {})",
                    e.lines.len(),
                    e.pick_list_id
                )
            })
        }
        "warehouse.stock.shortage" => decode::<warehouse::v1::StockShortage>(ev).map(|e| {
            format!(
                "Parts out of stock ({} line(s)); ordering from suppliers",
                e.lines.len()
            )
        }),
        "procurement.po.issued" => decode::<procurement::v1::PoIssued>(ev)
            .map(|e| format!("Purchase order {} issued", e.po_number)),
        "procurement.po.received" => decode::<procurement::v1::PoReceived>(ev)
            .map(|e| format!("Purchase order {} received", e.po_number)),
        "procurement.po.overdue" => decode::<procurement::v1::PoOverdue>(ev)
            .map(|e| format!("Purchase order {} is late", e.po_number)),
        "procurement.po.cancelled" => decode::<procurement::v1::PoCancelled>(ev).map(|e| {
            format!(
                "Purchase order {} cancelled ({}); the parts wait for a supplier again",
                e.po_number, e.reason
            )
        }),
        "logistics.pickup.overdue" => decode::<logistics::v1::PickupOverdue>(ev).map(|e| {
            format!(
                "The customer's own return {} has not arrived: call the customer",
                e.pickup_no
            )
        }),
        "logistics.shipment.dispatched" => decode::<logistics::v1::ShipmentDispatched>(ev)
            .map(|e| format!("Shipped with {}, waybill {}", e.carrier, e.waybill_no)),
        "logistics.shipment.delivered" => decode::<logistics::v1::ShipmentDelivered>(ev)
            .map(|e| format!("Delivered (waybill {})", e.waybill_no)),
        "logistics.shipment.exception" => decode::<logistics::v1::ShipmentException>(ev).map(|e| {
            let kind = logistics::v1::ExceptionKind::try_from(e.kind)
                .map(|k| k.as_str_name())
                .unwrap_or("EXCEPTION");
            format!(
                "Shipment problem ({}): {}",
                kind.trim_start_matches("EXCEPTION_KIND_").to_lowercase(),
                e.detail
            )
        }),
        "logistics.pickup.scheduled" => decode::<logistics::v1::PickupScheduled>(ev)
            .map(|e| format!("Pick-up scheduled ({})", e.pickup_no)),
        "fieldservice.workorder.scheduled" => decode::<fieldservice::v1::WorkOrderScheduled>(ev)
            .map(|e| {
                format!(
                    "Technician {} booked (work order {})",
                    e.technician_name, e.work_order_no
                )
            }),
        "fieldservice.workorder.status_changed" => {
            decode::<fieldservice::v1::WorkOrderStatusChanged>(ev).map(|e| {
                let to = fieldservice::v1::WorkOrderStatus::try_from(e.to)
                    .map(|s| s.as_str_name())
                    .unwrap_or("UNKNOWN");
                format!(
                    "Work order {} now {}",
                    e.work_order_no,
                    to.trim_start_matches("WORK_ORDER_STATUS_")
                        .to_lowercase()
                        .replace('_', " ")
                )
            })
        }
        "fieldservice.workorder.completed" => decode::<fieldservice::v1::WorkOrderCompleted>(ev)
            .map(|e| {
                format!(
                    "Service completed (work order {}, charge {})",
                    e.work_order_no,
                    money(&e.charge)
                )
            }),
        "feedback.survey.recorded" => decode::<feedback::v1::SurveyRecorded>(ev).map(|e| {
            let satisfied = if e.satisfied {
                "satisfied"
            } else {
                "not satisfied"
            };
            if e.resolved {
                format!("Satisfaction survey recorded ({satisfied}, problem solved)")
            } else {
                let mut s =
                    format!("Satisfaction survey recorded ({satisfied}): problem NOT solved");
                if !e.complaint_id.is_empty() {
                    s.push_str(&format!("; complaint {} opened", e.complaint_id));
                }
                if e.follow_up.is_some() {
                    s.push_str("; follow-up work order requested");
                }
                s
            }
        }),
        _ => None,
    };
    specific.unwrap_or_else(|| {
        // "logistics.pickup.completed" → "Pickup completed (logistics)".
        let mut parts = ev.routing_key.splitn(3, '.');
        let svc = parts.next().unwrap_or_default();
        let entity = parts.next().unwrap_or_default().replace('_', " ");
        let verb = parts.next().unwrap_or_default().replace('_', " ");
        let mut line = format!("{entity} {verb} ({svc})");
        if let Some(first) = line.get(..1) {
            line = first.to_uppercase() + &line[1..];
        }
        line
    })
}
