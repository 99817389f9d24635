//! Each department's part of a customer's request, end to end through the gateway.

use std::time::Duration;

use aftersales_platform::auth::Role;
use serde_json::json;

use crate::harness::{
    NewRequest, as_agent, at_head_office, hands_back, hands_off, head_office, items, request,
    shared, timeline, until, wait_status,
};

const LIFETIME: Duration = Duration::from_secs(240);

fn assert_steps(no: &str, steps: &[String], want: &[&str]) {
    let mut at = 0;
    for w in want {
        match steps[at..].iter().position(|s| s == w) {
            Some(i) => at += i + 1,
            None => panic!("{no}: the timeline lacks {w} (in order); it has {steps:?}"),
        }
    }
}

/// Nothing was reserved or planned for the request (`why`: what it is).
fn assert_ships_nothing(no: &str, steps: &[String], why: &str) {
    for never in [
        "warehouse.reservation.confirmed",
        "logistics.shipment.planned",
    ] {
        assert!(
            !steps.iter().any(|s| s == never),
            "{no}: {why} ships nothing, yet {never}: {steps:?}"
        );
    }
}

/// A panel needs a technician: approved → reserved → planned → issued by the clerk → dispatched
/// → delivered by the simulated carrier → work order → booked by the dispatcher → worked by the
/// technician → completed → return visit → survey (solved) → closed.
#[tokio::test]
async fn a_panel_repair_goes_through_every_department_to_a_closed_case() {
    shared();
    let (no, _) = NewRequest::new("SH01", "repair", "PNL-55-01")
        .submit()
        .await;
    let r = wait_status(&no, "closed", LIFETIME).await;
    let steps = timeline(&no).await;
    assert_steps(
        &no,
        &steps,
        &[
            "intake.request.submitted",
            "claims.claim.opened",
            "claims.claim.approved",
            "warehouse.reservation.confirmed",
            "logistics.shipment.planned",
            "warehouse.parts.issued",
            "logistics.shipment.dispatched",
            "logistics.shipment.delivered",
            "fieldservice.workorder.completed",
            "feedback.visit.scheduled",
            "feedback.survey.recorded",
            "intake.request.closed",
        ],
    );
    for w in [
        "fieldservice.workorder.created",
        "fieldservice.workorder.scheduled",
    ] {
        assert!(steps.iter().any(|s| s == w), "{no}: no {w} in {steps:?}");
    }
    println!(
        "e2e: {no} (panel repair, SH01): {} after {} steps",
        r["status"],
        steps.len()
    );
}

/// The remote is out of stock: shortage → purchase order to the supplier the rule picks → goods
/// received and inspected by the clerk → the back-order served → shipped → delivered → visit →
/// closed.
#[tokio::test]
async fn a_shortage_is_bought_received_and_served_before_the_case_closes() {
    shared();
    let (no, _) = NewRequest::new("GZ03", "replacement", "RMT-01")
        .submit()
        .await;
    let r = wait_status(&no, "closed", LIFETIME).await;
    let steps = timeline(&no).await;
    assert_steps(
        &no,
        &steps,
        &[
            "intake.request.submitted",
            "claims.claim.approved",
            "warehouse.stock.shortage",
            "procurement.po.issued",
            "warehouse.reservation.confirmed",
            "logistics.shipment.dispatched",
            "logistics.shipment.delivered",
            "feedback.survey.recorded",
            "intake.request.closed",
        ],
    );
    let pos = items(
        head_office()
            .get(&format!("/v1/purchase-orders?request_no={no}"))
            .await
            .expect("purchase orders"),
    );
    assert!(!pos.is_empty(), "{no}: no purchase order lists it");
    println!(
        "e2e: {no} (shortage, GZ03): {} after {} steps",
        r["status"],
        steps.len()
    );
}

/// A return asked 40 days after the purchase (the return window is 7): the policy recommends
/// rejecting, the reviewer rejects, and the rejection closes the request.
#[tokio::test]
async fn a_rejected_claim_closes_the_request() {
    shared();
    let (no, _) = NewRequest::new("BJ02", "return", "PWR-55-01")
        .submit()
        .await;
    let r = wait_status(&no, "closed", LIFETIME).await;
    let steps = timeline(&no).await;
    assert_steps(
        &no,
        &steps,
        &[
            "intake.request.submitted",
            "claims.claim.opened",
            "claims.claim.rejected",
            "intake.request.closed",
        ],
    );
    assert_ships_nothing(&no, &steps, "a rejected claim");
    println!(
        "e2e: {no} (rejected return, BJ02): {} ({})",
        r["status"], r["status_reason"]
    );
}

/// Cancelled while its parts are being bought (before anything ships): the request is
/// cancelled, the warehouse gives back what it held, the purchase order no longer carries it,
/// nothing is dispatched.
#[tokio::test]
async fn a_cancellation_before_dispatch_releases_everything() {
    shared();
    let req = NewRequest::new("SH01", "replacement", "RMT-01");
    let body = req.body();
    // Nobody acts on it: the test cancels it before a person would.
    let (no, _) = {
        let (no, t) = req.submit().await;
        hands_off(&no);
        (no, t)
    };
    let _ = body;
    until("the purchase order for it", LIFETIME, || {
        let no = no.clone();
        async move {
            timeline(&no)
                .await
                .iter()
                .any(|s| s == "procurement.po.issued")
                .then_some(())
        }
    })
    .await;
    let a = crate::harness::as_agent("SH01")
        .post(
            &format!("/v1/requests/{no}/cancel"),
            &serde_json::json!({ "reason": "the customer bought a new remote" }),
        )
        .await
        .expect("cancel");
    assert!(a.ok(), "cancel: {} {}", a.status, a.text);
    wait_status(&no, "cancelled", LIFETIME).await;
    until("the reservation given back", LIFETIME, || {
        let no = no.clone();
        async move {
            timeline(&no)
                .await
                .iter()
                .any(|s| s == "warehouse.reservation.released")
                .then_some(())
        }
    })
    .await;
    until("the purchase order without it", LIFETIME, || {
        let no = no.clone();
        async move {
            let a = head_office()
                .get(&format!(
                    "/v1/purchase-orders?request_no={no}&status=issued,partially_received"
                ))
                .await
                .ok()?;
            items(a).is_empty().then_some(())
        }
    })
    .await;
    let steps = timeline(&no).await;
    assert!(
        !steps.iter().any(|s| s == "logistics.shipment.dispatched"),
        "{no}: dispatched after its cancellation: {steps:?}"
    );
    let r = request(&no).await;
    println!(
        "e2e: {no} (cancelled before dispatch, SH01): {}",
        r["status"]
    );
}

/// A television returned within the 7-day window for the customer's own reasons, the people
/// played by the test: the reviewer asks for the original payment, the branch's agent gives
/// it, the reviewer approves (own reasons) → a door pick-up, completed by the simulated carrier
/// → the unit booked at the returns intake → inspected by the clerk with the remote missing →
/// the refund: the price paid less the remote's list price and the capped service fee, back to
/// the original payment → return visit → survey (the operator again) → closed.
#[tokio::test]
async fn a_return_picked_up_at_the_door_is_inspected_and_refunded_less_the_missing_remote_and_the_fee()
 {
    shared();
    let mut req = NewRequest::new("SH01", "return", "PWR-55-01");
    req.bought_days_ago = 3;
    let (no, _) = req.submit().await;
    hands_off(&no);
    let reviewer = at_head_office("e2e-reviewer", Role::Reviewer);
    let agent = as_agent("SH01");

    // The policy recommends approval but leaves it to a person: no payment on record.
    let claim = until("the claim pending", LIFETIME, || {
        let reviewer = reviewer.clone();
        let no = no.clone();
        async move {
            let c = reviewer.get(&format!("/v1/claims/{no}")).await.ok()?.json;
            (c["status"] == "pending").then_some(c)
        }
    })
    .await;
    assert_eq!(claim["recommendation"], "approve", "{claim}");
    let asked = reviewer
        .post(
            &format!("/v1/claims/{no}/decision"),
            &json!({"decision": "request_info", "missing": ["payment"],
                    "note": "how did the customer pay?", "expected_version": claim["version"]}),
        )
        .await
        .expect("request info")
        .expect(200, "ask for the payment");
    assert_eq!(asked["status"], "info_requested");
    let given = agent
        .post(
            &format!("/v1/claims/{no}/info"),
            &json!({"payment": {"method": "wallet", "reference": "WX-E2E-1",
                    "amount": {"currency": "CNY", "amount_minor": 399_900}}}),
        )
        .await
        .expect("provide info")
        .expect(200, "give the payment");
    assert_eq!(given["status"], "pending");
    let approved = reviewer
        .post(
            &format!("/v1/claims/{no}/decision"),
            &json!({"decision": "approve", "own_reasons": true,
                    "note": "the customer changed their mind", "expected_version": given["version"]}),
        )
        .await
        .expect("approve")
        .expect(200, "approve the return");
    assert_eq!(approved["own_reasons"], true);

    // Picked up at the door by the simulated carrier and booked at the returns intake.
    let clerk = at_head_office("e2e-returns-clerk", Role::Warehouse);
    let unit = until("the unit at the returns intake", LIFETIME, || {
        let clerk = clerk.clone();
        let no = no.clone();
        async move {
            let a = clerk
                .get(&format!("/v1/returns?request_no={no}"))
                .await
                .ok()?;
            items(a).into_iter().next()
        }
    })
    .await;
    assert_eq!(unit["status"], "received", "{unit}");
    let return_id = unit["return_id"].as_str().expect("return_id").to_owned();
    clerk
        .post(
            &format!("/v1/returns/{return_id}/inspection"),
            &json!({"accessories": [{"part_no": "RMT-01", "name": "remote control",
                    "expected": 1, "present": 0}],
                    "resaleable": true, "inspection_note": "remote control missing"}),
        )
        .await
        .expect("inspect")
        .expect(200, "inspect the returned unit");

    let refund = until("the refund", LIFETIME, || {
        let agent = agent.clone();
        let no = no.clone();
        async move {
            let a = agent.get(&format!("/v1/claims/{no}/refund")).await.ok()?;
            (a.status == 200).then_some(a.json)
        }
    })
    .await;
    let minor = |v: &serde_json::Value| v["amount_minor"].as_i64().unwrap_or(-1);
    let deductions = refund["deductions"].as_array().cloned().unwrap_or_default();
    let remote = deductions
        .iter()
        .find(|d| d["reason"] == "missing_accessory" && d["part_no"] == "RMT-01")
        .unwrap_or_else(|| panic!("{no}: no deduction for the remote: {refund}"));
    let fee = deductions
        .iter()
        .find(|d| d["reason"] == "service_fee")
        .unwrap_or_else(|| panic!("{no}: no service fee: {refund}"));
    assert_eq!(minor(&refund["gross"]), 399_900);
    assert!(minor(&remote["amount"]) > 0, "{refund}");
    // The demo policy's fee: 10 % of the price, capped.
    assert!(
        minor(&fee["amount"]) > 0 && minor(&fee["amount"]) <= 39_990,
        "{refund}"
    );
    assert_eq!(minor(&refund["service_fee"]), minor(&fee["amount"]));
    let total: i64 = deductions.iter().map(|d| minor(&d["amount"])).sum();
    assert_eq!(minor(&refund["amount"]), 399_900 - total, "{refund}");
    assert_eq!(refund["payment"]["reference"], "WX-E2E-1");

    // The people the operator plays take it from here: the return visit and the survey.
    hands_back(&no);
    let r = wait_status(&no, "closed", LIFETIME).await;
    let steps = timeline(&no).await;
    assert_steps(
        &no,
        &steps,
        &[
            "intake.request.submitted",
            "claims.claim.info_requested",
            "claims.claim.approved",
            "logistics.pickup.scheduled",
            "logistics.pickup.completed",
            "warehouse.return.inspected",
            "claims.refund.authorized",
            "feedback.visit.scheduled",
            "feedback.survey.recorded",
            "intake.request.closed",
        ],
    );
    assert_ships_nothing(&no, &steps, "a refunded return");
    println!(
        "e2e: {no} (return picked up and refunded, SH01): {}; refund {} of {} (remote {}, fee {})",
        r["status"],
        minor(&refund["amount"]),
        minor(&refund["gross"]),
        minor(&remote["amount"]),
        minor(&fee["amount"])
    );
}
