//! Through the real intake on the same broker: a request delivered (no on-site work) and one
//! repaired on site are each visited and surveyed, and intake closes them, every step on the
//! request's timeline.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::proto::intake::v1 as intake_pb;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::testing::{self, TestService};

use crate::helpers::{approved, completed, delivered, spawn_app, survey};

type IntakeClient = IntakeServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, ClientInterceptor>,
>;

async fn intake_client(svc: &TestService<intake::app::App>) -> IntakeClient {
    let channel =
        aftersales_platform::grpc::channel(&svc.grpc_url(), Duration::from_secs(30)).unwrap();
    IntakeServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(&testing::token("agent-SH01", "SH01", &[Role::BranchAgent]))
            .unwrap(),
    )
}

async fn wait_status(client: &IntakeClient, no: &str, status: intake_pb::RequestStatus) {
    testing::eventually(Duration::from_secs(30), || {
        let mut c = client.clone();
        async move {
            let r = c
                .get_request(intake_pb::GetRequestRequest {
                    request_no: no.into(),
                })
                .await
                .ok()?
                .into_inner()
                .request?;
            (r.status == status as i32).then_some(())
        }
    })
    .await
    .unwrap_or_else(|| panic!("{no} never reached {status:?}"));
}

#[tokio::test]
async fn a_delivered_and_a_repaired_request_are_visited_surveyed_and_closed_at_intake_with_each_step_on_the_timeline()
 {
    // Arrange: feedback and the real intake on one broker.
    let fb = spawn_app().await;
    let intake = TestService::<intake::app::App>::builder()
        .bus(&fb.svc.bus)
        .start()
        .await;
    let mut client = intake_client(&intake).await;
    let mut agent = fb.agent("SH01").await;
    let now = chrono::Utc::now();
    let mut requests = Vec::new();
    for _ in 0..2 {
        let r = client
            .submit_request(testing::demo::submission("SH01"))
            .await
            .unwrap()
            .into_inner()
            .request
            .unwrap();
        requests.push(r.request_no);
    }
    let (shipped, repaired) = (&requests[0], &requests[1]);

    // Act: the claim is approved, the parts delivered (no technician for the first), the second
    // repaired on site; feedback's visits are made and the agent records each survey.
    for no in [shipped, repaired] {
        fb.publish(no, "SH01", &approved(no, "SH01", &["PWR-55-01"], now))
            .await;
    }
    fb.publish(
        shipped,
        "SH01",
        &delivered(shipped, "SH01", "SHP-1", false, now),
    )
    .await;
    fb.publish(
        repaired,
        "SH01",
        &delivered(repaired, "SH01", "SHP-2", true, now),
    )
    .await;
    fb.publish(
        repaired,
        "SH01",
        &completed(repaired, "SH01", "WO-1", "tech-1", now),
    )
    .await;
    let mut visits = Vec::new();
    for no in [shipped, repaired] {
        let v = fb.wait_visit(no).await;
        let mut s = survey(&v.visit_id, pb::Rating::VerySatisfied, true);
        if v.source == pb::VisitSource::ShipmentDelivered as i32 {
            // Nobody came: skill and arrival are not rated.
            s.technical_skill = 0;
            s.arrival_time = 0;
        }
        let done = agent.record_survey(s).await.unwrap().into_inner();
        assert!(
            done.complaint.is_none(),
            "a solved, satisfied survey opens no complaint"
        );
        visits.push(v);
    }

    // Assert: each request is closed at intake, its timeline showing every step.
    for no in [shipped, repaired] {
        wait_status(&client, no, intake_pb::RequestStatus::Closed).await;
        let timeline = client
            .get_timeline(intake_pb::GetTimelineRequest {
                request_no: no.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let types: Vec<&str> = timeline.entries.iter().map(|e| e.r#type.as_str()).collect();
        for step in [
            "claims.claim.approved",
            "logistics.shipment.delivered",
            "feedback.visit.scheduled",
            "feedback.survey.recorded",
        ] {
            assert!(types.contains(&step), "{no}: {step} missing from {types:?}");
        }
        let scheduled = types.iter().position(|t| *t == "feedback.visit.scheduled");
        let surveyed = types.iter().position(|t| *t == "feedback.survey.recorded");
        assert!(scheduled < surveyed, "{types:?}");
    }
    assert_eq!(visits[0].source, pb::VisitSource::ShipmentDelivered as i32);
    assert_eq!(visits[1].source, pb::VisitSource::WorkOrderCompleted as i32);
    assert_eq!(
        fb.visits_of(repaired).await.len(),
        1,
        "the repaired request is visited for its job, not for the parts' delivery"
    );
    intake.stop().await;
    fb.stop().await;
}
