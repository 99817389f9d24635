use aftersales_platform::proto::claims::v1 as pb;
use claims_review::domain::Policy;
use claims_review::domain::policy::LapseAction;
use prost::Message;

use crate::helpers::{needs_review, next_event, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_claim_past_its_deadline_is_announced_once_and_escalated() {
    let app = spawn_app().await;
    let mut events = app.subscribe("claims.claim.sla_breached").await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;
    let due = chrono::DateTime::from_timestamp(c.due_at.unwrap().seconds, 0).unwrap();

    assert_eq!(
        app.claims
            .scan_deadlines(due - chrono::Duration::minutes(1))
            .await
            .unwrap(),
        0
    );
    let later = due + chrono::Duration::days(3);
    assert_eq!(app.claims.scan_deadlines(later).await.unwrap(), 1);
    assert_eq!(
        app.claims.scan_deadlines(later).await.unwrap(),
        0,
        "once per breach"
    );

    let env = next_event(&mut events, "claims.claim.sla_breached", &r.request_no).await;
    let breach = pb::ClaimSlaBreached::decode(env.payload.as_slice()).unwrap();
    assert_eq!(breach.action, pb::SlaAction::Escalated as i32);
    assert_eq!(breach.status, pb::ClaimStatus::Pending as i32);
    let claim = app.wait_claim(&r.request_no, |c| c.escalated).await;
    assert_eq!(claim.status, pb::ClaimStatus::Pending as i32);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.sla_breached'"
        )
        .await,
        1
    );
    let mut reviewer = app.reviewer("lead").await;
    let escalated = reviewer
        .list_claims(pb::ListClaimsRequest {
            escalated_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(escalated.claims.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn under_the_marketplace_rule_a_lapsed_claim_is_approved_for_the_silent_seller() {
    let mut policy = Policy::demo().unwrap();
    policy.on_deadline = LapseAction::AutoApprove;
    let app = spawn_app_with(policy).await;
    let mut events = app.subscribe("claims.claim.*").await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;
    let due = chrono::DateTime::from_timestamp(c.due_at.unwrap().seconds, 0).unwrap();

    assert_eq!(
        app.claims
            .scan_deadlines(due + chrono::Duration::hours(48))
            .await
            .unwrap(),
        1
    );

    let env = next_event(&mut events, "claims.claim.sla_breached", &r.request_no).await;
    let breach = pb::ClaimSlaBreached::decode(env.payload.as_slice()).unwrap();
    assert_eq!(breach.action, pb::SlaAction::AutoApproved as i32);
    let env = next_event(&mut events, "claims.claim.approved", &r.request_no).await;
    let approved = pb::ClaimApproved::decode(env.payload.as_slice()).unwrap();
    assert!(approved.auto_approved);
    let claim = app.wait_claim(&r.request_no, |_| true).await;
    assert_eq!(claim.status, pb::ClaimStatus::Approved as i32);
    app.stop().await;
}
