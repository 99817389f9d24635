//! What each logged event says for the KPI read model: an envelope in, [`Fact`]s out. One
//! function of the envelope (and the policy and calendar), so the live projection and a rebuild
//! from the log agree. Protobuf stops here: the read model sees facts only.
//!
//! The product model of a first reservation, with its lifecycle, comes from the warehouse's
//! reservation and shortage events (`product_model`, `model_lifecycle`,
//! `model_discontinued_date`); an event without them (an older producer, a model the warehouse's
//! catalogue does not know) falls in the UNKNOWN lifecycle class.

use aftersales_platform::calendar::Calendar;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::{
    claims, feedback, fieldservice, intake, logistics, procurement, warehouse,
};
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;

use crate::domain::Policy;
use crate::store::readmodel::Fact;

/// A protobuf timestamp as an instant.
pub fn instant(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.clamp(0, 999_999_999) as u32))
}

/// When the envelope says the change happened.
pub fn occurred(env: &EventEnvelope) -> DateTime<Utc> {
    instant(&env.occurred_at).unwrap_or(DateTime::UNIX_EPOCH)
}

/// The request number an envelope is about (its `request_no`, else its subject).
pub fn request_of(env: &EventEnvelope) -> &str {
    if env.request_no.is_empty() {
        &env.subject
    } else {
        &env.request_no
    }
}

/// The payload's branch, else the envelope's.
fn branch(payload: &str, env: &EventEnvelope) -> String {
    if payload.trim().is_empty() {
        env.branch.clone()
    } else {
        payload.trim().to_owned()
    }
}

/// The payload's request number, else the envelope's.
fn request(payload: &str, env: &EventEnvelope) -> String {
    if payload.trim().is_empty() {
        request_of(env).to_owned()
    } else {
        payload.trim().to_owned()
    }
}

/// Distinct part numbers of some lines, in order.
fn distinct<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        let p = p.trim().to_ascii_uppercase();
        if !p.is_empty() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// `BO-<request_no>-R<n>`: the back-order of a replacement reservation.
fn is_replacement_backorder(id: &str) -> bool {
    id.rsplit_once("-R")
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// The facts of one envelope. An event the read model has no use for gives none; a payload that
/// does not decode gives none either (it stays in the log, and a rebuild skips it the same way).
pub fn facts(env: &EventEnvelope, policy: &Policy, calendar: &Calendar) -> Vec<Fact> {
    match decode(env, policy, calendar) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(routing_key = %env.routing_key, event_id = %env.event_id, error = %e, "payload not projected");
            Vec::new()
        }
    }
}

fn decode(
    env: &EventEnvelope,
    policy: &Policy,
    calendar: &Calendar,
) -> Result<Vec<Fact>, prost::DecodeError> {
    let bytes = env.payload.as_slice();
    let at = |t: &Option<prost_types::Timestamp>| instant(t).unwrap_or_else(|| occurred(env));
    Ok(match env.routing_key.as_str() {
        "intake.request.submitted" => {
            let p = intake::v1::RequestSubmitted::decode(bytes)?;
            let Some(r) = p.request else {
                return Ok(vec![]);
            };
            let submitted = at(&r.created_at);
            let product = r.product.unwrap_or_default();
            vec![Fact::RequestSubmitted {
                request_no: request(&r.request_no, env),
                branch: branch(&r.branch, env),
                at: submitted,
                processing_due_at: calendar.add_working_days(submitted, policy.processing_days),
                product_model: product.model.trim().to_owned(),
                serial: product.serial.trim().to_owned(),
            }]
        }
        "intake.request.closed" => {
            let p = intake::v1::RequestClosed::decode(bytes)?;
            vec![Fact::RequestClosed {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                at: occurred(env),
                by_survey: p.reason == intake::v1::CloseReason::SurveyRecorded as i32,
            }]
        }
        "intake.request.cancelled" => {
            let p = intake::v1::RequestCancelled::decode(bytes)?;
            vec![Fact::RequestCancelled {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                at: occurred(env),
            }]
        }
        "claims.claim.opened" => {
            let p = claims::v1::ClaimOpened::decode(bytes)?;
            vec![Fact::ClaimOpened {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                due_at: instant(&p.due_at),
            }]
        }
        "claims.claim.approved" => {
            let p = claims::v1::ClaimApproved::decode(bytes)?;
            let product = p.product.clone().unwrap_or_default();
            let no = request(&p.request_no, env);
            let b = branch(&p.branch, env);
            vec![
                Fact::ClaimDecided {
                    request_no: no.clone(),
                    branch: b.clone(),
                    at: at(&p.approved_at),
                },
                Fact::ClaimApproved {
                    request_no: no,
                    branch: b,
                    lines: distinct(p.lines.iter().map(|l| l.part_no.as_str())).len() as i32,
                    product_model: product.model.trim().to_owned(),
                    serial: product.serial.trim().to_owned(),
                },
            ]
        }
        "claims.claim.rejected" => {
            let p = claims::v1::ClaimRejected::decode(bytes)?;
            vec![Fact::ClaimDecided {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                at: at(&p.rejected_at),
            }]
        }
        "claims.claim.sla_breached" => {
            let p = claims::v1::ClaimSlaBreached::decode(bytes)?;
            vec![Fact::ClaimBreached {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
            }]
        }
        "logistics.shipment.delivered" => {
            let p = logistics::v1::ShipmentDelivered::decode(bytes)?;
            if p.shipment_no.trim().is_empty() {
                return Ok(vec![]);
            }
            vec![Fact::Delivery {
                shipment_no: p.shipment_no.trim().to_owned(),
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                at: at(&p.delivered_at),
                on_time: p.on_time,
            }]
        }
        "warehouse.stocktake.closed" => {
            let p = warehouse::v1::StocktakeClosed::decode(bytes)?;
            vec![Fact::Stocktake {
                stocktake_id: if p.stocktake_id.is_empty() {
                    env.subject.clone()
                } else {
                    p.stocktake_id
                },
                at: at(&p.closed_at),
                counted: p.lines_counted as i64,
                matched: p.lines_matched as i64,
            }]
        }
        "procurement.po.issued" => {
            let p = procurement::v1::PoIssued::decode(bytes)?;
            // Procurement's own rule: a line's price against the price of the quote it came from
            // (the best current quote for a negotiated price). A line without one says nothing.
            let (mut actual, mut quoted) = (0i64, 0i64);
            for l in &p.lines {
                if let (Some(paid), Some(q)) = (&l.unit_price, &l.quoted_unit_price)
                    && q.amount_minor > 0
                {
                    actual += paid.amount_minor * l.quantity as i64;
                    quoted += q.amount_minor * l.quantity as i64;
                }
            }
            if actual <= 0 {
                return Ok(vec![]);
            }
            vec![Fact::Purchase {
                po_number: if p.po_number.is_empty() {
                    env.subject.clone()
                } else {
                    p.po_number
                },
                // A PO amended later is issued again with the next revision: the latest counts.
                revision: p.revision.max(1) as i32,
                at: at(&p.issued_at),
                actual_minor: actual,
                quoted_minor: quoted,
            }]
        }
        "procurement.po.cancelled" => {
            let p = procurement::v1::PoCancelled::decode(bytes)?;
            // A cancelled PO bought nothing: it outranks every revision (in whatever order the
            // two arrive) and counts zero.
            vec![Fact::Purchase {
                po_number: if p.po_number.is_empty() {
                    env.subject.clone()
                } else {
                    p.po_number
                },
                revision: i32::MAX,
                at: at(&p.cancelled_at),
                actual_minor: 0,
                quoted_minor: 0,
            }]
        }
        "fieldservice.workorder.completed" => {
            let p = fieldservice::v1::WorkOrderCompleted::decode(bytes)?;
            let no = request(&p.request_no, env);
            let b = branch(&p.branch, env);
            let done = at(&p.completed_at);
            let parts = distinct(p.parts_used.iter().map(|l| l.part_no.as_str()));
            vec![
                Fact::WorkOrderCompleted {
                    work_order_no: p.work_order_no.clone(),
                    request_no: no.clone(),
                    branch: b.clone(),
                    technician_id: p.technician_id.clone(),
                    at: done,
                    arrival_on_time: p.arrival_on_time,
                    rework: !p.rework_of.trim().is_empty(),
                },
                Fact::Quality {
                    reference: format!("work_order:{}", p.work_order_no),
                    at: done,
                    kind: env.routing_key.clone(),
                    request_no: no,
                    branch: b,
                    serial: p.serial.trim().to_owned(),
                    product_model: p.product_model.trim().to_owned(),
                    summary: format!(
                        "Repaired by {} (work order {}){}{}",
                        if p.technician_id.is_empty() {
                            "a technician"
                        } else {
                            &p.technician_id
                        },
                        p.work_order_no,
                        if p.resolution.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", p.resolution)
                        },
                        if p.rework_of.is_empty() {
                            String::new()
                        } else {
                            format!(" — rework of {}", p.rework_of)
                        },
                    ),
                    part_nos: parts,
                },
            ]
        }
        "fieldservice.workorder.rework_detected" => {
            let p = fieldservice::v1::WorkOrderReworkDetected::decode(bytes)?;
            let no = request(&p.request_no, env);
            let b = branch(&p.branch, env);
            vec![
                Fact::WorkOrderRework {
                    work_order_no: p.work_order_no.clone(),
                    request_no: no.clone(),
                    branch: b.clone(),
                },
                Fact::Quality {
                    reference: format!("rework:{}", p.work_order_no),
                    at: occurred(env),
                    kind: env.routing_key.clone(),
                    request_no: no,
                    branch: b,
                    serial: p.serial.trim().to_owned(),
                    product_model: p.product_model.trim().to_owned(),
                    summary: format!(
                        "Rework: repaired again {} days after work order {}",
                        p.days_since, p.previous_work_order_no
                    ),
                    part_nos: distinct(p.previous_parts_used.iter().map(|l| l.part_no.as_str())),
                },
            ]
        }
        "fieldservice.workorder.sla_breached" => {
            let p = fieldservice::v1::WorkOrderSlaBreached::decode(bytes)?;
            vec![Fact::WorkOrderSlaBreached {
                work_order_no: p.work_order_no,
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                technician_id: p.technician_id,
            }]
        }
        "warehouse.oldpart.received" => {
            let p = warehouse::v1::OldPartReceived::decode(bytes)?;
            let id = if p.old_part_id.is_empty() {
                env.event_id.clone()
            } else {
                p.old_part_id.clone()
            };
            let no = request(&p.request_no, env);
            let b = branch(&p.branch, env);
            let when = at(&p.received_at);
            let part = p.part_no.trim().to_ascii_uppercase();
            vec![
                Fact::ReturnedPart {
                    reference: format!("old_part:{id}"),
                    request_no: no.clone(),
                    branch: b.clone(),
                    part_no: part.clone(),
                    quantity: p.quantity.max(1) as i64,
                    at: when,
                },
                Fact::Quality {
                    reference: format!("old_part:{id}"),
                    at: when,
                    kind: env.routing_key.clone(),
                    request_no: no,
                    branch: b,
                    // The old part's own serial is not the product's.
                    serial: String::new(),
                    product_model: String::new(),
                    summary: format!(
                        "Old part {} × {} back from work order {}",
                        part, p.quantity, p.work_order_no
                    ),
                    part_nos: vec![part],
                },
            ]
        }
        "warehouse.return.inspected" => {
            let p = warehouse::v1::ReturnInspected::decode(bytes)?;
            let no = request(&p.request_no, env);
            let b = branch(&p.branch, env);
            let when = at(&p.inspected_at);
            let part = p.part_no.trim().to_ascii_uppercase();
            vec![
                Fact::ReturnedPart {
                    reference: format!("return:{}", p.return_id),
                    request_no: no.clone(),
                    branch: b.clone(),
                    part_no: part.clone(),
                    quantity: 1,
                    at: when,
                },
                Fact::Quality {
                    reference: format!("return:{}", p.return_id),
                    at: when,
                    kind: env.routing_key.clone(),
                    request_no: no,
                    branch: b,
                    serial: p.serial.trim().to_owned(),
                    product_model: String::new(),
                    summary: format!(
                        "Returned unit inspected: {}{}",
                        if p.resaleable {
                            "resaleable"
                        } else {
                            "not resaleable"
                        },
                        if p.missing_accessories.is_empty() {
                            String::new()
                        } else {
                            format!(", missing {}", p.missing_accessories.join(", "))
                        }
                    ),
                    part_nos: vec![part],
                },
            ]
        }
        "warehouse.reservation.confirmed" => {
            let p = warehouse::v1::ReservationConfirmed::decode(bytes)?;
            if !p.backorder_id.trim().is_empty() || !p.exception_id.trim().is_empty() {
                // Serving a back-order, or a replacement for a lost or damaged shipment: not the
                // request's first reservation.
                return Ok(vec![]);
            }
            vec![Fact::FirstReservation {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                sequence: env.sequence.min(i64::MAX as u64) as i64,
                at: at(&p.reserved_at),
                confirmed: true,
                lines: distinct(p.lines.iter().map(|l| l.part_no.as_str())).len() as i32,
                model: p.product_model.trim().to_owned(),
                lifecycle: p.model_lifecycle,
                discontinued_on: date(&p.model_discontinued_date),
            }]
        }
        "warehouse.stock.shortage" => {
            let p = warehouse::v1::StockShortage::decode(bytes)?;
            if is_replacement_backorder(&p.backorder_id) {
                // A replacement's shortage (BO-<request>-R<n>): not the first reservation.
                return Ok(vec![]);
            }
            let short = distinct(
                p.lines
                    .iter()
                    .filter(|l| l.missing > 0 || l.reserved < l.requested)
                    .map(|l| l.part_no.as_str()),
            );
            vec![Fact::FirstReservation {
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                sequence: env.sequence.min(i64::MAX as u64) as i64,
                at: occurred(env),
                confirmed: false,
                lines: short.len() as i32,
                model: p.product_model.trim().to_owned(),
                lifecycle: p.model_lifecycle,
                discontinued_on: date(&p.model_discontinued_date),
            }]
        }
        "feedback.visit.scheduled" => {
            let p = feedback::v1::VisitScheduled::decode(bytes)?;
            // Feedback always sets the instant; due_date is its local date, for people.
            let Some(due) = instant(&p.due_at) else {
                return Ok(vec![]);
            };
            vec![Fact::VisitScheduled {
                visit_id: p.visit_id,
                request_no: request(&p.request_no, env),
                branch: branch(&p.branch, env),
                due_at: due,
            }]
        }
        "feedback.survey.recorded" => {
            let p = feedback::v1::SurveyRecorded::decode(bytes)?;
            let no = request(&p.request_no, env);
            let b = branch(&p.branch, env);
            let when = at(&p.recorded_at);
            let rating = |r: i32| if (1..=4).contains(&r) { r as i16 } else { 0 };
            let mut out = vec![Fact::SurveyRecorded {
                survey_id: p.survey_id.clone(),
                visit_id: p.visit_id.clone(),
                request_no: no.clone(),
                branch: b.clone(),
                technician_id: p.technician_id.clone(),
                work_order_no: p.work_order_no.clone(),
                at: when,
                ratings: [
                    rating(p.attitude),
                    rating(p.technical_skill),
                    rating(p.arrival_time),
                    rating(p.promise_keeping),
                ],
                satisfied: p.satisfied,
                resolved: p.resolved,
            }];
            if !p.satisfied || !p.resolved {
                out.push(Fact::Quality {
                    reference: format!("survey:{}", p.survey_id),
                    at: when,
                    kind: env.routing_key.clone(),
                    request_no: no,
                    branch: b,
                    serial: p.serial.trim().to_owned(),
                    product_model: p.product_model.trim().to_owned(),
                    summary: format!(
                        "Survey: {}{}{}",
                        if p.resolved {
                            "problem solved"
                        } else {
                            "problem NOT solved"
                        },
                        if p.satisfied {
                            ""
                        } else {
                            ", customer dissatisfied"
                        },
                        if p.comment.is_empty() {
                            String::new()
                        } else {
                            format!(" — \"{}\"", p.comment)
                        },
                    ),
                    part_nos: p.part_nos.clone(),
                });
            }
            out
        }
        "feedback.complaint.opened" => {
            let p = feedback::v1::ComplaintOpened::decode(bytes)?;
            let b = branch(&p.branch, env);
            let opened = at(&p.opened_at);
            vec![
                Fact::ComplaintOpened {
                    complaint_id: p.complaint_id.clone(),
                    branch: b.clone(),
                    technician_id: p.technician_id.clone(),
                    at: opened,
                    respond_by: instant(&p.respond_by).unwrap_or(opened),
                },
                Fact::Quality {
                    reference: format!("complaint:{}", p.complaint_id),
                    at: opened,
                    kind: env.routing_key.clone(),
                    request_no: p.request_no.clone(),
                    branch: b,
                    serial: p.serial.trim().to_owned(),
                    product_model: p.product_model.trim().to_owned(),
                    summary: format!(
                        "Complaint ({}, {}): {}",
                        crate::wire::category_name(p.category),
                        crate::wire::severity_name(p.severity),
                        p.description
                    ),
                    part_nos: p.part_nos.clone(),
                },
            ]
        }
        "feedback.complaint.resolved" => {
            let p = feedback::v1::ComplaintResolved::decode(bytes)?;
            vec![Fact::ComplaintResolved {
                complaint_id: p.complaint_id,
                branch: branch(&p.branch, env),
                at: at(&p.resolved_at),
            }]
        }
        _ => vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftersales_platform::proto::common::v1::Money;

    fn envelope(routing_key: &str, payload: Vec<u8>) -> EventEnvelope {
        EventEnvelope {
            event_id: uuid::Uuid::now_v7().to_string(),
            routing_key: routing_key.into(),
            subject: "PO-1".into(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_790_000_000,
                nanos: 0,
            }),
            payload,
            ..Default::default()
        }
    }

    fn money(minor: i64) -> Option<Money> {
        (minor > 0).then(|| Money {
            currency: "CNY".into(),
            amount_minor: minor,
        })
    }

    fn line(quantity: u32, price: i64, quoted: Option<i64>) -> procurement::v1::PoLine {
        procurement::v1::PoLine {
            line_no: 1,
            part_no: "RMT-01".into(),
            quantity,
            unit_price: money(price),
            quoted_unit_price: quoted.and_then(money),
            ..Default::default()
        }
    }

    #[test]
    fn a_purchase_order_counts_only_its_lines_with_a_quoted_price() {
        let po = procurement::v1::PoIssued {
            po_number: "PO-1".into(),
            revision: 2,
            lines: vec![line(2, 10_000, Some(9_000)), line(1, 7_000, None)],
            ..Default::default()
        };
        let f = facts_of(&po);
        assert!(
            matches!(
                f.as_slice(),
                [Fact::Purchase {
                    actual_minor: 20_000,
                    quoted_minor: 18_000,
                    revision: 2,
                    ..
                }]
            ),
            "{f:?}"
        );
        let unquoted = procurement::v1::PoIssued {
            po_number: "PO-2".into(),
            lines: vec![line(1, 5_000, None)],
            ..Default::default()
        };
        assert!(facts_of(&unquoted).is_empty());
    }

    #[test]
    fn a_cancelled_purchase_order_outranks_every_revision_and_counts_zero() {
        let cancelled = procurement::v1::PoCancelled {
            po_number: "PO-1".into(),
            ..Default::default()
        };
        let f = facts(
            &envelope("procurement.po.cancelled", cancelled.encode_to_vec()),
            &Policy::demo().unwrap(),
            &Calendar::standard(480),
        );
        assert!(
            matches!(
                f.as_slice(),
                [Fact::Purchase {
                    actual_minor: 0,
                    quoted_minor: 0,
                    revision: i32::MAX,
                    ..
                }]
            ),
            "{f:?}"
        );
    }

    #[test]
    fn a_replacement_reservation_or_its_shortage_is_not_the_first_reservation() {
        let confirmed = warehouse::v1::ReservationConfirmed {
            request_no: "AS-2611-SH01-000001".into(),
            exception_id: "EX-1".into(),
            ..Default::default()
        };
        let shortage = warehouse::v1::StockShortage {
            request_no: "AS-2611-SH01-000001".into(),
            backorder_id: "BO-AS-2611-SH01-000001-R1".into(),
            ..Default::default()
        };
        let first = warehouse::v1::StockShortage {
            request_no: "AS-2611-SH01-000001".into(),
            backorder_id: "BO-AS-2611-SH01-000001".into(),
            ..Default::default()
        };
        let of = |rk: &str, bytes: Vec<u8>| {
            facts(
                &envelope(rk, bytes),
                &Policy::demo().unwrap(),
                &Calendar::standard(480),
            )
        };
        assert!(of("warehouse.reservation.confirmed", confirmed.encode_to_vec()).is_empty());
        assert!(of("warehouse.stock.shortage", shortage.encode_to_vec()).is_empty());
        assert_eq!(
            of("warehouse.stock.shortage", first.encode_to_vec()).len(),
            1
        );
    }

    #[test]
    fn a_first_reservation_carries_the_model_and_lifecycle_the_warehouse_published() {
        let shortage = warehouse::v1::StockShortage {
            request_no: "AS-2611-SH01-000001".into(),
            backorder_id: "BO-AS-2611-SH01-000001".into(),
            product_model: " X50 ".into(),
            model_lifecycle: warehouse::v1::ModelLifecycle::Discontinued as i32,
            model_discontinued_date: "2025-03-31".into(),
            ..Default::default()
        };
        let f = facts(
            &envelope("warehouse.stock.shortage", shortage.encode_to_vec()),
            &Policy::demo().unwrap(),
            &Calendar::standard(480),
        );
        let [
            Fact::FirstReservation {
                model,
                lifecycle,
                discontinued_on,
                confirmed: false,
                ..
            },
        ] = f.as_slice()
        else {
            panic!("{f:?}");
        };
        assert_eq!(model, "X50");
        assert_eq!(*lifecycle, 3);
        assert_eq!(*discontinued_on, NaiveDate::from_ymd_opt(2025, 3, 31));
    }

    fn facts_of(p: &procurement::v1::PoIssued) -> Vec<Fact> {
        facts(
            &envelope("procurement.po.issued", p.encode_to_vec()),
            &Policy::demo().unwrap(),
            &Calendar::standard(480),
        )
    }
}
