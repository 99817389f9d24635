//! Every request of the API parsed once, here, into its domain command: every bad field named
//! in one answer (the platform's [`Violations`]), identifiers by the mesh's one rule
//! ([`aftersales_platform::ids`]), so the service never sees a proto request.

use aftersales_platform::ids::{BranchCode, PartNo, Phone, RequestNo, Serial};
use aftersales_platform::paging;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use chrono::{DateTime, NaiveDate};

use crate::domain::ClaimStatus;
use crate::domain::command::{
    Address, ApprovedLine, Decide, Decision, Info, ListClaims, Money, Payment, QueueKey,
};
use crate::mapping::{self, from_timestamp};

/// A page when the caller does not say how large.
const DEFAULT_PAGE_SIZE: u32 = 50;

/// A request number, the only field of `GetClaim` and `GetRefund`.
pub fn request_no(s: &str) -> Result<RequestNo, Invalid> {
    RequestNo::parse(s).map_err(|e| Invalid::field("request_no", e))
}

impl TryFrom<pb::DecideClaimRequest> for Decide {
    type Error = Invalid;

    fn try_from(m: pb::DecideClaimRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let idempotency_key = v.check("idempotency_key", idempotency_key(&m.idempotency_key));
        let request_no = v.check("request_no", RequestNo::parse(&m.request_no));
        if m.expected_version == 0 {
            v.add(
                "expected_version",
                "is required: the claim's version you saw",
            );
        }
        let note = v.check("note", optional_text(&m.note, 2000));
        let decision = decision(&mut v, &m, note.as_deref().unwrap_or(""));
        v.done(|| {
            Some(Decide {
                idempotency_key: idempotency_key?,
                request_no: request_no?,
                expected_version: m.expected_version,
                decision: decision?,
                note: note?,
            })
        })
    }
}

fn decision(v: &mut Violations, m: &pb::DecideClaimRequest, note: &str) -> Option<Decision> {
    use pb::decide_claim_request::Detail;
    match (pb::Decision::try_from(m.decision), &m.detail) {
        (Ok(pb::Decision::Approve), Some(Detail::Approve(a))) => approve(v, a),
        (Ok(pb::Decision::Approve), None) => approve(v, &pb::Approve::default()),
        (Ok(pb::Decision::Approve), Some(_)) => {
            v.add(
                "detail",
                "must be approve (or absent) with decision APPROVE",
            );
            None
        }
        (Ok(pb::Decision::Reject), Some(Detail::Reject(r))) => {
            let reason = pb::RejectReason::try_from(r.reason_code)
                .ok()
                .and_then(mapping::reject_reason_from_proto);
            if reason.is_none() {
                v.add(
                    "reject.reason_code",
                    "is required: one of the fixed reject reasons",
                );
            }
            if note.is_empty() {
                v.add("note", "is required for a rejection: the reason in words");
            }
            Some(Decision::Reject { reason: reason? })
        }
        (Ok(pb::Decision::Reject), _) => {
            v.add("reject", "is required with decision REJECT");
            None
        }
        (Ok(pb::Decision::RequestInfo), Some(Detail::RequestInfo(r))) => {
            let mut missing = Vec::new();
            for (i, x) in r.missing.iter().enumerate() {
                match pb::MissingInfo::try_from(*x)
                    .ok()
                    .and_then(mapping::missing_info_from_proto)
                {
                    Some(mi) => missing.push(mi),
                    None => v.add(
                        format!("request_info.missing[{i}]"),
                        format!("{x} is not a kind of missing information"),
                    ),
                }
            }
            if r.missing.is_empty() {
                v.add(
                    "request_info.missing",
                    "must name at least one missing item",
                );
            }
            Some(Decision::RequestInfo { missing })
        }
        (Ok(pb::Decision::RequestInfo), _) => {
            v.add("request_info", "is required with decision REQUEST_INFO");
            None
        }
        _ => {
            v.add(
                "decision",
                "is required: one of APPROVE, REJECT, REQUEST_INFO",
            );
            None
        }
    }
}

fn approve(v: &mut Violations, a: &pb::Approve) -> Option<Decision> {
    let mut lines = Vec::new();
    for (i, l) in a.lines.iter().enumerate() {
        let at = format!("approve.lines[{i}]");
        let part_no = v.check(format!("{at}.part_no"), PartNo::parse(&l.part_no));
        // Unspecified keeps the coverage the policy found.
        let coverage = match common::Coverage::try_from(l.coverage) {
            Ok(c) => mapping::coverage_from_proto(c),
            Err(_) => {
                v.add(
                    format!("{at}.coverage"),
                    "is not one of free, paid, contract",
                );
                None
            }
        };
        let fee = l.fee.as_ref().map(|f| f.amount_minor);
        if fee.is_some_and(|f| f < 0) {
            v.add(format!("{at}.fee"), "must not be negative");
        }
        if let Some(part_no) = part_no {
            lines.push(ApprovedLine {
                part_no,
                quantity: l.quantity,
                coverage,
                fee,
            });
        }
    }
    let ship_to = match &a.ship_to {
        None => Some(None),
        Some(s) => address(v, "approve.ship_to", s).map(Some),
    };
    Some(Decision::Approve {
        lines,
        onsite_required: a.onsite_required,
        ship_to: ship_to?,
        own_reasons: a.own_reasons,
    })
}

fn address(v: &mut Violations, at: &str, a: &common::Address) -> Option<Address> {
    let recipient = v.check(format!("{at}.recipient"), required_text(&a.recipient, 200));
    let phone = v.check(format!("{at}.phone"), Phone::parse(&a.phone));
    let address = v.check(format!("{at}.address"), required_text(&a.address, 500));
    let region = common::Region::try_from(a.region)
        .ok()
        .and_then(mapping::region_from_proto);
    if region.is_none() {
        v.add(
            format!("{at}.region"),
            "is required: urban, suburban or remote",
        );
    }
    let branch = if a.branch.trim().is_empty() {
        Some(None)
    } else {
        v.check(format!("{at}.branch"), BranchCode::parse(&a.branch))
            .map(Some)
    };
    Some(Address {
        recipient: recipient?,
        phone: phone?,
        address: address?,
        region: region?,
        branch: branch?,
    })
}

/// `ProvideInfo`; dates are judged against `today` (the service's clock, local date).
pub fn provide_info(m: pb::ProvideInfoRequest, today: NaiveDate) -> Result<Info, Invalid> {
    let mut v = Violations::new();
    let idempotency_key = v.check("idempotency_key", idempotency_key(&m.idempotency_key));
    let request_no = v.check("request_no", RequestNo::parse(&m.request_no));
    let mut parts = Vec::new();
    for (i, p) in m.parts.iter().enumerate() {
        let no = v.check(format!("parts[{i}].part_no"), PartNo::parse(&p.part_no));
        if p.quantity == 0 || p.quantity > 999 {
            v.add(format!("parts[{i}].quantity"), "must be between 1 and 999");
        }
        if let Some(no) = no {
            parts.push((no, p.quantity));
        }
    }
    let mut photos = Vec::new();
    for (field, list) in [("photos", &m.photos), ("documents", &m.documents)] {
        for (i, url) in list.iter().enumerate() {
            if let Some(u) = v.check(format!("{field}[{i}]"), link(url)) {
                photos.push(u);
            }
        }
    }
    let serial = if m.serial.trim().is_empty() {
        Some(None)
    } else {
        v.check("serial", Serial::parse(&m.serial)).map(Some)
    };
    let payment = match &m.payment {
        None => Some(None),
        Some(p) => payment(&mut v, p).map(Some),
    };
    let invoice_no = v.check("invoice_no", optional_text(&m.invoice_no, 64));
    let invoice_date = v.check("invoice_date", past_date(&m.invoice_date, today));
    let receipt_date = v.check("receipt_date", past_date(&m.receipt_date, today));
    let purchase_date = v.check("purchase_date", past_date(&m.purchase_date, today));
    let service_contract_no = v.check(
        "service_contract_no",
        optional_text(&m.service_contract_no, 64),
    );
    let fault_description = v.check(
        "fault_description",
        optional_text(&m.fault_description, 4000),
    );
    let note = v.check("note", optional_text(&m.note, 2000));
    v.done(|| {
        Some(Info {
            idempotency_key: idempotency_key?,
            request_no: request_no?,
            invoice_no: invoice_no?,
            invoice_date: invoice_date?,
            receipt_date: receipt_date?,
            serial: serial?,
            purchase_date: purchase_date?,
            service_contract_no: service_contract_no?,
            photos,
            payment: payment?,
            fault_description: fault_description?,
            parts,
            note: note?,
        })
    })
}

fn payment(v: &mut Violations, p: &pb::Payment) -> Option<Payment> {
    let method = pb::PaymentMethod::try_from(p.method)
        .ok()
        .and_then(mapping::payment_method_from_proto);
    if method.is_none() {
        v.add(
            "payment.method",
            "is required: card, bank_transfer, wallet, cash, marketplace or other",
        );
    }
    let amount = match &p.amount {
        None => Some(None),
        Some(m) => money(v, "payment.amount", m).map(Some),
    };
    let reference = v.check("payment.reference", optional_text(&p.reference, 100));
    let payer = v.check("payment.payer", optional_text(&p.payer, 200));
    Some(Payment {
        method: method?,
        reference: reference?,
        amount: amount?,
        payer: payer?,
    })
}

fn money(v: &mut Violations, at: &str, m: &common::Money) -> Option<Money> {
    let currency = m.currency.trim().to_ascii_uppercase();
    let currency_ok = currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase());
    if !currency_ok {
        v.add(
            format!("{at}.currency"),
            "must be a three-letter ISO 4217 code, e.g. CNY",
        );
    }
    if m.amount_minor < 0 {
        v.add(format!("{at}.amount_minor"), "must not be negative");
    }
    (currency_ok && m.amount_minor >= 0).then_some(Money {
        currency,
        minor: m.amount_minor,
    })
}

/// `ListClaims`: at most `max_page_size` claims a page.
pub fn list(m: &pb::ListClaimsRequest, max_page_size: u32) -> Result<ListClaims, Invalid> {
    let mut v = Violations::new();
    let branch = if m.branch.trim().is_empty() {
        Some(None)
    } else {
        v.check("branch", BranchCode::parse(&m.branch)).map(Some)
    };
    let mut statuses = Vec::new();
    for (i, s) in m.statuses.iter().enumerate() {
        match pb::ClaimStatus::try_from(*s)
            .ok()
            .and_then(mapping::status_from_proto)
        {
            Some(st) => statuses.push(st),
            None => v.add(
                format!("statuses[{i}]"),
                format!("{s} is not a claim status"),
            ),
        }
    }
    if statuses.is_empty() {
        statuses = vec![ClaimStatus::Pending, ClaimStatus::InfoRequested];
    }
    let due_before = match &m.due_before {
        None => Some(None),
        Some(t) => {
            let d = from_timestamp(t);
            if d.is_none() {
                v.add("due_before", "is not a valid timestamp");
            }
            d.map(Some)
        }
    };
    let page_size = v.check(
        "page_size",
        paging::page_size(m.page_size, DEFAULT_PAGE_SIZE, max_page_size),
    );
    let after = v.check("page_token", parse_page_token(&m.page_token));
    v.done(|| {
        Some(ListClaims {
            branch: branch?,
            statuses,
            due_before: due_before?,
            escalated_only: m.escalated_only,
            page_size: page_size?,
            after: after?,
        })
    })
}

/// The queue's keyset (due, opened, number; instants in microseconds) in the platform's one
/// opaque page-token scheme.
type Token = (Option<i64>, i64, String);

pub fn page_token(k: &QueueKey) -> String {
    let token: Token = (
        k.due_at.map(|d| d.timestamp_micros()),
        k.opened_at.timestamp_micros(),
        k.request_no.clone(),
    );
    paging::encode(&token)
}

fn parse_page_token(s: &str) -> Result<Option<QueueKey>, String> {
    let bad = || "is not a page token this list issued".to_owned();
    let Some((due, opened, request_no)) = paging::decode::<Token>(s)? else {
        return Ok(None);
    };
    let due_at = match due {
        None => None,
        Some(d) => Some(DateTime::from_timestamp_micros(d).ok_or_else(bad)?),
    };
    let opened_at = DateTime::from_timestamp_micros(opened).ok_or_else(bad)?;
    Ok(Some(QueueKey {
        due_at,
        opened_at,
        request_no,
    }))
}

fn idempotency_key(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 {
        return Err("is required (at most 100 characters)".into());
    }
    Ok(t.to_owned())
}

/// A date `YYYY-MM-DD` not after `today`; empty: none.
fn past_date(s: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if d <= today => Ok(Some(d)),
        Ok(_) => Err("must not be in the future".into()),
        Err(_) => Err(format!("{t:?} is not a date YYYY-MM-DD")),
    }
}

/// A link to a photo or a document.
fn link(s: &str) -> Result<String, String> {
    let u = s.trim();
    if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
        return Err("must be an http(s) URL".into());
    }
    Ok(u.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_page_token_round_trips_and_an_offset_token_is_refused() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        for due_at in [Some(at("2026-11-30T06:00:00.123456Z")), None] {
            let k = QueueKey {
                due_at,
                opened_at: at("2026-11-27T09:30:00.000001Z"),
                request_no: "AS-2611-SH01-000042".into(),
            };
            assert_eq!(parse_page_token(&page_token(&k)).unwrap(), Some(k));
        }
        assert_eq!(parse_page_token("").unwrap(), None);
        assert!(parse_page_token("o50").is_err());
    }

    #[test]
    fn a_decision_names_every_bad_field_at_once() {
        let err = Decide::try_from(pb::DecideClaimRequest {
            request_no: "AS-1".into(),
            decision: pb::Decision::RequestInfo as i32,
            detail: Some(pb::decide_claim_request::Detail::RequestInfo(
                pb::RequestInfo { missing: vec![99] },
            )),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "idempotency_key",
                "request_no",
                "expected_version",
                "request_info.missing[0]"
            ]
        );
    }

    #[test]
    fn part_numbers_and_request_numbers_follow_the_mesh_rule() {
        let today = Utc::now().date_naive();
        let info = provide_info(
            pb::ProvideInfoRequest {
                idempotency_key: "k".into(),
                request_no: " as-2611-sh01-000042 ".into(),
                parts: vec![common::PartLine {
                    part_no: "x_1.2".into(),
                    quantity: 1,
                }],
                ..Default::default()
            },
            today,
        )
        .unwrap();
        assert_eq!(info.request_no.as_str(), "AS-2611-SH01-000042");
        assert_eq!(info.parts[0].0.as_str(), "X_1.2");
        let err = provide_info(
            pb::ProvideInfoRequest {
                idempotency_key: "k".into(),
                request_no: "AS-2611-SH01-000042".into(),
                invoice_date: (today + chrono::Duration::days(1)).to_string(),
                parts: vec![common::PartLine {
                    part_no: "A B".into(),
                    quantity: 1,
                }],
                ..Default::default()
            },
            today,
        )
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["parts[0].part_no", "invoice_date"]);
    }
}
