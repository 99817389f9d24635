//! Return visits: due N working days after a completed job, a delivery without on-site work or
//! a refund; one per job; listed soonest first with the overdue ones marked; called by agents.

use aftersales_platform::proto::feedback::v1 as pb;
use prost::Message;

use crate::helpers::{
    bad_fields, cancelled, clock_at, completed, delivered, key, local, next_event, refunded,
    request_no, spawn_at, submitted,
};

#[tokio::test]
async fn a_completed_work_order_makes_a_visit_due_three_working_days_later_and_announces_it() {
    // Arrange: Friday 2026-11-20, 17:00 local.
    let app = spawn_at(clock_at(local(2026, 11, 20, 17, 30))).await;
    let mut events = app.subscribe("feedback.visit.scheduled").await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &submitted(&no, "SH01", local(2026, 11, 16, 10, 0)),
    )
    .await;

    // Act
    app.publish(
        &no,
        "SH01",
        &completed(&no, "SH01", "WO-1", "tech-7", local(2026, 11, 20, 17, 0)),
    )
    .await;

    // Assert: 27 working hours later is Wednesday 17:00. (Both events handled: the completion
    // may overtake the submission, whose customer then fills the visit.)
    app.wait_processed(2).await;
    let v = app.wait_visit(&no).await;
    assert_eq!(v.status, pb::VisitStatus::Due as i32);
    assert_eq!(v.source, pb::VisitSource::WorkOrderCompleted as i32);
    assert_eq!(v.due_date, "2026-11-25");
    assert_eq!(
        v.due_at.unwrap().seconds,
        local(2026, 11, 25, 17, 0).timestamp()
    );
    assert_eq!(v.work_order_no, "WO-1");
    assert_eq!(v.technician_id, "tech-7");
    assert_eq!(
        v.customer.unwrap().name,
        "Li Wei",
        "the customer from intake's submission"
    );
    assert_eq!(v.part_nos, ["PWR-55-01"]);
    let env = next_event(&mut events, "feedback.visit.scheduled", &no).await;
    let e = pb::VisitScheduled::decode(env.payload.as_slice()).unwrap();
    assert_eq!(
        (e.visit_id.as_str(), e.due_date.as_str()),
        (v.visit_id.as_str(), "2026-11-25")
    );
    assert_eq!(env.branch, "SH01");
    app.stop().await;
}

#[tokio::test]
async fn a_delivery_without_on_site_work_makes_a_visit_due_and_one_with_a_technician_to_come_does_not()
 {
    let app = spawn_at(clock_at(local(2026, 11, 23, 9, 0))).await;
    let parts_only = request_no("SH01");
    let fitted = request_no("SH01");

    app.publish(
        &fitted,
        "SH01",
        &delivered(&fitted, "SH01", "SHP-2", true, local(2026, 11, 23, 10, 0)),
    )
    .await;
    app.publish(
        &parts_only,
        "SH01",
        &delivered(
            &parts_only,
            "SH01",
            "SHP-1",
            false,
            local(2026, 11, 23, 10, 0),
        ),
    )
    .await;

    let v = app.wait_visit(&parts_only).await;
    assert_eq!(v.source, pb::VisitSource::ShipmentDelivered as i32);
    assert_eq!(v.shipment_no, "SHP-1");
    assert_eq!(v.due_date, "2026-11-26");
    // Both events were handled (the later one is the parts-only delivery, handled in order).
    app.wait_processed(2).await;
    assert!(
        app.visits_of(&fitted).await.is_empty(),
        "the work order's completion makes that visit due, not the delivery"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_authorized_refund_makes_a_visit_due_and_the_same_job_announced_again_makes_no_second() {
    let app = spawn_at(clock_at(local(2026, 11, 23, 9, 0))).await;
    let no = request_no("BJ02");
    let refund = refunded(&no, "BJ02", "RF-1", local(2026, 11, 24, 11, 0));

    app.publish(&no, "BJ02", &refund).await;
    let v = app.wait_visit(&no).await;
    // A replay under a new id, then the producer's relay sending that again after a crash (the
    // same id), then a sentinel that is handled after both were delivered.
    let id = app.publish(&no, "BJ02", &refund).await;
    app.publish_with_id(&id, &no, "BJ02", &refund).await;
    let other = request_no("BJ02");
    app.publish(&other, "BJ02", &cancelled(&other, "BJ02"))
        .await;
    app.wait_processed(3).await;

    assert_eq!(v.source, pb::VisitSource::RefundAuthorized as i32);
    assert_eq!(v.refund_id, "RF-1");
    assert_eq!(v.due_date, "2026-11-27");
    assert_eq!(v.customer.unwrap().phone, "+86 138 0013 8000");
    assert_eq!(app.visits_of(&no).await.len(), 1, "one visit per job");
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'feedback.visit.scheduled'"
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn overdue_visits_are_listed_soonest_first_and_another_branch_sees_none_of_them() {
    // Arrange: three jobs done on Monday, Tuesday and Wednesday; it is the next Monday.
    let app = spawn_at(clock_at(local(2026, 11, 23, 9, 0))).await;
    let mut nos = Vec::new();
    for (i, day) in [16, 17, 18].into_iter().enumerate() {
        let no = request_no("SH01");
        app.publish(
            &no,
            "SH01",
            &completed(
                &no,
                "SH01",
                &format!("WO-{i}"),
                "tech-1",
                local(2026, 11, day, 10, 0),
            ),
        )
        .await;
        app.wait_visit(&no).await;
        nos.push(no);
    }
    let elsewhere = request_no("BJ02");
    app.publish(
        &elsewhere,
        "BJ02",
        &completed(
            &elsewhere,
            "BJ02",
            "WO-B",
            "tech-9",
            local(2026, 11, 16, 10, 0),
        ),
    )
    .await;
    app.wait_visit(&elsewhere).await;
    app.clock().set(local(2026, 11, 23, 9, 0));

    // Act: the agent lists what is due by Friday the 20th, a page at a time.
    let mut agent = app.agent("SH01").await;
    let first = agent
        .list_due_visits(pb::ListDueVisitsRequest {
            due_by_date: "2026-11-20".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let second = agent
        .list_due_visits(pb::ListDueVisitsRequest {
            due_by_date: "2026-11-20".into(),
            page_size: 1,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let theirs = agent
        .list_due_visits(pb::ListDueVisitsRequest {
            branch: "BJ02".into(),
            due_by_date: "2026-11-30".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let by_other_branch = app
        .agent("BJ02")
        .await
        .get_visit(pb::GetVisitRequest {
            visit_id: first.visits[0].visit_id.clone(),
        })
        .await
        .unwrap_err();

    // Assert: due Thursday, Friday, (Monday not by Friday); every one overdue on Monday.
    let listed: Vec<_> = first.visits.iter().chain(&second.visits).collect();
    assert_eq!(
        listed
            .iter()
            .map(|v| v.request_no.as_str())
            .collect::<Vec<_>>(),
        [nos[0].as_str(), nos[1].as_str()]
    );
    assert_eq!(
        listed
            .iter()
            .map(|v| v.due_date.as_str())
            .collect::<Vec<_>>(),
        ["2026-11-19", "2026-11-20"]
    );
    assert!(listed.iter().all(|v| v.overdue));
    assert!(!first.next_page_token.is_empty());
    assert!(second.next_page_token.is_empty(), "the last page");
    assert!(
        theirs.visits.is_empty(),
        "another branch's visits look like none"
    );
    assert_eq!(by_other_branch.code(), tonic::Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn three_unanswered_calls_close_the_visit_unreached_and_a_repeated_call_counts_once() {
    let app = spawn_at(clock_at(local(2026, 11, 23, 9, 0))).await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &completed(&no, "SH01", "WO-1", "tech-1", local(2026, 11, 20, 10, 0)),
    )
    .await;
    let v = app.wait_visit(&no).await;
    let mut agent = app.agent("SH01").await;
    let call = |k: &str| pb::RecordVisitRequest {
        idempotency_key: k.into(),
        visit_id: v.visit_id.clone(),
        outcome: pb::VisitOutcome::NoAnswer as i32,
        note: "no answer".into(),
        call_back_at: None,
    };

    let first_key = key();
    let a = agent
        .record_visit(call(&first_key))
        .await
        .unwrap()
        .into_inner();
    let again = agent
        .record_visit(call(&first_key))
        .await
        .unwrap()
        .into_inner();
    agent.record_visit(call(&key())).await.unwrap();
    let last = agent.record_visit(call(&key())).await.unwrap().into_inner();
    let after = agent.record_visit(call(&key())).await.unwrap_err();
    let reused = agent
        .record_visit(pb::RecordVisitRequest {
            outcome: pb::VisitOutcome::Reached as i32,
            ..call(&first_key)
        })
        .await
        .unwrap_err();
    let call_back = agent
        .record_visit(pb::RecordVisitRequest {
            outcome: pb::VisitOutcome::CallBack as i32,
            ..call(&key())
        })
        .await
        .unwrap_err();

    assert_eq!(a.visit.unwrap().status, pb::VisitStatus::Attempted as i32);
    assert_eq!(
        again.visit.unwrap().attempts,
        1,
        "the same key is the same call"
    );
    let last = last.visit.unwrap();
    assert_eq!(
        (last.status, last.attempts),
        (pb::VisitStatus::ClosedUnreached as i32, 3)
    );
    assert_eq!(after.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reused.code(), tonic::Code::AlreadyExists);
    assert_eq!(bad_fields(&call_back), ["call_back_at"]);
    app.stop().await;
}
