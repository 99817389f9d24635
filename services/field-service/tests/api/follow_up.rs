//! An unsolved survey opens a follow-up work order for the request (once per survey), copying
//! the job that did not solve it; a solved one, an old-style survey with nothing saying it is
//! unsolved, or a cancelled request opens nothing.

use aftersales_platform::proto::feedback::v1 as feedback;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;

use crate::helpers::{cancellation, request_no, spawn_app};

fn survey(no: &str, id: &str, resolved: bool, previous: &str) -> feedback::SurveyRecorded {
    feedback::SurveyRecorded {
        request_no: no.into(),
        branch: "SH01".into(),
        survey_id: id.into(),
        comment: "still no picture after an hour".into(),
        resolved,
        complaint_id: if resolved {
            String::new()
        } else {
            format!("CMP-{id}")
        },
        follow_up: (!resolved).then(|| feedback::FollowUp {
            previous_work_order_no: previous.into(),
            complaint_id: format!("CMP-{id}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_unsolved_survey_opens_one_follow_up_copying_the_job_that_did_not_solve_it() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let first = app.open(1, "SN-FU-1").await;
    app.repair_on_site(&first.work_order_no, "T-SH01-001", 0, 9)
        .await;
    app.finish(&first.work_order_no, "T-SH01-001").await;
    let no = first.request_no.clone();

    let unsolved = survey(&no, "SV-1", false, &first.work_order_no);
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "feedback", &no, &unsolved).await;
    app.publish_with_id(&id, "feedback", &no, &unsolved).await;
    app.publish("feedback", &no, &unsolved).await;
    app.publish("feedback", &no, &survey(&no, "SV-2", true, ""))
        .await;
    // A survey of a feedback that predates `resolved`: nothing says it is unsolved.
    app.publish(
        "feedback",
        &no,
        &feedback::SurveyRecorded {
            request_no: no.clone(),
            branch: "SH01".into(),
            survey_id: "SV-3".into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_count("SELECT count(*)::bigint FROM processed_events", 4)
        .await;

    let orders = app
        .dispatcher()
        .list_work_orders(pb::ListWorkOrdersRequest {
            request_no: no.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_orders;
    assert_eq!(orders.len(), 2, "the job and one follow-up");
    let follow = &orders[0];
    assert_eq!(follow.follow_up_of, first.work_order_no);
    assert_eq!(follow.status, S::New as i32);
    assert_eq!(follow.service_category, pb::ServiceCategory::Free as i32);
    assert_eq!(follow.product.as_ref().unwrap().serial, "SN-FU-1");
    assert_eq!(follow.customer.as_ref().unwrap().name, "Li Wei");
    assert!(
        follow.fault_description.contains("still no picture"),
        "{}",
        follow.fault_description
    );
    assert!(follow.arrival_due_at.is_some());
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_request_gets_no_follow_up() {
    let app = spawn_app().await;
    let first = app.open(2, "SN-FU-2").await;
    let no = request_no(2);
    app.publish("intake", &no, &cancellation(&no)).await;
    // The cancellation handled first: the survey coming after it opens nothing.
    app.wait_count("SELECT count(*)::bigint FROM cancelled_requests", 1)
        .await;
    app.publish(
        "feedback",
        &no,
        &survey(&no, "SV-9", false, &first.work_order_no),
    )
    .await;
    app.wait_count("SELECT count(*)::bigint FROM processed_events", 2)
        .await;

    assert_eq!(
        app.count("SELECT count(*)::bigint FROM work_orders").await,
        1
    );
    assert_eq!(
        app.get(&first.work_order_no).await.status,
        S::Cancelled as i32
    );
    app.stop().await;
}
