//! What the customer reads: one template per customer-facing event and language. Each event's
//! facts (the waybill, the time window, the technician, the reason, the amount) are read from its
//! payload; times are shown in the department's local time.

use aftersales_platform::bus::Received;
use aftersales_platform::proto::{claims, feedback, fieldservice, intake, logistics};
use chrono::{DateTime, FixedOffset, Utc};
use prost::Message;

use crate::domain::request::Language;
use crate::events::summary::money;

/// The events the customer is told of (DESIGN §6: the review result and reason, the waybill, the
/// appointment and technician, an apology for a missed deadline, the return visit, the refund,
/// the end of the request).
pub const CUSTOMER_EVENTS: &[&str] = &[
    "claims.claim.approved",
    "claims.claim.rejected",
    "claims.claim.info_requested",
    "claims.claim.sla_breached",
    "claims.refund.authorized",
    "logistics.shipment.dispatched",
    "logistics.shipment.delivered",
    "fieldservice.workorder.scheduled",
    "fieldservice.workorder.sla_breached",
    "feedback.visit.scheduled",
    "intake.request.closed",
];

/// A message ready to send: its subject (e-mail) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

fn decode<M: Message + Default>(payload: &[u8]) -> Option<M> {
    M::decode(payload).ok()
}

fn local(t: &Option<prost_types::Timestamp>, tz: FixedOffset) -> String {
    t.as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn hhmm(t: &Option<prost_types::Timestamp>, tz: FixedOffset) -> String {
    local(t, tz).get(11..).unwrap_or_default().to_owned()
}

/// The message for `routing_key` (its payload `payload`) about `request_no`, in `lang`; `None`
/// when the event is not one the customer hears of.
pub fn render(
    routing_key: &str,
    payload: &[u8],
    request_no: &str,
    lang: Language,
    tz: FixedOffset,
) -> Option<Rendered> {
    use Language::{En, ZhCn};
    let (zh_subject, en_subject, zh, en): (&str, &str, String, String) = match routing_key {
        "claims.claim.approved" => {
            let e: claims::v1::ClaimApproved = decode(payload)?;
            let fee = money(&e.total_fee);
            let paid = e.total_fee.as_ref().is_some_and(|m| m.amount_minor > 0);
            (
                "保修审核通过",
                "Your claim is approved",
                if paid {
                    format!(
                        "您的售后申请 {request_no} 已审核通过，服务费用 {fee}。我们将尽快安排配件和服务。"
                    )
                } else {
                    format!(
                        "您的售后申请 {request_no} 已审核通过，保修范围内免费。我们将尽快安排配件和服务。"
                    )
                },
                if paid {
                    format!(
                        "Your after-sales request {request_no} is approved; the service fee is {fee}. We are arranging the parts and the service."
                    )
                } else {
                    format!(
                        "Your after-sales request {request_no} is approved and covered by the warranty, free of charge. We are arranging the parts and the service."
                    )
                },
            )
        }
        "claims.claim.rejected" => {
            let e: claims::v1::ClaimRejected = decode(payload)?;
            (
                "保修审核未通过",
                "Your claim is not approved",
                format!(
                    "很抱歉，您的售后申请 {request_no} 未通过保修审核，原因：{}。如有疑问请联系服务网点。",
                    e.reason
                ),
                format!(
                    "We are sorry: your after-sales request {request_no} was not approved. Reason: {}. Please contact your service branch with any question.",
                    e.reason
                ),
            )
        }
        "claims.claim.info_requested" => {
            let e: claims::v1::ClaimInfoRequested = decode(payload)?;
            (
                "需要补充资料",
                "We need more information",
                format!(
                    "您的售后申请 {request_no} 需要补充资料：{}。请联系服务网点提交。",
                    e.text
                ),
                format!(
                    "For your after-sales request {request_no} we need more information: {}. Please send it to your service branch.",
                    e.text
                ),
            )
        }
        "claims.claim.sla_breached" => {
            let _: claims::v1::ClaimSlaBreached = decode(payload)?;
            (
                "致歉：审核超时",
                "Our apologies: the review is late",
                format!(
                    "非常抱歉，您的售后申请 {request_no} 的审核未能在承诺时间内完成。我们已优先处理，并会尽快告知结果。"
                ),
                format!(
                    "We apologise: the review of your after-sales request {request_no} has taken longer than we promised. It now has priority and we will tell you the result as soon as it is decided."
                ),
            )
        }
        "claims.refund.authorized" => {
            let e: claims::v1::RefundAuthorized = decode(payload)?;
            let amount = money(&e.amount);
            (
                "退款已批准",
                "Your refund is authorized",
                format!("您的售后申请 {request_no} 的退款 {amount} 已批准，将按原支付途径退回。"),
                format!(
                    "The refund of {amount} for your after-sales request {request_no} is authorized and goes back the way you paid."
                ),
            )
        }
        "logistics.shipment.dispatched" => {
            let e: logistics::v1::ShipmentDispatched = decode(payload)?;
            let eta = local(&e.eta, tz);
            (
                "配件已发货",
                "Your parts are on their way",
                format!(
                    "您的售后申请 {request_no} 的配件已由{}发出，运单号 {}{}。",
                    e.carrier,
                    e.waybill_no,
                    if eta.is_empty() {
                        String::new()
                    } else {
                        format!("，预计 {eta} 送达")
                    }
                ),
                format!(
                    "The parts for your after-sales request {request_no} were shipped with {}, waybill {}{}.",
                    e.carrier,
                    e.waybill_no,
                    if eta.is_empty() {
                        String::new()
                    } else {
                        format!(", expected {eta}")
                    }
                ),
            )
        }
        "logistics.shipment.delivered" => {
            let e: logistics::v1::ShipmentDelivered = decode(payload)?;
            (
                "配件已送达",
                "Your parts are delivered",
                format!(
                    "您的售后申请 {request_no} 的配件已送达（运单号 {}）。",
                    e.waybill_no
                ),
                format!(
                    "The parts for your after-sales request {request_no} are delivered (waybill {}).",
                    e.waybill_no
                ),
            )
        }
        "fieldservice.workorder.scheduled" => {
            let e: fieldservice::v1::WorkOrderScheduled = decode(payload)?;
            let (from, to) = e
                .appointment
                .as_ref()
                .map(|w| (local(&w.from, tz), hhmm(&w.to, tz)))
                .unwrap_or_default();
            let (zh_subject, en_subject) = if e.rescheduled {
                ("上门时间已变更", "Your appointment has moved")
            } else {
                ("上门服务已预约", "Your appointment is booked")
            };
            (
                zh_subject,
                en_subject,
                format!(
                    "您的售后申请 {request_no}：技术员 {} 将于 {from}–{to} 上门服务。",
                    e.technician_name
                ),
                format!(
                    "For your after-sales request {request_no}: technician {} will visit you on {from}–{to}.",
                    e.technician_name
                ),
            )
        }
        "fieldservice.workorder.sla_breached" => {
            let _: fieldservice::v1::WorkOrderSlaBreached = decode(payload)?;
            (
                "致歉：上门服务延误",
                "Our apologies: the visit is late",
                format!(
                    "非常抱歉，您的售后申请 {request_no} 的上门服务未能按承诺时间完成。服务网点会尽快与您联系。"
                ),
                format!(
                    "We apologise: the visit for your after-sales request {request_no} is later than we promised. Your service branch will contact you shortly."
                ),
            )
        }
        "feedback.visit.scheduled" => {
            let e: feedback::v1::VisitScheduled = decode(payload)?;
            (
                "服务回访",
                "We will call you about our service",
                format!(
                    "感谢您的耐心。我们将在 {} 前回访，了解您对售后申请 {request_no} 服务的满意度。",
                    e.due_date
                ),
                format!(
                    "Thank you for your patience. We will call you by {} to ask how satisfied you are with the service on request {request_no}.",
                    e.due_date
                ),
            )
        }
        "intake.request.closed" => {
            let e: intake::v1::RequestClosed = decode(payload)?;
            (
                "售后申请已关闭",
                "Your request is closed",
                format!(
                    "您的售后申请 {request_no} 已关闭（{}）。感谢您的信任。",
                    e.detail
                ),
                format!(
                    "Your after-sales request {request_no} is closed ({}). Thank you for your trust.",
                    e.detail
                ),
            )
        }
        _ => return None,
    };
    Some(match lang {
        ZhCn => Rendered {
            subject: format!("【售后服务】{zh_subject} {request_no}"),
            body: zh,
        },
        En => Rendered {
            subject: format!("[After-sales] {en_subject} ({request_no})"),
            body: en,
        },
    })
}

/// The payload of a received event, for [`render`].
pub fn render_received(
    ev: &Received,
    request_no: &str,
    lang: Language,
    tz: FixedOffset,
) -> Option<Rendered> {
    render(&ev.routing_key, &ev.envelope.payload, request_no, lang, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftersales_platform::proto::common::v1 as common;

    fn ts(s: &str) -> Option<prost_types::Timestamp> {
        let t = DateTime::parse_from_rfc3339(s).unwrap();
        Some(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        })
    }

    fn shanghai() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn every_customer_event_has_both_languages_and_nothing_else_is_sent() {
        for rk in CUSTOMER_EVENTS {
            for lang in Language::ALL {
                let r = render(rk, &[], "AS-2612-SH01-000001", *lang, shanghai())
                    .unwrap_or_else(|| panic!("{rk} {lang:?}"));
                assert!(r.subject.contains("AS-2612-SH01-000001"), "{rk}: {r:?}");
                assert!(r.body.contains("AS-2612-SH01-000001"), "{rk}: {r:?}");
            }
        }
        assert_eq!(
            render("warehouse.stock.low", &[], "AS-1", Language::En, shanghai()),
            None
        );
    }

    #[test]
    fn the_appointment_shows_the_local_window_and_the_technician() {
        let e = fieldservice::v1::WorkOrderScheduled {
            technician_name: "Zhang San".into(),
            appointment: Some(common::TimeRange {
                from: ts("2026-12-02T01:00:00Z"),
                to: ts("2026-12-02T03:00:00Z"),
            }),
            ..Default::default()
        };
        let r = render(
            "fieldservice.workorder.scheduled",
            &e.encode_to_vec(),
            "AS-2612-SH01-000001",
            Language::En,
            shanghai(),
        )
        .unwrap();
        assert_eq!(
            r.body,
            "For your after-sales request AS-2612-SH01-000001: technician Zhang San will visit you on 2026-12-02 09:00–11:00."
        );
        let zh = render(
            "fieldservice.workorder.scheduled",
            &e.encode_to_vec(),
            "AS-2612-SH01-000001",
            Language::ZhCn,
            shanghai(),
        )
        .unwrap();
        assert!(
            zh.body
                .contains("技术员 Zhang San 将于 2026-12-02 09:00–11:00 上门服务"),
            "{zh:?}"
        );
    }

    #[test]
    fn the_rejection_gives_the_reason_and_the_shipment_its_waybill() {
        let e = claims::v1::ClaimRejected {
            reason: "out of warranty".into(),
            ..Default::default()
        };
        let r = render(
            "claims.claim.rejected",
            &e.encode_to_vec(),
            "AS-1",
            Language::En,
            shanghai(),
        )
        .unwrap();
        assert!(r.body.contains("Reason: out of warranty."), "{r:?}");
        let d = logistics::v1::ShipmentDispatched {
            carrier: "SF".into(),
            waybill_no: "SF1234567890".into(),
            ..Default::default()
        };
        let r = render(
            "logistics.shipment.dispatched",
            &d.encode_to_vec(),
            "AS-1",
            Language::ZhCn,
            shanghai(),
        )
        .unwrap();
        assert!(r.body.contains("运单号 SF1234567890"), "{r:?}");
    }
}
