//! Each department's part of a customer's request, end to end through the gateway.

use std::time::Duration;

use crate::harness::{
    NewRequest, hands_off, head_office, items, request, shared, timeline, until, wait_status,
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
    for never in [
        "warehouse.reservation.confirmed",
        "logistics.shipment.planned",
    ] {
        assert!(
            !steps.iter().any(|s| s == never),
            "{no}: {never} after a rejection"
        );
    }
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
