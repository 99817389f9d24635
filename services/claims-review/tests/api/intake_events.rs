use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use prost::Message;

use crate::helpers::{in_warranty, needs_review, next_event, spawn_app};

#[tokio::test]
async fn a_submitted_request_in_warranty_opens_a_claim_that_the_policy_approves_with_everything_consumers_need()
 {
    let app = spawn_app().await;
    let mut events = app.subscribe("claims.#").await;
    let r = in_warranty("SH01");

    app.publish(
        &r.request_no,
        "SH01",
        &intake::RequestSubmitted {
            request: Some(r.clone()),
        },
    )
    .await;

    let opened = next_event(&mut events, "claims.claim.opened", &r.request_no).await;
    let opened = pb::ClaimOpened::decode(opened.payload.as_slice()).unwrap();
    assert_eq!(opened.lines[0].coverage, common::Coverage::Free as i32);
    let env = next_event(&mut events, "claims.claim.approved", &r.request_no).await;
    assert_eq!(env.branch, "SH01");
    let approved = pb::ClaimApproved::decode(env.payload.as_slice()).unwrap();
    assert!(approved.auto_approved);
    assert_eq!(approved.coverage, common::Coverage::Free as i32);
    assert_eq!(approved.lines.len(), 1);
    assert_eq!(approved.lines[0].part_no, "PWR-55-01");
    assert_eq!(approved.lines[0].rule, "unit_window");
    assert_eq!(
        approved.ship_to.as_ref().unwrap().address,
        "88 Century Avenue, Pudong, Shanghai"
    );
    assert_eq!(approved.region, common::Region::Urban as i32);
    assert_eq!(approved.product.as_ref().unwrap().serial, "SN12345678");
    assert!(!approved.onsite_required, "a power board is shipped");
    assert!(!approved.pickup_required);
    assert_eq!(approved.policy_version, "demo-2026-11-22.1");

    let claim = app.wait_claim(&r.request_no, |_| true).await;
    assert_eq!(claim.status, pb::ClaimStatus::Approved as i32);
    assert!(claim.auto_decided);
    assert_eq!(claim.version, 2);
    assert_eq!(claim.lines[0].coverage, common::Coverage::Free as i32);
    assert_eq!(
        claim.window.as_ref().unwrap().start,
        pb::WarrantyStart::InvoiceDate as i32
    );
    let last = claim.explanation.last().unwrap();
    assert!(last.contains("Decided by rule unit_window"), "{last}");
    assert!(claim.due_at.is_none(), "a decided claim has no deadline");
    app.stop().await;
}

#[tokio::test]
async fn the_same_event_delivered_twice_opens_one_claim() {
    let app = spawn_app().await;
    let mut events = app.subscribe("claims.claim.approved").await;
    let r = in_warranty("SH01");
    let payload = intake::RequestSubmitted {
        request: Some(r.clone()),
    };
    let id = uuid::Uuid::now_v7().to_string();

    app.publish_with_id(&id, &r.request_no, "SH01", &payload)
        .await;
    app.publish_with_id(&id, &r.request_no, "SH01", &payload)
        .await;
    // And once more under another id, as a re-sent event would be.
    app.publish(&r.request_no, "SH01", &payload).await;

    next_event(&mut events, "claims.claim.approved", &r.request_no).await;
    // All three deliveries are processed (recorded) before we count.
    aftersales_platform::testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count("SELECT count(*)::bigint FROM processed_events")
            .await
            == 2)
            .then_some(())
    })
    .await
    .expect("both distinct event ids processed");
    assert_eq!(app.count("SELECT count(*)::bigint FROM claims").await, 1);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.opened'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.approved'"
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_the_policy_cannot_decide_waits_in_the_queue_soonest_due_first() {
    let app = spawn_app().await;
    let first = needs_review("SH01");
    let second = needs_review("SH01");

    let c1 = app.submit(&first).await;
    let c2 = app.submit(&second).await;

    for c in [&c1, &c2] {
        assert_eq!(c.status, pb::ClaimStatus::Pending as i32);
        assert_eq!(c.recommendation, pb::Recommendation::Review as i32);
        assert_eq!(c.lines[0].coverage, common::Coverage::Paid as i32);
        assert_eq!(c.lines[0].fee.as_ref().unwrap().amount_minor, 45000);
        assert!(c.due_at.is_some());
        assert!(
            c.explanation
                .last()
                .unwrap()
                .contains("Decided by rule misuse")
        );
    }
    let mut reviewer = app.reviewer("rita").await;
    let queue = reviewer
        .list_claims(pb::ListClaimsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let order: Vec<_> = queue.claims.iter().map(|c| c.request_no.clone()).collect();
    assert_eq!(
        order,
        vec![first.request_no.clone(), second.request_no.clone()]
    );

    let page = reviewer
        .list_claims(pb::ListClaimsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.claims.len(), 1);
    let rest = reviewer
        .list_claims(pb::ListClaimsRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.claims[0].request_no, second.request_no);
    assert!(rest.next_page_token.is_empty());
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.approved'"
        )
        .await,
        0
    );
    app.stop().await;
}

fn cancelled(r: &intake::ServiceRequest) -> intake::RequestCancelled {
    intake::RequestCancelled {
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        reason: "customer changed their mind".into(),
        cancelled_by: "agent-SH01".into(),
        previous_status: intake::RequestStatus::UnderReview as i32,
    }
}

#[tokio::test]
async fn a_cancelled_request_closes_its_claim_undecided_or_approved_and_keeps_a_rejected_one() {
    let app = spawn_app().await;
    let open = needs_review("SH01");
    let approved = in_warranty("SH01");
    let rejected = needs_review("SH01");
    app.submit(&open).await;
    app.submit(&approved).await;
    app.wait_claim(&approved.request_no, |c| {
        c.status == pb::ClaimStatus::Approved as i32
    })
    .await;
    let c = app.submit(&rejected).await;
    app.reviewer("rita")
        .await
        .decide_claim(pb::DecideClaimRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request_no: rejected.request_no.clone(),
            expected_version: c.version,
            decision: pb::Decision::Reject as i32,
            detail: Some(pb::decide_claim_request::Detail::Reject(pb::Reject {
                reason_code: pb::RejectReason::PaidServiceDeclined as i32,
            })),
            note: "customer declined paid service".into(),
        })
        .await
        .unwrap();
    let staged_before = app.count("SELECT count(*)::bigint FROM outbox").await;

    for r in [&open, &approved, &rejected] {
        app.publish(&r.request_no, "SH01", &cancelled(r)).await;
    }

    aftersales_platform::testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count("SELECT count(*)::bigint FROM processed_events WHERE routing_key = 'intake.request.cancelled'").await == 3)
            .then_some(())
    })
    .await
    .expect("the three cancellations processed");
    for r in [&open, &approved] {
        let closed = app.wait_claim(&r.request_no, |_| true).await;
        assert_eq!(
            closed.status,
            pb::ClaimStatus::Cancelled as i32,
            "{}",
            r.request_no
        );
        assert!(closed.due_at.is_none(), "a cancelled claim has no deadline");
        assert!(closed.note.contains("customer changed their mind"));
    }
    let was_approved = app.wait_claim(&approved.request_no, |_| true).await;
    assert!(
        was_approved.auto_decided && was_approved.decided_at.is_some(),
        "the approval stays on record"
    );
    let kept = app.wait_claim(&rejected.request_no, |_| true).await;
    assert_eq!(kept.status, pb::ClaimStatus::Rejected as i32);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox").await,
        staged_before,
        "a cancellation announces nothing: every department acting on a claim hears intake's event"
    );
    let mut reviewer = app.reviewer("rita").await;
    let queue = reviewer
        .list_claims(pb::ListClaimsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(queue.claims.is_empty(), "the open queue is empty");
    app.stop().await;
}

#[tokio::test]
async fn a_cancellation_that_overtakes_the_submission_leaves_nothing_to_approve() {
    let app = spawn_app().await;
    let r = in_warranty("SH01");

    app.publish(&r.request_no, "SH01", &cancelled(&r)).await;
    app.wait_claim(&r.request_no, |c| {
        c.status == pb::ClaimStatus::Cancelled as i32
    })
    .await;
    app.publish(
        &r.request_no,
        "SH01",
        &intake::RequestSubmitted {
            request: Some(r.clone()),
        },
    )
    .await;

    aftersales_platform::testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count("SELECT count(*)::bigint FROM processed_events")
            .await
            == 2)
            .then_some(())
    })
    .await
    .expect("both events processed");
    let c = app.wait_claim(&r.request_no, |_| true).await;
    assert_eq!(c.status, pb::ClaimStatus::Cancelled as i32);
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 0);
    app.stop().await;
}
