use aftersales_platform::auth::Role;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::decide_claim_request::Detail;
use aftersales_platform::proto::common::v1 as common;
use prost::Message;
use tonic::Code;

use crate::helpers::{in_warranty, needs_review, next_event, spawn_app};

fn approve(request_no: &str, version: u64) -> pb::DecideClaimRequest {
    pb::DecideClaimRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        request_no: request_no.into(),
        expected_version: version,
        decision: pb::Decision::Approve as i32,
        detail: Some(Detail::Approve(pb::Approve::default())),
        note: "customer agreed to pay".into(),
    }
}

fn reject(request_no: &str, version: u64) -> pb::DecideClaimRequest {
    pb::DecideClaimRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        request_no: request_no.into(),
        expected_version: version,
        decision: pb::Decision::Reject as i32,
        detail: Some(Detail::Reject(pb::Reject {
            reason_code: pb::RejectReason::PaidServiceDeclined as i32,
        })),
        note: "customer declined paid service".into(),
    }
}

#[tokio::test]
async fn two_reviewers_deciding_at_once_give_one_success_and_one_aborted_and_nothing_half_written()
{
    let app = spawn_app().await;
    for _round in 0..5 {
        let r = needs_review("SH01");
        let c = app.submit(&r).await;
        let (mut a, mut b) = (app.reviewer("anna").await, app.reviewer("bo").await);
        let (ra, rb) = tokio::join!(
            a.decide_claim(approve(&r.request_no, c.version)),
            b.decide_claim(reject(&r.request_no, c.version)),
        );
        let (ok, err): (Vec<_>, Vec<_>) = [ra, rb].into_iter().partition(|x| x.is_ok());
        assert_eq!(ok.len(), 1, "exactly one decision wins");
        assert_eq!(err[0].as_ref().unwrap_err().code(), Code::Aborted);
        let winner = ok
            .into_iter()
            .next()
            .unwrap()
            .unwrap()
            .into_inner()
            .claim
            .unwrap();
        assert_eq!(winner.version, c.version + 1);
        let stored = app.wait_claim(&r.request_no, |_| true).await;
        assert_eq!(stored.status, winner.status);
        let decided = app
            .count(&format!(
                "SELECT count(*)::bigint FROM outbox WHERE subject = '{}' AND routing_key IN ('claims.claim.approved', 'claims.claim.rejected')",
                r.request_no
            ))
            .await;
        assert_eq!(decided, 1, "one decision event, none from the loser");
        let commands = app
            .count(&format!(
                "SELECT count(*)::bigint FROM claim_commands WHERE request_no = '{}'",
                r.request_no
            ))
            .await;
        assert_eq!(
            commands, 1,
            "the loser's idempotency key rolled back with it"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_reviewer_approval_announces_the_paid_lines_and_a_retry_with_the_same_key_changes_nothing()
 {
    let app = spawn_app().await;
    let mut events = app.subscribe("claims.claim.approved").await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;
    let mut reviewer = app.reviewer("rita").await;

    let cmd = approve(&r.request_no, c.version);
    let first = reviewer
        .decide_claim(cmd.clone())
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    let again = reviewer
        .decide_claim(cmd)
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();

    assert_eq!(first.status, pb::ClaimStatus::Approved as i32);
    assert_eq!(first.decided_by, "rita");
    assert_eq!(again.version, first.version);
    let env = next_event(&mut events, "claims.claim.approved", &r.request_no).await;
    let approved = pb::ClaimApproved::decode(env.payload.as_slice()).unwrap();
    assert!(!approved.auto_approved);
    assert_eq!(approved.approved_by, "rita");
    assert_eq!(approved.coverage, common::Coverage::Paid as i32);
    assert_eq!(approved.total_fee.unwrap().amount_minor, 45000);
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
async fn deciding_a_claim_that_is_no_longer_pending_fails_its_precondition() {
    let app = spawn_app().await;
    let r = in_warranty("SH01");
    app.submit(&r).await;
    let c = app
        .wait_claim(&r.request_no, |c| {
            c.status == pb::ClaimStatus::Approved as i32
        })
        .await;
    assert!(c.version >= 2);
    let mut reviewer = app.reviewer("rita").await;
    let err = reviewer
        .decide_claim(reject(&r.request_no, c.version))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let stale = reviewer
        .decide_claim(reject(&r.request_no, 1))
        .await
        .unwrap_err();
    assert_eq!(
        stale.code(),
        Code::Aborted,
        "a stale version is a lost race"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_for_information_pauses_the_deadline_and_the_answer_resumes_it() {
    let app = spawn_app().await;
    let mut events = app.subscribe("claims.claim.info_requested").await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;
    let mut reviewer = app.reviewer("rita").await;

    let asked = reviewer
        .decide_claim(pb::DecideClaimRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request_no: r.request_no.clone(),
            expected_version: c.version,
            decision: pb::Decision::RequestInfo as i32,
            detail: Some(Detail::RequestInfo(pb::RequestInfo {
                missing: vec![pb::MissingInfo::Photos as i32],
            })),
            note: "a photo of the damaged board".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(asked.status, pb::ClaimStatus::InfoRequested as i32);
    assert!(asked.due_at.is_none(), "the deadline is paused");
    let env = next_event(&mut events, "claims.claim.info_requested", &r.request_no).await;
    let info = pb::ClaimInfoRequested::decode(env.payload.as_slice()).unwrap();
    assert_eq!(info.missing, vec![pb::MissingInfo::Photos as i32]);

    // Deciding while waiting for the branch is the wrong state.
    let err = reviewer
        .decide_claim(approve(&r.request_no, asked.version))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let mut agent = app.as_role("SH01", Role::BranchAgent).await;
    let answer = pb::ProvideInfoRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        request_no: r.request_no.clone(),
        photos: vec!["https://photos.example/board.jpg".into()],
        ..Default::default()
    };
    let back = agent
        .provide_info(answer.clone())
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(back.status, pb::ClaimStatus::Pending as i32);
    assert!(back.due_at.is_some(), "the deadline resumes");
    assert_eq!(back.photos.len(), 2);
    let mut second = answer;
    second.idempotency_key = uuid::Uuid::new_v4().to_string();
    let err = agent.provide_info(second).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "nothing was asked any more"
    );
    app.stop().await;
}

#[tokio::test]
async fn only_reviewers_decide_and_another_branch_sees_no_claim() {
    let app = spawn_app().await;
    let r = needs_review("SH01");
    let c = app.submit(&r).await;

    let mut agent = app.as_role("SH01", Role::BranchAgent).await;
    let err = agent
        .decide_claim(approve(&r.request_no, c.version))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let mut other = app.as_role("BJ02", Role::Reviewer).await;
    let err = other
        .get_claim(pb::GetClaimRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let list = other
        .list_claims(pb::ListClaimsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(list.claims.is_empty());
    let mut own = app.as_role("SH01", Role::BranchAgent).await;
    let seen = own
        .get_claim(pb::GetClaimRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap();
    assert_eq!(seen.into_inner().claim.unwrap().request_no, r.request_no);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_decision_names_every_bad_field() {
    let app = spawn_app().await;
    let mut reviewer = app.reviewer("rita").await;
    let err = reviewer
        .decide_claim(pb::DecideClaimRequest {
            idempotency_key: String::new(),
            request_no: "nonsense".into(),
            expected_version: 0,
            decision: pb::Decision::Reject as i32,
            detail: Some(Detail::Reject(pb::Reject { reason_code: 0 })),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = aftersales_platform::grpc::violations(&err)
        .into_iter()
        .map(|v| v.field)
        .collect();
    for f in [
        "idempotency_key",
        "request_no",
        "expected_version",
        "reject.reason_code",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    app.stop().await;
}
