//! The survey: a solved problem ends the request's life; an unsolved one keeps it open, opens a
//! complaint and carries what field-service needs for a follow-up work order.

use aftersales_platform::proto::feedback::v1 as pb;
use prost::Message;

use crate::helpers::{
    approved, bad_fields, cancelled, clock_at, completed, local, next_event, request_no, spawn_at,
    submitted, survey,
};

#[tokio::test]
async fn an_unsolved_survey_keeps_the_request_open_opens_a_complaint_and_carries_the_follow_up_work_order()
 {
    // Arrange: a request repaired on site by tech-7, visited on Monday.
    let app = spawn_at(clock_at(local(2026, 11, 23, 10, 0))).await;
    let mut events = app.subscribe("feedback.#").await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &submitted(&no, "SH01", local(2026, 11, 16, 10, 0)),
    )
    .await;
    app.publish(
        &no,
        "SH01",
        &approved(&no, "SH01", &["PWR-55-01"], local(2026, 11, 16, 11, 0)),
    )
    .await;
    let mut job = completed(&no, "SH01", "WO-1", "tech-7", local(2026, 11, 20, 10, 0));
    job.parts_used[0].quantity = 2;
    app.publish(&no, "SH01", &job).await;
    let v = app.wait_visit(&no).await;
    app.wait_processed(3).await;

    // Act: the customer says the picture still flickers.
    let mut s = survey(&v.visit_id, pb::Rating::Dissatisfied, false);
    s.attitude = pb::Rating::Satisfied as i32;
    s.comment = "picture still flickers".into();
    let r = app
        .agent("SH01")
        .await
        .record_survey(s)
        .await
        .unwrap()
        .into_inner();

    // Assert: the survey is not resolved and names its complaint, routed to quality / R&D with
    // the policy's default severity.
    let survey = r.survey.unwrap();
    let complaint = r.complaint.expect("an unsolved problem opens a complaint");
    assert!(!survey.resolved && !survey.satisfied);
    assert_eq!(survey.complaint_id, complaint.complaint_id);
    assert_eq!(complaint.source, "survey");
    assert_eq!(
        complaint.category,
        pb::ComplaintCategory::ProductQuality as i32
    );
    assert_eq!(complaint.routed_to, pb::Department::QualityRnd as i32);
    assert_eq!(complaint.severity, pb::Severity::Major as i32);
    assert_eq!(complaint.technician_id, "tech-7");
    assert_eq!(r.visit.unwrap().status, pb::VisitStatus::Done as i32);
    // The event intake and field-service read: not resolved, with the follow-up.
    let opened = next_event(&mut events, "feedback.complaint.opened", &no).await;
    let opened = pb::ComplaintOpened::decode(opened.payload.as_slice()).unwrap();
    assert_eq!(opened.complaint_id, complaint.complaint_id);
    let env = next_event(&mut events, "feedback.survey.recorded", &no).await;
    let e = pb::SurveyRecorded::decode(env.payload.as_slice()).unwrap();
    assert!(!e.resolved, "intake keeps the request open");
    assert_eq!(e.complaint_id, complaint.complaint_id);
    let f = e.follow_up.expect("what the follow-up work order needs");
    assert_eq!(f.previous_work_order_no, "WO-1");
    assert_eq!(f.previous_technician_id, "tech-7");
    assert_eq!(f.fault_description, "picture still flickers");
    assert_eq!(f.complaint_id, complaint.complaint_id);
    assert_eq!(f.customer.unwrap().name, "Li Wei");
    assert_eq!(
        f.site.unwrap().address,
        "88 Century Avenue, Pudong, Shanghai"
    );
    assert_eq!(f.product.unwrap().model, "X55");
    assert_eq!(
        f.previous_parts
            .iter()
            .map(|p| (p.part_no.as_str(), p.quantity))
            .collect::<Vec<_>>(),
        [("PWR-55-01", 2)]
    );
    // The quality department finds the survey and the complaint under the model.
    let archive = app
        .analyst("*")
        .await
        .get_quality_archive(pb::GetQualityArchiveRequest {
            product_model: "X55".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<&str> = archive.records.iter().map(|r| r.r#type.as_str()).collect();
    for k in [
        "feedback.survey.recorded",
        "feedback.complaint.opened",
        "fieldservice.workorder.completed",
    ] {
        assert!(kinds.contains(&k), "{k} not in {kinds:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_survey_is_recorded_once_and_a_second_one_for_the_same_visit_is_refused() {
    let app = spawn_at(clock_at(local(2026, 11, 23, 10, 0))).await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &completed(&no, "SH01", "WO-1", "tech-1", local(2026, 11, 20, 10, 0)),
    )
    .await;
    let v = app.wait_visit(&no).await;
    let mut agent = app.agent("SH01").await;
    let s = survey(&v.visit_id, pb::Rating::VerySatisfied, true);

    let first = agent.record_survey(s.clone()).await.unwrap().into_inner();
    let replay = agent.record_survey(s).await.unwrap().into_inner();
    let again = agent
        .record_survey(survey(&v.visit_id, pb::Rating::VerySatisfied, true))
        .await
        .unwrap_err();

    assert_eq!(
        first.survey, replay.survey,
        "the same key answers the same survey"
    );
    assert!(first.complaint.is_none());
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    assert_eq!(app.count("SELECT count(*)::bigint FROM surveys").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_requests_visit_takes_no_survey() {
    let app = spawn_at(clock_at(local(2026, 11, 23, 10, 0))).await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &completed(&no, "SH01", "WO-1", "tech-1", local(2026, 11, 20, 10, 0)),
    )
    .await;
    let v = app.wait_visit(&no).await;
    app.publish(&no, "SH01", &cancelled(&no, "SH01")).await;
    app.wait_processed(2).await;

    let refused = app
        .agent("SH01")
        .await
        .record_survey(survey(&v.visit_id, pb::Rating::VerySatisfied, true))
        .await
        .unwrap_err();

    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        app.visits_of(&no).await[0].status,
        pb::VisitStatus::Cancelled as i32
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM surveys").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_rating_outside_the_four_levels_or_a_missing_answer_is_invalid_naming_the_field_and_nothing_is_written()
 {
    let app = spawn_at(clock_at(local(2026, 11, 23, 10, 0))).await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &completed(&no, "SH01", "WO-1", "tech-1", local(2026, 11, 20, 10, 0)),
    )
    .await;
    let v = app.wait_visit(&no).await;
    let mut agent = app.agent("SH01").await;
    let outbox_before = app.count("SELECT count(*)::bigint FROM outbox").await;

    let mut five = survey(&v.visit_id, pb::Rating::Satisfied, true);
    five.attitude = 5;
    let out_of_range = agent.record_survey(five).await.unwrap_err();
    let mut unsaid = survey(&v.visit_id, pb::Rating::Satisfied, true);
    unsaid.resolved = None;
    unsaid.promise_keeping = 0;
    let missing = agent.record_survey(unsaid).await.unwrap_err();
    let mut no_skill = survey(&v.visit_id, pb::Rating::Satisfied, true);
    no_skill.technical_skill = 0;
    let technician_came = agent.record_survey(no_skill).await.unwrap_err();
    let unknown = agent
        .record_survey(survey("V-NOPE", pb::Rating::Satisfied, true))
        .await
        .unwrap_err();
    let elsewhere = app
        .agent("BJ02")
        .await
        .record_survey(survey(&v.visit_id, pb::Rating::Satisfied, true))
        .await
        .unwrap_err();

    assert_eq!(bad_fields(&out_of_range), ["attitude"]);
    assert_eq!(bad_fields(&missing), ["promise_keeping", "resolved"]);
    assert_eq!(bad_fields(&technician_came), ["technical_skill"]);
    assert_eq!(bad_fields(&unknown), ["visit_id"]);
    assert_eq!(
        bad_fields(&elsewhere),
        ["visit_id"],
        "another branch's visit is unknown"
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM surveys").await, 0);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM complaints").await,
        0
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM commands").await, 0);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox").await,
        outbox_before
    );
    assert_eq!(
        app.visits_of(&no).await[0].status,
        pb::VisitStatus::Due as i32
    );
    app.stop().await;
}
