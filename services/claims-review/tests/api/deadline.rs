use aftersales_platform::proto::claims::v1 as pb;
use claims_review::domain::Policy;
use claims_review::domain::policy::LapseAction;
use prost::Message;

use crate::helpers::{builder, manual_clock, needs_review, next_event, wrap};

const BREACHES: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.sla_breached'";

#[tokio::test]
async fn a_claim_past_its_deadline_is_announced_once_and_escalated() {
    let app = wrap(builder(None).clock(manual_clock()).start().await);
    let mut events = app.subscribe("claims.claim.sla_breached").await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;
    let due = chrono::DateTime::from_timestamp(c.due_at.unwrap().seconds, 0).unwrap();

    // A minute before the deadline nothing is due.
    app.clock().set(due - chrono::Duration::minutes(1));
    app.scan().await;
    assert_eq!(app.count(BREACHES).await, 0);

    // Three days after it, the breach is announced; scanning again announces nothing more.
    app.clock().set(due + chrono::Duration::days(3));
    app.scan().await;
    app.scan().await;

    let env = next_event(&mut events, "claims.claim.sla_breached", &r.request_no).await;
    let breach = pb::ClaimSlaBreached::decode(env.payload.as_slice()).unwrap();
    assert_eq!(breach.action, pb::SlaAction::Escalated as i32);
    assert_eq!(breach.status, pb::ClaimStatus::Pending as i32);
    assert_eq!(
        breach.breached_at.unwrap().seconds,
        (due + chrono::Duration::days(3)).timestamp(),
        "the breach is dated by the service's clock"
    );
    let claim = app.wait_claim(&r.request_no, |c| c.escalated).await;
    assert_eq!(claim.status, pb::ClaimStatus::Pending as i32);
    assert_eq!(app.count(BREACHES).await, 1, "once per breach");
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
    let app = wrap(builder(Some(policy)).clock(manual_clock()).start().await);
    let mut events = app.subscribe("claims.claim.*").await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;
    let due = chrono::DateTime::from_timestamp(c.due_at.unwrap().seconds, 0).unwrap();

    app.clock().set(due + chrono::Duration::hours(48));
    app.scan().await;

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
