//! Every RPC verifies its caller: no token, a role that may not, another branch's data.

use aftersales_platform::auth::Role;
use aftersales_platform::proto::feedback::v1 as pb;

use crate::helpers::{clock_at, key, local, spawn_at};

#[tokio::test]
async fn callers_without_a_token_or_the_role_are_refused_and_only_admin_rebuilds_the_read_model() {
    let app = spawn_at(clock_at(local(2026, 11, 20, 10, 0))).await;
    let mut anonymous = app.client_with("not-a-token").await;
    let mut technician = app.as_role("SH01", Role::Technician).await;
    let mut agent = app.agent("SH01").await;
    let mut analyst = app.analyst("*").await;

    let unauthenticated = anonymous
        .list_due_visits(pb::ListDueVisitsRequest::default())
        .await
        .unwrap_err();
    let technician_survey = technician
        .record_survey(pb::RecordSurveyRequest {
            idempotency_key: key(),
            visit_id: "V-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let agent_kpis = agent
        .get_kpis(pb::GetKpisRequest::default())
        .await
        .unwrap_err();
    let analyst_rebuild = analyst
        .rebuild_read_model(pb::RebuildReadModelRequest {})
        .await
        .unwrap_err();
    let analyst_complaint = analyst
        .open_complaint(pb::OpenComplaintRequest {
            idempotency_key: key(),
            branch: "SH01".into(),
            category: pb::ComplaintCategory::Other as i32,
            severity: pb::Severity::Minor as i32,
            description: "x".into(),
            source: "web".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let other_branch = agent
        .open_complaint(pb::OpenComplaintRequest {
            idempotency_key: key(),
            branch: "BJ02".into(),
            category: pb::ComplaintCategory::Other as i32,
            severity: pb::Severity::Minor as i32,
            description: "x".into(),
            source: "web".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let rebuilt = app
        .admin()
        .await
        .rebuild_read_model(pb::RebuildReadModelRequest {})
        .await;

    assert_eq!(unauthenticated.code(), tonic::Code::Unauthenticated);
    assert_eq!(technician_survey.code(), tonic::Code::PermissionDenied);
    assert_eq!(agent_kpis.code(), tonic::Code::PermissionDenied);
    assert_eq!(analyst_rebuild.code(), tonic::Code::PermissionDenied);
    assert_eq!(analyst_complaint.code(), tonic::Code::PermissionDenied);
    assert_eq!(other_branch.code(), tonic::Code::InvalidArgument);
    assert!(rebuilt.is_ok());
    app.stop().await;
}
